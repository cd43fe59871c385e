//! ZFS size strings, both ways: what `zfs` reads (`zfs_nicestrtonum` of libzfs) and the short
//! form it prints for whole units. The one reader of the format, used by the provider (config
//! validation and semantic comparison) and by the `zfs` emulator (which prints its errors).

/// Parses a size as `zfs` does (`zfs_nicestrtonum`): a number with an optional fraction and an
/// optional binary suffix (B, K, M, G, T, P, E, optionally followed by `B` or `iB`). A fraction
/// is truncated after scaling, so `1.4G` is 1503238553.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    if number.is_empty() || number.matches('.').count() > 1 || number == "." {
        return Err(format!("bad numeric value '{text}'"));
    }
    let shift = match suffix.to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        "P" | "PB" | "PIB" => 50,
        "E" | "EB" | "EIB" => 60,
        _ => return Err(format!("invalid numeric suffix '{suffix}'")),
    };
    if number.contains('.') {
        let value: f64 = number
            .parse()
            .map_err(|_| format!("bad numeric value '{text}'"))?;
        let scaled =
            value * f64::from(1_u32 << (shift / 2)) * f64::from(1_u32 << (shift - shift / 2));
        if !scaled.is_finite() || scaled >= 18_446_744_073_709_551_615.0 {
            return Err("numeric value is too large".to_owned());
        }
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "zfs_nicestrtonum truncates the scaled fraction the same way"
        )]
        let bytes = scaled as u64;
        Ok(bytes)
    } else {
        let value: u64 = number
            .parse()
            .map_err(|_| format!("bad numeric value '{text}'"))?;
        value
            .checked_mul(1_u64 << shift)
            .ok_or_else(|| "numeric value is too large".to_owned())
    }
}

/// Formats bytes the short way ZFS does for whole units (`131072` → `128K`), else as bytes.
pub fn format_size(bytes: u64) -> String {
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
        if bytes >= unit && bytes.is_multiple_of(unit) {
            return format!("{}{suffix}", bytes >> shift);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1.4G"), Ok(1_503_238_553));
        assert_eq!(parse_size("128K"), Ok(131_072));
        assert_eq!(parse_size("800M"), Ok(838_860_800));
        assert_eq!(parse_size("8G"), Ok(8_589_934_592));
        assert_eq!(parse_size("512"), Ok(512));
        assert!(parse_size("abc").is_err());
        assert!(parse_size("3Q").is_err());
    }

    #[test]
    fn suffixes_and_limits_follow_zfs() {
        assert_eq!(parse_size("16KiB"), Ok(16_384));
        assert_eq!(parse_size("16kb"), Ok(16_384));
        assert_eq!(parse_size("1.5B"), Ok(1));
        assert_eq!(
            parse_size("16E"),
            Err("numeric value is too large".to_owned())
        );
        assert_eq!(parse_size("."), Err("bad numeric value '.'".to_owned()));
        assert_eq!(format_size(131_072), "128K");
        assert_eq!(format_size(1_503_238_553), "1503238553");
        assert_eq!(format_size(0), "none");
    }
}
