//! ModSecurity v3 with the OWASP Core Rule Set at the gateway (Debian's
//! `libnginx-mod-http-modsecurity` and `modsecurity-crs`), in the mode the config's
//! `gateway.modsecurity` chooses: `off` (the default), `detection` (log only) or `blocking`.
//!
//! Phoenix writes one rules file, [`RULES_PATH`], that includes Debian's recommended base
//! (`/etc/nginx/modsecurity.conf`, left as the package ships it), sets the engine's mode, and
//! includes the CRS files one by one: libmodsecurity 3 has no `IncludeOptional`, which the
//! CRS package's own loader uses. It also lifts the base's 128 KiB limit on a body without
//! files to the gateway's own body limit (a long prompt is JSON, not a file), and turns
//! response body inspection off so streamed answers are not held back.

use serde::Deserialize;

use super::nginx::{Conf, Directive};

/// The mode of the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Not loaded into the gateway's server.
    #[default]
    Off,
    /// Rules run and log; nothing is blocked (`SecRuleEngine DetectionOnly`).
    Detection,
    /// Rules run and block (`SecRuleEngine On`).
    Blocking,
}

/// The rules file Phoenix writes in the gateway's container.
pub const RULES_PATH: &str = "/etc/nginx/phoenix/modsecurity.conf";

/// Debian's packages: the nginx module and the Core Rule Set.
pub const PACKAGES: &[&str] = &["libnginx-mod-http-modsecurity", "modsecurity-crs"];

/// Where the packages put their files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Files {
    /// The module's recommended base configuration.
    pub base: String,
    /// The CRS setup.
    pub crs_setup: String,
    /// The operator's exclusions before the CRS rules.
    pub crs_before: String,
    /// The CRS rules (a glob).
    pub crs_rules: String,
    /// The operator's exclusions after them.
    pub crs_after: String,
    /// The audit log.
    pub audit_log: String,
}

impl Files {
    /// Debian 12's packages, the audit log in `log_dir`.
    pub fn debian(log_dir: &str) -> Files {
        Files {
            base: "/etc/nginx/modsecurity.conf".into(),
            crs_setup: "/etc/modsecurity/crs/crs-setup.conf".into(),
            crs_before: "/etc/modsecurity/crs/REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf".into(),
            crs_rules: "/usr/share/modsecurity-crs/rules/*.conf".into(),
            crs_after: "/etc/modsecurity/crs/RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf".into(),
            audit_log: format!("{log_dir}/modsec_audit.log"),
        }
    }
}

/// The rules file for `mode` (`None` when off), with bodies up to `max_body_bytes`.
pub fn rules(mode: Mode, max_body_bytes: u64, files: &Files) -> Option<String> {
    let engine = match mode {
        Mode::Off => return None,
        Mode::Detection => "DetectionOnly",
        Mode::Blocking => "On",
    };
    Some(format!(
        "# Written by Phoenix from the config's `gateway.modsecurity`; changes here are overwritten.\n\
         Include {base}\n\
         SecRuleEngine {engine}\n\
         SecRequestBodyNoFilesLimit {max_body_bytes}\n\
         SecResponseBodyAccess Off\n\
         SecAuditLog {audit}\n\
         Include {setup}\n\
         Include {before}\n\
         Include {rules}\n\
         Include {after}\n",
        base = files.base,
        audit = files.audit_log,
        setup = files.crs_setup,
        before = files.crs_before,
        rules = files.crs_rules,
        after = files.crs_after,
    ))
}

/// Turns ModSecurity on in the gateway's server (the first), with `rules_path`.
pub fn apply(conf: &mut Conf, mode: Mode, rules_path: &str) {
    if mode == Mode::Off {
        return;
    }
    if let Some(gateway) = conf.servers.first_mut() {
        gateway.directives.extend([
            Directive::new("modsecurity", ["on"]),
            Directive::new("modsecurity_rules_file", [rules_path]),
        ]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_13_the_rules_file_sets_the_mode_and_includes_the_crs_one_by_one() {
        let files = Files::debian("/var/log/nginx");
        assert_eq!(rules(Mode::Off, 1024, &files), None);
        let blocking = rules(Mode::Blocking, 1_048_576, &files).expect("on");
        insta::assert_snapshot!(blocking, @r"
        # Written by Phoenix from the config's `gateway.modsecurity`; changes here are overwritten.
        Include /etc/nginx/modsecurity.conf
        SecRuleEngine On
        SecRequestBodyNoFilesLimit 1048576
        SecResponseBodyAccess Off
        SecAuditLog /var/log/nginx/modsec_audit.log
        Include /etc/modsecurity/crs/crs-setup.conf
        Include /etc/modsecurity/crs/REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf
        Include /usr/share/modsecurity-crs/rules/*.conf
        Include /etc/modsecurity/crs/RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf
        ");
        let detection = rules(Mode::Detection, 1, &files).expect("on");
        assert!(detection.contains("SecRuleEngine DetectionOnly\n"));
        assert!(!detection.contains("IncludeOptional"));
    }
}
