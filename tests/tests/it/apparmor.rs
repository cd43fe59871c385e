//! AppArmor end to end on the simulated node (issue 9, seed §7.2 steps 1 and 2): the lab's
//! nested-Docker containers run under `lxc-phoenix-v2`, whose tunable and profile are written,
//! validated by `apparmor_parser` and loaded once; a converged host loads nothing; a syntax error
//! in an include the profile pulls in stops the apply with the parser's own message and leaves
//! the live profile as it was; a profile that is neither loaded nor shipped is a plan error.

use serde_json::Value;

use crate::support::{Scratch, arg, converge, on};

const PROFILE: &str = "/etc/apparmor.d/lxc/lxc-phoenix-v2";
const TUNABLE: &str = "/etc/apparmor.d/tunables/phoenix-nesting";

/// The argv of every command run `run` executed.
fn commands_of(scratch: &Scratch, run: u64) -> Vec<String> {
    let state = scratch.state();
    state
        .audit
        .iter()
        .filter(|e| e.run == run && e.op.to_string() == "run")
        .map(|e| e.argv.join(" "))
        .collect()
}

/// The lab's config and node in a scratch, with `edit` applied to the containers' config.
fn lab(edit: impl FnOnce(&mut Value)) -> (Scratch, String) {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let dir =
        scratch.copy_lab_config(&["phoenix_hypervisor_config.json", "phoenix_lxc_configs.json"]);
    let path = dir.join("phoenix_lxc_configs.json");
    let mut containers: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
    edit(&mut containers);
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&containers).expect("JSON"),
    )
    .expect("write");
    (scratch, arg(&dir).to_owned())
}

fn file_content(scratch: &Scratch, path: &str) -> Option<String> {
    scratch.state().files.get(path).map(|f| f.content.clone())
}

fn loaded(scratch: &Scratch) -> Value {
    let state = scratch.state();
    state.tools.get("apparmor").cloned().unwrap_or(Value::Null)
}

#[test]
fn issue_9_the_lab_profile_is_validated_loaded_once_and_used_by_its_docker_containers() {
    let (scratch, config) = lab(|_| {});
    let before = scratch.state().run;
    let noop = converge(&config, &scratch);
    // The first apply: both files validated on their staged copies, one load.
    let state = scratch.state();
    let first = commands_of(&scratch, before + 1);
    let apparmor: Vec<&String> = first
        .iter()
        .filter(|c| c.starts_with("apparmor_parser"))
        .collect();
    assert_eq!(
        apparmor,
        [
            "apparmor_parser -Q -K /etc/apparmor.d/tunables/.phoenix-nesting.phoenix-new",
            "apparmor_parser -Q -K /etc/apparmor.d/lxc/.lxc-phoenix-v2.phoenix-new",
            "apparmor_parser -r /etc/apparmor.d/lxc/lxc-phoenix-v2",
        ],
        "{first:#?}"
    );
    // The profile is loaded before the containers that use it are created.
    let load = first
        .iter()
        .position(|c| c.starts_with("apparmor_parser -r"))
        .expect("a load");
    let clone = first
        .iter()
        .position(|c| c.starts_with("pct clone 900 902"))
        .expect("902 is cloned");
    assert!(load < clone, "{first:#?}");
    assert_eq!(loaded(&scratch)["profiles"]["lxc-phoenix-v2"], "enforce");
    assert_eq!(loaded(&scratch)["loads"], 1);
    for id in ["902", "952"] {
        let conf = file_content(&scratch, &format!("/etc/pve/lxc/{id}.conf")).expect("conf");
        let main = conf.split("\n[").next().unwrap_or_default();
        assert_eq!(
            main.matches("lxc.apparmor.profile: lxc-phoenix-v2\n")
                .count(),
            1,
            "{id}: {conf}"
        );
    }
    // The second apply (in `converge`) changed nothing and loaded nothing; the no-op plan reads
    // the loaded profiles through the node's one probe.
    assert!(
        !commands_of(&scratch, state.run)
            .iter()
            .any(|c| c.starts_with("apparmor_parser") || c.starts_with("aa-status")),
        "{:#?}",
        commands_of(&scratch, state.run)
    );
    assert_eq!(noop["stats"]["commands_by_program"]["sh"], 1, "{noop}");
    assert!(noop["stats"]["commands_by_program"]["aa-status"].is_null());
}

