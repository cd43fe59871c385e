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
        assert!(output.contains("Failed to parse service restart specifier"), "{output}");
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
