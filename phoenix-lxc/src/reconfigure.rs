//! `phoenix reconfigure <ctid>`: roll a container back to its provisioning snapshot, so that the
//! converge that follows provisions it again from a known state.

use std::collections::BTreeMap;
use std::path::Path;

use phoenix_core::config::ConfigSet;
use phoenix_core::{Cmd, Host};

use crate::error::{Error, Result};
use crate::facts::conf_path;

/// The snapshot container `id` keeps, per the config; `None` when the config does not declare it.
pub fn snapshot_name(config: &ConfigSet, id: u32) -> Option<String> {
    let mut cx = phoenix_core::DecodeCx::new("lxc", Vec::new(), config);
    let sections: Vec<_> = config
        .sections()
        .filter(|s| s.key == "lxc_configs" || s.key == "shared_volumes")
        .collect();
    let decoded = crate::config::decode(&sections, &mut cx);
    let names: BTreeMap<u32, String> = decoded
        .containers
        .into_iter()
        .map(|c| (c.id, c.snapshot))
        .collect();
    names.get(&id).cloned()
}

/// Rolls container `id` back to `snapshot`: stops it if it runs, `pct rollback`, and starts it
/// again if it ran. Refuses
/// (changing nothing) when the container or the snapshot does not exist.
pub async fn rollback(host: &dyn Host, id: u32, snapshot: &str) -> Result<()> {
    let path = conf_path(id);
    let Some(file) = host.read_file(Path::new(&path)).await? else {
        return Err(Error::NotOnHost { id });
    };
    let conf = phoenix_pve::parse_conf(&file.content).map_err(|e| Error::Conf {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    if !conf.snapshots.contains_key(snapshot) {
        return Err(Error::NoSnapshot {
            id,
            snapshot: snapshot.to_owned(),
        });
    }
    let id_text = id.to_string();
    let running = crate::facts::is_running(host, id).await?;
    if running {
        phoenix_core::host::run_checked(host, &Cmd::write("pct", ["shutdown", id_text.as_str()]))
            .await?;
    }
    phoenix_core::host::run_checked(
        host,
        &Cmd::write("pct", ["rollback", id_text.as_str(), snapshot]),
    )
    .await?;
    // Running again, as it was: the converge that follows checks the resources other providers
    // placed inside it (a vLLM server), which only a running container can answer.
    if running {
        phoenix_core::host::run_checked(host, &Cmd::write("pct", ["start", id_text.as_str()]))
            .await?;
    }
    tracing::info!(container = id, snapshot, "rolled back");
    Ok(())
}
