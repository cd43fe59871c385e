//! The node files the driver needs, as core primitives: the `nouveau` blacklist and the oneshot
//! unit that creates the device nodes at boot, before `pve-guests.service` starts containers
//! (so `/dev/nvidia-uvm*`, which only appear on first use, exist for their bind mounts).
//! Converged like any file and unit: unchanged, nothing is rewritten or restarted.

use std::path::Path;

use phoenix_core::DynResource;
use phoenix_core::Scope;
use phoenix_core::file::File;
use phoenix_core::service::Service;

use crate::driver::Driver;

/// Where `nouveau` is blacklisted. `nvidia` is never blacklisted.
pub const BLACKLIST_PATH: &str = "/etc/modprobe.d/phoenix-blacklist-nouveau.conf";

/// The device-node unit.
pub const UNIT: &str = "phoenix-nvidia-devices.service";

/// Where the unit lives.
pub const UNIT_PATH: &str = "/etc/systemd/system/phoenix-nvidia-devices.service";

/// The blacklist's text.
pub fn blacklist_text() -> String {
    "# Managed by Phoenix: the NVIDIA driver needs nouveau kept out of the kernel.\nblacklist nouveau\noptions nouveau modeset=0\n".to_owned()
}

/// The unit's text: `nvidia-modprobe -u -c 0` creates `/dev/nvidia-uvm*` and `/dev/nvidia0`,
/// `nvidia-smi` the other GPUs' nodes and `/dev/nvidiactl`.
pub fn unit_text() -> String {
    "# Managed by Phoenix: the NVIDIA device nodes exist before any container starts.\n\
[Unit]\n\
Description=Create the NVIDIA device nodes before guests start\n\
After=systemd-modules-load.service\n\
Before=pve-guests.service\n\
\n\
[Service]\n\
Type=oneshot\n\
RemainAfterExit=yes\n\
ExecStart=/usr/bin/nvidia-modprobe -u -c 0\n\
ExecStart=/usr/bin/nvidia-smi\n\
\n\
[Install]\n\
WantedBy=multi-user.target\n"
        .to_owned()
}

/// The blacklist file, the unit file and the unit (enabled and started, after the driver).
pub fn node_files(node: &Scope) -> Vec<Box<dyn DynResource>> {
    let unit_file = File::new(UNIT_PATH, unit_text())
        .in_scope(node)
        .mode(0o644)
        .owner("root:root")
        .depends_on(Driver::id_for());
    let unit_file_id = File::id_in(node, Path::new(UNIT_PATH));
    vec![
        Box::new(
            File::new(BLACKLIST_PATH, blacklist_text())
                .in_scope(node)
                .mode(0o644)
                .owner("root:root"),
        ),
        Box::new(unit_file),
        Box::new(
            Service::new(node, UNIT)
                .enabled(true)
                .running(true)
                .file(unit_file_id)
                .depends_on(Driver::id_for()),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unit_runs_before_guests_and_nvidia_is_never_blacklisted() {
        let unit = unit_text();
        assert!(unit.contains("Before=pve-guests.service\n"));
        assert!(unit.contains("ExecStart=/usr/bin/nvidia-modprobe -u -c 0\n"));
        let blacklist = blacklist_text();
        assert!(blacklist.contains("blacklist nouveau\n"));
        assert!(
            !blacklist
                .lines()
                .any(|line| line.starts_with("blacklist nvidia"))
        );
    }
}
