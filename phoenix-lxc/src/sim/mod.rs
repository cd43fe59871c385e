//! Emulators of the tools this provider drives, for the simulated node: `pct` (with a
//! per-container filesystem, so that `pct exec` runs features and their probes for real) and the
//! `grep -H` that reads every container config at once, and the `timeout ... sh -c` host command
//! that probes every running container at once (through the same guest emulation as `pct exec`). They print what the real tools print
//! (checked against `shared/fixtures/proxmox`), write `/etc/pve/lxc/<vmid>.conf` in Proxmox's
//! exact format, and keep the rest in the node's `pct` namespace, whose JSON shape `state.rs`
//! documents.

mod apt;
mod args;
mod ctx;
mod defaults;
mod exec;
mod fs;
mod grep;
mod guest;
mod guest_sys;
mod guest_tools;
mod lifecycle;
mod overlay;
mod pct;
mod power;
mod probe_all;
mod registry;
mod scope_probe;
mod settings;
mod snapshots;
mod state;

pub use grep::GrepEmulator;
pub use pct::PctEmulator;
pub use probe_all::{ProbeAllEmulator, SIM_NPROC};
pub use registry::emulators;
