//! Core's scoped primitives (package, directory, file, service) end to end on the simulated
//! node: one probe per scope, one install per scope, reloads only for changed files, and
//! validated files that never go live broken.

use std::sync::Arc;

use phoenix_core::apply::Quiet;
use phoenix_core::directory::Directory;
use phoenix_core::file::File;
use phoenix_core::package::Package;
use phoenix_core::service::{OnChange, Service};
use phoenix_core::sim::{Emulator, SimFile, SimNode, SimOutput, SimState, SimSys};
use phoenix_core::{
    ApplyOptions, ApplyReport, DynResource, Engine, Observer, PlanOptions, Resource, Scope, Scopes,
    Status,
};
use serde_json::json;

use crate::support::{engine, host, operations_in};

/// `checkconf FILE`: refuses a file that says `broken`, as a daemon's checker would.
#[derive(Debug)]
struct Checkconf;

impl Emulator for Checkconf {
    fn programs(&self) -> Vec<String> {
        vec!["checkconf".to_owned()]
    }
    fn run(&self, argv: &[String], _stdin: Option<&str>, sys: &mut SimSys<'_>) -> SimOutput {
        let content = argv
            .get(1)
            .and_then(|path| sys.read(path))
            .map(|f| f.content.clone());
        match content {
            Some(text) if text.contains("broken") => {
                SimOutput::fail(1, "checkconf: line 1: unknown directive \"broken\"\n")
            }
            // Like testparm: an unknown directive is ignored with a warning, and the exit is 0.
            Some(text) if text.contains("unknown") => SimOutput::ok("syntax is ok\n")
                .with_stderr("checkconf: ignoring unknown directive \"unknown\"\n"),
            Some(_) => SimOutput::ok("syntax is ok\n"),
            None => SimOutput::fail(2, "checkconf: cannot open file\n"),
        }
    }
}

/// A node whose apt catalogue has nginx (shipping `nginx.service`), samba and curl.
fn node() -> Arc<SimNode> {
    let mut state = SimState::new();
    state.tools.insert(
        "dpkg".into(),
        json!({"available": {
            "nginx": {"version": "1.22.1-9+deb12u11", "units": ["nginx.service"]},
            "samba": {"version": "2:4.17.12+dfsg-0+deb12u4"},
            "curl": {"version": "7.88.1-10+deb12u14"}
        }}),
    );
    state.files.insert(
        "/etc/app.conf".into(),
        SimFile::new("good\n", 0o644, "root:root"),
    );
    Arc::new(SimNode::from_state(state, vec![Arc::new(Checkconf)]).expect("emulators"))
}

/// The lab's web front: three packages, a directory, a guarded installer, two files and nginx.
fn web(scope: &Scope, site: &str, extra: &str) -> Vec<Box<dyn DynResource>> {
    let site_file = File::new("/etc/nginx/sites-enabled/lab", site).in_scope(scope);
    let extra_file = File::new("/etc/nginx/conf.d/extra.conf", extra).in_scope(scope);
    let nginx = Service::new(scope, "nginx")
        .depends_on(Package::id_for(scope, "nginx"))
        .file(Resource::id(&site_file))
        .file(Resource::id(&extra_file))
        .on_change(OnChange::Reload);
    vec![
        Box::new(Package::new(scope, "nginx")),
        Box::new(Package::new(scope, "samba")),
        Box::new(Package::new(scope, "curl")),
        Box::new(
            Directory::new(scope, "/srv/share")
                .mode(0o2775)
                .owner("root:users"),
        ),
        Box::new(phoenix_core::exec::Exec::new(
            scope,
            "tool-install",
            "/opt/tool",
            phoenix_core::Cmd::write("mkdir", ["-p", "--", "/opt/tool"]),
        )),
        Box::new(site_file.depends_on(Package::id_for(scope, "nginx"))),
        Box::new(extra_file.depends_on(Package::id_for(scope, "nginx"))),
        Box::new(nginx),
    ]
}

