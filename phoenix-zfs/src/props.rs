//! ZFS dataset properties: the one table of what OpenZFS lists and Phoenix manages, how Phoenix
//! validates a desired value, and how an observed value is compared with a desired one
//! (semantically: `128K` = `131072`).
//!
//! The table is also the `zfs` emulator's (`sim::dataset_props`): the order of `zfs get all`, the
//! types a property applies to, whether it is read-only, set once or inherited, and its default
//! come from the real captures (`fixtures/zfs*/zfs-get-Hp-all.*`). The `listed` texts are
//! OpenZFS's own lists, which its "must be one of" errors print (the `compression` one is in
//! `fixtures/zfs*/zfs-set.bad-compression.txt`; the others are from OpenZFS's property table and
//! were not captured).
//!
//! What real ZFS reads back for each value it is given (`xattr=sa` reads `on`) is the readback
//! matrix (`readback`), captured on the testbed; the comparison and the emulator take the real
//! spellings from it.

mod readback;

#[cfg(test)]
pub(crate) use readback::Row;
pub(crate) use readback::spelling;
#[cfg(any(test, feature = "sim"))]
pub(crate) use readback::{Scope, rows};

#[cfg(test)]
mod matrix_tests;

/// How a property's values look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A size in bytes with optional suffix (K, M, G, T, P, E; powers of 1024); `zero` says
    /// whether and how it may be 0.
    Size { zero: Zero },
    /// A power of two between two sizes; with `zero`, also 0 (spelled `0` or `none`).
    PowerOfTwo { min: u64, max: u64, zero: bool },
    /// One of a fixed set of words, in the order Phoenix's errors list them; `listed` is the list
    /// OpenZFS's own errors print.
    Word {
        words: &'static [&'static str],
        listed: &'static str,
    },
    /// A mountpoint: an absolute path, `none` or `legacy`.
    Mountpoint,
    /// Free text (validated by ZFS itself).
    Text,
}

/// Whether a size may be 0, as real ZFS decides (the readback matrix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Zero {
    /// `none` and `0` are both 0 (`reservation`).
    Allowed,
    /// Only `none` turns it off; a 0 spelled otherwise is refused (`quota`: "use 'none' to
    /// disable quota/refquota").
    OnlyAsNone,
    /// Never 0 (`volsize`: "'volsize' cannot be zero").
    Refused,
}

/// Which dataset types a property applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Applies {
    Filesystem,
    Volume,
    Both,
}

/// Whether and when a property can be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Computed by ZFS; source `-`; cannot be set.
    Stat,
    /// Fixed when the dataset is created (`-o` at create time); shown with source `-` (or
    /// `default`/`local` for `volblocksize`); `zfs set` says it is read-only.
    CreateOnly,
    /// Settable with `zfs set`; `inherit` when children inherit it.
    Settable { inherit: bool },
}

/// What Phoenix knows about one property.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(
    not(feature = "sim"),
    expect(
        dead_code,
        reason = "only the zfs emulator reads `applies` and the defaults"
    )
)]
pub(crate) struct Property {
    pub(crate) name: &'static str,
    pub(crate) applies: Applies,
    pub(crate) kind: Kind,
    /// The values it takes (a statistic's are never checked: it cannot be set).
    pub(crate) shape: Shape,
    /// Phoenix manages it: the config may set it.
    pub(crate) managed: bool,
    /// The default value in `-p` form (`-` for none), up to OpenZFS 2.2.
    pub(crate) default: &'static str,
    /// The default value from OpenZFS 2.3.
    pub(crate) default_2_3: &'static str,
}

impl Property {
    /// Settable only when the dataset is created.
    pub(crate) fn create_only(&self) -> bool {
        self.kind == Kind::CreateOnly
    }

    const fn new(name: &'static str, applies: Applies, kind: Kind, shape: Shape) -> Self {
        Self {
            name,
            applies,
            kind,
            shape,
            managed: false,
            default: "-",
            default_2_3: "-",
        }
    }

    const fn managed(mut self) -> Self {
        self.managed = true;
        self
    }

    /// Sets the default of every version.
    const fn default(mut self, value: &'static str) -> Self {
        self.default = value;
        self.default_2_3 = value;
        self
    }

    /// Sets the default from OpenZFS 2.3.
    const fn default_2_3(mut self, value: &'static str) -> Self {
        self.default_2_3 = value;
        self
    }
}

const fn stat(name: &'static str, applies: Applies) -> Property {
    Property::new(name, applies, Kind::Stat, Shape::Text)
}

