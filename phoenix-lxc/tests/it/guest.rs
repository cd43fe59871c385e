//! Commands inside a container through `pct exec`: the files, dpkg, apt, locales, systemd, and
//! `pct push`.

use phoenix_core::Cmd;
use phoenix_lxc::parse::{PROBE_SCRIPT, ProbeRequest, parse_probe_output, probe_args, sha256_hex};
use serde_json::json;

use crate::support::{create, node, node_with, ok, run, run_cmd};

/// Runs `words` in container 951.
async fn exec(node: &phoenix_core::sim::SimNode, words: &[&str]) -> crate::support::Ran {
    let mut all = vec!["pct", "exec", "951", "--"];
    all.extend(words);
    run(node, &all).await
}

/// A running container 951 from the Ubuntu template.
async fn running() -> phoenix_core::sim::SimNode {
    let node = node();
    create(&node, "951", "vllm-embed").await;
    ok(&node, &["pct", "start", "951"]).await;
    node
}

#[tokio::test]
async fn files() {
    let node = running().await;
    assert_eq!(
        exec(&node, &["cat", "/etc/hostname"]).await.stdout,
        "vllm-embed\n"
    );
    let ran = exec(&node, &["cat", "/nope", "/etc"]).await;
    assert_eq!(
        (ran.status, ran.stderr.as_str()),
        (
            1,
            "cat: /nope: No such file or directory\ncat: /etc: Is a directory\n"
        )
    );
    assert_eq!(exec(&node, &["mkdir", "-p", "/opt/a/b"]).await.status, 0);
    assert_eq!(exec(&node, &["test", "-d", "/opt/a"]).await.status, 0);
    assert_eq!(exec(&node, &["test", "-f", "/opt/a"]).await.status, 1);
    let ran = exec(&node, &["mkdir", "/x/y"]).await;
    assert_eq!(
        ran.stderr,
        "mkdir: cannot create directory '/x/y': No such file or directory\n"
    );
    let ran = exec(&node, &["rm", "-f", "/opt/a", "/missing"]).await;
    assert_eq!(
        (ran.status, ran.stderr.as_str()),
        (1, "rm: cannot remove '/opt/a': Is a directory\n")
    );
    let ran = exec(&node, &["sha256sum", "/etc/hostname"]).await;
    assert_eq!(
        ran.stdout,
        format!("{}  /etc/hostname\n", sha256_hex("vllm-embed\n"))
    );
    let ran = exec(&node, &["curl", "-s", "http://x"]).await;
    assert_eq!(ran.status, 127);
    assert_eq!(
        ran.stderr,
        "lxc-attach: 951: ../src/lxc/attach.c: lxc_attach_run_command: 1845 No such file or directory - Failed to exec \"curl\"\n"
    );
    let ran = exec(&node, &["ls", "/"]).await;
    assert_eq!(
        (ran.status, ran.stderr.as_str()),
        (2, "phoenix sim: `pct exec 951 -- ls /` is not emulated\n")
    );
    // Through a bind mount, the node's own files.
    let mut state = node.state();
    state.files.insert(
        "/fastData/shared/models/a.bin".to_owned(),
        phoenix_core::sim::SimFile::text("weights"),
    );
    let node2 =
        phoenix_core::sim::SimNode::from_state(state, phoenix_lxc::sim::emulators()).expect("node");
    ok(
        &node2,
        &[
            "pct",
            "set",
            "951",
            "--mp0",
            "/fastData/shared/models,mp=/models,ro=1",
        ],
    )
    .await;
    assert_eq!(
        ok(
            &node2,
            &["pct", "exec", "951", "--", "cat", "/models/a.bin"]
        )
        .await,
        "weights"
    );
}

