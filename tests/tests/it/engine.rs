//! The engine's invariants, with resources built in Rust on the simulated node: facts are
//! gathered once, plan never writes, apply keeps to the graph, its parallelism and its lock
//! domains, and every failure stays with its resource.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use phoenix_core::apply::{Quiet, outcome_diagnostics};
use phoenix_core::graph::EdgeReason;
use phoenix_core::sim::Fault;
use phoenix_core::{
    Action, ApplyOptions, Capability, Cmd, Engine, Error, GraphFormat, Host, Observer, PlanOptions,
    Status,
};

use crate::support::{
    Item, Kv, Misbehaving, Misbehaviour, engine, file, host, item_id, kv_values, misbehaving_id,
    mutations_in, node, operations_in,
};

fn quiet() -> Arc<dyn Observer> {
    Arc::new(Quiet)
}

fn errors(plan: &phoenix_core::Plan) -> Vec<String> {
    plan.diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(ToString::to_string)
        .collect()
}

#[tokio::test]
async fn one_fact_serves_a_hundred_resources_that_ask_for_it_at_once() {
    // The fact costs 50 ms, so all hundred inspections wait on it at the same time.
    let kv = Kv::new().latency(Duration::from_millis(50));
    let node = node(&kv, &[]);
    node.set_latency("proxmox-typical").expect("known profile");
    let engine = engine(
        (0..100)
            .map(|i| Item::new(&format!("k{i:03}"), "v").boxed())
            .collect(),
    );
    let run = node.begin_run();
    let plan = engine.plan(host(&node), &PlanOptions::default()).await;
    assert!(!plan.has_errors(), "{:?}", plan.diagnostics);
    assert_eq!(plan.changes.len(), 100);
    assert_eq!(plan.stats.commands_total, 1);
    assert_eq!(
        plan.stats.commands_by_program,
        BTreeMap::from([("kv".to_owned(), 1)])
    );
    assert_eq!(operations_in(&node.audit(), run), ["run kv list"]);
}

#[tokio::test]
async fn inspection_runs_concurrently() {
    // A hundred 50 ms reads one after another would take 5 s.
    let kv = Kv::new().latency(Duration::from_millis(50));
    let node = node(&kv, &[]);
    node.set_latency("proxmox-typical").expect("known profile");
    let engine = engine(
        (0..100)
            .map(|i| Item::new(&format!("k{i:03}"), "v").read_own().boxed())
            .collect(),
    );
    let plan = engine.plan(host(&node), &PlanOptions::default()).await;
    assert_eq!(plan.stats.commands_by_program["kv"], 100);
    assert!(
        plan.stats.wall_ms < 2_500,
        "inspection took {} ms: not concurrent",
        plan.stats.wall_ms
    );
}

#[tokio::test]
async fn plan_refuses_every_write_and_reports_it_for_that_resource_only() {
    let kv = Kv::new();
    let node = node(&kv, &[]);
    let engine = engine(vec![
        Misbehaving::new("cmd", Misbehaviour::RunWriteInInspect).boxed(),
        Misbehaving::new("file", Misbehaviour::WriteFileInInspect).boxed(),
        Item::new("fine", "1").boxed(),
    ]);
    let run = node.begin_run();
    let plan = engine.plan(host(&node), &PlanOptions::default()).await;
    assert_eq!(
        errors(&plan),
        [
            "error: test.misbehaving[cmd]: inspect: refused to run `kv set cmd sneaky` during plan: the host is read-only",
            "error: test.misbehaving[file]: inspect: refused to write /etc/sneaky during plan: the host is read-only",
        ]
    );
    let planned: Vec<String> = plan.changes.iter().map(|c| c.id.to_string()).collect();
    assert_eq!(planned, ["test.item[fine]"]);
    // The writes never reached the node: it saw only the one read.
    assert_eq!(operations_in(&node.audit(), run), ["run kv list"]);
    assert!(mutations_in(&node.audit(), run).is_empty());
    assert!(node.state().files.is_empty());
}

