//! The transport into containers for core's scoped primitives: scope `ct:<vmid>` runs a command
//! as `pct exec <vmid> -- argv`, so any provider can place packages, files and services inside a
//! container without depending on this crate.
//!
//! Environment variables stay in the node command's environment and `--keep-env 1` hands them
//! to the command inside (Proxmox's default changes to 0 in PVE 9, so it is explicit), so their
//! values never appear in argv or a plan.

use phoenix_core::{BatchOutput, Capability, Cmd, GuestTransport, Output};

/// The class of container scopes: `ct:101`.
pub(crate) const CLASS: &str = "ct";

/// `pct exec` as a [`GuestTransport`].
#[derive(Debug, Default, Clone, Copy)]
pub struct PctExec;

#[async_trait::async_trait]
impl GuestTransport for PctExec {
    fn class(&self) -> &str {
        CLASS
    }

    fn exec(&self, guest: &str, cmd: &Cmd) -> Cmd {
        let mut wrapped = cmd.clone();
        wrapped.program = "pct".to_owned();
        let mut args = vec!["exec".to_owned(), guest.to_owned()];
        if !cmd.env.is_empty() {
            args.extend(["--keep-env".to_owned(), "1".to_owned()]);
        }
        args.push("--".to_owned());
        args.extend(cmd.argv());
        wrapped.args = args;
        wrapped
    }

    fn batches(&self) -> bool {
        true
    }

    /// The host probe command (`parse::PROBE_ALL_SCRIPT`: `lxc-attach` into every container at
    /// once, each framed on its own) running `script` instead of this crate's probe; `None` when
    /// a guest is not a container id or an argument holds a newline.
    fn batch(&self, script: &str, _name: &str, guests: &[(String, Vec<String>)]) -> Option<Cmd> {
        let mut stdin = String::new();
        for (guest, args) in guests {
            let id: u32 = guest.parse().ok()?;
            for arg in args {
                if arg.contains('\n') {
                    return None;
                }
                stdin.push_str(&format!("{id} {arg}\n"));
            }
            if args.is_empty() {
                // A container with nothing to observe still gets its block.
                stdin.push_str(&format!("{id} -\n"));
            }
        }
        let argv = crate::parse::probe_all_argv_with(guests.len(), script);
        let (program, args) = argv.split_first()?;
        Some(Cmd::read(program, args.iter().cloned()).stdin(stdin))
    }

    fn split_batch(&self, output: &Output) -> Result<BatchOutput, String> {
        let blocks = crate::parse::parse_probe_all_output(&output.stdout)
            .map_err(|e| format!("read the probe of the containers: {e}"))?;
        Ok(blocks
            .iter()
            .map(|(id, block)| {
                let stdout = crate::facts::block_stdout(*id, Some(block)).map(str::to_owned);
                (id.to_string(), stdout)
            })
            .collect())
    }

    /// Containers are reachable where `pct` is: the one `pct list` every container resource
    /// shares (`Containers`) says `Unsupported` (a missing tool) on a node without Proxmox VE.
    async fn reachable(&self, cx: &phoenix_core::Ctx<'_>) -> Result<(), phoenix_core::BoxError> {
        cx.fact(&crate::facts::Containers).await?;
        Ok(())
    }

    /// A container is settled when it is not running and the snapshot its current state comes
    /// from (the conf's `parent`) records `fingerprint` (`snapshot::effective_digest`), read
    /// from the one conf read every container resource shares (`Containers`).
    async fn settled(
        &self,
        cx: &phoenix_core::Ctx<'_>,
        guest: &str,
        fingerprint: &str,
    ) -> Result<bool, phoenix_core::BoxError> {
        let Ok(id) = guest.parse::<u32>() else {
            return Ok(false);
        };
        let all = cx.fact(&crate::facts::Containers).await?;
        let Some(found) = all.get(&id) else {
            return Ok(false);
        };
        if found.status == "running" {
            return Ok(false);
        }
        let Some(parent) = found
            .conf
            .main
            .keys
            .iter()
            .find_map(|(k, v)| (k == "parent").then_some(v.as_str()))
        else {
            return Ok(false);
        };
        let recorded = found
            .conf
            .snapshots
            .get(parent)
            .and_then(|s| s.description.as_deref())
            .and_then(crate::snapshot::recorded_digest);
        Ok(recorded.is_some_and(|digest| {
            digest
                .split_once(phoenix_core::settle::SCOPE_LINE)
                .is_some_and(|(_, recorded)| recorded.trim() == fingerprint)
        }))
    }
}

/// What container `id`'s provisioning provides: the guest exists and runs, so scoped resources
/// in `ct:<id>` come after it.
pub(crate) fn ready(id: u32) -> Capability {
    Capability::named("scope", &format!("{CLASS}:{id}"))
}

/// What container `id`'s final-form snapshot requires: every scoped resource in `ct:<id>`
/// provides it, so the snapshot comes after all of them.
pub(crate) fn settled(id: u32) -> Capability {
    Capability::named("scope-settled", &format!("{CLASS}:{id}"))
}

#[cfg(test)]
mod tests {
    use phoenix_core::Scopes;
    use std::sync::Arc;

    use super::*;

    #[test]
    fn a_command_in_a_container_runs_through_pct_exec_with_its_environment_kept() {
        let scopes = Scopes::new([Arc::new(PctExec) as Arc<dyn GuestTransport>]);
        let scope = scopes.get("ct:101").expect("a container scope");
        assert_eq!(
            scope
                .command(Cmd::write("systemctl", ["reload", "nginx.service"]))
                .to_string(),
            "pct exec 101 -- systemctl reload nginx.service"
        );
        let install = scope.command(
            Cmd::write("apt-get", ["install", "-y", "nginx"])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        );
        assert_eq!(
            install.to_string(),
            "DEBIAN_FRONTEND=<redacted> pct exec 101 --keep-env 1 -- apt-get install -y nginx"
        );
        assert_eq!(install.env["DEBIAN_FRONTEND"], "noninteractive");
        assert_eq!(scope.ready(), Some(ready(101)));
        assert_eq!(scope.settled(), Some(settled(101)));
    }
}
