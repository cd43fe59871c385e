//! Emulators of the tools this provider drives, for the simulated node: `zfs` and `zpool`,
//! the util-linux disk tools, `smartctl` and `pvesm`. They print what the real tools print
//! (checked against `shared/fixtures`) and keep their state in the node's `zfs`, `disks`,
//! `smartctl` and `pvesm` namespaces, whose JSON shapes `state.rs` documents.

mod args;
mod blockdev;
mod dataset_props;
mod disks;
mod every_value;
mod model;
mod pool_props;
mod pvesm;
#[cfg(test)]
mod readback_tests;
mod registry;
mod smartctl;
mod state;
mod zfs;
mod zpool;

pub use disks::DiskToolsEmulator;
pub use every_value::every_value_config;
pub use pvesm::PvesmEmulator;
pub use registry::emulators;
pub use smartctl::SmartctlEmulator;
pub use zfs::ZfsEmulator;