const fn inherit(name: &'static str, applies: Applies, shape: Shape) -> Property {
    Property::new(name, applies, Kind::Settable { inherit: true }, shape)
}

const fn local(name: &'static str, applies: Applies, shape: Shape) -> Property {
    Property::new(name, applies, Kind::Settable { inherit: false }, shape)
}

const fn create(name: &'static str, applies: Applies, shape: Shape) -> Property {
    Property::new(name, applies, Kind::CreateOnly, shape)
}

const fn word(words: &'static [&'static str], listed: &'static str) -> Shape {
    Shape::Word { words, listed }
}

const ON_OFF: Shape = word(&["on", "off"], "on | off");
const SIZE_OR_NONE: Shape = Shape::Size {
    zero: Zero::Allowed,
};
const QUOTA: Shape = Shape::Size {
    zero: Zero::OnlyAsNone,
};

/// Compression values OpenZFS 2.x accepts (see `zfs set compression=brotli` in the fixtures).
pub(crate) const COMPRESSION: &[&str] = &[
    "on",
    "off",
    "lzjb",
    "gzip",
    "gzip-1",
    "gzip-2",
    "gzip-3",
    "gzip-4",
    "gzip-5",
    "gzip-6",
    "gzip-7",
    "gzip-8",
    "gzip-9",
    "zle",
    "lz4",
    "zstd",
    "zstd-1",
    "zstd-2",
    "zstd-3",
    "zstd-4",
    "zstd-5",
    "zstd-6",
    "zstd-7",
    "zstd-8",
    "zstd-9",
    "zstd-10",
    "zstd-11",
    "zstd-12",
    "zstd-13",
    "zstd-14",
    "zstd-15",
    "zstd-16",
    "zstd-17",
    "zstd-18",
    "zstd-19",
    "zstd-fast",
    "zstd-fast-1",
    "zstd-fast-2",
    "zstd-fast-3",
    "zstd-fast-4",
    "zstd-fast-5",
    "zstd-fast-6",
    "zstd-fast-7",
    "zstd-fast-8",
    "zstd-fast-9",
    "zstd-fast-10",
    "zstd-fast-20",
    "zstd-fast-30",
    "zstd-fast-40",
    "zstd-fast-50",
    "zstd-fast-60",
    "zstd-fast-70",
    "zstd-fast-80",
    "zstd-fast-90",
    "zstd-fast-100",
    "zstd-fast-500",
    "zstd-fast-1000",
];
const COMPRESSION_LISTED: &str = "on | off | lzjb | gzip | gzip-[1-9] | zle | lz4 | zstd | zstd-[1-19] | zstd-fast | zstd-fast-[1-10,20,30,40,50,60,70,80,90,100,500,1000]";

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// `filesystem_limit` and friends: "none" is shown as the largest u64 up to OpenZFS 2.2.
const NO_LIMIT: &str = "18446744073709551615";

use Applies::{Both, Filesystem as Fs, Volume as Vol};