fn web_engine(site: &str, extra: &str) -> Engine {
    let scopes = Scopes::default();
    engine(web(&scopes.node(), site, extra))
}

async fn apply(node: &Arc<SimNode>, engine: &Engine) -> ApplyReport {
    engine
        .apply(
            host(node),
            &ApplyOptions::default(),
            Arc::new(Quiet) as Arc<dyn Observer>,
        )
        .await
        .expect("the plan has no errors")
}

fn reloads(node: &SimNode) -> u64 {
    node.state().tools["systemd"]["units"]["nginx.service"]["reloads"]
        .as_u64()
        .unwrap_or_default()
}

fn all_applied(report: &ApplyReport) -> bool {
    report.outcomes.iter().all(|o| o.status == Status::Applied)
}

#[tokio::test]
async fn issue_9_a_no_op_converge_of_a_scope_runs_its_one_probe_and_nothing_else() {
    let node = node();
    let run = node.begin_run();
    let report = apply(&node, &web_engine("server {}\n", "gzip on;\n")).await;
    assert!(all_applied(&report), "{:#?}", report.outcomes);
    let installs: Vec<String> = operations_in(&node.audit(), run)
        .into_iter()
        .filter(|op| op.contains("apt-get"))
        .collect();
    assert_eq!(
        installs,
        [
            "run apt-get update",
            "run apt-get install -y --no-install-recommends curl nginx samba"
        ],
        "one install for every missing package of the scope"
    );
    // A no-op converge: the one probe, no file read, nothing else.
    let run = node.begin_run();
    let report = apply(&node, &web_engine("server {}\n", "gzip on;\n")).await;
    assert!(report.outcomes.is_empty(), "{:#?}", report.outcomes);
    assert_eq!(report.plan.stats.commands_total, 1);
    assert_eq!(report.plan.stats.file_reads, 0);
    assert_eq!(
        report
            .plan
            .stats
            .commands_by_program
            .keys()
            .collect::<Vec<_>>(),
        ["sh"]
    );
    let ops = operations_in(&node.audit(), run);
    assert_eq!(ops.len(), 1, "{ops:#?}");
    assert!(ops[0].starts_with("run sh -c set -f"), "{ops:?}");
}

#[tokio::test]
async fn issue_9_no_service_restarts_unless_one_of_its_files_changed_in_this_run() {
    let node = node();
    assert!(all_applied(&apply(&node, &web_engine("a\n", "b\n")).await));
    // Installed and started in this run: still one reload after its files, since on Debian the
    // package's maintainer script starts the unit with the distribution's files before they are
    // written, and `systemctl start` of a running unit does nothing.
    assert_eq!(reloads(&node), 1);
    // Nothing changed: no reload, no systemctl at all.
    let run = node.begin_run();
    apply(&node, &web_engine("a\n", "b\n")).await;
    assert_eq!(reloads(&node), 1);
    assert!(
        !operations_in(&node.audit(), run)
            .iter()
            .any(|op| op.starts_with("run systemctl"))
    );
    // One file changed: one reload, shown in the plan with its cause.
    let report = apply(&node, &web_engine("a2\n", "b\n")).await;
    assert!(all_applied(&report), "{:#?}", report.outcomes);
    assert_eq!(reloads(&node), 2);
    let service = report
        .plan
        .changes
        .iter()
        .find(|c| c.id.to_string() == "service[nginx.service]")
        .expect("the reload is planned");
    assert_eq!(
        service
            .steps
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["systemctl reload nginx.service"]
    );
    assert_eq!(
        service.fields[0].note.as_deref(),
        Some("when changed: file[/etc/nginx/sites-enabled/lab]")
    );
    // Both files changed: still exactly one reload, after both.
    let run = node.begin_run();
    apply(&node, &web_engine("a3\n", "b3\n")).await;
    assert_eq!(reloads(&node), 3);
    let ops = operations_in(&node.audit(), run);
    let reload_at = ops
        .iter()
        .position(|op| op.starts_with("run systemctl reload"))
        .expect("a reload");
    assert_eq!(
        ops.iter()
            .filter(|op| op.starts_with("run systemctl"))
            .count(),
        1,
        "{ops:#?}"
    );
    let last_write = ops
        .iter()
        .rposition(|op| !op.starts_with("run sh") && op.contains("/etc/nginx/"))
        .expect("writes");
    assert!(last_write < reload_at, "{ops:#?}");
}

