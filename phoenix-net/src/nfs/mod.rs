//! NFS exports (`nfs.exports[]`): core's primitives composed into an NFS server whose exports
//! come from one Phoenix-owned file, re-exported only when it changed or the live table drifted.

mod build;
mod config;
mod export_path;
mod exports_file;
mod options;
pub mod parse;
#[cfg(test)]
mod real_exportfs_tests;
#[cfg(any(test, feature = "sim"))]
pub mod sim;
mod table;

pub(crate) use build::decode;
pub(crate) use export_path::KIND as PATH_KIND;
pub(crate) use table::KIND as TABLE_KIND;
