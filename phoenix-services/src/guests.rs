//! The containers of `lxc_configs` as the service layer sees them: id, name, address, and the
//! features each has, its own and those inherited from the container it is cloned from.
//!
//! A clone starts as a copy of its parent's provisioning snapshot, so it has every feature the
//! parent installed: upstream's vLLM containers list only `vllm` and get `nvidia` from their
//! parent. [`Guest::features`] is that effective list, the parent's first; a provider checks an
//! inherited feature in the clone with the clone's own probe (the config is not proof that the
//! parent really has it).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use phoenix_core::Location;
use phoenix_core::config::{ConfigSet, JsonPath};
use serde_json::Value;

/// The key this module reads.
pub const KEY: &str = "lxc_configs";

/// One present container of `lxc_configs`.
#[derive(Debug, Clone, PartialEq)]
pub struct Guest {
    /// The container id.
    pub vmid: u32,
    /// `name`, when it is a string.
    pub name: Option<String>,
    /// The address of `network_config.ip` without its prefix length, when it is a static IPv4.
    pub ip: Option<Ipv4Addr>,
    /// The features it lists itself, in order (strings only).
    pub own_features: Vec<String>,
    /// The features it has: those of the containers it is cloned from (oldest ancestor first)
    /// that it does not list itself, then its own.
    pub features: Vec<String>,
    /// `clone_from_ctid`, when it names a container id.
    pub clone_from: Option<u32>,
    /// `start_at_boot`.
    pub start_at_boot: bool,
    /// Its JSON path (`lxc_configs."951"`).
    pub path: JsonPath,
    /// Where the entry is, for messages.
    pub location: Location,
    /// The entry itself, for the readers of its service keys.
    pub entry: Value,
}

impl Guest {
    /// Whether it has `feature`, its own or inherited.
    pub fn has(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f == feature)
    }

    /// Whether `feature` comes from the container it is cloned from rather than its own list.
    pub fn inherits(&self, feature: &str) -> bool {
        self.has(feature) && !self.own_features.iter().any(|f| f == feature)
    }

    /// The location of a key of the entry (`gpu_assignment`), for messages.
    pub fn path_of(&self, key: &str) -> JsonPath {
        self.path.key(key)
    }
}

/// Every present container, by id.
pub type Guests = BTreeMap<u32, Guest>;

/// The present containers of `config` (entries marked `"ensure": "absent"` and entries that are
/// not objects or whose key is not a number are left out), each with its effective features.
pub fn guests(config: &ConfigSet) -> Guests {
    let mut out = Guests::new();
    for section in config.sections().filter(|s| s.key == KEY) {
        let Some(entries) = section.value.as_object() else {
            continue;
        };
        for (key, entry) in entries {
            let Ok(vmid) = key.parse::<u32>() else {
                continue;
            };
            if !entry.is_object() || entry.get("ensure").and_then(Value::as_str) == Some("absent") {
                continue;
            }
            let path = section.path().key(key);
            out.insert(
                vmid,
                Guest {
                    vmid,
                    name: entry.get("name").and_then(Value::as_str).map(str::to_owned),
                    ip: entry
                        .get("network_config")
                        .and_then(|n| n.get("ip"))
                        .and_then(Value::as_str)
                        .and_then(parse_ip),
                    own_features: strings(entry.get("features")),
                    features: Vec::new(),
                    clone_from: entry.get("clone_from_ctid").and_then(id_of),
                    start_at_boot: entry
                        .get("start_at_boot")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    location: section.location_of(&path),
                    path,
                    entry: entry.clone(),
                },
            );
        }
    }
    let effective: BTreeMap<u32, Vec<String>> = out
        .keys()
        .map(|vmid| (*vmid, effective_features(&out, *vmid)))
        .collect();
    for (vmid, features) in effective {
        if let Some(guest) = out.get_mut(&vmid) {
            guest.features = features;
        }
    }
    out
}

