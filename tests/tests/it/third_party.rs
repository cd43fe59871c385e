//! A third-party provider (`tests::sysctl`, written against phoenix-core alone) registered with
//! one line and run through decode, plan, apply and plan again on the simulated node.

use std::path::PathBuf;
use std::sync::Arc;

use phoenix_core::apply::Quiet;
use phoenix_core::config::{ConfigSet, Document};
use phoenix_core::sim::{SimNode, SimState};
use phoenix_core::{ApplyOptions, Engine, Host, PlanOptions, Registry, Step};
use tests::sysctl;

/// The registry of the sysctl provider alone: one line registers the provider and its emulator.
fn registry() -> Registry {
    Registry::builder()
        .provider(sysctl::provider())
        .build()
        .expect("one provider")
}

/// The node with the kernel parameters a fresh Proxmox host has for these keys, and the
/// emulators the registry brings.
fn node() -> Arc<SimNode> {
    let mut state = SimState::new();
    state.tools.insert(
        "sysctl".to_owned(),
        serde_json::json!({
            "vm.swappiness": "60",
            "fs.inotify.max_user_watches": "8192",
            "fs.inotify.max_user_instances": "128",
        }),
    );
    Arc::new(SimNode::from_state(state, registry().emulators()).expect("one emulator"))
}

/// Decodes `json` with the sysctl provider alone and builds the engine.
fn engine(json: &str) -> Engine {
    let registry = registry();
    let document =
        Document::parse(PathBuf::from("sysctl.json"), json.to_owned()).expect("the config is JSON");
    let desired = registry.decode(&ConfigSet::from_documents(vec![document]));
    assert!(!desired.has_errors(), "{:?}", desired.diagnostics);
    Engine::new(desired).expect("no cycle")
}

fn host(node: &Arc<SimNode>) -> Arc<dyn Host> {
    Arc::clone(node) as Arc<dyn Host>
}

fn steps(plan: &phoenix_core::Plan) -> Vec<String> {
    plan.changes
        .iter()
        .flat_map(|change| change.steps.iter().map(ToString::to_string))
        .collect()
}

#[tokio::test]
async fn the_sysctl_provider_converges_and_then_plans_nothing() {
    let engine =
        engine(r#"{"sysctl": {"vm.swappiness": 10, "fs.inotify.max_user_watches": "1048576"}}"#);
    let node = node();

    let plan = engine.plan(host(&node), &PlanOptions::default()).await;
    assert!(!plan.has_errors(), "{:?}", plan.diagnostics);
    assert_eq!(
        steps(&plan),
        [
            format!("write {} (79 bytes, mode 0644)", sysctl::PERSIST_PATH),
            "sysctl -w fs.inotify.max_user_watches=1048576".to_owned(),
            "sysctl -w vm.swappiness=10".to_owned(),
        ]
    );
    let persisted = plan
        .changes
        .iter()
        .flat_map(|change| &change.steps)
        .find_map(|step| match step {
            Step::WriteFile { content, .. } => content.reveal().map(str::to_owned),
            _ => None,
        })
        .expect("the persisted file is written");
    assert_eq!(
        persisted,
        "# Managed by Phoenix.\nfs.inotify.max_user_watches = 1048576\nvm.swappiness = 10\n"
    );
    // One batched `sysctl -a` for both parameters.
    assert_eq!(plan.stats.commands_by_program["sysctl"], 1);
    assert_eq!(plan.stats.commands_total, 1);

    let report = engine
        .apply(host(&node), &ApplyOptions::default(), Arc::new(Quiet))
        .await
        .expect("the plan has no errors");
    assert!(report.succeeded(), "{:?}", report.outcomes);
    assert_eq!(
        node.state().tools["sysctl"],
        serde_json::json!({
            "vm.swappiness": "10",
            "fs.inotify.max_user_watches": "1048576",
            "fs.inotify.max_user_instances": "128",
        })
    );

    let run = node.begin_run();
    let again = engine.plan(host(&node), &PlanOptions::default()).await;
    assert!(!again.has_errors(), "{:?}", again.diagnostics);
    assert!(!again.has_changes(), "{:?}", again.changes);
    assert_eq!(again.summary.unchanged, 3);
    assert!(
        node.audit()
            .iter()
            .filter(|entry| entry.run == run)
            .all(|entry| !entry.is_mutation())
    );
}

#[tokio::test]
async fn an_unknown_kernel_parameter_is_an_inspect_error() {
    let engine = engine(r#"{"sysctl": {"vm.swappiness": 10, "vm.no_such_knob": 1}}"#);
    let node = node();
    let plan = engine.plan(host(&node), &PlanOptions::default()).await;
    let errors: Vec<String> = plan
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errors,
        [
            "error: sysctl.param[vm.no_such_knob]: inspect: the kernel has no parameter vm.no_such_knob"
        ]
    );
    // The known parameter is still planned: one bad resource does not stop the plan.
    assert!(steps(&plan).contains(&"sysctl -w vm.swappiness=10".to_owned()));
}

/// A provider and its emulators are registered as one unit: the registry collects each
/// provider's emulators, for a third-party provider and for the CLI's built-in ones alike (the
/// CLI used to list the built-in providers' emulators a second time, by hand).
#[test]
fn issue_8_registering_a_provider_registers_its_emulators() {
    let programs = |emulators: Vec<Arc<dyn phoenix_core::sim::Emulator>>| -> Vec<String> {
        let mut programs: Vec<String> = emulators.iter().flat_map(|e| e.programs()).collect();
        programs.sort();
        programs
    };
    assert_eq!(programs(registry().emulators()), ["sysctl"]);
    let built_in = programs(phoenix_cli::registry().emulators());
    for program in [
        "blkid", "grep", "pct", "pvesm", "smartctl", "wipefs", "zfs", "zpool",
    ] {
        assert!(
            built_in.iter().any(|p| p == program),
            "{program}: {built_in:?}"
        );
    }
    assert_eq!(programs(phoenix_cli::target::emulators()), built_in);
}
