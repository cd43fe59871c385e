//! AppArmor (seed §7.2 steps 1 and 2): the nesting tunable and the `lxc-phoenix-v2` profile,
//! written as core files validated by `apparmor_parser` before they go live, loaded with
//! `apparmor_parser -r` only when they changed or the kernel lacks them; and, for a profile a
//! container names that Phoenix does not ship, a plan-time check that it is loaded.
//!
//! - `policy`: the texts and where they go (one name everywhere).
//! - `status`: the one parser (and writer) of `aa-status --json`, read through the node's probe.
//! - `profile`: the `apparmor.profile` resource.
//! - `config`: which profiles the containers use, and the resources for each.
//! - `check` (for the emulator): what `apparmor_parser` checks, with its messages.
//! - `sim`: the `apparmor_parser` and `aa-status` emulators.

#[cfg(any(test, feature = "sim"))]
mod check;
pub mod config;
pub mod policy;
pub mod profile;
#[cfg(feature = "sim")]
pub mod sim;
pub mod status;
