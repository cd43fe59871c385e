//! What `pve-firewall compile` prints that Phoenix reads: its warnings about the files it
//! parses.
//!
//! pve-firewall (`Firewall.pm`, `generic_fw_config_parser` and `parse_fw_rule`) warns on
//! standard error, one warning per problem line, as `<file> (line N): <message>` (a line it
//! cannot parse, which it skips) or `<file> (line N) - errors in rule parameters: <rule>`
//! followed by `  <param>: <message>` lines (a rule it ignores), or
//! `<file> (line N) - errors in ipset '<name>': <entry>` with its parameter lines. The scope
//! probe runs `pve-firewall compile` as a query (standard output and error together); every
//! other line it prints (the iptables, ipset and ebtables command lists) is ignored here.

use phoenix_core::probe::{QueryFact, ScopeFacts};
use phoenix_core::scope::Scope;
use phoenix_core::{BoxError, Unsupported};

/// The probe query that runs `pve-firewall compile` on the node.
pub(crate) const COMPILE_QUERY: &str = "pve-firewall.compile";

/// The probe query that runs `pve-firewall localnet` (the local network pve-firewall accepts
/// management traffic from).
pub(crate) const LOCALNET_QUERY: &str = "pve-firewall.localnet";

/// Registers both queries in the node's probe (several resources may register them).
pub(crate) fn register_queries(scope: &Scope) {
    scope.observe(|inventory| {
        for (name, verb) in [(COMPILE_QUERY, "compile"), (LOCALNET_QUERY, "localnet")] {
            inventory
                .query(name, ["pve-firewall", verb])
                .expect("invariant: constant query names and argv are valid");
        }
    });
}

/// A query's result; a missing `pve-firewall` means the target has no Proxmox firewall, so the
/// firewall is not managed there.
pub(crate) fn query<'a>(facts: &'a ScopeFacts, name: &str) -> Result<&'a QueryFact, BoxError> {
    let fact = facts
        .queries
        .get(name)
        .ok_or_else(|| BoxError::from(format!("the node's probe did not run query {name}")))?;
    if fact.is_missing_program() {
        return Err(Unsupported::missing_tool(
            "pve-firewall",
            "the Proxmox firewall files are managed only on a Proxmox VE host",
        )
        .into());
    }
    Ok(fact)
}

/// The local network `pve-firewall localnet` reports it uses (`using detected local_network: X`
/// or `using user defined local_network: X`).
pub(crate) fn parse_localnet(output: &str) -> Option<String> {
    output.lines().find_map(|line| {
        line.strip_prefix("using ")
            .and_then(|rest| rest.split_once("local_network: "))
            .map(|(_, net)| net.trim().to_owned())
    })
}

/// Why `pve-firewall compile` failed (it could not take its lock, say), so its checks of the
/// files did not run: its exit status and last line. `None` when it succeeded.
pub(crate) fn compile_failure(fact: &QueryFact) -> Option<String> {
    if fact.success() {
        return None;
    }
    let last = fact.output.lines().rev().find(|l| !l.trim().is_empty());
    Some(format!(
        "failed (exit {}): {}; its checks of the firewall files did not run",
        fact.status,
        last.unwrap_or("no output")
    ))
}

/// One warning of `pve-firewall compile`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Warning {
    /// The file it is about, such as `/etc/pve/firewall/101.fw`.
    pub(crate) file: String,
    /// The whole warning, its detail lines included, without the final newline.
    pub(crate) text: String,
}

/// The warnings in `pve-firewall compile`'s output, in order.
pub(crate) fn parse_warnings(output: &str) -> Vec<Warning> {
    let mut warnings: Vec<Warning> = Vec::new();
    for line in output.lines() {
        if let Some(file) = warning_file(line) {
            warnings.push(Warning {
                file: file.to_owned(),
                text: line.to_owned(),
            });
        } else if line.starts_with("  ")
            && let Some(last) = warnings.last_mut()
        {
            last.text.push('\n');
            last.text.push_str(line);
        }
    }
    warnings
}

/// The file a warning line names: `/path (line N)` at its start.
fn warning_file(line: &str) -> Option<&str> {
    let (file, rest) = line.split_once(" (line ")?;
    let digits = rest.split_once(')')?.0;
    (file.starts_with('/') && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then_some(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_9_a_failed_compile_is_reported_with_its_last_line() {
        let fact = |status: i32, output: &str| QueryFact {
            status,
            output: output.to_owned(),
        };
        assert_eq!(compile_failure(&fact(0, "no changes\n")), None);
        assert_eq!(
            compile_failure(&fact(
                255,
                "ipset cmdlist:\ncan't lock file '/run/lock/pvefw.lck' - got timeout\n\n"
            ))
            .as_deref(),
            Some(
                "failed (exit 255): can't lock file '/run/lock/pvefw.lck' - got timeout; its checks of the firewall files did not run"
            )
        );
        assert_eq!(
            compile_failure(&fact(2, "")).as_deref(),
            Some("failed (exit 2): no output; its checks of the firewall files did not run")
        );
    }

    #[test]
    fn issue_9_the_local_network_is_read_from_localnet() {
        let detected = "local hostname: pve\nlocal IP address: 10.0.0.13\nnetwork auto detect: 10.0.0.0/24\nusing detected local_network: 10.0.0.0/24\n";
        assert_eq!(parse_localnet(detected).as_deref(), Some("10.0.0.0/24"));
        let defined = "local hostname: pve\nlocal IP address: 10.0.0.13\nnetwork auto detect: 10.0.0.0/24\nusing user defined local_network: 10.0.0.0/16\n";
        assert_eq!(parse_localnet(defined).as_deref(), Some("10.0.0.0/16"));
        assert_eq!(parse_localnet("ipcc_send_rec failed\n"), None);
    }

    #[test]
    fn issue_9_compile_warnings_are_read_with_their_detail_lines() {
        let output = "ipset cmdlist:\n\niptables cmdlist:\n/etc/pve/firewall/101.fw (line 7) - errors in rule parameters: IN ACCEPT -p tcp -dport 99999\n  dport: invalid port '99999'\n/etc/pve/firewall/cluster.fw (line 3): can't parse option 'enable yes'\nexists PVEFW-INPUT (abc)\n\t-A PVEFW-INPUT -j PVEFW-HOST-IN\nno changes\n";
        let warnings = parse_warnings(output);
        assert_eq!(
            warnings,
            vec![
                Warning {
                    file: "/etc/pve/firewall/101.fw".into(),
                    text: "/etc/pve/firewall/101.fw (line 7) - errors in rule parameters: IN ACCEPT -p tcp -dport 99999\n  dport: invalid port '99999'".into(),
                },
                Warning {
                    file: "/etc/pve/firewall/cluster.fw".into(),
                    text: "/etc/pve/firewall/cluster.fw (line 3): can't parse option 'enable yes'".into(),
                },
            ]
        );
    }
}
