//! Issue 12, the Ollama and Qdrant parts: the files Phoenix writes for them, checked by the real
//! tools of this machine (`systemd-analyze verify` for both units, PyYAML for Qdrant's
//! `config.yaml`, whose keys must be ones Qdrant documents).

use std::path::{Path, PathBuf};

use phoenix_core::config::{ConfigSet, Document};
use phoenix_core::{Cmd, Host, LocalHost};

use crate::support::arg;

/// The lab's 955 and 952 as the readers see them, with Qdrant enabled on 952 and an API key.
fn servers() -> (
    phoenix_services::ollama::Ollama,
    phoenix_services::qdrant::Qdrant,
) {
    let text = r#"{"lxc_configs": {
        "955": {"features": ["ollama"], "name": "ollama-oWUI", "network_config": {"ip": "10.0.0.155/24"},
                "ollama": {"models": ["llama3.2:3b", "nomic-embed-text"]}},
        "952": {"features": ["qdrant"], "name": "qdrant-VSCodeRag", "network_config": {"ip": "10.0.0.152/24"},
                "volumes": [{"name": "qdrant_data", "pool": "quickOS-shared-prod-data", "size_gb": 20, "mount_point": "/qdrant/storage"}],
                "qdrant": {"api_key_file": "/root/phoenix/qdrant-api-key"}}
    },
    "shared_volumes": {"ollama_models": {"host_path": "/fastData/shared-bulk-data/ollama_models",
                                         "mounts": {"955": "/usr/share/ollama/.ollama/models"}}}}"#;
    let document = Document::parse(PathBuf::from("c.json"), text.to_owned()).expect("JSON");
    let config = ConfigSet::from_documents(vec![document]);
    let ollama = phoenix_services::ollama::servers(&config);
    let qdrant = phoenix_services::qdrant::servers(&config);
    assert!(ollama.problems.is_empty(), "{:?}", ollama.problems);
    assert!(qdrant.problems.is_empty(), "{:?}", qdrant.problems);
    (ollama.servers[&955].clone(), qdrant.servers[&952].clone())
}

/// Runs `cmd` with this machine's real tools.
fn run(cmd: &Cmd) -> phoenix_core::Output {
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(LocalHost::new().run(cmd))
        .expect("the tool runs (cargo xtask ci installs it)")
}

/// `systemd-analyze verify` of `text` saved as `name` in `dir`: its status and output.
fn verify_unit(dir: &Path, name: &str, text: &str) -> (Option<i32>, String) {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    let out = run(&Cmd::read("systemd-analyze", ["verify", arg(&path)]));
    let shown = format!("{}{}", out.stdout, out.stderr).replace(arg(dir), "DIR");
    (out.status, shown)
}

#[test]
fn issue_12_the_real_systemd_analyze_accepts_the_ollama_and_qdrant_units() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (ollama, qdrant) = servers();
    // The binaries come with the release installs, which this machine has not: the check points
    // them at a program that exists and verifies every other line as written.
    let ollama_unit = phoenix_ai::ollama::unit::unit_text(&ollama);
    let qdrant_unit = phoenix_ai::qdrant::files::unit_text(&qdrant);
    for (name, text, binary) in [
        (
            "ollama.service",
            &ollama_unit,
            phoenix_ai::ollama::unit::binary(&ollama.version),
        ),
        (
            "qdrant.service",
            &qdrant_unit,
            phoenix_ai::qdrant::files::binary(&qdrant.version),
        ),
    ] {
        assert_eq!(text.matches(&binary).count(), 1, "{text}");
        let runnable = text.replace(&binary, "/bin/true");
        let (status, output) = verify_unit(dir.path(), name, &runnable);
        assert_eq!((status, output.as_str()), (Some(0), ""), "{name}");
        // The checker is not silent on the kind of mistake it must catch.
        let broken = runnable.replace("Restart=always", "Restart=alwayz");
        let (_, output) = verify_unit(dir.path(), name, &broken);
        assert!(
            output.contains("Failed to parse service restart specifier"),
            "{output}"
        );
    }
    for expect in [
        "Environment=\"OLLAMA_HOST=0.0.0.0:11434\"",
        "Environment=\"OLLAMA_MODELS=/usr/share/ollama/.ollama/models\"",
        "User=ollama",
        "ExecStart=/opt/ollama/0.32.7/bin/ollama serve",
    ] {
        assert!(ollama_unit.contains(expect), "{expect}\n{ollama_unit}");
    }
    for expect in [
        "EnvironmentFile=/etc/qdrant/api-key.env",
        "RequiresMountsFor=/qdrant/storage",
        "ExecStart=/opt/qdrant/1.19.1/qdrant --config-path /etc/qdrant/config.yaml",
        "User=qdrant",
    ] {
        assert!(qdrant_unit.contains(expect), "{expect}\n{qdrant_unit}");
    }
    assert_eq!(
        phoenix_ai::qdrant::files::version_of_unit(&qdrant_unit),
        Some("1.19.1")
    );
}

/// Every key of Qdrant's own `config/config.yaml` (qdrant/qdrant at 00bb9b7) that Phoenix may
/// write, as a dotted path, with the YAML type it has there.
const DOCUMENTED: &[(&str, &str)] = &[
    ("log_level", "str"),
    ("storage", "dict"),
    ("storage.storage_path", "str"),
    ("storage.snapshots_path", "str"),
    ("storage.temp_path", "str"),
    ("storage.on_disk_payload", "bool"),
    ("service", "dict"),
    ("service.host", "str"),
    ("service.http_port", "int"),
    ("service.grpc_port", "int"),
    ("service.enable_cors", "bool"),
    ("service.max_request_size_mb", "int"),
    ("service.api_key", "str"),
    ("telemetry_disabled", "bool"),
];

/// Parses YAML with the real PyYAML and prints each dotted key with its Python type.
const KEYS_OF_YAML: &str = r#"import sys, yaml
def walk(prefix, value):
    for key, item in value.items():
        path = prefix + key
        print(path, type(item).__name__)
        if isinstance(item, dict):
            walk(path + '.', item)