#[tokio::test]
async fn plan_stats_count_only_the_commands_that_reached_the_host() {
    let kv = Kv::new();
    let node = node(&kv, &[]);
    let engine = engine(vec![
        Misbehaving::new("cmd", Misbehaviour::RunWriteInInspect).boxed(),
        Item::new("fine", "1").boxed(),
    ]);
    let run = node.begin_run();
    let plan = engine.plan(host(&node), &PlanOptions::default()).await;
    assert!(plan.has_errors());
    assert_eq!(operations_in(&node.audit(), run), ["run kv list"]);
    // The refused `kv set` never ran, so a plan never reports a writing command.
    assert_eq!(
        (plan.stats.commands_total, plan.stats.commands_writing),
        (1, 0),
        "{:?}",
        plan.stats
    );
}

#[tokio::test]
async fn a_failure_skips_dependents_even_through_a_converged_resource() {
    let kv = Kv::new();
    // `middle` has converged already; `top` needs it and it needs `bottom`, which fails.
    let node = node(&kv, &[("middle", "1")]);
    node.add_fault(Fault::new(1, 1, "kv: boom\n").argv_contains("kv set bottom"));
    let engine = engine(vec![
        Item::new("bottom", "1").boxed(),
        Item::new("middle", "1").after("bottom").boxed(),
        Item::new("top", "1").after("middle").boxed(),
    ]);
    let report = engine
        .apply(host(&node), &ApplyOptions::default(), quiet())
        .await
        .expect("the plan has no errors");
    let statuses: Vec<(String, Status)> = report
        .outcomes
        .iter()
        .map(|o| (o.id.name.clone(), o.status.clone()))
        .collect();
    assert_eq!(
        statuses,
        [
            (
                "bottom".to_owned(),
                Status::Failed {
                    error: phoenix_core::error::ErrorChain::msg(
                        "`kv set bottom 1` exited with status 1: kv: boom"
                    )
                }
            ),
            (
                "top".to_owned(),
                Status::Skipped {
                    because: item_id("bottom")
                }
            ),
        ]
    );
    assert!(!kv_values(&node).contains_key("top"));
}

#[tokio::test]
async fn a_failed_resource_skips_its_dependents_and_independent_branches_finish() {
    let kv = Kv::new();
    let node = node(&kv, &[]);
    node.add_fault(Fault::new(1, 1, "kv: boom\n").argv_contains("kv set bravo"));
    let engine = engine(vec![
        Item::new("charlie", "1").after("bravo").boxed(),
        Item::new("delta", "1").boxed(),
        Item::new("bravo", "1").after("alpha").boxed(),
        Item::new("alpha", "1").boxed(),
    ]);
    let run = node.begin_run();
    let report = engine
        .apply(host(&node), &ApplyOptions::default(), quiet())
        .await
        .expect("the plan has no errors");
    let outcomes: Vec<(String, Status)> = report
        .outcomes
        .iter()
        .map(|o| (o.id.to_string(), o.status.clone()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("test.item[alpha]".to_owned(), Status::Applied),
            ("test.item[delta]".to_owned(), Status::Applied),
            (
                "test.item[bravo]".to_owned(),
                Status::Failed {
                    error: phoenix_core::error::ErrorChain::msg(
                        "`kv set bravo 1` exited with status 1: kv: boom"
                    )
                }
            ),
            (
                "test.item[charlie]".to_owned(),
                Status::Skipped {
                    because: item_id("bravo")
                }
            ),
        ]
    );
    assert!(!report.succeeded());
    let diagnostics: Vec<String> = outcome_diagnostics(&report)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        diagnostics,
        [
            "error: test.item[bravo]: create failed: `kv set bravo 1` exited with status 1: kv: boom",
            "error: test.item[charlie]: skipped because test.item[bravo] failed",
        ]
    );
    assert_eq!(
        kv_values(&node),
        BTreeMap::from([
            ("alpha".to_owned(), "1".to_owned()),
            ("delta".to_owned(), "1".to_owned())
        ])
    );
    let sets: Vec<String> = operations_in(&node.audit(), run)
        .into_iter()
        .filter(|op| op.starts_with("run kv set"))
        .collect();
    assert!(
        !sets.iter().any(|op| op.contains("charlie")),
        "a skipped resource runs nothing: {sets:?}"
    );
    // The dependency ran before its dependent.
    let position = |needle: &str| sets.iter().position(|op| op.contains(needle));
    assert!(position("alpha") < position("bravo"), "{sets:?}");
}

