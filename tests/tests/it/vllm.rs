//! Issue 12, the vLLM part: the server's flags read from upstream's two representations, and
//! the `vllm` feature converging in a simulated container.

use serde_json::{Value, json};

use crate::support::{Scratch, apply, arg, converge, converge_with, on, phoenix, upstream};

/// Upstream 0017fa8's 950 as it is: two flags with two values each are errors at the place of
/// the second value, naming the first; the flags written twice with one value are notes.
#[test]
fn issue_12_upstream_950_gives_vllm_two_values_for_two_flags() {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["phoenix_hypervisor_config.json", "phoenix_lxc_configs.json"] {
        std::fs::copy(
            upstream().join(format!("0017fa8__etc__{name}")),
            dir.path().join(name),
        )
        .expect("copy upstream");
    }
    let ran = phoenix(&["validate", "--config", arg(dir.path())]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let errors: Vec<&str> = ran
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:") && l.contains("container 950"))
        .collect();
    assert_eq!(errors.len(), 2, "{}", ran.stderr);
    for expect in [
        "container 950: max-model-len is given twice with different values: 4096 at lxc_configs.\"950\".vllm_max_model_len and 8192 here; keep one",
        "container 950: gpu-memory-utilization is given twice with different values: 0.9 at lxc_configs.\"950\".vllm_gpu_memory_utilization and 0.75 here; keep one",
    ] {
        assert!(ran.stderr.contains(expect), "{expect}\n{}", ran.stderr);
    }
    assert!(
        ran.stderr.contains(
            "phoenix_lxc_configs.json:414:34 at lxc_configs.\"950\".vllm_parameters.max_model_len"
        ),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains(
            "container 951: written a second time with the same value (one place is enough): tensor-parallel-size (lxc_configs.\"951\".vllm_tensor_parallel_size), gpu-memory-utilization (lxc_configs.\"951\".vllm_gpu_memory_utilization), max-model-len (lxc_configs.\"951\".vllm_max_model_len)"
        ),
        "{}",
        ran.stderr
    );
}

/// The commands of the scratch node's last run, joined by spaces.
fn last_run_commands(scratch: &Scratch) -> Vec<String> {
    let state = scratch.state();
    state
        .audit
        .iter()
        .filter(|e| e.run == state.run && e.op.to_string() == "run")
        .map(|e| e.argv.join(" "))
        .collect()
}

/// The lab on its node, with `edit` applied to its LXC file.
fn lab_with(scratch: &Scratch, edit: impl Fn(&mut Value)) -> String {
    let config =
        scratch.copy_lab_config(&["phoenix_hypervisor_config.json", "phoenix_lxc_configs.json"]);
    edit_lxc(scratch, edit);
    arg(&config).to_owned()
}

/// Edits the scratch config's LXC file.
fn edit_lxc(scratch: &Scratch, edit: impl Fn(&mut Value)) {
    let file = scratch.config_dir().join("phoenix_lxc_configs.json");
    let mut json: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("JSON");
    edit(&mut json["lxc_configs"]);
    std::fs::write(&file, serde_json::to_string_pretty(&json).expect("JSON")).expect("write");
}

/// What `pct exec 951 -- cat PATH` prints on the scratch node.
fn cat_in_951(scratch: &Scratch, path: &str) -> String {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let node =
        phoenix_core::sim::SimNode::from_state(scratch.state(), phoenix_cli::target::emulators())
            .expect("node");
    let out = rt
        .block_on(phoenix_core::Host::run(
            &node,
            &phoenix_core::Cmd::read("pct", ["exec", "951", "--", "cat", path]),
        ))
        .expect("pct exec runs");
    assert_eq!(out.status, Some(0), "{path}: {}", out.stderr);
    out.stdout
}

#[test]
fn issue_12_the_lab_vllm_embedding_server_converges_and_a_second_run_restarts_nothing() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let config = lab_with(&scratch, |_| {});
    let ran = on(&scratch, "plan", config.as_str(), &[]);
    assert!(
        !ran.stderr.contains("\"vllm\" is not implemented"),
        "{}",
        ran.stderr
    );
    for expect in [
        "pct exec 951 -- python3 -m venv /opt/vllm/0.10.2",
        "pct exec 951 -- /opt/vllm/0.10.2/bin/pip --python /opt/vllm/0.10.2/bin/python3 install --no-input vllm==0.10.2",
        "+ service[ct:951:vllm.service]  (create)",
    ] {
        assert!(ran.stdout.contains(expect), "{expect}\n{}", ran.stdout);
    }
    converge_with(config.as_str(), &scratch, |scratch| {
        let commands = last_run_commands(scratch);
        assert!(
            !commands.iter().any(|c| c.starts_with("pct exec 951")),
            "a no-op run runs nothing in 951 (its probe rides the one host command): {commands:?}"
        );
    });
    let unit = cat_in_951(&scratch, "/etc/systemd/system/vllm.service");
    assert!(
        unit.contains("ExecStart=/opt/vllm/0.10.2/bin/vllm serve ibm-granite/granite-embedding-english-r2 --runner pooling --served-model-name granite-embed-r2 --host 0.0.0.0 --port 8000 --dtype auto --max-model-len 1024 --trust-remote-code\n"),
        "{unit}"
    );
    assert!(
        unit.contains("Environment=HF_HOME=/vllm_models/huggingface\n"),
        "{unit}"
    );
    assert!(!unit.contains("TORCH_CUDA_ARCH_LIST"), "{unit}");
    assert!(
        cat_in_951(
            &scratch,
            "/opt/vllm/0.10.2/lib/python3.12/site-packages/vllm-0.10.2.dist-info/METADATA"
        )
        .contains("Version: 0.10.2")
    );
}