#[tokio::test]
async fn issue_9_a_failing_validate_leaves_the_live_file_unchanged_and_fails_with_the_tools_message()
 {
    let node = node();
    let scopes = Scopes::default();
    let checked = |content: &str| {
        engine(vec![Box::new(
            File::new("/etc/app.conf", content)
                .in_scope(&scopes.node())
                .validate(["checkconf", "%s"]),
        )])
    };
    let report = apply(&node, &checked("broken\n")).await;
    let [outcome] = &report.outcomes[..] else {
        panic!("one outcome: {:#?}", report.outcomes);
    };
    let Status::Failed { error } = &outcome.status else {
        panic!("the apply fails: {outcome:#?}");
    };
    assert_eq!(
        error.chain(),
        "validate /etc/app.conf: `checkconf /etc/.app.conf.phoenix-new` rejected the new content (exit 1): checkconf: line 1: unknown directive \"broken\""
    );
    let state = node.state();
    assert_eq!(state.files["/etc/app.conf"].content, "good\n");
    assert!(
        !state.files.contains_key("/etc/.app.conf.phoenix-new"),
        "the staged file is removed"
    );
    // An accepted file goes live through the staged file.
    let report = apply(&node, &checked("better\n")).await;
    assert!(all_applied(&report), "{:#?}", report.outcomes);
    assert_eq!(node.state().files["/etc/app.conf"].content, "better\n");
    assert_eq!(
        report.plan.changes[0]
            .steps
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [
            "write /etc/.app.conf.phoenix-new (7 bytes, mode 0644)",
            "checkconf /etc/.app.conf.phoenix-new",
            "mv -f -- /etc/.app.conf.phoenix-new /etc/app.conf"
        ]
    );
}

#[tokio::test]
async fn issue_9_a_checker_that_only_warns_still_refuses_the_file_when_told_to_read_its_output() {
    let node = node();
    let scopes = Scopes::default();
    let checked = |refuse: &[&str]| {
        engine(vec![Box::new(
            File::new("/etc/app.conf", "unknown\n")
                .in_scope(&scopes.node())
                .validate(["checkconf", "%s"])
                .refuse_output(refuse.iter().copied()),
        )])
    };
    let report = apply(&node, &checked(&["ignoring unknown directive"])).await;
    let [outcome] = &report.outcomes[..] else {
        panic!("one outcome: {:#?}", report.outcomes);
    };
    let Status::Failed { error } = &outcome.status else {
        panic!("the apply fails although the checker exits 0: {outcome:#?}");
    };
    assert_eq!(
        error.chain(),
        "validate /etc/app.conf: `checkconf /etc/.app.conf.phoenix-new` rejected the new content (exit 0): checkconf: ignoring unknown directive \"unknown\"\nsyntax is ok"
    );
    assert_eq!(node.state().files["/etc/app.conf"].content, "good\n");
    assert!(
        !node
            .state()
            .files
            .contains_key("/etc/.app.conf.phoenix-new")
    );
    // Without the pattern, the exit status alone decides.
    let report = apply(&node, &checked(&[])).await;
    assert!(all_applied(&report), "{:#?}", report.outcomes);
    assert_eq!(node.state().files["/etc/app.conf"].content, "unknown\n");
}

