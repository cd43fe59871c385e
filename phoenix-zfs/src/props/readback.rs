//! The readback matrix: what real OpenZFS 2.3 reads back for each value Phoenix accepts
//! (`readback/zfs-2.3.tsv`, captured on the testbed with `cargo xtask testbed readback`).
//!
//! Real ZFS stores an index for a word property and prints the first name of that index, so some
//! values come back under another spelling (`xattr=sa` reads `on`, `compression=gzip-6` reads
//! `gzip`). The semantic comparison and the `zfs` emulator both take those spellings from this
//! one file, so a real converge and a simulated one agree.

use std::collections::BTreeMap;
use std::sync::LazyLock;

/// The matrix as captured.
const MATRIX_2_3: &str = include_str!("../../readback/zfs-2.3.tsv");

/// The column header line.
const COLUMNS: &str = "scope\tproperty\tvalue\texit\treadback\tsource";

/// How a row's value was given to ZFS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// `zfs set` on a new filesystem.
    Fs,
    /// `zfs set` on a new 64M volume.
    Vol,
    /// `zfs create -o` of a filesystem.
    FsCreate,
    /// `zfs create -V 64M -o`.
    VolCreate,
    /// `zfs create -o` under an encryption root whose key is loaded.
    EncCreate,
    /// `zpool create -o`.
    PoolCreate,
    /// `zpool create -O` (the root dataset).
    RootCreate,
    /// `zpool set`.
    Pool,
}

impl Scope {
    fn parse(word: &str) -> Option<Scope> {
        Some(match word {
            "fs" => Scope::Fs,
            "vol" => Scope::Vol,
            "fs-create" => Scope::FsCreate,
            "vol-create" => Scope::VolCreate,
            "enc-create" => Scope::EncCreate,
            "pool-create" => Scope::PoolCreate,
            "root-create" => Scope::RootCreate,
            "pool" => Scope::Pool,
            _ => return None,
        })
    }

    /// Whether the row is about a pool property rather than a dataset one.
    pub(crate) fn is_pool(self) -> bool {
        matches!(self, Scope::PoolCreate | Scope::Pool)
    }
}

/// One value set on real ZFS and what came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) scope: Scope,
    pub(crate) property: &'static str,
    /// The value as set.
    pub(crate) value: &'static str,
    /// The exit status of the set (or create).
    pub(crate) exit: i32,
    /// The value `zfs get -H -p` printed, or the error the set printed when `exit` is not 0.
    pub(crate) readback: &'static str,
    /// The source `zfs get` printed (`-` after an error).
    pub(crate) source: &'static str,
}

impl Row {
    /// Whether ZFS took the value.
    pub(crate) fn accepted(&self) -> bool {
        self.exit == 0
    }
}

/// Parses the matrix text; the error names the line.
fn parse(text: &'static str) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') || line == COLUMNS {
            continue;
        }
        let fields: Vec<&'static str> = line.split('\t').collect();
        let [scope, property, value, exit, readback, source] = fields[..] else {
            return Err(format!(
                "line {}: expected 6 TAB-separated fields, found {}",
                index + 1,
                fields.len()
            ));
        };
        let scope =
            Scope::parse(scope).ok_or_else(|| format!("line {}: unknown scope", index + 1))?;
        let exit = exit
            .parse()
            .map_err(|_| format!("line {}: bad exit status {exit:?}", index + 1))?;
        rows.push(Row {
            scope,
            property,
            value,
            exit,
            readback,
            source,
        });
    }
    Ok(rows)
}

static ROWS: LazyLock<Vec<Row>> = LazyLock::new(|| {
    parse(MATRIX_2_3).expect("invariant: the readback matrix parses (test: the_matrix_parses)")
});

/// Every row of the matrix, in file order.
pub(crate) fn rows() -> &'static [Row] {
    &ROWS
}

/// Dataset property and value as set → the spelling ZFS reads back, for every accepted value.
static SPELLINGS: LazyLock<BTreeMap<(&'static str, &'static str), &'static str>> =
    LazyLock::new(|| {
        rows()
            .iter()
            .filter(|row| row.accepted() && !row.scope.is_pool())
            .map(|row| ((row.property, row.value), row.readback))
            .collect()
    });

/// The spelling real ZFS reads `value` of dataset property `property` back as, when the matrix
/// records it.
pub(crate) fn spelling(property: &str, value: &str) -> Option<&'static str> {
    SPELLINGS.get(&(property, value)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_parses() {
        let rows = parse(MATRIX_2_3).expect("the shipped matrix parses");
        assert!(rows.len() > 200, "{} rows", rows.len());
        assert!(parse("fs\txattr\tsa\t0\ton\n").is_err());
        assert!(parse("disk\txattr\tsa\t0\ton\tlocal\n").is_err());
    }
}
