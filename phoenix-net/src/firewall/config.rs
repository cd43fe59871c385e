//! Decodes the firewall settings: the cluster-wide object (top-level `firewall`, or upstream's
//! `shared_volumes.firewall`, where the bash tool's config put it by mistake) and each
//! container's `lxc_configs.<id>.firewall`, every value checked at its JSON path.
//!
//! Cluster object: `enabled` (required), `default_input_policy` and `default_output_policy`
//! (`ACCEPT`, `DROP`, `REJECT`), and Phoenix's own keys: `rules` (cluster.fw's `[RULES]`, owned by
//! Phoenix when given), `operator_networks` (where the operator administers the host from, for
//! the lock-out guard; default: the network of `network.interfaces.address`) and
//! `allow_lockout` (the guard's finding is a warning instead of an error).
//! Given at both places, the two objects must be identical (the top-level one is used);
//! otherwise it is an error naming both.
//!
//! Container object: `enabled` (required) and `rules`. A container marked `"ensure": "absent"`
//! gets no firewall file (`pct destroy --purge` removes it).

use phoenix_core::config::{JsonPath, Section, excerpt};
use phoenix_core::{DecodeCx, Diagnostic, Location};
use phoenix_pve::firewall::Rule;
use phoenix_pve::firewall::addr::{Span, parse_address_list};
use phoenix_pve::firewall::verify::RuleEnv;
use serde::Deserialize;
use serde_json::Value;

use super::rules::{RawRule, rule_from_config};

/// A default policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub(crate) enum Policy {
    Accept,
    Drop,
    Reject,
}

impl Policy {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Policy::Accept => "ACCEPT",
            Policy::Drop => "DROP",
            Policy::Reject => "REJECT",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCluster {
    enabled: bool,
    #[serde(default)]
    default_input_policy: Option<Policy>,
    #[serde(default)]
    default_output_policy: Option<Policy>,
    #[serde(default)]
    rules: Option<Vec<Value>>,
    #[serde(default)]
    operator_networks: Option<Vec<String>>,
    #[serde(default)]
    allow_lockout: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGuest {
    enabled: bool,
    #[serde(default)]
    rules: Vec<Value>,
}

/// The cluster-wide settings, for cluster.fw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClusterSpec {
    pub(crate) enabled: bool,
    pub(crate) policy_in: Option<Policy>,
    pub(crate) policy_out: Option<Policy>,
    /// `Some`: Phoenix owns cluster.fw's `[RULES]`.
    pub(crate) rules: Option<Vec<Rule>>,
    pub(crate) operator_networks: Vec<String>,
    pub(crate) allow_lockout: bool,
}

/// One container's firewall, for `<vmid>.fw`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GuestSpec {
    pub(crate) vmid: u32,
    pub(crate) enabled: bool,
    pub(crate) rules: Vec<Rule>,
}

/// Everything decoded, with where each came from.
#[derive(Debug, Default)]
pub(crate) struct Decoded {
    pub(crate) cluster: Option<(ClusterSpec, Location)>,
    pub(crate) guests: Vec<(GuestSpec, Location)>,
}

/// Decodes the firewall parts of `sections` (`firewall`, `shared_volumes`, `lxc_configs`, and
/// `network` for the default operator network).
pub(crate) fn decode(sections: &[Section<'_>], cx: &mut DecodeCx<'_>) -> Decoded {
    let mut out = Decoded::default();
    if let Some((section, path, value)) = cluster_source(sections, cx) {
        let default_network = default_operator_network(sections);
        out.cluster = decode_cluster(&section, &path, value, default_network, cx)
            .map(|spec| (spec, section.location_of(&path)));
    }
    for section in sections.iter().filter(|s| s.key == "lxc_configs") {
        let Some(map) = section.value.as_object() else {
            continue; // phoenix-lxc reports it.
        };
        for (key, entry) in map {
            let Some(value) = entry.get("firewall") else {
                continue;
            };
            let Ok(vmid) = key.parse::<u32>() else {
                continue; // phoenix-lxc reports it.
            };
            if entry.get("ensure").and_then(Value::as_str) == Some("absent") {
                continue;
            }
            let path = section.path().key(key).key("firewall");
            if let Some(spec) = decode_guest(section, &path, vmid, value, cx) {
                out.guests.push((spec, section.location_of(&path)));
            }
        }
    }
    out
}

/// The cluster object: top-level `firewall`, else `shared_volumes.firewall`; both must agree.
fn cluster_source<'a>(
    sections: &[Section<'a>],
    cx: &mut DecodeCx<'_>,
) -> Option<(Section<'a>, JsonPath, &'a Value)> {
    let top = sections
        .iter()
        .find(|s| s.key == "firewall")
        .map(|s| (*s, s.path(), s.value));
    let nested = sections
        .iter()
        .filter(|s| s.key == "shared_volumes")
        .find_map(|s| {
            s.value
                .get("firewall")
                .map(|v| (*s, s.path().key("firewall"), v))
        });
    match (top, nested) {
        (Some(top), Some(nested)) => {
            let (section, path, value) = &top;
            let (other, other_path, other_value) = &nested;
            let there = other.location_of(other_path);
            if value == other_value {
                cx.report(
                    Diagnostic::note(format!(
                        "the firewall settings are also given at {there}, identically; the top-level firewall is used"
                    ))
                    .at(section.location_of(path)),
                );
                Some(top)
            } else {
                cx.report(
                    Diagnostic::error(format!(
                        "the firewall settings here and at {there} disagree; give them once (at the top-level firewall key)"
                    ))
                    .at(section.location_of(path)),
                );
                None
            }
        }
        (top, nested) => top.or(nested),
    }
}

/// The network of `network.interfaces.address` (`10.0.0.13/24` gives `10.0.0.0/24`).
fn default_operator_network(sections: &[Section<'_>]) -> Option<String> {
    let address = sections
        .iter()
        .find(|s| s.key == "network")?
        .value
        .get("interfaces")?
        .get("address")?
        .as_str()?;
    network_of(address)
}

/// The network `a.b.c.d/len` lies in, as a CIDR.
pub(crate) fn network_of(address: &str) -> Option<String> {
    let (ip, prefix) = address.split_once('/')?;
    let ip: std::net::IpAddr = ip.parse().ok()?;
    let prefix: u32 = prefix.parse().ok()?;
    match ip {
        std::net::IpAddr::V4(v4) if prefix <= 32 => {
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - prefix)
            };
            Some(format!(
                "{}/{prefix}",
                std::net::Ipv4Addr::from(u32::from(v4) & mask)
            ))
        }
        std::net::IpAddr::V6(v6) if prefix <= 128 => {
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - prefix)
            };
            Some(format!(
                "{}/{prefix}",
                std::net::Ipv6Addr::from(u128::from(v6) & mask)
            ))
        }
        _ => None,
    }
}

