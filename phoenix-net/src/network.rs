//! The host network (`network.interfaces`: `name`, `address`, `gateway`, `dns_nameservers`):
//! inspected and compared, differences reported as drift warnings, never rewritten.
//!
//! Why never rewritten: Phoenix usually runs over SSH through the very bridge this describes; a
//! wrong address, gateway or a bridge restarted mid-run cuts the operator off the host with no
//! way back but the console (upstream rewrote `/etc/network/interfaces.d/50-<name>.cfg` and
//! restarted networking on every run). So `net.interface` reads the interface's static stanza
//! (`/etc/network/interfaces`, then the `interfaces.d/50-<name>.cfg` upstream wrote) and
//! `/etc/resolv.conf` from the node's one probe, and its diff has no steps, only warnings.
//!
//! The other `network` fields (Portainer, the registry, the subnet, the NFS server address) are
//! known upstream settings that nothing on the host reads; each is a note.

use std::collections::BTreeMap;
use std::net::IpAddr;

use async_trait::async_trait;
use phoenix_core::config::{Section, excerpt, suggest};
use phoenix_core::probe::observe;
use phoenix_core::{
    BoxError, Ctx, DecodeCx, Delta, Diagnostic, Kind, Location, Resource, ResourceId, Scope,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The kind: `net.interface`.
pub(crate) const KIND: &str = "net.interface";

const INTERFACES: &str = "/etc/network/interfaces";
const RESOLV_CONF: &str = "/etc/resolv.conf";

/// Upstream `network` keys that nothing on the host reads, and why.
const KNOWN: &[(&str, &str)] = &[
    ("hostname", "the host name is not managed by Phoenix"),
    (
        "workgroup",
        "the Samba workgroup stays in smb.conf's [global], which Phoenix keeps",
    ),
    (
        "external_registry_url",
        "a container registry for the Docker features",
    ),
    ("portainer_server_ip", "Portainer is not managed by Phoenix"),
    (
        "portainer_server_port",
        "Portainer is not managed by Phoenix",
    ),
    (
        "portainer_agent_port",
        "Portainer is not managed by Phoenix",
    ),
    ("default_subnet", "never read by the bash tool either"),
    (
        "nfs_server",
        "the NFS server is this host; exports come from nfs.exports",
    ),
    (
        "fallback_dns",
        "DNS is inspected from network.interfaces.dns_nameservers only",
    ),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InterfaceEntry {
    name: String,
    address: String,
    gateway: String,
    #[serde(default)]
    dns_nameservers: Option<String>,
}

/// The interface as the config describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InterfaceSpec {
    pub(crate) name: String,
    /// `ADDRESS/PREFIX`.
    pub(crate) address: String,
    pub(crate) gateway: String,
    pub(crate) dns: Vec<String>,
}

/// Decodes `network`: `interfaces` into one `net.interface`, a note per known field.
pub(crate) fn decode(sections: &[Section<'_>], cx: &mut DecodeCx<'_>) {
    for section in sections.iter().filter(|s| s.key == "network") {
        let Some(map) =
            cx.decode::<serde_json::Map<String, Value>>(section, &section.path(), section.value)
        else {
            continue;
        };
        for (key, value) in &map {
            let at = section.path().key(key.as_str());
            if key == "interfaces" {
                let Some(entry) = cx.decode::<InterfaceEntry>(section, &at, value) else {
                    continue;
                };
                match check_interface(&entry) {
                    Ok(spec) => {
                        let node = cx.scope("node").expect("invariant: the node is a scope");
                        let field = |name: &str| section.location_of(&at.clone().key(name));
                        let resource = Interface::new(
                            &node,
                            spec,
                            [field("address"), field("gateway"), field("dns_nameservers")],
                        );
                        cx.add_at(resource, section.location_of(&at));
                    }
                    Err(problems) => {
                        for (field, message) in problems {
                            cx.report(
                                Diagnostic::error(message)
                                    .at(section.location_of(&at.clone().key(field))),
                            );
                        }
                    }
                }
            } else if let Some((_, why)) = KNOWN.iter().find(|(k, _)| k == key) {
                cx.report(
                    Diagnostic::note(format!(
                        "network.{key} is known but not managed by Phoenix: {why}"
                    ))
                    .at(section.location_of(&at)),
                );
            } else {
                let keys = std::iter::once("interfaces").chain(KNOWN.iter().map(|(k, _)| *k));
                let hint = suggest(key, keys)
                    .map(|s| format!("; did you mean \"{s}\"?"))
                    .unwrap_or_default();
                cx.report(
                    Diagnostic::error(format!("unknown key {key:?} in network{hint}"))
                        .at(section.location_of(&at)),
                );
            }
        }
    }
}

/// Checks the interface entry field by field.
fn check_interface(entry: &InterfaceEntry) -> Result<InterfaceSpec, Vec<(&'static str, String)>> {
    let mut problems = Vec::new();
    let name_ok = !entry.name.is_empty()
        && entry.name.len() <= 15
        && entry
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !name_ok {
        problems.push((
            "name",
            format!(
                "expected an interface name of 1 to 15 letters, digits, '-', '_' or '.' (such as vmbr0), found {}",
                excerpt(&entry.name)
            ),
        ));
    }
    let cidr_ok = entry.address.split_once('/').is_some_and(|(ip, prefix)| {
        let max = match ip.parse::<IpAddr>() {
            Ok(IpAddr::V4(_)) => 32,
            Ok(IpAddr::V6(_)) => 128,
            Err(_) => return false,
        };
        prefix.bytes().all(|b| b.is_ascii_digit()) && prefix.parse::<u8>().is_ok_and(|p| p <= max)
    });
    if !cidr_ok {
        problems.push((
            "address",
            format!(
                "expected an address with its prefix length such as 10.0.0.13/24, found {}",
                excerpt(&entry.address)
            ),
        ));
    }
    if entry.gateway.parse::<IpAddr>().is_err() {
        problems.push((
            "gateway",
            format!(
                "expected an IP address such as 10.0.0.1, found {}",
                excerpt(&entry.gateway)
            ),
        ));
    }
    let dns: Vec<String> = entry
        .dns_nameservers
        .as_deref()
        .unwrap_or_default()
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if dns.iter().any(|d| d.parse::<IpAddr>().is_err()) {
        problems.push((
            "dns_nameservers",
            format!(
                "expected IP addresses separated by blanks or commas, found {}",
                excerpt(entry.dns_nameservers.as_deref().unwrap_or_default())
            ),
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(InterfaceSpec {
        name: entry.name.clone(),
        address: entry.address.clone(),
        gateway: entry.gateway.clone(),
        dns,
    })
}

/// An interface's static configuration as ifupdown reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Stanza {
    /// `ADDRESS/PREFIX` (an `address` with a separate `netmask` is joined).
    pub(crate) address: Option<String>,
    pub(crate) gateway: Option<String>,
    pub(crate) dns: Vec<String>,
}

/// The `iface NAME inet|inet6 static` stanzas of an ifupdown file, by interface name.
pub(crate) fn parse_interfaces(text: &str) -> BTreeMap<String, Stanza> {
    let mut stanzas: BTreeMap<String, Stanza> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut netmask: Option<String> = None;
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some((&first, rest)) = words.split_first() else {
            continue;
        };
        match (first, rest) {
            ("iface", [name, "inet" | "inet6", "static", ..]) => {
                join_netmask(&mut stanzas, current.as_deref(), netmask.take());
                current = Some((*name).to_owned());
                stanzas.entry((*name).to_owned()).or_default();
            }
            ("iface" | "auto" | "allow-hotplug" | "source" | "source-directory" | "mapping", _)
                if !line.starts_with(char::is_whitespace) =>
            {
                join_netmask(&mut stanzas, current.as_deref(), netmask.take());
                current = None;
            }
            (option, values) => {
                let Some(stanza) = current.as_ref().and_then(|n| stanzas.get_mut(n)) else {
                    continue;
                };
                match (option, values) {
                    ("address", [address, ..]) => stanza.address = Some((*address).to_owned()),
                    ("netmask", [mask, ..]) => netmask = Some((*mask).to_owned()),
                    ("gateway", [gateway, ..]) => stanza.gateway = Some((*gateway).to_owned()),
                    ("dns-nameservers", servers) => {
                        stanza.dns.extend(servers.iter().map(|s| (*s).to_owned()));
                    }
                    _ => {}
                }
            }
        }
    }
    join_netmask(&mut stanzas, current.as_deref(), netmask);
    stanzas
}

/// `address 10.0.0.13` with `netmask 255.255.255.0` is `10.0.0.13/24`.
fn join_netmask(stanzas: &mut BTreeMap<String, Stanza>, name: Option<&str>, mask: Option<String>) {
    let (Some(name), Some(mask)) = (name, mask) else {
        return;
    };
    let Some(stanza) = stanzas.get_mut(name) else {
        return;
    };
    let prefix = match mask.parse::<std::net::Ipv4Addr>() {
        Ok(mask) => u32::from(mask).leading_ones().to_string(),
        Err(_) => mask,
    };
    if let Some(address) = stanza.address.as_mut().filter(|a| !a.contains('/')) {
        address.push('/');
        address.push_str(&prefix);
    }
}

/// The `nameserver` lines of resolv.conf.
pub(crate) fn parse_resolv_conf(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("nameserver")).then(|| words.next().map(str::to_owned))?
        })
        .collect()
}

