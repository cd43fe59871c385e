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

/// What the real nginx says of `text`: `Ok` or the `[emerg]` message and its line.
fn real_verdict(dir: &Path, text: &str) -> Result<(), (String, usize)> {
    let path = write_conf(dir, text);
    let output = run(
        "nginx",
        &["-t".into(), "-c".into(), path.display().to_string()],
    );
    if output.status == Some(0) {
        return Ok(());
    }
    let line = output
        .stderr
        .lines()
        .find(|l| l.contains("[emerg]"))
        .unwrap_or_else(|| panic!("an [emerg] line: {}", output.stderr));
    let (_, message) = line
        .split_once("[emerg] ")
        .and_then(|(_, rest)| rest.split_once(": "))
        .expect("nginx's `[emerg] PID#TID: ` prefix");
    let suffix = format!(" in {}:", path.display());
    let (message, at) = message
        .rsplit_once(&suffix)
        .unwrap_or_else(|| panic!("the file and line: {line}"));
    Err((message.to_owned(), at.parse().expect("a line number")))
}

#[test]
fn issue_13_the_emulator_answers_as_the_real_nginx_does() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let lab = conf(&samples::lab(), &layout_in(dir.path())).render();
    let cases = [
        lab.clone(),
        lab.replacen("least_conn;", "least_conn;\n        health_check;", 1),
        lab.replacen("    server {", "    server {\n    -", 1),
        format!("{lab}}}\n"),
        lab.trim_end().trim_end_matches('}').to_owned(),
        "events {}\nhttp {\n  server_tokens off\n".to_owned(),
        "events {}\nhttp {\n  server { location / { return 200 x } }\n}\n".to_owned(),
        "events {}\nhttp {\n  js_import g from /x.js;\n}\n".to_owned(),
        "# -\n-\nevents {}\n".to_owned(),
    ];
    for text in cases {
        let js = text.contains("modules-enabled");
        assert_eq!(
            super::sim::check(&text, js),
            real_verdict(dir.path(), &text),
            "{text}"
        );
    }
}

#[test]
fn issue_13_the_emulator_accepts_every_gateway_the_generator_writes() {
    use super::modsecurity::Mode;
    use super::secure::{Secure, SecurePaths, apply};
    use super::tls::{Source, Tls};

    let everything = Secure {
        tls: Some(Tls {
            source: Source::Files {
                certificate: "/etc/nginx/ssl/gateway.crt".to_owned(),
                key: "/etc/nginx/ssl/gateway.key".to_owned(),
            },
            https_port: 443,
        }),
        api_keys_file: Some("/root/phoenix/gateway-api-keys".to_owned()),
        modsecurity: Mode::Blocking,
        fail2ban: true,
    };
    for gateway in [samples::lab(), samples::pool_of_four()] {
        for secure in [Secure::default(), everything.clone()] {
            let mut generated = conf(&gateway, &Layout::debian());
            apply(
                &mut generated,
                &secure,
                gateway.port,
                &SecurePaths::debian(),
            );
            let text = generated.render();
            assert_eq!(super::sim::check(&text, true), Ok(()), "{text}");
        }
    }
}