/// Eight independent tracked items, each costing two 50 ms commands inside its bracket.
async fn apply_eight(lock: Option<&str>, parallelism: Option<usize>) -> Kv {
    let kv = Kv::new().latency(Duration::from_millis(50));
    let node = node(&kv, &[]);
    node.set_latency("proxmox-typical").expect("known profile");
    let engine = engine(
        (0..8)
            .map(|i| {
                let item = Item::new(&format!("w{i}"), "1").tracked();
                match lock {
                    Some(domain) => item.lock(domain).boxed(),
                    None => item.boxed(),
                }
            })
            .collect(),
    );
    let report = engine
        .apply(
            host(&node),
            &parallelism.map_or_else(ApplyOptions::default, |n| {
                ApplyOptions::default().parallelism(n)
            }),
            quiet(),
        )
        .await
        .expect("the plan has no errors");
    assert!(report.succeeded(), "{:?}", report.outcomes);
    assert_eq!(report.outcomes.len(), 8);
    kv
}

#[tokio::test]
async fn parallelism_bounds_how_many_resources_apply_at_once() {
    let kv = apply_eight(None, Some(4)).await;
    let tracker = kv.tracker();
    assert!(
        (2..=4).contains(&tracker.max_total()),
        "{} applies ran at once with --parallelism 4",
        tracker.max_total()
    );
    assert_eq!(tracker.max_by_domain().len(), 8);
    assert!(tracker.max_by_domain().values().all(|max| *max == 1));
}

/// Issue 10: by default, eight independent lock domains apply together (the old fixed default
/// of 4 made a first apply take twice its critical path).
#[tokio::test]
async fn issue_10_independent_lock_domains_apply_together_by_default() {
    let kv = apply_eight(None, None).await;
    let tracker = kv.tracker();
    assert!(
        tracker.max_total() > 4,
        "{} applies ran at once by default",
        tracker.max_total()
    );
    assert!(tracker.max_by_domain().values().all(|max| *max == 1));
}

#[tokio::test]
async fn a_shared_lock_domain_serialises_applies() {
    let kv = apply_eight(Some("storage"), Some(4)).await;
    let tracker = kv.tracker();
    assert_eq!(
        tracker.max_by_domain(),
        &BTreeMap::from([("storage".to_owned(), 1)])
    );
    assert_eq!(tracker.max_total(), 1);
}

#[tokio::test]
async fn an_apply_that_changes_nothing_did_not_converge() {
    let kv = Kv::new().frozen("stuck");
    let node = node(&kv, &[("stuck", "0")]);
    let engine = engine(vec![
        Item::new("stuck", "1").boxed(),
        Item::new("fine", "1").boxed(),
    ]);
    let report = engine
        .apply(host(&node), &ApplyOptions::default(), quiet())
        .await
        .expect("the plan has no errors");
    let stuck = &report.outcomes[1];
    assert_eq!(stuck.id, item_id("stuck"));
    assert_eq!(stuck.action, Action::Update);
    let Status::NotConverged { fields } = &stuck.status else {
        panic!("expected NotConverged, got {:?}", stuck.status);
    };
    let fields: Vec<(&str, String)> = fields
        .iter()
        .map(|f| (f.field.as_str(), format!("{:?} -> {:?}", f.before, f.after)))
        .collect();
    assert_eq!(
        fields,
        [(
            "value",
            r#"Some(String("0")) -> Some(String("1"))"#.to_owned()
        )]
    );
    assert_eq!(report.outcomes[0].status, Status::Applied);
    assert!(!report.succeeded());
}