#[tokio::test]
async fn apt_needs_update_then_installs_with_dependencies() {
    let node = running().await;
    let ran = run(
        &node,
        &[
            "pct",
            "exec",
            "951",
            "--",
            "env",
            "DEBIAN_FRONTEND=noninteractive",
            "apt-get",
            "install",
            "-y",
            "curl",
        ],
    )
    .await;
    assert_eq!(ran.status, 100);
    assert_eq!(
        ran.stdout,
        "Reading package lists...\nBuilding dependency tree...\nReading state information...\n"
    );
    assert_eq!(ran.stderr, "E: Unable to locate package curl\n");
    let update = ok(&node, &["pct", "exec", "951", "--", "apt-get", "update"]).await;
    assert!(
        update.starts_with("Get:1 http://archive.ubuntu.com/ubuntu noble InRelease [256 kB]\n"),
        "{update}"
    );
    assert!(
        update.ends_with("Fetched 16.9 MB in 3s (5636 kB/s)\nReading package lists...\n"),
        "{update}"
    );
    let again = ok(&node, &["pct", "exec", "951", "--", "apt-get", "update"]).await;
    assert!(again.starts_with("Hit:1 http://archive.ubuntu.com/ubuntu noble InRelease\n"));
    assert!(!node.audit().last().expect("audited").is_mutation());
    let out = ok(
        &node,
        &[
            "pct",
            "exec",
            "951",
            "--",
            "env",
            "DEBIAN_FRONTEND=noninteractive",
            "apt-get",
            "install",
            "-y",
            "jq",
            "dpkg",
        ],
    )
    .await;
    assert!(
        out.contains("dpkg is already the newest version (1.22.6ubuntu6).\n"),
        "{out}"
    );
    assert!(out.contains("The following additional packages will be installed:\n  libjq1 libonig5\nThe following NEW packages will be installed:\n  jq libjq1 libonig5\n0 upgraded, 3 newly installed, 0 to remove and 0 not upgraded.\n"), "{out}");
    assert!(
        out.ends_with("Setting up jq (1.7.1-3build1) ...\n"),
        "{out}"
    );
    let query = run_cmd(
        &node,
        Cmd::read(
            "pct",
            [
                "exec",
                "951",
                "--",
                "dpkg-query",
                "-W",
                "-f=${Package} ${db:Status-Status}\\n",
                "jq",
                "curl",
                "bash",
            ],
        ),
    )
    .await;
    assert_eq!(query.stdout, "bash installed\njq installed\n");
    assert_eq!(
        (query.status, query.stderr.as_str()),
        (1, "dpkg-query: no packages found matching curl\n")
    );
    let again = ok(
        &node,
        &["pct", "exec", "951", "--", "apt-get", "install", "-y", "jq"],
    )
    .await;
    assert!(again.ends_with("jq is already the newest version (1.7.1-3build1).\n0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n"));
    assert_eq!(
        ok(
            &node,
            &["pct", "exec", "951", "--", "test", "-x", "/usr/bin/jq"]
        )
        .await,
        ""
    );
}

#[tokio::test]
async fn locales_and_services() {
    let node = running().await;
    let out = ok(
        &node,
        &["pct", "exec", "951", "--", "locale-gen", "en_US.UTF-8"],
    )
    .await;
    assert_eq!(
        out,
        "Generating locales (this might take a while)...\n  en_US.UTF-8... done\nGeneration complete.\n"
    );
    ok(
        &node,
        &[
            "pct",
            "exec",
            "951",
            "--",
            "update-locale",
            "LANG=en_US.UTF-8",
            "LC_ALL=en_US.UTF-8",
        ],
    )
    .await;
    assert_eq!(
        ok(
            &node,
            &["pct", "exec", "951", "--", "cat", "/etc/default/locale"]
        )
        .await,
        "LANG=en_US.UTF-8\nLC_ALL=en_US.UTF-8\n"
    );
    let ran = run(
        &node,
        &[
            "pct",
            "exec",
            "951",
            "--",
            "update-locale",
            "LANG=de_DE.UTF-8",
        ],
    )
    .await;
    assert_eq!(
        (ran.status, ran.stderr.as_str()),
        (
            1,
            "*** update-locale: Error: invalid locale settings:  LANG=de_DE.UTF-8\n"
        )
    );
    let ran = run(
        &node,
        &[
            "pct",
            "exec",
            "951",
            "--",
            "systemctl",
            "is-active",
            "systemd-journald",
            "nginx",
        ],
    )
    .await;
    assert_eq!((ran.status, ran.stdout.as_str()), (0, "active\ninactive\n"));
    let ran = run(
        &node,
        &[
            "pct",
            "exec",
            "951",
            "--",
            "systemctl",
            "is-active",
            "--quiet",
            "nginx",
        ],
    )
    .await;
    assert_eq!((ran.status, ran.stdout.as_str()), (3, ""));
}

