//! Benchmark: engine overhead of a plan over 10,000 resources of the example `sysctl` provider on
//! a zero-latency simulated node. Prints figures; it asserts nothing about time.
#![expect(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use phoenix_core::config::{ConfigSet, Document};
use phoenix_core::sim::{SimNode, SimState};
use phoenix_core::{Engine, Host, PlanOptions, Registry};

const N_PARAMS: usize = 10_000;
const ROUNDS: usize = 15;

fn main() {
    let names: Vec<String> = (0..N_PARAMS)
        .map(|i| format!("bench.param_{i:05}"))
        .collect();
    let desired: BTreeMap<&str, String> =
        names.iter().map(|n| (n.as_str(), "1".to_owned())).collect();
    let text = serde_json::json!({ "sysctl": desired }).to_string();
    let registry = Registry::builder()
        .provider(tests::sysctl::provider())
        .build()
        .expect("one provider");
    let mut state = SimState::new();
    let live: BTreeMap<&str, &str> = names.iter().map(|n| (n.as_str(), "1")).collect();
    state
        .tools
        .insert("sysctl".to_owned(), serde_json::json!(live));
    let node = SimNode::from_state(state, registry.emulators()).expect("node");
    // The persisted file is one more resource (a create in every round's plan).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let host: Arc<dyn Host> = Arc::new(node);

    let mut decode = Vec::new();
    let mut build = Vec::new();
    let mut plan = Vec::new();
    let mut n_commands = 0;
    let mut n_resources = 0;
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let document =
            Document::parse(PathBuf::from("bench.json"), text.clone()).expect("valid json");
        let desired = registry.decode(&ConfigSet::from_documents(vec![document]));
        assert!(!desired.has_errors(), "{:?}", desired.diagnostics);
        decode.push(started.elapsed());

        let started = Instant::now();
        let engine = Engine::new(desired).expect("no cycle");
        build.push(started.elapsed());
        n_resources = engine.resources().len();

        let started = Instant::now();
        let result = runtime.block_on(engine.plan(Arc::clone(&host), &PlanOptions::default()));
        plan.push(started.elapsed());
        assert!(!result.has_errors(), "{:?}", result.diagnostics.first());
        n_commands = result.stats.commands_total;
    }
    println!(
        "phoenix engine benchmark: {n_resources} resources, zero-latency simulated node, {ROUNDS} rounds"
    );
    println!("  commands per plan:            {n_commands}");
    report("config decode (10k params)", &mut decode);
    report("graph build (Engine::new)", &mut build);
    report("plan (inspect + diff)", &mut plan);
    let total: Vec<Duration> = (0..ROUNDS)
        .map(|i| decode[i] + build[i] + plan[i])
        .collect();
    report("total engine overhead", &mut total.clone());
}

fn report(what: &str, samples: &mut [Duration]) {
    samples.sort();
    let median = samples[samples.len() / 2];
    let min = samples[0];
    let max = samples[samples.len() - 1];
    println!(
        "  {what:<30} median {:>7.2} ms   min {:>7.2} ms   max {:>7.2} ms",
        ms(median),
        ms(min),
        ms(max)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
