//! `cargo xtask bench`: runs the engine benchmark, which prints its own figures.

use xshell::{Shell, cmd};

use crate::Result;

/// Runs `cargo bench -p tests --bench engine` from the workspace root.
pub(crate) fn run(sh: &Shell) -> Result<()> {
    cmd!(sh, "cargo bench -p tests --bench engine").run()?;
    Ok(())
}