/// The node's `curl` reaches the vLLM server that 951's unit runs, inside the container (no
/// stand-in of the node's), answering as the real server does while the unit is active:
/// `/health` 200 with an empty body, `/v1/models` the OpenAI list with the served name, and
/// embeddings of the pooling runner; a stopped unit refuses the connection (curl's exit 7).
#[test]
fn issue_12_the_vllm_its_unit_runs_answers_from_inside_951() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let config = lab_with(&scratch, |_| {});
    apply(config.as_str(), &scratch);
    assert!(
        !scratch
            .state()
            .tools
            .contains_key(phoenix_ai::sim::NAMESPACE),
        "no stand-in on the node"
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let node =
        phoenix_core::sim::SimNode::from_state(scratch.state(), phoenix_cli::target::emulators())
            .expect("node");
    let run = |write: bool, argv: &[&str]| {
        let args = argv[1..].iter().copied();
        let cmd = if write {
            phoenix_core::Cmd::write(argv[0], args)
        } else {
            phoenix_core::Cmd::read(argv[0], args)
        };
        let out = rt
            .block_on(phoenix_core::Host::run(&node, &cmd))
            .expect("runs");
        (out.status, out.stdout, out.stderr)
    };
    let url = |path: &str| format!("http://10.0.0.151:8000{path}");
    let health = url("/health");
    let models = url("/v1/models");
    assert_eq!(
        run(false, &["curl", "-sS", "-w", "%{http_code}", &health]),
        (Some(0), "200".to_owned(), String::new())
    );
    let (status, listed, _) = run(false, &["curl", "-fsS", &models]);
    assert_eq!(status, Some(0));
    let listed: Value = serde_json::from_str(&listed).expect("JSON");
    assert_eq!(listed["object"], "list");
    assert_eq!(listed["data"][0]["id"], "granite-embed-r2");
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(1));
    let (status, embedded, _) = run(
        false,
        &[
            "curl",
            "-fsS",
            "-d",
            r#"{"model": "granite-embed-r2", "input": "lab"}"#,
            &url("/v1/embeddings"),
        ],
    );
    assert_eq!(status, Some(0));
    let embedded: Value = serde_json::from_str(&embedded).expect("JSON");
    assert_eq!(
        embedded["data"][0]["embedding"].as_array().map(Vec::len),
        Some(768)
    );
    run(
        true,
        &[
            "pct",
            "exec",
            "951",
            "--",
            "systemctl",
            "stop",
            "vllm.service",
        ],
    );
    let (status, out, err) = run(false, &["curl", "-sS", "-w", "%{http_code}", &health]);
    assert_eq!(status, Some(7), "{err}");
    assert_eq!(out, "000");
    assert!(
        err.contains("Failed to connect to 10.0.0.151 port 8000"),
        "{err}"
    );
}

