//! The real `nginx -t` (Debian 12's nginx 1.22 with `libnginx-mod-http-js`, which `cargo xtask
//! ci` installs) on every generated gateway: the lab, the upstream 0017fa8 services, a pool of
//! four replicas. The configuration is written into a temporary directory with its own pid and
//! logs ([`Layout`]), so the host's nginx is never touched; a missing nginx fails the test.

use std::path::Path;

use phoenix_core::host::Host;
use phoenix_core::{Cmd, LocalHost, Output};

use super::samples;
use super::site::{Layout, conf};
use super::spec::Gateway;

/// A layout inside `dir`: the router, the logs and the pid there, Debian's modules and mime types.
pub(crate) fn layout_in(dir: &Path) -> Layout {
    Layout {
        script: dir.join("gateway.js").display().to_string(),
        log_dir: dir.display().to_string(),
        pid: dir.join("nginx.pid").display().to_string(),
        ..Layout::debian()
    }
}

/// Writes the router and `text` as `nginx.conf` into `dir`; returns the conf's path.
pub(crate) fn write_conf(dir: &Path, text: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("gateway.js"), super::SCRIPT).expect("write the router");
    let path = dir.join("nginx.conf");
    std::fs::write(&path, text).expect("write nginx.conf");
    path
}

/// Runs the real nginx (as root).
pub(crate) fn run(program: &str, args: &[String]) -> Output {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime
        .block_on(LocalHost::new().run(&Cmd::write(program, args.iter().cloned())))
        .expect("the real nginx runs (apt-get install nginx libnginx-mod-http-js; as root)")
}

/// `nginx -t -c` on the configuration of `gateway` (or on `edit` of its text).
fn nginx_t(gateway: &Gateway, edit: impl Fn(String) -> String) -> Output {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let text = edit(conf(gateway, &layout_in(dir.path())).render());
    let path = write_conf(dir.path(), &text);
    run(
        "nginx",
        &["-t".into(), "-c".into(), path.display().to_string()],
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

#[test]
fn issue_13_the_real_nginx_accepts_the_lab_gateway() {
    assert_accepted("lab", &nginx_t(&samples::lab(), |t| t));
}

#[test]
fn issue_13_the_real_nginx_accepts_a_pool_of_four_replicas() {
    assert_accepted("pool", &nginx_t(&samples::pool_of_four(), |t| t));
}

#[test]
fn issue_13_the_real_nginx_accepts_the_upstream_0017fa8_services() {
    let gateway = super::config::tests::upstream_0017fa8();
    assert_accepted("upstream 0017fa8", &nginx_t(&gateway, |t| t));
}

#[test]
fn issue_13_the_real_nginx_accepts_a_gateway_with_no_service() {
    assert_accepted("empty", &nginx_t(&samples::gateway(Vec::new()), |t| t));
}

#[test]
fn issue_13_the_real_nginx_refuses_upstream_s_plus_only_health_check() {
    // What upstream's sites did: open-source nginx has no `health_check`.
    let output = nginx_t(&samples::lab(), |text| {
        text.replacen("least_conn;", "least_conn;\n        health_check;", 1)
    });
    assert_eq!(output.status, Some(1), "{}", output.stderr);
    assert!(
        output.stderr.contains("unknown directive \"health_check\""),
        "{}",
        output.stderr
    );
}

#[test]
fn issue_13_the_lab_gateway_s_conf() {
    insta::assert_snapshot!(super::site::conf(&samples::lab(), &Layout::debian()).render());
}
