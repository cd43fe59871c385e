//! The release installer (`sh -c INSTALL_SCRIPT phoenix-install URL SHA256 DIR`, `install.rs`)
//! inside a simulated container, recognised by its exact text as phoenix-lxc recognises its
//! probe script.
//!
//! The simulated node has no network, so the download is a stand-in: the archives it can
//! "download" are the releases Phoenix pins by default ([`RELEASES`]), each with the sha256 of
//! the real archive. The script's own steps follow: `curl` fails on another URL as the real one
//! does on a 404 (exit 22), `sha256sum -c` refuses a pinned digest that is not the archive's
//! (exit 1, nothing unpacked), and the unpacked directory holds the release's executable at the
//! path the real archive has it (`bin/ollama`, `qdrant`). Other files of the archives (Ollama's
//! `lib/ollama`) are not made.

use phoenix_core::sim::{GuestSys, SimFile, SimOutput};

use crate::INSTALL_SCRIPT;

/// A release archive the stand-in download knows.
#[derive(Debug, Clone, Copy)]
pub struct StandInRelease {
    /// The archive's URL.
    pub url: fn() -> String,
    /// The sha256 of the real archive.
    pub sha256: &'static str,
    /// The executable inside it, relative to the unpacked directory.
    pub executable: &'static str,
}

/// The releases the stand-in download serves: the default pins of Ollama and Qdrant.
pub const RELEASES: &[StandInRelease] = &[
    StandInRelease {
        url: || crate::ollama::unit::release_url(phoenix_services::ollama::DEFAULT_VERSION),
        sha256: phoenix_services::ollama::DEFAULT_SHA256,
        executable: "bin/ollama",
    },
    StandInRelease {
        url: || crate::qdrant::files::release_url(phoenix_services::qdrant::DEFAULT_VERSION),
        sha256: phoenix_services::qdrant::DEFAULT_SHA256,
        executable: "qdrant",
    },
];

/// Runs `sh ARGS` when ARGS are the installer's; `None` for any other script.
pub(crate) fn run(args: &[String], guest: &mut dyn GuestSys<'_>) -> Option<SimOutput> {
    let [flag, script, _name, url, sha, dir] = args else {
        return None;
    };
    if flag != "-c" || script != INSTALL_SCRIPT {
        return None;
    }
    for tool in ["curl", "sha256sum", "tar", "mktemp"] {
        if guest.command_path(tool).is_none() {
            return Some(SimOutput::fail(
                127,
                format!("phoenix-install: 5: {tool}: not found\n"),
            ));
        }
    }
    let Some(release) = RELEASES.iter().find(|r| (r.url)() == *url) else {
        return Some(SimOutput::fail(
            22,
            "curl: (22) The requested URL returned error: 404\n",
        ));
    };
    if sha != release.sha256 {
        return Some(SimOutput::new(
            1,
            "/tmp/tmp.phoenix/archive: FAILED\n",
            "sha256sum: WARNING: 1 computed checksum did NOT match\n",
            false,
        ));
    }
    // zstd archives need the zstd program: GNU tar runs it to decompress.
    if url.ends_with(".zst") && guest.command_path("zstd").is_none() {
        return Some(SimOutput::fail(
            2,
            "tar: zstd: Cannot exec: No such file or directory\ntar: Error is not recoverable: exiting now\n",
        ));
    }
    let executable = format!("{dir}/{}", release.executable);
    guest.mkdir(dir);
    guest.write(
        &executable,
        SimFile::new(
            format!("#!/bin/sh\n# phoenix sim: stand-in of {url}\n"),
            0o755,
            "root:root",
        ),
    );
    Some(SimOutput::ok_mutated(""))
}
