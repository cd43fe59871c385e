//! The checks pve-firewall makes on every parsed rule (`verify_rule` in `Firewall.pm`), with its
//! own messages: the rule type for the file it is in, actions, interfaces, macros, protocols
//! (`/etc/protocols`), ports (numbers, `a:b` ranges, `/etc/services` names, at most 15 numbers),
//! addresses (IPs, CIDRs, a range or a list, one IP version) and the ipsets and aliases they
//! name.
//!
//! pve-firewall prints a rule with errors as
//! `<file> (line N) - errors in rule parameters: <line>` followed by one `  <param>: <message>`
//! line per parameter (in Perl hash order; [`RuleErrors`] keeps them sorted) and ignores the
//! rule. Phoenix validates the rules it writes with the same checks before they reach a file,
//! and the `pve-firewall` emulator prints these warnings, so the two agree.

use std::collections::BTreeMap;

use super::addr::{AddressSpec, parse_address_list, parse_address_spec};
use super::{FwConfig, Rule, RuleType};

/// Where a rule is: which types and options it may have (`$rule_env` in pve-firewall).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleEnv {
    /// `[RULES]` of cluster.fw.
    Cluster,
    /// `[RULES]` of host.fw.
    Host,
    /// `[RULES]` of a container's `<vmid>.fw`.
    Container,
    /// `[RULES]` of a VM's `<vmid>.fw`.
    Vm,
    /// A `[group name]` section.
    Group,
}

impl RuleEnv {
    fn name(self) -> &'static str {
        match self {
            RuleEnv::Cluster => "cluster",
            RuleEnv::Host => "host",
            RuleEnv::Container => "ct",
            RuleEnv::Vm => "vm",
            RuleEnv::Group => "group",
        }
    }

    fn types(self) -> &'static [RuleType] {
        match self {
            RuleEnv::Container | RuleEnv::Vm => &[RuleType::In, RuleType::Out, RuleType::Group],
            RuleEnv::Group => &[RuleType::In, RuleType::Out, RuleType::Forward],
            RuleEnv::Cluster | RuleEnv::Host => &[
                RuleType::In,
                RuleType::Out,
                RuleType::Forward,
                RuleType::Group,
            ],
        }
    }
}

/// A rule's errors by parameter (`source`, `dport`, ...): the first error of each parameter, as
/// pve-firewall keeps it.
pub type RuleErrors = BTreeMap<&'static str, String>;

/// The macros pve-firewall knows (`$pve_fw_macros`), by their preferred spelling.
pub const MACROS: &[&str] = &[
    "Amanda",
    "Auth",
    "BGP",
    "BitTorrent",
    "BitTorrent32",
    "CVS",
    "Ceph",
    "Citrix",
    "DAAP",
    "DCC",
    "DHCPfwd",
    "DHCPv6",
    "DNS",
    "Distcc",
    "FTP",
    "Finger",
    "GNUnet",
    "GRE",
    "Git",
    "HKP",
    "HTTP",
    "HTTPS",
    "ICPV2",
    "ICQ",
    "IMAP",
    "IMAPS",
    "IPIP",
    "IPsec",
    "IPsecah",
    "IPsecnat",
    "IRC",
    "Jetdirect",
    "L2TP",
    "LDAP",
    "LDAPS",
    "MDNS",
    "MSNP",
    "MSSQL",
    "Mail",
    "Munin",
    "MySQL",
    "NNTP",
    "NNTPS",
    "NTP",
    "NeighborDiscovery",
    "OSPF",
    "OpenVPN",
    "PCA",
    "PMG",
    "POP3",
    "POP3S",
    "PPtP",
    "Ping",
    "PostgreSQL",
    "Printer",
    "RDP",
    "RIP",
    "RNDC",
    "Razor",
    "Rdate",
    "Rsync",
    "SANE",
    "SMB",
    "SMBswat",
    "SMTP",
    "SMTPS",
    "SNMP",
    "SPAMD",
    "SPICEproxy",
    "SSH",
    "SVN",
    "SixXS",
    "Squid",
    "Submission",
    "Syslog",
    "TFTP",
    "Telnet",
    "Telnets",
    "Time",
    "Trcrt",
    "VNC",
    "VNCL",
    "Web",
    "Webcache",
    "Webmin",
    "Whois",
];