#[tokio::test]
async fn a_panic_in_inspect_is_a_diagnostic_for_that_resource_only() {
    let kv = Kv::new();
    let node = node(&kv, &[]);
    let engine = engine(vec![
        Item::new("a", "1").boxed(),
        Misbehaving::new("boom", Misbehaviour::PanicInInspect).boxed(),
        Item::new("b", "1").boxed(),
    ]);
    let plan = engine.plan(host(&node), &PlanOptions::default()).await;
    assert_eq!(
        errors(&plan),
        [
            "error: test.misbehaving[boom]: inspect: test.misbehaving[boom]: provider panicked: inspect exploded"
        ]
    );
    let planned: Vec<String> = plan.changes.iter().map(|c| c.id.to_string()).collect();
    assert_eq!(planned, ["test.item[a]", "test.item[b]"]);
}

#[tokio::test]
async fn issue_8_a_panic_in_diff_is_a_diagnostic_for_that_resource_only() {
    let kv = Kv::new();
    let node = node(&kv, &[]);
    let engine = engine(vec![
        Item::new("a", "1").boxed(),
        Misbehaving::new("boom", Misbehaviour::PanicInDiff).boxed(),
        Item::new("b", "1").boxed(),
    ]);
    let plan = engine.plan(host(&node), &PlanOptions::default()).await;
    assert_eq!(
        errors(&plan),
        ["error: test.misbehaving[boom]: diff: provider panicked: diff exploded"]
    );
    let planned: Vec<String> = plan.changes.iter().map(|c| c.id.to_string()).collect();
    assert_eq!(planned, ["test.item[a]", "test.item[b]"]);
}

#[tokio::test]
async fn issue_8_a_command_failing_during_verification_reports_its_error() {
    let kv = Kv::new();
    let node = node(&kv, &[]);
    // The first `kv list` is the plan's, the second the verification's.
    node.add_fault(
        phoenix_core::sim::Fault::new(2, 1, "kv: database is locked\n")
            .program("kv")
            .argv_contains("list"),
    );
    let engine = engine(vec![Item::new("a", "1").boxed()]);
    let report = engine
        .apply(host(&node), &ApplyOptions::default(), quiet())
        .await
        .expect("the plan has no errors");
    let Status::Unverified { error } = &report.outcomes[0].status else {
        panic!("expected Unverified, got {:?}", report.outcomes[0].status);
    };
    assert!(
        error.chain().contains("kv: database is locked"),
        "{}",
        error.chain()
    );
    assert!(!report.succeeded());
    let diagnostics: Vec<String> = outcome_diagnostics(&report)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(diagnostics.len(), 1);
    assert!(
        diagnostics[0]
            .starts_with("error: test.item[a]: create applied, but verifying it failed: ")
            && diagnostics[0].contains("`kv list` exited with status 1: kv: database is locked"),
        "{diagnostics:?}"
    );
}

#[tokio::test]
async fn a_panic_in_apply_fails_that_resource_only() {
    let kv = Kv::new();
    let node = node(&kv, &[]);
    let engine = engine(vec![
        Item::new("a", "1").boxed(),
        Misbehaving::new("kaboom", Misbehaviour::PanicInApply).boxed(),
        Item::new("b", "1").boxed(),
    ]);
    let report = engine
        .apply(host(&node), &ApplyOptions::default(), quiet())
        .await
        .expect("the plan has no errors");
    let statuses: BTreeMap<String, Status> = report
        .outcomes
        .iter()
        .map(|o| (o.id.to_string(), o.status.clone()))
        .collect();
    assert_eq!(
        statuses,
        BTreeMap::from([
            ("test.item[a]".to_owned(), Status::Applied),
            ("test.item[b]".to_owned(), Status::Applied),
            (
                misbehaving_id("kaboom").to_string(),
                Status::Failed {
                    error: phoenix_core::error::ErrorChain::msg(
                        "provider panicked: apply exploded"
                    )
                }
            ),
        ])
    );
    assert_eq!(
        kv_values(&node),
        BTreeMap::from([
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "1".to_owned())
        ])
    );
}

