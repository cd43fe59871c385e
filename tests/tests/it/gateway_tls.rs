//! The secured gateway live in the real nginx: TLS from the local CA checked by the real curl
//! against the generated CA certificate (`--cacert`), TLS 1.1 refused by the real openssl
//! client, HTTP redirected to HTTPS, API keys, ModSecurity with the CRS blocking an attack, and
//! the real `fail2ban-regex` matching the gateway's own log lines with fail2ban's filters.
//!
//! Everything runs in a fresh network namespace (`unshare -n`, loopback only) as root, as
//! `cargo xtask ci` does; a missing nginx, module, curl, openssl or fail2ban fails the test.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use phoenix_core::host::Host;
use phoenix_core::{Cmd, LocalHost};

use phoenix_net::gateway::secure::{self, Secure, SecurePaths};
use phoenix_net::gateway::site::{Layout, conf};
use phoenix_net::gateway::spec::{Gateway, Model, Rate, Route, Service};
use phoenix_net::gateway::tls::{Source, Tls};
use phoenix_net::gateway::{ca, hardening, modsecurity};

const KEY: &str = "sk-lab-0123456789abcdef";

/// The driver: starts nginx in the namespace, makes the requests, prints one `name value` line
/// each. `$1` is the directory holding everything, `$2` the API key.
const DRIVER: &str = r#"
set -u
dir=$1; key=$2
ip link set lo up
nginx -c "$dir/nginx.conf" -g 'daemon off;' 2>"$dir/nginx.stderr" & n=$!
trap 'kill $n 2>/dev/null; wait 2>/dev/null' EXIT
i=0
until curl -s -o /dev/null http://127.0.0.1/; do
  i=$((i + 1)); [ $i -gt 100 ] && { echo "not-ready"; cat "$dir/nginx.stderr"; exit 1; }
  sleep 0.05
done
r="--resolve gateway.lab:443:127.0.0.1 --resolve gateway.lab:80:127.0.0.1"
ca="$dir/ca.crt"
echo "verified $(curl -sS $r --cacert "$ca" -H "Authorization: Bearer $key" -o "$dir/models.json" \
  -w '%{http_code}/%{ssl_verify_result}' https://gateway.lab/v1/models 2>&1)"
echo "models $(cat "$dir/models.json")"
curl -sS $r -o /dev/null https://gateway.lab/v1/models 2>"$dir/unverified"
echo "unverified exit=$? $(tr '\n' ' ' < "$dir/unverified")"
echo "tls12 $(curl -sS $r --cacert "$ca" --tlsv1.2 --tls-max 1.2 -H "Authorization: Bearer $key" \
  -o /dev/null -w '%{http_code}' https://gateway.lab/v1/models 2>&1)"
echo "tls13 $(curl -sS $r --cacert "$ca" --tlsv1.3 -H "Authorization: Bearer $key" \
  -o /dev/null -w '%{http_code}' https://gateway.lab/v1/models 2>&1)"
openssl s_client -connect 127.0.0.1:443 -servername gateway.lab -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' \
  </dev/null >"$dir/tls11" 2>&1
echo "tls11 exit=$? $(grep -o -m1 'alert protocol version\|no protocols available\|Protocol *: TLSv1.1' "$dir/tls11")"
echo "redirect $(curl -sS $r -o /dev/null -w '%{http_code} %{redirect_url}' http://gateway.lab/v1/models?a=1)"
echo "nokey $(curl -sS $r --cacert "$ca" -w ' %{http_code}' https://gateway.lab/v1/models)"
echo "wrongkey $(curl -sS $r --cacert "$ca" -H 'Authorization: Bearer sk-wrong-0123456789abcdef' \
  -o /dev/null -w '%{http_code}' https://gateway.lab/v1/models)"
printf '{"model":"granite-embed-r2","input":"hello"}' > "$dir/embed.json"
# A request nginx answers itself (`return`) never reaches ModSecurity's phase: the probe goes to
# a route that is proxied.
echo "waf $(curl -sS $r --cacert "$ca" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  --data-binary "@$dir/embed.json" -o /dev/null -w '%{http_code}' \
  'https://gateway.lab/v1/embeddings?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E')"
# The same probe on `GET /v1/models`, which the router answers in the content phase.
echo "wafmodels $(curl -sS $r --cacert "$ca" -H "Authorization: Bearer $key" -o /dev/null -w '%{http_code}' \
  'https://gateway.lab/v1/models?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E')"
