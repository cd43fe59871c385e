//! Batched reads of the host shared by all ZFS resources: one `zpool list`, one `zpool get`, one
//! `zfs get`, however many pools and datasets there are. (storage.cfg is read once per run by
//! `phoenix_pve::StorageCfg`, shared with the LXC provider.)

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use phoenix_core::{BoxError, Cmd, Fact, Host, Output};

use crate::error::Error;
use crate::parse::{self, DiskWear, PoolLayout, Prop, Signature};

/// The pool properties Phoenix reads.
pub(crate) const POOL_PROPERTIES: &str = "autotrim,ashift";

/// The runtime ARC maximum.
pub(crate) const ARC_MAX_PARAM: &str = "/sys/module/zfs/parameters/zfs_arc_max";

async fn run_tool(host: &dyn Host, cmd: &Cmd, what: &'static str) -> Result<Output, Error> {
    let output = match host.run(cmd).await {
        Err(err) if err.is_program_not_found() => None,
        other => Some(other?),
    };
    let Some(output) = output.filter(|output| output.status != Some(127)) else {
        // Not a ZFS host: its resources are left alone, reported once per missing tool.
        return Err(Error::Unsupported(phoenix_core::Unsupported::missing_tool(
            cmd.program.clone(),
            format!(
                "{} is not installed on this host (is {what} available here?)",
                cmd.program
            ),
        )));
    };
    if !output.success() {
        return Err(Error::Host(phoenix_core::HostError::CommandFailed {
            argv: cmd.to_string(),
            status: output.status,
            stderr: output.stderr.trim_end().to_owned(),
        }));
    }
    Ok(output)
}

fn parsed<T>(cmd: &Cmd, result: Result<T, parse::ParseError>) -> Result<T, Error> {
    result.map_err(|source| Error::Parse {
        argv: cmd.to_string(),
        source,
    })
}

/// Every pool: layout, health and the properties Phoenix manages.
#[derive(Debug, Clone, Default)]
pub(crate) struct PoolsInfo {
    pub(crate) layouts: Vec<PoolLayout>,
    pub(crate) props: BTreeMap<String, BTreeMap<String, Prop>>,
}

impl PoolsInfo {
    pub(crate) fn layout(&self, name: &str) -> Option<&PoolLayout> {
        self.layouts.iter().find(|p| p.name == name)
    }

    /// The pool a device belongs to (a whole disk matches its `-partN` partitions too).
    pub(crate) fn owner_of(&self, disk: &str) -> Option<&str> {
        self.layouts.iter().find_map(|pool| {
            pool.vdevs
                .iter()
                .flat_map(|v| v.disks.iter())
                .any(|member| same_disk(member, disk))
                .then_some(pool.name.as_str())
        })
    }
}

