//! ZFS properties: which ones Phoenix accepts, how their values are validated, and how an
//! observed value is compared with a desired one (semantically: `128K` = `131072`).

/// How a property's values look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A size in bytes with optional suffix (K, M, G, T, P, E; powers of 1024), or `none`.
    Size,
    /// A power of two between two sizes.
    PowerOfTwo { min: u64, max: u64 },
    /// One of a fixed set of words.
    Word(&'static [&'static str]),
    /// A mountpoint: an absolute path, `none` or `legacy`.
    Mountpoint,
    /// Free text (validated by ZFS itself).
    Text,
}

/// What Phoenix knows about one property.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Property {
    pub(crate) name: &'static str,
    pub(crate) shape: Shape,
    /// Settable only when the dataset is created.
    pub(crate) create_only: bool,
    /// Applies to filesystems (as opposed to volumes).
    pub(crate) filesystem: bool,
}

const ON_OFF: &[&str] = &["on", "off"];

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

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

const fn p(name: &'static str, shape: Shape) -> Property {
    Property {
        name,
        shape,
        create_only: false,
        filesystem: true,
    }
}

const fn create_only(mut property: Property) -> Property {
    property.create_only = true;
    property
}

const fn volume(mut property: Property) -> Property {
    property.filesystem = false;
    property
}

/// The properties Phoenix manages on datasets, in the order plans show them.
pub(crate) const PROPERTIES: &[Property] = &[
    p(
        "recordsize",
        Shape::PowerOfTwo {
            min: 512,
            max: 16 * MIB,
        },
    ),
    p("compression", Shape::Word(COMPRESSION)),
    p("sync", Shape::Word(&["standard", "always", "disabled"])),
    p("quota", Shape::Size),
    p("refquota", Shape::Size),
    p("reservation", Shape::Size),
    p("refreservation", Shape::Size),
    p("atime", Shape::Word(ON_OFF)),
    p("relatime", Shape::Word(ON_OFF)),
    p("mountpoint", Shape::Mountpoint),
    p("canmount", Shape::Word(&["on", "off", "noauto"])),
    p("xattr", Shape::Word(&["on", "off", "sa", "dir"])),
    p(
        "acltype",
        Shape::Word(&["off", "noacl", "nfsv4", "posix", "posixacl"]),
    ),
    p(
        "dnodesize",
        Shape::Word(&["legacy", "auto", "1k", "2k", "4k", "8k", "16k"]),
    ),
    p("logbias", Shape::Word(&["latency", "throughput"])),
    p("primarycache", Shape::Word(&["all", "none", "metadata"])),
    p("secondarycache", Shape::Word(&["all", "none", "metadata"])),
    p(
        "redundant_metadata",
        Shape::Word(&["all", "most", "some", "none"]),
    ),
    p("snapdir", Shape::Word(&["hidden", "visible"])),
    p("exec", Shape::Word(ON_OFF)),
    p("setuid", Shape::Word(ON_OFF)),
    p("devices", Shape::Word(ON_OFF)),
    p("readonly", Shape::Word(ON_OFF)),
    p(
        "dedup",
        Shape::Word(&[
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
        ]),
    ),
    p(
        "checksum",
        Shape::Word(&[
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
        ]),
    ),
    p("copies", Shape::Word(&["1", "2", "3"])),
    p("special_small_blocks", Shape::Size),
    volume(p("volsize", Shape::Size)),
    volume(create_only(p(
        "volblocksize",
        Shape::PowerOfTwo {
            min: 512,
            max: 128 * KIB,
        },
    ))),
    create_only(p(
        "encryption",
        Shape::Word(&[
            "off",
            "on",
            "aes-128-ccm",
            "aes-192-ccm",
            "aes-256-ccm",
            "aes-128-gcm",
            "aes-192-gcm",
            "aes-256-gcm",
        ]),
    )),
    create_only(p(
        "casesensitivity",
        Shape::Word(&["sensitive", "insensitive", "mixed"]),
    )),
    create_only(p("utf8only", Shape::Word(ON_OFF))),
    create_only(p(
        "normalization",
        Shape::Word(&["none", "formC", "formD", "formKC", "formKD"]),
    )),
    p("comment", Shape::Text),
];

