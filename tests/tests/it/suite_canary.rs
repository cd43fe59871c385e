//! The canary suite (issue 8): a unique canary secret in every place a secret can be (a `0600`
//! managed file, a `sensitive` file, `lxc.environment` options of a template and of a clone, a
//! file whose old content on the host is secret, a secret replaced by another, a command's
//! environment, the admin user's password hash, the Samba password a command reads on stdin, the
//! Hugging Face token vLLM reads from `core_paths.hf_token_file`),
//! then every command an operator runs — validate, plan (text, JSON, `--out`), apply (text,
//! JSON, from a saved plan), `-vvv` logs, a failing apply's errors, status — and
//! every file written that is not the host's own disk (the saved plan, the audit log): no
//! canary may appear anywhere.
//!
//! The simulated node's files are the simulated host's disk: they hold the secrets, as a real
//! host's would.

use std::collections::BTreeMap;
use std::hash::{BuildHasher as _, Hasher as _};
use std::os::unix::fs::PermissionsExt as _;
use std::sync::Arc;

use async_trait::async_trait;
use phoenix_core::sim::{Fault, SimFile};
use phoenix_core::{
    ApplyOptions, BoxError, Cmd, Ctx, Delta, FieldChange, PlanOptions, Resource, ResourceId,
};
use serde_json::Value;

use crate::support::{Kv, KvAll, Ran, Scratch, arg, engine, host, node, phoenix, phoenix_logged};

/// The canaries and how many outputs were checked for them.
struct Canaries {
    by_place: BTreeMap<&'static str, String>,
    outputs: usize,
}

impl Canaries {
    fn new() -> Canaries {
        Canaries {
            by_place: BTreeMap::new(),
            outputs: 0,
        }
    }

    /// A fresh random-looking canary for `place`.
    fn add(&mut self, place: &'static str) -> String {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write(place.as_bytes());
        let canary = format!("cnry{:016x}q", hasher.finish());
        self.by_place.insert(place, canary.clone());
        canary
    }

    fn get(&self, place: &str) -> &str {
        &self.by_place[place]
    }

    /// Asserts that no canary appears in `text`, the output called `what`.
    fn check(&mut self, what: &str, text: &str) {
        for (place, canary) in &self.by_place {
            assert!(
                !text.contains(canary.as_str()),
                "the canary of {place} leaked into {what}:\n{text}"
            );
        }
        self.outputs += 1;
    }

    /// Checks a run's stdout and stderr.
    fn check_run(&mut self, what: &str, ran: &Ran) {
        self.check(&format!("{what} (stdout)"), &ran.stdout);
        self.check(&format!("{what} (stderr)"), &ran.stderr);
    }
}

/// Adds the canaries' files to the lab's hypervisor config and environment options to a
/// template (900) and a clone (951).
fn write_config(scratch: &Scratch, canaries: &Canaries, rotated: &str) {
    let dir = scratch.config_dir();
    let edit = |name: &str, change: &dyn Fn(&mut Value)| {
        let file = dir.join(name);
        let mut json: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("JSON");
        change(&mut json);
        std::fs::write(&file, serde_json::to_string_pretty(&json).expect("JSON")).expect("write");
    };
    edit("phoenix_hypervisor_config.json", &|json| {
        let files = json["files"].as_array_mut().expect("files");
        files.extend([
            serde_json::json!({"path": "/etc/phoenix/private.key", "content": format!("{}\n", canaries.get("0600 file")), "mode": "0600"}),
            serde_json::json!({"path": "/etc/phoenix/readonly.key", "content": canaries.get("0400 file"), "mode": "0400"}),
            serde_json::json!({"path": "/etc/phoenix/marked.conf", "content": format!("token = {}\n", canaries.get("sensitive file")), "mode": "0644", "sensitive": true}),
            serde_json::json!({"path": "/etc/phoenix/was-secret.conf", "content": "public now\n", "mode": "0644"}),
            serde_json::json!({"path": "/etc/phoenix/rotated.key", "content": rotated, "mode": "0600"}),
        ]);
        // The Hugging Face token vLLM reads (issue 12): a root-only file on the node.
        json["core_paths"] = serde_json::json!({"hf_token_file": "/root/phoenix/hf_token.conf"});
        // A well-formed crypt hash whose digest is the canary.
        json["users"]["password_hash"] = Value::String(format!(
            "$6$canarysalt${}",
            canaries.get("admin password hash")
        ));
    });
    edit("phoenix_lxc_configs.json", &|json| {
        let configs = &mut json["lxc_configs"];
        configs["900"]["lxc_options"] = serde_json::json!([format!(
            "lxc.environment=HF_TOKEN={}",
            canaries.get("lxc.environment of a template")
        )]);
        let clone = configs["951"]["lxc_options"]
            .as_array_mut()
            .expect("951 has lxc_options");
        clone.push(Value::String(format!(
            "lxc.environment=API_KEY={}",
            canaries.get("lxc.environment of a clone")
        )));
    });
}

