//! Suite: runs at once on one simulated node's state file.
//!
//! Deterministic scenarios first: an apply that holds the run lock while it waits at its
//! confirmation prompt, and a second run (an apply of the same config, an apply of another
//! config, a plan, a status) that must refuse, naming the holder, and change nothing; then the
//! first apply goes on and converges, and nothing of either config is lost. Then real races: two
//! runs started at the same instant, many times over; whichever wins, the other runs after it or
//! refuses, and the node ends converged.

use std::io::Write as _;
use std::sync::Barrier;

use crate::support::{Ran, Scratch, arg, lab, on, run_with};

/// The message of a run refused because `holder` holds the lock of `scratch`.
fn refused_by(ran: &Ran, scratch: &Scratch, holder: &str) -> bool {
    ran.code == 1
        && ran.stderr.starts_with(&format!(
            "error: target {}: another phoenix run holds the run lock",
            scratch.target()
        ))
        && ran
            .stderr
            .contains(&format!("(pid {} on ", std::process::id()))
        && ran
            .stderr
            .contains(&format!(": {holder}); nothing was done"))
}

/// A config of one managed file, in its own directory of the scratch.
fn other_config(scratch: &Scratch) -> String {
    let dir = scratch.path().join("other");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("phoenix_hypervisor_config.json"),
        r#"{"files": [{"path": "/etc/phoenix-other", "content": "b\n"}]}"#,
    )
    .expect("write");
    arg(&dir).to_owned()
}

/// Runs `second` while an interactive apply of `config` holds the lock at its prompt, then
/// confirms the apply. Returns the second run and whether the apply then succeeded.
fn while_an_apply_waits(scratch: &Scratch, config: &str, second: &[&str]) -> (Ran, bool) {
    let (reader, mut answer) = std::io::pipe().expect("a pipe");
    let (mut io, captured) = phoenix_cli::Io::captured("");
    io.stdin = Box::new(std::io::BufReader::new(reader));
    io.interactive = true;
    let target = scratch.target();
    std::thread::scope(|scope| {
        let first = scope.spawn(|| {
            let args = ["apply", "--config", config, "--target", &target];
            run_with(&args, &mut io, &captured)
        });
        while !captured.stdout().contains("Apply these changes?") {
            assert!(
                !first.is_finished(),
                "the apply ended before its prompt: {}",
                captured.stderr()
            );
            std::thread::yield_now();
        }
        let ran = crate::support::phoenix(second);
        answer.write_all(b"yes\n").expect("answer");
        let first = first.join().expect("the apply does not panic");
        (ran, first.code == 0)
    })
}

#[test]
#[expect(
    clippy::print_stdout,
    reason = "the suite prints its counts, shown by the CI step that runs suite_* tests"
)]
fn suite_concurrency() {
    let lab = lab();
    let lab = arg(&lab).to_owned();
    let mut refused = 0;
    let mut ran_after = 0;
    let mut runs = 0;

    // An apply waits at its prompt; another apply, a plan, a status, and an apply of another
    // config each refuse and change nothing.
    for scenario in 0..4 {
        let scratch = Scratch::new();
        scratch.seed_lab_state();
        let target = scratch.target();
        let other = other_config(&scratch);
        let holder = format!("phoenix apply --config {lab} --target {target}");
        let second: &[&str] = match scenario {
            0 => &["apply", "--config", &lab, "--target", &target, "--yes"],
            1 => &["plan", "--config", &lab, "--target", &target],
            2 => &["status", "--config", &lab, "--target", &target],
            _ => &["apply", "--config", &other, "--target", &target, "--yes"],
        };
        let before = scratch.state();
        let (ran, applied) = while_an_apply_waits(&scratch, &lab, second);
        runs += 2;
        assert!(
            refused_by(&ran, &scratch, &holder),
            "{second:?}: {}",
            ran.stderr
        );
        refused += 1;
        assert!(applied, "the waiting apply went on");
        assert_eq!(
            scratch.state().run,
            before.run + 1,
            "the refused run never touched the node: {second:?}"
        );
        // Nothing of either config is lost: the refused one runs now, and both plans are empty.
        let ran = crate::support::phoenix(second);
        assert!(ran.code == 0, "{second:?} after: {}", ran.stderr);
        ran_after += 1;
        for config in [&lab, &other] {
            if config == &other && scenario != 3 {
                continue;
            }
            let ran = on(&scratch, "plan", config, &["--detailed-exitcode"]);
            assert_eq!(ran.code, 0, "{config}: {}", ran.stdout);
        }
    }

    // Real races: two runs started at the same instant on a fresh node.
    const ROUNDS: usize = 6;
    for round in 0..ROUNDS {
        let scratch = Scratch::new();
        scratch.seed_lab_state();
        let target = scratch.target();
        let second_command = if round % 2 == 0 { "apply" } else { "plan" };
        let barrier = Barrier::new(2);
        let (first, second) = std::thread::scope(|scope| {
            let run = |command: &'static str| {
                let barrier = &barrier;
                let target = &target;
                let lab = &lab;
                move || {
                    let mut args = vec![command, "--config", lab, "--target", target];
                    if command == "apply" {
                        args.push("--yes");
                    }
                    barrier.wait();
                    crate::support::phoenix(&args)
                }
            };
            let first = scope.spawn(run("apply"));
            let second = scope.spawn(run(second_command));
            (
                first.join().expect("no panic"),
                second.join().expect("no panic"),
            )
        });
        runs += 2;
        for (command, ran) in [("apply", &first), (second_command, &second)] {
            let holder = if command == "apply" {
                second_command
            } else {
                "apply"
            };
            let holder = format!("phoenix {holder} --config {lab} --target {target}");
            if ran.code == 1 {
                assert!(
                    refused_by(ran, &scratch, &holder),
                    "round {round} {command}: {}",
                    ran.stderr
                );
                refused += 1;
            } else {
                assert!(
                    ran.code == 0,
                    "round {round} {command}: {}\n{}",
                    ran.stdout,
                    ran.stderr
                );
                ran_after += 1;
            }
        }
        // Whichever order they ran in, the node ends converged, unless the apply was the one
        // refused (by the plan): then one more apply converges it.
        if first.code == 1 {
            let ran = on(&scratch, "apply", &lab, &["--yes"]);
            assert_eq!(ran.code, 0, "{}", ran.stderr);
        }
        let ran = on(&scratch, "plan", &lab, &["--detailed-exitcode"]);
        assert_eq!(ran.code, 0, "round {round}: {}", ran.stdout);
    }
    println!(
        "suite concurrency: {runs} runs, {} pairs at once, {refused} refused naming the holder, {ran_after} ran after it, 0 lost",
        4 + ROUNDS
    );
}
