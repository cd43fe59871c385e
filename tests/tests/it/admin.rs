//! Issue 9's admin user (`users`) and time zone (`timezone`) end to end on the simulated node,
//! and the generated sudoers file checked by the real `visudo` (the sudo package, which
//! `cargo xtask ci` installs; a missing `visudo` fails the test).

use std::path::Path;

use phoenix_core::sim::{SimNode, SimState};
use phoenix_core::{Cmd, Host, LocalHost};
use serde_json::{Value, json};

use crate::support::{Scratch, arg, converge, on, phoenix, plan_json, upstream};

/// A fake but well-formed SHA-512 crypt hash (of a random string nobody kept).
const HASH: &str = "$6$phoenixtest000$cnryAdminHashW5lRk3d0Qm8X2sYtZp9VbN1uGfHjKcLeM4oIqR7sT6vU0wA3xB5yC8zD2eF1gH4iJ7kL0mN3oP6qR9sT2uV5wX8yZ1aB4cD";

const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAII5YI+p3j4BsPu1g8MAUAiPiaoOW6C/nvegqXXJuJQZS phoenix@test";

fn config(users: &Value, timezone: &str) -> String {
    serde_json::to_string_pretty(&json!({"timezone": timezone, "users": users})).expect("JSON")
}

fn admin(hash: &str) -> Value {
    json!({
        "username": "phoenix_admin",
        "password_hash": hash,
        "sudo_access": true,
        "ssh_public_key": KEY
    })
}

/// A fresh node whose apt catalogue has sudo.
fn seed(scratch: &Scratch) {
    let mut state = SimState::new();
    state.tools.insert(
        "dpkg".into(),
        json!({"available": {"sudo": {"version": "1.9.13p3-1+deb12u4"}}}),
    );
    scratch.write_state(&state);
}

fn dirs(state: &SimState) -> &Value {
    &state.tools["dirs"]["dirs"]
}

