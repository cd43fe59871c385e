//! The lock-out guard: an input policy that drops what it does not accept must still let the
//! operator reach the host by SSH (tcp 22) and the web UI (tcp 8006).
//!
//! This follows what pve-firewall compiles for the host's input chain (`enable_host_firewall` in
//! `Firewall.pm`), in order: the enabled `IN` rules (host.fw's, then cluster.fw's; a `GROUP`
//! rule expands to its security group's rules), then an accept of tcp 8006, 5900:5999, 3128, 22
//! and 60000:60050 from the `management` ipset, then the policy (`policy_in`, DROP when unset).
//! pve-firewall always adds the local network to `management` (the `local_network` alias of
//! cluster.fw, or the network of the node's address that `pve-firewall localnet` reports), so an
//! operator on that network keeps access under any policy unless a rule drops them first.
//!
//! The guard is conservative where it cannot know: a rule with a destination, a macro other than
//! `SSH`, or a source it cannot resolve never counts as an accept, and a drop that may match part
//! of the operator's network counts as a drop. host.fw (the node's own file, which Phoenix does
//! not manage) is not read.

use phoenix_pve::firewall::addr::{AddressSpec, Span, parse_address_list, parse_address_spec};
use phoenix_pve::firewall::{FwConfig, Rule, RuleType};

/// The ports the operator must keep reaching, with what they are.
pub(crate) const MANAGEMENT_PORTS: [(u16, &str); 2] = [(22, "SSH"), (8006, "the web UI")];

/// What the guard looks at.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Guard<'a> {
    /// cluster.fw as it will be after the change.
    pub(crate) cluster: &'a FwConfig,
    /// The node's local network as pve-firewall detects it, when known.
    pub(crate) local_network: Option<&'a str>,
    /// Where the operator administers the host from.
    pub(crate) operator: &'a [String],
}

/// How much of the operator's network a source covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cover {
    None,
    Part,
    All,
}

/// `Ok` when the operator keeps SSH and web UI access (or the firewall or policy cannot cut
/// them off); otherwise what would be cut off and how to fix it.
pub(crate) fn check_lockout(guard: &Guard<'_>) -> Result<(), String> {
    let options = guard.cluster;
    let enabled = options
        .option("enable")
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|v| v != 0);
    let policy = options.option("policy_in").unwrap_or("DROP");
    if !enabled || policy == "ACCEPT" {
        return Ok(());
    }
    if guard.operator.is_empty() {
        return Err(format!(
            "policy_in {policy} drops what no rule accepts, and the config does not say where the operator administers the host from; set firewall.operator_networks (or network.interfaces.address), or firewall.allow_lockout: true if losing access is intended"
        ));
    }
    let mut cut = Vec::new();
    for network in guard.operator {
        let Ok((spans, _)) = parse_address_list(network) else {
            cut.push(format!("{network} (not an address or network)"));
            continue;
        };
        for (port, what) in MANAGEMENT_PORTS {
            if !spans.iter().all(|span| reachable(guard, span, port)) {
                cut.push(format!("{what} (tcp {port}) from {network}"));
            }
        }
    }
    if cut.is_empty() {
        return Ok(());
    }
    let local = guard.local_network.map_or_else(
        || "no local network is known".to_owned(),
        |net| format!("the local network is {net}"),
    );
    Err(format!(
        "policy_in {policy} would cut the operator off: nothing accepts {} before the policy (the management ipset does not cover it; {local}); add accept rules to firewall.rules, or set firewall.allow_lockout: true if this is intended",
        cut.join(", ")
    ))
}

/// Whether tcp `port` from every address of `operator` reaches the host.
fn reachable(guard: &Guard<'_>, operator: &Span, port: u16) -> bool {
    for rule in host_in_rules(guard.cluster) {
        if !rule.enabled || !matches_port(rule, port) {
            continue;
        }
        let cover = source_cover(guard, rule.source.as_deref(), operator);
        match rule.action.as_str() {
            "ACCEPT" if cover == Cover::All && rule.dest.is_none() => return true,
            "DROP" | "REJECT" if cover != Cover::None => return false,
            _ => {}
        }
    }
    let mut management: Vec<String> = guard
        .cluster
        .ipset("management")
        .map(|set| {
            set.entries
                .iter()
                .filter(|e| !e.nomatch)
                .map(|e| e.cidr.clone())
                .collect()
        })
        .unwrap_or_default();
    management.extend(guard.local_network.map(str::to_owned));
    management
        .iter()
        .any(|entry| cover_of(guard, entry, operator) == Cover::All)
}

/// cluster.fw's `IN` rules in order, security groups expanded.
fn host_in_rules(cluster: &FwConfig) -> Vec<&Rule> {
    let mut rules = Vec::new();
    for rule in &cluster.rules {
        match rule.kind {
            RuleType::In => rules.push(rule),
            RuleType::Group if rule.enabled => {
                let name = rule.action.to_ascii_lowercase();
                if let Some(group) = cluster.groups.iter().find(|g| g.name == name) {
                    rules.extend(group.rules.iter().filter(|r| r.kind == RuleType::In));
                }
            }
            _ => {}
        }
    }
    rules
}

