//! The example `sysctl` provider: kernel parameters from the config's `sysctl` key, read with one
//! batched `sysctl -a`, set with `sysctl -w`, persisted in a managed file.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use phoenix_core::config::{Claim, Section};
use phoenix_core::file::File;
use phoenix_core::sim::{Emulator, SimOutput, SimSys};
use phoenix_core::{
    BoxError, Cmd, Ctx, DecodeCx, Delta, Diagnostic, Fact, FieldChange, Host, Kind, Provider,
    Resource, ResourceId,
};

/// The resource kind: `sysctl.param`.
pub const KIND: &str = "sysctl.param";

/// Where the parameters persist across reboots.
pub const PERSIST_PATH: &str = "/etc/sysctl.d/90-phoenix.conf";

/// One kernel parameter and its desired value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// The dotted name, such as `vm.swappiness`.
    pub name: String,
    /// The desired value as `sysctl` prints it.
    pub value: String,
}

/// Every parameter and its value, from one `sysctl -a`.
#[derive(Debug, Clone, Copy)]
pub struct AllParams;

#[async_trait]
impl Fact for AllParams {
    type Value = BTreeMap<String, String>;

    fn key(&self) -> String {
        "sysctl.all".to_owned()
    }

    async fn gather(&self, host: &dyn Host) -> Result<Self::Value, BoxError> {
        let output = phoenix_core::host::run_checked(host, &Cmd::read("sysctl", ["-a"])).await?;
        Ok(parse_sysctl_a(&output.stdout))
    }
}

/// Parses `sysctl -a` output: one `name = value` per line.
pub fn parse_sysctl_a(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once(" = "))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect()
}

#[async_trait]
impl Resource for Param {
    type State = String;

    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), &self.name)
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<String>, BoxError> {
        let all = cx.fact(&AllParams).await?;
        match all.get(&self.name) {
            Some(value) => Ok(Some(value.clone())),
            None => Err(format!("the kernel has no parameter {}", self.name).into()),
        }
    }

    fn diff(&self, observed: Option<&String>) -> Delta {
        if observed == Some(&self.value) {
            return Delta::none();
        }
        Delta::none()
            .field(FieldChange::new(
                "value",
                observed.map(|v| v.clone().into()),
                Some(self.value.clone().into()),
            ))
            .run(Cmd::write(
                "sysctl",
                ["-w".to_owned(), format!("{}={}", self.name, self.value)],
            ))
    }
}

/// The provider.
#[derive(Debug, Default, Clone, Copy)]
pub struct SysctlProvider;

/// The provider, for `Registry::builder().provider(sysctl::provider())`.
pub fn provider() -> SysctlProvider {
    SysctlProvider
}

impl Provider for SysctlProvider {
    fn name(&self) -> &str {
        "sysctl"
    }

    /// The `sysctl` emulator comes with the provider: registering one registers the other.
    fn emulators(&self) -> Vec<Arc<dyn Emulator>> {
        vec![Arc::new(SysctlEmulator)]
    }

    fn kinds(&self) -> Vec<Kind> {
        vec![Kind::from_static(KIND)]
    }

    fn claims(&self) -> Vec<Claim> {
        vec![Claim::managed("sysctl")]
    }

    fn decode(&self, sections: &[Section<'_>], cx: &mut DecodeCx<'_>) {
        for section in sections {
            let Some(params) = cx.decode::<BTreeMap<String, serde_json::Value>>(
                section,
                &section.path(),
                section.value,
            ) else {
                continue;
            };
            let mut persisted = String::from("# Managed by Phoenix.\n");
            for (name, value) in params {
                let value = match value {
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Number(n) => n.to_string(),
                    other => {
                        cx.report(
                            Diagnostic::error(format!(
                                "expected a string or a number, found {other}"
                            ))
                            .at(section.location_of(&section.path().key(&name))),
                        );
                        continue;
                    }
                };
                persisted.push_str(&format!("{name} = {value}\n"));
                cx.add(Param { name, value });
            }
            cx.add(File::new(PERSIST_PATH, persisted));
        }
    }
}

/// The `sysctl` emulator: parameters live in the node's `sysctl` namespace.
#[derive(Debug, Default, Clone, Copy)]
pub struct SysctlEmulator;

impl Emulator for SysctlEmulator {
    fn programs(&self) -> Vec<String> {
        vec!["sysctl".to_owned()]
    }

    fn run(&self, argv: &[String], _stdin: Option<&str>, sys: &mut SimSys<'_>) -> SimOutput {
        let mut params: BTreeMap<String, String> = sys.load("sysctl");
        match argv.get(1).map(String::as_str) {
            Some("-a") => {
                let text: String = params.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
                SimOutput::ok(text)
            }
            Some("-w") => {
                let Some((name, value)) = argv.get(2).and_then(|a| a.split_once('=')) else {
                    return SimOutput::fail(255, "sysctl: -w requires a name=value argument\n");
                };
                if !params.contains_key(name) {
                    let path = name.replace('.', "/");
                    return SimOutput::fail(
                        255,
                        format!(
                            "sysctl: cannot stat /proc/sys/{path}: No such file or directory\n"
                        ),
                    );
                }
                params.insert(name.to_owned(), value.to_owned());
                sys.store("sysctl", &params);
                SimOutput::ok_mutated(format!("{name} = {value}\n"))
            }
            _ => SimOutput::fail(255, "sysctl: this emulator knows only -a and -w\n"),
        }
    }
}