#[tokio::test]
async fn issue_9_a_directory_gets_its_mode_and_owner_and_keeps_them() {
    let node = node();
    let scopes = Scopes::default();
    let dir = || {
        engine(vec![Box::new(
            Directory::new(&scopes.node(), "/srv/share")
                .mode(0o2775)
                .owner("root:users"),
        )])
    };
    assert!(all_applied(&apply(&node, &dir()).await));
    let plan = dir().plan(host(&node), &PlanOptions::default()).await;
    assert!(!plan.has_changes(), "{:#?}", plan.changes);
    assert_eq!(
        node.state().tools["dirs"]["dirs"]["/srv/share"],
        json!({"mode": 0o2775, "owner": "root:users"})
    );
}

#[test]
fn issue_9_a_container_scope_runs_between_provisioning_and_the_final_snapshot() {
    let registry = phoenix_cli::registry();
    // The lab's containers without its gateway, which has primitives of its own in 101.
    let path = crate::support::lab().join("phoenix_lxc_configs.json");
    let mut lxc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("the lab's LXC file"))
            .expect("JSON");
    lxc.as_object_mut().expect("an object").remove("gateway");
    let document = phoenix_core::config::Document::parse(path, lxc.to_string()).expect("JSON");
    let config = phoenix_core::config::ConfigSet::from_documents(vec![document]);
    let mut desired = registry.decode(&config);
    // Another provider (say, the nginx gateway) places primitives in container 101 through
    // the registry's scopes alone.
    let scopes = registry.scopes();
    let scope = scopes.get("ct:101").expect("phoenix-lxc registers ct");
    let site = File::new("/etc/nginx/sites-enabled/lab", "server {}\n")
        .in_scope(&scope)
        .validate(["nginx", "-t", "-c", "%s"]);
    let site_id = Resource::id(&site);
    let package = Package::new(&scope, "nginx");
    let service = Service::new(&scope, "nginx")
        .file(site_id.clone())
        .on_change(OnChange::Reload);
    let steps = |delta: phoenix_core::Delta| -> Vec<String> {
        delta.steps.iter().map(ToString::to_string).collect()
    };
    assert_eq!(
        steps(Resource::diff(&package, None)),
        [
            "DEBIAN_FRONTEND=<redacted> pct exec 101 --keep-env 1 -- apt-get update",
            "DEBIAN_FRONTEND=<redacted> pct exec 101 --keep-env 1 -- apt-get install -y --no-install-recommends nginx"
        ]
    );
    assert_eq!(
        steps(Resource::when_triggered(
            &service,
            std::slice::from_ref(&site_id)
        )),
        ["pct exec 101 -- systemctl reload nginx.service"]
    );
    assert_eq!(
        steps(Resource::diff(&site, None)),
        [
            "pct exec 101 -- sh -c 'umask 077 && cat > \"$1\"' sh /etc/nginx/sites-enabled/.lab.phoenix-new  # with 10 byte(s) on stdin",
            "pct exec 101 -- chmod 0644 -- /etc/nginx/sites-enabled/.lab.phoenix-new",
            "pct exec 101 -- nginx -t -c /etc/nginx/sites-enabled/.lab.phoenix-new",
            "pct exec 101 -- mv -f -- /etc/nginx/sites-enabled/.lab.phoenix-new /etc/nginx/sites-enabled/lab",
        ]
    );
    desired.resources.push(Box::new(package));
    desired.resources.push(Box::new(site));
    desired.resources.push(Box::new(service));
    let engine = Engine::new(desired).expect("no cycle");
    let edges: Vec<String> = engine
        .graph()
        .edges()
        .into_iter()
        .map(|(from, to, _)| format!("{from} -> {to}"))
        .filter(|edge| edge.contains("ct:101"))
        .collect();
    assert_eq!(
        edges,
        [
            "file[ct:101:/etc/nginx/sites-enabled/lab] -> lxc.snapshot[101]",
            "file[ct:101:/etc/nginx/sites-enabled/lab] -> service[ct:101:nginx.service]",
            "lxc.features[101] -> file[ct:101:/etc/nginx/sites-enabled/lab]",
            "lxc.features[101] -> package[ct:101:nginx]",
            "lxc.features[101] -> service[ct:101:nginx.service]",
            "package[ct:101:nginx] -> lxc.snapshot[101]",
            "service[ct:101:nginx.service] -> lxc.snapshot[101]",
        ]
    );
}