/// Every dataset property in `zfs get all` order for a filesystem (OpenZFS 2.1; 2.3 appends
/// [`PROPERTIES_2_3`]), with volume-only ones where a volume lists them.
pub(crate) const PROPERTIES: &[Property] = &[
    stat("type", Both),
    stat("creation", Both),
    stat("used", Both),
    stat("available", Both),
    stat("referenced", Both),
    stat("compressratio", Both),
    stat("mounted", Fs),
    local("quota", Fs, QUOTA).managed().default("0"),
    local("reservation", Both, SIZE_OR_NONE)
        .managed()
        .default("0"),
    local(
        "volsize",
        Vol,
        Shape::Size {
            zero: Zero::Refused,
        },
    )
    .managed(),
    // The maximum is OpenZFS 2.3's; 2.1 caps volblocksize at 128K (the emulator knows).
    create(
        "volblocksize",
        Vol,
        Shape::PowerOfTwo {
            min: 512,
            max: 16 * MIB,
            zero: false,
        },
    )
    .managed()
    .default("8192")
    .default_2_3("16384"),
    // The maximum is OpenZFS 2.3's; 2.1 caps recordsize at 1M (the emulator knows).
    inherit(
        "recordsize",
        Fs,
        Shape::PowerOfTwo {
            min: 512,
            max: 16 * MIB,
            zero: false,
        },
    )
    .managed()
    .default("131072"),
    inherit("mountpoint", Fs, Shape::Mountpoint).managed(),
    inherit("sharenfs", Fs, Shape::Text).default("off"),
    inherit(
        "checksum",
        Both,
        word(
            &[
                "on",
                "off",
                "fletcher2",
                "fletcher4",
                "sha256",
                "noparity",
                "sha512",
                "skein",
                "edonr",
                "blake3",
            ],
            "on | off | fletcher2 | fletcher4 | sha256 | sha512 | skein | edonr | blake3",
        ),
    )
    .managed()
    .default("on"),
    // OpenZFS 2.2 made compression=on the default (openzfs/zfs#13078).
    inherit("compression", Both, word(COMPRESSION, COMPRESSION_LISTED))
        .managed()
        .default("off")
        .default_2_3("on"),
    inherit("atime", Fs, ON_OFF).managed().default("on"),
    inherit("devices", Fs, ON_OFF).managed().default("on"),
    inherit("exec", Fs, ON_OFF).managed().default("on"),
    inherit("setuid", Fs, ON_OFF).managed().default("on"),
    inherit("readonly", Both, ON_OFF).managed().default("off"),
    inherit("zoned", Fs, ON_OFF).default("off"),
    inherit("snapdir", Fs, word(&["hidden", "visible"], "hidden | visible"))
        .managed()
        .default("hidden"),
    inherit(
        "aclmode",
        Fs,
        word(
            &["discard", "groupmask", "passthrough", "restricted"],
            "discard | groupmask | passthrough | restricted",
        ),
    )
    .default("discard"),
    inherit(
        "aclinherit",
        Fs,
        word(
            &[
                "discard",
                "noallow",
                "restricted",
                "passthrough",
                "passthrough-x",
            ],
            "discard | noallow | restricted | passthrough | passthrough-x",
        ),
    )
    .default("restricted"),
    stat("createtxg", Both),
    local("canmount", Fs, word(&["on", "off", "noauto"], "on | off | noauto"))
        .managed()
        .default("on"),
    inherit("xattr", Fs, word(&["on", "off", "sa", "dir"], "on | off | dir | sa"))
        .managed()
        .default("on"),
    inherit("copies", Both, word(&["1", "2", "3"], "1 | 2 | 3"))
        .managed()
        .default("1"),
    stat("version", Fs),
    create("utf8only", Fs, ON_OFF).managed().default("off"),
    create(
        "normalization",
        Fs,
        word(
            &["none", "formC", "formD", "formKC", "formKD"],
            "none | formC | formD | formKC | formKD",
        ),
    )
    .managed()
    .default("none"),
    create(
        "casesensitivity",
        Fs,
        word(
            &["sensitive", "insensitive", "mixed"],
            "sensitive | insensitive | mixed",
        ),
    )
    .managed()
    .default("sensitive"),
    inherit("vscan", Fs, ON_OFF).default("off"),
    inherit("nbmand", Fs, ON_OFF).default("off"),
    inherit("sharesmb", Fs, Shape::Text).default("off"),
    local("refquota", Fs, QUOTA).managed().default("0"),
    local("refreservation", Both, SIZE_OR_NONE)
        .managed()
        .default("0"),
    stat("guid", Both),
    inherit(
        "primarycache",
        Both,
        word(&["all", "none", "metadata"], "all | none | metadata"),
    )
    .managed()
    .default("all"),
    inherit(
        "secondarycache",
        Both,
        word(&["all", "none", "metadata"], "all | none | metadata"),
    )
    .managed()
    .default("all"),
    stat("usedbysnapshots", Both),
    stat("usedbydataset", Both),
    stat("usedbychildren", Both),
    stat("usedbyrefreservation", Both),
    inherit(
        "logbias",
        Both,
        word(&["latency", "throughput"], "latency | throughput"),
    )
    .managed()
    .default("latency"),
    stat("objsetid", Both),
    inherit(
        "dedup",
        Both,
        word(
            &[
                "on",
                "off",
                "verify",
                "sha256",
                "sha256,verify",
                "sha512",
                "sha512,verify",
                "skein",
                "skein,verify",
                "edonr,verify",
                "blake3",
                "blake3,verify",
            ],
            "on | off | verify | sha256[,verify] | sha512[,verify] | skein[,verify] | edonr,verify | blake3[,verify]",
        ),
    )
    .managed()
    .default("off"),
    inherit("mlslabel", Both, Shape::Text).default("none"),
    inherit(
        "sync",
        Both,
        word(
            &["standard", "always", "disabled"],
            "standard | always | disabled",
        ),
    )
    .managed()
    .default("standard"),
    inherit(
        "dnodesize",
        Fs,
        word(
            &["legacy", "auto", "1k", "2k", "4k", "8k", "16k"],
            "legacy | auto | 1k | 2k | 4k | 8k | 16k",
        ),
    )
    .managed()
    .default("legacy"),
    stat("refcompressratio", Both),
    stat("written", Both),
    stat("logicalused", Both),
    stat("logicalreferenced", Both),
    inherit(
        "volmode",
        Both,
        word(
            &["default", "full", "geom", "dev", "none"],
            "default | full | geom | dev | none",
        ),
    )
    .default("default"),
    local("filesystem_limit", Fs, SIZE_OR_NONE)
        .default(NO_LIMIT)
        .default_2_3("none"),
    local("snapshot_limit", Both, SIZE_OR_NONE)
        .default(NO_LIMIT)
        .default_2_3("none"),
    stat("filesystem_count", Fs)
        .default(NO_LIMIT)
        .default_2_3("none"),
    stat("snapshot_count", Both)
        .default(NO_LIMIT)
        .default_2_3("none"),
    inherit("snapdev", Both, word(&["hidden", "visible"], "hidden | visible"))
        .default("hidden"),
    inherit(
        "acltype",
        Fs,
        word(
            &["off", "noacl", "disabled", "nfsv4", "posix", "posixacl"],
            "off | nfsv4 | posix",
        ),
    )
    .managed()
    .default("off"),
    inherit("context", Both, Shape::Text).default("none"),
    inherit("fscontext", Both, Shape::Text).default("none"),
    inherit("defcontext", Both, Shape::Text).default("none"),
    inherit("rootcontext", Both, Shape::Text).default("none"),
    inherit("relatime", Fs, ON_OFF)
        .managed()
        .default("off")
        .default_2_3("on"),
    inherit(
        "redundant_metadata",
        Both,
        word(&["all", "most", "some", "none"], "all | most | some | none"),
    )
    .managed()
    .default("all"),
    inherit("overlay", Fs, ON_OFF).default("on"),
    create(
        "encryption",
        Both,
        word(
            &[
                "off",
                "on",
                "aes-128-ccm",
                "aes-192-ccm",
                "aes-256-ccm",
                "aes-128-gcm",
                "aes-192-gcm",
                "aes-256-gcm",
            ],
            "on | off | aes-128-ccm | aes-192-ccm | aes-256-ccm | aes-128-gcm | aes-192-gcm | aes-256-gcm",
        ),
    )
    .managed()
    .default("off"),
    local("keylocation", Both, Shape::Text).default("none"),
    create("keyformat", Both, Shape::Text).default("none"),
    create("pbkdf2iters", Both, Shape::Text).default("0"),
    inherit(
        "special_small_blocks",
        Fs,
        Shape::PowerOfTwo {
            min: 512,
            max: 16 * MIB,
            zero: true,
        },
    )
    .managed()
    .default("0"),
];

