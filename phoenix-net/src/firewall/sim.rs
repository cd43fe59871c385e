//! The `pve-firewall` emulator: `compile`, `status` and `localnet`, over the node's firewall
//! files, printing what pve-firewall prints (`src/PVE/Service/pve_firewall.pm` and
//! `src/PVE/Firewall.pm` of proxmox/pve-firewall 6f1311f; `fixtures/proxmox/SOURCES.md` §6).
//!
//! Warnings go to standard error, as pve-firewall's `warn` does, in the order it reads the files:
//! cluster.fw, the node's host.fw (`/etc/pve/nodes/<node>/host.fw`), then the firewall file of
//! every container of the node (`/etc/pve/lxc/<vmid>.conf`), by vmid. A line it cannot take is
//! `<file> (line N): <reason>`; a rule with errors is
//! `<file> (line N) - errors in rule parameters: <rule>` and one `  <param>: <message>` line per
//! parameter (sorted here; Perl prints them in hash order). Ipset entry errors are not emulated.
//!
//! `compile`'s standard output is its six section headers and `no changes` (plus
//! `firewall disabled` when cluster.fw does not enable it). With the firewall disabled it is
//! exactly what pve-firewall prints on a node without PVEFW chains (the three built-in ebtables
//! chains listed as `ignore`, with the SHA-1 of no rules). With the firewall enabled the real
//! tool also lists every chain it compiled; the emulator does not compile iptables rules and
//! lists none (Phoenix reads only the warnings).
//!
//! Node facts live in the `pve-firewall` namespace: `nodename` (default `pve`), `ip` (default
//! `10.0.0.13`), `local_network` (what `localnet` detects, default `10.0.0.0/24`) and `running`
//! (default true).

use phoenix_core::sim::{Emulator, SimOutput, SimSys};
use phoenix_pve::firewall::verify::{
    Names, RuleEnv, format_rule_warning, verify_option, verify_rule,
};
use phoenix_pve::firewall::{FwConfig, parse_rule, read_fw};
use serde::{Deserialize, Serialize};

use super::{CLUSTER_FW, guest_fw_path};

/// The `pve-firewall` emulator.
#[derive(Debug, Default, Clone, Copy)]
pub struct PveFirewallEmulator;

/// The node facts the emulator reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
struct NodeFacts {
    nodename: String,
    ip: String,
    local_network: String,
    running: bool,
}

impl Default for NodeFacts {
    fn default() -> NodeFacts {
        NodeFacts {
            nodename: "pve".to_owned(),
            ip: "10.0.0.13".to_owned(),
            local_network: "10.0.0.0/24".to_owned(),
            running: true,
        }
    }
}

/// The SHA-1 of no rules, base64 without padding, as `Digest::SHA::b64digest` prints it.
const EMPTY_SIG: &str = "2jmj7l5rSw0yVb/vlWAYkK/YBwk";

impl Emulator for PveFirewallEmulator {
    fn programs(&self) -> Vec<String> {
        vec!["pve-firewall".to_owned()]
    }

    fn run(&self, argv: &[String], _stdin: Option<&str>, sys: &mut SimSys<'_>) -> SimOutput {
        let facts: NodeFacts = sys.load("pve-firewall");
        match argv.get(1).map(String::as_str) {
            Some("compile") if argv.len() == 2 => compile(sys, &facts),
            Some("status") if argv.len() == 2 => status(sys, &facts),
            Some("localnet") if argv.len() == 2 => localnet(sys, &facts),
            _ => SimOutput::fail(
                255,
                format!(
                    "ERROR: the emulator runs only 'pve-firewall compile', 'status' and 'localnet', not '{}'\n",
                    argv.join(" ")
                ),
            ),
        }
    }

    fn typical_latency(&self, _program: &str) -> Option<std::time::Duration> {
        // A Perl CLI that loads PVE::Firewall and reads pmxcfs: about a second.
        Some(std::time::Duration::from_millis(900))
    }
}

/// cluster.fw as pve-firewall keeps it, and its warnings.
fn load_cluster(sys: &SimSys<'_>) -> (FwConfig, String) {
    let text = sys
        .read(CLUSTER_FW)
        .map(|f| f.content.clone())
        .unwrap_or_default();
    check_file(CLUSTER_FW, &text, RuleEnv::Cluster, None)
}

/// Reads one file as pve-firewall does, returning what it keeps and the warnings it prints.
fn check_file(
    path: &str,
    text: &str,
    env: RuleEnv,
    cluster: Option<&FwConfig>,
) -> (FwConfig, String) {
    let mut read = read_fw(text);
    let mut warnings: Vec<(usize, String)> = read
        .skipped
        .iter()
        .map(|(line, reason)| (*line, format!("{path} (line {line}): {reason}\n")))
        .collect();
    let mut bad_options = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    for (key, value) in &read.config.options {
        if let Err(reason) = verify_option(env, key, value) {
            let line = lines
                .iter()
                .position(|l| {
                    l.trim_start()
                        .to_ascii_lowercase()
                        .starts_with(&format!("{key}:"))
                })
                .map_or(0, |i| i + 1);
            warnings.push((line, format!("{path} (line {line}): {reason}\n")));
            bad_options.push(key.clone());
        }
    }
    read.config
        .options
        .retain(|(key, _)| !bad_options.contains(key));
    let names = match cluster {
        Some(cluster) => Names {
            cluster: Some(cluster),
            local: Some(&read.config),
        },
        None => Names {
            cluster: Some(&read.config),
            local: None,
        },
    };
    for (line, rule_text, group) in &read.rule_lines {
        let Ok(rule) = parse_rule(rule_text) else {
            continue;
        };
        let rule_env = if group.is_some() { RuleEnv::Group } else { env };
        let errors = verify_rule(&rule, rule_env, names);
        if !errors.is_empty() {
            let prefix = format!("{path} (line {line})");
            warnings.push((*line, format_rule_warning(&prefix, rule_text, &errors)));
        }
    }
    warnings.sort_by_key(|(line, _)| *line);
    let text = warnings.into_iter().map(|(_, w)| w).collect();
    (read.config, text)
}

