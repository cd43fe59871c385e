//! `cargo xtask fuzz [--seconds N]`: a bounded, seeded fuzzing campaign over every target of
//! the `fuzz/` crate (cargo-fuzz, libFuzzer), failing on any crash.
//!
//! The targets are built once (`cargo fuzz build`, no sanitizer: the code is safe Rust, so the
//! findings are panics, overflows, hangs and runaway memory; debug assertions on). Only the
//! stable toolchain exists here, so the build sets `RUSTC_BOOTSTRAP=1` for cargo-fuzz's `-Z`
//! flags. Each target then runs for its share of the time budget, starting from a fresh working
//! corpus plus the seeds kept in `fuzz/corpus/<target>` (real fixtures; libFuzzer writes new
//! inputs only to the first, throwaway, directory, so the repository's corpus stays as it is).
//! A crashing input is kept under the target directory and named in the error.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use xshell::{Shell, cmd};

use crate::{Result, install, target_dir};

/// The whole campaign's default budget in seconds (15 targets, 10 s each, inside CI's 3 minutes).
const DEFAULT_SECONDS: u64 = 150;

/// The longest a single input may run before libFuzzer calls it a hang.
const INPUT_TIMEOUT_SECONDS: u64 = 10;

/// The memory a target may use before libFuzzer calls it a leak or a runaway allocation.
const RSS_LIMIT_MB: u64 = 2048;

/// The options of one campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Options {
    /// The time budget of the whole campaign, shared evenly by the targets (at least 1 s each).
    pub(crate) seconds: u64,
}

impl Options {
    /// Parses the flags of `cargo xtask fuzz`: none, or `--seconds N`.
    pub(crate) fn from_flags(flags: &[String]) -> Result<Options> {
        match flags {
            [] => Ok(Options {
                seconds: DEFAULT_SECONDS,
            }),
            [flag, value] if flag == "--seconds" => match value.parse::<u64>() {
                Ok(seconds) if seconds > 0 => Ok(Options { seconds }),
                _ => Err(format!(
                    "`--seconds` takes a whole number of seconds above 0, got `{value}`"
                )
                .into()),
            },
            _ => Err(format!(
                "`cargo xtask fuzz` takes no flag or `--seconds N`, got `{}`",
                flags.join(" ")
            )
            .into()),
        }
    }

    /// The seconds each of `n_targets` targets runs.
    fn seconds_per_target(self, n_targets: usize) -> u64 {
        let n_targets = u64::try_from(n_targets.max(1)).unwrap_or(u64::MAX);
        (self.seconds / n_targets).max(1)
    }
}

/// What one target's run found.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    executions: u64,
    crash: Option<String>,
}

/// The campaign with the default budget, for `cargo xtask ci`.
pub(crate) fn run_ci(sh: &Shell) -> Result<()> {
    run(
        sh,
        Options {
            seconds: DEFAULT_SECONDS,
        },
    )
}

/// Builds every target, runs each for its share of the budget, prints the totals, and fails
/// naming each crashing target and the input that crashed it.
pub(crate) fn run(sh: &Shell, options: Options) -> Result<()> {
    install::ensure_cargo_fuzz(sh)?;
    let fuzz_target_dir = target_dir().join("fuzz");
    let targets = list_targets(sh)?;
    build(sh, &fuzz_target_dir)?;
    let seconds = options.seconds_per_target(targets.len());
    let mut executions = 0_u64;
    let mut crashes = Vec::new();
    for target in &targets {
        let outcome = run_target(sh, &fuzz_target_dir, target, seconds)?;
        eprintln!(
            "xtask fuzz: {target}: {} executions{}",
            outcome.executions,
            if outcome.crash.is_some() {
                ", CRASH"
            } else {
                ""
            }
        );
        executions += outcome.executions;
        if let Some(crash) = outcome.crash {
            crashes.push(format!("{target}: {crash}"));
        }
    }
    println!(
        "fuzz: {} targets, {executions} executions, {} crashes",
        targets.len(),
        crashes.len()
    );
    if crashes.is_empty() {
        Ok(())
    } else {
        Err(format!("fuzzing found crashes:\n{}", crashes.join("\n")).into())
    }
}

/// The targets `cargo fuzz list` names.
fn list_targets(sh: &Shell) -> Result<Vec<String>> {
    let _dir = sh.push_dir("fuzz");
    let listed = cmd!(sh, "cargo fuzz list").read()?;
    let targets: Vec<String> = listed
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    if targets.is_empty() {
        return Err("`cargo fuzz list` names no target".into());
    }
    Ok(targets)
}

/// Builds every target once, without a sanitizer and with debug assertions.
fn build(sh: &Shell, fuzz_target_dir: &Path) -> Result<()> {
    let _dir = sh.push_dir("fuzz");
    let _bootstrap = sh.push_env("RUSTC_BOOTSTRAP", "1");
    cmd!(
        sh,
        "cargo fuzz build --sanitizer none --debug-assertions --target-dir {fuzz_target_dir}"
    )
    .run()?;
    Ok(())
}

