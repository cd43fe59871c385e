//! Batched reads shared by every container resource: one `pct list` and one `grep -H` over all
//! `/etc/pve/lxc/*.conf` files, and one host command that probes every running container with
//! features (`lxc-attach` in parallel, see `parse::PROBE_ALL_SCRIPT`).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use phoenix_core::{BoxError, Cmd, Fact, Host, HostError, Unsupported};
use phoenix_pve::Conf;
use serde::Serialize;

use crate::parse::{self, ProbeAnswer, ProbeRequest};

/// Where Proxmox keeps container configs.
pub(crate) fn conf_path(id: u32) -> String {
    format!("/etc/pve/lxc/{id}.conf")
}

/// One container as the host has it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Observed {
    pub(crate) status: String,
    pub(crate) lock: Option<String>,
    /// The raw conf text (for in-place edits of raw `lxc.*` lines).
    pub(crate) text: String,
    #[serde(skip)]
    pub(crate) conf: Arc<Conf>,
}

/// Every container on the node.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Containers;

#[async_trait]
impl Fact for Containers {
    type Value = BTreeMap<u32, Observed>;

    fn key(&self) -> String {
        "lxc.containers".to_owned()
    }

    async fn gather(&self, host: &dyn Host) -> Result<Self::Value, BoxError> {
        let list = Cmd::read("pct", ["list"]);
        let output = match host.run(&list).await {
            Err(err) if err.is_program_not_found() => None,
            other => Some(other?),
        };
        let Some(output) = output.filter(|output| output.status != Some(127)) else {
            return Err(Box::new(Unsupported::missing_tool(
                "pct",
                "pct is not installed, so this is not a Proxmox VE host; containers are left alone",
            )));
        };
        if !output.success() {
            return Err(Box::new(HostError::CommandFailed {
                argv: list.to_string(),
                status: output.status,
                stderr: output.stderr.trim_end().to_owned(),
            }));
        }
        let listed =
            parse::parse_pct_list(&output.stdout).map_err(|e| format!("read `pct list`: {e}"))?;
        if listed.is_empty() {
            return Ok(BTreeMap::new());
        }
        let paths: Vec<String> = listed.iter().map(|c| conf_path(c.vmid)).collect();
        let mut grep = Cmd::read("grep", ["-H", "", "--"]);
        for path in &paths {
            grep = grep.arg(path.clone());
        }
        // grep exits 1 when every file is empty and 2 when one is missing; both still print the
        // rest, so the output is read whatever the status.
        let output = host.run(&grep).await?;
        let files = parse::split_grep(&output.stdout, &paths)
            .map_err(|e| format!("read the container configs (`{grep}`): {e}"))?;
        let mut containers = BTreeMap::new();
        for item in listed {
            let file = files.get(&item.vmid).cloned().unwrap_or_default();
            let conf = file
                .parse_conf(item.vmid)
                .map_err(|e| format!("read {}: {e}", conf_path(item.vmid)))?;
            containers.insert(
                item.vmid,
                Observed {
                    status: item.status,
                    lock: item.lock,
                    text: file.text,
                    conf: Arc::new(conf),
                },
            );
        }
        Ok(containers)
    }
}

/// The probe requests of every container with features, built once at decode and shared by
/// all of them, so that the first to ask can probe every running container in one command.
pub(crate) type ProbeBook = BTreeMap<u32, Arc<Vec<ProbeRequest>>>;

/// What the probe of one container answered, or why it could not be read.
pub(crate) type ProbeResult = Result<BTreeMap<ProbeRequest, ProbeAnswer>, String>;

/// The answers of every container with features, from one host command
/// (`parse::PROBE_ALL_SCRIPT`); a container whose probe failed, hung or that does not run has
/// its own error.
///
/// It does not wait for `pct list`: it probes every container of the book, and `lxc-attach`
/// refuses a stopped one in a few milliseconds, so the two reads run at once and a no-op plan
/// takes the slower of them rather than their sum.
#[derive(Debug, Clone)]
pub(crate) struct ProbeAll {
    pub(crate) book: Arc<ProbeBook>,
}

impl ProbeAll {
    /// The probe of every container of `book`.
    pub(crate) fn new(book: &Arc<ProbeBook>) -> ProbeAll {
        ProbeAll {
            book: Arc::clone(book),
        }
    }
}

#[async_trait]
impl Fact for ProbeAll {
    type Value = BTreeMap<u32, ProbeResult>;

    fn key(&self) -> String {
        "lxc.probe-all".to_owned()
    }

    async fn gather(&self, host: &dyn Host) -> Result<Self::Value, BoxError> {
        // A container with nothing to ask (a clone provisioned by its parent's features only)
        // is not probed here.
        let asked: Vec<(u32, &[ProbeRequest])> = self
            .book
            .iter()
            .filter(|(_, requests)| !requests.is_empty())
            .map(|(id, requests)| (*id, requests.as_slice()))
            .collect();
        if asked.is_empty() {
            return Ok(BTreeMap::new());
        }
        let cmd = probe_all_cmd(asked.len(), parse::probe_all_stdin(asked.iter().copied()));
        let output = phoenix_core::host::run_checked(host, &cmd).await?;
        let blocks = parse::parse_probe_all_output(&output.stdout)
            .map_err(|e| format!("read the probe of the containers: {e}"))?;
        Ok(asked
            .iter()
            .map(|(id, _)| (*id, read_block(*id, blocks.get(id))))
            .collect())
    }
}

/// One container's answers from its block of the host probe.
fn read_block(id: u32, block: Option<&parse::ProbeBlock>) -> ProbeResult {
    let stdout = block_stdout(id, block)?;
    parse::parse_probe_output(stdout).map_err(|e| format!("read the probe of container {id}: {e}"))
}

