//! The transport into containers for core's scoped primitives: scope `ct:<vmid>` runs a command
//! as `pct exec <vmid> -- argv`, so any provider can place packages, files and services inside a
//! container without depending on this crate.
//!
//! Environment variables stay in the node command's environment and `--keep-env 1` hands them
//! to the command inside (Proxmox's default changes to 0 in PVE 9, so it is explicit), so their
//! values never appear in argv or a plan.

use phoenix_core::{Capability, Cmd, GuestTransport};

/// The class of container scopes: `ct:101`.
pub(crate) const CLASS: &str = "ct";

/// `pct exec` as a [`GuestTransport`].
#[derive(Debug, Default, Clone, Copy)]
pub struct PctExec;

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