walk('', yaml.safe_load(sys.stdin))
"#;

fn keys_of_yaml(text: &str) -> Vec<(String, String)> {
    let out = run(&Cmd::read("python3", ["-c", KEYS_OF_YAML]).stdin(text.to_owned()));
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    out.stdout
        .lines()
        .map(|line| {
            let (key, kind) = line.split_once(' ').expect("key type");
            (key.to_owned(), kind.to_owned())
        })
        .collect()
}

#[test]
fn issue_12_qdrant_config_yaml_parses_and_uses_only_documented_keys() {
    let (_, qdrant) = servers();
    let text = phoenix_ai::qdrant::files::config_yaml(&qdrant);
    let keys = keys_of_yaml(&text);
    for (key, kind) in &keys {
        assert!(
            DOCUMENTED.contains(&(key.as_str(), kind.as_str())),
            "{key} ({kind}) is not a documented Qdrant key of that type\n{text}"
        );
    }
    let has = |key: &str| keys.iter().any(|(k, _)| k == key);
    for key in [
        "storage.storage_path",
        "storage.snapshots_path",
        "service.http_port",
        "service.grpc_port",
    ] {
        assert!(has(key), "{key}\n{text}");
    }
    assert!(!has("service.api_key"), "the key is never in config.yaml");
    assert!(text.contains("  storage_path: /qdrant/storage\n"), "{text}");
    assert!(
        text.contains("  snapshots_path: /qdrant/storage/snapshots\n"),
        "{text}"
    );
    assert_eq!(
        phoenix_ai::qdrant::files::storage_path_of(&text),
        Some("/qdrant/storage")
    );
    // The check can fail: an undocumented key (Qdrant's own spelling is storage_path) is caught.
    let wrong = text.replace("storage_path:", "path:");
    assert!(
        keys_of_yaml(&wrong)
            .iter()
            .any(|(key, kind)| !DOCUMENTED.contains(&(key.as_str(), kind.as_str())))
    );
}

/// The simulated node with the container and AI emulators, and the lab's template.
fn sim_node() -> phoenix_core::sim::SimNode {
    sim_node_from(phoenix_core::sim::SimState::new())
}

/// [`sim_node`] from `state` (tool state seeded by a test).
fn sim_node_from(mut state: phoenix_core::sim::SimState) -> phoenix_core::sim::SimNode {
    use phoenix_core::sim::{SimFile, SimNode};
    state.files.insert(
        "/etc/pve/storage.cfg".to_owned(),
        SimFile::text(
            "dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\nzfspool: local-zfs\n\tpool rpool/data\n\tcontent rootdir,images\n\tsparse 1\n",
        ),
    );
    state
        .files
        .insert(TEMPLATE.to_owned(), SimFile::text("(zstd archive)"));
    let mut emulators = phoenix_lxc::sim::emulators();
    emulators.extend(phoenix_ai::guest_stand_in::emulators());
    emulators.push(std::sync::Arc::new(phoenix_ai::sim::CurlEmulator));
    SimNode::from_state(state, emulators).expect("no duplicate programs")
}

const TEMPLATE: &str =
    "/fastData/shared-iso/template/cache/ubuntu-24.04-standard_24.04-2_amd64.tar.zst";

/// Runs `words` on the simulated node: status, stdout, stderr.
fn sim_run(
    node: &phoenix_core::sim::SimNode,
    words: &[&str],
    stdin: Option<&str>,
) -> (Option<i32>, String, String) {
    let mut cmd = Cmd::write(words[0], words[1..].iter().copied());
    if let Some(stdin) = stdin {
        cmd = cmd.stdin(stdin.to_owned());
    }
    let out = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(node.run(&cmd))
        .expect("runs");
    (out.status, out.stdout, out.stderr)
}

/// Runs `words` in container `id` and expects success.
fn in_ct(
    node: &phoenix_core::sim::SimNode,
    id: &str,
    words: &[&str],
    stdin: Option<&str>,
) -> String {
    let mut all = vec!["pct", "exec", id, "--"];
    all.extend(words);
    let (status, stdout, stderr) = sim_run(node, &all, stdin);
    assert_eq!(status, Some(0), "{words:?}: {stdout}{stderr}");
    stdout
}

/// Writes `content` at `path` in container `id` as Phoenix's file primitive does.
fn put(node: &phoenix_core::sim::SimNode, id: &str, path: &str, content: &str) {
    in_ct(
        node,
        id,
        &[
            "sh",
            "-c",
            phoenix_core::file::STAGE_SCRIPT,
            "phoenix-stage",
            path,
        ],
        Some(content),
    );
}

/// A running container `id` with curl, the unit of `unit_path` and an executable at `binary`.
fn container_with(
    node: &phoenix_core::sim::SimNode,
    id: &str,
    files: &[(&str, String)],
    binary: &str,
) {
    let (status, out, err) = sim_run(
        node,
        &[
            "pct",
            "create",
            id,
            TEMPLATE,
            "--hostname",
            "ai",
            "--memory",
            "2048",
            "--storage",
            "local-zfs",
            "--rootfs",
            "local-zfs:8",
            "--unprivileged",
            "1",
            "--net0",
            &format!(
                "name=eth0,bridge=vmbr0,ip=10.0.0.{}/24",
                id.parse::<u32>().expect("vmid") - 800
            ),
        ],
        None,
    );
    assert_eq!(status, Some(0), "{out}{err}");
    assert_eq!(sim_run(node, &["pct", "start", id], None).0, Some(0));
    in_ct(node, id, &["apt-get", "update"], None);
    in_ct(node, id, &["apt-get", "install", "-y", "curl"], None);
    let dir = binary.rsplit_once('/').map_or("/", |(d, _)| d);
    in_ct(
        node,
        id,
        &["mkdir", "-p", dir, "/etc/qdrant", "/etc/systemd/system"],
        None,
    );
    put(node, id, binary, "#!/bin/sh\n");
    in_ct(node, id, &["chmod", "755", binary], None);
    for (path, content) in files {
        put(node, id, path, content);
    }
}