#[tokio::test]
async fn issue_9_a_container_scope_is_planned_from_one_probe_and_changed_through_pct_exec() {
    let scopes = phoenix_cli::registry().scopes();
    let scope = scopes.get("ct:101").expect("phoenix-lxc registers ct");
    let resources = web(&scope, "server { listen 80; }\n", "gzip on;\n");
    // The probe rides the containers' one host command (issue 10); changes go through pct exec.
    let transport = scope.transport().expect("a guest scope has a transport");
    let args = phoenix_core::probe::probe_args(&scope.inventory());
    let probe = transport
        .batch(
            phoenix_core::probe::PROBE_SCRIPT,
            phoenix_core::probe::PROBE_NAME,
            &[("101".to_owned(), args)],
        )
        .expect("pct exec batches");
    let reply = "@packages\nnginx\tii \t1.22.1-9+deb12u11\ncurl\tii \t7.88.1-10+deb12u14\n@units\nId=nginx.service\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\n@paths\n@path /etc/nginx/conf.d/extra.conf\nregular file|644|root:root|9\ngzip on;\n@path /etc/nginx/sites-enabled/lab\nregular file|644|root:root|11\nserver {}\n\n@path /srv/share\ndirectory|755|root:root|4096\n@queries\n";
    let reply = phoenix_lxc::parse::format_probe_all_output(&[(
        101,
        phoenix_lxc::parse::ProbeBlock::new(Some(0), reply, ""),
    )]);
    let fake = Arc::new(
        phoenix_core::sim::FakeHost::new()
            .reply(probe.argv(), phoenix_core::Output::new(Some(0), reply, "")),
    );
    let plan = engine(resources)
        .plan(
            Arc::clone(&fake) as Arc<dyn phoenix_core::Host>,
            &PlanOptions::default(),
        )
        .await;
    assert!(!plan.has_errors(), "{:#?}", plan.diagnostics);
    let calls = fake.calls();
    assert_eq!(calls.len(), 1, "one probe for the whole scope: {calls:#?}");
    assert_eq!(calls[0][0], "timeout");
    let shown: Vec<String> = plan
        .changes
        .iter()
        .flat_map(|c| {
            std::iter::once(format!("{} {}", c.action.symbol(), c.id))
                .chain(c.steps.iter().map(|s| format!("    {s}")))
        })
        .collect();
    assert_eq!(
        shown,
        [
            "~ directory[ct:101:/srv/share]",
            "    pct exec 101 -- chmod 2775 -- /srv/share",
            "    pct exec 101 -- chown root:users -- /srv/share",
            "~ exec[ct:101:tool-install]",
            "    pct exec 101 -- mkdir -p -- /opt/tool",
            "~ package[ct:101:samba]",
            "    DEBIAN_FRONTEND=<redacted> pct exec 101 --keep-env 1 -- apt-get update",
            "    DEBIAN_FRONTEND=<redacted> pct exec 101 --keep-env 1 -- apt-get install -y --no-install-recommends samba",
            "~ file[ct:101:/etc/nginx/sites-enabled/lab]",
            "    pct exec 101 -- sh -c 'umask 077 && cat > \"$1\"' sh /etc/nginx/sites-enabled/.lab.phoenix-new  # with 22 byte(s) on stdin",
            "    pct exec 101 -- chmod 0644 -- /etc/nginx/sites-enabled/.lab.phoenix-new",
            "    pct exec 101 -- mv -f -- /etc/nginx/sites-enabled/.lab.phoenix-new /etc/nginx/sites-enabled/lab",
            "~ service[ct:101:nginx.service]",
            "    pct exec 101 -- systemctl reload nginx.service",
        ]
    );
}