/// Seeds the host with secrets the config will overwrite.
fn seed_host(scratch: &Scratch, canaries: &Canaries) {
    let mut state = scratch.state();
    for (path, place) in [
        ("/etc/phoenix/was-secret.conf", "old content of a 0600 file"),
        ("/etc/phoenix/rotated.key", "old secret of a rotated file"),
        (
            "/root/phoenix/samba-heads.password",
            "the Samba password file",
        ),
        ("/root/phoenix/hf_token.conf", "the Hugging Face token file"),
        ("/root/phoenix/qdrant-api-key", "the Qdrant API key file"),
    ] {
        state.files.insert(
            path.to_owned(),
            SimFile::new(format!("{}\n", canaries.get(place)), 0o600, "root:root"),
        );
    }
    scratch.write_state(&state);
}

#[test]
#[expect(
    clippy::print_stdout,
    reason = "the suite prints its counts, shown by the CI step that runs suite_* tests"
)]
fn suite_canary() {
    let mut canaries = Canaries::new();
    for place in [
        "0600 file",
        "0400 file",
        "sensitive file",
        "lxc.environment of a template",
        "lxc.environment of a clone",
        "old content of a 0600 file",
        "old secret of a rotated file",
        "new secret of a rotated file",
        "lxc.environment added later",
        "a malformed lxc option",
        "admin password hash",
        "a malformed password hash",
        "the Samba password file",
        "the gateway's API keys file",
        "the local CA's key",
        "the Hugging Face token file",
        "the Qdrant API key file",
    ] {
        canaries.add(place);
    }
    let scratch = Scratch::new();
    let config =
        scratch.copy_lab_config(&["phoenix_hypervisor_config.json", "phoenix_lxc_configs.json"]);
    scratch.seed_lab_state();
    seed_host(&scratch, &canaries);
    let rotated = format!("{}\n", canaries.get("new secret of a rotated file"));
    write_config(&scratch, &canaries, &rotated);
    let config = arg(&config).to_owned();
    let target = scratch.target();
    let on = |args: &[&str], logged: bool| {
        let mut all = vec![
            args[0],
            "--config",
            config.as_str(),
            "--target",
            target.as_str(),
        ];
        all.extend_from_slice(&args[1..]);
        if logged {
            all.push("-vvv");
            phoenix_logged(&all)
        } else {
            phoenix(&all)
        }
    };

    for json in [false, true] {
        let mut args = vec!["validate", "--config", config.as_str()];
        if json {
            args.push("--json");
        }
        let ran = phoenix(&args);
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        canaries.check_run("validate", &ran);
    }
    for format in ["text", "dot", "mermaid"] {
        let ran = phoenix(&["graph", "--config", config.as_str(), "--format", format]);
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        canaries.check_run("graph", &ran);
    }
    for (what, args, logged) in [
        ("plan", vec!["plan"], false),
        ("plan --json", vec!["plan", "--json"], false),
        ("plan -vvv", vec!["plan"], true),
        ("status", vec!["status"], false),
        ("status --json", vec!["status", "--json"], false),
    ] {
        let ran = on(&args, logged);
        assert!(ran.code == 0, "{what}: {}\n{}", ran.stdout, ran.stderr);
        canaries.check_run(what, &ran);
    }
    let plan_text = on(&["plan"], false).stdout;
    assert!(plan_text.contains("(sensitive, "), "{plan_text}");

    // A saved plan: no canary, and readable by its owner only.
    let saved = scratch.path().join("saved-plan.json");
    let ran = on(&["plan", "--out", arg(&saved)], false);
    canaries.check_run("plan --out", &ran);
    canaries.check(
        "the saved plan",
        &std::fs::read_to_string(&saved).expect("saved"),
    );
    let mode = std::fs::metadata(&saved)
        .expect("saved")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the saved plan is 0600");

    // A failing apply: the error names the command, never its secret stdin.
    let mut state = scratch.state();
    state.faults.push(
        Fault::new(1, 1, "tee: /etc/pve/lxc/900.conf: Read-only file system\n")
            .program("tee")
            .argv_contains("900.conf"),
    );
    scratch.write_state(&state);
    let ran = on(&["apply", "--plan", arg(&saved), "--yes"], true);
    assert_eq!(
        ran.code, 1,
        "the fault fails the apply: {}\n{}",
        ran.stdout, ran.stderr
    );
    assert!(
        ran.stderr.contains("Read-only file system"),
        "{}",
        ran.stderr
    );
    canaries.check_run("a failing apply -vvv", &ran);

    // Apply (text, logged), then a no-op plan and apply.
    let ran = on(&["apply", "--yes"], true);
    assert_eq!(ran.code, 0, "apply: {}\n{}", ran.stdout, ran.stderr);
    canaries.check_run("apply -vvv", &ran);
    for (what, args) in [
        ("plan after apply", vec!["plan", "--detailed-exitcode"]),
        ("apply --json after apply", vec!["apply", "--yes", "--json"]),
        ("status after apply", vec!["status"]),
    ] {
        let ran = on(&args, false);
        assert_eq!(ran.code, 0, "{what}: {}\n{}", ran.stdout, ran.stderr);
        canaries.check_run(what, &ran);
    }

    // An environment option added to a running clone: the conf is rewritten, with a diff of the
    // conf that already holds the other secrets.
    let lxc = scratch.config_dir().join("phoenix_lxc_configs.json");
    let mut json: Value =
        serde_json::from_str(&std::fs::read_to_string(&lxc).expect("read")).expect("JSON");
    json["lxc_configs"]["951"]["lxc_options"]
        .as_array_mut()
        .expect("options")
        .push(Value::String(format!(
            "lxc.environment=LATER={}",
            canaries.get("lxc.environment added later")
        )));
    std::fs::write(&lxc, serde_json::to_string_pretty(&json).expect("JSON")).expect("write");
    for (what, args, logged) in [
        (
            "plan of an added option",
            vec!["plan", "--detailed-exitcode"],
            false,
        ),
        (
            "plan --json of an added option",
            vec!["plan", "--json"],
            false,
        ),
        (
            "apply --json of an added option -vvv",
            vec!["apply", "--yes", "--json"],
            true,
        ),
    ] {
        let ran = on(&args, logged);
        assert!(
            ran.code == 0 || ran.code == 2,
            "{what}: {}\n{}",
            ran.stdout,
            ran.stderr
        );
        canaries.check_run(what, &ran);
    }

    // The host holds the secrets (it is the host's disk); its audit log does not.
    let state = scratch.state();
    assert_eq!(
        state.files["/etc/phoenix/rotated.key"].content, rotated,
        "the secret was written"
    );
    assert!(
        state.files["/etc/pve/lxc/951.conf"]
            .content
            .contains(canaries.get("lxc.environment added later"))
    );
    canaries.check(
        "the sim audit log",
        &serde_json::to_string(&state.audit).expect("JSON"),
    );
    // The hash is set on the host (its /etc/shadow) and is nowhere else in the state file.
    assert!(
        state.files["/etc/shadow"]
            .content
            .contains(canaries.get("admin password hash"))
    );
    let mut elsewhere = state.clone();
    elsewhere.files.remove("/etc/shadow");
    assert!(
        !elsewhere
            .to_json()
            .contains(canaries.get("admin password hash")),
        "the hash is in the state file only as the host's /etc/shadow"
    );
    let audit = phoenix(&["sim-audit", "--target", target.as_str(), "--run", "all"]);
    canaries.check_run("sim-audit", &audit);

    check_bad_input(&mut canaries, &scratch);
    check_command_environment(&mut canaries);
    check_gateway_secrets(&mut canaries);
    println!(
        "suite canary: {} canaries, {} outputs checked, 0 leaks",
        canaries.by_place.len(),
        canaries.outputs
    );
}