/// The features of `vmid`: its ancestors' (oldest first), then its own, each once. A cycle of
/// clones (phoenix-lxc's error) stops the walk.
fn effective_features(guests: &Guests, vmid: u32) -> Vec<String> {
    let mut chain = vec![vmid];
    let mut at = guests.get(&vmid).and_then(|g| g.clone_from);
    while let Some(parent) = at {
        if chain.contains(&parent) {
            break;
        }
        chain.push(parent);
        at = guests.get(&parent).and_then(|g| g.clone_from);
    }
    let mut features: Vec<String> = Vec::new();
    for id in chain.iter().rev() {
        for feature in guests
            .get(id)
            .map(|g| g.own_features.as_slice())
            .unwrap_or(&[])
        {
            if !features.contains(feature) {
                features.push(feature.clone());
            }
        }
    }
    features
}

/// `gpu_assignment`: `"none"`, or GPU indexes separated by commas (blanks around them allowed:
/// upstream's `"0, 1"`). No index twice, none empty. phoenix-gpu checks the indexes against the
/// node's GPUs; phoenix-ai counts them for vLLM's tensor parallelism.
pub fn parse_gpu_assignment(text: &str) -> Result<Vec<u32>, String> {
    if text.trim() == "none" {
        return Ok(Vec::new());
    }
    let mut gpus = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        if part.is_empty() || !part.chars().all(|c| c.is_ascii_digit()) || part.len() > 3 {
            return Err(format!(
                "expected \"none\" or GPU indexes separated by commas (\"0\", \"0,1\"), `{part}` is not an index"
            ));
        }
        let index: u32 = part
            .parse()
            .map_err(|_| format!("`{part}` is not an index"))?;
        if gpus.contains(&index) {
            return Err(format!("GPU {index} is named twice"));
        }
        gpus.push(index);
    }
    Ok(gpus)
}

/// A container id written as a number or a string of digits.
fn id_of(value: &Value) -> Option<u32> {
    match value {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The strings of an array (other values skipped).
fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// `10.0.0.151/24` or `10.0.0.151` as an address; `dhcp` and anything else as none.
fn parse_ip(text: &str) -> Option<Ipv4Addr> {
    text.split('/').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use phoenix_core::config::Document;

    use super::*;

    fn read(text: &str) -> Guests {
        let document = Document::parse(PathBuf::from("c.json"), text.to_owned()).expect("JSON");
        guests(&ConfigSet::from_documents(vec![document]))
    }

    #[test]
    fn clones_inherit_their_ancestors_features_oldest_first() {
        let guests = read(
            r#"{"lxc_configs": {
                "900": {"features": ["base_setup"]},
                "901": {"clone_from_ctid": "900", "features": ["nvidia"]},
                "951": {"clone_from_ctid": 901, "features": ["vllm", "base_setup"],
                        "network_config": {"ip": "10.0.0.151/24"}, "name": "vllm"},
                "952": {"clone_from_ctid": "999", "features": ["docker", 7]},
                "960": {"clone_from_ctid": "961", "features": ["a"]},
                "961": {"clone_from_ctid": "960", "features": ["b"]},
                "970": {"ensure": "absent", "features": ["docker"]},
                "x": {}
            }}"#,
        );
        let cases: [(u32, &[&str], &[&str]); 5] = [
            (900, &["base_setup"], &[]),
            (901, &["base_setup", "nvidia"], &["base_setup"]),
            (951, &["base_setup", "nvidia", "vllm"], &["nvidia"]),
            (952, &["docker"], &[]),
            (960, &["b", "a"], &["b"]),
        ];
        for (vmid, features, inherited) in cases {
            let guest = &guests[&vmid];
            assert_eq!(guest.features, features, "{vmid}");
            let got: Vec<&str> = guest
                .features
                .iter()
                .filter(|f| guest.inherits(f))
                .map(String::as_str)
                .collect();
            assert_eq!(got, inherited, "{vmid}");
        }
        assert!(!guests.contains_key(&970), "absent entries are left out");
        assert_eq!(guests.len(), 6);
        assert_eq!(guests[&951].ip, Some(Ipv4Addr::new(10, 0, 0, 151)));
        assert_eq!(guests[&951].name.as_deref(), Some("vllm"));
        assert_eq!(guests[&951].path.to_string(), r#"lxc_configs."951""#);
        assert_eq!(guests[&900].ip, None);
    }
}