#[tokio::test]
async fn push_then_probe() {
    let node = node_with(
        json!({"apt_repository": {"nginx": {"version": "1.24.0-2ubuntu7.5", "commands": ["/usr/sbin/nginx"], "services": {"nginx.service": "active"}}}}),
    );
    create(&node, "101", "gateway").await;
    ok(&node, &["pct", "start", "101"]).await;
    let mut state = node.state();
    state.files.insert(
        "/tmp/phoenix/site.conf".to_owned(),
        phoenix_core::sim::SimFile::text("server {}\n"),
    );
    let node =
        phoenix_core::sim::SimNode::from_state(state, phoenix_lxc::sim::emulators()).expect("node");
    let ran = run(
        &node,
        &[
            "pct",
            "push",
            "101",
            "/tmp/phoenix/site.conf",
            "/etc/nginx/site.conf",
        ],
    )
    .await;
    assert_eq!(
        ran.stderr,
        "failed to create file: /etc/nginx/site.conf: No such file or directory\n"
    );
    ok(
        &node,
        &["pct", "exec", "101", "--", "mkdir", "-p", "/etc/nginx"],
    )
    .await;
    ok(
        &node,
        &[
            "pct",
            "push",
            "101",
            "/tmp/phoenix/site.conf",
            "/etc/nginx/site.conf",
            "--perms",
            "640",
            "--user",
            "root",
            "--group",
            "www-data",
        ],
    )
    .await;
    ok(&node, &["pct", "exec", "101", "--", "apt-get", "update"]).await;
    ok(
        &node,
        &[
            "pct", "exec", "101", "--", "apt-get", "install", "-y", "nginx",
        ],
    )
    .await;
    let requests = [
        ProbeRequest::Command("nginx".to_owned()),
        ProbeRequest::Command("curl".to_owned()),
        ProbeRequest::Package("nginx".to_owned()),
        ProbeRequest::File("/etc/nginx/site.conf".to_owned()),
        ProbeRequest::File("/etc/nginx".to_owned()),
        ProbeRequest::Service("nginx".to_owned()),
        ProbeRequest::Service("ssh.service".to_owned()),
    ];
    let mut cmd = Cmd::read(
        "pct",
        [
            "exec",
            "101",
            "--",
            "sh",
            "-c",
            PROBE_SCRIPT,
            "phoenix-probe",
        ],
    );
    for arg in probe_args(&requests) {
        cmd = cmd.arg(arg);
    }
    let ran = run_cmd(&node, cmd).await;
    assert_eq!(ran.status, 0);
    assert_eq!(
        ran.stdout,
        format!(
            "cmd:nginx yes /usr/sbin/nginx\ncmd:curl no\npkg:nginx yes 1.24.0-2ubuntu7.5\nfile:/etc/nginx/site.conf yes {}\nfile:/etc/nginx yes\nsvc:nginx yes\nsvc:ssh.service no inactive\n",
            sha256_hex("server {}\n")
        )
    );
    assert_eq!(
        parse_probe_output(&ran.stdout).expect("parses").len(),
        requests.len()
    );
    assert!(
        !node.audit().last().expect("audited").is_mutation(),
        "the probe reads only"
    );
    let pushed = node.state().tools["pct"]["volumes"]["local-zfs:subvol-101-disk-0"]["content"]["files"]["/etc/nginx/site.conf"].clone();
    assert_eq!(
        pushed,
        json!({"content": "server {}\n", "mode": "0640", "owner": "root:www-data"})
    );
}

#[tokio::test]
async fn upstream_base_setup_converges_and_probes_clean() {
    let node = running().await;
    let packages = [
        "curl", "wget", "vim", "htop", "jq", "git", "rsync", "s-tui", "gnupg", "locales",
    ];
    let mut probe = Cmd::read(
        "pct",
        [
            "exec",
            "951",
            "--",
            "sh",
            "-c",
            PROBE_SCRIPT,
            "phoenix-probe",
        ],
    );
    for package in packages {
        probe = probe.arg(format!("pkg:{package}"));
    }
    probe = probe.arg("file:/etc/default/locale");
    let before = parse_probe_output(&run_cmd(&node, probe.clone()).await.stdout).expect("parses");
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|package| !before[&ProbeRequest::Package((*package).to_owned())].is_yes())
        .collect();
    assert_eq!(
        missing.len(),
        9,
        "only locales is in the template: {missing:?}"
    );
    ok(&node, &["pct", "exec", "951", "--", "apt-get", "update"]).await;
    let mut install = vec![
        "pct",
        "exec",
        "951",
        "--",
        "env",
        "DEBIAN_FRONTEND=noninteractive",
        "apt-get",
        "install",
        "-y",
    ];
    install.extend(packages);
    let out = ok(&node, &install).await;
    assert!(
        out.contains("locales is already the newest version (2.39-0ubuntu8).\n"),
        "{out}"
    );
    ok(
        &node,
        &["pct", "exec", "951", "--", "locale-gen", "en_US.UTF-8"],
    )
    .await;
    ok(
        &node,
        &[
            "pct",
            "exec",
            "951",
            "--",
            "update-locale",
            "LANG=en_US.UTF-8",
            "LC_ALL=en_US.UTF-8",
        ],
    )
    .await;
    let after = parse_probe_output(&run_cmd(&node, probe).await.stdout).expect("parses");
    assert!(after.values().all(|answer| answer.is_yes()), "{after:?}");
    assert_eq!(
        after[&ProbeRequest::File("/etc/default/locale".to_owned())].detail(),
        Some(sha256_hex("LANG=en_US.UTF-8\nLC_ALL=en_US.UTF-8\n").as_str())
    );
}