/// Properties OpenZFS 2.3 appends to `zfs get all`.
#[cfg(feature = "sim")]
pub(crate) const PROPERTIES_2_3: &[Property] = &[
    inherit(
        "prefetch",
        Both,
        word(&["none", "metadata", "all"], "none | metadata | all"),
    )
    .default("all"),
    inherit("volthreading", Vol, ON_OFF).default("on"),
    inherit(
        "direct",
        Fs,
        word(
            &["disabled", "standard", "always"],
            "disabled | standard | always",
        ),
    )
    .default("standard"),
    inherit("longname", Fs, ON_OFF).default("off"),
];

/// The properties Phoenix manages on datasets. (`comment` is a pool property in OpenZFS, not a
/// dataset one, so a dataset `comment=...` is refused at validation rather than failing at apply.)
pub(crate) fn managed() -> impl Iterator<Item = &'static Property> {
    PROPERTIES.iter().filter(|p| p.managed)
}

/// Looks a property up by name (case-insensitively, as ZFS names are lowercase).
pub(crate) fn lookup(name: &str) -> Option<&'static Property> {
    managed().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// Every property name, for did-you-mean suggestions.
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    managed().map(|p| p.name)
}

/// Parses a size as `zfs` does (`crate::parse::parse_size`, the one reader of ZFS sizes, shared
/// with the `zfs` emulator), with `none` as 0 (for `quota` and `reservation`).
pub(crate) fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("none") {
        return Some(0);
    }
    crate::parse::parse_size(text).ok()
}

