//! One firewall rule of the config (`{type, action, source, dest, proto, port, comment}`), turned
//! into a Proxmox rule and checked, at config time, with pve-firewall's own checks
//! (`phoenix_pve::firewall::verify`), so a rule Phoenix writes is one pve-firewall takes.
//!
//! The config's fields map to the rule's: `type` (`in`, `out`, `group`) is the rule type,
//! `action` is `ACCEPT`, `DROP`, `REJECT`, a macro such as `SSH(ACCEPT)`, or for `group` the
//! security group's name; `port` is `-dport` (`22`, `80,443`, `60000:60050`; a number is taken
//! too). The names a rule refers to (`+ipset`, aliases, security groups) live in cluster.fw,
//! which the operator may edit, so their existence is checked at plan time by
//! `pve-firewall compile`, not here.

use phoenix_core::config::excerpt;
use phoenix_pve::firewall::verify::{Names, RuleEnv, verify_rule};
use phoenix_pve::firewall::{Rule, RuleType};
use serde::Deserialize;
use serde_json::Value;

/// A rule as the config writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) action: String,
    #[serde(default)]
    pub(crate) source: Option<String>,
    #[serde(default)]
    pub(crate) dest: Option<String>,
    #[serde(default)]
    pub(crate) proto: Option<String>,
    #[serde(default)]
    pub(crate) port: Option<Value>,
    #[serde(default)]
    pub(crate) comment: Option<String>,
}

/// A problem with one field of a rule: the config's field name and the message.
pub(crate) type FieldProblem = (&'static str, String);

/// Builds the Proxmox rule of `raw` for a file of `env`, or every problem with its field.
pub(crate) fn rule_from_config(raw: &RawRule, env: RuleEnv) -> Result<Rule, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    let kind = match raw.kind.as_str() {
        "in" => RuleType::In,
        "out" => RuleType::Out,
        "group" => RuleType::Group,
        other => {
            problems.push((
                "type",
                format!(
                    "expected \"in\", \"out\" or \"group\", found {}",
                    excerpt(other)
                ),
            ));
            RuleType::In
        }
    };
    let mut rule = Rule::new(kind, raw.action.clone());
    if kind != RuleType::Group
        && let Some((name, action)) = raw.action.split_once('(')
        && let Some(action) = action.strip_suffix(')')
    {
        rule.macro_name = Some(name.to_owned());
        rule.action = action.to_owned();
    }
    let port = match &raw.port {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Number(n)) if n.is_u64() => Some(n.to_string()),
        Some(other) => {
            problems.push((
                "port",
                format!(
                    "expected a port, list or range as a string (\"22\", \"80,443\", \"6000:6010\"), found {}",
                    phoenix_core::config::kind_of(other)
                ),
            ));
            None
        }
    };
    let text = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
    rule.source = text(&raw.source);
    rule.dest = text(&raw.dest);
    rule.proto = text(&raw.proto);
    rule.dport = port.filter(|p| !p.is_empty());
    rule.comment = text(&raw.comment);
    if kind == RuleType::Group
        && [&rule.source, &rule.dest, &rule.proto, &rule.dport]
            .iter()
            .any(|v| v.is_some())
    {
        problems.push((
            "type",
            "a group rule takes only its group's name as action (and a comment)".to_owned(),
        ));
    }
    if problems.is_empty() {
        for (param, message) in verify_rule(&rule, env, Names::default()) {
            // Names (ipsets, aliases) are checked against cluster.fw at plan time.
            if message.starts_with("no such ipset") || message.starts_with("no such alias") {
                continue;
            }
            problems.push((field_of(param), message));
        }
    }
    if problems.is_empty() {
        Ok(rule)
    } else {
        Err(problems)
    }
}