/// A config error in an option that holds a secret: the error names the entry, not the value.
fn check_bad_input(canaries: &mut Canaries, scratch: &Scratch) {
    let bad = scratch.path().join("bad");
    std::fs::create_dir_all(&bad).expect("bad config dir");
    let mut json: Value = serde_json::from_str(
        &std::fs::read_to_string(scratch.config_dir().join("phoenix_lxc_configs.json"))
            .expect("read"),
    )
    .expect("JSON");
    json["lxc_configs"]["900"]["lxc_options"] = serde_json::json!([format!(
        "lxc.environment HF_TOKEN={}",
        canaries.get("a malformed lxc option")
    )]);
    std::fs::write(
        bad.join("phoenix_lxc_configs.json"),
        serde_json::to_string_pretty(&json).expect("JSON"),
    )
    .expect("write");
    let target = scratch.target();
    for args in [
        vec!["validate", "--config", arg(&bad)],
        vec!["validate", "--config", arg(&bad), "--json"],
        vec!["plan", "--config", arg(&bad), "--target", target.as_str()],
    ] {
        let ran = phoenix(&args);
        assert_eq!(ran.code, 1, "{}", ran.stderr);
        assert!(ran.stderr.contains("lxc_options[0]"), "{}", ran.stderr);
        canaries.check_run(&format!("bad input: {}", args[0]), &ran);
    }
    // A password hash that is not a crypt hash (a plain password by mistake): described, never
    // quoted.
    let bad_hash = scratch.path().join("bad-hash");
    std::fs::create_dir_all(&bad_hash).expect("bad hash dir");
    let mut json: Value = serde_json::from_str(
        &std::fs::read_to_string(scratch.config_dir().join("phoenix_hypervisor_config.json"))
            .expect("read"),
    )
    .expect("JSON");
    json["users"]["password_hash"] =
        Value::String(canaries.get("a malformed password hash").to_owned());
    std::fs::write(
        bad_hash.join("phoenix_hypervisor_config.json"),
        serde_json::to_string_pretty(&json).expect("JSON"),
    )
    .expect("write");
    for args in [
        vec!["validate", "--config", arg(&bad_hash)],
        vec!["validate", "--config", arg(&bad_hash), "--json"],
        vec![
            "plan",
            "--config",
            arg(&bad_hash),
            "--target",
            target.as_str(),
        ],
    ] {
        let ran = phoenix(&args);
        assert_eq!(ran.code, 1, "{}", ran.stderr);
        assert!(ran.stderr.contains("users.password_hash"), "{}", ran.stderr);
        canaries.check_run(&format!("bad hash: {}", args[0]), &ran);
    }
}

