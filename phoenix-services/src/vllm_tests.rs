//! Tests of the vLLM server model: one table per concern, and upstream 0017fa8's containers.

use std::path::PathBuf;

use phoenix_core::config::Document;
use serde_json::json;

use super::*;

/// The reading of container 951 with `entry` (features `vllm`, GPU "0" unless the entry says
/// otherwise).
fn read_entry(mut entry: Value) -> Reading {
    let object = entry.as_object_mut().expect("an object");
    object.entry("features").or_insert(json!(["vllm"]));
    object.entry("gpu_assignment").or_insert(json!("0"));
    let text = json!({"lxc_configs": {"951": entry}}).to_string();
    let document = Document::parse(PathBuf::from("c.json"), text).expect("JSON");
    let guests = guests(&ConfigSet::from_documents(vec![document]));
    read(&guests[&951])
}

/// Problems as `severity at: message` lines.
fn lines(reading: &Reading) -> String {
    reading
        .problems
        .iter()
        .map(|p| format!("{:?} {}: {}", p.severity, p.at, p.message))
        .collect::<Vec<_>>()
        .join("\n")
}

fn args(reading: &Reading) -> String {
    match &reading.server {
        Some(server) => server.serve_args().join(" "),
        None => format!("(no server)\n{}", lines(reading)),
    }
}

fn model(extra: Value) -> Value {
    let mut config = json!({"ModelConfig": {"model": "m"}});
    for (section, keys) in extra.as_object().expect("sections") {
        let target = config
            .as_object_mut()
            .expect("object")
            .entry(section.clone())
            .or_insert(json!({}));
        for (k, v) in keys.as_object().expect("keys") {
            target[k] = v.clone();
        }
    }
    json!({"vllm_engine_config": config})
}