pub(crate) use crate::parse::format_size;

/// Checks a desired value as real ZFS would (the readback matrix records what it takes); the
/// error says what is expected.
pub(crate) fn validate(property: &Property, value: &str) -> Result<(), String> {
    let name = property.name;
    match property.shape {
        Shape::Size { zero } => match (size_value(value), zero) {
            (None, _) => Err(format!(
                "{name} must be a size such as 800G, 1.4T or 131072{}; found {value:?}",
                if zero == Zero::Refused {
                    ""
                } else {
                    ", or none"
                }
            )),
            (Some(0), Zero::Refused) => Err(format!(
                "{name} cannot be zero (ZFS refuses it); found {value:?}"
            )),
            (Some(0), Zero::OnlyAsNone) if value != "none" => Err(format!(
                "{name} is turned off with none, not {value:?} (ZFS refuses a zero {name})"
            )),
            _ => Ok(()),
        },
        Shape::PowerOfTwo { min, max, zero } => match size_value(value) {
            Some(0) if zero => Ok(()),
            Some(bytes) if bytes.is_power_of_two() && (min..=max).contains(&bytes) => Ok(()),
            _ => Err(format!(
                "{name} must be {}a power of two from {} to {}; found {value:?}",
                if zero { "0 (or none) or " } else { "" },
                format_size(min),
                format_size(max)
            )),
        },
        Shape::Word { .. } if name == "encryption" && value != "off" => Err(format!(
            "encryption can only be off: Phoenix does not manage encryption keys (keyformat, \
             keylocation), and ZFS refuses a new encryption root without them; create the \
             encrypted dataset by hand (its children inherit encryption); found {value:?}"
        )),
        Shape::Word { words, .. } => check_word(name, words, value),
        Shape::Mountpoint => {
            if value.starts_with('/') || value == "none" || value == "legacy" {
                Ok(())
            } else {
                Err(format!(
                    "mountpoint must be an absolute path, none or legacy; found {value:?}"
                ))
            }
        }
        Shape::Text => Ok(()),
    }
}

/// A size as ZFS reads a property value: `none` (exactly so) is 0.
fn size_value(value: &str) -> Option<u64> {
    if value == "none" {
        Some(0)
    } else if value.eq_ignore_ascii_case("none") {
        None
    } else {
        parse_size(value)
    }
}

/// ZFS matches words exactly: `LZ4` is refused, so Phoenix refuses it too and says which
/// spelling ZFS takes.
fn check_word(name: &str, words: &[&str], value: &str) -> Result<(), String> {
    if words.contains(&value) {
        return Ok(());
    }
    let lower = value.to_ascii_lowercase();
    if let Some(word) = words.iter().find(|w| w.eq_ignore_ascii_case(&lower)) {
        return Err(format!(
            "{name} values are case-sensitive in ZFS: did you mean {word:?}? found {value:?}"
        ));
    }
    let shown = if words.len() > 12 {
        format!(
            "{} ... (the values OpenZFS accepts)",
            words[..12].join(", ")
        )
    } else {
        words.join(", ")
    };
    Err(format!("{name} must be one of {shown}; found {value:?}"))
}