/// The stand-ins answer inside a simulated container as the real CLI and servers do: nothing
/// listens before the unit starts, `/api/tags` lists what `ollama pull` pulled, Qdrant's
/// `/readyz` needs no key while its collections do, and the points stay in the storage path.
#[test]
fn issue_12_the_ollama_and_qdrant_stand_ins_answer_with_the_real_shapes() {
    let (ollama, qdrant) = servers();
    let node = sim_node();
    let binary = phoenix_ai::ollama::unit::binary(&ollama.version);
    container_with(
        &node,
        "955",
        &[(
            "/etc/systemd/system/ollama.service",
            phoenix_ai::ollama::unit::unit_text(&ollama),
        )],
        &binary,
    );
    let tags = ["curl", "-fsS", "http://127.0.0.1:11434/api/tags"];
    let mut all = vec!["pct", "exec", "955", "--"];
    all.extend(tags);
    let (status, _, stderr) = sim_run(&node, &all, None);
    assert_eq!(
        (status, stderr.as_str()),
        (
            Some(7),
            "curl: (7) Failed to connect to 127.0.0.1 port 11434 after 0 ms: Couldn't connect to server\n"
        )
    );
    in_ct(
        &node,
        "955",
        &["systemctl", "start", "ollama.service"],
        None,
    );
    assert_eq!(in_ct(&node, "955", &tags, None), r#"{"models":[]}"#);
    assert_eq!(
        in_ct(
            &node,
            "955",
            &["curl", "-fsS", "http://127.0.0.1:11434/api/version"],
            None
        ),
        r#"{"version":"0.32.7"}"#
    );
    in_ct(
        &node,
        "955",
        &[
            "env",
            "OLLAMA_HOST=127.0.0.1:11434",
            &binary,
            "pull",
            "nomic-embed-text",
        ],
        None,
    );
    let listed = in_ct(&node, "955", &tags, None);
    let names = phoenix_ai::ollama::models::parse_tags(&listed).expect("the real shape");
    assert_eq!(names, ["nomic-embed-text:latest"]);
    assert!(listed.contains("\"details\":{"), "{listed}");

    let qbinary = phoenix_ai::qdrant::files::binary(&qdrant.version);
    container_with(
        &node,
        "952",
        &[
            (
                "/etc/qdrant/config.yaml",
                phoenix_ai::qdrant::files::config_yaml(&qdrant),
            ),
            (
                "/etc/qdrant/api-key.env",
                "QDRANT__SERVICE__API_KEY=stand-in-key\n".to_owned(),
            ),
            (
                "/etc/systemd/system/qdrant.service",
                phoenix_ai::qdrant::files::unit_text(&qdrant),
            ),
        ],
        &qbinary,
    );
    in_ct(
        &node,
        "952",
        &["mkdir", "-p", "/qdrant/storage/collections"],
        None,
    );
    in_ct(
        &node,
        "952",
        &["systemctl", "start", "qdrant.service"],
        None,
    );
    assert_eq!(
        in_ct(
            &node,
            "952",
            &["curl", "-fsS", "http://127.0.0.1:6333/readyz"],
            None
        ),
        "all shards are ready"
    );
    let mut all = vec![
        "pct",
        "exec",
        "952",
        "--",
        "curl",
        "-fsS",
        "http://127.0.0.1:6333/collections",
    ];
    assert_eq!(sim_run(&node, &all, None).0, Some(22), "the key is needed");
    all.extend(["-H", "api-key: stand-in-key"]);
    let key = ["-H", "api-key: stand-in-key"];
    let put_collection = [
        "curl",
        "-fsS",
        "-X",
        "PUT",
        key[0],
        key[1],
        "-d",
        r#"{"vectors":{"size":2,"distance":"Cosine"}}"#,
        "http://127.0.0.1:6333/collections/docs",
    ];
    assert!(in_ct(&node, "952", &put_collection, None).contains(r#""result":true"#));
    let upsert = [
        "curl",
        "-fsS",
        "-X",
        "PUT",
        key[0],
        key[1],
        "-d",
        r#"{"points":[{"id":1,"vector":[0.1,0.2]},{"id":2,"vector":[0.3,0.4]}]}"#,
        "http://127.0.0.1:6333/collections/docs/points",
    ];
    in_ct(&node, "952", &upsert, None);
    let count = [
        "curl",
        "-fsS",
        "-X",
        "POST",
        key[0],
        key[1],
        "-d",
        "{}",
        "http://127.0.0.1:6333/collections/docs/points/count",
    ];
    let counted: serde_json::Value =
        serde_json::from_str(&in_ct(&node, "952", &count, None)).expect("JSON");
    assert_eq!(counted["result"]["count"], 2);
    assert_eq!(counted["status"], "ok");
    let listed: serde_json::Value =
        serde_json::from_str(&sim_run(&node, &all, None).1).expect("JSON");
    assert_eq!(listed["result"]["collections"][0]["name"], "docs");
    // An upgrade replaces the unit (a new versioned binary) and restarts Qdrant; the points
    // are in the storage path, which it does not touch.
    let mut upgraded = qdrant.clone();
    "1.20.0".clone_into(&mut upgraded.version);
    let new_binary = phoenix_ai::qdrant::files::binary(&upgraded.version);
    in_ct(&node, "952", &["mkdir", "-p", "/opt/qdrant/1.20.0"], None);
    put(&node, "952", &new_binary, "#!/bin/sh\n");
    put(
        &node,
        "952",
        "/etc/systemd/system/qdrant.service",
        &phoenix_ai::qdrant::files::unit_text(&upgraded),
    );
    in_ct(&node, "952", &["systemctl", "daemon-reload"], None);
    in_ct(
        &node,
        "952",
        &["systemctl", "restart", "qdrant.service"],
        None,
    );
    let counted: serde_json::Value =
        serde_json::from_str(&in_ct(&node, "952", &count, None)).expect("JSON");
    assert_eq!(
        counted["result"]["count"], 2,
        "the points survive the upgrade"
    );
}

/// Inside a simulated container, core's account tools keep the container's own `/etc/passwd`
/// and `/etc/group` (the node's stay as they were), and the release installer's stand-in
/// download checks the pinned sha256 before it unpacks, needs `zstd` for Ollama's `.tar.zst` and
/// leaves the versioned binary where the unit runs it.
#[test]
fn issue_12_accounts_and_the_release_installer_work_inside_a_simulated_container() {
    let node = sim_node();
    container_with(&node, "955", &[], "/usr/local/bin/placeholder");
    let in_955 = |words: &[&str]| {
        let mut all = vec!["pct", "exec", "955", "--"];
        all.extend(words);
        sim_run(&node, &all, None)
    };
    assert_eq!(in_955(&["getent", "passwd", "ollama"]).0, Some(2));
    // Ubuntu's template has render already: --force makes that success.
    assert_eq!(in_955(&["groupadd", "--system", "render"]).0, Some(9));
    assert_eq!(
        in_955(&["groupadd", "--force", "--system", "render"]).0,
        Some(0)
    );
    let (status, _, stderr) = in_955(&[
        "useradd",
        "--home-dir",
        "/usr/share/ollama",
        "--create-home",
        "--shell",
        "/bin/false",
        "--groups",
        "render",
        "ollama",
    ]);
    assert_eq!((status, stderr.as_str()), (Some(0), ""));
    let (status, passwd, _) = in_955(&["getent", "passwd", "ollama"]);
    assert_eq!(status, Some(0));
    let uid = passwd.split(':').nth(2).expect("uid").to_owned();
    assert_eq!(
        passwd,
        format!("ollama:x:{uid}:{uid}::/usr/share/ollama:/bin/false\n")
    );
    assert!(
        in_955(&["getent", "group", "render"])
            .1
            .ends_with(":ollama\n")
    );
    assert_eq!(in_955(&["test", "-d", "/usr/share/ollama"]).0, Some(0));
    assert!(in_955(&["cat", "/etc/passwd"]).1.contains("\nollama:x:"));
    // The node's own database does not know the container's user.
    assert_eq!(
        sim_run(&node, &["getent", "passwd", "ollama"], None).0,
        Some(2)
    );
    assert_eq!(
        in_955(&["useradd", "ollama"]),
        (
            Some(9),
            String::new(),
            "useradd: user 'ollama' already exists\n".to_owned()
        )
    );

    let url = phoenix_ai::ollama::unit::release_url(phoenix_services::ollama::DEFAULT_VERSION);
    let dir = format!("/opt/ollama/{}", phoenix_services::ollama::DEFAULT_VERSION);
    let binary = phoenix_ai::ollama::unit::binary(phoenix_services::ollama::DEFAULT_VERSION);
    let install = |sha: &str| {
        in_955(&[
            "sh",
            "-c",
            phoenix_ai::INSTALL_SCRIPT,
            "phoenix-install",
            &url,
            sha,
            &dir,
        ])
    };
    let wrong = "0".repeat(64);
    let (status, stdout, stderr) = install(&wrong);
    assert_eq!(status, Some(1));
    assert!(stdout.ends_with(": FAILED\n"), "{stdout}");
    assert_eq!(
        stderr,
        "sha256sum: WARNING: 1 computed checksum did NOT match\n"
    );
    assert_eq!(in_955(&["test", "-e", &binary]).0, Some(1));
    let (status, _, stderr) = install(phoenix_services::ollama::DEFAULT_SHA256);
    assert_eq!(status, Some(2), "tar needs zstd for .tar.zst");
    assert!(stderr.starts_with("tar: zstd: Cannot exec"), "{stderr}");
    assert_eq!(in_955(&["test", "-e", &binary]).0, Some(1));
    assert_eq!(
        in_955(&["apt-get", "install", "-y", "zstd"]).0,
        Some(0),
        "the sim's apt repository has zstd"
    );
    let (status, _, stderr) = install(phoenix_services::ollama::DEFAULT_SHA256);
    assert_eq!((status, stderr.as_str()), (Some(0), ""));
    assert_eq!(in_955(&["test", "-x", &binary]).0, Some(0));
    // A release the stand-in download does not serve is curl's 404.
    let (status, _, stderr) = in_955(&[
        "sh",
        "-c",
        phoenix_ai::INSTALL_SCRIPT,
        "phoenix-install",
        "https://example.invalid/other.tar.gz",
        phoenix_services::ollama::DEFAULT_SHA256,
        "/opt/other",
    ]);
    assert_eq!(status, Some(22));
    assert_eq!(stderr, "curl: (22) The requested URL returned error: 404\n");
    // Any other script stays not emulated.
    let (status, _, stderr) = in_955(&["sh", "-c", "echo hi"]);
    assert_ne!(status, Some(0));
    assert!(stderr.contains("not emulated"), "{stderr}");
}

/// The container transport of the engine test below (`pct exec <id> -- argv`).
#[derive(Debug)]
struct Pct;

impl phoenix_core::GuestTransport for Pct {
    fn class(&self) -> &str {
        "ct"
    }
    fn exec(&self, guest: &str, cmd: &Cmd) -> Cmd {
        let mut argv = vec!["exec".to_owned(), guest.to_owned(), "--".to_owned()];
        argv.extend(cmd.argv());
        Cmd::read("pct", argv)
    }
}

/// Provides the transport and owns `lxc_configs` (the containers are made by hand here).
#[derive(Debug)]
struct Containers;

impl phoenix_core::Provider for Containers {
    fn name(&self) -> &str {
        "containers"
    }
    fn kinds(&self) -> Vec<phoenix_core::Kind> {
        Vec::new()
    }
    fn claims(&self) -> Vec<phoenix_core::config::Claim> {
        vec![phoenix_core::config::Claim::managed("lxc_configs")]
    }
    fn guest_transports(&self) -> Vec<std::sync::Arc<dyn phoenix_core::GuestTransport>> {
        vec![std::sync::Arc::new(Pct)]
    }
    fn decode(&self, _: &[phoenix_core::config::Section<'_>], _: &mut phoenix_core::DecodeCx<'_>) {}
}

/// The changes of a plan on `node`, each its id and fields.
async fn plan_changes(
    engine: &phoenix_core::Engine,
    node: std::sync::Arc<phoenix_core::sim::SimNode>,
) -> Vec<String> {
    let plan = engine
        .plan(
            node as std::sync::Arc<dyn Host>,
            &phoenix_core::PlanOptions::default(),
        )
        .await;
    assert!(!plan.has_errors(), "{:?}", plan.diagnostics);
    assert!(
        plan.summary.unchanged + plan.changes.len() >= 1,
        "the health check is planned"
    );
    plan.changes
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c.id,
                serde_json::to_string(&c.fields).expect("JSON")
            )
        })
        .collect()
}

const BRIDGE_CONFIG: &str = r#"{"lxc_configs": {
    "951": {"features": ["vllm"], "name": "vllm-embed", "start_at_boot": true, "network_config": {"ip": "10.0.0.151/24"},
            "vllm_engine_config": {"ModelConfig": {"model": "ibm-granite/granite-embedding-english-r2"},
                                   "ServerConfig": {"port": 8000, "served_model_name": "granite-embed-r2"}}},
    "952": {"features": ["qdrant"], "name": "qdrant-VSCodeRag", "start_at_boot": true,
            "network_config": {"ip": "10.0.0.152/24"},
            "volumes": [{"name": "qdrant_data", "pool": "quickOS-shared-prod-data", "size_gb": 20, "mount_point": "/qdrant/storage"}]}
  },
  "embedding_round_trip": {"embedding_container": 951, "qdrant_container": 952}}"#;

