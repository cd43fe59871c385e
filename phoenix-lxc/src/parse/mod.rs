//! Pure readers and writers of the formats the `pct` tool and Proxmox's container configs use:
//! `pct list`, `/etc/pve/lxc/<vmid>.conf` and `pct config`, property strings, `pct status`,
//! `pct listsnapshot`, the one-command read of every config (`grep -H`), and Phoenix's
//! in-container probe. Each reader is `&str -> Result<T, ParseError>` and is tested on the real
//! samples in `shared/fixtures/proxmox`; each writer prints what the real tool prints, so the
//! emulators in `sim` and the readers share one description of every format.

mod conf;
mod grep;
mod list;
mod listsnapshot;
mod probe;
mod property;
mod status;
#[cfg(test)]
pub(crate) mod testing;
mod text;

pub use conf::{Conf, Section, format_conf, format_pct_config, parse_conf, pending_deletions};
pub use grep::{format_grep_lines, parse_grep_confs};
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
pub use property::{
    Features, MountPoint, Net, PropertyString, Startup, VolumeSource, format_mount_point,
    format_net, format_size, parse_bool, parse_features, parse_mount_point, parse_net,
    parse_property_string, parse_size, parse_startup,
};
pub use status::{PctStatus, format_pct_status, parse_pct_status};
pub use text::{decode_text, encode_text};