/// `/etc/protocols` of Debian's netbase 6.4, as `(name, number)`, plus pve-firewall's own
/// `icmpv6`.
const PROTOCOLS: &[(&str, u16)] = &[
    ("ip", 0),
    ("hopopt", 0),
    ("icmp", 1),
    ("igmp", 2),
    ("ggp", 3),
    ("ipencap", 4),
    ("st", 5),
    ("tcp", 6),
    ("egp", 8),
    ("igp", 9),
    ("pup", 12),
    ("udp", 17),
    ("hmp", 20),
    ("xns-idp", 22),
    ("rdp", 27),
    ("iso-tp4", 29),
    ("dccp", 33),
    ("xtp", 36),
    ("ddp", 37),
    ("idpr-cmtp", 38),
    ("ipv6", 41),
    ("ipv6-route", 43),
    ("ipv6-frag", 44),
    ("idrp", 45),
    ("rsvp", 46),
    ("gre", 47),
    ("esp", 50),
    ("ah", 51),
    ("skip", 57),
    ("ipv6-icmp", 58),
    ("ipv6-nonxt", 59),
    ("ipv6-opts", 60),
    ("rspf", 73),
    ("vmtp", 81),
    ("eigrp", 88),
    ("ospf", 89),
    ("ax.25", 93),
    ("ipip", 94),
    ("etherip", 97),
    ("encap", 98),
    ("pim", 103),
    ("ipcomp", 108),
    ("vrrp", 112),
    ("l2tp", 115),
    ("isis", 124),
    ("sctp", 132),
    ("fc", 133),
    ("mobility-header", 135),
    ("udplite", 136),
    ("mpls-in-ip", 137),
    ("manet", 138),
    ("hip", 139),
    ("shim6", 140),
    ("wesp", 141),
    ("rohc", 142),
    ("ethernet", 143),
    ("mptcp", 262),
];

/// The protocols whose rules may name ports (`$PROTOCOLS_WITH_PORTS`).
const PROTOCOLS_WITH_PORTS: &[&str] = &[
    "udp", "17", "udplite", "136", "tcp", "6", "dccp", "33", "sctp", "132",
];

/// The ICMP type names pve-firewall takes (`$icmp_type_names` and `$icmpv6_type_names`).
const ICMP_TYPES: &[&str] = &[
    "any",
    "echo-reply",
    "destination-unreachable",
    "network-unreachable",
    "host-unreachable",
    "protocol-unreachable",
    "port-unreachable",
    "fragmentation-needed",
    "source-route-failed",
    "network-unknown",
    "host-unknown",
    "network-prohibited",
    "host-prohibited",
    "TOS-network-unreachable",
    "TOS-host-unreachable",
    "communication-prohibited",
    "host-precedence-violation",
    "precedence-cutoff",
    "source-quench",
    "redirect",
    "network-redirect",
    "host-redirect",
    "TOS-network-redirect",
    "TOS-host-redirect",
    "echo-request",
    "router-advertisement",
    "router-solicitation",
    "time-exceeded",
    "ttl-zero-during-transit",
    "ttl-zero-during-reassembly",
    "parameter-problem",
    "ip-header-bad",
    "required-option-missing",
    "timestamp-request",
    "timestamp-reply",
    "address-mask-request",
    "address-mask-reply",
    "no-route",
    "beyond-scope",
    "address-unreachable",
    "failed-policy",
    "reject-route",
    "packet-too-big",
    "bad-header",
    "unknown-header-type",
    "unknown-option",
    "neighbour-solicitation",
    "neighbor-solicitation",
    "neighbour-advertisement",
    "neighbor-advertisement",
];

