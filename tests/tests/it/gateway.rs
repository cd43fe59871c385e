//! The generated gateway in the real nginx (with the real njs module), live, in front of small
//! stand-in backends that answer like vLLM (OpenAI JSON), checked with the real curl.
//!
//! Everything runs in a fresh network namespace (`unshare -n`, loopback only), so no port of
//! the machine is used and nothing outside sees it; the test runs as root, as `cargo xtask ci`
//! does, and a missing nginx, njs module, python3 or curl fails it. The stand-ins are a short
//! python3 HTTP server (`STANDIN`), one process per replica. The driver script prints one line
//! per request: `name status replica header... | body`; the test asserts on them and prints the
//! measured queue and failover figures.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use phoenix_core::host::Host;
use phoenix_core::{Cmd, LocalHost};

use phoenix_net::gateway::site::{Layout, conf};
use phoenix_net::gateway::spec::{Backend, Gateway, Model, Rate, Route, Service};

/// A layout inside `dir`: the router, the logs and the pid there, Debian's modules and mime types.
fn layout_in(dir: &Path) -> Layout {
    Layout {
        script: dir.join("gateway.js").display().to_string(),
        log_dir: dir.display().to_string(),
        pid: dir.join("nginx.pid").display().to_string(),
        ..Layout::debian()
    }
}

/// Writes the router and `text` as `nginx.conf` into `dir`.
fn write_conf(dir: &Path, text: &str) {
    std::fs::write(dir.join("gateway.js"), phoenix_net::gateway::SCRIPT).expect("write the router");
    std::fs::write(dir.join("nginx.conf"), text).expect("write nginx.conf");
}