/// The config field that holds pve-firewall's rule parameter.
fn field_of(param: &str) -> &'static str {
    match param {
        "type" => "type",
        "action" | "macro" => "action",
        "source" => "source",
        "dest" => "dest",
        "proto" => "proto",
        "dport" => "port",
        _ => "comment",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phoenix_pve::firewall::format_rule;

    fn check(json: &str, env: RuleEnv) -> String {
        let raw: RawRule = serde_json::from_str(json).expect("a rule object");
        match rule_from_config(&raw, env) {
            Ok(rule) => format_rule(&rule, true),
            Err(problems) => problems
                .iter()
                .map(|(field, message)| format!("{field}: {message}"))
                .collect::<Vec<_>>()
                .join("; "),
        }
    }

    #[test]
    fn issue_9_rules_are_checked_at_config_time() {
        use RuleEnv::{Cluster, Container};
        let cases = [
            // The upstream rule, as every 0017fa8 container writes it.
            (
                r#"{"type":"in","action":"ACCEPT","source":"10.0.0.153","proto":"tcp","port":"8000"}"#,
                Container,
                "IN ACCEPT -source 10.0.0.153 -p tcp -dport 8000",
            ),
            (
                r#"{"type":"in","action":"ACCEPT","proto":"tcp","port":"80,443","comment":"gateway"}"#,
                Container,
                "IN ACCEPT -p tcp -dport 80,443 # gateway",
            ),
            (
                r#"{"type":"in","action":"ACCEPT","proto":"tcp","port":22}"#,
                Container,
                "IN ACCEPT -p tcp -dport 22",
            ),
            (
                r#"{"type":"in","action":"ACCEPT","proto":"udp","port":"60000:60050"}"#,
                Container,
                "IN ACCEPT -p udp -dport 60000:60050",
            ),
            (
                r#"{"type":"out","action":"DROP","dest":"192.168.0.0/16"}"#,
                Container,
                "OUT DROP -dest 192.168.0.0/16",
            ),
            (
                r#"{"type":"in","action":"SSH(ACCEPT)","source":"10.0.0.0/24"}"#,
                Cluster,
                "IN SSH(ACCEPT) -source 10.0.0.0/24",
            ),
            (
                r#"{"type":"in","action":"ACCEPT","source":"+dc/management","proto":"tcp","port":"8006"}"#,
                Cluster,
                "IN ACCEPT -source +dc/management -p tcp -dport 8006",
            ),
            (
                r#"{"type":"group","action":"webserver"}"#,
                Container,
                "GROUP webserver",
            ),
            (
                r#"{"type":"in","action":"ACCEPT","port":"22"}"#,
                Container,
                "proto: missing property - 'dport' requires this property",
            ),
            (
                r#"{"type":"in","action":"ACCEPT","proto":"tcp","port":"70000"}"#,
                Container,
                "port: invalid port '70000'",
            ),
            (
                r#"{"type":"in","action":"ACCEPT","proto":"tcp","port":"90:80"}"#,
                Container,
                "port: backwards range '90:80' not allowed, did you mean '80:90'?",
            ),
            (
                r#"{"type":"in","action":"ACCEPT","proto":"tcp","port":"22,"}"#,
                Container,
                "port: extraneous commas in list",
            ),
            (
                r#"{"type":"in","action":"ACCEPT","proto":"tcp","port":true}"#,
                Container,
                "port: expected a port, list or range as a string (\"22\", \"80,443\", \"6000:6010\"), found a boolean",
            ),
            (
                r#"{"type":"in","action":"ACCEPT","proto":"tcpp"}"#,
                Container,
                "proto: unknown protocol 'tcpp'",
            ),
            (
                r#"{"type":"in","action":"ALLOW"}"#,
                Container,
                "action: unknown action 'ALLOW'",
            ),
            (
                r#"{"type":"in","action":"accept"}"#,
                Container,
                "action: unknown action 'accept'",
            ),
            (
                r#"{"type":"inbound","action":"ACCEPT"}"#,
                Container,
                "type: expected \"in\", \"out\" or \"group\", found \"inbound\"",
            ),
            (
                r#"{"type":"in","action":"ACCEPT","source":"10.0.0.300"}"#,
                Container,
                "source: invalid IP address: invalid IP 10.0.0.300",
            ),
            (
                r#"{"type":"in","action":"ACCEPT","source":"10.0.0.1/24"}"#,
                Container,
                "source: invalid IP address: invalid prefix 10.0.0.1/24: host bits are set",
            ),
            (
                r#"{"type":"in","action":"ACCEPT","dest":"10.0.0.1,fe80::1"}"#,
                Container,
                "dest: detected mixed ipv4/ipv6 addresses in address list '10.0.0.1,fe80::1'",
            ),
            (
                r#"{"type":"group","action":"x"}"#,
                Container,
                "action: invalid characters in security group name",
            ),
            (
                r#"{"type":"group","action":"web","proto":"tcp"}"#,
                Container,
                "type: a group rule takes only its group's name as action (and a comment)",
            ),
            (
                r#"{"type":"in","action":"Bogus(ACCEPT)"}"#,
                Cluster,
                "action: unknown macro 'Bogus'",
            ),
        ];
        for (json, env, expect) in cases {
            assert_eq!(check(json, env), expect, "{json}");
        }
    }
}
