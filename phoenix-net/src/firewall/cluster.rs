//! `pve.firewall.cluster`: the cluster-wide firewall settings in
//! `/etc/pve/firewall/cluster.fw`, a file the operator shares with Phoenix.
//!
//! Phoenix owns the `[OPTIONS]` keys `enable`, `policy_in` and `policy_out` (the last two only
//! when the config gives them), and the `[RULES]` section only when the config lists cluster
//! rules; every other option, alias, ipset and security group is the operator's and is kept.
//! The resource reads the file through the node's probe, edits its keys with phoenix-pve's
//! reader and writer, and writes the file back (as Proxmox's own writer does, so free comment
//! lines are dropped, as the GUI drops them) only when one of its keys differs.
//! pve-firewall rereads the file by itself within seconds: there is no restart and no reload.
//!
//! At plan time the lock-out guard checks the edited file, and `pve-firewall compile` (a probe
//! query) reports its warnings about cluster.fw and the files Phoenix does not own.

use std::collections::BTreeSet;
use std::path::Path;

use async_trait::async_trait;
use phoenix_core::file::unified_diff;
use phoenix_core::probe::observe;
use phoenix_core::scope::Scope;
use phoenix_core::{
    BoxError, Content, Ctx, Delta, Diagnostic, FieldChange, Kind, Resource, ResourceId, Step,
};
use phoenix_pve::firewall::{FwConfig, format_fw, format_rule, parse_fw};
use serde::{Deserialize, Serialize};

use super::compile::{
    COMPILE_QUERY, LOCALNET_QUERY, compile_failure, parse_localnet, parse_warnings, query,
};
use super::config::ClusterSpec;
use super::lockout::{Guard, check_lockout};
use super::{CLUSTER_FW, CLUSTER_KIND, PVE_MODE, PVE_OWNER, guest_fw_path};

/// The cluster-wide firewall settings.
#[derive(Debug, Clone)]
pub(crate) struct ClusterFirewall {
    spec: ClusterSpec,
    scope: Scope,
    /// The containers whose `<vmid>.fw` Phoenix writes (their warnings are theirs to report).
    guests: BTreeSet<u32>,
}

/// What the node shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ClusterState {
    /// cluster.fw's content; `None` when there is no file.
    pub(crate) content: Option<String>,
    /// The local network pve-firewall accepts management traffic from, when it reports one.
    pub(crate) local_network: Option<String>,
    /// `pve-firewall compile`'s warnings about files Phoenix does not own wholly, and, when it
    /// failed (a lock it could not take, say), its exit status and last line.
    pub(crate) warnings: Vec<String>,
}

impl ClusterFirewall {
    /// The resource on the node `scope` (which must carry the firewall's probe queries and
    /// cluster.fw's path).
    pub(crate) fn new(spec: ClusterSpec, scope: Scope, guests: BTreeSet<u32>) -> ClusterFirewall {
        scope.observe(|inventory| {
            inventory.paths.insert(CLUSTER_FW.to_owned());
        });
        super::compile::register_queries(&scope);
        ClusterFirewall {
            spec,
            scope,
            guests,
        }
    }

    /// cluster.fw with Phoenix's keys set as the config says.
    pub(crate) fn edit(&self, current: &FwConfig) -> FwConfig {
        let mut desired = current.clone();
        desired.set_option("enable", if self.spec.enabled { "1" } else { "0" });
        if let Some(policy) = self.spec.policy_in {
            desired.set_option("policy_in", policy.as_str());
        }
        if let Some(policy) = self.spec.policy_out {
            desired.set_option("policy_out", policy.as_str());
        }
        if let Some(rules) = &self.spec.rules {
            desired.rules.clone_from(rules);
        }
        desired
    }

    /// The lock-out guard's finding: an error, or a warning when the config allows it.
    fn guard(&self, desired: &FwConfig, local_network: Option<&str>) -> Option<Diagnostic> {
        let finding = check_lockout(&Guard {
            cluster: desired,
            local_network,
            operator: &self.spec.operator_networks,
        })
        .err()?;
        Some(if self.spec.allow_lockout {
            Diagnostic::warning(format!(
                "{finding} (allowed: firewall.allow_lockout is true)"
            ))
        } else {
            Diagnostic::error(finding)
        })
    }
}