echo "clean $(curl -sS $r --cacert "$ca" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  --data-binary "@$dir/embed.json" -o /dev/null -w '%{http_code}' https://gateway.lab/v1/embeddings)"
for p in /wp-login.php /phpmyadmin/index.php /cgi-bin/test.cgi; do
  echo "probe $(curl -sS $r --cacert "$ca" -o /dev/null -w '%{http_code}' "https://gateway.lab$p")"
done
# The client limit: 30 requests at once, more than rate and burst let through (the stand-in
# backend is absent: those let through get 502 in OpenAI's JSON).
pids=""
for i in $(seq 1 30); do
  curl -s $r --cacert "$ca" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    --data-binary "@$dir/embed.json" -o /dev/null -w '%{http_code}\n' \
    https://gateway.lab/v1/embeddings >>"$dir/burst" & pids="$pids $!"
done
for pid in $pids; do wait "$pid"; done
echo "burst $(sort "$dir/burst" | uniq -c | tr -s ' \n' '  ')"
# The client limit on `GET /v1/models` too.
pids=""
for i in $(seq 1 30); do
  curl -s $r --cacert "$ca" -H "Authorization: Bearer $key" -o /dev/null -w '%{http_code}\n' \
    https://gateway.lab/v1/models >>"$dir/modelsburst" & pids="$pids $!"
done
for pid in $pids; do wait "$pid"; done
echo "modelsburst $(sort "$dir/modelsburst" | uniq -c | tr -s ' \n' '  ')"
kill $n; wait $n 2>/dev/null; trap - EXIT
echo "limit-req $(fail2ban-regex "$dir/error.log" /etc/fail2ban/filter.d/nginx-limit-req.conf | grep '^Lines:')"
echo "botsearch $(fail2ban-regex "$dir/access.log" /etc/fail2ban/filter.d/nginx-botsearch.conf | grep '^Lines:')"
"#;

fn gateway() -> Gateway {
    // One model route without a live backend: `/v1/models` is nginx's own answer.
    Gateway {
        server_names: vec!["gateway.lab".to_owned()],
        port: 80,
        max_body_bytes: 1024 * 1024,
        bytes_per_token: 6,
        client: Rate {
            per_second: 5,
            burst: 5,
        },
        services: vec![Service {
            name: "vllm_embed".to_owned(),
            route: Route::OpenAi {
                model: Model {
                    name: "granite-embed-r2".to_owned(),
                    max_model_len: 1024,
                },
            },
            backends: vec![phoenix_net::gateway::spec::Backend {
                container: 951,
                ip: "127.0.0.1".to_owned(),
                port: 18001,
            }],
            queue: Rate {
                per_second: 10,
                burst: 20,
            },
            max_conns: None,
        }],
    }
}

