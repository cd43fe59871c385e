//! The real tools on the gateway's security parts: `nginx -t` (Debian 12's nginx with the njs
//! and ModSecurity modules and the CRS, which `cargo xtask ci` installs) on gateways with TLS on
//! and off, ModSecurity in both modes, API keys, and a pool of four replicas; and
//! `fail2ban-client -t` on the jail file. Everything is written into a temporary directory (its
//! own pid, logs, certificates and fail2ban configuration), so the machine's own nginx and
//! fail2ban are never touched; a missing tool fails the test.

use std::path::Path;

use phoenix_core::Output;

use super::real_nginx_tests::{layout_in, run, write_conf};
use super::secure::{self, Secure, SecurePaths};
use super::site::conf;
use super::spec::Gateway;
use super::tls::{Source, Tls};
use super::{ca, fail2ban, hardening, modsecurity, samples};

const NOW: i64 = 1_796_000_000;

/// Issues a CA and a server certificate into `dir`; returns the TLS settings that point there.
fn local_ca_in(dir: &Path) -> (Tls, ca::Issued) {
    let authority = ca::new_ca(NOW).expect("a CA");
    let server = ca::issue_server(
        &authority.cert_pem,
        &authority.key,
        &["gateway.lab".to_owned(), "127.0.0.1".to_owned()],
        NOW,
    )
    .expect("a server certificate");
    let cert = dir.join("gateway.crt");
    let key = dir.join("gateway.key");
    std::fs::write(&cert, &server.cert_pem).expect("write");
    std::fs::write(&key, server.key.reveal()).expect("write");
    std::fs::write(dir.join("ca.crt"), &authority.cert_pem).expect("write");
    let tls = Tls {
        source: Source::Files {
            certificate: cert.display().to_string(),
            key: key.display().to_string(),
        },
        https_port: 443,
    };
    (tls, authority)
}

/// Writes the whole secured gateway into `dir` (configuration, router, keys map, ModSecurity
/// rules) and returns the configuration's text.
pub(crate) fn write_secured(
    dir: &Path,
    gateway: &Gateway,
    secure: &Secure,
    keys: &[String],
) -> String {
    let layout = layout_in(dir);
    let paths = SecurePaths {
        keys_map: dir.join("api-keys.map").display().to_string(),
        modsecurity_rules: dir.join("modsecurity.conf").display().to_string(),
    };
    std::fs::write(&paths.keys_map, hardening::keys_map(keys)).expect("write");
    let files = modsecurity::Files::debian(&layout.log_dir);
    if let Some(rules) = modsecurity::rules(secure.modsecurity, gateway.max_body_bytes, &files) {
        std::fs::write(&paths.modsecurity_rules, rules).expect("write");
    }
    let mut generated = conf(gateway, &layout);
    secure::apply(&mut generated, secure, gateway.port, &paths);
    let text = generated.render();
    write_conf(dir, &text);
    text
}

fn nginx_t(dir: &Path) -> Output {
    run(
        "nginx",
        &[
            "-t".into(),
            "-c".into(),
            dir.join("nginx.conf").display().to_string(),
        ],
    )
}

fn assert_accepted(name: &str, output: &Output) {
    assert!(
        output.status == Some(0) && output.stderr.contains("test is successful"),
        "the real nginx -t refused the {name} gateway (status {:?}):\n{}",
        output.status,
        output.stderr
    );
}

fn key() -> Vec<String> {
    vec!["sk-lab-0123456789abcdef".to_owned()]
}

#[test]
fn issue_13_the_real_nginx_accepts_the_lab_gateway_with_tls_and_with_it_off() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (tls, _) = local_ca_in(dir.path());
    let on = Secure {
        tls: Some(tls),
        ..Secure::default()
    };
    let text = write_secured(dir.path(), &samples::lab(), &on, &key());
    assert!(text.contains("listen 443 ssl default_server;"), "{text}");
    assert_accepted("lab with TLS", &nginx_t(dir.path()));

    let dir = tempfile::tempdir().expect("a temporary directory");
    let text = write_secured(dir.path(), &samples::lab(), &Secure::default(), &key());
    assert!(!text.contains("ssl"), "{text}");
    assert_accepted("lab without TLS", &nginx_t(dir.path()));
}