#[async_trait]
impl Resource for ClusterFirewall {
    type State = ClusterState;

    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::from_static(CLUSTER_KIND), "cluster")
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<ClusterState>, BoxError> {
        let facts = observe(cx, &self.scope).await?;
        let compile = query(&facts, COMPILE_QUERY)?;
        let localnet = query(&facts, LOCALNET_QUERY)?;
        let content = match facts.paths.get(CLUSTER_FW) {
            None => None,
            Some(fact) if fact.is_file() => fact.content.clone(),
            Some(fact) => {
                return Err(format!("{CLUSTER_FW} is a {}, not a file", fact.file_type).into());
            }
        };
        let owned: BTreeSet<String> = self.guests.iter().map(|id| guest_fw_path(*id)).collect();
        let mut warnings: Vec<String> = parse_warnings(&compile.output)
            .into_iter()
            .filter(|w| !owned.contains(&w.file))
            .map(|w| w.text)
            .collect();
        warnings.extend(compile_failure(compile));
        Ok(Some(ClusterState {
            content,
            local_network: parse_localnet(&localnet.output),
            warnings,
        }))
    }

    fn diff(&self, observed: Option<&ClusterState>) -> Delta {
        let empty = ClusterState {
            content: None,
            local_network: None,
            warnings: Vec::new(),
        };
        let observed = observed.unwrap_or(&empty);
        let before_text = observed.content.as_deref().unwrap_or("");
        let current = match parse_fw(before_text) {
            Ok(current) => current,
            Err(err) => {
                return Delta::none().diagnostic(Diagnostic::error(format!(
                    "{CLUSTER_FW} cannot be read ({err}); Phoenix does not rewrite a file it cannot read: fix the line, or move the file away"
                )));
            }
        };
        let desired = self.edit(&current);
        let mut delta = Delta::none();
        for (key, value) in &desired.options {
            let before = current.option(key);
            if before != Some(value.as_str()) {
                delta = delta.field(FieldChange::new(
                    format!("options.{key}"),
                    before.map(|v| v.to_owned().into()),
                    Some(value.clone().into()),
                ));
            }
        }
        if current.rules != desired.rules {
            let lines = |config: &FwConfig| {
                config
                    .rules
                    .iter()
                    .map(|rule| format_rule(rule, true))
                    .collect::<Vec<_>>()
            };
            delta = delta.field(FieldChange::new(
                "rules",
                Some(lines(&current).into()),
                Some(lines(&desired).into()),
            ));
        }
        if !delta.fields.is_empty() {
            let after_text = format_fw(&desired);
            delta = delta
                .step(Step::WriteFile {
                    path: CLUSTER_FW.into(),
                    content: Content::plain(after_text.clone()),
                    mode: PVE_MODE,
                    owner: Some(PVE_OWNER.to_owned()),
                })
                .file_diff(unified_diff(
                    Path::new(CLUSTER_FW),
                    before_text,
                    &after_text,
                ));
        }
        if let Some(finding) = self.guard(&desired, observed.local_network.as_deref()) {
            delta = delta.diagnostic(finding);
        }
        for warning in &observed.warnings {
            delta = delta.diagnostic(Diagnostic::warning(format!(
                "pve-firewall compile: {warning}"
            )));
        }
        delta
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::config::Policy;

    fn resource(spec: ClusterSpec) -> ClusterFirewall {
        ClusterFirewall::new(spec, Scope::node(), BTreeSet::new())
    }

    fn spec() -> ClusterSpec {
        ClusterSpec {
            enabled: true,
            policy_in: Some(Policy::Drop),
            policy_out: Some(Policy::Accept),
            rules: None,
            operator_networks: vec!["10.0.0.0/24".to_owned()],
            allow_lockout: false,
        }
    }

    fn render(delta: &Delta) -> String {
        let mut out = String::new();
        for field in &delta.fields {
            out.push_str(&format!(
                "{}: {} -> {}\n",
                field.field,
                field
                    .before
                    .as_ref()
                    .map_or("(absent)".to_owned(), ToString::to_string),
                field
                    .after
                    .as_ref()
                    .map_or("(absent)".to_owned(), ToString::to_string)
            ));
        }
        for step in &delta.steps {
            if let Step::WriteFile { content, .. } = step {
                out.push_str(&format!("{step}\n{}", content.reveal().unwrap_or_default()));
            }
        }
        for diagnostic in &delta.diagnostics {
            out.push_str(&format!("{diagnostic}\n"));
        }
        out
    }

    fn check(spec: ClusterSpec, content: Option<&str>, local: Option<&str>, expect: &str) {
        let state = ClusterState {
            content: content.map(str::to_owned),
            local_network: local.map(str::to_owned),
            warnings: Vec::new(),
        };
        assert_eq!(render(&resource(spec).diff(Some(&state))), expect);
    }

    #[test]
    fn issue_9_cluster_fw_gets_phoenix_s_keys_and_keeps_the_operator_s() {
        // A missing file is created with Phoenix's keys.
        check(
            spec(),
            None,
            Some("10.0.0.0/24"),
            "options.enable: (absent) -> \"1\"\noptions.policy_in: (absent) -> \"DROP\"\noptions.policy_out: (absent) -> \"ACCEPT\"\nwrite /etc/pve/firewall/cluster.fw (57 bytes, mode 0640, owner root:www-data)\n[OPTIONS]\n\nenable: 1\npolicy_in: DROP\npolicy_out: ACCEPT\n\n",
        );
        // The operator's options, ipsets, rules and groups are kept; only `enable` changes.
        check(
            spec(),
            Some(
                "[OPTIONS]\n\npolicy_in: DROP\nenable: 0\npolicy_out: ACCEPT\nlog_ratelimit: enable=1,rate=1/second\n\n[IPSET management]\n\n10.0.0.0/24\n\n[RULES]\n\nIN SSH(ACCEPT) -source +dc/management\n\n[group web]\n\nIN ACCEPT -p tcp -dport 443\n\n",
            ),
            None,
            "options.enable: \"0\" -> \"1\"\nwrite /etc/pve/firewall/cluster.fw (218 bytes, mode 0640, owner root:www-data)\n[OPTIONS]\n\npolicy_in: DROP\nenable: 1\npolicy_out: ACCEPT\nlog_ratelimit: enable=1,rate=1/second\n\n[IPSET management]\n\n10.0.0.0/24\n\n[RULES]\n\nIN SSH(ACCEPT) -source +dc/management\n\n[group web]\n\nIN ACCEPT -p tcp -dport 443\n\n",
        );
        // Nothing differs: nothing to do, whatever the file's layout and comments.
        check(
            spec(),
            Some("# written by hand\n[options]\npolicy_out: ACCEPT\nenable: 1\npolicy_in: DROP\n"),
            Some("10.0.0.0/24"),
            "",
        );
        // Rules given in the config replace the section.
        let mut with_rules = spec();
        with_rules.rules = Some(vec![
            phoenix_pve::firewall::parse_rule(
                "IN ACCEPT -source 10.0.0.0/24 -p tcp -dport 22,8006",
            )
            .expect("rule"),
        ]);
        check(
            with_rules,
            Some(
                "[OPTIONS]\n\nenable: 1\npolicy_in: DROP\npolicy_out: ACCEPT\n\n[RULES]\n\nIN ACCEPT -p tcp -dport 80\n\n",
            ),
            None,
            "rules: [\"IN ACCEPT -p tcp -dport 80\"] -> [\"IN ACCEPT -source 10.0.0.0/24 -p tcp -dport 22,8006\"]\nwrite /etc/pve/firewall/cluster.fw (119 bytes, mode 0640, owner root:www-data)\n[OPTIONS]\n\nenable: 1\npolicy_in: DROP\npolicy_out: ACCEPT\n\n[RULES]\n\nIN ACCEPT -source 10.0.0.0/24 -p tcp -dport 22,8006\n\n",
        );
    }

    #[test]
    fn issue_9_a_lockout_is_a_plan_error_unless_allowed() {
        let mut remote = spec();
        remote.operator_networks = vec!["192.168.50.0/24".to_owned()];
        let content = Some("[OPTIONS]\n\nenable: 1\npolicy_in: DROP\npolicy_out: ACCEPT\n\n");
        let expect_error = "error: policy_in DROP would cut the operator off: nothing accepts SSH (tcp 22) from 192.168.50.0/24, the web UI (tcp 8006) from 192.168.50.0/24 before the policy (the management ipset does not cover it; the local network is 10.0.0.0/24); add accept rules to firewall.rules, or set firewall.allow_lockout: true if this is intended\n";
        check(remote.clone(), content, Some("10.0.0.0/24"), expect_error);
        remote.allow_lockout = true;
        check(
            remote,
            content,
            Some("10.0.0.0/24"),
            &expect_error.replace("error: ", "warning: ").replace(
                "intended\n",
                "intended (allowed: firewall.allow_lockout is true)\n",
            ),
        );
    }

    #[test]
    fn issue_9_an_unreadable_cluster_fw_is_never_rewritten() {
        check(
            spec(),
            Some("[OPTIONS]\nenable yes\n"),
            None,
            "error: /etc/pve/firewall/cluster.fw cannot be read (parse line 2: can't parse option 'enable yes'); Phoenix does not rewrite a file it cannot read: fix the line, or move the file away\n",
        );
    }
}