#[tokio::test]
async fn destroying_data_needs_allow_destroy() {
    let kv = Kv::new();
    let node = node(&kv, &[("precious", "old")]);
    let engine = engine(vec![
        Item::new("precious", "new").destroys_data().boxed(),
        Item::new("harmless", "1").boxed(),
    ]);
    let plan = engine.plan(host(&node), &PlanOptions::default()).await;
    assert_eq!(
        errors(&plan),
        [
            "error: test.item[precious]: refusing to update because it destroys data (the old value of precious); pass --allow-destroy to allow it"
        ]
    );

    let run = node.begin_run();
    let refused = engine
        .apply(host(&node), &ApplyOptions::default(), quiet())
        .await
        .expect_err("the plan has an error");
    assert!(
        matches!(&refused, Error::PlanHasErrors { diagnostics } if diagnostics.iter().any(|d| d.is_error())),
        "{refused:?}"
    );
    assert_eq!(
        refused.to_string(),
        "apply: the plan has 1 error(s); nothing was changed"
    );
    assert!(mutations_in(&node.audit(), run).is_empty());
    assert_eq!(
        kv_values(&node),
        BTreeMap::from([("precious".to_owned(), "old".to_owned())])
    );

    let allowed = PlanOptions::default().allow_destroy(true);
    let plan = engine.plan(host(&node), &allowed).await;
    assert!(!plan.has_errors(), "{:?}", plan.diagnostics);
    let report = engine
        .apply(host(&node), &ApplyOptions::default().plan(allowed), quiet())
        .await
        .expect("destroying is allowed");
    assert!(report.succeeded(), "{:?}", report.outcomes);
    assert_eq!(kv_values(&node)["precious"], "new");
}

#[test]
fn a_dependency_cycle_is_an_error_listing_the_cycle() {
    let err = Engine::new(crate::support::desired(vec![
        Item::new("x", "1").boxed(),
        Item::new("c", "1").after("b").boxed(),
        Item::new("a", "1").after("c").boxed(),
        Item::new("b", "1").after("a").boxed(),
    ]))
    .expect_err("a -> b -> c -> a is a cycle");
    let Error::Cycle { cycle, .. } = &err else {
        panic!("expected a cycle, got {err:?}");
    };
    assert_eq!(
        cycle,
        &[item_id("a"), item_id("b"), item_id("c"), item_id("a")]
    );
    assert_eq!(
        err.to_string(),
        "order resources: dependency cycle test.item[a] -> test.item[b] -> test.item[c] -> test.item[a]"
    );
}

#[test]
fn a_resource_depending_on_itself_is_a_cycle() {
    let err = Engine::new(crate::support::desired(vec![
        Item::new("a", "1").after("a").boxed(),
    ]))
    .expect_err("a self-dependency is a cycle");
    assert!(
        matches!(&err, Error::Cycle { cycle, .. } if cycle == &[item_id("a"), item_id("a")]),
        "{err:?}"
    );
}

/// Items a to f where c needs a, d needs b and e needs c and d, declared in `names` order.
fn six_items(names: &[&str]) -> Engine {
    engine(
        names
            .iter()
            .map(|name| match *name {
                "c" => Item::new("c", "1").after("a").boxed(),
                "d" => Item::new("d", "1").after("b").boxed(),
                "e" => Item::new("e", "1").after("c").after("d").boxed(),
                other => Item::new(other, "1").boxed(),
            })
            .collect(),
    )
}

fn order(engine: &Engine) -> Vec<String> {
    engine
        .graph()
        .order()
        .map(|i| engine.graph().id(i).name.clone())
        .collect()
}