/// Whether a pool member path (`/dev/disk/by-id/x-part1`) is the configured disk (`.../x`).
pub(crate) fn same_disk(member: &str, disk: &str) -> bool {
    member == disk
        || member
            .strip_prefix(disk)
            .and_then(|rest| rest.strip_prefix("-part"))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Pools;

#[async_trait]
impl Fact for Pools {
    type Value = PoolsInfo;

    fn key(&self) -> String {
        "zfs.pools".to_owned()
    }

    async fn gather(&self, host: &dyn Host) -> Result<PoolsInfo, BoxError> {
        let list = Cmd::read("zpool", ["list", "-v", "-H", "-P", "-p"]);
        let output = run_tool(host, &list, "ZFS").await?;
        let layouts = parsed(&list, parse::parse_zpool_list_v(&output.stdout))?;
        if layouts.is_empty() {
            return Ok(PoolsInfo::default());
        }
        let get = Cmd::read(
            "zpool",
            [
                "get",
                "-H",
                "-p",
                "-o",
                "name,property,value,source",
                POOL_PROPERTIES,
            ],
        );
        let output = run_tool(host, &get, "ZFS").await?;
        let props = parsed(&get, parse::parse_zpool_get(&output.stdout))?;
        Ok(PoolsInfo { layouts, props })
    }
}

/// Every dataset's managed properties, from one `zfs get`.
#[derive(Debug, Clone)]
pub(crate) struct Datasets {
    pub(crate) properties: Arc<str>,
}

#[async_trait]
impl Fact for Datasets {
    type Value = BTreeMap<String, BTreeMap<String, Prop>>;

    fn key(&self) -> String {
        format!("zfs.datasets:{}", self.properties)
    }

    async fn gather(&self, host: &dyn Host) -> Result<Self::Value, BoxError> {
        let get = Cmd::read(
            "zfs",
            [
                "get",
                "-H",
                "-p",
                "-o",
                "name,property,value,source",
                "-t",
                "filesystem,volume",
                &self.properties,
            ],
        );
        let output = run_tool(host, &get, "ZFS").await?;
        Ok(parsed(&get, parse::parse_zfs_get(&output.stdout))?)
    }
}

/// What is on one disk that belongs to no pool: `None` when the device does not exist.
#[derive(Debug, Clone)]
pub(crate) struct DiskProbe(pub(crate) String);

#[async_trait]
impl Fact for DiskProbe {
    type Value = Option<Vec<Signature>>;

    fn key(&self) -> String {
        format!("zfs.disk:{}", self.0)
    }

    async fn gather(&self, host: &dyn Host) -> Result<Self::Value, BoxError> {
        let probe = Cmd::read("wipefs", ["--no-act", "--json", &self.0]);
        let output = host.run(&probe).await?;
        if output.status == Some(127) {
            return Err(Error::NotInstalled {
                program: "wipefs".to_owned(),
                what: "util-linux",
            }
            .into());
        }
        if !output.success() {
            if output.stderr.contains("No such file or directory") {
                return Ok(None);
            }
            return Err(Error::Host(phoenix_core::HostError::CommandFailed {
                argv: probe.to_string(),
                status: output.status,
                stderr: output.stderr.trim_end().to_owned(),
            })
            .into());
        }
        Ok(Some(parsed(
            &probe,
            parse::parse_wipefs_json(&output.stdout),
        )?))
    }
}

/// The name of the node probe's query that runs `smartctl -j -a` on `disk`: `smartctl-` and the
/// path with every character a query name cannot hold as `_`.
pub(crate) fn wear_query(disk: &str) -> String {
    let name: String = disk
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("smartctl-{name}")
}

/// The argv of the wear query of `disk`.
pub(crate) fn wear_argv(disk: &str) -> [&str; 4] {
    ["smartctl", "-j", "-a", disk]
}

/// The wear figures of `disk` from what the node probe's query printed: `None` when smartctl is
/// not installed (or the query was not run), otherwise its figures or why it could not read the
/// disk. The query's output is smartctl's standard output and error together; with `-j`
/// smartctl prints everything, errors included, as JSON on standard output.
pub(crate) fn wear_of(
    disk: &str,
    query: Option<&phoenix_core::probe::QueryFact>,
) -> Option<Result<DiskWear, String>> {
    let query = query.filter(|query| !query.is_missing_program())?;
    let cmd = Cmd::read("smartctl", wear_argv(disk));
    let output = Output::new(Some(query.status), query.output.clone(), "");
    Some(read_wear(&cmd, &output))
}

/// The wear figures in smartctl's output, or why there are none.
///
/// smartctl's exit status is a bit mask: bits 0 to 2 say it could not read the device (bad
/// arguments, the device did not open, a SMART command failed); the higher bits are findings
/// about a device it did read, whose JSON then says what it read.
fn read_wear(cmd: &Cmd, output: &Output) -> Result<DiskWear, String> {
    let failed = output.status.is_none_or(|status| status & 0b111 != 0);
    let parsed = parse::parse_smartctl_json(&output.stdout);
    match parsed {
        Ok(figures) if !failed => Ok(figures),
        Ok(_) => Err(format!(
            "`{cmd}` exited with status {}: {}",
            output
                .status
                .map_or_else(|| "a signal".to_owned(), |s| s.to_string()),
            smartctl_messages(&output.stdout)
                .unwrap_or_else(|| output.stderr.trim_end().to_owned())
        )),
        Err(err) => Err(format!(
            "`{cmd}` exited with {}, and its output is not smartctl's JSON ({err}): {}",
            output
                .status
                .map_or_else(|| "a signal".to_owned(), |s| format!("status {s}")),
            if output.stderr.trim().is_empty() {
                output.stdout.trim_end()
            } else {
                output.stderr.trim_end()
            }
        )),
    }
}

/// The messages smartctl's JSON carries (`smartctl.messages[].string`), joined.
fn smartctl_messages(json: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    let messages: Vec<&str> = value
        .pointer("/smartctl/messages")?
        .as_array()?
        .iter()
        .filter_map(|m| m.get("string").and_then(serde_json::Value::as_str))
        .collect();
    (!messages.is_empty()).then(|| messages.join("; "))
}

/// The runtime ARC maximum and the machine's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ArcInfo {
    pub(crate) arc_max: u64,
    pub(crate) mem_total_kib: Option<u64>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct ArcParams;

#[async_trait]
impl Fact for ArcParams {
    type Value = ArcInfo;

    fn key(&self) -> String {
        "zfs.arc".to_owned()
    }

    async fn gather(&self, host: &dyn Host) -> Result<ArcInfo, BoxError> {
        let Some(param) = host.read_file(Path::new(ARC_MAX_PARAM)).await? else {
            return Err(Error::File {
                path: ARC_MAX_PARAM.to_owned(),
                reason: "it does not exist: the zfs kernel module is not loaded".to_owned(),
            }
            .into());
        };
        let arc_max = param
            .content
            .trim()
            .parse::<u64>()
            .map_err(|_| Error::File {
                path: ARC_MAX_PARAM.to_owned(),
                reason: format!(
                    "expected a number of bytes, found {:?}",
                    param.content.trim()
                ),
            })?;
        let mem_total_kib = match host.read_file(Path::new("/proc/meminfo")).await? {
            Some(meminfo) => parse::parse_meminfo_total_kib(&meminfo.content).ok(),
            None => None,
        };
        Ok(ArcInfo {
            arc_max,
            mem_total_kib,
        })
    }
}
