//! Scenarios of issue 12 with the real `curl`: health checks judge the stand-ins' real answers,
//! an unhealthy vLLM fails naming its last response and its journal's last lines, waiting is
//! bounded and reports its progress, and the embedding round trip succeeds or fails clearly.

use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use phoenix_ai::endpoint::{Endpoint, Service};
use phoenix_ai::health::{Check, Wait};
use phoenix_ai::roundtrip::RoundTrip;
use phoenix_core::{
    Cmd, Ctx, FileData, FileWrite, GuestTransport, Host, HostError, LocalHost, Output, Scopes,
};

use crate::stand_in_server::{self, Server};

/// `pct exec <id> -- argv`, as phoenix-lxc's transport builds it.
#[derive(Debug)]
struct Pct;

impl GuestTransport for Pct {
    fn class(&self) -> &str {
        "ct"
    }
    fn exec(&self, guest: &str, cmd: &Cmd) -> Cmd {
        let mut argv = vec!["exec".to_owned(), guest.to_owned(), "--".to_owned()];
        argv.extend(cmd.argv());
        Cmd::read("pct", argv)
    }
}

/// This machine for `curl` (the real one), and a container's journal for `pct exec ... journalctl`.
#[derive(Debug)]
struct Node {
    local: LocalHost,
    journal: String,
    ran: Mutex<Vec<String>>,
}

impl Node {
    fn new(journal: &str) -> Node {
        Node {
            local: LocalHost::new(),
            journal: journal.to_owned(),
            ran: Mutex::default(),
        }
    }
    fn ran(&self) -> Vec<String> {
        self.ran.lock().expect("log").clone()
    }
}

#[async_trait]
impl Host for Node {
    async fn run(&self, cmd: &Cmd) -> Result<Output, HostError> {
        self.ran.lock().expect("log").push(cmd.to_string());
        if cmd.program == "pct" {
            return Ok(Output::new(Some(0), self.journal.clone(), ""));
        }
        self.local.run(cmd).await
    }
    async fn read_file(&self, path: &Path) -> Result<Option<FileData>, HostError> {
        self.local.read_file(path).await
    }
    async fn write_file(&self, path: &Path, file: &FileWrite) -> Result<(), HostError> {
        self.local.write_file(path, file).await
    }
    async fn remove_file(&self, path: &Path) -> Result<(), HostError> {
        self.local.remove_file(path).await
    }
    fn describe(&self) -> String {
        "test node".to_owned()
    }
}

fn endpoint(service: Service, port: u16, model: Option<&str>) -> Endpoint {
    Endpoint {
        service,
        vmid: 951,
        name: Some("vllm-granite-embed-r2".to_owned()),
        ip: Ipv4Addr::LOCALHOST,
        port,
        unit: service.unit().to_owned(),
        model: model.map(str::to_owned),
    }
}

fn check(endpoint: Endpoint, wait: Wait) -> Check {
    let scopes = Scopes::new([Arc::new(Pct) as Arc<dyn GuestTransport>]);
    let guest = scopes.get("ct:951").expect("scope");
    Check::new(endpoint, &scopes.node(), &guest, wait)
}

/// The real `curl` must be installed (`cargo xtask ci` installs it).
fn require_curl() {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join("curl").is_file()))
        .unwrap_or(false);
    assert!(found, "the real curl is needed: apt-get install curl");
}

#[tokio::test]
async fn issue_12_each_service_is_judged_by_its_real_answers() {
    require_curl();
    let vllm = Server::start(stand_in_server::vllm("granite-embed-r2"));
    let ollama = Server::start(stand_in_server::ollama());
    let qdrant = Server::start(stand_in_server::qdrant());
    let node = Node::new("");
    let cx = Ctx::new(&node);
    let fast = Wait {
        timeout_s: 1,
        interval_s: 1,
    };
    let cases = [
        (
            endpoint(Service::Vllm, vllm.port, Some("granite-embed-r2")),
            true,
            "healthy",
        ),
        (
            endpoint(Service::Vllm, vllm.port, Some("other-model")),
            false,
            "GET /v1/models does not list other-model (it lists granite-embed-r2)",
        ),
        (
            endpoint(Service::Ollama, ollama.port, None),
            true,
            "healthy",
        ),
        (
            endpoint(Service::Qdrant, qdrant.port, None),
            true,
            "healthy",
        ),
    ];
    for (endpoint, healthy, detail) in cases {
        let observation = check(endpoint.clone(), fast).poll(&cx).await;
        assert_eq!(observation.healthy, healthy, "{endpoint}: {observation:?}");
        assert_eq!(observation.detail, detail, "{endpoint}");
    }
    let ollama_seen = check(endpoint(Service::Ollama, ollama.port, None), fast)
        .poll(&cx)
        .await;
    assert_eq!(ollama_seen.version.as_deref(), Some("0.5.7"));

    vllm.set_state("dead");
    qdrant.set_state("dead");
    let dead = check(
        endpoint(Service::Vllm, vllm.port, Some("granite-embed-r2")),
        fast,
    )
    .poll(&cx)
    .await;
    assert_eq!(dead.detail, "GET /health: HTTP 503 (empty body)");
    let not_ready = check(endpoint(Service::Qdrant, qdrant.port, None), fast)
        .poll(&cx)
        .await;
    assert_eq!(
        not_ready.detail,
        "GET /readyz: HTTP 503: some shards are not ready"
    );
    // Nothing listens: curl's own error.
    let closed = check(endpoint(Service::Ollama, 9, None), fast)
        .poll(&cx)
        .await;
    assert!(!closed.healthy);
    assert!(
        closed
            .detail
            .starts_with("GET /api/version: curl: (7) Failed to connect to 127.0.0.1 port 9"),
        "{}",
        closed.detail
    );
}

