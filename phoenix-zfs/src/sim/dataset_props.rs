//! How the `zfs` emulator uses the dataset property table (`crate::props`): which properties a
//! version lists for which dataset types, their aliases and defaults, and how `zfs` checks and
//! stores a value, with the errors it prints.

use super::state::{DatasetType, ZfsVersion};
use crate::parse::parse_size;
use crate::props::{
    Applies, Kind, PROPERTIES, PROPERTIES_2_3, Property, Shape, Zero, format_size, spelling,
};

/// Properties whose values the emulator stores unchecked: it does not emulate encryption.
const UNCHECKED: &[&str] = &["encryption"];

/// Whether `prop` applies to (is listed for) datasets of `kind`.
pub(crate) fn applies(prop: &Property, kind: DatasetType) -> bool {
    matches!(
        (prop.applies, kind),
        (Applies::Both, _)
            | (Applies::Filesystem, DatasetType::Filesystem)
            | (Applies::Volume, DatasetType::Volume)
    )
}

/// The properties of `version`, in `zfs get all` order.
fn all(version: ZfsVersion) -> impl Iterator<Item = &'static Property> {
    let extra: &[Property] = if version == ZfsVersion::V2_3 {
        PROPERTIES_2_3
    } else {
        &[]
    };
    PROPERTIES.iter().chain(extra)
}

/// The property called `name` (aliases such as `avail` resolved), if the version has it.
pub(crate) fn lookup(name: &str, version: ZfsVersion) -> Option<&'static Property> {
    let name = canonical(name);
    all(version).find(|prop| prop.name == name)
}

/// The full name of a property abbreviation that `zfs` accepts.
pub(crate) fn canonical(name: &str) -> &str {
    match name {
        "avail" => "available",
        "refer" => "referenced",
        "reserv" => "reservation",
        "refreserv" => "refreservation",
        "recsize" => "recordsize",
        "volblock" => "volblocksize",
        "compress" => "compression",
        "rdonly" => "readonly",
        "lused" => "logicalused",
        "lrefer" => "logicalreferenced",
        "ratio" => "compressratio",
        "refratio" => "refcompressratio",
        "usedsnap" => "usedbysnapshots",
        "usedds" => "usedbydataset",
        "usedchild" => "usedbychildren",
        "usedrefreserv" => "usedbyrefreservation",
        other => other,
    }
}

/// The properties `zfs get all` prints for a dataset of `kind`, in order.
pub(crate) fn all_for(kind: DatasetType, version: ZfsVersion) -> Vec<&'static Property> {
    all(version).filter(|prop| applies(prop, kind)).collect()
}

/// The default value of a property, in `-p` form (`-` when it has none).
pub(crate) fn default_value(name: &str, version: ZfsVersion) -> &'static str {
    PROPERTIES
        .iter()
        .chain(PROPERTIES_2_3)
        .find(|prop| prop.name == name)
        .map_or("-", |prop| match version {
            ZfsVersion::V2_1 => prop.default,
            ZfsVersion::V2_3 => prop.default_2_3,
        })
}

/// The value as `zfs get` displays a stored one: the spelling real OpenZFS 2.3 reads it back as
/// (`props::spelling`, from the readback matrix: `xattr=sa` shows `on`, `gzip-6` shows `gzip`).
/// OpenZFS 2.1, which has no capture, differs in `xattr` alone: its table maps `on` to `dir`
/// rather than `sa`, so `sa` shows as itself and `dir` as `on` (2.1's `zfs_prop.c`).
pub(crate) fn display_value(name: &str, value: &str, version: ZfsVersion) -> String {
    match (version, name, value) {
        (ZfsVersion::V2_1, "xattr", "sa") => "sa".to_owned(),
        (ZfsVersion::V2_1, "xattr", "dir") => "on".to_owned(),
        _ => spelling(name, value).unwrap_or(value).to_owned(),
    }
}

/// The largest power of two `prop` takes: the table's (OpenZFS 2.3's), except that OpenZFS 2.1
/// caps recordsize at 1M and volblocksize at 128K (2.2 raised both to 16M).
fn max_power_of_two(prop: &Property, max: u64, version: ZfsVersion) -> u64 {
    match (prop.name, version) {
        ("recordsize", ZfsVersion::V2_1) => 1 << 20,
        ("volblocksize", ZfsVersion::V2_1) => 128 << 10,
        _ => max,
    }
}

