//! `pve.firewall.guest`: a container's `/etc/pve/firewall/<vmid>.fw`, which Phoenix owns wholly
//! (`[OPTIONS]` with `enable`, then `[RULES]`), written as a core `File` on the node.
//!
//! Files under `/etc/pve` live on pmxcfs, which takes only mode `0640` and owner
//! `root:www-data`, so the file is written with those. The file comes after its container
//! exists (the `pve.guest:<vmid>` capability that phoenix-lxc's container provides): `pct clone`
//! copies the parent's firewall file over the clone's, so it must not run after Phoenix wrote
//! it. pve-firewall rereads the file by itself: no restart, no reload.
//!
//! `pve-firewall compile` (a probe query) must print no warning about the file: a warning about
//! the file Phoenix leaves as it is means Proxmox rejects what Phoenix wrote, a plan error; a
//! warning about a file this change replaces is shown as a warning.

use async_trait::async_trait;
use phoenix_core::file::{File, FileState};
use phoenix_core::probe::observe;
use phoenix_core::scope::Scope;
use phoenix_core::{
    BoxError, Capability, Change, Ctx, Delta, Diagnostic, Kind, Resource, ResourceId,
};
use phoenix_pve::firewall::{FwConfig, format_fw};
use serde::{Deserialize, Serialize};

use super::compile::{COMPILE_QUERY, parse_warnings, query};
use super::config::GuestSpec;
use super::{GUEST_KIND, PVE_MODE, PVE_OWNER, guest_fw_path};

/// A container's firewall file.
#[derive(Debug, Clone)]
pub(crate) struct GuestFirewall {
    vmid: u32,
    file: File,
    scope: Scope,
}

/// The file as the node shows it, with pve-firewall's warnings about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GuestState {
    pub(crate) file: FileState,
    pub(crate) warnings: Vec<String>,
}

/// The content of a container's firewall file.
pub(crate) fn guest_fw_content(spec: &GuestSpec) -> String {
    let mut config = FwConfig::default();
    config.set_option("enable", if spec.enabled { "1" } else { "0" });
    config.rules.clone_from(&spec.rules);
    format_fw(&config)
}

/// The capability a container provides once it exists (phoenix-lxc's `lxc.container`).
pub fn guest_capability(vmid: u32) -> Capability {
    Capability::named("pve.guest", &vmid.to_string())
}

impl GuestFirewall {
    /// The file for `spec` on the node `scope`.
    pub(crate) fn new(spec: &GuestSpec, scope: &Scope) -> GuestFirewall {
        super::compile::register_queries(scope);
        let file = File::new(guest_fw_path(spec.vmid), guest_fw_content(spec))
            .mode(PVE_MODE)
            .owner(PVE_OWNER)
            .in_scope(scope);
        GuestFirewall {
            vmid: spec.vmid,
            file,
            scope: scope.clone(),
        }
    }
}

#[async_trait]
impl Resource for GuestFirewall {
    type State = GuestState;

    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::from_static(GUEST_KIND), self.vmid.to_string())
    }

    fn provides(&self) -> Vec<Capability> {
        Resource::provides(&self.file)
    }

    fn requires(&self) -> Vec<Capability> {
        let mut requires = Resource::requires(&self.file);
        requires.push(guest_capability(self.vmid));
        requires
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<GuestState>, BoxError> {
        let facts = observe(cx, &self.scope).await?;
        let compile = query(&facts, COMPILE_QUERY)?;
        let Some(file) = Resource::inspect(&self.file, cx).await? else {
            return Ok(None);
        };
        let path = guest_fw_path(self.vmid);
        let warnings = parse_warnings(&compile.output)
            .into_iter()
            .filter(|w| w.file == path)
            .map(|w| w.text)
            .collect();
        Ok(Some(GuestState { file, warnings }))
    }

    fn diff(&self, observed: Option<&GuestState>) -> Delta {
        let mut delta = Resource::diff(&self.file, observed.map(|s| &s.file));
        let warnings = observed.map_or(&[][..], |s| s.warnings.as_slice());
        let unchanged = delta.is_empty();
        for warning in warnings {
            delta = delta.diagnostic(if unchanged {
                Diagnostic::error(format!(
                    "pve-firewall compile rejects what Phoenix wrote: {warning}"
                ))
            } else {
                Diagnostic::warning(format!(
                    "pve-firewall compile warns about the file this change replaces: {warning}"
                ))
            });
        }
        delta
    }

    async fn apply(&self, change: &Change, cx: &Ctx<'_>) -> Result<(), BoxError> {
        Resource::apply(&self.file, change, cx).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phoenix_pve::firewall::parse_rule;

    fn spec(enabled: bool, rules: &[&str]) -> GuestSpec {
        GuestSpec {
            vmid: 101,
            enabled,
            rules: rules.iter().map(|r| parse_rule(r).expect("rule")).collect(),
        }
    }

    #[test]
    fn issue_9_a_container_file_is_options_then_rules() {
        let cases = [
            (spec(true, &[]), "[OPTIONS]\n\nenable: 1\n\n"),
            (spec(false, &[]), "[OPTIONS]\n\nenable: 0\n\n"),
            (
                spec(
                    true,
                    &[
                        "IN ACCEPT -p tcp -dport 80,443 # gateway",
                        "OUT DROP -dest 192.168.0.0/16",
                    ],
                ),
                "[OPTIONS]\n\nenable: 1\n\n[RULES]\n\nIN ACCEPT -p tcp -dport 80,443 # gateway\nOUT DROP -dest 192.168.0.0/16\n\n",
            ),
        ];
        for (spec, expect) in cases {
            assert_eq!(guest_fw_content(&spec), expect);
        }
    }

    fn state(content: &str, warnings: &[&str]) -> GuestState {
        GuestState {
            file: FileState {
                content: content.to_owned(),
                mode: PVE_MODE,
                owner: PVE_OWNER.to_owned(),
            },
            warnings: warnings.iter().map(|w| (*w).to_owned()).collect(),
        }
    }

    #[test]
    fn issue_9_a_compile_warning_about_an_unchanged_phoenix_file_is_an_error() {
        let resource = GuestFirewall::new(&spec(true, &[]), &Scope::node());
        let ours = guest_fw_content(&spec(true, &[]));
        let warning = "/etc/pve/firewall/101.fw (line 3): can't parse option 'enable 1'";
        let delta = resource.diff(Some(&state(&ours, &[warning])));
        assert!(delta.is_empty());
        assert_eq!(
            delta.diagnostics[0].to_string(),
            format!("error: pve-firewall compile rejects what Phoenix wrote: {warning}")
        );
        let delta = resource.diff(Some(&state("[OPTIONS]\nenable 1\n", &[warning])));
        assert!(!delta.is_empty());
        assert_eq!(
            delta.diagnostics[0].to_string(),
            format!(
                "warning: pve-firewall compile warns about the file this change replaces: {warning}"
            )
        );
        assert!(
            resource
                .diff(Some(&state(&ours, &[])))
                .diagnostics
                .is_empty()
        );
    }
}