#[test]
fn issue_9_the_admin_user_and_time_zone_converge_and_the_second_plan_is_empty() {
    let scratch = Scratch::new();
    seed(&scratch);
    let config = scratch.write_config(&config(&admin(HASH), "America/New_York"));
    let config = arg(&config).to_owned();

    // Everything a plan or an apply prints, and the saved plan: never the hash.
    let mut shown = Vec::new();
    for extra in [&[][..], &["--json"][..]] {
        let ran = on(&scratch, "plan", &config, extra);
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        shown.push(format!("{}{}", ran.stdout, ran.stderr));
    }
    let plan_text = &shown[0];
    for expected in [
        "useradd --create-home --shell /bin/bash --groups sudo phoenix_admin",
        "chpasswd -e  # <stdin: sensitive, 141 bytes>",
        "visudo -cf /etc/sudoers.d/.phoenix-phoenix_admin.phoenix-new",
        "timedatectl set-timezone America/New_York",
        "pveum acl modify / --users phoenix_admin@pam --roles Administrator",
        "write /home/phoenix_admin/.ssh/authorized_keys (94 bytes, mode 0600, owner phoenix_admin:phoenix_admin)",
    ] {
        assert!(plan_text.contains(expected), "{expected}:\n{plan_text}");
    }
    let saved = scratch.path().join("plan.json");
    let ran = on(&scratch, "plan", &config, &["--out", arg(&saved)]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    shown.push(std::fs::read_to_string(&saved).expect("saved"));
    let ran = on(
        &scratch,
        "apply",
        &config,
        &["--plan", arg(&saved), "--yes"],
    );
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    shown.push(format!("{}{}", ran.stdout, ran.stderr));

    let noop = converge(&config, &scratch);
    assert_eq!(noop["summary"]["create"], 0, "{noop:#}");
    assert_eq!(noop["summary"]["update"], 0, "{noop:#}");
    // The no-op plan reads everything through the node's one probe.
    assert_eq!(
        noop["stats"]["commands_by_program"],
        json!({"sh": 1}),
        "{noop:#}"
    );
    shown.push(noop.to_string());
    for text in &shown {
        assert!(!text.contains("cnryAdminHash"), "the hash leaked:\n{text}");
    }

    let state = scratch.state();
    assert!(
        state.files["/etc/passwd"]
            .content
            .contains("phoenix_admin:x:1000:1000::/home/phoenix_admin:/bin/bash\n")
    );
    assert!(
        state.files["/etc/group"]
            .content
            .contains("sudo:x:27:phoenix_admin\n")
    );
    assert!(
        state.files["/etc/shadow"]
            .content
            .contains(&format!("phoenix_admin:{HASH}:")),
        "the host holds the hash"
    );
    let mut without_shadow = state.clone();
    without_shadow.files.remove("/etc/shadow");
    assert!(
        !without_shadow.to_json().contains("cnryAdminHash"),
        "the hash is in the state file only as the host's own /etc/shadow"
    );
    let sudoers = &state.files["/etc/sudoers.d/phoenix-phoenix_admin"];
    assert_eq!((sudoers.mode, sudoers.owner.as_str()), (0o440, "root:root"));
    assert!(
        sudoers
            .content
            .ends_with("phoenix_admin ALL=(ALL:ALL) ALL\n")
    );
    let keys = &state.files["/home/phoenix_admin/.ssh/authorized_keys"];
    assert_eq!(
        (keys.content.as_str(), keys.mode, keys.owner.as_str()),
        (
            format!("{KEY}\n").as_str(),
            0o600,
            "phoenix_admin:phoenix_admin"
        )
    );
    assert_eq!(
        dirs(&state)["/home/phoenix_admin/.ssh"],
        json!({"mode": 0o700, "owner": "phoenix_admin:phoenix_admin"})
    );
    assert_eq!(
        state.tools["pveum"]["acl"],
        json!([{"path": "/", "type": "user", "ugid": "phoenix_admin@pam", "roleid": "Administrator", "propagate": 1}])
    );
    assert_eq!(
        state.tools["timedate"]["localtime"],
        "../usr/share/zoneinfo/America/New_York"
    );
}

#[test]
fn issue_9_a_hand_added_key_is_kept_and_a_locked_password_is_set_once() {
    let scratch = Scratch::new();
    seed(&scratch);
    let config = scratch.write_config(&config(&admin("NOT_SET"), "Etc/UTC"));
    let config = arg(&config).to_owned();
    converge(&config, &scratch);
    let state = scratch.state();
    assert!(
        state.files["/etc/shadow"]
            .content
            .contains("phoenix_admin:!:"),
        "NOT_SET leaves the new account locked"
    );
    // The operator adds a key by hand; then the config gives a hash.
    let other = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC operator@laptop";
    scratch.edit_state(|state| {
        let file = &mut state["files"]["/home/phoenix_admin/.ssh/authorized_keys"]["content"];
        *file = Value::String(format!("{other}\n{KEY}\n"));
    });
    let config = scratch.write_config(&self::config(&admin(HASH), "Etc/UTC"));
    let plan = plan_json(arg(&config), &scratch);
    let ids: Vec<String> = plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["action"] != "no_op")
        .map(|c| {
            format!(
                "{}[{}]",
                c["id"]["kind"].as_str().unwrap_or_default(),
                c["id"]["name"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(ids, ["user[phoenix_admin]"], "{plan:#}");
    converge(arg(&config), &scratch);
    let state = scratch.state();
    assert!(state.files["/etc/shadow"].content.contains(HASH));
    assert_eq!(
        state.files["/home/phoenix_admin/.ssh/authorized_keys"].content,
        format!("{other}\n{KEY}\n"),
        "the hand-added key is kept"
    );
}

#[test]
fn issue_9_bad_users_and_timezone_are_config_errors_that_never_quote_the_hash() {
    let scratch = Scratch::new();
    let bad_hash = "cnryAdminHash-plain-password";
    let config = scratch.write_config(&config(
        &json!({"username": "Phoenix Admin", "password_hash": bad_hash, "sudo_access": "yes"}),
        "America/New York",
    ));
    let ran = phoenix(&["validate", "--config", arg(&config)]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("at timezone: expected a time zone name"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains("at users.sudo_access"),
        "{}",
        ran.stderr
    );
    let config = scratch.write_config(&config_text_with_user(bad_hash));
    let ran = phoenix(&["validate", "--config", arg(&config)]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    for expected in [
        "at users[0].username",
        "at users[0].password_hash: expected a crypt(3) hash",
    ] {
        assert!(ran.stderr.contains(expected), "{expected}: {}", ran.stderr);
    }
    assert!(!ran.stderr.contains("cnryAdminHash"), "{}", ran.stderr);
    // A well-formed name that is not an installed zone is a plan error, nothing changes.
    let scratch = Scratch::new();
    seed(&scratch);
    let config = scratch.write_config(&self::config(&admin("NOT_SET"), "Mars/Olympus"));
    let before = scratch.state_bytes();
    let ran = on(&scratch, "apply", arg(&config), &["--yes"]);
    assert_eq!(ran.code, 1, "{}", ran.stdout);
    assert!(
        ran.stderr
            .contains("time zone Mars/Olympus is not installed in node"),
        "{}",
        ran.stderr
    );
    let after = scratch.state();
    assert_eq!(
        after.files.get("/etc/passwd"),
        serde_json::from_slice::<SimState>(&before)
            .expect("state")
            .files
            .get("/etc/passwd"),
        "nothing was created"
    );
}

/// `users` as an array (accepted besides upstream's object) with one bad entry.
fn config_text_with_user(hash: &str) -> String {
    serde_json::to_string_pretty(&json!({
        "users": [{"username": "9admin", "password_hash": hash, "sudo_access": false}]
    }))
    .expect("JSON")
}

#[test]
fn issue_9_users_and_timezone_of_the_upstream_config_are_managed() {
    let ran = phoenix(&[
        "validate",
        "--config",
        arg(&upstream().join("0017fa8__etc__phoenix_hypervisor_config.json")),
    ]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    for key in ["users", "timezone"] {
        assert!(
            !ran.stderr
                .contains(&format!("key \"{key}\" is known but not managed")),
            "{key}: {}",
            ran.stderr
        );
    }
}

/// The sudoers file of the lab's admin user, as the plan writes it.
fn generated_sudoers() -> String {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let plan = plan_json(arg(&crate::support::lab()), &scratch);
    let change = plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["id"]["name"] == "/etc/sudoers.d/phoenix-phoenix_admin")
        .expect("the lab has the admin's sudoers file");
    change["steps"][0]["content"]
        .as_str()
        .expect("the sudoers file is not sensitive")
        .to_owned()
}

async fn visudo(host: &dyn Host, dir: &Path, content: &str) -> (Option<i32>, String) {
    let path = dir.join("phoenix-check");
    std::fs::write(&path, content).expect("write");
    let out = host
        .run(&Cmd::read("visudo", ["-cf", arg(&path)]))
        .await
        .expect("visudo runs (the sudo package is installed by cargo xtask ci)");
    let text = format!("{}{}", out.stdout, out.stderr).replace(arg(&path), "FILE");
    (out.status, text)
}

#[test]
fn issue_9_the_real_visudo_accepts_the_generated_sudoers_file_and_the_emulator_agrees() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let scratch = Scratch::new();
    let real = LocalHost::new();
    let generated = generated_sudoers();
    let (status, text) = rt.block_on(visudo(&real, scratch.path(), &generated));
    assert_eq!((status, text.as_str()), (Some(0), "FILE: parsed OK\n"));
    // The emulator answers as the real tool, for the generated file and for broken ones.
    let sim = SimNode::new(phoenix_cli::registry().emulators()).expect("emulators");
    for content in [
        generated.as_str(),
        "phoenix_admin ALL=(ALL:ALL ALL\n",
        "phoenix_admin ALL=(ALL:ALL) ALL\nfoo bar\n",
        "admin ALL=\n",
    ] {
        let real_answer = rt.block_on(visudo(&real, scratch.path(), content));
        let simulated = rt.block_on(async {
            sim.write_file(
                Path::new("/tmp/phoenix-check"),
                &phoenix_core::FileWrite::new(content, 0o440),
            )
            .await
            .expect("write");
            let out = sim
                .run(&Cmd::read("visudo", ["-cf", "/tmp/phoenix-check"]))
                .await
                .expect("runs");
            (
                out.status,
                format!("{}{}", out.stdout, out.stderr).replace("/tmp/phoenix-check", "FILE"),
            )
        });
        assert_eq!(simulated, real_answer, "{content:?}");
    }
}