/// The node's `curl` (the health check's probe queries, the round trip's requests) reaches the
/// Qdrant stand-in inside the running container whose conf has the address: healthy plans
/// nothing; a stopped unit or a stopped container is curl's exit 7 with the address asked; the
/// round trip's writes land in the container's storage path.
#[tokio::test(flavor = "multi_thread")]
async fn issue_12_the_nodes_curl_reaches_the_stand_ins_in_simulated_containers() {
    use phoenix_core::config::{ConfigSet, Document};
    use std::sync::Arc;
    let document =
        Document::parse(PathBuf::from("lab.json"), BRIDGE_CONFIG.to_owned()).expect("JSON");
    let config = ConfigSet::from_documents(vec![document]);
    let qdrant = phoenix_services::qdrant::servers(&config).servers[&952].clone();
    // vLLM is set up by hand here (its explicit stand-in answers): only checked.
    let registry = phoenix_core::Registry::builder()
        .provider(Containers)
        .provider(phoenix_ai::provider().checking(["qdrant", "vllm"]))
        .build()
        .expect("registry");
    let desired = registry.decode(&config);
    let engine = phoenix_core::Engine::new(desired).expect("no cycle");
    // The embedding comes from an explicit stand-in; Qdrant answers from inside 952.
    let mut vllm = phoenix_ai::stand_in::StandIn::new("vllm");
    vllm.models = vec!["granite-embed-r2".to_owned()];
    vllm.dimension = 8;
    let mut endpoints = phoenix_ai::sim::Endpoints::default();
    endpoints
        .endpoints
        .insert("10.0.0.151:8000".to_owned(), vllm);
    let mut state = phoenix_core::sim::SimState::new();
    state.tools.insert(
        phoenix_ai::sim::NAMESPACE.to_owned(),
        serde_json::to_value(&endpoints).expect("JSON"),
    );
    let node = Arc::new(tokio::task::block_in_place(|| {
        let node = sim_node_from(state);
        container_with(
            &node,
            "952",
            &[
                (
                    "/etc/qdrant/config.yaml",
                    phoenix_ai::qdrant::files::config_yaml(&qdrant),
                ),
                (
                    "/etc/systemd/system/qdrant.service",
                    phoenix_ai::qdrant::files::unit_text(&qdrant),
                ),
            ],
            &phoenix_ai::qdrant::files::binary(&qdrant.version),
        );
        in_ct(
            &node,
            "952",
            &["mkdir", "-p", "/qdrant/storage/collections"],
            None,
        );
        in_ct(
            &node,
            "952",
            &["systemctl", "start", "qdrant.service"],
            None,
        );
        node
    }));
    assert_eq!(
        plan_changes(&engine, Arc::clone(&node)).await,
        Vec::<String>::new()
    );

    let round_trip = phoenix_ai::round_trip_of(&config).expect("configured");
    let report = round_trip.run(&*node).await.expect("round trip");
    assert_eq!(report.dimension, 8);
    assert!(report.score > 0.99, "{}", report.score);
    let upserts = node
        .audit()
        .iter()
        .filter(|e| {
            e.argv.first().is_some_and(|p| p == "curl")
                && e.argv.iter().any(|a| a.ends_with("/points?wait=true"))
        })
        .count();
    assert_eq!(upserts, 1);
    let (_, index, _) = tokio::task::block_in_place(|| {
        sim_run(
            &node,
            &[
                "pct",
                "exec",
                "952",
                "--",
                "cat",
                "/qdrant/storage/collections/.phoenix-stand-in-index",
            ],
            None,
        )
    });
    assert!(
        !index.contains(&round_trip.collection),
        "deleted after: {index}"
    );

    tokio::task::block_in_place(|| {
        in_ct(&node, "952", &["systemctl", "stop", "qdrant.service"], None);
    });
    let changes = plan_changes(&engine, Arc::clone(&node)).await;
    assert!(
        changes[0].starts_with("ai.health[ct:952:qdrant]"),
        "{changes:?}"
    );
    assert!(
        changes[0].contains("GET /readyz: curl exited with status 7"),
        "{changes:?}"
    );
    tokio::task::block_in_place(|| {
        in_ct(
            &node,
            "952",
            &["systemctl", "start", "qdrant.service"],
            None,
        );
        assert_eq!(sim_run(&node, &["pct", "stop", "952"], None).0, Some(0));
    });
    let changes = plan_changes(&engine, Arc::clone(&node)).await;
    assert!(
        changes[0].contains("GET /readyz: curl exited with status 7"),
        "{changes:?}"
    );
}