/// The service names of Debian's netbase 6.4 `/etc/services` (tcp, udp or sctp), which
/// pve-firewall takes as ports.
const SERVICES: &str = "\
    acr-nema afpovertcp afs3-bos afs3-callback afs3-fileserver afs3-kaserver afs3-prserver \
    afs3-rmtsys afs3-update afs3-vlserver afs3-volser amanda amandaidx amidxtape amqp amqps \
    asf-rmcp asp auth babel bacula-dir bacula-fd bacula-sd bbs bgp bgpd biff binkp bootpc \
    bootps canna cfengine chargen cisco-sccp clc-build-daemon clearcase cmip-agent cmip-man \
    codaauth2 codasrv codasrv-se csync2 cvspserver daap datametrics daytime db-lsp dcap \
    dhcpv6-client dhcpv6-server dicom dict dircproxy discard distcc domain domain-s echo \
    epmap epmd exec f5-globalsite f5-iquery fax fido finger font-service freeciv fsp ftp \
    ftp-data ftps ftps-data gdomap gds-db git gnunet gnutella-rtr gnutella-svc gopher gpsd \
    gris groupwise gsidcap gsiftp gsigatekeeper hkp http http-alt https hylafax iax icpv2 \
    imap2 imaps ingreslock ipp iprop ipsec-nat-t ipx ircd ircs-u isakmp iscsi-target isisd \
    isns iso-tsap kamanda kerberos kerberos-adm kerberos-master kerberos4 kermit klogin \
    kpasswd krb-prop kshell l2f ldap ldaps ldp login lotusnote mailq mdns microsoft-ds \
    moira-db moira-update moira-ureg mon ms-sql-m ms-sql-s ms-wbt-server mtn munin mysql \
    mysql-proxy nbd netbios-dgm netbios-ns netbios-ssn netstat nfs nntp nntps nqs nrpe nsca \
    ntalk ntp ntske nut omniorb openvpn ospf6d ospfapi ospfd passwd-server pawserv pop3 pop3s \
    poppassd postgresql predict printer proofd ptp-event ptp-general puppet qmqp qmtp qotd \
    radius radius-acct radmin-port redis remctl ripd ripngd rmiregistry rmtcfg rootd route \
    rpc2portmap rplay rsync rtcm-sc104 rtsp sa-msg-port saft sane-port sge-execd sge-qmaster \
    sgi-cad sgi-cmsd sgi-crsd sgi-gcd shell sieve silc sip sip-tls skkserv smtp smux snmp \
    snmp-trap snpp socks spamd ssh submission submissions sunrpc supfiledbg supfilesrv suucp \
    svn svrloc syslog syslog-tls sysrqd systat tacacs talk tcpmux telnet telnets tfido tftp \
    time tinc tproxy uucp venus venus-se webmin who whois wnn6 x11 x11-1 x11-2 x11-3 x11-4 \
    x11-5 x11-6 x11-7 xdmcp xinetd xmms2 xmpp-client xmpp-server xtel xtelw z3950 \
    zabbix-agent zabbix-trapper zebra zebrasrv zephyr-clt zephyr-hm zephyr-srv zope zope-ftp \
    zserv";

/// Whether `name` is a protocol pve-firewall knows (by name or number).
pub fn is_known_protocol(name: &str) -> bool {
    name == "icmpv6"
        || PROTOCOLS
            .iter()
            .any(|(n, id)| *n == name || id.to_string() == name)
}

/// Whether a protocol takes ports.
pub fn protocol_has_ports(proto: &str) -> bool {
    PROTOCOLS_WITH_PORTS.contains(&proto)
}

fn is_icmp(proto: &str) -> bool {
    matches!(proto, "icmp" | "icmpv6" | "ipv6-icmp")
}

/// A macro's preferred spelling, looked up case-insensitively.
pub fn preferred_macro(name: &str) -> Option<&'static str> {
    MACROS
        .iter()
        .copied()
        .find(|m| m.eq_ignore_ascii_case(name))
}

