//! `cargo xtask ci`: the checks CI runs, in order, stopping at the first failing step.
//!
//! The steps are: install the test tools, `cargo fmt --check`, clippy with `-D warnings`, the doc
//! tests, the tests through `cargo insta test --check` (nextest when it is installed; the live
//! tests and the suites excluded), the suites (`suite_*`, with their count lines shown), a
//! bounded fuzzing campaign (`cargo xtask fuzz`), and the live tests: build (or reuse) the
//! testbed image, boot it, run the `live::` tests against it with `PHOENIX_LIVE_HOST` set, and
//! power it off, even when they fail.
//! The summary goes to stderr, so the last closing line stays the live test runner's own verdict.

use std::error::Error;
use std::fmt;
use std::time::{Duration, Instant};

use xshell::{Shell, cmd};

use crate::{Result, fuzz, install, testbed};

/// One named step of the CI run.
struct Step {
    name: &'static str,
    run: fn(&Shell) -> Result<()>,
}

/// The steps, in the order CI runs them.
const STEPS: &[Step] = &[
    Step {
        name: "install",
        run: install::ensure_test_tools,
    },
    Step {
        name: "fmt",
        run: fmt,
    },
    Step {
        name: "clippy",
        run: clippy,
    },
    // The doc tests run before the main suite so that the last closing line CI reads is the
    // main runner's summary (a crate with no doc test closes on "0 passed").
    Step {
        name: "doctest",
        run: doctest,
    },
    Step {
        name: "test",
        run: test,
    },
    // The suites (`suite_*` tests: faults, kills, concurrency and the like) run on their own so
    // that their count lines are printed, not captured.
    Step {
        name: "suites",
        run: suites,
    },
    // A bounded, seeded campaign over every fuzz target (about 150 s after its build).
    Step {
        name: "fuzz",
        run: fuzz::run_ci,
    },
    // Last, so that CI's closing line is the live runner's summary (more than 0 tests passed).
    Step {
        name: "live",
        run: live,
    },
];

/// Runs every step, prints how long each took, and fails naming the first step that failed.
pub(crate) fn run(sh: &Shell) -> Result<()> {
    let mut outcomes = Vec::new();
    for step in STEPS {
        eprintln!("xtask ci: ==> {}", step.name);
        let started = Instant::now();
        let result = (step.run)(sh);
        outcomes.push((step.name, started.elapsed(), result.is_ok()));
        if let Err(source) = result {
            print_summary(&outcomes);
            return Err(StepFailed {
                step: step.name,
                source,
            }
            .into());
        }
    }
    print_summary(&outcomes);
    Ok(())
}

fn fmt(sh: &Shell) -> Result<()> {
    cmd!(sh, "cargo fmt --all -- --check").run()?;
    Ok(())
}

fn clippy(sh: &Shell) -> Result<()> {
    cmd!(
        sh,
        "cargo clippy --workspace --all-targets --all-features -- -D warnings"
    )
    .run()?;
    Ok(())
}

/// Runs the tests with snapshot checking; the doc tests run in their own step.
fn test(sh: &Shell) -> Result<()> {
    // Nextest cannot run doc tests, so cargo-insta would run them itself after nextest; the
    // doctest step runs them once, for either runner.
    let runner: &[&str] = if has_nextest(sh) {
        &["--test-runner", "nextest", "--disable-nextest-doctest"]
    } else {
        eprintln!("xtask ci: cargo-nextest is not installed; falling back to cargo test");
        &["--test-runner", "cargo-test"]
    };
    // The live tests run in their own step, against the testbed; under CI they fail without it.
    // The suites run in theirs.
    cmd!(
        sh,
        "cargo insta test --workspace --all-features --check --unreferenced=reject {runner...} -- --skip live:: --skip suite_"
    )
    .run()?;
    Ok(())
}

/// Runs the suites (every test whose name starts with `suite_`) with their output shown, so each
/// prints its count line (faults injected and recovered, kills survived, ...).
fn suites(sh: &Shell) -> Result<()> {
    if has_nextest(sh) {
        cmd!(
            sh,
            "cargo nextest run -p tests --all-features -E test(/^suite_/) --no-capture"
        )
        .run()?;
    } else {
        cmd!(
            sh,
            "cargo test -p tests --all-features --test it suite_ -- --nocapture"
        )
        .run()?;
    }
    Ok(())
}

/// Boots the testbed (building its image when the cache has none for the current recipe and
/// package versions), runs the live tests against it one at a time, and always powers it off.
fn live(sh: &Shell) -> Result<()> {
    let image = testbed::build(sh)?;
    let state = testbed::up(sh, &image)?;
    let tested = (|| -> Result<()> {
        let env = state.env();
        if has_nextest(sh) {
            cmd!(
                sh,
                "cargo nextest run --workspace --all-features --test-threads 1 -E test(/^live::/)"
            )
            .envs(env)
            .run()?;
        } else {
            cmd!(
                sh,
                "cargo test -p tests --test it live:: -- --test-threads=1"
            )
            .envs(env)
            .run()?;
        }
        Ok(())
    })();
    let stopped = testbed::down(sh);
    tested?;
    stopped
}

fn doctest(sh: &Shell) -> Result<()> {
    cmd!(sh, "cargo test --workspace --all-features --doc").run()?;
    Ok(())
}

fn has_nextest(sh: &Shell) -> bool {
    cmd!(sh, "cargo nextest --version")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()
        .is_ok()
}

/// Prints one line per step that ran, then the steps that were skipped after a failure.
fn print_summary(outcomes: &[(&'static str, Duration, bool)]) {
    eprintln!("xtask ci: summary");
    for (name, elapsed, ok) in outcomes {
        let verdict = if *ok { "ok" } else { "FAILED" };
        eprintln!("  {verdict:<8} {name:<8} {:>7.1}s", elapsed.as_secs_f64());
    }
    for step in STEPS.iter().skip(outcomes.len()) {
        eprintln!("  {:<8} {}", "skipped", step.name);
    }
}

/// The error of a failed step; its source is why the step failed.
#[derive(Debug)]
struct StepFailed {
    step: &'static str,
    source: Box<dyn Error>,
}

impl fmt::Display for StepFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ci step `{}` failed", self.step)
    }
}

impl Error for StepFailed {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&*self.source)
    }
}