#[test]
fn issue_12_a_changed_max_model_len_restarts_vllm_only_once() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let config = lab_with(&scratch, |_| {});
    apply(config.as_str(), &scratch);
    // 951 and 953 are one pool behind the gateway: its replicas change together (one served
    // name with two engines is a config error).
    edit_lxc(&scratch, |lxc| {
        for id in ["951", "953"] {
            lxc[id]["vllm_engine_config"]["ModelConfig"]["max_model_len"] = json!(2048);
        }
    });
    let plan = on(&scratch, "plan", config.as_str(), &[]);
    assert!(
        plan.stdout.contains("-ExecStart=") && plan.stdout.contains("--max-model-len 2048"),
        "{}",
        plan.stdout
    );
    apply(config.as_str(), &scratch);
    let commands = last_run_commands(&scratch);
    let restarts: Vec<&String> = commands
        .iter()
        .filter(|c| {
            c.contains("systemctl restart")
                || c.contains("systemctl reload")
                || c.contains("systemctl start")
                || c.contains("systemctl stop")
                || c.starts_with("pct start")
                || c.starts_with("pct stop")
        })
        .collect();
    // Each replica restarts once; the gateway, whose context check follows the new length,
    // reloads once (in any order).
    let mut restarts = restarts;
    restarts.sort();
    assert_eq!(
        restarts,
        [
            "pct exec 101 -- systemctl reload nginx.service",
            "pct exec 951 -- systemctl restart vllm.service",
            "pct exec 953 -- systemctl restart vllm.service",
        ],
        "{commands:?}"
    );
    let reload = commands
        .iter()
        .position(|c| c == "pct exec 951 -- systemctl daemon-reload")
        .expect("systemd reads the new unit first");
    let restart = commands
        .iter()
        .position(|c| c == "pct exec 951 -- systemctl restart vllm.service")
        .expect("restart");
    assert!(reload < restart, "{commands:?}");
    assert!(
        !commands
            .iter()
            .any(|c| c.starts_with("pct exec 951") && (c.contains("pip") || c.contains("venv"))),
        "{commands:?}"
    );
    assert!(
        cat_in_951(&scratch, "/etc/systemd/system/vllm.service").contains("--max-model-len 2048")
    );
    let ran = on(&scratch, "plan", config.as_str(), &["--detailed-exitcode"]);
    assert_eq!(ran.code, 0, "{}", ran.stdout);
}

#[test]
fn issue_12_a_new_vllm_version_installs_beside_the_old_and_moves_the_unit() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let config = lab_with(&scratch, |_| {});
    apply(config.as_str(), &scratch);
    edit_lxc(&scratch, |lxc| {
        lxc["951"]["vllm_version"] = json!("0.11.0");
    });
    apply(config.as_str(), &scratch);
    let commands = last_run_commands(&scratch);
    for expect in [
        "pct exec 951 -- python3 -m venv /opt/vllm/0.11.0",
        "pct exec 951 -- /opt/vllm/0.11.0/bin/pip --python /opt/vllm/0.11.0/bin/python3 install --no-input vllm==0.11.0",
        "pct exec 951 -- systemctl restart vllm.service",
    ] {
        assert_eq!(
            commands.iter().filter(|c| *c == expect).count(),
            1,
            "{expect}: {commands:?}"
        );
    }
    assert!(
        cat_in_951(&scratch, "/etc/systemd/system/vllm.service")
            .contains("ExecStart=/opt/vllm/0.11.0/bin/vllm serve ")
    );
    // An older pin writes the pooling runner the way that release reads it.
    edit_lxc(&scratch, |lxc| {
        lxc["951"]["vllm_version"] = json!("0.10.0");
    });
    apply(config.as_str(), &scratch);
    assert!(
        cat_in_951(&scratch, "/etc/systemd/system/vllm.service")
            .contains("serve ibm-granite/granite-embedding-english-r2 --task embed ")
    );
}

#[test]
fn issue_12_the_hf_token_reaches_the_container_root_only_and_nowhere_else() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let canary = "hf_canaryQ1w2e3r4t5y6u7i8";
    let config = lab_with(&scratch, |_| {});
    let hypervisor = scratch.config_dir().join("phoenix_hypervisor_config.json");
    let mut json: Value =
        serde_json::from_str(&std::fs::read_to_string(&hypervisor).expect("read")).expect("JSON");
    json["core_paths"] = json!({"hf_token_file": "/root/phoenix/hf_token.conf"});
    std::fs::write(
        &hypervisor,
        serde_json::to_string_pretty(&json).expect("JSON"),
    )
    .expect("write");
    let mut state = scratch.state();
    state.files.insert(
        "/root/phoenix/hf_token.conf".to_owned(),
        phoenix_core::sim::SimFile::new(format!("{canary}\n"), 0o600, "root:root"),
    );
    scratch.write_state(&state);
    let plan = on(&scratch, "plan", config.as_str(), &["-vvv"]);
    assert!(
        plan.stdout.contains("vllm.hf_token[ct:951:hf-token]")
            && plan.stdout.contains("(sensitive, 35 bytes)"),
        "{}",
        plan.stdout
    );
    let json_plan = on(&scratch, "plan", config.as_str(), &["--json"]);
    converge(config.as_str(), &scratch);
    for (what, text) in [
        ("plan", &plan.stdout),
        ("plan -vvv", &plan.stderr),
        ("plan --json", &json_plan.stdout),
    ] {
        assert!(!text.contains(canary), "{what}");
    }
    let state = scratch.state();
    assert!(
        !serde_json::to_string(&state.audit)
            .expect("JSON")
            .contains(canary)
    );
    let unit = cat_in_951(&scratch, "/etc/systemd/system/vllm.service");
    assert!(unit.contains("EnvironmentFile=-/etc/vllm/hf-token.env\n") && !unit.contains(canary));
    assert_eq!(
        cat_in_951(&scratch, "/etc/vllm/hf-token.env"),
        format!("HF_TOKEN={canary}\n")
    );
    // A new token restarts vLLM once; the unit file is unchanged, so no daemon-reload.
    let mut state = scratch.state();
    state.files.insert(
        "/root/phoenix/hf_token.conf".to_owned(),
        phoenix_core::sim::SimFile::new("HF_TOKEN=hf_rotatedCanary9\n", 0o600, "root:root"),
    );
    scratch.write_state(&state);
    apply(config.as_str(), &scratch);
    let commands = last_run_commands(&scratch);
    let mut systemctl: Vec<&String> = commands
        .iter()
        .filter(|c| c.starts_with("pct exec") && c.contains("systemctl"))
        .collect();
    systemctl.sort();
    // Every vLLM of the lab reads the token: each restarts once (the lab's 953 is 951's replica).
    assert_eq!(
        systemctl,
        [
            "pct exec 951 -- systemctl restart vllm.service",
            "pct exec 953 -- systemctl restart vllm.service"
        ],
        "{commands:?}"
    );
}