/// The host's network interface, compared with the config; never changed.
#[derive(Debug, Clone)]
pub(crate) struct Interface {
    scope: Scope,
    spec: InterfaceSpec,
    /// Where `address`, `gateway` and `dns_nameservers` are in the config.
    at: [Location; 3],
}

/// What the host says about the interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct InterfaceState {
    /// The file the stanza is in, and the stanza; `None` when no file has one.
    pub(crate) stanza: Option<(String, Stanza)>,
    /// resolv.conf's name servers.
    pub(crate) resolvers: Vec<String>,
}

impl Interface {
    fn new(scope: &Scope, spec: InterfaceSpec, at: [Location; 3]) -> Interface {
        let dropin = dropin(&spec.name);
        scope.observe(|inventory| {
            inventory.paths.insert(INTERFACES.to_owned());
            inventory.paths.insert(dropin);
            inventory.paths.insert(RESOLV_CONF.to_owned());
        });
        Interface {
            scope: scope.clone(),
            spec,
            at,
        }
    }
}

/// The drop-in upstream wrote.
fn dropin(name: &str) -> String {
    format!("/etc/network/interfaces.d/50-{name}.cfg")
}

#[async_trait]
impl Resource for Interface {
    type State = InterfaceState;

    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), self.spec.name.clone())
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<InterfaceState>, BoxError> {
        let facts = observe(cx, &self.scope).await?;
        let content = |path: &str| facts.paths.get(path).and_then(|p| p.content.clone());
        let stanza = [INTERFACES.to_owned(), dropin(&self.spec.name)]
            .into_iter()
            .find_map(|path| {
                let stanza = parse_interfaces(&content(&path)?).remove(&self.spec.name)?;
                Some((path, stanza))
            });
        Ok(Some(InterfaceState {
            stanza,
            resolvers: content(RESOLV_CONF)
                .map(|text| parse_resolv_conf(&text))
                .unwrap_or_default(),
        }))
    }

    fn diff(&self, observed: Option<&InterfaceState>) -> Delta {
        let mut delta = Delta::none();
        for (message, at) in drift(&self.spec, observed, &self.at) {
            delta
                .diagnostics
                .push(Diagnostic::warning(message).at(at.clone()));
        }
        delta
    }
}

