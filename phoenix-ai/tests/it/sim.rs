//! Issue 12 on the simulated node: the node's `curl` answers from the stand-in services in its
//! `ai` namespace; a healthy service plans nothing and costs no command beyond the node's one
//! probe; an unhealthy vLLM is a planned wait that fails apply with its journal lines; the round
//! trip follows a check that changes.

use std::path::PathBuf;
use std::sync::Arc;

use phoenix_ai::health::{Check, Wait};
use phoenix_ai::sim::{Endpoints, NAMESPACE};
use phoenix_core::apply::Quiet;
use phoenix_core::config::{Claim, ConfigSet, Document, Section};
use phoenix_core::sim::{Emulator, SimNode, SimOutput, SimState, SimSys};
use phoenix_core::{
    ApplyOptions, Cmd, DecodeCx, Engine, GuestTransport, Host, Kind, Observer, PlanOptions,
    Provider, Registry, Status,
};

use crate::stand_in_server;

/// The container transport of these tests (`pct exec <id> -- argv`, as phoenix-lxc's).
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

/// Provides the transport, claims nothing.
#[derive(Debug)]
struct Containers;

impl Provider for Containers {
    fn name(&self) -> &str {
        "containers"
    }
    fn kinds(&self) -> Vec<Kind> {
        Vec::new()
    }
    fn claims(&self) -> Vec<Claim> {
        vec![Claim::managed("lxc_configs")]
    }
    fn guest_transports(&self) -> Vec<Arc<dyn GuestTransport>> {
        vec![Arc::new(Pct)]
    }
    fn decode(&self, _sections: &[Section<'_>], _cx: &mut DecodeCx<'_>) {}
}

/// A test double of `pct exec <id> -- journalctl ...`: the journal kept in the `journal`
/// namespace by container.
#[derive(Debug)]
struct Journal;

impl Emulator for Journal {
    fn programs(&self) -> Vec<String> {
        vec!["pct".to_owned()]
    }
    fn run(&self, argv: &[String], _stdin: Option<&str>, sys: &mut SimSys<'_>) -> SimOutput {
        let journal: std::collections::BTreeMap<String, String> = sys.load("journal");
        match (
            argv.get(1).map(String::as_str),
            argv.get(4).map(String::as_str),
        ) {
            (Some("exec"), Some("journalctl")) => {
                SimOutput::ok(journal.get(&argv[2]).cloned().unwrap_or_default())
            }
            _ => SimOutput::fail(2, "not emulated\n"),
        }
    }
}

const CONFIG: &str = r#"{
  "lxc_configs": {
    "951": {"name": "vllm-granite-embed-r2", "start_at_boot": true, "features": ["vllm"],
            "network_config": {"ip": "10.0.0.151/24"},
            "vllm_engine_config": {"ModelConfig": {"model": "ibm-granite/granite-embedding-english-r2"},
                                   "ServerConfig": {"port": 8000, "served_model_name": "granite-embed-r2"}},
            "health_check": {"timeout_seconds": 2, "interval_seconds": 1}},
    "952": {"name": "qdrant-VSCodeRag", "start_at_boot": true, "features": ["qdrant"],
            "network_config": {"ip": "10.0.0.152/24"},
            "volumes": [{"name": "qdrant_data", "pool": "quickOS-shared-prod-data", "size_gb": 20, "mount_point": "/qdrant/storage"}],
            "health_check": {"command": "curl -s --fail http://localhost:6333", "retries": 2, "interval": 1}}
  },
  "embedding_round_trip": {"embedding_container": 951, "qdrant_container": 952}
}"#;

fn engine() -> (Engine, Vec<String>) {
    let document = Document::parse(PathBuf::from("lab.json"), CONFIG.to_owned()).expect("JSON");
    let config = ConfigSet::from_documents(vec![document]);
    let registry = Registry::builder()
        .provider(Containers)
        .provider(phoenix_ai::provider().checking(["vllm", "qdrant"]))
        .build()
        .expect("registry");
    let desired = registry.decode(&config);
    let notes: Vec<String> = desired.diagnostics.iter().map(|d| d.to_string()).collect();
    (Engine::new(desired).expect("no cycle"), notes)
}

fn node(vllm_state: &str) -> Arc<SimNode> {
    let mut vllm = stand_in_server::vllm("granite-embed-r2");
    vllm.state = vllm_state.to_owned();
    let mut endpoints = Endpoints::default();
    endpoints
        .endpoints
        .insert("10.0.0.151:8000".to_owned(), vllm);
    endpoints
        .endpoints
        .insert("10.0.0.152:6333".to_owned(), stand_in_server::qdrant());
    let mut state = SimState::new();
    state.tools.insert(
        NAMESPACE.to_owned(),
        serde_json::to_value(&endpoints).expect("JSON"),
    );
    state.tools.insert(
        "journal".to_owned(),
        serde_json::json!({"951": "Dec 05 21:00:01 vllm-granite-embed-r2 vllm[412]: torch.OutOfMemoryError: CUDA out of memory.\n"}),
    );
    Arc::new(
        SimNode::from_state(
            state,
            vec![
                Arc::new(phoenix_ai::sim::CurlEmulator) as Arc<dyn Emulator>,
                Arc::new(Journal),
            ],
        )
        .expect("emulators"),
    )
}

fn changed(plan: &phoenix_core::Plan) -> Vec<String> {
    plan.changes.iter().map(|c| c.id.to_string()).collect()
}

