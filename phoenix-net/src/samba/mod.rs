//! Samba: shares in a Phoenix-owned include file referenced by one line of the operator's
//! smb.conf, checked by `testparm` before they go live; smbd reloaded only when they changed;
//! the Samba user with its password from a root-only file.

pub mod conf;
pub(crate) mod config;
pub(crate) mod decode;
pub(crate) mod include;
pub(crate) mod params;
#[cfg(all(test, feature = "sim"))]
mod real_testparm;
pub(crate) mod share;
#[cfg(feature = "sim")]
pub(crate) mod sim;
pub(crate) mod user;

pub use decode::{SHARES_CONF, SMB_CONF};
#[cfg(feature = "sim")]
pub use sim::SambaEmulator;

/// The resource kinds of Samba.
pub(crate) const KINDS: &[&str] = &[include::KIND, share::KIND, user::KIND];
