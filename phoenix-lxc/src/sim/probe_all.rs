//! The host command that probes every running container at once:
//! `timeout -k 5 TOTAL sh -c PROBE_ALL_SCRIPT phoenix-probe-all LIMIT PROBE_SCRIPT` with
//! `VMID REQ` lines on standard input (`crate::parse::PROBE_ALL_SCRIPT` documents it).
//!
//! The emulator recognises the script by its exact text and runs, for each container, what
//! `lxc-attach -n VMID -- sh -c PROBE_SCRIPT phoenix-probe REQ...` does: the guest emulation
//! that `pct exec` also uses (`pct exec` is a Perl wrapper around `lxc-attach`), or LXC 5's
//! refusal when the container does not run (`Failed to get init pid`, exit 1, as captured from
//! the testbed's real LXC 5.0.2 in `fixtures/testbed/`). Any other `timeout` command line is not
//! emulated.

use std::time::Duration;

use phoenix_core::sim::{Emulator, SimOutput, SimSys};

use super::args::NOT_EMULATED;
use super::ctx::Ctx;
use super::fs::Mounts;
use super::guest;
use crate::parse::{
    PROBE_ALL_NAME, PROBE_ALL_SCRIPT, PROBE_NAME, PROBE_SCRIPT, ProbeBlock,
    format_probe_all_output, read_probe_all_stdin,
};

/// How many probes the emulated host runs at once (`nproc` of a typical 16-thread node).
pub const SIM_NPROC: usize = 16;

/// The cost of the script itself (`sh`, `mktemp`, `xargs`, `cat`), in milliseconds.
const SCRIPT_MS: u64 = 20;

/// The cost of one container's probe, in milliseconds: `lxc-attach` (about 10 ms: it joins the
/// container's namespaces and cgroup and execs, no Perl), the in-container probe (a `sh`, one
/// `dpkg-query` or `command -v` per request: about 30 ms for `base_setup`), and the framing
/// (`timeout`, two `head`, two `od`: about 10 ms).
const PER_CONTAINER_MS: u64 = 50;

/// Emulates the one-command probe of every running container (the `timeout` program, for this
/// command line only).
#[derive(Debug, Default, Clone, Copy)]
pub struct ProbeAllEmulator;

impl Emulator for ProbeAllEmulator {
    fn programs(&self) -> Vec<String> {
        vec!["timeout".to_owned()]
    }

    fn run(&self, argv: &[String], stdin: Option<&str>, sys: &mut SimSys<'_>) -> SimOutput {
        if !is_probe_all(argv) {
            return SimOutput::fail(
                NOT_EMULATED,
                format!("phoenix sim: `{}` is not emulated\n", argv.join(" ")),
            );
        }
        let probe = argv.last().map_or("", String::as_str);
        let mut ctx = Ctx::new(sys);
        let mut blocks = Vec::new();
        let mut guests_mutated = false;
        for (id, requests) in read_probe_all_stdin(stdin.unwrap_or_default()) {
            let (block, mutated) = attach(&mut ctx, id, probe, &requests);
            guests_mutated |= mutated;
            blocks.push((id, block));
        }
        let mutated = ctx.commit() || guests_mutated;
        SimOutput::new(0, format_probe_all_output(&blocks), "", mutated)
    }

    fn typical_latency(&self, _program: &str) -> Option<Duration> {
        Some(Duration::from_millis(SCRIPT_MS + PER_CONTAINER_MS))
    }

    fn typical_latency_of(&self, argv: &[String], stdin: Option<&str>) -> Option<Duration> {
        if !is_probe_all(argv) {
            return self.typical_latency("timeout");
        }
        let n_containers = read_probe_all_stdin(stdin.unwrap_or_default()).len();
        let rounds = u64::try_from(n_containers.div_ceil(SIM_NPROC)).unwrap_or(u64::MAX);
        Some(Duration::from_millis(
            SCRIPT_MS.saturating_add(PER_CONTAINER_MS.saturating_mul(rounds)),
        ))
    }
}

/// Whether `argv` is `timeout -k 5 TOTAL sh -c PROBE_ALL_SCRIPT phoenix-probe-all LIMIT PROBE`,
/// where `PROBE` is this crate's probe or core's scope probe.
fn is_probe_all(argv: &[String]) -> bool {
    matches!(
        argv,
        [_, k, _, total, sh, c, script, name, limit, probe]
            if k == "-k" && total.parse::<u32>().is_ok() && sh == "sh" && c == "-c"
                && script == PROBE_ALL_SCRIPT && name == PROBE_ALL_NAME
                && limit.parse::<u32>().is_ok()
                && (probe == PROBE_SCRIPT || probe == phoenix_core::probe::PROBE_SCRIPT)
    )
}

/// What LXC 5 (`lxc-attach` 5.0.2, `fixtures/testbed/lxc-attach.stopped.txt`) prints, with exit
/// status 1, for container `name` when it does not run (or does not exist): `get_attach_context`
/// finds no init pid.
pub(crate) fn not_running(name: &str) -> String {
    format!(
        "lxc-attach: {name}: ../src/lxc/attach.c: get_attach_context: 406 Connection refused - Failed to get init pid\n\
         lxc-attach: {name}: ../src/lxc/attach.c: lxc_attach: 1470 Connection refused - Failed to get attach context\n"
    )
}

/// What `timeout LIMIT lxc-attach -n ID -- sh -c PROBE phoenix-probe REQ...` leaves, and
/// whether an emulator run by it reported a change.
fn attach(ctx: &mut Ctx<'_, '_>, id: u32, probe: &str, requests: &[String]) -> (ProbeBlock, bool) {
    let mut argv: Vec<String> = ["lxc-attach", "-n", &id.to_string(), "--", "sh", "-c"]
        .iter()
        .map(|word| (*word).to_owned())
        .collect();
    argv.push(probe.to_owned());
    argv.push(PROBE_NAME.to_owned());
    argv.extend(requests.iter().cloned());
    let conf = match ctx.conf(id) {
        Ok(conf) if ctx.state.is_running(id) => conf,
        _ => {
            return (
                ProbeBlock::new(Some(1), "", not_running(&id.to_string())),
                false,
            );
        }
    };
    let mounts = Mounts::of(&conf.main);
    ctx.open_mounts(&mounts);
    let output = guest::run(ctx, id, &mounts, &argv[4..], None, &argv);
    (
        ProbeBlock::new(Some(output.status), output.stdout, output.stderr),
        output.mutated,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The refusal is what the testbed's real `lxc-attach` printed for a stopped container and for
    /// one that does not exist (`cargo xtask testbed capture`, LXC 5.0.2).
    #[test]
    fn issue_10_a_container_that_does_not_run_is_refused_as_real_lxc_5_refuses_it() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/testbed");
        let version =
            phoenix_core::sim::read_fixture(&dir.join("lxc-version.txt")).expect("fixture");
        assert!(version.starts_with("5."), "{version}");
        for (fixture, name) in [
            ("lxc-attach.stopped.txt", "phoenix-stopped"),
            ("lxc-attach.missing.txt", "phoenix-nosuch"),
        ] {
            let text = std::fs::read_to_string(dir.join(fixture)).expect("fixture");
            assert!(text.contains("\n# exit=1\n"), "{fixture}");
            let real = phoenix_core::sim::read_fixture(&dir.join(fixture)).expect("fixture");
            assert_eq!(not_running(name), real, "{fixture}");
        }
    }
}