/// A port list as `parse_port_name_number_or_range` checks it: numbers up to 65535, ranges
/// `a:b` with a ≤ b, service names, at most 15 numbers (a range counts 2). `icmp_dport` allows
/// ICMP type names (old rules kept them in `dport`).
pub fn check_ports(text: &str, icmp_dport: bool) -> Result<(), String> {
    let items: Vec<&str> = text.split(',').collect();
    if items.iter().any(|i| i.is_empty()) {
        return Err("extraneous commas in list".to_owned());
    }
    let mut count = 0;
    let mut icmp_port = false;
    let port = |p: &str| -> Result<(), String> {
        match p.parse::<u64>() {
            Ok(n) if n <= 65535 => Ok(()),
            _ => Err(format!("invalid port '{p}'")),
        }
    };
    for item in items {
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if let Some((a, b)) = item.split_once(':')
            && digits(a)
            && digits(b)
        {
            count += 2;
            port(a)?;
            port(b)?;
            if a.parse::<u64>().ok() > b.parse::<u64>().ok() {
                return Err(format!(
                    "backwards range '{a}:{b}' not allowed, did you mean '{b}:{a}'?"
                ));
            }
        } else if digits(item) {
            count += 1;
            port(item)?;
        } else if icmp_dport && ICMP_TYPES.contains(&item) {
            icmp_port = true;
        } else if !SERVICES.split_whitespace().any(|s| s == item) {
            return Err(format!("invalid port '{item}'"));
        }
    }
    if icmp_port && count > 0 {
        return Err("ICMP ports not allowed in port range".to_owned());
    }
    if count > 15 {
        return Err("too many entries in port list (> 15 numbers)".to_owned());
    }
    Ok(())
}

/// The names a rule may refer to: the cluster's ipsets and aliases, and the file's own.
#[derive(Debug, Clone, Copy, Default)]
pub struct Names<'a> {
    /// cluster.fw, when known.
    pub cluster: Option<&'a FwConfig>,
    /// The file the rule is in, when it is not cluster.fw.
    pub local: Option<&'a FwConfig>,
}

impl Names<'_> {
    fn has_ipset(&self, name: &str) -> bool {
        [self.cluster, self.local]
            .into_iter()
            .flatten()
            .any(|c| c.ipset(name).is_some())
    }

    fn alias_version(&self, scope: &str, name: &str) -> Option<Option<u8>> {
        let local = (scope != "dc/")
            .then_some(self.local)
            .flatten()
            .and_then(|c| c.alias(name));
        let found = local.or_else(|| {
            (scope != "guest/")
                .then_some(self.cluster)
                .flatten()
                .and_then(|c| c.alias(name))
        });
        found.map(|alias| parse_address_list(&alias.cidr).ok().map(|(_, v)| v))
    }
}