/// Looks a property up by name (case-insensitively, as ZFS names are lowercase).
pub(crate) fn lookup(name: &str) -> Option<&'static Property> {
    PROPERTIES
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
}

/// Every property name, for did-you-mean suggestions.
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    PROPERTIES.iter().map(|p| p.name)
}

/// Parses a ZFS size (`800G`, `1.4T`, `131072`, `16K`, `1.5M`) into bytes, as `zfs` does:
/// suffixes are powers of 1024 and fractions are truncated. `none` is 0.
pub(crate) fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("none") {
        return Some(0);
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    if number.is_empty() || number.matches('.').count() > 1 {
        return None;
    }
    let shift = match suffix.to_ascii_uppercase().trim_end_matches('B') {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        "P" => 50,
        "E" => 60,
        _ => return None,
    };
    if suffix.eq_ignore_ascii_case("b") && number.contains('.') {
        return None;
    }
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut bytes = whole.checked_shl(shift)?;
    if whole != 0 && bytes >> shift != whole {
        return None;
    }
    if !fraction.is_empty() {
        // Exact decimal arithmetic: fraction / 10^len * 2^shift, truncated.
        let digits: u128 = fraction.parse().ok()?;
        let scale = 10u128.checked_pow(u32::try_from(fraction.len()).ok()?)?;
        let extra = (digits << shift) / scale;
        bytes = bytes.checked_add(u64::try_from(extra).ok()?)?;
    }
    Some(bytes)
}

/// Formats bytes the short way ZFS does for whole units (`131072` → `128K`), else as bytes.
pub(crate) fn format_size(bytes: u64) -> String {
    if bytes == 0 {
        return "none".to_owned();
    }
    for (shift, suffix) in [
        (60, "E"),
        (50, "P"),
        (40, "T"),
        (30, "G"),
        (20, "M"),
        (10, "K"),
    ] {
        let unit = 1u64 << shift;
        if bytes >= unit && bytes % unit == 0 {
            return format!("{}{suffix}", bytes >> shift);
        }
    }
    bytes.to_string()
}

/// Checks a desired value; the error says what is expected.
pub(crate) fn validate(property: &Property, value: &str) -> Result<(), String> {
    match property.shape {
        Shape::Size => parse_size(value).map(|_| ()).ok_or_else(|| {
            format!(
                "{} must be a size such as 800G, 1.4T or 131072, or none; found {value:?}",
                property.name
            )
        }),
        Shape::PowerOfTwo { min, max } => match parse_size(value) {
            Some(bytes) if bytes.is_power_of_two() && (min..=max).contains(&bytes) => Ok(()),
            _ => Err(format!(
                "{} must be a power of two from {} to {}; found {value:?}",
                property.name,
                format_size(min),
                format_size(max)
            )),
        },
        Shape::Word(words) => {
            if words.iter().any(|w| w.eq_ignore_ascii_case(value)) {
                Ok(())
            } else {
                let shown = if words.len() > 12 {
                    format!(
                        "{} ... (the values OpenZFS accepts)",
                        words[..12].join(", ")
                    )
                } else {
                    words.join(", ")
                };
                Err(format!(
                    "{} must be one of {shown}; found {value:?}",
                    property.name
                ))
            }
        }
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

/// The comparable form of a value: sizes as bytes, words lowercased, `compression=on` as `lz4`
/// (what `on` selects on every pool with the lz4_compress feature, which OpenZFS enables by
/// default since 0.7).
pub(crate) fn canonical(property: &Property, value: &str) -> String {
    match property.shape {
        Shape::Size | Shape::PowerOfTwo { .. } => {
            parse_size(value).map_or_else(|| value.to_owned(), |bytes| bytes.to_string())
        }
        Shape::Word(_) => {
            let lower = value.to_ascii_lowercase();
            if property.name == "compression" && lower == "on" {
                "lz4".to_owned()
            } else {
                lower
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
        Shape::Size | Shape::PowerOfTwo { .. } if value != "-" => {
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

    #[test]
    fn comparison_is_semantic() {
        assert!(satisfied(prop("recordsize"), "131072", "128K"));
        assert!(satisfied(prop("quota"), "1503238553", "1.4G"));
        assert!(satisfied(prop("quota"), "0", "none"));
        assert!(satisfied(prop("compression"), "on", "lz4"));
        assert!(satisfied(prop("compression"), "lz4", "LZ4"));
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