/// The real probe script under this machine's `sh` (dash on Debian) reports each query's exit
/// status and exact output bytes, however the output looks, and the simulated node frames the
/// same queries the same way.
#[tokio::test]
async fn issue_9_the_real_probe_script_runs_every_query_in_the_one_command() {
    let scope = Scope::node();
    scope.observe(|inventory| {
        inventory
            .query("framed", ["printf", r"a\n@query x 0 1\n@\n\n"])
            .expect("valid");
        inventory
            .query("utf8", ["printf", "caf\u{e9} \u{2713}"])
            .expect("valid");
        inventory
            .query("fails", ["ls", "/phoenix-no-such-dir"])
            .expect("valid");
        inventory
            .query("missing", ["phoenix-no-such-tool", "-v"])
            .expect("valid");
        inventory.paths.insert("/phoenix-no-such-dir".to_owned());
    });
    let host = phoenix_core::LocalHost::new();
    let output = phoenix_core::Host::run(&host, &phoenix_core::probe::probe_command(&scope))
        .await
        .expect("sh runs");
    assert!(output.success(), "{}", output.stderr);
    let facts = phoenix_core::probe::parse_probe(&output.stdout).expect("parses");
    let queries = &facts.queries;
    assert_eq!(queries["framed"].status, 0);
    assert_eq!(queries["framed"].output, "a\n@query x 0 1\n@\n\n");
    assert_eq!(queries["utf8"].output, "caf\u{e9} \u{2713}");
    assert_eq!(queries["fails"].status, 2);
    assert!(
        queries["fails"]
            .output
            .contains("No such file or directory"),
        "{:?}",
        queries["fails"]
    );
    assert!(
        queries["missing"].is_missing_program(),
        "{:?}",
        queries["missing"]
    );
    assert_eq!(queries.len(), 4);
    assert!(facts.paths.is_empty());

    // The simulated node: a query reaches the emulator that claims its program.
    let node = node();
    let scope = Scope::node();
    scope.observe(|inventory| {
        inventory
            .query("dpkg", ["dpkg-query", "-W", "--", "nginx"])
            .expect("valid");
        inventory
            .query("missing", ["phoenix-no-such-tool"])
            .expect("valid");
    });
    let output = phoenix_core::Host::run(&*node, &phoenix_core::probe::probe_command(&scope))
        .await
        .expect("runs");
    let facts = phoenix_core::probe::parse_probe(&output.stdout).expect("parses");
    assert!(facts.queries["missing"].is_missing_program());
    assert_eq!(
        facts.queries["dpkg"].output, "dpkg-query: no packages found matching nginx\n",
        "{facts:?}"
    );
    assert_eq!(facts.queries["dpkg"].status, 1);
}

#[test]
fn issue_9_a_query_is_named_once_and_carries_plain_arguments() {
    let scope = Scope::node();
    scope.observe(|inventory| {
        inventory.query("a", ["exportfs", "-v"]).expect("first");
        inventory
            .query("a", ["exportfs", "-v"])
            .expect("the same again");
        assert!(inventory.query("a", ["exportfs", "-s"]).is_err());
        assert!(inventory.query("b c", ["true"]).is_err());
        assert!(inventory.query("b", ["x\ty"]).is_err());
        assert!(inventory.query("b", [""]).is_err());
        assert!(inventory.query::<&str>("b", []).is_err());
    });
}