#[tokio::test]
async fn issue_12_healthy_services_plan_nothing_and_cost_only_the_node_probe() {
    let (engine, notes) = engine();
    assert!(
        notes.iter().any(|n| n
            .contains("health_check.command \"curl -s --fail http://localhost:6333\" is not run")),
        "{notes:?}"
    );
    let node = node("ready");
    let plan = engine
        .plan(Arc::clone(&node) as Arc<dyn Host>, &PlanOptions::default())
        .await;
    assert!(!plan.has_errors(), "{:?}", plan.diagnostics);
    assert_eq!(changed(&plan), Vec::<String>::new());
    // One command: the node's probe, whose queries ran the three curl requests.
    assert_eq!(
        plan.stats.commands_total, 1,
        "{:?}",
        plan.stats.commands_by_program
    );
    assert_eq!(plan.stats.commands_by_program.get("sh"), Some(&1));
    let curls = node
        .audit()
        .iter()
        .filter(|e| e.argv.first().is_some_and(|p| p == "curl"))
        .count();
    assert_eq!(curls, 0, "curl ran inside the probe only");
}

#[tokio::test]
async fn issue_12_an_unhealthy_vllm_fails_apply_with_its_journal_lines() {
    let (engine, _) = engine();
    let node = node("dead");
    let plan = engine
        .plan(Arc::clone(&node) as Arc<dyn Host>, &PlanOptions::default())
        .await;
    assert_eq!(
        changed(&plan),
        ["ai.health[ct:951:vllm]", "ai.round_trip[embedding]"]
    );
    let text = serde_json::to_string(&plan.changes[0].fields).expect("JSON");
    assert!(
        text.contains("GET /health: HTTP 503 (empty body)"),
        "{text}"
    );
    assert!(
        text.contains("apply waits up to 2 s, asking every 1 s"),
        "{text}"
    );
    let report = engine
        .apply(
            Arc::clone(&node) as Arc<dyn Host>,
            &ApplyOptions::default(),
            Arc::new(Quiet) as Arc<dyn Observer>,
        )
        .await
        .expect("no plan errors");
    assert!(!report.succeeded());
    let health = &report.outcomes[0];
    let Status::Failed { error } = &health.status else {
        panic!("{:?}", health.status);
    };
    let message = error.to_string();
    assert!(
        message.contains("wait for vLLM in container 951 (http://10.0.0.151:8000): not healthy after 2 s (bound 2 s); last response: GET /health: HTTP 503 (empty body)"),
        "{message}"
    );
    assert!(message.contains("  Dec 05 21:00:01 vllm-granite-embed-r2 vllm[412]: torch.OutOfMemoryError: CUDA out of memory."), "{message}");
    assert!(
        matches!(report.outcomes[1].status, Status::Skipped { .. }),
        "the round trip waits for healthy services: {:?}",
        report.outcomes[1]
    );
}

#[tokio::test]
async fn issue_12_the_round_trip_runs_against_the_simulated_services() {
    let node = node("ready");
    let document = Document::parse(PathBuf::from("lab.json"), CONFIG.to_owned()).expect("JSON");
    let config = ConfigSet::from_documents(vec![document]);
    let round_trip = phoenix_ai::round_trip_of(&config).expect("configured");
    let report = round_trip.run(&*node).await.expect("round trip");
    assert_eq!(report.dimension, 8);
    let state: Endpoints =
        serde_json::from_value(node.state().tools[NAMESPACE].clone()).expect("state");
    assert!(state.endpoints["10.0.0.152:6333"].collections.is_empty());
}

/// A bounded wait ends in the node's time too: with the test clock paused (a pause passes at
/// once, no wall-clock time goes by) and a dead vLLM, the default 900 s wait polls every 5 s and
/// gives up after 181 polls, reporting the 900 s it waited.
#[tokio::test(start_paused = true)]
async fn issue_12_a_bounded_wait_ends_in_simulated_time() {
    let node = node("dead");
    let scopes = phoenix_core::Scopes::new([Arc::new(Pct) as Arc<dyn GuestTransport>]);
    let guest = scopes.get("ct:951").expect("scope");
    let endpoint = phoenix_ai::endpoint::Endpoint {
        service: phoenix_ai::endpoint::Service::Vllm,
        vmid: 951,
        name: None,
        ip: std::net::Ipv4Addr::new(10, 0, 0, 151),
        port: 8000,
        unit: "vllm.service".to_owned(),
        model: Some("granite-embed-r2".to_owned()),
    };
    let wait = Wait::default_for(phoenix_ai::endpoint::Service::Vllm);
    assert_eq!((wait.timeout_s, wait.interval_s), (900, 5));
    let check = Check::new(endpoint, &scopes.node(), &guest, wait);
    let cx = phoenix_core::Ctx::new(&*node);
    let waited = tokio::time::timeout(
        std::time::Duration::from_secs(3_600),
        check.wait_healthy(&cx),
    )
    .await
    .expect("the wait ends within its bound");
    let message = waited.expect_err("a dead vLLM stays unhealthy").to_string();
    assert!(
        message.contains("not healthy after 900 s (bound 900 s)"),
        "{message}"
    );
    let polls = node
        .audit()
        .iter()
        .filter(|e| e.argv.first().is_some_and(|p| p == "curl"))
        .count();
    assert_eq!(polls, 181);
}