fn write_all(dir: &Path) -> ca::Issued {
    let authority = ca::new_ca(now()).expect("a CA");
    let names = ["gateway.lab".to_owned(), "127.0.0.1".to_owned()];
    let server =
        ca::issue_server(&authority.cert_pem, &authority.key, &names, now()).expect("a cert");
    let path = |name: &str| dir.join(name).display().to_string();
    std::fs::write(dir.join("ca.crt"), &authority.cert_pem).expect("write");
    std::fs::write(dir.join("gateway.crt"), &server.cert_pem).expect("write");
    std::fs::write(dir.join("gateway.key"), server.key.reveal()).expect("write");
    std::fs::write(
        dir.join("api-keys.map"),
        hardening::keys_map(&[KEY.to_owned()]),
    )
    .expect("write");
    let layout = Layout {
        script: path("gateway.js"),
        log_dir: dir.display().to_string(),
        pid: path("nginx.pid"),
        ..Layout::debian()
    };
    let gateway = gateway();
    let files = modsecurity::Files::debian(&layout.log_dir);
    let rules = modsecurity::rules(modsecurity::Mode::Blocking, gateway.max_body_bytes, &files)
        .expect("blocking");
    std::fs::write(dir.join("modsecurity.conf"), rules).expect("write");
    let secure = Secure {
        tls: Some(Tls {
            source: Source::Files {
                certificate: path("gateway.crt"),
                key: path("gateway.key"),
            },
            https_port: 443,
        }),
        api_keys_file: Some("/root/phoenix/gateway-api-keys".to_owned()),
        modsecurity: modsecurity::Mode::Blocking,
        fail2ban: true,
    };
    let paths = SecurePaths {
        keys_map: path("api-keys.map"),
        modsecurity_rules: path("modsecurity.conf"),
    };
    let mut generated = conf(&gateway, &layout);
    secure::apply(&mut generated, &secure, gateway.port, &paths);
    std::fs::write(dir.join("gateway.js"), phoenix_net::gateway::SCRIPT).expect("write");
    std::fs::write(dir.join("nginx.conf"), generated.render()).expect("write");
    authority
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[test]
#[expect(
    clippy::print_stdout,
    reason = "the measured handshake, redirect, key, WAF and ban figures are the test's report"
)]
fn issue_13_the_secured_gateway_serves_tls_from_the_local_ca_live() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    write_all(dir.path());
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let cmd = Cmd::write(
        "unshare",
        [
            "-n".to_owned(),
            "sh".to_owned(),
            "-c".to_owned(),
            DRIVER.to_owned(),
            "sh".to_owned(),
            dir.path().display().to_string(),
            KEY.to_owned(),
        ],
    )
    .timeout(Duration::from_secs(90));
    let output = runtime
        .block_on(LocalHost::new().run(&cmd))
        .expect("unshare, nginx, curl, openssl and fail2ban-regex run (as root)");
    let report = format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status, output.stdout, output.stderr
    );
    let lines: BTreeMap<&str, Vec<&str>> =
        output
            .stdout
            .lines()
            .fold(BTreeMap::new(), |mut lines, line| {
                let (name, value) = line.split_once(' ').unwrap_or((line, ""));
                lines.entry(name).or_default().push(value);
                lines
            });
    let one = |name: &str| -> &str {
        lines
            .get(name)
            .and_then(|v| v.first())
            .unwrap_or_else(|| panic!("no {name}: {report}"))
    };
    // The handshake verifies against the generated CA (ssl_verify_result 0), and fails without it.
    assert_eq!(one("verified"), "200/0", "{report}");
    assert!(
        one("models").contains("\"id\":\"granite-embed-r2\""),
        "{report}"
    );
    assert!(one("unverified").starts_with("exit=60"), "{report}");
    // TLS 1.2 and 1.3 only.
    assert_eq!(one("tls12"), "200", "{report}");
    assert_eq!(one("tls13"), "200", "{report}");
    assert!(
        one("tls11").contains("alert protocol version")
            || one("tls11").contains("no protocols available"),
        "{report}"
    );
    assert!(!one("tls11").starts_with("exit=0"), "{report}");
    // HTTP redirects to HTTPS, keeping the path and query.
    assert_eq!(
        one("redirect"),
        "301 https://gateway.lab/v1/models?a=1",
        "{report}"
    );
    // API keys: none or an unknown one gets 401 in OpenAI's JSON.
    assert!(
        one("nokey").contains("\"code\":\"invalid_api_key\"") && one("nokey").ends_with(" 401"),
        "{report}"
    );
    assert_eq!(one("wrongkey"), "401", "{report}");
    // ModSecurity with the CRS, blocking: an XSS probe gets 403; the same request without it
    // passes the WAF (and gets 502: no backend runs).
    assert_eq!(one("waf"), "403", "{report}");
    // `GET /v1/models` passes the WAF and the client limit like every other API route.
    assert_eq!(one("wafmodels"), "403", "{report}");
    assert_eq!(one("clean"), "502", "{report}");
    // Unrouted paths stay 404 (what nginx-botsearch counts), even without a key.
    assert_eq!(
        lines.get("probe"),
        Some(&vec!["404", "404", "404"]),
        "{report}"
    );
    // The burst met the client limit; fail2ban's own filters match the gateway's own lines.
    assert!(one("burst").contains(" 429"), "{report}");
    assert!(one("modelsburst").contains(" 429"), "{report}");
    let matched = |name: &str| -> u64 {
        one(name)
            .split(", ")
            .find_map(|part| part.strip_suffix(" matched"))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no matched count in {name}: {report}"))
    };
    assert!(matched("limit-req") >= 1, "{report}");
    assert_eq!(matched("botsearch"), 3, "{report}");
    println!(
        "issue 13 secured gateway live: verified={} tls11=[{}] redirect=[{}] waf={} wafmodels={} clean={} burst=[{}] modelsburst=[{}] limit-req=[{}] botsearch=[{}]",
        one("verified"),
        one("tls11"),
        one("redirect"),
        one("waf"),
        one("wafmodels"),
        one("clean"),
        one("burst"),
        one("modelsburst"),
        one("limit-req"),
        one("botsearch")
    );
}