#[tokio::test]
async fn issue_9_the_core_scope_probe_runs_inside_a_container() {
    use std::sync::Arc;

    let node = running().await;
    ok(
        &node,
        &["pct", "exec", "951", "--", "mkdir", "-p", "/opt/models"],
    )
    .await;
    let installed = exec(&node, &["dpkg-query", "-W", "-f=${Package}\\n"])
        .await
        .stdout;
    let package = installed
        .lines()
        .next()
        .expect("the template has packages")
        .to_owned();
    let scopes = phoenix_core::Scopes::new([
        Arc::new(phoenix_lxc::PctExec) as Arc<dyn phoenix_core::GuestTransport>
    ]);
    let scope = scopes.get("ct:951").expect("a container scope");
    scope.observe(|inventory| {
        inventory
            .packages
            .extend([package.clone(), "nosuch".to_owned()]);
        inventory.units.insert("nosuch.service".to_owned());
        inventory
            .paths
            .extend(["/etc/hostname", "/opt/models", "/nope"].map(str::to_owned));
    });
    let ran = run_cmd(&node, phoenix_core::probe::probe_command(&scope)).await;
    assert_eq!(ran.status, 0, "{}", ran.stderr);
    let facts = phoenix_core::probe::parse_probe(&ran.stdout).expect("the probe parses");
    assert!(facts.packages[&package].is_installed());
    assert!(!facts.packages.contains_key("nosuch"));
    assert_eq!(facts.units["nosuch.service"].load_state, "not-found");
    assert_eq!(
        facts.paths["/etc/hostname"].content.as_deref(),
        Some("vllm-embed\n")
    );
    assert!(facts.paths["/opt/models"].is_dir());
    assert!(!facts.paths.contains_key("/nope"));
    // chmod and chown of a directory are what the probe's stat reads back.
    for words in [
        ["chmod", "750", "--", "/opt/models"],
        ["chown", "nobody:nogroup", "--", "/opt/models"],
    ] {
        let mut all = vec!["pct", "exec", "951", "--"];
        all.extend(words);
        ok(&node, &all).await;
    }
    let ran = run_cmd(&node, phoenix_core::probe::probe_command(&scope)).await;
    let facts = phoenix_core::probe::parse_probe(&ran.stdout).expect("the probe parses");
    let models = &facts.paths["/opt/models"];
    assert_eq!(
        (models.mode, models.owner.as_str()),
        (0o750, "nobody:nogroup")
    );
    assert!(
        facts.paths.contains_key("/etc/hostname"),
        "other paths are unchanged"
    );
}

/// A package, a directory, a file and the service it reloads in container 951, as any provider would place
/// them.
fn resolved_in_951(scopes: &phoenix_core::Scopes, dns: &str) -> phoenix_core::Engine {
    use phoenix_core::directory::Directory;

    let scope = scopes.get("ct:951").expect("a container scope");
    let mut desired = phoenix_core::Desired::default();
    desired.resources = resolved(
        &scope,
        "/etc/systemd/resolved.conf.d/phoenix.conf",
        &format!("[Resolve]\nDNS={dns}\n"),
    );
    desired.resources.insert(
        1,
        Box::new(Directory::new(&scope, "/etc/systemd/resolved.conf.d")),
    );
    phoenix_core::Engine::new(desired).expect("no cycle")
}

