//! Issue 12 through the command line on the simulated node: `phoenix status` ends with the table
//! of the AI services, and `phoenix round-trip` runs the embedding round trip, against the
//! stand-in services of the node's `ai` namespace (answered by phoenix-ai's `curl` emulator).

use serde_json::{Value, json};

use crate::support::{Scratch, arg, phoenix};

/// The lab's container config with 952 running Qdrant and the round trip between 951 and 952.
fn lab_with_round_trip(scratch: &Scratch) -> String {
    scratch.seed_lab_state();
    let dir =
        scratch.copy_lab_config(&["phoenix_hypervisor_config.json", "phoenix_lxc_configs.json"]);
    let file = dir.join("phoenix_lxc_configs.json");
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("config")).expect("JSON");
    config["lxc_configs"]["952"]["features"] = json!(["qdrant"]);
    config["embedding_round_trip"] = json!({"embedding_container": 951, "qdrant_container": 952});
    std::fs::write(&file, serde_json::to_string_pretty(&config).expect("JSON")).expect("write");
    arg(&dir).to_owned()
}

/// Puts stand-ins of the lab's three services on the node; Qdrant in state `qdrant`.
fn seed_services(scratch: &Scratch, qdrant: &str) {
    scratch.edit_state(|state| {
        state["tools"]["ai"] = json!({"endpoints": {
            "10.0.0.151:8000": {"service": "vllm", "models": ["granite-embed-r2"],
                                "version": "0.10.2", "dimension": 768},
            "10.0.0.155:11434": {"service": "ollama", "models": ["llama3.1:8b", "nomic-embed-text:latest"],
                                 "version": "0.5.7"},
            "10.0.0.152:6333": {"service": "qdrant", "state": qdrant, "version": "1.12.4"}
        }});
    });
}

/// The `Services:` block of `phoenix status`'s output.
fn services_block(stdout: &str) -> String {
    stdout
        .lines()
        .skip_while(|l| *l != "Services:")
        .take_while(|l| *l == "Services:" || l.starts_with("  "))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn issue_12_phoenix_status_shows_a_table_of_the_services() {
    let scratch = Scratch::new();
    let config = lab_with_round_trip(&scratch);
    seed_services(&scratch, "dead");
    let target = scratch.target();
    let ran = phoenix(&["status", "--config", &config, "--target", &target]);
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
    insta::assert_snapshot!(services_block(&ran.stdout), @r"
    Services:
      CONTAINER                    SERVICE  ENDPOINT                 STATE                                                            MODEL                                 VERSION
      951 vllm-granite-embed-r2    vLLM     http://10.0.0.151:8000   healthy                                                          granite-embed-r2                      0.10.2
      952 qdrant-VSCodeRag         Qdrant   http://10.0.0.152:6333   GET /readyz: HTTP 503: some shards are not ready                 -                                     -
      953 vllm-granite-embed-r2-b  vLLM     http://10.0.0.154:8000   GET /health: curl: (7) Failed to connect to 10.0.0.154 port ...  -                                     -
      955 ollama-oWUI              Ollama   http://10.0.0.155:11434  healthy                                                          llama3.1:8b, nomic-embed-text:latest  0.5.7
    ");
    let json = phoenix(&["status", "--config", &config, "--target", &target, "--json"]);
    let report: Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(report["services"][0]["healthy"], true);
    assert_eq!(report["services"][1]["healthy"], false);
    assert_eq!(
        report["services"][2]["container"],
        "953 vllm-granite-embed-r2-b"
    );
}

#[test]
fn issue_12_phoenix_round_trip_embeds_upserts_searches_and_deletes_on_the_node() {
    let scratch = Scratch::new();
    let config = lab_with_round_trip(&scratch);
    seed_services(&scratch, "ready");
    let target = scratch.target();
    let ran = phoenix(&["round-trip", "--config", &config, "--target", &target]);
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
    assert_eq!(
        ran.stdout,
        "Embedding round trip: granite-embed-r2 in container 951 embedded the sentence into 768 dimensions; Qdrant in container 952 found it back (score 1.0000); collection phoenix-round-trip deleted.\n"
    );
    let state = scratch.state();
    assert_eq!(
        state.tools["ai"]["endpoints"]["10.0.0.152:6333"]["collections"],
        json!({}),
        "the scratch collection is gone"
    );

    // Qdrant not answering: exit 1, naming the step and the answer.
    seed_services(&scratch, "loading");
    let ran = phoenix(&["round-trip", "--config", &config, "--target", &target]);
    assert_eq!(ran.code, 1, "{}", ran.stdout);
    assert!(
        ran.stderr.contains("embedding round trip, step create collection: curl: (7) Failed to connect to 10.0.0.152 port 6333 after 0 ms: Couldn't connect to server"),
        "{}",
        ran.stderr
    );
}

#[test]
fn issue_12_upstream_test_keys_are_noted_and_health_check_is_read() {
    let scratch = Scratch::new();
    let dir = scratch.copy_upstream_config(&["phoenix_lxc_configs.json"]);
    let ran = phoenix(&["validate", "--config", arg(&dir)]);
    let notes: Vec<&str> = ran
        .stderr
        .lines()
        .chain(ran.stdout.lines())
        .filter(|l| l.contains("is known but not run") || l.contains("health_check.command"))
        .collect();
    assert!(
        notes.iter().any(|l| l.contains("tests is known but not run: upstream's test scripts are not run; after apply Phoenix checks every service from the node")),
        "{notes:?}\n{}{}",
        ran.stdout,
        ran.stderr
    );
    for key in ["integration_tests", "run_integration_tests", "vllm"] {
        assert!(
            notes
                .iter()
                .any(|l| l.contains(&format!("{key} is known but not run"))),
            "{key}: {notes:?}"
        );
    }
    assert!(
        notes.iter().any(|l| l
            .contains("health_check.command \"curl -s --fail http://localhost:6333\" is not run")),
        "{notes:?}"
    );
}

#[test]
fn issue_12_bad_round_trip_and_health_check_values_are_errors_at_their_json_paths() {
    let scratch = Scratch::new();
    let config = lab_with_round_trip(&scratch);
    let file = std::path::Path::new(&config).join("phoenix_lxc_configs.json");
    let mut value: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("config")).expect("JSON");
    value["embedding_round_trip"] =
        json!({"embedding_container": 955, "qdrant_container": 952, "collection": "a/b"});
    value["lxc_configs"]["951"]["health_check"] = json!({"timeout_seconds": 0, "retry": 3});
    std::fs::write(&file, serde_json::to_string_pretty(&value).expect("JSON")).expect("write");
    let ran = phoenix(&["validate", "--config", &config]);
    assert_eq!(ran.code, 1);
    for expected in [
        "embedding_round_trip.embedding_container",
        "expected a container with the vllm feature, found container 955 with features [base_setup, nvidia, ollama]",
        "embedding_round_trip.collection",
        "expected a collection name of 1 to 64 letters, digits, '-' or '_', found \"a/b\"",
        "lxc_configs.\"951\".health_check",
        "retry",
    ] {
        assert!(ran.stderr.contains(expected), "{expected}:\n{}", ran.stderr);
    }
}