/// A stand-in vLLM (and Ollama) server: `python3 STANDIN PORT NAME`.
const STANDIN: &str = r#"
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, NAME = int(sys.argv[1]), sys.argv[2]

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Replica", NAME)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/v1/models":
            self.answer(200, {"object": "list", "data": [{"id": NAME, "object": "model"}]})
        else:
            self.answer(200, {"path": self.path, "replica": NAME})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        model = body.get("model")
        if self.path == "/v1/embeddings":
            self.answer(200, {"object": "list", "model": model, "replica": NAME,
                              "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}]})
        elif self.path in ("/v1/chat/completions", "/v1/completions"):
            self.answer(200, {"object": "chat.completion", "model": model, "replica": NAME,
                              "choices": [{"index": 0, "finish_reason": "stop",
                                           "message": {"role": "assistant", "content": "stand-in"}}]})
        else:
            self.answer(404, {"error": {"message": "not found"}})

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
"#;

/// The driver: starts the stand-ins and nginx in the namespace, makes the requests, stops them.
/// `$1` is the directory holding `nginx.conf` and `standin.py`.
const DRIVER: &str = r#"
set -u
dir=$1
ip link set lo up
python3 "$dir/standin.py" 18001 embed-a & a=$!
python3 "$dir/standin.py" 18002 embed-b & b=$!
python3 "$dir/standin.py" 18003 chat & c=$!
python3 "$dir/standin.py" 18004 queue & q=$!
python3 "$dir/standin.py" 18005 ollama & o=$!
nginx -c "$dir/nginx.conf" -g 'daemon off;' 2>"$dir/nginx.stderr" & n=$!
trap 'kill $a $b $c $q $o $n 2>/dev/null; wait 2>/dev/null' EXIT
for port in 18001 18002 18003 18004 18005 8080; do
  i=0
  until curl -s -o /dev/null "http://127.0.0.1:$port/"; do
    i=$((i + 1)); [ $i -gt 100 ] && { echo "not ready: $port"; cat "$dir/nginx.stderr"; exit 1; }
    sleep 0.05
  done
done
# req NAME METHOD PATH [BODY-FILE]: one line, `NAME STATUS REPLICA RETRY-AFTER NOSNIFF CACHE | BODY`.
req() {
  name=$1; method=$2; path=$3; shift 3
  out=$(mktemp -u "$dir/out.XXXXXXXX")
  if [ $# -gt 0 ]; then
    code=$(curl -s -X "$method" -H 'Content-Type: application/json' --data-binary "@$1" \
      -D "$out.h" -o "$out.b" -w '%{http_code}' "http://127.0.0.1:8080$path")
  else
    code=$(curl -s -X "$method" -D "$out.h" -o "$out.b" -w '%{http_code}' "http://127.0.0.1:8080$path")
  fi
  header() { tr -d '\r' < "$out.h" | grep -i "^$1:" | head -n 1 | cut -d' ' -f2- | tr ' ' '_'; }
  echo "$name $code $(header X-Replica)- $(header Retry-After)- $(header X-Content-Type-Options)- $(header Cache-Control)- | $(tr -d '\n' < "$out.b")"
}
printf '{"model":"standin-embed","input":"hello"}' > "$dir/embed.json"
printf '{"model":"standin-chat","messages":[{"role":"user","content":"hi"}],"max_tokens":8}' > "$dir/chat.json"
printf '{"model":"no-such-model","input":"hello"}' > "$dir/unknown.json"
printf '{"model":"standin-queue","input":"q"}' > "$dir/queue.json"
long=$(head -c 1000 /dev/zero | tr '\0' 'x')
printf '{"model":"standin-embed","input":"%s"}' "$long" > "$dir/long.json"
big=$(head -c 8000 /dev/zero | tr '\0' 'x')
printf '{"model":"standin-embed","input":"%s"}' "$big" > "$dir/big.json"
req models GET /v1/models
for i in 1 2 3 4; do req embed POST /v1/embeddings "$dir/embed.json"; done
req chat POST /v1/chat/completions "$dir/chat.json"
req unknown POST /v1/embeddings "$dir/unknown.json"
req long POST /v1/embeddings "$dir/long.json"
req big POST /v1/embeddings "$dir/big.json"
req ollama GET /ollama/api/tags
req nowhere GET /nowhere
# The queue: 12 requests at once to a service taking 1 request/s with 3 waiting.
start=$(date +%s%N)
pids=""
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
  ( s=$(date +%s%N); line=$(req queue POST /v1/embeddings "$dir/queue.json"); e=$(date +%s%N)
    echo "$line ms=$(( (e - s) / 1000000 ))" ) &
  pids="$pids $!"
done
for pid in $pids; do wait "$pid"; done
echo "queue-total ms=$(( ($(date +%s%N) - start) / 1000000 ))"
# Failover: replica a stops; every request still succeeds, on b.
kill $a; wait $a 2>/dev/null
start=$(date +%s%N)
for i in 1 2 3 4 5 6; do req failover POST /v1/embeddings "$dir/embed.json"; done
echo "failover-total ms=$(( ($(date +%s%N) - start) / 1000000 ))"
"#;

fn service(name: &str, route: Route, ports: &[u16], queue: Rate) -> Service {
    Service {
        name: name.to_owned(),
        route,
        backends: ports
            .iter()
            .map(|&port| Backend {
                container: 0,
                ip: "127.0.0.1".to_owned(),
                port,
            })
            .collect(),
        queue,
        max_conns: None,
    }
}

fn model(name: &str, max_model_len: u32) -> Route {
    Route::OpenAi {
        model: Model {
            name: name.to_owned(),
            max_model_len,
        },
    }
}

/// The gateway under test: a pool of two embedding replicas (context 64 tokens), a chat model,
/// a model with a small queue (1 request/s, 3 waiting), Ollama at `/ollama/`; 4 KiB bodies.
fn gateway() -> Gateway {
    let roomy = Rate {
        per_second: 1000,
        burst: 1000,
    };
    Gateway {
        server_names: vec!["_".to_owned()],
        port: 8080,
        max_body_bytes: 4096,
        bytes_per_token: 6,
        client: roomy,
        services: vec![
            service(
                "vllm_standin_embed",
                model("standin-embed", 64),
                &[18001, 18002],
                roomy,
            ),
            service(
                "vllm_standin_chat",
                model("standin-chat", 512),
                &[18003],
                roomy,
            ),
            service(
                "vllm_standin_queue",
                model("standin-queue", 512),
                &[18004],
                Rate {
                    per_second: 1,
                    burst: 3,
                },
            ),
            service(
                "ollama_standin",
                Route::Path {
                    prefix: "/ollama/".to_owned(),
                    websocket: false,
                    streaming: true,
                },
                &[18005],
                roomy,
            ),
        ],
    }
}

/// One answer the driver printed.
#[derive(Debug, Clone)]
struct Answer {
    status: String,
    replica: String,
    retry_after: String,
    nosniff: String,
    cache: String,
    body: String,
    ms: Option<u64>,
}

fn parse(stdout: &str) -> (BTreeMap<String, Vec<Answer>>, BTreeMap<String, u64>) {
    let mut answers: BTreeMap<String, Vec<Answer>> = BTreeMap::new();
    let mut totals = BTreeMap::new();
    for line in stdout.lines() {
        let (head, body) = line.split_once(" | ").unwrap_or((line, ""));
        let words: Vec<&str> = head.split(' ').collect();
        if let [name, ms] = words[..] {
            if let Some(ms) = ms.strip_prefix("ms=").and_then(|m| m.parse().ok()) {
                totals.insert(name.to_owned(), ms);
            }
            continue;
        }
        let [name, status, replica, retry, nosniff, cache] = words[..] else {
            continue;
        };
        let (body, ms) = match body.rsplit_once(" ms=") {
            Some((body, ms)) => (body, ms.parse().ok()),
            None => (body, None),
        };
        let field = |v: &str| v.trim_end_matches('-').to_owned();
        answers.entry(name.to_owned()).or_default().push(Answer {
            status: status.to_owned(),
            replica: field(replica),
            retry_after: field(retry),
            nosniff: field(nosniff),
            cache: field(cache),
            body: body.to_owned(),
            ms,
        });
    }
    (answers, totals)
}

#[test]
#[expect(
    clippy::print_stdout,
    reason = "the measured queue and failover figures are the test's report"
)]
fn issue_13_the_real_nginx_routes_queues_validates_and_fails_over_live() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let gateway = gateway();
    write_conf(dir.path(), &conf(&gateway, &layout_in(dir.path())).render());
    std::fs::write(dir.path().join("standin.py"), STANDIN).expect("write the stand-in");
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
        ],
    )
    .timeout(Duration::from_secs(60));
    let output = runtime
        .block_on(LocalHost::new().run(&cmd))
        .expect("unshare, nginx, python3 and curl run (as root)");
    let (answers, totals) = parse(&output.stdout);
    let report = format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status, output.stdout, output.stderr
    );
    let one = |name: &str| -> &Answer {
        &answers
            .get(name)
            .unwrap_or_else(|| panic!("no {name}: {report}"))[0]
    };

    // GET /v1/models is answered by nginx from the config, cacheable for a minute.
    let models = one("models");
    assert_eq!(models.status, "200", "{report}");
    assert!(
        models.body.contains("\"id\":\"standin-embed\"")
            && models.body.contains("\"id\":\"standin-chat\"")
            && models.replica.is_empty(),
        "{report}"
    );
    assert_eq!(models.cache, "public,_max-age=60", "{report}");

    // Routing by `model`: the embedding pool answers from both replicas, the chat model from its own.
    let embed = &answers["embed"];
    assert!(embed.iter().all(|a| a.status == "200"), "{report}");
    let replicas: std::collections::BTreeSet<_> =
        embed.iter().map(|a| a.replica.as_str()).collect();
    assert_eq!(
        replicas,
        ["embed-a", "embed-b"].into_iter().collect(),
        "{report}"
    );
    let chat = one("chat");
    assert_eq!(
        (chat.status.as_str(), chat.replica.as_str()),
        ("200", "chat"),
        "{report}"
    );

    // Errors in OpenAI's JSON, before any backend: unknown model, a prompt that cannot fit, a big body.
    let unknown = one("unknown");
    assert_eq!(unknown.status, "404", "{report}");
    assert!(
        unknown.body.contains("\"code\":\"model_not_found\""),
        "{report}"
    );
    let long = one("long");
    assert_eq!(long.status, "400", "{report}");
    assert!(
        long.body.contains("\"code\":\"context_length_exceeded\""),
        "{report}"
    );
    assert!(long.replica.is_empty(), "{report}");
    let big = one("big");
    assert_eq!(big.status, "413", "{report}");
    assert!(
        big.body.contains("\"code\":\"request_too_large\""),
        "{report}"
    );

    // A path route strips its prefix; an unknown path is a JSON 404; security headers everywhere.
    let ollama = one("ollama");
    assert_eq!(ollama.status, "200", "{report}");
    assert!(ollama.body.contains("\"path\": \"/api/tags\""), "{report}");
    assert_eq!(one("nowhere").status, "404", "{report}");
    for (name, list) in &answers {
        for answer in list {
            assert_eq!(answer.nosniff, "nosniff", "{name}: {report}");
        }
    }

    // The queue: one passes, three wait their turn (about a second apart), the rest get 429 at once.
    let queue = &answers["queue"];
    let served: Vec<_> = queue.iter().filter(|a| a.status == "200").collect();
    let refused: Vec<_> = queue.iter().filter(|a| a.status == "429").collect();
    assert_eq!((served.len(), refused.len()), (4, 8), "{report}");
    assert!(
        refused
            .iter()
            .all(|a| a.retry_after == "3" && a.body.contains("rate_limit_exceeded")),
        "{report}"
    );
    let slowest_served = served.iter().filter_map(|a| a.ms).max().unwrap_or(0);
    let slowest_refused = refused.iter().filter_map(|a| a.ms).max().unwrap_or(0);
    assert!(
        slowest_served >= 2000,
        "the queued requests waited: {report}"
    );
    assert!(
        slowest_refused + 1000 <= slowest_served,
        "the refusals came without waiting for the queue (a margin for a busy machine): {report}"
    );

    // Failover: with replica a stopped, every request succeeds on b.
    let failover = &answers["failover"];
    assert_eq!(failover.len(), 6, "{report}");
    assert!(
        failover
            .iter()
            .all(|a| a.status == "200" && a.replica == "embed-b"),
        "{report}"
    );

    println!(
        "queue (1 request/s, burst 3, 12 at once): {} served (slowest after {slowest_served} ms), {} refused with 429 and Retry-After 3 (slowest refusal after {slowest_refused} ms), all done in {} ms",
        served.len(),
        refused.len(),
        totals.get("queue-total").copied().unwrap_or(0)
    );
    println!(
        "failover (replica a stopped): {}/{} requests answered 200 by replica b, in {} ms in all",
        failover.iter().filter(|a| a.status == "200").count(),
        failover.len(),
        totals.get("failover-total").copied().unwrap_or(0)
    );
}

