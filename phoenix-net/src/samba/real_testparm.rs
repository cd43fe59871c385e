//! The real `testparm` (Debian's samba-common-bin, which `cargo xtask ci` installs; a missing
//! tool fails these tests) on what Phoenix generates: the upstream config's include file and
//! Debian's smb.conf with the include line. The emulator must print exactly what it prints, and
//! the output patterns that refuse a file must be the real tool's wording.

use std::path::Path;
use std::sync::Arc;

use phoenix_core::config::JsonPath;
use phoenix_core::sim::{SimFile, SimNode, SimState, read_fixture};
use phoenix_core::{Cmd, Host, LocalHost};

use super::conf::{ShareSection, append_include, format_shares};
use super::config::{Mounts, RawSamba, decode_spec};
use super::decode::REFUSED_OUTPUT;
use super::sim::SambaEmulator;

fn upstream() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/upstream/0017fa8__etc__phoenix_hypervisor_config.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("the upstream config"))
        .expect("JSON")
}

/// The include file Phoenix writes for the upstream config.
fn upstream_shares() -> Vec<ShareSection> {
    let config = upstream();
    let raw: RawSamba = serde_json::from_value(config["samba"].clone()).expect("the samba key");
    let declared = config["zfs"]["datasets"]
        .as_array()
        .expect("datasets")
        .iter()
        .map(|d| {
            (
                format!(
                    "{}/{}",
                    d["pool"].as_str().expect("pool"),
                    d["name"].as_str().expect("name")
                ),
                None,
            )
        })
        .collect();
    let (spec, problems) = decode_spec(
        raw,
        &JsonPath::root().key("samba"),
        &Mounts::from_declared(declared),
    );
    assert!(problems.is_empty(), "{problems:?}");
    spec.shares.into_iter().map(|s| s.section).collect()
}

/// Runs `testparm -s path` for real and on a simulated node holding the same files.
async fn both(files: &[(&str, &str)], path: &str) -> ((i32, String), (i32, String)) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut state = SimState::new();
    for (name, content) in files {
        let real = dir.path().join(name);
        std::fs::write(&real, content).expect("write");
        state.files.insert(
            real.display().to_string(),
            SimFile::new(*content, 0o644, "root:root"),
        );
    }
    let path = dir.path().join(path).display().to_string();
    let cmd = Cmd::read("testparm", ["-s", path.as_str()]);
    let real = LocalHost::new()
        .run(&cmd)
        .await
        .expect("the real testparm runs (apt-get install samba-common-bin)");
    let node = SimNode::from_state(state, vec![Arc::new(SambaEmulator)]).expect("a node");
    let emulated = node.run(&cmd).await.expect("the emulator runs");
    let show =
        |o: &phoenix_core::Output| (o.status.unwrap_or(-1), format!("{}{}", o.stderr, o.stdout));
    (show(&real), show(&emulated))
}

#[tokio::test]
async fn issue_9_the_real_testparm_accepts_the_generated_include_file_and_the_emulator_agrees() {
    let shares = format_shares(&upstream_shares());
    let (real, emulated) = both(&[("phoenix-shares.conf", &shares)], "phoenix-shares.conf").await;
    assert_eq!(real.0, 0, "{}", real.1);
    assert!(
        !REFUSED_OUTPUT.iter().any(|p| real.1.contains(p)),
        "{}",
        real.1
    );
    assert!(real.1.contains("[shared-test-data-sync]\n\tpath = /fastData/shared-test-data-sync\n\tread only = No\n\tvalid users = heads\n"), "{}", real.1);
    assert_eq!(emulated, real);
}

#[tokio::test]
async fn issue_9_the_real_testparm_reads_debians_smb_conf_with_the_include_line_as_the_emulator_does()
 {
    let debian = read_fixture(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/samba/fixtures/smb.conf.debian-12"),
    )
    .expect("the sample");
    let shares = format_shares(&upstream_shares());
    // The include line names the include file by its absolute path in a fresh directory.
    let (real, emulated) = {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let include = dir.path().join("phoenix-shares.conf").display().to_string();
        let conf = append_include(&debian, &include).expect("an edit");
        std::fs::write(&include, &shares).expect("write");
        let smb = dir.path().join("smb.conf").display().to_string();
        std::fs::write(&smb, &conf).expect("write");
        let cmd = Cmd::read("testparm", ["-s", smb.as_str()]);
        let real = LocalHost::new()
            .run(&cmd)
            .await
            .expect("the real testparm runs");
        let mut state = SimState::new();
        state.files.insert(
            include.clone(),
            SimFile::new(shares.clone(), 0o644, "root:root"),
        );
        state
            .files
            .insert(smb.clone(), SimFile::new(conf, 0o644, "root:root"));
        let node = SimNode::from_state(state, vec![Arc::new(SambaEmulator)]).expect("a node");
        let emulated = node.run(&cmd).await.expect("the emulator runs");
        let show = |o: &phoenix_core::Output| {
            (o.status.unwrap_or(-1), format!("{}{}", o.stderr, o.stdout))
        };
        (show(&real), show(&emulated))
    };
    assert_eq!(real.0, 0, "{}", real.1);
    assert!(
        real.1.contains("[homes]") && real.1.contains("[shared-prod-data]"),
        "{}",
        real.1
    );
    assert_eq!(emulated, real);
}

#[tokio::test]
async fn issue_9_what_validation_refuses_the_real_testparm_refuses_or_warns_about_in_words_phoenix_reads()
 {
    // Options that config validation refuses, written straight into a share: the real tool
    // either exits 1 or warns with a pattern of `REFUSED_OUTPUT`, and the emulator agrees.
    let cases = [
        "bogus option = 1",
        "workgroup = LAB",
        "browseable = maybe",
        "create mask = 99z",
        "csc policy = sometimes",
        "block size = 12x",
    ];
    for line in cases {
        let text = format!("[s]\n\tpath = /srv/s\n\t{line}\n");
        let (real, emulated) = both(&[("s.conf", &text)], "s.conf").await;
        let refused = real.0 != 0 || REFUSED_OUTPUT.iter().any(|p| real.1.contains(p));
        assert!(refused, "{line}: {}", real.1);
        assert_eq!(emulated, real, "{line}");
        let check = super::config::check_option(
            line.split_once(" = ").expect("a pair").0,
            line.split_once(" = ").expect("a pair").1,
        );
        assert!(check.is_err(), "{line}: validation takes it: {check:?}");
    }
}