fn decode_cluster(
    section: &Section<'_>,
    path: &JsonPath,
    value: &Value,
    default_network: Option<String>,
    cx: &mut DecodeCx<'_>,
) -> Option<ClusterSpec> {
    let raw: RawCluster = cx.decode(section, path, value)?;
    let mut ok = true;
    let rules = match &raw.rules {
        None => None,
        Some(list) => {
            let rules = decode_rules(section, &path.key("rules"), list, RuleEnv::Cluster, "", cx);
            ok &= rules.is_some();
            rules
        }
    };
    let operator_networks = match raw.operator_networks {
        Some(networks) => {
            for (i, network) in networks.iter().enumerate() {
                if let Err(message) = check_operator_network(network) {
                    ok = false;
                    cx.report(
                        Diagnostic::error(message)
                            .at(section.location_of(&path.key("operator_networks").index(i))),
                    );
                }
            }
            networks
        }
        None => default_network.into_iter().collect(),
    };
    ok.then_some(ClusterSpec {
        enabled: raw.enabled,
        policy_in: raw.default_input_policy,
        policy_out: raw.default_output_policy,
        rules,
        operator_networks,
        allow_lockout: raw.allow_lockout,
    })
}

/// An operator network: an address, a network or a range (one of them).
pub(crate) fn check_operator_network(text: &str) -> Result<Vec<Span>, String> {
    parse_address_list(text)
        .map(|(spans, _)| spans)
        .map_err(|m| {
            format!(
                "expected an address or network such as \"10.0.0.0/24\", found {}: {m}",
                excerpt(text)
            )
        })
}

fn decode_guest(
    section: &Section<'_>,
    path: &JsonPath,
    vmid: u32,
    value: &Value,
    cx: &mut DecodeCx<'_>,
) -> Option<GuestSpec> {
    let raw: RawGuest = cx.decode(section, path, value)?;
    let rules = decode_rules(
        section,
        &path.key("rules"),
        &raw.rules,
        RuleEnv::Container,
        &format!("container {vmid}: "),
        cx,
    )?;
    Some(GuestSpec {
        vmid,
        enabled: raw.enabled,
        rules,
    })
}

/// Every rule of a list, each problem reported at its field; `None` if any rule is bad.
fn decode_rules(
    section: &Section<'_>,
    path: &JsonPath,
    list: &[Value],
    env: RuleEnv,
    prefix: &str,
    cx: &mut DecodeCx<'_>,
) -> Option<Vec<Rule>> {
    let mut rules = Vec::new();
    let mut ok = true;
    for (i, value) in list.iter().enumerate() {
        let at = path.index(i);
        let Some(raw) = cx.decode::<RawRule>(section, &at, value) else {
            ok = false;
            continue;
        };
        match rule_from_config(&raw, env) {
            Ok(rule) => rules.push(rule),
            Err(problems) => {
                ok = false;
                for (field, message) in problems {
                    cx.report(
                        Diagnostic::error(format!("{prefix}firewall rule {i}: {message}"))
                            .at(section.location_of(&at.key(field))),
                    );
                }
            }
        }
    }
    ok.then_some(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_9_the_default_operator_network_is_the_host_address_s_network() {
        let cases = [
            ("10.0.0.13/24", Some("10.0.0.0/24")),
            ("192.168.1.77/16", Some("192.168.0.0/16")),
            ("10.0.0.13/32", Some("10.0.0.13/32")),
            ("2001:db8::5/64", Some("2001:db8::/64")),
            ("10.0.0.13", None),
            ("10.0.0.13/40", None),
            ("nonsense/24", None),
        ];
        for (address, expect) in cases {
            assert_eq!(network_of(address).as_deref(), expect, "{address}");
        }
    }

    #[test]
    fn issue_9_operator_networks_must_parse() {
        assert!(check_operator_network("10.0.0.0/24").is_ok());
        assert!(check_operator_network("10.0.0.7").is_ok());
        assert_eq!(
            check_operator_network("10.0.0.7/24").expect_err("host bits"),
            "expected an address or network such as \"10.0.0.0/24\", found \"10.0.0.7/24\": invalid IP address: invalid prefix 10.0.0.7/24: host bits are set"
        );
    }
}
