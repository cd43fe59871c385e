//! Release installs: an archive downloaded, checked against its pinned sha256 and unpacked into a
//! directory of its own version (`/opt/ollama/0.32.7`), as a guarded `exec` that runs while the
//! version's binary is missing.
//!
//! One directory per version makes an upgrade a new install beside the old one: the unit file
//! names the versioned binary, so the unit changes (and the service restarts once) only when the
//! version does, and a failed download leaves the running version alone. The script is a
//! constant; the URL, digest and directory reach it as positional arguments (never spliced into
//! its text), and each is checked by phoenix-services before (a version of digits and dots, a
//! hex digest).

use std::path::PathBuf;

use phoenix_core::Cmd;
use phoenix_core::exec::Exec;
use phoenix_core::scope::Scope;

/// The installer script: `sh -c INSTALL_SCRIPT phoenix-install URL SHA256 DIR`. It downloads into
/// a temporary directory, lets `sha256sum -c` refuse a different archive, unpacks into
/// `DIR.partial` (GNU tar detects gzip and zstd by their magic) and renames that to `DIR`, so
/// `DIR` exists only complete.
pub const INSTALL_SCRIPT: &str = r#"set -eu
url=$1 sha=$2 dir=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
curl -fsSL --retry 3 -o "$tmp/archive" "$url"
printf '%s  %s\n' "$sha" "$tmp/archive" | sha256sum -c --quiet -
rm -rf "$dir.partial"
mkdir -p "$dir.partial"
tar -x -f "$tmp/archive" -C "$dir.partial"
rm -rf "$dir"
mv "$dir.partial" "$dir"
"#;

/// A release archive to install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Release {
    /// The resource name (`ollama-install`).
    pub(crate) name: &'static str,
    /// The archive's URL.
    pub(crate) url: String,
    /// Its sha256.
    pub(crate) sha256: String,
    /// The directory it is unpacked into.
    pub(crate) dir: String,
    /// The path inside `dir` that exists once it is installed (the binary).
    pub(crate) creates: String,
}

impl Release {
    /// The guarded install in `scope`.
    pub(crate) fn exec(&self, scope: &Scope) -> Exec {
        let cmd = Cmd::write(
            "sh",
            [
                "-c",
                INSTALL_SCRIPT,
                "phoenix-install",
                self.url.as_str(),
                self.sha256.as_str(),
                self.dir.as_str(),
            ],
        );
        Exec::new(scope, self.name, PathBuf::from(&self.creates), cmd)
    }
}

#[cfg(test)]
mod tests {
    use phoenix_core::{Host, LocalHost};

    use super::*;

    /// Runs `cmd` with the real tools of this machine.
    fn run(cmd: &Cmd) -> phoenix_core::cmd::Output {
        tokio::runtime::Runtime::new()
            .expect("runtime")
            .block_on(LocalHost::new().run(cmd))
            .expect("runs")
    }

    /// The script as the real `sh`, `sha256sum` and `tar` run it, with `curl` replaced by a
    /// stand-in that copies a local file: a matching digest installs, another leaves no
    /// directory behind.
    #[test]
    fn issue_12_the_installer_checks_the_digest_before_it_unpacks() {
        let work = std::env::temp_dir().join(format!("phoenix-install-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(work.join("src/bin")).expect("dirs");
        std::fs::create_dir_all(work.join("fakebin")).expect("dirs");
        std::fs::write(work.join("src/bin/tool"), "#!/bin/sh\necho tool\n").expect("tool");
        let w = |p: &str| work.join(p).display().to_string();
        let archive = w("release.tar.gz");
        let tar = run(&Cmd::read(
            "tar",
            ["-czf", &archive, "-C", &w("src"), "bin"],
        ));
        assert!(tar.success(), "{tar:?}");
        // The curl stand-in: `curl ... -o OUT URL` copies the file URL names.
        std::fs::write(
            work.join("fakebin/curl"),
            "#!/bin/sh\nwhile [ $# -gt 1 ]; do if [ \"$1\" = -o ]; then out=$2; fi; shift; done\ncp \"$1\" \"$out\"\n",
        )
        .expect("curl stand-in");
        assert!(run(&Cmd::read("chmod", ["+x", &w("fakebin/curl")])).success());
        let sha = run(&Cmd::read("sha256sum", [archive.as_str()])).stdout[..64].to_owned();
        let install = |sha: &str, dir: &str| {
            run(&Cmd::read(
                "sh",
                [
                    "-c",
                    INSTALL_SCRIPT,
                    "phoenix-install",
                    &archive,
                    sha,
                    &w(dir),
                ],
            )
            .env("PATH", format!("{}:/usr/bin:/bin", w("fakebin"))))
        };
        let bad = install(&"0".repeat(64), "bad");
        assert!(!bad.success());
        assert!(bad.stdout.contains("FAILED"), "{bad:?}");
        assert!(!work.join("bad").exists() && !work.join("bad.partial").exists());
        let good = install(&sha, "good");
        assert!(good.success(), "{good:?}");
        assert!(work.join("good/bin/tool").is_file());
        let _ = std::fs::remove_dir_all(&work);
    }
}