/// Checks `rule` as pve-firewall does in `env`; an empty map means no error.
pub fn verify_rule(rule: &Rule, env: RuleEnv, names: Names<'_>) -> RuleErrors {
    let mut errors = RuleErrors::new();
    let mut add = |param: &'static str, message: String| {
        errors.entry(param).or_insert(message);
    };
    let kind = rule.kind;
    let type_name = kind.as_str().to_ascii_lowercase();
    if !env.types().contains(&kind) {
        add(
            "type",
            format!(
                "invalid rule type '{type_name}' for rule_env '{}'",
                env.name()
            ),
        );
    }
    match kind {
        RuleType::Group => {
            if env == RuleEnv::Group {
                add("type", "security groups not allowed".to_owned());
            }
            if !super::addr::is_fw_name(&rule.action) {
                add(
                    "action",
                    "invalid characters in security group name".to_owned(),
                );
            }
        }
        _ => {
            if kind == RuleType::Forward && rule.action == "REJECT" {
                add(
                    "action",
                    "cannot define REJECT rules on forward chain".to_owned(),
                );
            }
            if !matches!(rule.action.as_str(), "ACCEPT" | "DROP" | "REJECT") {
                add("action", format!("unknown action '{}'", rule.action));
            }
        }
    }
    if let Some(iface) = &rule.iface {
        if env == RuleEnv::Group {
            add(
                "type",
                "parameter -i not allowed for this rule type".to_owned(),
            );
        }
        if matches!(env, RuleEnv::Container | RuleEnv::Vm)
            && !(iface.len() > 3
                && iface.starts_with("net")
                && iface[3..].bytes().all(|b| b.is_ascii_digit()))
        {
            add(
                "iface",
                "value does not match the regex pattern 'net\\d+'".to_owned(),
            );
        }
    }
    if let Some(name) = &rule.macro_name
        && preferred_macro(name).is_none()
    {
        add("macro", format!("unknown macro '{name}'"));
    }
    let mut version: Option<u8> = None;
    let set_version = |v: u8, version: &mut Option<u8>| -> Result<(), String> {
        match *version {
            Some(old) if old != v => Err("detected mixed ipv4/ipv6 addresses in rule".to_owned()),
            _ => {
                *version = Some(v);
                Ok(())
            }
        }
    };
    let proto = rule.proto.as_deref().unwrap_or("");
    if !proto.is_empty() {
        if !is_known_protocol(proto) {
            add("proto", format!("unknown protocol '{proto}'"));
        }
        let implied = match proto {
            "icmp" => Some(4),
            "icmpv6" | "ipv6-icmp" => Some(6),
            _ => None,
        };
        if let Some(v) = implied {
            let _ = set_version(v, &mut version);
        }
    }
    if let Some(dport) = rule.dport.as_deref().filter(|d| !d.is_empty()) {
        if let Err(m) = check_ports(dport, is_icmp(proto)) {
            add("dport", m);
        }
        if proto.is_empty() {
            add(
                "proto",
                "missing property - 'dport' requires this property".to_owned(),
            );
        } else if !protocol_has_ports(proto) && !is_icmp(proto) {
            add(
                "dport",
                format!("protocol '{proto}' does not support ports"),
            );
        }
    }
    if let Some(icmp_type) = rule.icmp_type.as_deref().filter(|t| !t.is_empty()) {
        if !is_icmp(proto) {
            add(
                "proto",
                "missing property - 'icmp-type' requires this property".to_owned(),
            );
        }
        if rule.dport.is_some() {
            add(
                "icmp-type",
                "'icmp-type' cannot be specified together with 'dport'".to_owned(),
            );
        }
        if is_icmp(proto) && !ICMP_TYPES.contains(&icmp_type) {
            add(
                "icmp-type",
                format!("invalid icmp-type '{icmp_type}' for proto '{proto}'"),
            );
        }
    }
    if let Some(sport) = rule.sport.as_deref().filter(|s| !s.is_empty()) {
        if let Err(m) = check_ports(sport, false) {
            add("sport", m);
        }
        if proto.is_empty() {
            add(
                "proto",
                "missing property - 'sport' requires this property".to_owned(),
            );
        } else if !protocol_has_ports(proto) {
            add(
                "sport",
                format!("protocol '{proto}' does not support ports"),
            );
        }
    }
    for (param, value) in [("source", &rule.source), ("dest", &rule.dest)] {
        let Some(value) = value.as_deref().filter(|v| !v.is_empty()) else {
            continue;
        };
        match parse_address_spec(value) {
            Err(m) => add(param, m),
            Ok(AddressSpec::List(_)) => {
                if let Ok((_, v)) = parse_address_list(value)
                    && let Err(m) = set_version(v, &mut version)
                {
                    add(param, m);
                }
            }
            Ok(AddressSpec::IpSet { name, .. }) => {
                if !names.has_ipset(&name) {
                    add(param, format!("no such ipset '{name}'"));
                }
            }
            Ok(AddressSpec::Alias { scope, name }) => match names.alias_version(&scope, &name) {
                None => add(param, format!("no such alias '{value}'")),
                Some(Some(v)) => {
                    if let Err(m) = set_version(v, &mut version) {
                        add(param, m);
                    }
                }
                Some(None) => {}
            },
        }
    }
    errors
}