/// A package, a file at `path` with `content`, and the service it reloads, in `scope`.
fn resolved(
    scope: &phoenix_core::Scope,
    path: &str,
    content: &str,
) -> Vec<Box<dyn phoenix_core::DynResource>> {
    use phoenix_core::file::File;
    use phoenix_core::service::{OnChange, Service};

    let file = File::new(path, content).in_scope(scope);
    let file_id = phoenix_core::Resource::id(&file);
    vec![
        Box::new(phoenix_core::package::Package::new(scope, "curl")),
        Box::new(file),
        Box::new(
            Service::new(scope, "systemd-resolved")
                .file(file_id)
                .on_change(OnChange::Reload),
        ),
    ]
}

#[tokio::test]
async fn issue_9_primitives_converge_inside_a_container_on_the_simulated_node() {
    use std::sync::Arc;

    use phoenix_core::{ApplyOptions, Host, Observer, PlanOptions, Status};

    let node = Arc::new(running().await);
    let host = || Arc::clone(&node) as Arc<dyn Host>;
    let quiet = || Arc::new(phoenix_core::apply::Quiet) as Arc<dyn Observer>;
    let scopes = phoenix_core::Scopes::new([
        Arc::new(phoenix_lxc::PctExec) as Arc<dyn phoenix_core::GuestTransport>
    ]);
    let report = resolved_in_951(&scopes, "10.0.0.53")
        .apply(host(), &ApplyOptions::default(), quiet())
        .await
        .expect("no plan errors");
    assert!(
        report.outcomes.iter().all(|o| o.status == Status::Applied),
        "{:#?}",
        report.outcomes
    );
    let installed = exec(&node, &["dpkg-query", "-W", "curl"]).await;
    assert_eq!(installed.status, 0, "{}", installed.stderr);
    let conf = exec(&node, &["cat", "/etc/systemd/resolved.conf.d/phoenix.conf"]).await;
    assert_eq!(conf.stdout, "[Resolve]\nDNS=10.0.0.53\n");
    // A no-op plan is the container's one probe.
    let plan = resolved_in_951(&scopes, "10.0.0.53")
        .plan(host(), &PlanOptions::default())
        .await;
    assert!(!plan.has_changes(), "{:#?}", plan.changes);
    assert_eq!(plan.stats.commands_total, 1);
    // A changed file: staged, moved into place, one reload.
    let run = node.begin_run();
    let report = resolved_in_951(&scopes, "10.0.0.54")
        .apply(host(), &ApplyOptions::default(), quiet())
        .await
        .expect("no plan errors");
    assert!(
        report.outcomes.iter().all(|o| o.status == Status::Applied),
        "{:#?}",
        report.outcomes
    );
    let ops: Vec<String> = node
        .audit()
        .iter()
        .filter(|e| e.run == run && e.mutated)
        .map(|e| e.argv.join(" "))
        .collect();
    assert_eq!(
        ops,
        [
            "pct exec 951 -- sh -c umask 077 && cat > \"$1\" sh /etc/systemd/resolved.conf.d/.phoenix.conf.phoenix-new",
            "pct exec 951 -- chmod 0644 -- /etc/systemd/resolved.conf.d/.phoenix.conf.phoenix-new",
            "pct exec 951 -- mv -f -- /etc/systemd/resolved.conf.d/.phoenix.conf.phoenix-new /etc/systemd/resolved.conf.d/phoenix.conf",
        ],
        "the reload changes no state of the model, so it is not a mutation"
    );
    assert!(node.audit().iter().any(|e| e.run == run
        && e.argv.join(" ") == "pct exec 951 -- systemctl reload systemd-resolved.service"));
}

/// `resolved_in_951`'s resources in each of `ids`.
fn resolved_in(scopes: &phoenix_core::Scopes, ids: &[&str]) -> phoenix_core::Engine {
    let mut desired = phoenix_core::Desired::default();
    for id in ids {
        let scope = scopes.get(&format!("ct:{id}")).expect("a container scope");
        desired
            .resources
            .extend(resolved(&scope, "/etc/phoenix-id", &format!("{id}\n")));
    }
    phoenix_core::Engine::new(desired).expect("no cycle")
}

