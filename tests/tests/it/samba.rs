//! Samba end to end on the simulated node, through the command line: the lab's shares converge
//! and then plan nothing, with no write and no reload; an edited option rewrites the include
//! file and reloads smbd once; a broken option or a file testparm refuses changes nothing; the
//! password is shown nowhere; a password file others can read, a missing Linux user and a
//! missing share path are plan errors.

use serde_json::{Value, json};

use crate::support::{Scratch, arg, converge, lab, mutations_in, on, plan_json};

const PASSWORD: &str = "lab-samba-password-change-me";
const SHARES: &str = "/etc/samba/phoenix-shares.conf";
const SMB_CONF: &str = "/etc/samba/smb.conf";

/// The lab's hypervisor config as JSON, to edit.
fn lab_config() -> Value {
    let text = std::fs::read_to_string(lab().join("phoenix_hypervisor_config.json"))
        .expect("the example config");
    serde_json::from_str(&text).expect("the example config is JSON")
}

fn write(scratch: &Scratch, config: &Value) -> String {
    let dir = scratch.write_config(&serde_json::to_string_pretty(config).expect("JSON"));
    arg(&dir).to_owned()
}

/// A scratch node with the lab's state and the lab's hypervisor config.
fn lab_scratch() -> (Scratch, String) {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let config = write(&scratch, &lab_config());
    (scratch, config)
}

/// The node's `samba` namespace.
fn samba_state(scratch: &Scratch) -> Value {
    scratch
        .state()
        .tools
        .get("samba")
        .cloned()
        .unwrap_or(Value::Null)
}

/// The argv of the last run's commands of `programs`.
fn last_run_commands(scratch: &Scratch, programs: &[&str]) -> Vec<String> {
    let state = scratch.state();
    state
        .audit
        .iter()
        .filter(|e| e.run == state.run && programs.contains(&e.argv[0].as_str()))
        .map(|e| e.argv.join(" "))
        .collect()
}

#[test]
fn issue_9_samba_converges_then_plans_nothing_with_no_write_and_no_reload() {
    let (scratch, config) = lab_scratch();
    let noop = converge(&config, &scratch);
    let state = scratch.state();
    let smb_conf = &state.files[SMB_CONF].content;
    assert_eq!(
        smb_conf
            .matches("include = /etc/samba/phoenix-shares.conf")
            .count(),
        1
    );
    assert!(smb_conf.contains("[homes]"), "the operator's file is kept");
    assert!(state.files[SHARES].content.contains(
        "[shared-test-data-sync]\n\tbrowseable = Yes\n\tpath = /fastData/shared-test-data-sync\n"
    ));
    assert_eq!(samba_state(&scratch)["users"]["heads"]["password_sets"], 1);
    assert_eq!(
        samba_state(&scratch)["reloads"],
        1,
        "smbd started in the run that wrote its files still reloads them once: samba's \
         maintainer script started it with Debian's files before they were written"
    );
    // The no-op plan reads everything through the node's one probe.
    let programs = &noop["stats"]["commands_by_program"];
    for tool in [
        "testparm",
        "pdbedit",
        "smbpasswd",
        "smbcontrol",
        "systemctl",
    ] {
        assert!(
            programs.get(tool).is_none(),
            "{tool} in a no-op plan: {programs}"
        );
    }
    assert_eq!(programs["sh"], 1, "{programs}");
    assert_eq!(noop["stats"]["commands_writing"], 0);
    assert_eq!(
        last_run_commands(
            &scratch,
            &["smbcontrol", "systemctl", "smbpasswd", "testparm"]
        ),
        Vec::<String>::new()
    );
}