/// Runs `program args` on this machine.
fn local(program: &str, args: &[String]) -> phoenix_core::Output {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let cmd = Cmd::write(program, args.iter().cloned()).timeout(Duration::from_secs(20));
    runtime
        .block_on(LocalHost::new().run(&cmd))
        .unwrap_or_else(|err| panic!("{program} runs (as root): {err}"))
}

/// nginx serving `dir/nginx.conf` in its own network namespace (loopback only) until dropped.
struct Running {
    /// The master's pid: `nsenter -t` enters its namespace.
    pid: String,
    conf: String,
}

impl Running {
    /// `unshare -n`, loopback up, nginx as a daemon: the namespace lives as long as nginx.
    fn start(dir: &Path) -> Running {
        let conf = dir.join("nginx.conf").display().to_string();
        let started = local(
            "unshare",
            &[
                "-n".into(),
                "sh".into(),
                "-c".into(),
                "ip link set lo up && nginx -c \"$1\"".into(),
                "sh".into(),
                conf.clone(),
            ],
        );
        assert_eq!(started.status, Some(0), "nginx starts: {}", started.stderr);
        let pid_file = dir.join("nginx.pid");
        let mut pid = String::new();
        for _ in 0..100 {
            pid = std::fs::read_to_string(&pid_file)
                .unwrap_or_default()
                .trim()
                .to_owned();
            if !pid.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(!pid.is_empty(), "nginx wrote no pid file");
        Running { pid, conf }
    }

    /// `curl` in nginx's namespace: the body and ` STATUS`, or curl's error.
    fn get(&self, path: &str) -> String {
        let output = local(
            "nsenter",
            &[
                "-t".into(),
                self.pid.clone(),
                "-n".into(),
                "curl".into(),
                "-sS".into(),
                "-w".into(),
                " %{http_code}".into(),
                format!("http://127.0.0.1:8080{path}"),
            ],
        );
        format!("{}{}", output.stdout, output.stderr)
    }

    /// Waits until nginx answers `path` with 200 (at most 5 s).
    fn ready(&self, path: &str) -> String {
        let mut last = String::new();
        for _ in 0..100 {
            last = self.get(path);
            if last.ends_with(" 200") {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        last
    }

    /// `nginx -s SIGNAL` to the master of this configuration.
    fn signal(&self, signal: &str) -> phoenix_core::Output {
        local(
            "nginx",
            &["-c".into(), self.conf.clone(), "-s".into(), signal.into()],
        )
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _stopped = self.signal("stop");
    }
}

/// Applies `text` as `dir/nginx.conf` on this machine through core's `file` resource, checked
/// by the real `nginx -t` on the staged copy, as the gateway's build does in its container.
fn apply_conf(dir: &Path, text: &str) -> phoenix_core::ApplyReport {
    use phoenix_core::DynResource;
    use phoenix_core::apply::{Observer, Quiet};
    use phoenix_core::file::File;
    use std::sync::Arc;

    let file = File::new(dir.join("nginx.conf"), text)
        .mode(0o644)
        .validate(phoenix_net::gateway::VALIDATE);
    let engine = crate::support::engine(vec![Box::new(file) as Box<dyn DynResource>]);
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime
        .block_on(engine.apply(
            Arc::new(LocalHost::new()) as Arc<dyn Host>,
            &phoenix_core::ApplyOptions::default(),
            Arc::new(Quiet) as Arc<dyn Observer>,
        ))
        .expect("the plan has no errors")
}

#[test]
fn issue_13_a_config_the_real_nginx_rejects_never_replaces_the_running_one_live() {
    use phoenix_core::Status;

    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("gateway.js"), phoenix_net::gateway::SCRIPT)
        .expect("write the router");
    let layout = layout_in(dir.path());
    let roomy = Rate {
        per_second: 1000,
        burst: 1000,
    };
    let old = Gateway {
        services: vec![service(
            "vllm_standin_embed",
            model("standin-embed", 64),
            &[18001],
            roomy,
        )],
        ..gateway()
    };
    let report = apply_conf(dir.path(), &conf(&old, &layout).render());
    assert!(
        report.outcomes.iter().all(|o| o.status == Status::Applied),
        "{:#?}",
        report.outcomes
    );
    let running_text = std::fs::read_to_string(dir.path().join("nginx.conf")).expect("read");
    let running = Running::start(dir.path());
    let before = running.ready("/v1/models");
    assert!(
        before.ends_with(" 200") && before.contains("\"id\":\"standin-embed\""),
        "the old site serves: {before}"
    );

    // The route edited: the model renamed, and its upstream given NGINX Plus's `health_check`
    // (what upstream's hand-written sites had), which the open-source nginx refuses.
    let mut new = old.clone();
    new.services[0].route = model("standin-embed-v2", 64);
    let broken = conf(&new, &layout).render().replacen(
        "least_conn;",
        "least_conn;\n        health_check;",
        1,
    );
    let report = apply_conf(dir.path(), &broken);
    let [outcome] = &report.outcomes[..] else {
        panic!("one outcome: {:#?}", report.outcomes);
    };
    let Status::Failed { error } = &outcome.status else {
        panic!("the apply fails: {outcome:#?}");
    };
    let staged = dir.path().join(".nginx.conf.phoenix-new");
    let message = error.chain();
    assert!(
        message.contains(&format!(
            "`nginx -t -c {}` rejected the new content (exit 1)",
            staged.display()
        )) && message.contains("unknown directive \"health_check\""),
        "{message}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("nginx.conf")).expect("read"),
        running_text,
        "the running configuration is unchanged"
    );
    assert!(!staged.exists(), "the staged file is removed");

    // The old site still answers, and a reload (what a changed file would trigger) reads the
    // old configuration back: the new model is nowhere.
    for reloaded in [false, true] {
        if reloaded {
            let reload = running.signal("reload");
            assert_eq!(reload.status, Some(0), "nginx -s reload: {}", reload.stderr);
            std::thread::sleep(Duration::from_millis(300));
        }
        let after = running.get("/v1/models");
        assert!(
            after.ends_with(" 200")
                && after.contains("\"id\":\"standin-embed\"")
                && !after.contains("standin-embed-v2"),
            "reloaded {reloaded}: {after}"
        );
    }
}

mod simulated {
    //! The lab's gateway on the simulated node: it converges (nginx installed, its files checked
    //! by the `nginx -t` emulator, nginx started) and then plans nothing; an edited route reloads
    //! nginx once; a configuration nginx rejects never replaces the running one.

    use serde_json::Value;

    use crate::support::{Scratch, arg, converge, on};

    const LXC: &str = "phoenix_lxc_configs.json";
    const VOLUME: &str = "quickOS-lxc-disks:subvol-101-disk-0";

    /// The lab as it ships: a gateway on 101 (TLS from the local CA) routing to 951 and 953
    /// (granite-embed-r2), 955 (Ollama) and 952 (Qdrant).
    fn lab() -> (Scratch, String) {
        let scratch = Scratch::new();
        scratch.seed_lab_state();
        let dir = scratch.copy_lab_config(&["phoenix_hypervisor_config.json", LXC]);
        (scratch, arg(&dir).to_owned())
    }

    /// The argv of container 101's commands in run `run`.
    fn in_101(scratch: &Scratch, run: u64) -> Vec<String> {
        scratch
            .state()
            .audit
            .iter()
            .filter(|e| {
                e.run == run
                    && e.argv
                        .starts_with(&["pct".into(), "exec".into(), "101".into()])
            })
            .map(|e| e.argv[3..].join(" "))
            .collect()
    }

    /// A file of container 101.
    fn file_of_101(scratch: &Scratch, path: &str) -> Option<String> {
        let state = scratch.state();
        let files = &state.tools["pct"]["volumes"][VOLUME]["content"]["files"];
        files[path]["content"].as_str().map(str::to_owned)
    }

    #[test]
    fn issue_13_the_lab_gateway_converges_then_plans_nothing_and_reloads_nothing() {
        let (scratch, config) = lab();
        converge(&config, &scratch);
        let first = in_101(&scratch, 1);
        let checks: Vec<_> = first.iter().filter(|c| c.contains("nginx -t")).collect();
        assert_eq!(
            checks,
            ["-- nginx -t -c /etc/nginx/.nginx.conf.phoenix-new"],
            "{first:#?}"
        );
        // nginx is started in this run and still reloaded once after its files: on Debian the
        // package's maintainer script has started it with the distribution's nginx.conf.
        let reloads: Vec<_> = first.iter().filter(|c| c.contains("reload")).collect();
        assert_eq!(reloads, ["-- systemctl reload nginx.service"], "{first:#?}");
        let write_at = first
            .iter()
            .rposition(|c| c.contains("mv -f -- /etc/nginx/"));
        let reload_at = first.iter().position(|c| c.contains("reload"));
        assert!(write_at < reload_at, "{first:#?}");
        assert!(
            first
                .iter()
                .any(|c| c == "-- systemctl start nginx.service"),
            "{first:#?}"
        );
        assert!(
            !first.iter().any(|c| c.contains("restart")),
            "nginx is never restarted: {first:#?}"
        );
        let live = file_of_101(&scratch, "/etc/nginx/nginx.conf").expect("nginx.conf");
        assert!(live.contains("server 10.0.0.151:8000 max_fails=3 fail_timeout=10s;"));
        assert!(live.contains("\"granite-embed-r2\":[\"@vllm_granite_embed_r2\",1024]"));
        assert!(live.contains("location /ollama/ {") && live.contains("server 10.0.0.155:11434"));
        assert!(live.contains("location /qdrant/ {") && live.contains("server 10.0.0.152:6333"));
        // The second plan and the second apply (runs 2 and 3) touch nothing in 101 but the probe.
        for run in [2, 3] {
            let later = in_101(&scratch, run);
            assert!(
                later.iter().all(|c| c.contains("phoenix-probe")),
                "run {run}: {later:#?}"
            );
        }
    }

    #[test]
    fn issue_13_a_gateway_container_found_stopped_keeps_its_valid_certificate() {
        let (scratch, config) = lab();
        converge(&config, &scratch);
        let cert = "/etc/nginx/phoenix/tls/gateway.crt";
        let issued = file_of_101(&scratch, cert).expect("the certificate");
        // A run that failed before starting 101 again: the plan cannot probe it.
        scratch.edit_state(|state| {
            state["tools"]["pct"]["containers"]["101"]["status"] = "stopped".into();
        });
        let ran = on(&scratch, "apply", &config, &["--yes"]);
        assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
        assert_eq!(
            scratch.state().tools["pct"]["containers"]["101"]["status"],
            "running"
        );
        assert_eq!(
            file_of_101(&scratch, cert).as_deref(),
            Some(issued.as_str()),
            "the valid certificate is kept, not replaced by a new random one"
        );
        let ran = on(&scratch, "plan", &config, &["--detailed-exitcode"]);
        assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    }

    /// Adds a route to the lab's gateway in the scratch config.
    fn add_route(scratch: &Scratch, route: Value) {
        let path = scratch.config_dir().join(LXC);
        let mut lxc: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
        lxc["gateway"]["routes"]
            .as_array_mut()
            .expect("routes")
            .push(route);
        std::fs::write(&path, serde_json::to_string_pretty(&lxc).expect("JSON")).expect("write");
    }

    #[test]
    fn issue_13_a_gateway_config_nginx_rejects_never_replaces_the_running_one() {
        let (scratch, config) = lab();
        converge(&config, &scratch);
        // An edited gateway: checked, written, nginx reloaded once (never restarted).
        add_route(
            &scratch,
            serde_json::json!({"container": 952, "kind": "http", "path": "/qdrant-grpc/", "port": 6334}),
        );
        let ran = on(&scratch, "apply", &config, &["--yes"]);
        assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
        let edited = in_101(&scratch, scratch.state().run);
        let tail: Vec<_> = edited
            .iter()
            .filter(|c| !c.contains("phoenix-probe"))
            .collect();
        assert_eq!(
            tail,
            [
                "-- sh -c umask 077 && cat > \"$1\" sh /etc/nginx/.nginx.conf.phoenix-new",
                "-- chmod 0644 -- /etc/nginx/.nginx.conf.phoenix-new",
                "-- chown root:root -- /etc/nginx/.nginx.conf.phoenix-new",
                "-- nginx -t -c /etc/nginx/.nginx.conf.phoenix-new",
                "-- mv -f -- /etc/nginx/.nginx.conf.phoenix-new /etc/nginx/nginx.conf",
                "-- systemctl reload nginx.service",
            ],
            "{edited:#?}"
        );
        let running = file_of_101(&scratch, "/etc/nginx/nginx.conf").expect("nginx.conf");
        assert!(running.contains("location /qdrant-grpc/ {"));
        // Another route, and a container whose njs module is no longer loaded: nginx rejects the
        // new configuration's `js_import`.
        add_route(
            &scratch,
            serde_json::json!({"container": 955, "kind": "http", "path": "/webui/", "port": 8080, "websocket": true}),
        );
        scratch.edit_state(|state| {
            let files = &mut state["tools"]["pct"]["volumes"][VOLUME]["content"]["files"];
            files
                .as_object_mut()
                .expect("files")
                .remove("/etc/nginx/modules-enabled/50-mod-http-js.conf")
                .expect("the module's load file");
        });
        let ran = on(&scratch, "apply", &config, &["--yes"]);
        assert_eq!(ran.code, 1, "{}\n{}", ran.stdout, ran.stderr);
        let all = format!("{}{}", ran.stdout, ran.stderr);
        assert!(
            all.contains(
                "`pct exec 101 -- nginx -t -c /etc/nginx/.nginx.conf.phoenix-new` rejected the new content (exit 1)"
            ) && all
                .contains("unknown directive \"js_import\" in /etc/nginx/.nginx.conf.phoenix-new:"),
            "{all}"
        );
        assert_eq!(
            file_of_101(&scratch, "/etc/nginx/nginx.conf").as_deref(),
            Some(running.as_str()),
            "the running configuration is unchanged"
        );
        assert_eq!(
            file_of_101(&scratch, "/etc/nginx/.nginx.conf.phoenix-new"),
            None
        );
        let run = scratch.state().run;
        let commands = in_101(&scratch, run);
        assert!(
            !commands
                .iter()
                .any(|c| c.contains("systemctl reload") || c.contains("restart")),
            "nginx keeps serving the old site: {commands:#?}"
        );
    }
}
