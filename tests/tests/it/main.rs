//! The one integration binary of the `tests` crate: the engine's invariants, proved on the
//! simulated node, through the library and through the command line run in-process.

mod cli;
mod engine;
mod live;
mod lxc;
mod snapshots;
mod suite_canary;
mod suite_hostile;
mod support;
mod third_party;
mod zfs;