#[tokio::test]
async fn issue_10_every_container_scope_is_probed_by_one_host_command() {
    use std::sync::Arc;

    use phoenix_core::{ApplyOptions, Host, Observer, PlanOptions, Status};

    let node = Arc::new(node());
    for (id, name) in [("951", "a"), ("952", "b"), ("953", "c"), ("954", "d")] {
        create(&node, id, name).await;
        if id != "954" {
            ok(&node, &["pct", "start", id]).await;
        }
    }
    let host = || Arc::clone(&node) as Arc<dyn Host>;
    let quiet = || Arc::new(phoenix_core::apply::Quiet) as Arc<dyn Observer>;
    let scopes = phoenix_core::Scopes::new([
        Arc::new(phoenix_lxc::PctExec) as Arc<dyn phoenix_core::GuestTransport>
    ]);
    let running = ["951", "952", "953"];
    let report = resolved_in(&scopes, &running)
        .apply(host(), &ApplyOptions::default(), quiet())
        .await
        .expect("no plan errors");
    assert!(
        report.outcomes.iter().all(|o| o.status == Status::Applied),
        "{:#?}",
        report.outcomes
    );
    // A no-op plan of three container scopes is one host command.
    let plan = resolved_in(&scopes, &running)
        .plan(host(), &PlanOptions::default())
        .await;
    assert!(!plan.has_changes(), "{:#?}", plan.changes);
    assert_eq!(plan.stats.commands_total, 1, "{:?}", plan.stats);
    assert_eq!(plan.stats.commands_by_program.get("timeout"), Some(&1));
    // A stopped container's scope fails on its own; the others are planned from the same command.
    let plan = resolved_in(&scopes, &["951", "952", "953", "954"])
        .plan(host(), &PlanOptions::default())
        .await;
    assert_eq!(plan.stats.commands_total, 1, "{:?}", plan.stats);
    let failed: Vec<String> = plan
        .diagnostics
        .iter()
        .filter(|d| d.severity == phoenix_core::Severity::Error)
        .map(|d| d.to_string())
        .collect();
    assert_eq!(failed.len(), 3, "{failed:#?}");
    assert!(
        failed
            .iter()
            .all(|d| d.contains("container 954 is not running")),
        "{failed:#?}"
    );
}

/// A tool of another provider that answers inside guests: `hello NAME` appends NAME to
/// `/var/lib/hello/names` in the guest and counts greetings per guest in the node's `hello`
/// namespace; `hello --version` reads `/etc/hello.conf`; anything else is refused.
#[derive(Debug)]
struct HelloEmulator;

impl phoenix_core::sim::Emulator for HelloEmulator {
    fn programs(&self) -> Vec<String> {
        Vec::new()
    }

    fn run(
        &self,
        _argv: &[String],
        _stdin: Option<&str>,
        _sys: &mut phoenix_core::sim::SimSys<'_>,
    ) -> phoenix_core::sim::SimOutput {
        unreachable!("answers in guests only")
    }

    fn guest_programs(&self) -> Vec<String> {
        vec!["hello".to_owned()]
    }

    fn run_in_guest(
        &self,
        argv: &[String],
        _stdin: Option<&str>,
        guest: &mut dyn phoenix_core::sim::GuestSys<'_>,
    ) -> Option<phoenix_core::sim::SimOutput> {
        use phoenix_core::sim::{SimFile, SimOutput};
        match argv {
            [program, flag] if program == "hello" && flag == "--version" => {
                let conf = guest.read("/etc/hello.conf")?;
                Some(SimOutput::ok(format!("hello {}", conf.content)))
            }
            [_, name] => {
                let mut names = guest
                    .read("/var/lib/hello/names")
                    .map(|file| file.content)
                    .unwrap_or_default();
                names.push_str(&format!("{name}\n"));
                guest.write(
                    "/var/lib/hello/names",
                    SimFile::new(names, 0o644, "root:root"),
                );
                let scope = guest.scope().to_owned();
                let state = guest.node().tool_state("hello");
                let count = state[&scope].as_u64().unwrap_or_default() + 1;
                state[&scope] = json!(count);
                let ssh = guest.unit_state("ssh.socket").unwrap_or_default();
                Some(SimOutput::ok_mutated(format!(
                    "Hello, {name} ({ssh} ssh)\n"
                )))
            }
            _ => None,
        }
    }
}

/// A running container 951 on a node that also registers `HelloEmulator`.
async fn running_with_hello() -> phoenix_core::sim::SimNode {
    use std::sync::Arc;

    let state = running().await.state();
    let mut emulators = phoenix_lxc::sim::emulators();
    emulators.push(Arc::new(HelloEmulator));
    phoenix_core::sim::SimNode::from_state(state, emulators).expect("node")
}

