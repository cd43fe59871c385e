//! Proxmox size strings (`8G`, `512M`, `1.5T`, `4096`): pve-common `PVE::JSONSchema::parse_size`
//! and `format_size`, the one reader and writer of the `size=` of `rootfs`/`mpN` and of the sizes
//! `pct resize` takes.
//!
//! Reading: `^(\d+(\.\d+)?)([KMGT])?$`, the unit a power of 1024 and uppercase; no unit means
//! bytes (a conf written by hand may say `size=8589934592`). The result is truncated to whole
//! bytes. Writing: the largest unit that divides the size exactly.

/// A size as Proxmox writes it (`8G`, `512M`, `1.5T`, or bytes without a unit), in bytes;
/// `None` when it is not a size.
pub fn parse_size(text: &str) -> Option<u64> {
    let (number, unit) = match text.char_indices().last()? {
        (at, 'K') => (&text[..at], 1_u64 << 10),
        (at, 'M') => (&text[..at], 1 << 20),
        (at, 'G') => (&text[..at], 1 << 30),
        (at, 'T') => (&text[..at], 1 << 40),
        _ => (text, 1),
    };
    if !is_decimal(number) {
        return None;
    }
    match number.split_once('.') {
        None => number.parse::<u64>().ok()?.checked_mul(unit),
        Some((whole, fraction)) => {
            let whole = whole.parse::<u64>().ok()?.checked_mul(unit)?;
            let scale = 10_u64.checked_pow(u32::try_from(fraction.len()).ok()?)?;
            let fraction = fraction.parse::<u64>().ok()?.checked_mul(unit)? / scale;
            whole.checked_add(fraction)
        }
    }
}

/// Writes a size with the largest unit that divides it exactly (`format_size`): bytes, `K`,
/// `M`, `G` or `T`. Zero is `0T`, as in Proxmox.
pub fn format_size(bytes: u64) -> String {
    if !bytes.is_multiple_of(1024) {
        return bytes.to_string();
    }
    let kib = bytes / 1024;
    if !kib.is_multiple_of(1024) {
        return format!("{kib}K");
    }
    let mib = kib / 1024;
    if !mib.is_multiple_of(1024) {
        return format!("{mib}M");
    }
    let gib = mib / 1024;
    if !gib.is_multiple_of(1024) {
        return format!("{gib}G");
    }
    format!("{}T", gib / 1024)
}

/// A size in whole GiB, rounded up (`512M` is 1), for comparing with sizes a config gives in GiB.
pub fn parse_size_gib_ceil(text: &str) -> Option<u64> {
    parse_size(text).map(|bytes| bytes.div_ceil(1 << 30))
}

/// Whether `text` is `\d+(\.\d+)?`, a size's number or a new volume's GiB.
pub(crate) fn is_decimal(text: &str) -> bool {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("8G"), Some(8 << 30));
        assert_eq!(parse_size("1.5T"), Some(3 << 39));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("0.5G"), Some(512 << 20));
        assert_eq!(parse_size("G"), None);
        assert_eq!(parse_size("8g"), None);
        assert_eq!(format_size(8 << 30), "8G");
        assert_eq!(format_size(512 << 20), "512M");
        assert_eq!(format_size(1536 << 20), "1536M");
        assert_eq!(format_size(2 << 40), "2T");
        assert_eq!(format_size(1000), "1000");
        assert_eq!(format_size(0), "0T");
    }

    #[test]
    fn gib_round_up_and_a_bare_number_is_bytes() {
        assert_eq!(parse_size_gib_ceil("8589934592"), Some(8));
        assert_eq!(parse_size_gib_ceil("16G"), Some(16));
        assert_eq!(parse_size_gib_ceil("512M"), Some(1));
        assert_eq!(parse_size_gib_ceil("1T"), Some(1024));
        assert_eq!(parse_size_gib_ceil("16 G"), None);
    }
}
