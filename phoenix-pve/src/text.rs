//! Proxmox's description encoding: `encode_text` and `decode_text` of pve-common `PVE::Tools`.
//!
//! A container's description is stored as `#` lines in `/etc/pve/lxc/<vmid>.conf` and printed on
//! one `description:` line by `pct config`; both use this percent-encoding
//! (`fixtures/proxmox/SOURCES.md` §2, writer rule 3).

/// Percent-encodes every byte that is not in 0x20-0x24, 0x26-0x39 or 0x3B-0x7E, with uppercase
/// hex: control characters (`\n` is `%0A`), `%`, `:` and every byte of non-ASCII text.
pub fn encode_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        let safe = matches!(byte, 0x20..=0x24 | 0x26..=0x39 | 0x3B..=0x7E);
        if safe {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Decodes `%XX` sequences (either case), then reads the bytes as UTF-8. Like Perl's
/// `Encode::decode("utf8", ...)`, invalid UTF-8 becomes U+FFFD rather than an error.
pub fn decode_text(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%'
            && at + 2 < bytes.len()
            && bytes[at + 1].is_ascii_hexdigit()
            && bytes[at + 2].is_ascii_hexdigit()
        {
            out.push(hex_value(bytes[at + 1]) * 16 + hex_value(bytes[at + 2]));
            at += 3;
            continue;
        }
        out.push(bytes[at]);
        at += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of one ASCII hex digit (the caller checked that it is one).
fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_pve_tools() {
        assert_eq!(encode_text("a: b\nc"), "a%3A b%0Ac");
        assert_eq!(encode_text("100% <ok> #1;'x'"), "100%25 <ok> #1;'x'");
        assert_eq!(encode_text("é"), "%C3%A9");
        assert_eq!(encode_text("\t"), "%09");
    }

    #[test]
    fn decodes_and_round_trips() {
        assert_eq!(decode_text("https%3A//x"), "https://x");
        assert_eq!(decode_text("%c3%a9"), "é");
        assert_eq!(decode_text("100%"), "100%");
        assert_eq!(decode_text("%4"), "%4");
        assert_eq!(decode_text("%zz"), "%zz");
        let text = "line one: ok\nzwei – drei %\n";
        assert_eq!(decode_text(&encode_text(text)), text);
    }
}