/// Whether the rule may match tcp traffic to `port`.
fn matches_port(rule: &Rule, port: u16) -> bool {
    if let Some(name) = &rule.macro_name {
        return name.eq_ignore_ascii_case("SSH") && port == 22;
    }
    match rule.proto.as_deref() {
        None => rule.dport.is_none(),
        Some("tcp" | "6") => rule
            .dport
            .as_deref()
            .is_none_or(|dport| dport_has(dport, port)),
        Some(_) => false,
    }
}

/// Whether a port list (`22`, `80,443`, `8000:8010`) has `port`; service names never match.
fn dport_has(list: &str, port: u16) -> bool {
    list.split(',').any(|item| match item.split_once(':') {
        Some((a, b)) => {
            matches!((a.parse::<u16>(), b.parse::<u16>()), (Ok(a), Ok(b)) if a <= port && port <= b)
        }
        None => item.parse::<u16>() == Ok(port),
    })
}

fn source_cover(guard: &Guard<'_>, source: Option<&str>, operator: &Span) -> Cover {
    match source {
        None => Cover::All,
        Some(text) => cover_of(guard, text, operator),
    }
}

/// How much of `operator` an address, list, alias or ipset covers (`Part` when it cannot tell).
fn cover_of(guard: &Guard<'_>, text: &str, operator: &Span) -> Cover {
    match parse_address_spec(text) {
        Ok(AddressSpec::List(spans)) => cover_spans(&spans, operator),
        Ok(AddressSpec::Alias { name, .. }) => match guard.cluster.alias(&name) {
            Some(alias) => match parse_address_list(&alias.cidr) {
                Ok((spans, _)) => cover_spans(&spans, operator),
                Err(_) => Cover::Part,
            },
            None => Cover::Part,
        },
        Ok(AddressSpec::IpSet { name, .. }) => {
            let Some(set) = guard.cluster.ipset(&name) else {
                return Cover::Part;
            };
            let mut cover = Cover::None;
            for entry in &set.entries {
                let this = cover_of(guard, &entry.cidr, operator);
                if entry.nomatch && this != Cover::None {
                    return Cover::Part;
                }
                cover = match (cover, this) {
                    (Cover::All, _) | (_, Cover::All) => Cover::All,
                    (Cover::Part, _) | (_, Cover::Part) => Cover::Part,
                    _ => Cover::None,
                };
            }
            if name == "management"
                && let Some(local) = guard.local_network
                && cover_of(guard, local, operator) == Cover::All
            {
                return Cover::All;
            }
            cover
        }
        Err(_) => Cover::Part,
    }
}