/// The standard output of one container's block of a host probe, or why its probe failed: no
/// block, hung, or a non-zero status (with the last line of its standard error).
pub(crate) fn block_stdout(id: u32, block: Option<&parse::ProbeBlock>) -> Result<&str, String> {
    let Some(block) = block else {
        return Err(format!("the probe printed nothing for container {id}"));
    };
    if block.timed_out() {
        return Err(format!(
            "the probe of container {id} did not finish within {} s",
            parse::PROBE_LIMIT_SECS
        ));
    }
    if block.status != Some(0) && block.stderr.contains("Failed to get init pid") {
        // LXC 5's `get_attach_context` on a container without an init process.
        return Err(format!(
            "container {id} is not running (lxc-attach: Failed to get init pid)"
        ));
    }
    if block.status != Some(0) {
        let status = block
            .status
            .map_or_else(|| "no status".to_owned(), |s| format!("status {s}"));
        // The last line says why (lxc-attach prints its own errors last); a container controls
        // what it prints, so it is cut and escaped.
        let last = block.stderr.lines().rev().find(|l| !l.trim().is_empty());
        let said: String = last.unwrap_or("").chars().take(200).collect();
        return Err(format!(
            "the probe of container {id} failed ({status}): {}",
            said.escape_debug()
        ));
    }
    Ok(&block.stdout)
}

/// The one host command that probes `n_containers` containers whose requests are `stdin`.
pub(crate) fn probe_all_cmd(n_containers: usize, stdin: String) -> Cmd {
    let argv = parse::probe_all_argv(n_containers);
    let (program, args) = argv
        .split_first()
        .expect("invariant: the probe's argv names its program");
    Cmd::read(program, args.iter().cloned()).stdin(stdin)
}

/// The one command that probes container `id` for `requests` (read-only), used by apply, which
/// works on one container whose state earlier resources of the run changed.
pub(crate) fn probe_cmd(id: u32, requests: &[ProbeRequest]) -> Cmd {
    let mut cmd = Cmd::read(
        "pct",
        [
            "exec".to_owned(),
            id.to_string(),
            "--".to_owned(),
            "sh".to_owned(),
            "-c".to_owned(),
            parse::PROBE_SCRIPT.to_owned(),
            parse::PROBE_NAME.to_owned(),
        ],
    );
    for arg in parse::probe_args(requests) {
        cmd = cmd.arg(arg);
    }
    cmd
}

/// Whether container `id` runs right now (`pct status`), for apply steps that must act on the
/// live state left by earlier resources of the same run.
pub(crate) async fn is_running(host: &dyn Host, id: u32) -> Result<bool, HostError> {
    let status =
        phoenix_core::host::run_checked(host, &Cmd::read("pct", ["status", &id.to_string()]))
            .await?;
    Ok(status.stdout.contains("running"))
}

#[cfg(test)]
mod tests {
    use phoenix_core::Output;
    use phoenix_core::sim::FakeHost;

    use super::*;
    use crate::parse::format_grep_lines;
    use crate::parse::testing::proxmox_sample;

    /// `pct list` and one `grep` over the listed confs (real samples), and nothing else: a
    /// single fact on a fake host with canned replies.
    #[tokio::test]
    async fn every_container_costs_one_pct_list_and_one_grep() {
        let list = "VMID       Status     Lock         Name                \n102        running                 nvidia              \n105        stopped    snapshot     gotify              \n";
        let (a, b) = (
            proxmox_sample("lxc-conf.nvidia-raw.1.conf"),
            proxmox_sample("lxc-conf.snapshots.2.conf"),
        );
        let grep = format_grep_lines(&[(&conf_path(102), &a), (&conf_path(105), &b)]);
        let host = FakeHost::new()
            .reply(["pct", "list"], Output::new(Some(0), list, ""))
            .reply(
                ["grep", "-H", "", "--", &conf_path(102), &conf_path(105)],
                Output::new(Some(0), grep, ""),
            );
        let containers = Containers.gather(&host).await.expect("gathers");
        assert_eq!(
            host.calls(),
            [
                vec!["pct", "list"],
                vec![
                    "grep",
                    "-H",
                    "",
                    "--",
                    "/etc/pve/lxc/102.conf",
                    "/etc/pve/lxc/105.conf"
                ],
            ]
        );
        assert_eq!(containers.keys().copied().collect::<Vec<_>>(), [102, 105]);
        assert_eq!(containers[&102].status, "running");
        assert_eq!(containers[&102].text, a);
        assert_eq!(containers[&105].lock.as_deref(), Some("snapshot"));
        assert_eq!(containers[&105].conf.snapshots.len(), 2);
    }

    #[tokio::test]
    async fn a_host_without_pct_is_unsupported_and_a_bad_conf_names_its_file() {
        let err = Containers
            .gather(&FakeHost::new())
            .await
            .expect_err("no pct");
        assert!(err.downcast_ref::<Unsupported>().is_some(), "{err}");
        let host = FakeHost::new()
            .reply(
                ["pct", "list"],
                Output::new(Some(0), "VMID       Status     Lock         Name                \n7          stopped                 x                   \n", ""),
            )
            .reply(
                ["grep", "-H", "", "--", "/etc/pve/lxc/7.conf"],
                Output::new(Some(0), "/etc/pve/lxc/7.conf:arch: amd64\n/etc/pve/lxc/7.conf: oops\n", ""),
            );
        let err = Containers.gather(&host).await.expect_err("bad line");
        assert_eq!(
            err.to_string(),
            "read /etc/pve/lxc/7.conf: parse line 2: container 7: expected `key: value`, `lxc.key: value`, `#comment` or `[section]`, found ` oops`"
        );
    }
}