#[test]
fn the_order_is_by_level_then_by_id_whatever_the_declaration_order() {
    let forward = six_items(&["a", "b", "c", "d", "e", "f"]);
    let backward = six_items(&["f", "e", "d", "c", "b", "a"]);
    assert_eq!(order(&forward), ["a", "b", "f", "c", "d", "e"]);
    assert_eq!(order(&backward), order(&forward));
    insta::assert_snapshot!(forward.graph().render(GraphFormat::Text), @r"
    test.item[a]
    test.item[b]
    test.item[f]
    test.item[c] <- test.item[a]
    test.item[d] <- test.item[b]
    test.item[e] <- test.item[c], test.item[d]
    ");
}

#[test]
fn the_text_graph_does_not_depend_on_the_declaration_order() {
    let forward = six_items(&["a", "b", "c", "d", "e", "f"]);
    let backward = six_items(&["f", "e", "d", "c", "b", "a"]);
    assert_eq!(
        backward.graph().render(GraphFormat::Text),
        forward.graph().render(GraphFormat::Text),
        "the same graph, declared in another order, renders differently"
    );
    assert_eq!(
        backward.graph().render(GraphFormat::Dot),
        forward.graph().render(GraphFormat::Dot)
    );
}

#[test]
fn a_file_comes_after_the_resource_that_provides_its_directory() {
    let engine = engine(vec![
        file("/srv/data/app/x.conf", "x\n"),
        file("/srv/database/y.conf", "y\n"),
        Item::new("mount", "1")
            .provides(Capability::path("/srv/data/"))
            .boxed(),
    ]);
    let edges: Vec<(String, String, EdgeReason)> = engine
        .graph()
        .edges()
        .into_iter()
        .map(|(from, to, reason)| (from.to_string(), to.to_string(), reason))
        .collect();
    // `/srv/database` is not under `/srv/data`: paths match by component, not by prefix.
    assert_eq!(
        edges,
        [(
            "test.item[mount]".to_owned(),
            "file[/srv/data/app/x.conf]".to_owned(),
            EdgeReason::Requires("path:/srv/data/app".to_owned())
        )]
    );
    insta::assert_snapshot!(engine.graph().render(GraphFormat::Text), @r"
    file[/srv/database/y.conf]
    test.item[mount]
    file[/srv/data/app/x.conf] <- test.item[mount]
    ");
}

#[tokio::test]
async fn a_dependency_on_an_undeclared_resource_is_an_error() {
    let engine = engine(vec![
        Item::new("a", "1").after_id(item_id("ghost")).boxed(),
        Item::new("b", "1").boxed(),
    ]);
    let config: Vec<String> = engine
        .config_diagnostics()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        config,
        ["error: test.item[a]: depends on test.item[ghost], which the config does not declare"]
    );
    let kv = Kv::new();
    let node = node(&kv, &[]);
    let plan = engine.plan(host(&node), &PlanOptions::default()).await;
    assert!(plan.has_errors());
    assert!(plan.changes.is_empty());
    assert!(
        node.audit().is_empty(),
        "a plan with config errors inspects nothing"
    );
}

#[tokio::test]
async fn a_saved_plan_that_no_longer_matches_the_host_is_refused() {
    let kv = Kv::new();
    let node = node(&kv, &[]);
    let engine = engine(vec![
        Item::new("x", "1").boxed(),
        Item::new("y", "1").boxed(),
    ]);
    let saved = engine.plan(host(&node), &PlanOptions::default()).await;
    assert_eq!(saved.changes.len(), 2);
    // Someone else sets x meanwhile (to another value, so x would now be an update).
    node.run(&Cmd::write("kv", ["set", "x", "2"]))
        .await
        .expect("kv runs");

    let run = node.begin_run();
    let err = engine
        .apply(
            host(&node),
            &ApplyOptions::default().saved(saved.clone()),
            quiet(),
        )
        .await
        .expect_err("the host changed since the plan");
    assert!(
        matches!(&err, Error::StalePlan { reason } if reason == "1 differ: test.item[x]"),
        "{err:?}"
    );
    assert!(mutations_in(&node.audit(), run).is_empty());
    assert_eq!(
        kv_values(&node),
        BTreeMap::from([("x".to_owned(), "2".to_owned())])
    );

    // A plan made now still matches, and is applied.
    let fresh = engine.plan(host(&node), &PlanOptions::default()).await;
    let report = engine
        .apply(host(&node), &ApplyOptions::default().saved(fresh), quiet())
        .await
        .expect("the saved plan is current");
    assert!(report.succeeded());
    assert_eq!(kv_values(&node)["x"], "1");
}

#[tokio::test]
async fn apply_then_plan_is_empty_and_runs_no_mutation() {
    let kv = Kv::new();
    let node = node(&kv, &[("b", "old")]);
    let engine = engine(vec![
        Item::new("a", "1").boxed(),
        Item::new("b", "2").after("a").boxed(),
        file("/etc/motd", "hello\n"),
    ]);
    let report = engine
        .apply(host(&node), &ApplyOptions::default(), quiet())
        .await
        .expect("the plan has no errors");
    assert!(report.succeeded(), "{:?}", report.outcomes);
    let run = node.begin_run();
    let plan = engine.plan(host(&node), &PlanOptions::default()).await;
    assert!(!plan.has_changes(), "{:?}", plan.changes);
    assert_eq!(plan.summary.unchanged, 3);
    let again = engine
        .apply(host(&node), &ApplyOptions::default(), quiet())
        .await
        .expect("the plan has no errors");
    assert!(again.outcomes.is_empty());
    assert!(mutations_in(&node.audit(), run).is_empty());
}

/// A tool the target lacks, as a fact reports it.
#[derive(Debug, Clone, Copy)]
struct MissingTool;

#[async_trait::async_trait]
impl phoenix_core::Fact for MissingTool {
    type Value = String;

    fn key(&self) -> String {
        "missing-tool".to_owned()
    }

    async fn gather(&self, _host: &dyn Host) -> Result<String, phoenix_core::BoxError> {
        Err(phoenix_core::Unsupported::boxed(
            "the tool is not installed here",
        ))
    }
}

/// A resource that reads the host only through [`MissingTool`].
#[derive(Debug)]
struct NeedsTheTool;

#[async_trait::async_trait]
impl phoenix_core::Resource for NeedsTheTool {
    type State = String;

    fn id(&self) -> phoenix_core::ResourceId {
        phoenix_core::ResourceId::new(phoenix_core::Kind::from_static("test.tool"), "t")
    }

    async fn inspect(
        &self,
        cx: &phoenix_core::Ctx<'_>,
    ) -> Result<Option<String>, phoenix_core::BoxError> {
        Ok(Some((*cx.fact(&MissingTool).await?).clone()))
    }

    fn diff(&self, _observed: Option<&String>) -> phoenix_core::Delta {
        phoenix_core::Delta::none().run(Cmd::write("tool", ["fix"]))
    }
}

/// On a plain Debian host the LXC provider's facts find no `pct`: the resources that read them
/// must be warnings left alone, as when a resource says so itself.
#[tokio::test]
async fn a_fact_the_target_cannot_gather_makes_its_resources_unsupported_not_errors() {
    let node = node(&Kv::new(), &[]);
    let engine = engine(vec![Box::new(NeedsTheTool), Item::new("k", "v").boxed()]);
    let plan = engine.plan(host(&node), &PlanOptions::default()).await;
    assert!(errors(&plan).is_empty(), "{:?}", plan.diagnostics);
    assert_eq!(plan.summary.unsupported, 1);
    assert_eq!(plan.changes.len(), 1, "only the supported item changes");
    let warning = plan
        .diagnostics
        .iter()
        .find(|d| d.resource.is_some())
        .expect("a warning for the resource");
    assert!(
        warning
            .to_string()
            .contains("the tool is not installed here"),
        "{warning}"
    );
}

/// A node with none of the tools the lab's resources drive, like a plain Debian machine under
/// `--target local`: each missing tool is said once, with how many resources it leaves alone.
#[tokio::test]
async fn issue_8_a_missing_tool_is_reported_once_with_its_count() {
    let config =
        phoenix_core::config::ConfigSet::load(&crate::support::lab()).expect("the lab loads");
    let desired = phoenix_cli::registry().decode(&config);
    let engine = phoenix_core::Engine::new(desired).expect("no cycle");
    let bare = Arc::new(phoenix_core::sim::SimNode::new(Vec::new()).expect("a node"));
    let plan = engine.plan(bare, &PlanOptions::default()).await;
    let tools: Vec<String> = plan
        .diagnostics
        .iter()
        .filter(|d| d.message.contains("not found on this target"))
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        tools,
        [
            "warning: pct: not found on this target; 41 ai and lxc resources are not managed here",
            "warning: pve-firewall: not found on this target; 5 pve resources are not managed here",
            "warning: pve.user[phoenix_admin@pam]: pveum: not found on this target; this resource is not managed here",
            "warning: timeout: not found on this target; 68 directory and docker and exec and file and gateway and gpu and group and package and qdrant and service and user resources are not managed here",
            "warning: zfs: not found on this target; 9 zfs resources are not managed here",
            "warning: zpool: not found on this target; 5 zfs resources are not managed here",
        ]
    );
    let per_resource: Vec<String> = errors(&plan)
        .into_iter()
        .filter(|e| e.contains("not found") || e.contains("not installed"))
        .collect();
    assert!(per_resource.is_empty(), "{per_resource:?}");
}