/// The lab's node with `file` added to container 900's scope (a stopped template with features).
fn lab_with_a_file_in_the_stopped_template(content: &str) -> Engine {
    let registry = phoenix_cli::registry();
    let config =
        phoenix_core::config::ConfigSet::load(&crate::support::lab()).expect("the lab loads");
    let mut desired = registry.decode(&config);
    let scope = desired
        .scopes
        .get("ct:900")
        .expect("phoenix-lxc registers ct");
    desired.resources.push(Box::new(
        File::new("/etc/phoenix-template-note", content).in_scope(&scope),
    ));
    Engine::new(desired).expect("no cycle")
}

fn lab_node() -> Arc<SimNode> {
    let state: SimState = serde_json::from_str(
        &std::fs::read_to_string(crate::support::lab().join("sim-state.json")).expect("read"),
    )
    .expect("the lab's node");
    Arc::new(SimNode::from_state(state, phoenix_cli::registry().emulators()).expect("node"))
}

fn pct_verbs(node: &SimNode, run: u64) -> Vec<String> {
    node.audit()
        .iter()
        .filter(|e| e.run == run && e.argv.first().map(String::as_str) == Some("pct"))
        .filter(|e| e.argv.get(1).is_some_and(|v| v != "list"))
        .map(|e| e.argv[1..e.argv.len().min(3)].join(" "))
        .collect()
}

/// A container that does not start at boot cannot run its scope's probe once provisioned and
/// stopped; its provisioning snapshot records the fingerprint of the resources in its scope, so
/// a converged template plans nothing and is not started, and a changed resource in it starts,
/// changes, stops and snapshots it again.
#[tokio::test]
async fn issue_11_a_stopped_template_whose_snapshot_records_its_scope_is_settled() {
    let node = lab_node();
    let first = lab_with_a_file_in_the_stopped_template("v1\n");
    let report = apply(&node, &first).await;
    assert!(all_applied(&report), "{report:#?}");
    let status = |id: &str| {
        node.state().tools["pct"]["containers"]
            .get(id)
            .and_then(|c| c.get("status"))
            .and_then(|s| s.as_str().map(str::to_owned))
            .unwrap_or_else(|| "stopped".to_owned())
    };
    assert_eq!(status("900"), "stopped", "the template is stopped again");
    // Converged: nothing planned, nothing started.
    let run = node.begin_run();
    let plan = first.plan(host(&node), &PlanOptions::default()).await;
    assert!(!plan.has_errors(), "{:#?}", plan.diagnostics);
    let shown: Vec<String> = plan.changes.iter().map(|c| c.id.to_string()).collect();
    assert_eq!(shown, Vec::<String>::new(), "the second plan is empty");
    assert_eq!(pct_verbs(&node, run), Vec::<String>::new());
    // Changed content: re-provisioned in order, and the template ends stopped.
    let second = lab_with_a_file_in_the_stopped_template("v2\n");
    let plan = second.plan(host(&node), &PlanOptions::default()).await;
    let shown: Vec<String> = plan.changes.iter().map(|c| c.id.to_string()).collect();
    assert_eq!(
        shown,
        [
            "lxc.features[900]",
            "file[ct:900:/etc/phoenix-template-note]",
            "lxc.start[900]",
            "lxc.snapshot[900]"
        ]
    );
    let run = node.begin_run();
    let report = apply(&node, &second).await;
    assert!(all_applied(&report), "{report:#?}");
    let verbs = pct_verbs(&node, run);
    let start = verbs.iter().position(|v| v == "start 900");
    let write = verbs.iter().position(|v| v.starts_with("exec 900"));
    let stop = verbs.iter().position(|v| v == "shutdown 900");
    let snap = verbs.iter().position(|v| v.starts_with("snapshot 900"));
    assert!(
        start < write && write < stop && stop < snap && start.is_some(),
        "start, write, stop, snapshot: {verbs:#?}"
    );
    assert_eq!(status("900"), "stopped");
    let plan = second.plan(host(&node), &PlanOptions::default()).await;
    assert!(plan.changes.is_empty(), "{:#?}", plan.changes);
}