/// The round trip reads Qdrant's API key from the node's root-only file and sends it in the
/// `api-key` header through curl's config on standard input: the round trip against the
/// container's Qdrant succeeds, no command's argv nor the plan's commands show the key, and
/// without it Qdrant refuses (401).
#[tokio::test(flavor = "multi_thread")]
async fn issue_12_the_round_trip_sends_qdrants_api_key_from_the_root_only_file_and_shows_it_nowhere()
 {
    use phoenix_core::config::{ConfigSet, Document};
    use std::sync::Arc;
    const KEY: &str = "cnry-round-trip-key-7f3a";
    let text = BRIDGE_CONFIG.replace(
        r#""952": {"features": ["qdrant"],"#,
        r#""952": {"features": ["qdrant"], "qdrant": {"api_key_file": "/root/phoenix/qdrant-api-key"},"#,
    );
    assert_ne!(text, BRIDGE_CONFIG);
    let document = Document::parse(PathBuf::from("lab.json"), text).expect("JSON");
    let config = ConfigSet::from_documents(vec![document]);
    let qdrant = phoenix_services::qdrant::servers(&config).servers[&952].clone();
    let mut vllm = phoenix_ai::stand_in::StandIn::new("vllm");
    vllm.models = vec!["granite-embed-r2".to_owned()];
    vllm.dimension = 8;
    let mut endpoints = phoenix_ai::sim::Endpoints::default();
    endpoints
        .endpoints
        .insert("10.0.0.151:8000".to_owned(), vllm);
    let mut state = phoenix_core::sim::SimState::new();
    state.tools.insert(
        phoenix_ai::sim::NAMESPACE.to_owned(),
        serde_json::to_value(&endpoints).expect("JSON"),
    );
    state.files.insert(
        "/root/phoenix/qdrant-api-key".to_owned(),
        phoenix_core::sim::SimFile::new(format!("{KEY}\n"), 0o600, "root:root"),
    );
    let node = Arc::new(tokio::task::block_in_place(|| {
        let node = sim_node_from(state);
        container_with(
            &node,
            "952",
            &[
                (
                    "/etc/qdrant/config.yaml",
                    phoenix_ai::qdrant::files::config_yaml(&qdrant),
                ),
                (
                    "/etc/systemd/system/qdrant.service",
                    phoenix_ai::qdrant::files::unit_text(&qdrant),
                ),
                (
                    phoenix_ai::qdrant::files::API_KEY_ENV,
                    format!("QDRANT__SERVICE__API_KEY={KEY}\n"),
                ),
            ],
            &phoenix_ai::qdrant::files::binary(&qdrant.version),
        );
        in_ct(
            &node,
            "952",
            &["mkdir", "-p", "/qdrant/storage/collections"],
            None,
        );
        in_ct(
            &node,
            "952",
            &["systemctl", "start", "qdrant.service"],
            None,
        );
        node
    }));
    let round_trip = phoenix_ai::round_trip_of(&config).expect("configured");
    let report = round_trip.run(&*node).await.expect("the key is sent");
    assert_eq!(report.dimension, 8);
    let audit = node.audit();
    let with_config = audit
        .iter()
        .filter(|e| e.argv.first().is_some_and(|p| p == "curl"))
        .filter(|e| e.argv.windows(2).any(|w| w == ["--config", "-"]))
        .count();
    assert_eq!(
        with_config, 4,
        "create, upsert, search and delete carry the key"
    );
    assert!(audit.iter().all(|e| !e.argv.join(" ").contains(KEY)));
    for cmd in round_trip.commands() {
        assert!(!format!("{cmd} {cmd:?}").contains(KEY), "{cmd}");
    }
    let mut keyless = round_trip.clone();
    keyless.api_key_file = None;
    let refused = keyless.run(&*node).await.expect_err("Qdrant wants the key");
    assert!(refused.to_string().contains("HTTP 401"), "{refused}");
}