#[test]
fn issue_13_a_removed_replica_leaves_the_upstream_before_its_container_is_destroyed() {
    use crate::support::{Scratch, arg, phoenix};
    let scratch = Scratch::new();
    let dir =
        scratch.copy_lab_config(&["phoenix_hypervisor_config.json", "phoenix_lxc_configs.json"]);
    let path = dir.join("phoenix_lxc_configs.json");
    let mut lxc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
    let mut replica = lxc["lxc_configs"]["951"].clone();
    replica["name"] = "vllm-granite-embed-r2-b".into();
    replica["network_config"]["ip"] = "10.0.0.156/24".into();
    replica["mac_address"] = "52:54:00:AA:BB:56".into();
    replica["ensure"] = "absent".into();
    lxc["lxc_configs"]["956"] = replica;
    lxc["gateway"] = serde_json::json!({"container": 101});
    std::fs::write(&path, lxc.to_string()).expect("write");
    let ran = phoenix(&["graph", "--config", arg(&dir), "--format", "text"]);
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
    let line = ran
        .stdout
        .lines()
        .find(|l| l.starts_with("lxc.container[956]"))
        .unwrap_or_else(|| panic!("no lxc.container[956]:\n{}", ran.stdout));
    assert!(
        line.contains("service[ct:101:nginx.service]"),
        "the destroy of 956 does not wait for nginx's reload: {line}"
    );
    // A replica that stays is not held back by the gateway.
    let kept = ran
        .stdout
        .lines()
        .find(|l| l.starts_with("lxc.container[951]"))
        .unwrap_or_default();
    assert!(!kept.contains("nginx"), "{kept}");
}

#[tokio::test]
async fn issue_13_the_local_ca_is_made_once_on_the_node_with_a_root_only_key_and_kept() {
    use phoenix_core::apply::{Observer, Quiet, Status};
    use phoenix_core::directory::Directory;
    use phoenix_core::scope::Scope;
    use phoenix_core::sim::{SimNode, SimState};
    use phoenix_core::{ApplyOptions, DynResource, PlanOptions, Resource};
    use phoenix_net::gateway::tls_resources::{CA_CERT, CA_DIR, CA_KEY, CaResource};
    use std::sync::Arc;

    let node = Arc::new(SimNode::from_state(SimState::new(), Vec::new()).expect("a node"));
    let make = || {
        let scope = Scope::node();
        let dir = Directory::new(&scope, CA_DIR)
            .mode(0o700)
            .owner("root:root");
        let ca = CaResource::new(&scope).depends_on(Resource::id(&dir));
        crate::support::engine(vec![
            Box::new(dir) as Box<dyn DynResource>,
            Box::new(ca) as Box<dyn DynResource>,
        ])
    };
    let host = crate::support::host(&node);
    let plan = make()
        .plan(Arc::clone(&host), &PlanOptions::default())
        .await;
    let text = serde_json::to_string(&plan.changes).expect("JSON");
    assert!(
        text.contains("gateway.ca") && text.contains("made by Phoenix at apply"),
        "{text}"
    );
    let report = make()
        .apply(
            Arc::clone(&host),
            &ApplyOptions::default(),
            Arc::new(Quiet) as Arc<dyn Observer>,
        )
        .await
        .expect("no plan errors");
    assert!(
        report.outcomes.iter().all(|o| o.status == Status::Applied),
        "{:#?}",
        report.outcomes
    );
    let state = node.state();
    let key = &state.files[CA_KEY];
    assert_eq!((key.mode, key.owner.as_str()), (0o600, "root:root"));
    assert!(key.content.contains("PRIVATE KEY"));
    let cert = state.files[CA_CERT].content.clone();
    let info = ca::read_cert(&cert).expect("the CA reads back");
    assert!(info.is_ca);
    // The report shows no key material.
    let shown = format!("{report:?}");
    assert!(!shown.contains("PRIVATE KEY"), "{shown}");
    // Converged: the second plan is empty, and the CA is the same.
    let plan = make()
        .plan(Arc::clone(&host), &PlanOptions::default())
        .await;
    let changes: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| !c.is_noop())
        .map(|c| c.id.to_string())
        .collect();
    assert_eq!(changes, Vec::<String>::new(), "{:#?}", plan.diagnostics);
    assert!(plan.diagnostics.is_empty(), "{:#?}", plan.diagnostics);
    assert_eq!(node.state().files[CA_CERT].content, cert);
}