#[test]
fn issue_9_an_edited_profile_is_rewritten_and_reloaded_once() {
    let (scratch, config) = lab(|_| {});
    converge(&config, &scratch);
    scratch.edit_state(|state| {
        let content = state["files"][PROFILE]["content"]
            .as_str()
            .expect("profile")
            .to_owned();
        state["files"][PROFILE]["content"] =
            Value::String(content.replace("  /dev/shm/** rw,\n", ""));
    });
    let before = scratch.state().run;
    let ran = on(&scratch, "apply", &config, &["--yes"]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout
            .contains("when changed: file[/etc/apparmor.d/lxc/lxc-phoenix-v2]"),
        "{}",
        ran.stdout
    );
    let commands = commands_of(&scratch, before + 1);
    let loads: Vec<&String> = commands
        .iter()
        .filter(|c| c.starts_with("apparmor_parser -r"))
        .collect();
    assert_eq!(loads.len(), 1, "{commands:#?}");
    assert!(
        file_content(&scratch, PROFILE)
            .expect("profile")
            .contains("  /dev/shm/** rw,\n")
    );
    assert_eq!(loaded(&scratch)["loads"], 2);
    // Only the profile changed: no container restarts for it.
    assert!(
        !commands
            .iter()
            .any(|c| c.starts_with("pct shutdown") || c.starts_with("pct start")),
        "{commands:#?}"
    );
}

#[test]
fn issue_9_a_syntax_error_in_an_apparmor_include_exits_1_with_the_parsers_message_and_the_live_file_unchanged()
 {
    let (scratch, config) = lab(|_| {});
    let old = "# An older lxc-phoenix-v2, still live.\n";
    scratch.edit_state(|state| {
        let file = |content: &str| serde_json::json!({"content": content, "mode": "0644", "owner": "root:root"});
        state["files"][PROFILE] = file(old);
        // A site tunable with the mistake upstream "fixed" by overwriting tunables/home.
        state["files"]["/etc/apparmor.d/tunables/home.d/site.local"] =
            file("# Site additions.\n@{HOMEDIRS} /srv/home/\n");
    });
    let before = scratch.state().run;
    let ran = on(&scratch, "apply", &config, &["--yes"]);
    assert_eq!(ran.code, 1, "{}\n{}", ran.stdout, ran.stderr);
    let output = format!("{}{}", ran.stdout, ran.stderr);
    assert!(
        output.contains("AppArmor parser error for /etc/apparmor.d/lxc/.lxc-phoenix-v2.phoenix-new in profile /etc/apparmor.d/tunables/home.d/site.local at line 2: syntax error, unexpected TOK_ID, expecting TOK_EQUALS or TOK_ADD_ASSIGN"),
        "{output}"
    );
    assert_eq!(file_content(&scratch, PROFILE).as_deref(), Some(old));
    assert_eq!(
        file_content(&scratch, "/etc/apparmor.d/lxc/.lxc-phoenix-v2.phoenix-new"),
        None,
        "the staged file is removed"
    );
    let commands = commands_of(&scratch, before + 1);
    assert!(
        !commands.iter().any(|c| c.starts_with("apparmor_parser -r")),
        "nothing is loaded: {commands:#?}"
    );
    // The tunable is valid on its own, so it went live; the distro's tunables/home is untouched.
    assert!(file_content(&scratch, TUNABLE).is_some());
    assert_eq!(
        file_content(&scratch, "/etc/apparmor.d/tunables/home"),
        None
    );
}