/// `pct exec VMID -- ARGV` on the scratch node, which must succeed; its stdout.
fn in_lab_ct(
    scratch: &crate::support::Scratch,
    vmid: &str,
    argv: &[&str],
    stdin: Option<&str>,
) -> String {
    let mut words = vec!["exec", vmid, "--"];
    words.extend(argv);
    let mut cmd = Cmd::write("pct", words);
    if let Some(stdin) = stdin {
        cmd = cmd.stdin(stdin.to_owned());
    }
    let (status, stdout, stderr) = crate::support::run_on_scratch(scratch, &cmd);
    assert_eq!(status, Some(0), "{argv:?}: {stdout}{stderr}");
    stdout
}

/// The commands of the last run that restart, reload, start or stop a service or a container.
fn disruptions(commands: &[String]) -> Vec<&String> {
    commands
        .iter()
        .filter(|c| {
            [
                "systemctl restart",
                "systemctl reload",
                "systemctl start",
                "systemctl stop",
            ]
            .iter()
            .any(|word| c.contains(word))
                || c.starts_with("pct start")
                || c.starts_with("pct stop")
                || c.starts_with("pct reboot")
        })
        .collect()
}

/// The lab's API key of 952 (examples/lab/sim-state.json).
const LAB_QDRANT_KEY: &str = "lab-qdrant-api-key-change-me";

/// Qdrant's answer to `METHOD PATH [BODY]` asked inside 952 with the lab's key.
fn qdrant_in_952(
    scratch: &crate::support::Scratch,
    method: &str,
    path: &str,
    body: &str,
) -> String {
    let key = format!("api-key: {LAB_QDRANT_KEY}");
    let url = format!("http://127.0.0.1:6333{path}");
    let mut argv = vec!["curl", "-sS", "-X", method, "-H", key.as_str()];
    if !body.is_empty() {
        argv.extend(["-H", "Content-Type: application/json", "-d", body]);
    }
    argv.push(url.as_str());
    in_lab_ct(scratch, "952", &argv, None)
}

