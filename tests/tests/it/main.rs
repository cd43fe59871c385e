//! The one integration binary of the `tests` crate: the engine's invariants, proved on the
//! simulated node, through the library and through the command line run in-process.

mod admin;
mod ai;
mod apparmor;
mod cli;
mod docker_feature;
mod engine;
mod firewall;
mod gateway;
mod gateway_tls;
mod gpu;
mod live;
mod lxc;
mod nfs;
mod nvidia_feature;
mod ollama_qdrant;
mod primitives;
mod recovery;
mod run_lock;
mod samba;
mod snapshots;
mod suite_canary;
mod suite_concurrency;
mod suite_faults;
mod suite_hostile;
mod suite_kills;
mod support;
mod third_party;
mod vllm;
mod zfs;