/// A resource whose step passes a secret in the command's environment.
#[derive(Debug)]
struct EnvItem {
    token: String,
}

#[async_trait]
impl Resource for EnvItem {
    type State = String;

    fn id(&self) -> ResourceId {
        crate::support::item_id("with-env")
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<String>, BoxError> {
        Ok(cx.fact(&KvAll).await?.get("with-env").cloned())
    }

    fn diff(&self, observed: Option<&String>) -> Delta {
        if observed.is_some() {
            return Delta::none();
        }
        Delta::none()
            .field(FieldChange::new("value", None, Some("set".into())))
            .run(Cmd::write("kv", ["set", "with-env", "set"]).env("TOKEN", self.token.clone()))
    }
}

/// The environment of commands, through the engine: plan JSON and text, the apply report, logs.
fn check_command_environment(canaries: &mut Canaries) {
    let token = canaries.add("a command's environment");
    let kv = Kv::new();
    let node = node(&kv, &[]);
    let engine = engine(vec![Box::new(EnvItem { token })]);
    let (io, captured) = phoenix_cli::Io::captured("");
    let subscriber = phoenix_cli::logging::subscriber(3, false, captured.log_writer());
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    let report = tracing::subscriber::with_default(subscriber, || {
        let plan = rt.block_on(engine.plan(host(&node), &PlanOptions::default()));
        assert_eq!(plan.changes.len(), 1);
        rt.block_on(engine.apply(
            host(&node),
            &ApplyOptions::default(),
            Arc::new(phoenix_core::apply::Quiet),
        ))
    })
    .expect("applies");
    drop(io);
    let style = phoenix_cli::render::Style { color: false };
    canaries.check(
        "an env plan as JSON",
        &serde_json::to_string(&report.plan).expect("JSON"),
    );
    canaries.check(
        "an env plan as text",
        &phoenix_cli::render::plan(&report.plan, style),
    );
    canaries.check(
        "an env apply report",
        &serde_json::to_string(&report).expect("JSON"),
    );
    canaries.check("an env plan's debug form", &format!("{report:?}"));
    canaries.check("the engine's -vvv log", &captured.stderr());
    assert!(
        captured.stderr().contains("TOKEN=<redacted>"),
        "the log shows the command"
    );
}

/// The gateway's secrets (issue 13): the operator's API keys file and the local CA's key on
/// the node, both read by the node's probe; no plan, log or saved plan shows them.
fn check_gateway_secrets(canaries: &mut Canaries) {
    let scratch = Scratch::new();
    let config =
        scratch.copy_lab_config(&["phoenix_hypervisor_config.json", "phoenix_lxc_configs.json"]);
    scratch.seed_lab_state();
    let lxc = config.join("phoenix_lxc_configs.json");
    let mut json: Value =
        serde_json::from_str(&std::fs::read_to_string(&lxc).expect("read")).expect("JSON");
    json["gateway"] = serde_json::json!({
        "container": 101,
        "tls": {"mode": "local_ca"},
        "api_keys_file": "/root/phoenix/gateway-api-keys",
        "modsecurity": "detection",
        "fail2ban": true,
    });
    std::fs::write(&lxc, serde_json::to_string_pretty(&json).expect("JSON")).expect("write");
    let authority = phoenix_net::gateway::ca::new_ca(1_796_000_000).expect("a CA");
    let mut state = scratch.state();
    state.files.insert(
        "/root/phoenix/gateway-api-keys".to_owned(),
        SimFile::new(
            format!("{}\n", canaries.get("the gateway's API keys file")),
            0o600,
            "root:root",
        ),
    );
    state.files.insert(
        phoenix_net::gateway::tls_resources::CA_KEY.to_owned(),
        SimFile::new(
            format!(
                "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
                canaries.get("the local CA's key")
            ),
            0o600,
            "root:root",
        ),
    );
    state.files.insert(
        phoenix_net::gateway::tls_resources::CA_CERT.to_owned(),
        SimFile::new(authority.cert_pem, 0o644, "root:root"),
    );
    scratch.write_state(&state);
    let config = arg(&config).to_owned();
    let target = scratch.target();
    let saved = scratch.path().join("gateway-plan.json");
    for (what, args, logged) in [
        ("gateway plan", vec!["plan"], false),
        ("gateway plan --json", vec!["plan", "--json"], false),
        ("gateway plan -vvv", vec!["plan"], true),
        (
            "gateway plan --out",
            vec!["plan", "--out", arg(&saved)],
            false,
        ),
    ] {
        let mut all = vec![
            args[0],
            "--config",
            config.as_str(),
            "--target",
            target.as_str(),
        ];
        all.extend_from_slice(&args[1..]);
        let ran = if logged {
            all.push("-vvv");
            phoenix_logged(&all)
        } else {
            phoenix(&all)
        };
        assert!(
            ran.code == 0 || ran.code == 2,
            "{what}: {}\n{}",
            ran.stdout,
            ran.stderr
        );
        if what == "gateway plan" {
            // The plan does make the keys map and trusts the CA: the secrets were in play.
            assert!(
                ran.stdout.contains("gateway.api_keys[ct:101:"),
                "{}",
                ran.stdout
            );
            assert!(ran.stdout.contains("gateway.trust[ct:"), "{}", ran.stdout);
        }
        canaries.check_run(what, &ran);
    }
    canaries.check(
        "the gateway's saved plan",
        &std::fs::read_to_string(&saved).expect("saved"),
    );
}