/// The lab's 955 (Ollama) and 952 (Qdrant) are set up by the registered `ollama` and `qdrant`
/// features: no warning about unimplemented features, their units start on the first apply, and
/// the second plan is empty and a second apply restarts and reloads nothing.
#[test]
fn issue_12_the_lab_ollama_and_qdrant_converge_and_a_second_apply_restarts_nothing() {
    let scratch = crate::support::Scratch::new();
    scratch.seed_lab_state();
    let config = crate::support::lab_config_with(&scratch, |_| {});
    let ran = crate::support::on(&scratch, "plan", config.as_str(), &[]);
    for feature in ["ollama", "qdrant"] {
        assert!(
            !ran.stderr
                .contains(&format!("feature \"{feature}\" is not implemented")),
            "{}",
            ran.stderr
        );
    }
    for expect in [
        "service[ct:955:ollama.service]",
        "service[ct:952:qdrant.service]",
        "ai.health[ct:955:ollama]",
        "ai.health[ct:952:qdrant]",
    ] {
        assert!(ran.stdout.contains(expect), "{expect}\n{}", ran.stdout);
    }
    crate::support::apply(config.as_str(), &scratch);
    let first = crate::support::last_run_commands(&scratch);
    for start in [
        "pct exec 955 -- systemctl start ollama.service",
        "pct exec 952 -- systemctl start qdrant.service",
    ] {
        assert!(
            first.iter().any(|c| c.starts_with(start)),
            "{start}: {first:?}"
        );
    }
    crate::support::converge_with(config.as_str(), &scratch, |scratch| {
        let commands = crate::support::last_run_commands(scratch);
        assert_eq!(
            disruptions(&commands),
            Vec::<&String>::new(),
            "{commands:?}"
        );
    });
    assert!(
        qdrant_in_952(&scratch, "GET", "/collections", "").contains("\"status\":\"ok\""),
        "Qdrant answers with the lab's key"
    );
}

/// A model added to 955's list is the only one pulled (the plan says which, after `/api/tags`);
/// the server then lists both and nothing restarts.
#[test]
fn issue_12_a_changed_ollama_model_list_pulls_only_the_new_model() {
    let scratch = crate::support::Scratch::new();
    scratch.seed_lab_state();
    let config = crate::support::lab_config_with(&scratch, |lxc| {
        lxc["955"]["ollama"] = serde_json::json!({"models": ["llama3.2:3b"]});
    });
    crate::support::apply(config.as_str(), &scratch);
    crate::support::edit_lab_lxc(&scratch, |lxc| {
        lxc["955"]["ollama"] = serde_json::json!({"models": ["llama3.2:3b", "nomic-embed-text"]});
    });
    let plan = crate::support::on(&scratch, "plan", config.as_str(), &[]);
    assert!(
        plan.stdout.contains("pull: nomic-embed-text:latest"),
        "{}",
        plan.stdout
    );
    assert!(
        !plan.stdout.contains("pull: llama3.2:3b"),
        "{}",
        plan.stdout
    );
    crate::support::apply(config.as_str(), &scratch);
    let commands = crate::support::last_run_commands(&scratch);
    let pulls: Vec<&String> = commands.iter().filter(|c| c.contains(" pull ")).collect();
    assert_eq!(pulls.len(), 1, "{commands:?}");
    assert!(
        pulls[0].ends_with(" pull nomic-embed-text:latest"),
        "{pulls:?}"
    );
    assert_eq!(
        disruptions(&commands),
        Vec::<&String>::new(),
        "{commands:?}"
    );
    let tags = in_lab_ct(
        &scratch,
        "955",
        &["curl", "-sS", "http://127.0.0.1:11434/api/tags"],
        None,
    );
    let names = phoenix_ai::ollama::models::parse_tags(&tags).expect("tags");
    assert_eq!(names, ["llama3.2:3b", "nomic-embed-text:latest"]);
    let ran = crate::support::on(&scratch, "plan", config.as_str(), &["--detailed-exitcode"]);
    assert_eq!(ran.code, 0, "{}", ran.stdout);
}

/// The dataset behind 952's data volume (`mp0` on storage quickOS-shared-prod-data), as
/// Proxmox makes it when it creates the volume; the simulated pct keeps the volume's files in
/// its own namespace, so the test adds the dataset the snapshot is taken of.
const QDRANT_DATASET: &str = "quickOS/shared-prod-data/subvol-952-disk-0";

/// 952 as it was before an upgrade: the unit runs Qdrant 1.18.0 (its binary beside the new
/// one), restarted on it.
fn run_older_qdrant_in_952(scratch: &crate::support::Scratch) {
    let unit = in_lab_ct(
        scratch,
        "952",
        &["cat", "/etc/systemd/system/qdrant.service"],
        None,
    );
    let old = unit.replace("/opt/qdrant/1.19.1/", "/opt/qdrant/1.18.0/");
    assert_ne!(old, unit, "{unit}");
    in_lab_ct(scratch, "952", &["mkdir", "-p", "/opt/qdrant/1.18.0"], None);
    for (path, content) in [
        ("/opt/qdrant/1.18.0/qdrant", "#!/bin/sh\n"),
        ("/etc/systemd/system/qdrant.service", old.as_str()),
    ] {
        in_lab_ct(
            scratch,
            "952",
            &[
                "sh",
                "-c",
                phoenix_core::file::STAGE_SCRIPT,
                "phoenix-stage",
                path,
            ],
            Some(content),
        );
    }
    in_lab_ct(
        scratch,
        "952",
        &["chmod", "755", "/opt/qdrant/1.18.0/qdrant"],
        None,
    );
    in_lab_ct(scratch, "952", &["systemctl", "daemon-reload"], None);
    in_lab_ct(
        scratch,
        "952",
        &["systemctl", "restart", "qdrant.service"],
        None,
    );
}