#[tokio::test]
async fn issue_12_an_unhealthy_vllm_fails_with_its_last_response_and_journal_lines() {
    require_curl();
    let vllm = Server::start(stand_in_server::vllm("granite-embed-r2"));
    vllm.set_state("dead");
    let journal = "Dec 05 21:00:01 vllm-granite-embed-r2 vllm[412]: ERROR 12-05 21:00:01 [core.py:700] EngineCore failed to start.\nDec 05 21:00:01 vllm-granite-embed-r2 vllm[412]: torch.OutOfMemoryError: CUDA out of memory.\n";
    let node = Node::new(journal);
    let cx = Ctx::new(&node);
    let wait = Wait {
        timeout_s: 2,
        interval_s: 1,
    };
    let started = Instant::now();
    let err = check(
        endpoint(Service::Vllm, vllm.port, Some("granite-embed-r2")),
        wait,
    )
    .wait_healthy(&cx)
    .await
    .expect_err("a dead engine is not healthy");
    let elapsed = started.elapsed();
    let message = err.to_string();
    let expected_head = format!(
        "wait for vLLM in container 951 (http://127.0.0.1:{}): not healthy after 2 s (bound 2 s); last response: GET /health: HTTP 503 (empty body)\nlast 20 lines of `journalctl -u vllm.service` in container 951:\n  Dec 05 21:00:01 vllm-granite-embed-r2 vllm[412]: ERROR",
        vllm.port
    );
    assert!(message.starts_with(&expected_head), "{message}");
    assert!(
        message.contains("torch.OutOfMemoryError: CUDA out of memory."),
        "{message}"
    );
    assert!(elapsed < Duration::from_secs(10), "bounded: {elapsed:?}");
    assert!(
        node.ran()
            .contains(&"pct exec 951 -- journalctl -u vllm.service -n 20 --no-pager".to_owned()),
        "{:?}",
        node.ran()
    );
    // It asked more than once: 2 s at one poll a second.
    assert!(
        vllm.requests("GET /health") >= 2,
        "{}",
        vllm.requests("GET /health")
    );
}

#[tokio::test]
async fn issue_12_waiting_ends_when_the_service_becomes_healthy_and_reports_progress() {
    require_curl();
    let vllm = Server::start(stand_in_server::vllm("granite-embed-r2"));
    vllm.set_state("loading");
    let state = Arc::clone(&vllm.state);
    let ready = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1_500));
        state.lock().expect("state").state = "ready".to_owned();
    });
    let node = Node::new("");
    let cx = Ctx::new(&node);
    let logs = crate::checks::capture(async {
        check(
            endpoint(Service::Vllm, vllm.port, Some("granite-embed-r2")),
            Wait {
                timeout_s: 30,
                interval_s: 1,
            },
        )
        .wait_healthy(&cx)
        .await
    })
    .await;
    ready.join().expect("thread");
    let (result, lines) = logs;
    assert!(result.expect("healthy once loaded").healthy);
    let waiting: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("waiting for vLLM"))
        .collect();
    assert!(!waiting.is_empty(), "{lines:?}");
    assert!(
        waiting[0]
            .contains("s of 30 s, last response: GET /health: curl: (52) Empty reply from server"),
        "{}",
        waiting[0]
    );
    assert!(
        lines.iter().any(|l| l.contains("is healthy after")),
        "{lines:?}"
    );
}