/// Checks an `[OPTIONS]` line as pve-firewall's `parse_clusterfw_option`,
/// `parse_hostfw_option` and `parse_vmfw_option` do; the error is pve-firewall's
/// `can't parse option '<line>'`. (`env` is the file's: `Cluster`, `Host`, or `Container`/`Vm`.)
pub fn verify_option(env: RuleEnv, key: &str, value: &str) -> Result<(), String> {
    let bit = matches!(value, "0" | "1");
    let level =
        value.is_empty() || super::LOG_LEVELS.contains(&value.to_ascii_lowercase().as_str());
    let policy = |v: &str| {
        matches!(
            v.to_ascii_uppercase().as_str(),
            "ACCEPT" | "DROP" | "REJECT"
        )
    };
    let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
    let ok = match env {
        RuleEnv::Cluster => match key {
            "enable" => digits,
            "ebtables" => bit,
            "policy_in" | "policy_out" | "policy_forward" => policy(value),
            "log_ratelimit" => !value.is_empty() && !value.contains(char::is_whitespace),
            _ => false,
        },
        RuleEnv::Host => match key {
            "enable"
            | "nosmurfs"
            | "tcpflags"
            | "ndp"
            | "log_nf_conntrack"
            | "nf_conntrack_allow_invalid"
            | "protection_synflood"
            | "nftables" => bit,
            "log_level_in"
            | "log_level_out"
            | "log_level_forward"
            | "tcp_flags_log_level"
            | "smurf_log_level" => level,
            "nf_conntrack_helpers" => !value.is_empty(),
            "nf_conntrack_max"
            | "nf_conntrack_tcp_timeout_established"
            | "nf_conntrack_tcp_timeout_syn_recv"
            | "protection_synflood_rate"
            | "protection_synflood_burst"
            | "protection_limit" => digits,
            _ => false,
        },
        RuleEnv::Container | RuleEnv::Vm | RuleEnv::Group => match key {
            "enable" | "dhcp" | "ndp" | "radv" | "macfilter" | "ipfilter" | "ips" => bit,
            "log_level_in" | "log_level_out" => level,
            "policy_in" | "policy_out" => policy(value),
            "ips_queues" => {
                let mut parts = value.splitn(2, ':');
                parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            }
            "layer2_protocols" => !value.is_empty(),
            _ => false,
        },
    };
    if ok {
        Ok(())
    } else {
        Err(format!("can't parse option '{key}: {value}'"))
    }
}

