//! Integration tests of the `pct` and `grep` emulators: the simulated node, driven as Phoenix
//! drives a real host, must print what the real tools print (`shared/fixtures/proxmox`), keep
//! Proxmox's config format, and run Phoenix's probe exactly as a real shell does.

mod containers;
mod errors;
mod guest;
mod probe;
mod support;