/// Puts an executable `hello` on the container's `PATH`, as an installer would.
async fn install_hello(node: &phoenix_core::sim::SimNode) {
    use phoenix_core::Host;

    node.write_file(
        std::path::Path::new("/root/hello"),
        &phoenix_core::host::FileWrite::new("#!/bin/sh\n", 0o644),
    )
    .await
    .expect("writes");
    ok(
        node,
        &["pct", "exec", "951", "--", "mkdir", "-p", "/usr/local/bin"],
    )
    .await;
    ok(
        node,
        &[
            "pct",
            "push",
            "951",
            "/root/hello",
            "/usr/local/bin/hello",
            "--perms",
            "0755",
        ],
    )
    .await;
}

#[tokio::test]
async fn issue_11_an_emulator_of_any_provider_answers_a_program_run_in_a_container() {
    let node = running_with_hello().await;
    let ran = exec(&node, &["hello", "world"]).await;
    assert_eq!(
        (ran.status, ran.stderr.as_str()),
        (
            127,
            "lxc-attach: 951: ../src/lxc/attach.c: lxc_attach_run_command: 1845 No such file or directory - Failed to exec \"hello\"\n"
        ),
        "not on the container's PATH: not run"
    );
    install_hello(&node).await;
    let ran = exec(&node, &["env", "LANG=C", "/usr/local/bin/hello", "world"]).await;
    assert_eq!(
        (ran.status, ran.stdout.as_str()),
        (0, "Hello, world (active ssh)\n"),
        "{}",
        ran.stderr
    );
    exec(&node, &["hello", "moon"]).await;
    assert_eq!(
        exec(&node, &["cat", "/var/lib/hello/names"]).await.stdout,
        "world\nmoon\n",
        "the emulator wrote the container's own file"
    );
    assert_eq!(node.state().tools["hello"], json!({"ct:951": 2}));
    let ran = exec(&node, &["hello", "a", "b"]).await;
    assert_eq!(
        (ran.status, ran.stderr.as_str()),
        (
            2,
            "phoenix sim: `pct exec 951 -- hello a b` is not emulated\n"
        ),
        "a command line the emulator refuses"
    );
}

#[tokio::test]
async fn issue_11_a_probe_query_in_a_container_runs_through_the_emulator_that_answers_it() {
    use std::sync::Arc;

    use phoenix_core::Host;

    let node = running_with_hello().await;
    install_hello(&node).await;
    ok(&node, &["pct", "exec", "951", "--", "mkdir", "-p", "/etc"]).await;
    node.write_file(
        std::path::Path::new("/root/hello.conf"),
        &phoenix_core::host::FileWrite::new("2.12\n", 0o644),
    )
    .await
    .expect("writes");
    ok(
        &node,
        &["pct", "push", "951", "/root/hello.conf", "/etc/hello.conf"],
    )
    .await;
    let scopes = phoenix_core::Scopes::new([
        Arc::new(phoenix_lxc::PctExec) as Arc<dyn phoenix_core::GuestTransport>
    ]);
    let scope = scopes.get("ct:951").expect("a container scope");
    scope.observe(|inventory| {
        let _ = inventory.query("version", ["hello", "--version"]);
        let _ = inventory.query("refused", ["hello", "a", "b"]);
        let _ = inventory.query("absent", ["nosuch", "-v"]);
        let _ = inventory.query("hostname", ["cat", "/etc/hostname"]);
    });
    let ran = run_cmd(&node, phoenix_core::probe::probe_command(&scope)).await;
    assert_eq!(ran.status, 0, "{}", ran.stderr);
    let facts = phoenix_core::probe::parse_probe(&ran.stdout).expect("the probe parses");
    let answer = |name: &str| {
        let query = &facts.queries[name];
        (query.status, query.output.clone())
    };
    assert_eq!(answer("version"), (0, "hello 2.12\n".to_owned()));
    assert_eq!(answer("hostname"), (0, "vllm-embed\n".to_owned()));
    assert_eq!(
        answer("absent"),
        (127, "sh: 1: nosuch: not found\n".to_owned())
    );
    assert_eq!(
        answer("refused"),
        (127, "sh: 1: hello: not found\n".to_owned()),
        "what nothing emulates is reported missing (scope_probe.rs's assumption)"
    );
}