/// The ExecStart of upstream 0017fa8's vLLM containers (950 as the operator fixes it) and
/// `systemd-analyze verify` of each unit (the venv's `vllm` pointed at /bin/true: CI has no
/// vLLM; every other line is verified as written).
#[test]
fn issue_12_upstream_units_exec_start_and_the_real_systemd_analyze() {
    let text = crate::support::fix_upstream_950(
        &std::fs::read_to_string(upstream().join("0017fa8__etc__phoenix_lxc_configs.json"))
            .expect("fixture"),
    );
    let document = phoenix_core::config::Document::parse(
        std::path::PathBuf::from("phoenix_lxc_configs.json"),
        text,
    )
    .expect("JSON");
    let config = phoenix_core::config::ConfigSet::from_documents(vec![document]);
    let servers = phoenix_services::vllm::servers(&config);
    let guests = phoenix_services::guests(&config);
    let scratch = Scratch::new();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut exec_starts = String::new();
    for vmid in [950, 951, 801, 802] {
        let server = &servers[&vmid];
        let layout = phoenix_ai::vllm::unit::Layout::new(
            server.version,
            // 950 and 951's volume named vllm_models, as phoenix-ai finds it.
            guests[&vmid].entry["zfs_volumes"][0]["mount_point"].as_str(),
        );
        let unit = phoenix_ai::vllm::unit::unit_text(server, &layout);
        let exec = unit
            .lines()
            .find(|l| l.starts_with("ExecStart="))
            .expect("ExecStart");
        exec_starts.push_str(&format!("{vmid}: {exec}\n"));
        let program = phoenix_ai::vllm::unit::program(&layout);
        let runnable = unit.replace(&format!("ExecStart={program} "), "ExecStart=/bin/true ");
        assert_ne!(runnable, unit);
        let (status, output) = rt.block_on(verify_unit(scratch.path(), &runnable));
        assert_eq!(
            (status, output.as_str()),
            (Some(0), ""),
            "{vmid}:\n{runnable}"
        );
    }
    insta::assert_snapshot!(exec_starts);
    // The checker is not silent on a mistake of the kind it must catch.
    let broken = phoenix_ai::vllm::unit::unit_text(
        &servers[&951],
        &phoenix_ai::vllm::unit::Layout::new(servers[&951].version, None),
    )
    .replace("Type=exec", "Type=exe");
    let (_, output) = rt.block_on(verify_unit(scratch.path(), &broken));
    assert!(output.contains("Failed to parse service type"), "{output}");
}

/// `systemd-analyze verify` of `text` saved as `vllm.service` in `dir`.
async fn verify_unit(dir: &std::path::Path, text: &str) -> (Option<i32>, String) {
    use phoenix_core::{Cmd, Host, LocalHost};
    let path = dir.join(phoenix_ai::vllm::unit::UNIT);
    std::fs::write(&path, text).expect("write");
    let out = LocalHost::new()
        .run(&Cmd::read("systemd-analyze", ["verify", arg(&path)]))
        .await
        .expect("systemd-analyze runs (systemd is installed by cargo xtask ci)");
    let shown = format!("{}{}", out.stdout, out.stderr).replace(arg(dir), "DIR");
    (out.status, shown)
}