/// Every warning pve-firewall prints when it loads the node's configuration.
fn all_warnings(sys: &SimSys<'_>, facts: &NodeFacts) -> (FwConfig, String) {
    let (cluster, mut warnings) = load_cluster(sys);
    let host = format!("/etc/pve/nodes/{}/host.fw", facts.nodename);
    if let Some(file) = sys.read(&host) {
        warnings.push_str(&check_file(&host, &file.content, RuleEnv::Host, Some(&cluster)).1);
    }
    let mut vmids: Vec<u32> = sys
        .list("/etc/pve/lxc")
        .iter()
        .filter_map(|path| {
            path.strip_prefix("/etc/pve/lxc/")?
                .strip_suffix(".conf")?
                .parse()
                .ok()
        })
        .collect();
    vmids.sort_unstable();
    for vmid in vmids {
        let path = guest_fw_path(vmid);
        if let Some(file) = sys.read(&path) {
            warnings
                .push_str(&check_file(&path, &file.content, RuleEnv::Container, Some(&cluster)).1);
        }
    }
    (cluster, warnings)
}

fn enabled(cluster: &FwConfig) -> bool {
    cluster
        .option("enable")
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|v| v == 1)
}

fn compile(sys: &SimSys<'_>, facts: &NodeFacts) -> SimOutput {
    let (cluster, warnings) = all_warnings(sys, facts);
    let mut out = String::from(
        "ipset cmdlist:\n\niptables cmdlist:\n\nip6tables cmdlist:\n\nebtables cmdlist:\n",
    );
    if !enabled(&cluster) {
        for chain in ["FORWARD", "INPUT", "OUTPUT"] {
            out.push_str(&format!("ignore {chain} ({EMPTY_SIG})\n"));
        }
    }
    out.push_str("\niptables table raw cmdlist:\n\nip6tables table raw cmdlist:\nno changes\n");
    if !enabled(&cluster) {
        out.push_str("firewall disabled\n");
    }
    SimOutput::ok(out).with_stderr(warnings)
}

fn status(sys: &SimSys<'_>, facts: &NodeFacts) -> SimOutput {
    let (cluster, mut warnings) = load_cluster(sys);
    if facts.running {
        warnings = all_warnings(sys, facts).1;
    }
    let state = if enabled(&cluster) {
        "enabled"
    } else {
        "disabled"
    };
    let running = if facts.running { "running" } else { "stopped" };
    SimOutput::ok(format!("Status: {state}/{running}\n")).with_stderr(warnings)
}

fn localnet(sys: &SimSys<'_>, facts: &NodeFacts) -> SimOutput {
    let (cluster, warnings) = load_cluster(sys);
    let mut out = format!(
        "local hostname: {}\nlocal IP address: {}\nnetwork auto detect: {}\n",
        facts.nodename, facts.ip, facts.local_network
    );
    match cluster.alias("local_network") {
        Some(alias) => out.push_str(&format!(
            "using user defined local_network: {}\n",
            alias.cidr
        )),
        None => out.push_str(&format!(
            "using detected local_network: {}\n",
            facts.local_network
        )),
    }
    SimOutput::ok(out).with_stderr(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_9_the_emulator_warns_as_pve_firewall_does() {
        let cluster = phoenix_pve::firewall::parse_fw("[IPSET management]\n\n10.0.0.0/24\n")
            .expect("cluster");
        let text = "[OPTIONS]\n\nenable: 1\nbogus: 1\n\n[RULES]\n\nIN ACCEPT -p tcp -dport 99999\nIN ACCEPT -source +management -p tcp -dport 22\nIN ACCEPT -source +nosuch\nIN ACCEPT -what 1\n";
        let (_, warnings) = check_file(
            "/etc/pve/firewall/101.fw",
            text,
            RuleEnv::Container,
            Some(&cluster),
        );
        assert_eq!(
            warnings,
            "/etc/pve/firewall/101.fw (line 4): can't parse option 'bogus: 1'\n\
             /etc/pve/firewall/101.fw (line 8) - errors in rule parameters: IN ACCEPT -p tcp -dport 99999\n  dport: invalid port '99999'\n\
             /etc/pve/firewall/101.fw (line 10) - errors in rule parameters: IN ACCEPT -source +nosuch\n  source: no such ipset 'nosuch'\n\
             /etc/pve/firewall/101.fw (line 11): unable to parse rule parameters: -what 1\n"
        );
    }
}
