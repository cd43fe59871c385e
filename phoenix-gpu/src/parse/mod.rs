//! Pure parsers of what the host tells about its NVIDIA GPUs: `nvidia-smi --query-gpu`'s CSV,
//! `/proc/driver/nvidia/version`, `/proc/devices` and an `ls -l /dev/nvidia*` listing. Each is
//! `&str -> Result<T, ParseError>` and is snapshot-tested on the real H200 samples
//! (`fixtures/README.md` says where each comes from).

mod devices;
mod ls;
mod query;
mod version;

pub use devices::{ProcDevices, parse_proc_devices};
pub use ls::{DeviceNode, parse_ls_l};
pub use phoenix_core::parse::ParseError;
pub use query::{GpuRow, QUERY_FIELDS, format_query_gpu, parse_query_gpu};
pub use version::{DriverVersion, format_driver_version, parse_driver_version};
