//! Pure readers and writers of the output of the `pct` tool: `pct list`, `pct status`,
//! `pct listsnapshot`, the one-command read of every config (`grep -H`), and Phoenix's
//! in-container probe with the one host command that runs it in every running container. Each
//! reader is `&str -> Result<T, ParseError>` and is tested on the real samples in `shared/fixtures/proxmox`; each writer prints what the real tool prints, so the
//! emulators in `sim` and the readers share one description of every format.
//!
//! The Proxmox file formats (the container conf, property strings, sizes, storage.cfg) are not
//! here but in `phoenix-pve`, which every provider can use.

mod grep;
mod list;
mod listsnapshot;
mod probe;
mod probe_all;
mod status;
#[cfg(test)]
pub(crate) mod testing;

pub use grep::{GrepFile, format_grep_lines, parse_grep_confs, split_grep};
pub use list::{ListedContainer, format_pct_list, parse_pct_list};
pub use listsnapshot::{
    ListedSnapshot, SnapshotNode, format_snapshot_tree, format_utc, parse_listsnapshot,
    snapshot_nodes,
};
pub use phoenix_core::parse::ParseError;
pub use probe::{
    PROBE_NAME, PROBE_SCRIPT, ProbeAnswer, ProbeRequest, ProbeTarget, ProbedFile, emulate_probe,
    parse_probe_output, probe_args, sha256_hex,
};
pub use probe_all::{
    PROBE_ALL_NAME, PROBE_ALL_SCRIPT, PROBE_LIMIT_SECS, ProbeBlock, format_probe_all_output,
    parse_probe_all_output, probe_all_argv, probe_all_argv_with, probe_all_stdin,
    read_probe_all_stdin,
};
pub use status::{PctStatus, format_pct_status, parse_pct_status};