/// Checks `value` for `prop` and returns it in the form that is stored (`-p` form), or the
/// error `zfs` prints after "cannot set property for 'X': " (the readback matrix's texts).
pub(crate) fn validate(
    prop: &Property,
    value: &str,
    version: ZfsVersion,
) -> Result<String, String> {
    if prop.kind == Kind::Stat {
        return Err(format!("'{}' is readonly", prop.name));
    }
    if UNCHECKED.contains(&prop.name) {
        return Ok(value.to_owned());
    }
    let name = prop.name;
    match prop.shape {
        Shape::Word { words, listed } => {
            if words.contains(&value) {
                Ok(value.to_owned())
            } else {
                Err(format!("'{name}' must be one of '{listed}'"))
            }
        }
        Shape::Size { zero } => {
            let bytes = if value == "none" {
                0
            } else {
                parse_size(value)?
            };
            match zero {
                Zero::Refused if bytes == 0 => Err(format!("'{name}' cannot be zero")),
                Zero::OnlyAsNone if bytes == 0 && value != "none" => {
                    Err("use 'none' to disable quota/refquota".to_owned())
                }
                _ => Ok(bytes.to_string()),
            }
        }
        Shape::PowerOfTwo { min, max, zero } => {
            let max = max_power_of_two(prop, max, version);
            let bytes = if zero && value == "none" {
                0
            } else {
                parse_size(value)?
            };
            if (zero && bytes == 0) || (bytes.is_power_of_two() && (min..=max).contains(&bytes)) {
                Ok(bytes.to_string())
            } else if zero {
                Err(format!(
                    "invalid '{name}={bytes}' property: must be zero or a power of 2 from {min}B to {}",
                    format_size(max)
                ))
            } else {
                Err(format!(
                    "'{name}' must be power of 2 from {min}B to {}",
                    format_size(max)
                ))
            }
        }
        Shape::Mountpoint => {
            // ZFS keeps the path as given, a trailing `/` included (the readback matrix).
            if value.starts_with('/') || value == "none" || value == "legacy" {
                Ok(value.to_owned())
            } else {
                Err(format!(
                    "'{name}' must be an absolute path, 'none', or 'legacy'"
                ))
            }
        }
        Shape::Text => Ok(value.to_owned()),
    }
}

/// The refreservation ZFS gives a non-sparse volume: its size plus room for the metadata that
/// addresses it (libzfs `zvol_volsize_to_reservation`, for one copy on a mirror or single disk).
/// It reproduces the captures: 64 MiB gives 71303168 with 8K blocks and 70254592 with 16K.
pub(crate) fn volume_reservation(volsize: u64, volblocksize: u64) -> u64 {
    const DNODES_PER_LEVEL: u64 = 1024;
    const INDIRECT_BLOCK: u64 = 128 << 10;
    let mut blocks = volsize / volblocksize.max(512);
    let mut indirect = 7_u64;
    while blocks > 1 {
        blocks = blocks.div_ceil(DNODES_PER_LEVEL);
        indirect += blocks;
    }
    // Metadata has two copies when data has one.
    volsize + indirect * 2 * INDIRECT_BLOCK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_match_the_captures() {
        assert_eq!(all_for(DatasetType::Filesystem, ZfsVersion::V2_1).len(), 72);
        assert_eq!(all_for(DatasetType::Filesystem, ZfsVersion::V2_3).len(), 75);
        assert_eq!(all_for(DatasetType::Volume, ZfsVersion::V2_1).len(), 44);
        assert_eq!(all_for(DatasetType::Volume, ZfsVersion::V2_3).len(), 46);
    }

    #[test]
    fn reservations_match_the_captures() {
        assert_eq!(volume_reservation(64 << 20, 8192), 71_303_168);
        assert_eq!(volume_reservation(64 << 20, 16384), 70_254_592);
    }

    #[test]
    fn recordsize_limits() {
        let prop = lookup("recordsize", ZfsVersion::V2_1).expect("known");
        assert_eq!(
            validate(prop, "3K", ZfsVersion::V2_1),
            Err("'recordsize' must be power of 2 from 512B to 1M".to_owned())
        );
        assert_eq!(
            validate(prop, "16M", ZfsVersion::V2_3),
            Ok("16777216".to_owned())
        );
        assert!(validate(prop, "16M", ZfsVersion::V2_1).is_err());
    }
}
