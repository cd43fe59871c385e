//! `zfs.arc`: the ARC maximum at runtime (`/sys/module/zfs/parameters/zfs_arc_max`, set with
//! `tee`). Persistence across reboots is a core `file` resource for /etc/modprobe.d/zfs.conf.

use async_trait::async_trait;
use phoenix_core::{
    BoxError, Cmd, Ctx, Delta, Diagnostic, FieldChange, Kind, Resource, ResourceId,
};
use serde::Serialize;

use crate::facts::{ARC_MAX_PARAM, ArcParams};

/// The kind: `zfs.arc`.
pub const KIND: &str = "zfs.arc";

/// Where the ARC maximum persists.
pub const MODPROBE_CONF: &str = "/etc/modprobe.d/zfs.conf";

/// The ARC maximum.
#[derive(Debug, Clone)]
pub struct Arc {
    pub(crate) bytes: u64,
}

/// The runtime ARC maximum and the machine's memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArcState {
    /// Bytes; 0 means the module's default (half of RAM).
    pub arc_max: u64,
    /// Total memory in KiB, when known.
    pub mem_total_kib: Option<u64>,
}

/// The modprobe.d line that persists the ARC maximum.
pub fn modprobe_conf(bytes: u64) -> String {
    format!(
        "# Managed by Phoenix: the ZFS ARC maximum ({} GiB).\noptions zfs zfs_arc_max={bytes}\n",
        bytes as f64 / f64::from(1u32 << 30)
    )
}

#[async_trait]
impl Resource for Arc {
    type State = ArcState;

    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), "zfs_arc_max")
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<ArcState>, BoxError> {
        let info = cx.fact(&ArcParams).await?;
        Ok(Some(ArcState {
            arc_max: info.arc_max,
            mem_total_kib: info.mem_total_kib,
        }))
    }

    fn diff(&self, observed: Option<&ArcState>) -> Delta {
        let mut delta = Delta::none();
        let Some(state) = observed else {
            return delta;
        };
        if let Some(kib) = state.mem_total_kib {
            let ram = kib.saturating_mul(1024);
            if ram < self.bytes.saturating_mul(2) {
                delta = delta.diagnostic(Diagnostic::warning(format!(
                    "the ARC maximum ({} GiB) is more than half of the machine's memory ({:.1} GiB); \
                     containers and the host may run short",
                    self.bytes >> 30,
                    ram as f64 / f64::from(1u32 << 30)
                )));
            }
        }
        if state.arc_max != self.bytes {
            delta = delta
                .field(FieldChange::new(
                    "zfs_arc_max",
                    Some(state.arc_max.into()),
                    Some(self.bytes.into()),
                ))
                .run(Cmd::write("tee", [ARC_MAX_PARAM]).stdin(format!("{}\n", self.bytes)));
        }
        delta
    }
}
