//! `cargo xtask snap`: runs the snapshot tests, and optionally reviews or accepts what changed.
//!
//! The check mode is the one CI uses. `--review` and `--accept` update snapshots, so they also
//! delete snapshot files no test references any more (insta lists them; git shows the deletion).
//! Under `CI`, `--review` refuses to run, and cargo-insta itself turns `--accept` into a check.

use xshell::{Shell, cmd};

use crate::{Result, is_ci};

/// What to do with snapshots that differ from the stored ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Fail on any pending or unreferenced snapshot; change nothing.
    Check,
    /// Run the tests, then `cargo insta`'s interactive review of every pending snapshot.
    Review,
    /// Run the tests, then accept every pending snapshot without asking.
    Accept,
}

impl Mode {
    /// Parses the flags of `cargo xtask snap`: none, `--review` or `--accept`.
    pub(crate) fn from_flags(flags: &[String]) -> Result<Mode> {
        match flags {
            [] => Ok(Mode::Check),
            [flag] if flag == "--review" => Ok(Mode::Review),
            [flag] if flag == "--accept" => Ok(Mode::Accept),
            _ => Err(format!(
                "`cargo xtask snap` takes no flag, `--review` or `--accept`, got `{}`",
                flags.join(" ")
            )
            .into()),
        }
    }
}

/// Runs `cargo insta test` over the workspace in the given mode.
pub(crate) fn run(sh: &Shell, mode: Mode) -> Result<()> {
    match mode {
        Mode::Check => cmd!(
            sh,
            "cargo insta test --workspace --all-features --unreferenced=reject --check"
        )
        .run()?,
        Mode::Review => {
            if is_ci() {
                return Err(
                    "`cargo xtask snap --review` is interactive and CI is set; use `cargo xtask snap`"
                        .into(),
                );
            }
            cmd!(
                sh,
                "cargo insta test --workspace --all-features --unreferenced=delete --review"
            )
            .run()?;
        }
        Mode::Accept => cmd!(
            sh,
            "cargo insta test --workspace --all-features --unreferenced=delete --accept"
        )
        .run()?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(flags: &[&str]) -> Result<Mode> {
        let flags: Vec<String> = flags.iter().map(|flag| flag.to_string()).collect();
        Mode::from_flags(&flags)
    }

    #[test]
    fn flags_select_the_mode() {
        assert_eq!(parse(&[]).ok(), Some(Mode::Check));
        assert_eq!(parse(&["--review"]).ok(), Some(Mode::Review));
        assert_eq!(parse(&["--accept"]).ok(), Some(Mode::Accept));
    }

    #[test]
    fn unknown_or_combined_flags_are_errors() {
        assert!(parse(&["--reveiw"]).is_err());
        assert!(parse(&["--review", "--accept"]).is_err());
    }
}
