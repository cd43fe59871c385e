//! The host-local plan key: a random 32-byte secret, kept in a `0600` file, that keys the
//! fingerprints of changes carrying sensitive values (so `apply --plan` notices a changed secret
//! without the saved plan holding anything a GPU could reverse).
//!
//! For `sim:FILE` the key sits beside the state file (`FILE.plan-key`); for other targets under
//! the operator's state directory (`$PHOENIX_STATE_DIR`, else `$XDG_STATE_HOME/phoenix`, else
//! `~/.local/state/phoenix`), as `plan-key`. A fresh `sim` node, or a key that cannot be read or
//! created, gets a key for this run only: a plan saved then is refused as stale later when it
//! carries secrets, which is the safe side.

use std::io::{Read as _, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use phoenix_core::PlanKey;

use crate::target::Target;

/// The key for `target`, read or created; `None` only when this machine gives no random bytes
/// (then changes with secrets carry no fingerprint).
pub(crate) fn for_target(target: &Target) -> Option<PlanKey> {
    let file = match target {
        Target::Sim(None) => None,
        Target::Sim(Some(state)) => {
            let mut name = state.as_os_str().to_owned();
            name.push(".plan-key");
            Some(PathBuf::from(name))
        }
        _ => state_dir().map(|dir| dir.join("plan-key")),
    };
    if let Some(file) = file {
        match load_or_create(&file) {
            Ok(key) => return Some(key),
            Err(err) => {
                tracing::warn!(file = %file.display(), error = %err, "no plan key; using one for this run only");
            }
        }
    }
    random_bytes().ok().map(PlanKey::from_bytes)
}

fn state_dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    var("PHOENIX_STATE_DIR")
        .map(PathBuf::from)
        .or_else(|| var("XDG_STATE_HOME").map(|d| PathBuf::from(d).join("phoenix")))
        .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".local/state/phoenix")))
}

/// Reads the key in `file`, or creates it (mode `0600`, never readable by others).
fn load_or_create(file: &Path) -> std::io::Result<PlanKey> {
    match load_existing(file) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        found => return found,
    }
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let bytes = random_bytes()?;
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file);
    match created {
        Ok(mut out) => {
            out.write_all(&bytes)?;
            out.sync_all()?;
            Ok(PlanKey::from_bytes(bytes))
        }
        // Another run created it first: use theirs.
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => load_existing(file),
        Err(err) => Err(err),
    }
}

fn load_existing(file: &Path) -> std::io::Result<PlanKey> {
    let bytes: [u8; 32] = std::fs::read(file)?
        .try_into()
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not a 32-byte key"))?;
    Ok(PlanKey::from_bytes(bytes))
}

fn random_bytes() -> std::io::Result<[u8; 32]> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn issue_8_the_plan_key_is_created_0600_beside_the_sim_state_and_reused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let target = Target::Sim(Some(dir.path().join("state.json")));
        let first = for_target(&target);
        let file = dir.path().join("state.json.plan-key");
        let mode = std::fs::metadata(&file)
            .expect("created")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(for_target(&target), first, "the same key on the next run");
        assert_ne!(for_target(&Target::Sim(None)), first);
    }
}
