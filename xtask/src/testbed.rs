//! `cargo xtask testbed build | up | down | ssh | capture | readback`: a throwaway Debian 12 VM with real
//! OpenZFS 2.3, LXC, NFS, Samba, nginx, AppArmor and sshd, booted under QEMU (TCG), for the live
//! acceptance tests.
//!
//! The image is built from Debian packages only and cached as one file in
//! `$PHOENIX_TESTBED_CACHE` (default `/var/cache/phoenix-testbed`), outside the repository, so a
//! fresh clone on the same machine reuses it. A running testbed lives in `target/testbed/`: its
//! overlay disk, data disks, keys, console log and `state.env` (target, pid, key files).

mod build;
mod capture;
mod readback;
mod vm;

use std::env;
use std::path::{Path, PathBuf};

use xshell::Shell;

use crate::{Result, target_dir};

pub(crate) use build::build;
pub(crate) use vm::{State, down, up};

/// The help text of `cargo xtask testbed`.
pub(crate) const USAGE: &str = "\
usage: cargo xtask testbed <build|up|down|ssh|capture|readback> [args]

  build              build the VM image, or reuse the cached one with the same recipe and package versions
  up                 boot a fresh testbed and wait for SSH; prints `export` lines for the live tests
  down               power the testbed off cleanly (kills only its own QEMU, by pid)
  ssh [CMD...]       an interactive shell on the testbed, or run CMD there
  capture [--out DIR] [--list FILE]
                     run each `name<TAB>command` line of FILE (default xtask/testbed/capture.list) on
                     the testbed and write DIR/name.txt as `$ command`, `# exit=N`, then the output
                     (default DIR: target/testbed/fixtures)
  readback [--fixture FILE] [--from N]
                     set every value of the ZFS readback matrix (default
                     phoenix-zfs/readback/zfs-2.3.tsv) on a scratch pool on the testbed, read each
                     back with the provider's `zfs get`, and rewrite the file with the results
                     (with --from N, only rows N.. are tried; the others are kept)

environment:
  PHOENIX_TESTBED_CACHE   the image cache (default /var/cache/phoenix-testbed)
  PHOENIX_TESTBED_MIRROR  the Debian archive to build from (default: the host's apt sources)
";

/// Runs `cargo xtask testbed ARGS...`.
pub(crate) fn run(sh: &Shell, args: &[String]) -> Result<()> {
    let (subcommand, rest) = match args.split_first() {
        Some((first, rest)) => (first.as_str(), rest),
        None => ("help", &[][..]),
    };
    match subcommand {
        "build" => {
            crate::no_flags("testbed build", rest)?;
            build(sh).map(|_| ())
        }
        "up" => {
            crate::no_flags("testbed up", rest)?;
            let image = build::cached_image(sh)?;
            let state = up(sh, &image)?;
            println!("{}", state.exports());
            Ok(())
        }
        "down" => {
            crate::no_flags("testbed down", rest)?;
            down(sh)
        }
        "ssh" => vm::ssh(sh, rest),
        "capture" => capture::run(sh, rest),
        "readback" => readback::run(sh, rest),
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            Ok(())
        }
        unknown => {
            eprint!("{USAGE}");
            Err(format!("unknown testbed subcommand `{unknown}`").into())
        }
    }
}

/// Where built images and the build's download caches live.
pub(crate) fn cache_dir() -> PathBuf {
    match env::var_os("PHOENIX_TESTBED_CACHE") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from("/var/cache/phoenix-testbed"),
    }
}

/// Where the running testbed keeps its files.
pub(crate) fn run_dir() -> PathBuf {
    target_dir().join("testbed")
}

/// Quotes one word for a POSIX shell (the remote side of `ssh` gets one command string).
pub(crate) fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=,@+%".contains(&b));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// A path as UTF-8, for commands and state files.
pub(crate) fn utf8(path: &Path) -> Result<&str> {
    path.to_str()
        .ok_or_else(|| format!("path {} is not valid UTF-8", path.display()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quote_leaves_plain_words_and_quotes_the_rest() {
        assert_eq!(shell_quote("zpool"), "zpool");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