#[test]
fn issue_9_one_edited_share_option_rewrites_the_include_file_and_reloads_smbd_once() {
    let (scratch, config) = lab_scratch();
    converge(&config, &scratch);
    let mut edited = lab_config();
    edited["samba"]["shares"][0]["options"] = json!("browseable=no writable=yes");
    let edited = write(&scratch, &edited);
    let plan = plan_json(&edited, &scratch);
    let ids: Vec<String> = plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            format!(
                "{}[{}] {}",
                c["id"]["kind"].as_str().unwrap_or_default(),
                c["id"]["name"].as_str().unwrap_or_default(),
                c["action"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(
        ids,
        [
            "file[/etc/samba/phoenix-shares.conf] update",
            "service[smbd.service] update"
        ]
    );
    let ran = on(&scratch, "apply", &edited, &["--yes"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(
        last_run_commands(&scratch, &["smbcontrol", "systemctl", "testparm"]),
        [
            "testparm -s /etc/samba/.phoenix-shares.conf.phoenix-new",
            "smbcontrol smbd reload-config"
        ]
    );
    assert_eq!(
        samba_state(&scratch)["reloads"],
        2,
        "one at the first converge, one now"
    );
    assert!(
        scratch.state().files[SHARES]
            .content
            .contains("[shared-prod-data]\n\tbrowseable = No\n")
    );
    let again = on(&scratch, "plan", &edited, &["--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.stdout);
}

#[test]
fn issue_9_a_broken_samba_option_exits_1_at_its_json_path_and_changes_nothing() {
    let (scratch, _) = lab_scratch();
    let before = scratch.state_bytes();
    let mut config = lab_config();
    config["samba"]["shares"][2]["options"] = json!("browseable=maybe writable=yes");
    config["samba"]["shares"][3]["options"] = json!({"bogus option": "1"});
    let config = write(&scratch, &config);
    for command in ["plan", "apply"] {
        let ran = on(
            &scratch,
            command,
            &config,
            &["--yes"][..usize::from(command == "apply")],
        );
        assert_eq!(ran.code, 1, "{command}: {}", ran.stderr);
        assert!(
            ran.stderr.contains("at samba.shares[2].options.browseable: \"browseable\": expected yes or no, found \"maybe\""),
            "{}",
            ran.stderr
        );
        assert!(
            ran.stderr.contains("at samba.shares[3].options.\"bogus option\": unknown Samba share parameter \"bogus option\""),
            "{}",
            ran.stderr
        );
    }
    assert_eq!(
        scratch.state_bytes(),
        before,
        "the node is not even rewritten"
    );
}

#[test]
fn issue_9_an_smb_conf_testparm_refuses_never_goes_live_and_apply_fails_with_its_message() {
    let (scratch, config) = lab_scratch();
    let broken = "[global]\n\tworkgroup = LAB\n\tbrowseable = maybe\n";
    scratch.edit_state(|state| {
        state["files"][SMB_CONF]["content"] = json!(broken);
    });
    let ran = on(&scratch, "apply", &config, &["--yes"]);
    assert_eq!(ran.code, 1, "{}", ran.stdout);
    let all = format!("{}{}", ran.stdout, ran.stderr);
    assert!(
        all.contains("validate /etc/samba/smb.conf: `testparm -s /etc/samba/.smb.conf.phoenix-new` rejected the new content (exit 1): Load smb config files from /etc/samba/.smb.conf.phoenix-new\nset_variable_helper(maybe): value is not boolean!\nError loading services."),
        "{all}"
    );
    let state = scratch.state();
    assert_eq!(
        state.files[SMB_CONF].content, broken,
        "the live file is unchanged"
    );
    assert!(!state.files.contains_key("/etc/samba/.smb.conf.phoenix-new"));
    assert_eq!(samba_state(&scratch)["reloads"], 0);
    assert!(
        !last_run_commands(&scratch, &["smbcontrol"])
            .iter()
            .any(|c| c.contains("reload")),
        "smbd is not reloaded for a file that did not go live"
    );
}

#[test]
fn issue_9_the_samba_password_is_shown_nowhere() {
    let (scratch, config) = lab_scratch();
    let text = on(&scratch, "plan", &config, &[]);
    let json = on(&scratch, "plan", &config, &["--json"]);
    let applied = on(&scratch, "apply", &config, &["--yes"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let logged = crate::support::phoenix_logged(&[
        "plan",
        "--config",
        &config,
        "--target",
        &scratch.target(),
    ]);
    for ran in [&text, &json, &applied, &logged] {
        assert!(!ran.stdout.contains(PASSWORD) && !ran.stderr.contains(PASSWORD));
    }
    assert!(
        text.stdout
            .contains("password    (absent) -> \"(sensitive)\""),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("smbpasswd -s -a heads  # <stdin: sensitive, 58 bytes>")
    );
    let state = scratch.state();
    let tools = serde_json::to_string(&state.tools).expect("JSON");
    assert!(
        !tools.contains(PASSWORD),
        "the emulated passdb keeps no password"
    );
}

#[test]
fn issue_9_a_password_file_others_can_read_is_refused_at_plan_time() {
    let (scratch, config) = lab_scratch();
    scratch.edit_state(|state| {
        state["files"]["/root/phoenix/samba-heads.password"]["mode"] = json!("0644");
    });
    let ran = on(&scratch, "plan", &config, &[]);
    assert_eq!(ran.code, 1, "{}", ran.stdout);
    assert!(
        ran.stderr.contains("password file /root/phoenix/samba-heads.password is a regular file with mode 0644 owned by root:root; expected a regular file with mode 0600 or 0400 owned by root"),
        "{}",
        ran.stderr
    );
    assert!(!ran.stdout.contains(PASSWORD) && !ran.stderr.contains(PASSWORD));
    let apply = on(&scratch, "apply", &config, &["--yes"]);
    assert_eq!(apply.code, 1);
    let state = scratch.state();
    assert_eq!(mutations_in(&state.audit, state.run), Vec::<String>::new());
}

#[test]
fn issue_9_a_missing_linux_user_or_share_path_is_a_plan_error() {
    let (scratch, _) = lab_scratch();
    scratch.edit_state(|state| {
        state["files"]["/etc/passwd"]["content"] = json!("root:x:0:0:root:/root:/bin/bash\n");
    });
    let mut config = lab_config();
    config["samba"]["shares"][1]["path"] = json!("/srv/nowhere");
    let config = write(&scratch, &config);
    let ran = on(&scratch, "plan", &config, &[]);
    assert_eq!(ran.code, 1, "{}", ran.stdout);
    assert!(
        ran.stderr
            .contains("Linux user heads does not exist, and nothing in this run creates it"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains("share [shared-prod-data-sync]: /srv/nowhere does not exist and nothing in this run creates it"),
        "{}",
        ran.stderr
    );
}

#[test]
fn issue_9_a_samba_user_the_run_creates_as_a_linux_user_is_added_after_it() {
    let (scratch, _) = lab_scratch();
    let mut config = lab_config();
    let admin = config["users"]["username"]
        .as_str()
        .expect("the lab's admin user")
        .to_owned();
    config["samba"]["user"] = json!(admin);
    for share in config["samba"]["shares"].as_array_mut().expect("shares") {
        share["valid_users"] = json!([admin]);
    }
    let config = write(&scratch, &config);
    converge(&config, &scratch);
    let state = scratch.state();
    let order: Vec<String> = state
        .audit
        .iter()
        .filter(|e| matches!(e.argv[0].as_str(), "useradd" | "smbpasswd"))
        .map(|e| e.argv[0].clone())
        .collect();
    assert_eq!(
        order,
        ["useradd", "smbpasswd"],
        "the Linux user comes first"
    );
    assert_eq!(samba_state(&scratch)["users"][&admin]["password_sets"], 1);
}

#[test]
fn issue_9_the_upstream_config_validates_with_samba_managed() {
    let scratch = Scratch::new();
    let config = scratch.copy_upstream_config(&["phoenix_hypervisor_config.json"]);
    let ran = crate::support::phoenix(&["validate", "--config", arg(&config)]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        !ran.stderr.lines().any(|l| l.contains(" at samba")),
        "no note, warning or error about samba: {}",
        ran.stderr
    );
}