/// Runs `future` with a subscriber that keeps the log lines.
pub(crate) async fn capture<F: std::future::Future>(future: F) -> (F::Output, Vec<String>) {
    use tracing::instrument::WithSubscriber;
    let lines = Arc::new(Mutex::new(Vec::new()));
    let subscriber = Collector(Arc::clone(&lines));
    let output = future.with_subscriber(subscriber).await;
    let lines = lines.lock().expect("lines").clone();
    (output, lines)
}

/// A subscriber that keeps each event's message.
struct Collector(Arc<Mutex<Vec<String>>>);

impl tracing::Subscriber for Collector {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Message(String);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        self.0.lock().expect("lines").push(message.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

fn round_trip(vllm: &Server, qdrant: &Server) -> RoundTrip {
    RoundTrip {
        embedding: endpoint(Service::Vllm, vllm.port, Some("granite-embed-r2")),
        qdrant: endpoint(Service::Qdrant, qdrant.port, None),
        text: "Phoenix converges the lab.".to_owned(),
        collection: "phoenix-round-trip".to_owned(),
        bounds: phoenix_ai::http::Bounds {
            connect_s: 2,
            total_s: 5,
        },
        api_key_file: None,
    }
}

#[tokio::test]
async fn issue_12_the_round_trip_embeds_upserts_finds_and_deletes() {
    require_curl();
    let vllm = Server::start(stand_in_server::vllm("granite-embed-r2"));
    let qdrant = Server::start(stand_in_server::qdrant());
    let node = Node::new("");
    let report = round_trip(&vllm, &qdrant)
        .run(&node)
        .await
        .expect("the round trip succeeds");
    assert_eq!(report.dimension, 8);
    assert!((report.score - 1.0).abs() < 1e-9, "{}", report.score);
    assert!(
        qdrant.state.lock().expect("state").collections.is_empty(),
        "deleted"
    );
    for request in [
        "PUT /collections/phoenix-round-trip",
        "PUT /collections/phoenix-round-trip/points?wait=true",
        "POST /collections/phoenix-round-trip/points/search",
        "DELETE /collections/phoenix-round-trip",
    ] {
        assert_eq!(qdrant.requests(request), 1, "{request}");
    }
    assert_eq!(vllm.requests("POST /v1/embeddings"), 1);
}

#[tokio::test]
async fn issue_12_the_round_trip_fails_clearly_when_search_does_not_find_the_point_and_cleans_up() {
    require_curl();
    let vllm = Server::start(stand_in_server::vllm("granite-embed-r2"));
    let qdrant = Server::start(stand_in_server::qdrant());
    // A Qdrant that loses the point right after acknowledging its upsert.
    let node = LosingNode {
        inner: Node::new(""),
        qdrant: Arc::clone(&qdrant.state),
    };
    let err = round_trip(&vllm, &qdrant)
        .run(&node)
        .await
        .expect_err("the point is lost");
    assert_eq!(
        err.to_string(),
        "embedding round trip, step search: the point upserted (id 1) was not found: HTTP 200: {\"result\":[],\"status\":\"ok\",\"time\":0.000512}"
    );
    assert!(
        qdrant.state.lock().expect("state").collections.is_empty(),
        "deleted anyway"
    );
    assert_eq!(qdrant.requests("DELETE /collections/phoenix-round-trip"), 1);

    // A wrong model name is the embed step's error, with vLLM's answer.
    let mut wrong = round_trip(&vllm, &qdrant);
    wrong.embedding.model = Some("nope".to_owned());
    let err = wrong.run(&node).await.expect_err("unknown model");
    assert!(
        err.to_string().starts_with("embedding round trip, step embed: HTTP 404: {\"object\":\"error\",\"message\":\"The model `nope` does not exist.\""),
        "{err}"
    );
}

/// A node whose Qdrant forgets every point right after an upsert.
#[derive(Debug)]
struct LosingNode {
    inner: Node,
    qdrant: Arc<Mutex<phoenix_ai::stand_in::StandIn>>,
}

#[async_trait]
impl Host for LosingNode {
    async fn run(&self, cmd: &Cmd) -> Result<Output, HostError> {
        let out = self.inner.run(cmd).await;
        if cmd.argv().iter().any(|a| a.ends_with("/points?wait=true")) {
            for points in self.qdrant.lock().expect("state").collections.values_mut() {
                points.clear();
            }
        }
        out
    }
    async fn read_file(&self, path: &Path) -> Result<Option<FileData>, HostError> {
        self.inner.read_file(path).await
    }
    async fn write_file(&self, path: &Path, file: &FileWrite) -> Result<(), HostError> {
        self.inner.write_file(path, file).await
    }
    async fn remove_file(&self, path: &Path) -> Result<(), HostError> {
        self.inner.remove_file(path).await
    }
    fn describe(&self) -> String {
        "losing node".to_owned()
    }
}