/// Runs one target for `seconds` from a fresh working corpus plus the kept seeds.
fn run_target(sh: &Shell, fuzz_target_dir: &Path, target: &str, seconds: u64) -> Result<Outcome> {
    let binary = binary_path(fuzz_target_dir, target)?;
    let work = fuzz_target_dir.join("work").join(target);
    let artifacts = fuzz_target_dir.join("artifacts").join(target);
    // Scratch files of a target (the config target writes each input to a file) go here, not
    // into the shared temporary directory.
    let scratch = fuzz_target_dir.join("tmp").join(target);
    for dir in [&work, &scratch] {
        if dir.exists() {
            fs::remove_dir_all(dir)?;
        }
        fs::create_dir_all(dir)?;
    }
    fs::create_dir_all(&artifacts)?;
    let seeds = crate::project_root().join("fuzz/corpus").join(target);
    let args = [
        format!("-max_total_time={seconds}"),
        format!("-timeout={INPUT_TIMEOUT_SECONDS}"),
        format!("-rss_limit_mb={RSS_LIMIT_MB}"),
        format!("-artifact_prefix={}/", artifacts.display()),
        "-print_final_stats=1".to_owned(),
        work.display().to_string(),
        seeds.display().to_string(),
    ];
    let output = cmd!(sh, "{binary} {args...}")
        .env("TMPDIR", &scratch)
        .quiet()
        .ignore_status()
        .output()?;
    let log = String::from_utf8_lossy(&output.stderr);
    let executions = executions(&log).unwrap_or(0);
    let crash = (!output.status.success()).then(|| crash_report(&log, &artifacts));
    Ok(Outcome { executions, crash })
}

/// Where `cargo fuzz build` put `target`'s binary.
fn binary_path(fuzz_target_dir: &Path, target: &str) -> Result<PathBuf> {
    let triple_dir = fs::read_dir(fuzz_target_dir)?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path().join("release").join(target))
        .find(|path| path.is_file());
    triple_dir.ok_or_else(|| {
        format!(
            "no binary of fuzz target {target} under {}",
            fuzz_target_dir.display()
        )
        .into()
    })
}

/// The executions libFuzzer reports in its final stats (`stat::number_of_executed_units: N`),
/// or in its last `Done N runs` line.
fn executions(log: &str) -> Option<u64> {
    let stat = log.lines().rev().find_map(|line| {
        line.trim()
            .strip_prefix("stat::number_of_executed_units:")
            .and_then(|n| n.trim().parse().ok())
    });
    stat.or_else(|| {
        log.lines().rev().find_map(|line| {
            line.trim()
                .strip_prefix("Done ")
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse().ok())
        })
    })
}

/// What went wrong: the panic (with its message line), libFuzzer's summary, and the inputs it
/// kept.
fn crash_report(log: &str, artifacts: &Path) -> String {
    let mut report = String::new();
    let mut lines = log.lines();
    while let Some(line) = lines.next() {
        if line.contains("panicked at") {
            let _ = writeln!(report, "  {line}");
            if let Some(message) = lines.next() {
                let _ = writeln!(report, "  {message}");
            }
        } else if line.starts_with("SUMMARY") || line.contains("==ERROR") {
            let _ = writeln!(report, "  {line}");
        }
    }
    let kept: Vec<String> = fs::read_dir(artifacts)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok())
                .map(|entry| entry.path().display().to_string())
                .collect()
        })
        .unwrap_or_default();
    let _ = write!(report, "  inputs kept: {}", kept.join(", "));
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_none_or_a_positive_budget() {
        assert_eq!(
            Options::from_flags(&[]).expect("default"),
            Options {
                seconds: DEFAULT_SECONDS
            }
        );
        let flags = ["--seconds".to_owned(), "30".to_owned()];
        assert_eq!(
            Options::from_flags(&flags).expect("30 s"),
            Options { seconds: 30 }
        );
        for bad in [
            &["--seconds".to_owned(), "0".to_owned()][..],
            &["--runs".to_owned()][..],
        ] {
            assert!(Options::from_flags(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_budget_is_shared_and_each_target_gets_a_second() {
        let options = Options { seconds: 150 };
        assert_eq!(options.seconds_per_target(15), 10);
        assert_eq!(Options { seconds: 5 }.seconds_per_target(15), 1);
        assert_eq!(options.seconds_per_target(0), 150);
    }

    #[test]
    fn executions_come_from_the_final_stats() {
        let log = "#2\tINITED cov: 10 ft: 10 corp: 1/1b exec/s: 0 rss: 30Mb\nDone 4242 runs in 3 second(s)\nstat::number_of_executed_units: 4243\nstat::average_exec_per_sec:     1414\n";
        assert_eq!(executions(log), Some(4243));
        assert_eq!(executions("Done 17 runs in 1 second(s)\n"), Some(17));
        assert_eq!(executions("nothing\n"), None);
    }
}