#[test]
fn ranges_and_types_are_checked_at_their_paths() {
    let cases: [(Value, &str); 14] = [
        (json!({"CacheConfig": {"gpu_memory_utilization": 1}}), "ok"),
        (
            json!({"CacheConfig": {"gpu_memory_utilization": 0.5}}),
            "ok",
        ),
        (
            json!({"CacheConfig": {"gpu_memory_utilization": 0}}),
            "gpu-memory-utilization: expected a number greater than 0 and at most 1",
        ),
        (
            json!({"CacheConfig": {"gpu_memory_utilization": 1.01}}),
            "expected a number greater than 0 and at most 1",
        ),
        (
            json!({"CacheConfig": {"gpu_memory_utilization": "half"}}),
            "expected a number greater than 0",
        ),
        (
            json!({"ServerConfig": {"port": 0}}),
            "port: expected a port, 1 to 65535",
        ),
        (
            json!({"ServerConfig": {"port": 65536}}),
            "port: expected a port",
        ),
        (json!({"ServerConfig": {"port": "8000"}}), "ok"),
        (
            json!({"ModelConfig": {"max_model_len": 0}}),
            "max-model-len: expected a whole number of at least 1",
        ),
        (
            json!({"ModelConfig": {"max_model_len": -5}}),
            "max-model-len: expected a whole number",
        ),
        (
            json!({"ModelConfig": {"trust_remote_code": "yes"}}),
            "trust-remote-code: expected true or false",
        ),
        (
            json!({"ModelConfig": {"runner": "embed"}}),
            "runner: expected one of auto, generate, pooling",
        ),
        (
            json!({"ServerConfig": {"served_model_name": []}}),
            "served-model-name: expected a name or a list of names",
        ),
        (
            json!({"ModelConfig": {"model": ""}}),
            "model: expected a non-empty string",
        ),
    ];
    for (extra, expect) in cases {
        let reading = read_entry(model(extra.clone()));
        let got = lines(&reading);
        if expect == "ok" {
            assert!(reading.server.is_some(), "{extra}: {got}");
        } else {
            assert!(reading.server.is_none(), "{extra}");
            assert!(got.contains(expect), "{extra}: {got}");
            assert!(
                got.contains(r#"lxc_configs."951".vllm_engine_config."#),
                "{got}"
            );
        }
    }
}

#[test]
fn tensor_parallel_size_is_at_most_the_assigned_gpus() {
    let cases: [(Value, Value, Option<&str>); 6] = [
        (json!("0"), json!(1), None),
        (json!("0, 1"), json!(2), None),
        (
            json!("0"),
            json!(2),
            Some("tensor_parallel_size 2 needs 2 GPUs, and the container has 1"),
        ),
        (
            json!("none"),
            Value::Null,
            Some("tensor_parallel_size 1 needs 1 GPUs, and the container has 0"),
        ),
        // A malformed assignment is phoenix-gpu's error, not a second one here.
        (json!("0,,1"), json!(4), None),
        (json!("0,1,2,3"), json!(4), None),
    ];
    for (gpus, size, expect) in cases {
        let mut entry = model(json!({"ParallelConfig": {"tensor_parallel_size": size}}));
        entry["gpu_assignment"] = gpus.clone();
        let reading = read_entry(entry);
        match expect {
            None => assert!(
                reading.server.is_some(),
                "{gpus} {size}: {}",
                lines(&reading)
            ),
            Some(message) => {
                assert!(lines(&reading).contains(message), "{}", lines(&reading));
                assert!(
                    lines(&reading)
                        .contains(r#"(gpu_assignment lxc_configs."951".gpu_assignment)"#)
                );
            }
        }
    }
}

#[test]
fn the_same_flag_twice_is_a_note_when_equal_and_an_error_when_not() {
    let cases: [(Value, &str); 6] = [
        (
            json!({"vllm_model": "m", "vllm_gpu_memory_utilization": 0.9, "vllm_args": ["--gpu-memory-utilization", "0.90"]}),
            r#"Note lxc_configs."951".vllm_args[0]: written a second time with the same value (one place is enough): gpu-memory-utilization (lxc_configs."951".vllm_gpu_memory_utilization)"#,
        ),
        (
            json!({"vllm_model": "m", "vllm_max_model_len": 4096, "vllm_parameters": {"max_model_len": 8192}}),
            r#"Error lxc_configs."951".vllm_parameters.max_model_len: max-model-len is given twice with different values: 4096 at lxc_configs."951".vllm_max_model_len and 8192 here; keep one"#,
        ),
        (
            json!({"vllm_engine_config": {"ModelConfig": {"model": "m", "max_model_len": 1024}}, "vllm_args": ["--max_model_len=2048"]}),
            "max-model-len is given twice with different values: 1024",
        ),
        (
            json!({"vllm_model": "m", "vllm_trust_remote_code": true, "vllm_args": ["--trust-remote-code"]}),
            "Note",
        ),
        (
            json!({"vllm_model": "m", "vllm_trust_remote_code": true, "vllm_args": ["--no-trust-remote-code"]}),
            "trust-remote-code is given twice with different values: true at",
        ),
        (
            json!({"vllm_engine_config": {"ModelConfig": {"model": "m", "runner": "pooling", "task": "embed"}}}),
            r#"task and runner (at lxc_configs."951".vllm_engine_config.ModelConfig.runner) are two spellings of one choice"#,
        ),
    ];
    for (entry, expect) in cases {
        let reading = read_entry(entry.clone());
        assert!(
            lines(&reading).contains(expect),
            "{entry}:\n{}",
            lines(&reading)
        );
        let is_note = expect.starts_with("Note");
        assert_eq!(reading.server.is_some(), is_note, "{entry}");
    }
}

#[test]
fn engine_config_sections_keys_and_secrets() {
    let cases: [(Value, &str); 5] = [
        (
            json!({"vllm_engine_config": {"ModelConfig": {"model": "m"}, "ModelConfg": {}}}),
            r#"Error lxc_configs."951".vllm_engine_config.ModelConfg: unknown section "ModelConfg": expected one of ModelConfig, CacheConfig"#,
        ),
        (
            json!({"vllm_engine_config": {"ModelConfig": {"model": "m", "enforce_eager": true, "seed": 7}}}),
            r#"Note lxc_configs."951".vllm_engine_config.ModelConfig.enforce_eager: enforce-eager is passed to vLLM as --enforce-eager without a check: Phoenix does not know its type"#,
        ),
        (
            json!({"vllm_engine_config": {"ModelConfig": {"model": "m", "hf_token": "hf_x"}}}),
            "hf-token would put a secret into the server's command line",
        ),
        (
            json!({"vllm_model": "m", "vllm_args": ["--api-key", "k"]}),
            r#"Error lxc_configs."951".vllm_args[0]: api-key would put a secret"#,
        ),
        (
            json!({"vllm_engine_config": {"CacheConfig": {"gpu_memory_utilization": 0.5}}}),
            r#"Error lxc_configs."951": the vllm feature needs a model"#,
        ),
    ];
    for (entry, expect) in &cases {
        let reading = read_entry(entry.clone());
        assert!(
            lines(&reading).contains(expect),
            "{entry}:\n{}",
            lines(&reading)
        );
    }
    let typo = read_entry(cases[0].0.clone());
    assert!(
        lines(&typo).contains("did you mean ModelConfig?"),
        "{}",
        lines(&typo)
    );
    let runtime_only = read_entry(json!({}));
    assert_eq!(
        (runtime_only.server, runtime_only.problems),
        (None, Vec::new())
    );
    let secret = read_entry(cases[2].0.clone());
    assert!(!lines(&secret).contains("hf_x"), "the value is never shown");
}

#[test]
fn vllm_args_words() {
    let cases: [(Value, &str); 6] = [
        (
            json!(["--max-model-len", "4096", "--trust-remote-code"]),
            "m --max-model-len 4096 --trust-remote-code",
        ),
        (json!(["--max_model_len=4096"]), "m --max-model-len 4096"),
        (
            json!(["--served-model-name", "a", "b"]),
            "m --served-model-name a b",
        ),
        (
            json!(["--enforce-eager", "--no-enable-prefix-caching"]),
            "m --enforce-eager --no-enable-prefix-caching",
        ),
        (json!(["--max-num-seqs", 4]), "m --max-num-seqs 4"),
        (
            json!(["Qwen/Qwen2", "--port", "8001"]),
            r#"Error lxc_configs."951".vllm_args[0]: expected a flag starting with -- (vLLM's long form), found "Qwen/Qwen2""#,
        ),
    ];
    for (words, expect) in cases {
        let reading = read_entry(json!({"vllm_model": "m", "vllm_args": words.clone()}));
        assert!(
            args(&reading).contains(expect),
            "{words}:\n{}",
            args(&reading)
        );
    }
}

#[test]
fn runner_flags_follow_the_pinned_version() {
    let cases: [(&str, Value, &str); 7] = [
        (
            "0.10.2",
            json!({"vllm_model_type": "embedding"}),
            "m --runner pooling",
        ),
        (
            "0.10.1",
            json!({"vllm_model_type": "embedding"}),
            "m --runner pooling",
        ),
        (
            "0.10.0",
            json!({"vllm_model_type": "embedding"}),
            "m --task embed",
        ),
        (
            "0.9.2",
            json!({"vllm_model_type": "chat"}),
            "m --task generate",
        ),
        (
            "0.11",
            json!({"vllm_model_type": "chat"}),
            "m --runner generate",
        ),
        (
            "0.10.0",
            json!({"vllm_parameters": {"convert": "embed"}}),
            "convert needs vLLM 0.10.1 or later (this container pins 0.10.0)",
        ),
        (
            "0.10",
            json!({"vllm_model_type": "reranker"}),
            r#"Error lxc_configs."951".vllm_model_type: expected "chat" or "embedding""#,
        ),
    ];
    for (version, extra, expect) in cases {
        let mut entry = json!({"vllm_model": "m", "vllm_version": version});
        for (k, v) in extra.as_object().expect("keys") {
            entry[k] = v.clone();
        }
        let reading = read_entry(entry);
        assert!(
            args(&reading).contains(expect),
            "{version} {extra}:\n{}",
            args(&reading)
        );
    }
    let bad = read_entry(json!({"vllm_model": "m", "vllm_version": "latest"}));
    assert!(
        lines(&bad)
            .contains(r#"vllm_version: expected a vLLM release such as "0.10.2", found "latest""#)
    );
    let auto = read_entry(json!({"vllm_model": "m"}))
        .server
        .expect("server");
    assert_eq!(auto.runner, Runner::Auto);
    assert_eq!(auto.version, DEFAULT_VERSION);
    assert_eq!(auto.serve_args(), ["m"]);
}

#[test]
fn what_the_gateway_and_health_checks_read() {
    let server = read_entry(json!({"vllm_engine_config": {
        "ModelConfig": {"model": "ibm-granite/granite-embedding-english-r2", "runner": "pooling", "max_model_len": 1024},
        "ServerConfig": {"host": "0.0.0.0", "port": 8001, "served_model_name": "granite"}}}))
    .server
    .expect("server");
    assert_eq!(server.served_model_names, ["granite"]);
    assert_eq!(
        (server.host.as_deref(), server.port),
        (Some("0.0.0.0"), 8001)
    );
    assert_eq!(server.max_model_len, Some(1024));
    assert!(server.embeds());
    let plain = read_entry(json!({"vllm_model": "Qwen/Q"}))
        .server
        .expect("server");
    assert_eq!(plain.served_model_names, ["Qwen/Q"], "the model by default");
    assert_eq!(
        (plain.host.as_deref(), plain.port, plain.max_model_len),
        (None, 8000, None)
    );
    assert!(!plain.embeds());
}

/// The containers of upstream's real file: their `vllm serve` words and problems.
#[test]
fn upstream_0017fa8_containers() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/upstream/0017fa8__etc__phoenix_lxc_configs.json"
    );
    let text = std::fs::read_to_string(path).expect("fixture");
    let document = Document::parse(PathBuf::from("phoenix_lxc_configs.json"), text).expect("JSON");
    let guests = guests(&ConfigSet::from_documents(vec![document]));
    let mut out = String::new();
    for vmid in [950, 951, 801, 802, 910] {
        let reading = read(&guests[&vmid]);
        out.push_str(&format!("{vmid}: {}\n", args(&reading)));
        if reading.server.is_some() && !reading.problems.is_empty() {
            out.push_str(&format!("{}\n", lines(&reading)));
        }
    }
    insta::assert_snapshot!(out);
}