/// A node that has LXC's own tools (the container probe runs, and fails for containers that do
/// not exist) but no `pct`, like the testbed VM: the resources inside containers the lab would
/// create are not managed either, counted under `pct`, rather than planned as "still to be made"
/// and then run through a `pct exec` that cannot work.
#[tokio::test]
async fn issue_11_resources_in_containers_are_not_managed_where_pct_is_missing() {
    let config =
        phoenix_core::config::ConfigSet::load(&crate::support::lab()).expect("the lab loads");
    let desired = phoenix_cli::registry().decode(&config);
    let engine = phoenix_core::Engine::new(desired).expect("no cycle");
    let lxc_without_pct: Vec<Arc<dyn phoenix_core::sim::Emulator>> = vec![
        Arc::new(phoenix_lxc::sim::ProbeAllEmulator),
        Arc::new(phoenix_lxc::sim::GrepEmulator),
    ];
    let node = Arc::new(phoenix_core::sim::SimNode::new(lxc_without_pct).expect("a node"));
    let plan = engine.plan(node, &PlanOptions::default()).await;
    let scoped_in_containers: Vec<String> = plan
        .changes
        .iter()
        .map(|c| c.id.to_string())
        .filter(|id| id.contains("[ct:"))
        .collect();
    assert_eq!(scoped_in_containers, Vec::<String>::new());
    let pct = plan
        .diagnostics
        .iter()
        .map(ToString::to_string)
        .find(|d| d.contains("pct: not found on this target"))
        .expect("pct is said to be missing");
    assert!(pct.contains("docker"), "{pct}");
    let in_containers: Vec<String> = errors(&plan)
        .into_iter()
        .filter(|e| e.contains("[ct:"))
        .collect();
    assert!(in_containers.is_empty(), "{in_containers:?}");
}