/// The warning pve-firewall prints for a rule with errors, line by line (each ending in `\n`):
/// `<prefix> - errors in rule parameters: <line>` then `  <param>: <message>`.
pub fn format_rule_warning(prefix: &str, line: &str, errors: &RuleErrors) -> String {
    let mut out = format!("{prefix} - errors in rule parameters: {line}\n");
    for (param, message) in errors {
        out.push_str(&format!("  {param}: {message}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::{parse_fw, parse_rule};

    fn check(line: &str, env: RuleEnv) -> String {
        let cluster = parse_fw(
            "[ALIASES]\n\nnas 10.0.0.20\nv6host 2001:db8::1\n\n[IPSET management]\n\n10.0.0.0/24\n",
        )
        .expect("cluster");
        let rule = parse_rule(line).expect("parses");
        let errors = verify_rule(
            &rule,
            env,
            Names {
                cluster: Some(&cluster),
                local: None,
            },
        );
        errors
            .iter()
            .map(|(p, m)| format!("{p}: {m}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    #[test]
    fn issue_9_rules_are_checked_as_pve_firewall_checks_them() {
        use RuleEnv::{Cluster, Container, Group};
        let cases = [
            (
                "IN ACCEPT -source 10.0.0.153 -p tcp -dport 8000",
                Container,
                "",
            ),
            ("IN ACCEPT -p tcp -dport 80,443", Container, ""),
            ("IN ACCEPT -p tcp -dport 60000:60050", Container, ""),
            ("IN ACCEPT -p tcp -dport ssh", Container, ""),
            ("IN SSH(ACCEPT) -source +dc/management", Cluster, ""),
            ("IN ACCEPT -source nas -p tcp -dport 2049", Cluster, ""),
            ("GROUP webserver -i net0", Container, ""),
            (
                "IN ACCEPT -dport 22",
                Container,
                "proto: missing property - 'dport' requires this property",
            ),
            (
                "IN ACCEPT -p tcp -dport 99999",
                Container,
                "dport: invalid port '99999'",
            ),
            (
                "IN ACCEPT -p tcp -dport 90:80",
                Container,
                "dport: backwards range '90:80' not allowed, did you mean '80:90'?",
            ),
            ("IN ACCEPT -p icmp -dport 22", Container, ""),
            (
                "IN ACCEPT -p gre -dport 22",
                Container,
                "dport: protocol 'gre' does not support ports",
            ),
            (
                "IN ACCEPT -p bogus",
                Container,
                "proto: unknown protocol 'bogus'",
            ),
            (
                "IN ALLOW -p tcp",
                Container,
                "action: unknown action 'ALLOW'",
            ),
            (
                "FORWARD ACCEPT",
                Container,
                "type: invalid rule type 'forward' for rule_env 'ct'",
            ),
            (
                "FORWARD REJECT",
                Cluster,
                "action: cannot define REJECT rules on forward chain",
            ),
            (
                "IN ACCEPT -i vmbr0",
                Container,
                "iface: value does not match the regex pattern 'net\\d+'",
            ),
            (
                "GROUP other",
                Group,
                "type: invalid rule type 'group' for rule_env 'group'",
            ),
            (
                "IN ACCEPT -source 10.0.0.5/24",
                Container,
                "source: invalid IP address: invalid prefix 10.0.0.5/24: host bits are set",
            ),
            (
                "IN ACCEPT -source +nosuch",
                Container,
                "source: no such ipset 'nosuch'",
            ),
            (
                "IN ACCEPT -source nosuch",
                Container,
                "source: no such alias 'nosuch'",
            ),
            (
                "IN ACCEPT -source 10.0.0.1 -dest 2001:db8::1",
                Container,
                "dest: detected mixed ipv4/ipv6 addresses in rule",
            ),
            (
                "IN ACCEPT -source v6host -p icmp",
                Cluster,
                "source: detected mixed ipv4/ipv6 addresses in rule",
            ),
            ("IN Bogus(ACCEPT)", Cluster, "macro: unknown macro 'Bogus'"),
            (
                "IN ACCEPT -p tcp -dport 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16",
                Container,
                "dport: too many entries in port list (> 15 numbers)",
            ),
        ];
        for (line, env, expect) in cases {
            assert_eq!(check(line, env), expect, "{line}");
        }
    }

    #[test]
    fn issue_9_options_are_checked_for_their_file() {
        let cases = [
            (RuleEnv::Cluster, "enable", "1", true),
            (RuleEnv::Cluster, "policy_in", "DROP", true),
            (RuleEnv::Cluster, "policy_in", "ALLOW", false),
            (RuleEnv::Cluster, "enable", "yes", false),
            (RuleEnv::Cluster, "dhcp", "1", false),
            (RuleEnv::Container, "dhcp", "1", true),
            (RuleEnv::Container, "enable", "2", false),
            (RuleEnv::Container, "ips_queues", "0:3", true),
            (RuleEnv::Host, "nf_conntrack_max", "196608", true),
            (RuleEnv::Host, "log_level_in", "info", true),
        ];
        for (env, key, value, ok) in cases {
            assert_eq!(verify_option(env, key, value).is_ok(), ok, "{key}: {value}");
        }
        assert_eq!(
            verify_option(RuleEnv::Cluster, "enable", "yes"),
            Err("can't parse option 'enable: yes'".to_owned())
        );
    }

    #[test]
    fn issue_9_the_warning_reads_as_pve_firewall_prints_it() {
        let rule = parse_rule("IN ACCEPT -p tcp -dport 99999").expect("parses");
        let errors = verify_rule(&rule, RuleEnv::Container, Names::default());
        assert_eq!(
            format_rule_warning(
                "/etc/pve/firewall/101.fw (line 7)",
                "IN ACCEPT -p tcp -dport 99999",
                &errors
            ),
            "/etc/pve/firewall/101.fw (line 7) - errors in rule parameters: IN ACCEPT -p tcp -dport 99999\n  dport: invalid port '99999'\n"
        );
    }
}