/// Checks the properties of one dataset together, for what ZFS refuses in combination:
/// a `volsize` must be a multiple of the volume's block size (`volblocksize`, 16K unless set;
/// "'volsize' must be a multiple of volume block size"). Returns the property to blame and the
/// message.
pub(crate) fn check_together(properties: &[(String, String)]) -> Vec<(String, String)> {
    let get = |name: &str| {
        properties
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let mut problems = Vec::new();
    if let Some(volsize) = get("volsize") {
        let block = get("volblocksize").and_then(parse_size).unwrap_or(16 * KIB);
        if let Some(bytes) = parse_size(volsize)
            && block != 0
            && bytes % block != 0
        {
            problems.push((
                "volsize".to_owned(),
                format!(
                    "volsize must be a multiple of the volume block size {} (volblocksize, \
                     16K unless set), as ZFS requires; found {volsize:?}",
                    format_size(block)
                ),
            ));
        }
    }
    problems
}

/// The comparable form of a value: sizes as bytes, words in the spelling real ZFS reads them
/// back as (the readback matrix: `xattr=sa` is `on`, `compression=gzip-6` is `gzip`),
/// `compression=on` as `lz4` (what `on` selects on every pool with the lz4_compress feature,
/// which OpenZFS enables by default since 0.7).
pub(crate) fn canonical(property: &Property, value: &str) -> String {
    match property.shape {
        Shape::Size { .. } | Shape::PowerOfTwo { .. } => {
            parse_size(value).map_or_else(|| value.to_owned(), |bytes| bytes.to_string())
        }
        Shape::Word { .. } => {
            let spelled = spelling(property.name, value).unwrap_or(value);
            if property.name == "compression" && spelled == "on" {
                "lz4".to_owned()
            } else {
                spelled.to_owned()
            }
        }
        Shape::Mountpoint | Shape::Text => value.to_owned(),
    }
}

/// Whether an observed value (as `zfs get -p` prints it) already satisfies the desired one.
pub(crate) fn satisfied(property: &Property, observed: &str, desired: &str) -> bool {
    canonical(property, observed) == canonical(property, desired)
}

/// A value for display: sizes the short ZFS way, others as they are.
pub(crate) fn display(property: &Property, value: &str) -> String {
    match property.shape {
        Shape::Size { .. } | Shape::PowerOfTwo { .. } if value != "-" => {
            parse_size(value).map_or_else(|| value.to_owned(), format_size)
        }
        _ => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prop(name: &str) -> &'static Property {
        lookup(name).expect("known property")
    }

    #[test]
    fn sizes_parse_like_zfs() {
        assert_eq!(parse_size("128K"), Some(131_072));
        assert_eq!(parse_size("131072"), Some(131_072));
        assert_eq!(parse_size("800G"), Some(858_993_459_200));
        // zfs turns quota=1.4G into 1503238553 (the fixtures), truncating the fraction.
        assert_eq!(parse_size("1.4G"), Some(1_503_238_553));
        assert_eq!(parse_size("1.4T"), Some(1_539_316_278_886));
        assert_eq!(parse_size("none"), Some(0));
        assert_eq!(parse_size("16k"), Some(16_384));
        assert_eq!(parse_size("1M"), Some(1_048_576));
        assert_eq!(parse_size("12X"), None);
        assert_eq!(parse_size(""), None);
        assert_eq!(parse_size("1.2.3G"), None);
    }

    /// The provider validated sizes with a parser of its own that refused `800GiB` and `1.5B`,
    /// which `zfs` (and its emulator) take; now both read sizes with `parse::parse_size`.
    #[test]
    fn issue_8_the_provider_reads_sizes_as_zfs_does() {
        for size in ["800GiB", "800gb", "1.5B", "1.4G", ".5M"] {
            assert_eq!(
                validate(prop("quota"), size),
                Ok(()),
                "{size} is a size to zfs"
            );
            assert_eq!(
                parse_size(size),
                crate::parse::parse_size(size).ok(),
                "{size}"
            );
        }
        assert!(satisfied(prop("quota"), "858993459200", "800GiB"));
    }

    #[test]
    fn comparison_is_semantic() {
        assert!(satisfied(prop("recordsize"), "131072", "128K"));
        assert!(satisfied(prop("quota"), "1503238553", "1.4G"));
        assert!(satisfied(prop("quota"), "0", "none"));
        assert!(satisfied(prop("compression"), "on", "lz4"));
        assert!(!satisfied(prop("compression"), "zstd", "lz4"));
        assert!(!satisfied(prop("recordsize"), "16384", "128K"));
        assert!(!satisfied(prop("mountpoint"), "/a", "/b"));
    }

    #[test]
    fn validation_names_what_is_expected() {
        assert!(validate(prop("recordsize"), "128K").is_ok());
        assert!(validate(prop("recordsize"), "16M").is_ok());
        assert_eq!(
            validate(prop("recordsize"), "3K").expect_err("not a power of two"),
            "recordsize must be a power of two from 512 to 16M; found \"3K\""
        );
        assert!(validate(prop("recordsize"), "32M").is_err());
        assert!(validate(prop("compression"), "brotli").is_err());
        assert!(validate(prop("compression"), "zstd-19").is_ok());
        assert!(validate(prop("sync"), "sometimes").is_err());
        assert!(validate(prop("quota"), "none").is_ok());
        assert!(validate(prop("quota"), "lots").is_err());
    }

    #[test]
    fn display_is_short() {
        assert_eq!(display(prop("quota"), "858993459200"), "800G");
        assert_eq!(display(prop("quota"), "1503238553"), "1503238553");
        assert_eq!(display(prop("quota"), "0"), "none");
        assert_eq!(display(prop("recordsize"), "131072"), "128K");
    }
}