/// Upgrading Qdrant takes the ZFS snapshot of its data volume first (named in the plan), and the
/// converge after the upgrade keeps a collection's points (they live on the volume).
#[test]
fn issue_12_a_qdrant_upgrade_snapshots_the_data_volume_first_and_keeps_the_points() {
    let scratch = crate::support::Scratch::new();
    scratch.seed_lab_state();
    let config = crate::support::lab_config_with(&scratch, |_| {});
    crate::support::apply(config.as_str(), &scratch);
    scratch.edit_state(|state| {
        state["tools"]["zfs"]["datasets"][QDRANT_DATASET] =
            serde_json::json!({"type": "filesystem"});
    });
    qdrant_in_952(
        &scratch,
        "PUT",
        "/collections/keep",
        r#"{"vectors": {"size": 2, "distance": "Cosine"}}"#,
    );
    qdrant_in_952(
        &scratch,
        "PUT",
        "/collections/keep/points?wait=true",
        r#"{"points": [{"id": 1, "vector": [0.1, 0.2]}, {"id": 2, "vector": [0.3, 0.4]}]}"#,
    );
    let count = || {
        qdrant_in_952(
            &scratch,
            "POST",
            "/collections/keep/points/count",
            r#"{"exact": true}"#,
        )
    };
    let before = count();
    assert!(before.contains("\"count\":2"), "{before}");
    run_older_qdrant_in_952(&scratch);

    let snapshot = format!("{QDRANT_DATASET}@phoenix-before-qdrant-1.19.1");
    let plan = crate::support::on(&scratch, "plan", config.as_str(), &[]);
    assert!(plan.stdout.contains(&snapshot), "{}", plan.stdout);
    assert!(
        plan.stdout
            .contains("before upgrading Qdrant 1.18.0 -> 1.19.1"),
        "{}",
        plan.stdout
    );
    crate::support::apply(config.as_str(), &scratch);
    let commands = crate::support::last_run_commands(&scratch);
    let taken = commands
        .iter()
        .position(|c| *c == format!("zfs snapshot {snapshot}"))
        .expect("the snapshot is taken");
    let restart = commands
        .iter()
        .position(|c| c == "pct exec 952 -- systemctl restart qdrant.service")
        .expect("Qdrant restarts on the new version");
    assert!(taken < restart, "{commands:?}");
    assert_eq!(count(), before, "the points survive the upgrade");
    assert!(
        in_lab_ct(
            &scratch,
            "952",
            &["cat", "/etc/systemd/system/qdrant.service"],
            None
        )
        .contains("ExecStart=/opt/qdrant/1.19.1/qdrant")
    );
    crate::support::converge(config.as_str(), &scratch);
    assert_eq!(
        count(),
        before,
        "a converge after the upgrade keeps the points"
    );
}

/// Moving Qdrant's storage path (the volume's mount point) would start it empty: a destroys-data
/// change that plan shows and apply refuses without --allow-destroy, changing nothing.
#[test]
fn issue_12_moving_qdrants_storage_is_refused_without_allow_destroy() {
    let scratch = crate::support::Scratch::new();
    scratch.seed_lab_state();
    let config = crate::support::lab_config_with(&scratch, |_| {});
    crate::support::apply(config.as_str(), &scratch);
    crate::support::edit_lab_lxc(&scratch, |lxc| {
        lxc["952"]["volumes"][0]["mount_point"] = serde_json::json!("/srv/qdrant");
        lxc["952"]["qdrant"]["storage_path"] = serde_json::json!("/srv/qdrant");
    });
    let plan = crate::support::on(&scratch, "plan", config.as_str(), &[]);
    assert!(
        plan.stdout.contains("qdrant.storage[ct:952:storage_path]"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.to_lowercase().contains("destroys data"),
        "{}",
        plan.stdout
    );
    let before = scratch.state_bytes();
    let ran = crate::support::on(&scratch, "apply", config.as_str(), &["--yes"]);
    assert_ne!(ran.code, 0, "{}", ran.stdout);
    assert!(ran.stderr.contains("--allow-destroy"), "{}", ran.stderr);
    let after: serde_json::Value = serde_json::from_slice(&scratch.state_bytes()).expect("state");
    let before: serde_json::Value = serde_json::from_slice(&before).expect("state");
    assert_eq!(
        after["files"], before["files"],
        "nothing on the node changed"
    );
    assert_eq!(
        after["tools"]["pct"], before["tools"]["pct"],
        "nothing in the containers changed"
    );
}

/// A container a failed run left stopped cannot be probed when the next run plans, so its
/// resources are planned as for a container still to be made; apply looks at it again once it
/// runs, and what is there already (the `ollama` user, its groups, the installed release) is not
/// made a second time ("useradd: user 'ollama' already exists" before). The run converges.
#[test]
fn issue_12_a_container_left_stopped_is_looked_at_again_once_started() {
    let scratch = crate::support::Scratch::new();
    scratch.seed_lab_state();
    let config = crate::support::lab_config_with(&scratch, |_| {});
    crate::support::apply(config.as_str(), &scratch);
    let (status, stdout, stderr) =
        crate::support::run_on_scratch(&scratch, &Cmd::write("pct", ["stop", "955"]));
    assert_eq!(status, Some(0), "{stdout}{stderr}");
    let plan = crate::support::on(&scratch, "plan", config.as_str(), &[]);
    assert!(
        plan.stdout.contains("user[ct:955:ollama]  (create)"),
        "the plan cannot see into the stopped 955: {}",
        plan.stdout
    );
    let ran = crate::support::on(&scratch, "apply", config.as_str(), &["--yes"]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let commands = crate::support::last_run_commands(&scratch);
    let made_again: Vec<&String> = commands
        .iter()
        .filter(|c| {
            c.contains("useradd") || c.contains("groupadd") || c.contains("phoenix-install")
        })
        .collect();
    assert_eq!(made_again, Vec::<&String>::new(), "{commands:?}");
    assert!(
        commands.iter().any(|c| c.starts_with("pct start 955")),
        "{commands:?}"
    );
    let again = crate::support::on(&scratch, "plan", config.as_str(), &["--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.stdout);
}