fn cover_spans(spans: &[Span], operator: &Span) -> Cover {
    if spans.iter().any(|s| s.covers(operator)) {
        Cover::All
    } else if spans.iter().any(|s| s.overlaps(operator)) {
        Cover::Part
    } else {
        Cover::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phoenix_pve::firewall::parse_fw;

    fn check(cluster: &str, local: Option<&str>, operator: &[&str]) -> String {
        let cluster = parse_fw(cluster).expect("cluster.fw");
        let operator: Vec<String> = operator.iter().map(|s| (*s).to_owned()).collect();
        match check_lockout(&Guard {
            cluster: &cluster,
            local_network: local,
            operator: &operator,
        }) {
            Ok(()) => "ok".to_owned(),
            Err(message) => message,
        }
    }

    const DROP: &str = "[OPTIONS]\n\nenable: 1\npolicy_in: DROP\n\n";

    #[test]
    fn issue_9_the_lockout_guard_refuses_a_policy_that_cuts_the_operator_off() {
        let lan = Some("10.0.0.0/24");
        let vpn = ["192.168.50.0/24"];
        let accepts = format!(
            "{DROP}[RULES]\n\nIN ACCEPT -source 192.168.50.0/24 -p tcp -dport 22\nIN ACCEPT -source 192.168.50.0/24 -p tcp -dport 8006\n"
        );
        type Case<'a> = (&'a str, String, Option<&'a str>, &'a [&'a str], &'a str);
        let cases: Vec<Case<'_>> = vec![
            (
                "disabled",
                "[OPTIONS]\n\nenable: 0\npolicy_in: DROP\n".into(),
                None,
                &vpn,
                "ok",
            ),
            (
                "policy accept",
                "[OPTIONS]\n\nenable: 1\npolicy_in: ACCEPT\n".into(),
                None,
                &vpn,
                "ok",
            ),
            (
                "operator on the local network",
                DROP.into(),
                lan,
                &["10.0.0.0/24"],
                "ok",
            ),
            (
                "one address on the local network",
                DROP.into(),
                lan,
                &["10.0.0.7"],
                "ok",
            ),
            ("explicit accepts", accepts.clone(), lan, &vpn, "ok"),
            (
                "ssh macro and a port list",
                format!(
                    "{DROP}[RULES]\n\nIN SSH(ACCEPT) -source 192.168.0.0/16\nIN ACCEPT -p tcp -dport 443,8006\n"
                ),
                None,
                &vpn,
                "ok",
            ),
            (
                "a range of ports",
                format!(
                    "{DROP}[RULES]\n\nIN ACCEPT -source 192.168.50.0/24 -p tcp -dport 1:9000\n"
                ),
                None,
                &vpn,
                "ok",
            ),
            (
                "the management ipset",
                format!("{DROP}[IPSET management]\n\n192.168.50.0/24\n"),
                lan,
                &vpn,
                "ok",
            ),
            (
                "an ipset and an alias",
                format!(
                    "{DROP}[ALIASES]\n\nvpn 192.168.50.0/24\n\n[IPSET admins]\n\nvpn\n\n[RULES]\n\nIN ACCEPT -source +dc/admins -p tcp -dport 22,8006\n"
                ),
                None,
                &vpn,
                "ok",
            ),
            (
                "a security group",
                format!(
                    "{DROP}[RULES]\n\nGROUP admin\n\n[group admin]\n\nIN ACCEPT -p tcp -dport 22\nIN ACCEPT -p tcp -dport 8006\n"
                ),
                None,
                &vpn,
                "ok",
            ),
            (
                "policy unset means DROP",
                "[OPTIONS]\n\nenable: 1\n".into(),
                lan,
                &vpn,
                "policy_in DROP would cut the operator off: nothing accepts SSH (tcp 22) from 192.168.50.0/24, the web UI (tcp 8006) from 192.168.50.0/24 before the policy (the management ipset does not cover it; the local network is 10.0.0.0/24); add accept rules to firewall.rules, or set firewall.allow_lockout: true if this is intended",
            ),
            (
                "only ssh",
                format!("{DROP}[RULES]\n\nIN SSH(ACCEPT)\n"),
                None,
                &vpn,
                "policy_in DROP would cut the operator off: nothing accepts the web UI (tcp 8006) from 192.168.50.0/24 before the policy (the management ipset does not cover it; no local network is known); add accept rules to firewall.rules, or set firewall.allow_lockout: true if this is intended",
            ),
            (
                "a drop before the accepts",
                format!(
                    "{DROP}[RULES]\n\nIN DROP -source 192.168.0.0/16\nIN ACCEPT -p tcp -dport 22\nIN ACCEPT -p tcp -dport 8006\n"
                ),
                None,
                &vpn,
                "policy_in DROP would cut the operator off: nothing accepts SSH (tcp 22) from 192.168.50.0/24, the web UI (tcp 8006) from 192.168.50.0/24 before the policy (the management ipset does not cover it; no local network is known); add accept rules to firewall.rules, or set firewall.allow_lockout: true if this is intended",
            ),
            (
                "a disabled accept",
                format!("{DROP}[RULES]\n\n|IN ACCEPT -p tcp -dport 22,8006\n"),
                None,
                &["192.168.50.7"],
                "policy_in DROP would cut the operator off: nothing accepts SSH (tcp 22) from 192.168.50.7, the web UI (tcp 8006) from 192.168.50.7 before the policy (the management ipset does not cover it; no local network is known); add accept rules to firewall.rules, or set firewall.allow_lockout: true if this is intended",
            ),
            (
                "an accept of part of the network",
                format!(
                    "{DROP}[RULES]\n\nIN ACCEPT -source 192.168.50.0/25 -p tcp -dport 22,8006\n"
                ),
                None,
                &vpn,
                "policy_in DROP would cut the operator off: nothing accepts SSH (tcp 22) from 192.168.50.0/24, the web UI (tcp 8006) from 192.168.50.0/24 before the policy (the management ipset does not cover it; no local network is known); add accept rules to firewall.rules, or set firewall.allow_lockout: true if this is intended",
            ),
            (
                "udp is not ssh",
                format!(
                    "{DROP}[RULES]\n\nIN ACCEPT -p udp -dport 22\nIN ACCEPT -p tcp -dport 8006\n"
                ),
                None,
                &vpn,
                "policy_in DROP would cut the operator off: nothing accepts SSH (tcp 22) from 192.168.50.0/24 before the policy (the management ipset does not cover it; no local network is known); add accept rules to firewall.rules, or set firewall.allow_lockout: true if this is intended",
            ),
            (
                "reject too",
                "[OPTIONS]\n\nenable: 1\npolicy_in: REJECT\n".into(),
                None,
                &[],
                "policy_in REJECT drops what no rule accepts, and the config does not say where the operator administers the host from; set firewall.operator_networks (or network.interfaces.address), or firewall.allow_lockout: true if losing access is intended",
            ),
        ];
        for (name, cluster, local, operator, expect) in cases {
            assert_eq!(check(&cluster, local, operator), expect, "{name}");
        }
    }
}
