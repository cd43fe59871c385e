//! Pure parsers of what the host tells about its NVIDIA GPUs: `/proc/driver/nvidia/version` and
//! an `ls -l /dev/nvidia*` listing here, and (re-exported from `phoenix_pve::gpu`, which holds
//! them because phoenix-lxc reads them too) `nvidia-smi --query-gpu`'s CSV and `/proc/devices`.
//! Each is `&str -> Result<T, ParseError>` and is snapshot-tested on the real H200 samples
//! (`fixtures/README.md` says where each comes from).

mod ls;
mod version;

pub use ls::{DeviceNode, parse_ls_l};
pub use phoenix_core::parse::ParseError;
pub use phoenix_pve::gpu::{
    GpuRow, ProcDevices, QUERY_FIELDS, format_query_gpu, parse_proc_devices, parse_query_gpu,
};
pub use version::{DriverVersion, format_driver_version, parse_driver_version};