/// A provider's error reaches the plan's diagnostic as the error itself, with its causes, and
/// the text the CLI renders is the whole chain.
#[tokio::test]
async fn issue_8_an_inspect_error_keeps_its_chain_until_rendered() {
    let node = node(&Kv::new(), &[]);
    let engine = engine(vec![
        Misbehaving::new("cmd", Misbehaviour::RunWriteInInspect).boxed(),
    ]);
    let plan = engine.plan(host(&node), &PlanOptions::default()).await;
    let diagnostic = &plan.diagnostics[0];
    assert_eq!(diagnostic.message, "inspect");
    let cause = diagnostic.cause.as_ref().expect("the error is kept");
    assert!(
        matches!(
            cause.error().downcast_ref::<phoenix_core::HostError>(),
            Some(phoenix_core::HostError::WriteDuringPlan { .. })
        ),
        "{cause:?}"
    );
    let rendered = phoenix_cli::render::diagnostics(
        &plan.diagnostics,
        phoenix_cli::render::Style { color: false },
    );
    assert_eq!(
        rendered,
        "error: test.misbehaving[cmd]: inspect: refused to run `kv set cmd sneaky` during plan: the host is read-only\n"
    );
    let json = serde_json::to_value(diagnostic).expect("JSON");
    assert_eq!(
        json["cause"],
        "refused to run `kv set cmd sneaky` during plan: the host is read-only"
    );
}