const NEVER: &str = "Phoenix reports this and never rewrites the host network (a wrong bridge \
address cuts the operator off); change the config or the host by hand";

/// What differs between the config and the host, each with the config field it is about.
fn drift<'a>(
    spec: &InterfaceSpec,
    observed: Option<&InterfaceState>,
    at: &'a [Location; 3],
) -> Vec<(String, &'a Location)> {
    let name = &spec.name;
    let Some(state) = observed else {
        return Vec::new();
    };
    let Some((file, stanza)) = &state.stanza else {
        return vec![(
            format!(
                "network drift: no static stanza for {name} in {INTERFACES} or {}; the config \
                 says {} via {}. {NEVER}",
                dropin(name),
                spec.address,
                spec.gateway
            ),
            &at[0],
        )];
    };
    let mut found = Vec::new();
    let show = |value: Option<&String>| value.map_or_else(|| "nothing".to_owned(), Clone::clone);
    if stanza.address.as_ref() != Some(&spec.address) {
        found.push((
            format!(
                "network drift: {name} has address {} in {file}, the config says {}. {NEVER}",
                show(stanza.address.as_ref()),
                spec.address
            ),
            &at[0],
        ));
    }
    if stanza.gateway.as_ref() != Some(&spec.gateway) {
        found.push((
            format!(
                "network drift: {name} has gateway {} in {file}, the config says {}. {NEVER}",
                show(stanza.gateway.as_ref()),
                spec.gateway
            ),
            &at[1],
        ));
    }
    let known: Vec<&String> = stanza.dns.iter().chain(&state.resolvers).collect();
    let missing: Vec<&String> = spec.dns.iter().filter(|d| !known.contains(d)).collect();
    if !missing.is_empty() {
        let missing: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        found.push((
            format!(
                "network drift: name server {} is neither in {name}'s dns-nameservers in {file} \
                 nor in {RESOLV_CONF}. {NEVER}",
                missing.join(", ")
            ),
            &at[2],
        ));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROXMOX: &str = "auto lo\niface lo inet loopback\n\niface eno1 inet manual\n\nauto vmbr0\niface vmbr0 inet static\n\taddress 10.0.0.13/24\n\tgateway 10.0.0.1\n\tbridge-ports eno1\n\tbridge-stp off\n\tbridge-fd 0\n\nsource /etc/network/interfaces.d/*\n";

    #[test]
    fn issue_9_interfaces_files_and_resolv_conf_parse() {
        let stanzas = parse_interfaces(PROXMOX);
        assert_eq!(
            stanzas.get("vmbr0"),
            Some(&Stanza {
                address: Some("10.0.0.13/24".into()),
                gateway: Some("10.0.0.1".into()),
                dns: Vec::new()
            })
        );
        assert_eq!(stanzas.len(), 1, "{stanzas:?}");
        let upstream = "auto vmbr0\niface vmbr0 inet static\n    address 10.0.0.13\n    netmask 255.255.255.0\n    gateway 10.0.0.1\n    dns-nameservers 8.8.8.8 1.1.1.1 # two\n";
        assert_eq!(
            parse_interfaces(upstream).get("vmbr0"),
            Some(&Stanza {
                address: Some("10.0.0.13/24".into()),
                gateway: Some("10.0.0.1".into()),
                dns: vec!["8.8.8.8".into(), "1.1.1.1".into()]
            })
        );
        assert_eq!(
            parse_resolv_conf("# x\nsearch lan\nnameserver 10.0.0.1\nnameserver  8.8.8.8\n"),
            ["10.0.0.1", "8.8.8.8"]
        );
    }

    #[test]
    fn issue_9_network_drift_is_a_warning_per_field_and_never_a_change() {
        let spec = InterfaceSpec {
            name: "vmbr0".into(),
            address: "10.0.0.13/24".into(),
            gateway: "10.0.0.1".into(),
            dns: vec!["8.8.8.8".into()],
        };
        let at = ["address", "gateway", "dns_nameservers"]
            .map(|f| Location::new("c.json", format!("network.interfaces.{f}")));
        let check = |stanza: Option<Stanza>, resolvers: &[&str]| {
            let state = InterfaceState {
                stanza: stanza.map(|s| (INTERFACES.to_owned(), s)),
                resolvers: resolvers.iter().map(|r| (*r).to_owned()).collect(),
            };
            drift(&spec, Some(&state), &at)
                .into_iter()
                .map(|(message, at)| format!("{}: {}", at.path, message.replace(NEVER, "NEVER")))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let good = Stanza {
            address: Some("10.0.0.13/24".into()),
            gateway: Some("10.0.0.1".into()),
            dns: Vec::new(),
        };
        assert_eq!(check(Some(good.clone()), &["8.8.8.8"]), "");
        insta::assert_snapshot!(check(Some(Stanza { address: Some("10.0.0.14/24".into()), gateway: None, dns: Vec::new() }), &["1.1.1.1"]), @r"
        network.interfaces.address: network drift: vmbr0 has address 10.0.0.14/24 in /etc/network/interfaces, the config says 10.0.0.13/24. NEVER
        network.interfaces.gateway: network drift: vmbr0 has gateway nothing in /etc/network/interfaces, the config says 10.0.0.1. NEVER
        network.interfaces.dns_nameservers: network drift: name server 8.8.8.8 is neither in vmbr0's dns-nameservers in /etc/network/interfaces nor in /etc/resolv.conf. NEVER
        ");
        insta::assert_snapshot!(check(None, &[]), @"network.interfaces.address: network drift: no static stanza for vmbr0 in /etc/network/interfaces or /etc/network/interfaces.d/50-vmbr0.cfg; the config says 10.0.0.13/24 via 10.0.0.1. NEVER");
        let node = Scope::node();
        let interface = Interface::new(&node, spec.clone(), at.clone());
        let delta = Resource::diff(
            &interface,
            Some(&InterfaceState {
                stanza: None,
                resolvers: Vec::new(),
            }),
        );
        assert!(delta.fields.is_empty() && delta.steps.is_empty());
        assert_eq!(delta.diagnostics.len(), 1);
        assert!(node.inventory().paths.contains(RESOLV_CONF));
    }

    #[test]
    fn issue_9_the_interface_entry_is_checked_field_by_field() {
        let entry = InterfaceEntry {
            name: "vmbr0;reboot".into(),
            address: "10.0.0.13".into(),
            gateway: "10.0.0.300".into(),
            dns_nameservers: Some("8.8.8.8, dns.google".into()),
        };
        let problems = check_interface(&entry).expect_err("four problems");
        let fields: Vec<&str> = problems.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["name", "address", "gateway", "dns_nameservers"]);
        let ok = InterfaceEntry {
            name: "vmbr0".into(),
            address: "10.0.0.13/24".into(),
            gateway: "10.0.0.1".into(),
            dns_nameservers: Some("8.8.8.8".into()),
        };
        assert_eq!(
            check_interface(&ok).map(|s| s.dns),
            Ok(vec!["8.8.8.8".to_owned()])
        );
    }
}