#[test]
fn issue_13_the_real_nginx_accepts_modsecurity_with_the_crs_in_both_modes_and_api_keys() {
    for mode in [modsecurity::Mode::Detection, modsecurity::Mode::Blocking] {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let secure = Secure {
            modsecurity: mode,
            api_keys_file: Some("/root/phoenix/gateway-api-keys".into()),
            ..Secure::default()
        };
        let text = write_secured(dir.path(), &samples::lab(), &secure, &key());
        assert!(text.contains("modsecurity on;"), "{text}");
        let output = nginx_t(dir.path());
        assert_accepted(&format!("lab with ModSecurity {mode:?}"), &output);
        // The CRS really loaded: libmodsecurity reports its rules when nginx loads them.
        assert!(
            output.stderr.contains("rules loaded inline/local/remote"),
            "{}",
            output.stderr
        );
    }
}

#[test]
fn issue_13_the_real_nginx_accepts_a_pool_of_four_with_everything_on() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (tls, _) = local_ca_in(dir.path());
    let secure = Secure {
        tls: Some(tls),
        api_keys_file: Some("/root/phoenix/gateway-api-keys".into()),
        modsecurity: modsecurity::Mode::Blocking,
        fail2ban: true,
    };
    let text = write_secured(dir.path(), &samples::pool_of_four(), &secure, &key());
    assert_eq!(text.matches("max_fails=3").count(), 5, "{text}");
    assert_accepted("pool of four, everything on", &nginx_t(dir.path()));
}

#[test]
fn issue_13_the_real_nginx_refuses_a_certificate_whose_key_is_another() {
    // nginx -t loads the certificate and key: a mismatch is caught before it goes live.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (tls, authority) = local_ca_in(dir.path());
    let (_, key_path) = tls.files();
    let other = ca::issue_server(&authority.cert_pem, &authority.key, &["x.lab".into()], NOW)
        .expect("another certificate");
    std::fs::write(key_path, other.key.reveal()).expect("write");
    let secure = Secure {
        tls: Some(tls.clone()),
        ..Secure::default()
    };
    write_secured(dir.path(), &samples::lab(), &secure, &key());
    let output = nginx_t(dir.path());
    assert_eq!(output.status, Some(1), "{}", output.stderr);
    assert!(
        output.stderr.contains("key values mismatch") && output.stderr.contains(key_path),
        "{}",
        output.stderr
    );
}

#[test]
fn issue_13_the_real_nginx_refuses_an_api_key_map_line_that_is_not_one() {
    // What the map include takes is checked too: a broken map file fails nginx -t.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let secure = Secure {
        api_keys_file: Some("/root/keys".into()),
        ..Secure::default()
    };
    write_secured(dir.path(), &samples::lab(), &secure, &key());
    std::fs::write(dir.path().join("api-keys.map"), "'Bearer x' 1\n").expect("write");
    let output = nginx_t(dir.path());
    assert_eq!(output.status, Some(1), "{}", output.stderr);
}

/// A copy of the machine's fail2ban configuration in `dir` with the distribution's own jails
/// off (the build machine has no sshd log), so the test checks Phoenix's jail alone.
fn fail2ban_dir(dir: &Path) -> std::path::PathBuf {
    let conf = dir.join("fail2ban");
    let output = run(
        "cp",
        &[
            "-a".into(),
            "/etc/fail2ban/.".into(),
            conf.display().to_string(),
        ],
    );
    assert_eq!(
        output.status,
        Some(0),
        "copy /etc/fail2ban (apt-get install fail2ban): {}",
        output.stderr
    );
    let _ = std::fs::remove_file(conf.join("jail.d/defaults-debian.conf"));
    conf
}

#[test]
fn issue_13_the_real_fail2ban_client_accepts_the_jail_and_refuses_a_broken_one() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).expect("mkdir");
    for log in ["error.log", "access.log"] {
        std::fs::write(logs.join(log), "").expect("write");
    }
    let conf = fail2ban_dir(dir.path());
    let jail = fail2ban::jail(&logs.display().to_string(), &[80, 443]);
    std::fs::write(conf.join("jail.d/phoenix-gateway.local"), &jail).expect("write");
    let test = || {
        run(
            "fail2ban-client",
            &["-c".into(), conf.display().to_string(), "-t".into()],
        )
    };
    let output = test();
    assert!(
        output.status == Some(0) && output.stdout.contains("configuration test is successful"),
        "{output:?}"
    );
    // The same jail with a filter fail2ban does not have is refused.
    std::fs::write(
        conf.join("jail.d/phoenix-gateway.local"),
        jail.replace(
            "[nginx-botsearch]",
            "[nginx-botsearch]\nfilter = no-such-filter",
        ),
    )
    .expect("write");
    let output = test();
    assert_ne!(output.status, Some(0), "{output:?}");
}