#[test]
fn issue_9_a_container_with_a_profile_neither_loaded_nor_shipped_is_a_plan_error() {
    let (scratch, config) = lab(|containers| {
        containers["lxc_configs"]["952"]["apparmor_profile"] = Value::String("lxc-nosuch".into());
    });
    let before = scratch.state_bytes();
    let ran = on(&scratch, "plan", &config, &[]);
    assert_eq!(ran.code, 1, "{}\n{}", ran.stdout, ran.stderr);
    let output = format!("{}{}", ran.stdout, ran.stderr);
    assert!(
        output.contains("AppArmor profile \"lxc-nosuch\" (apparmor_profile of container 952) is not loaded on the node (aa-status --json) and no resource of this run provides it"),
        "{output}"
    );
    let ran = on(&scratch, "apply", &config, &["--yes"]);
    assert_eq!(ran.code, 1, "{}\n{}", ran.stdout, ran.stderr);
    assert_eq!(
        scratch.state().files.len(),
        serde_json::from_slice::<phoenix_core::sim::SimState>(&before)
            .expect("state")
            .files
            .len(),
        "apply refuses a plan with errors and writes nothing"
    );
}

#[test]
fn issue_9_a_distro_profile_that_is_loaded_is_accepted_and_upstreams_spelling_is_refused() {
    let (scratch, config) = lab(|containers| {
        containers["lxc_configs"]["952"]["apparmor_profile"] =
            Value::String("lxc-container-default-with-nesting".into());
    });
    let ran = on(&scratch, "plan", &config, &["--detailed-exitcode"]);
    assert_eq!(ran.code, 2, "{}\n{}", ran.stdout, ran.stderr);
    let (scratch, config) = lab(|containers| {
        containers["lxc_configs"]["952"]["apparmor_profile"] =
            Value::String("lxc_phoenix_v2".into());
    });
    let ran = on(&scratch, "plan", &config, &[]);
    assert_eq!(ran.code, 1, "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.stderr.contains("lxc_configs.\"952\".apparmor_profile")
            && ran
                .stderr
                .contains("upstream's underscored spelling of the profile \"lxc-phoenix-v2\""),
        "{}",
        ran.stderr
    );
}

#[test]
fn issue_9_the_upstream_config_validates_with_apparmor_profile_managed() {
    let scratch = Scratch::new();
    let dir = scratch
        .copy_upstream_config(&["phoenix_hypervisor_config.json", "phoenix_lxc_configs.json"]);
    let ran = crate::support::phoenix(&["validate", "--config", arg(&dir)]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        !ran.stderr
            .contains("apparmor_profile is known but not managed"),
        "{}",
        ran.stderr
    );
    // Every upstream container runs unconfined (spec §6.1): each gets the warning, at its path.
    let unconfined: Vec<&str> = ran
        .stderr
        .lines()
        .filter(|l| l.contains("runs the container without AppArmor confinement"))
        .collect();
    assert!(unconfined.len() >= 10, "{}", ran.stderr);
    assert!(
        unconfined
            .iter()
            .all(|l| l.starts_with("warning:") && l.contains(".apparmor_profile")),
        "{unconfined:#?}"
    );
}

#[test]
fn issue_9_upstreams_copy_of_the_profile_is_a_warning_and_is_left_alone() {
    let (scratch, config) = lab(|_| {});
    // What upstream's lxc-manager left: its verbatim copy at the top of /etc/apparmor.d.
    let upstream =
        "profile lxc-phoenix-v2 flags=(attach_disconnected,mediate_deleted) {\n  /x r,\n}\n";
    scratch.edit_state(|state| {
        state["files"]["/etc/apparmor.d/lxc-phoenix-v2"] =
            serde_json::json!({"content": upstream, "mode": "0644", "owner": "root:root"});
    });
    converge(&config, &scratch);
    let ran = on(&scratch, "plan", &config, &[]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.stderr.contains("warning: apparmor.profile[lxc-phoenix-v2]: /etc/apparmor.d/lxc-phoenix-v2 (upstream's copy of the profile) is still on the host"),
        "{}",
        ran.stderr
    );
    assert_eq!(
        file_content(&scratch, "/etc/apparmor.d/lxc-phoenix-v2").as_deref(),
        Some(upstream)
    );
}
