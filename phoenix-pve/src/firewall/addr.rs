//! Addresses in firewall rules: an IP, a CIDR network, a range `a-b`, or a list `a,b`, as
//! pve-firewall's `parse_address_list` takes them (through Perl's `Net::IP`), plus the set
//! arithmetic the lock-out guard needs (does one network cover another).

use std::net::IpAddr;

/// A contiguous range of addresses of one IP version: a single address, a CIDR network or a
/// range `a-b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// 4 or 6.
    pub version: u8,
    /// The first address, as a number.
    pub first: u128,
    /// The last address, as a number.
    pub last: u128,
}

impl Span {
    /// Whether every address of `other` is in this span.
    pub fn covers(&self, other: &Span) -> bool {
        self.version == other.version && self.first <= other.first && other.last <= self.last
    }

    /// Whether this span and `other` share an address.
    pub fn overlaps(&self, other: &Span) -> bool {
        self.version == other.version && self.first <= other.last && other.first <= self.last
    }

    /// Every address of one version.
    pub fn everything(version: u8) -> Span {
        let last = if version == 4 {
            u128::from(u32::MAX)
        } else {
            u128::MAX
        };
        Span {
            version,
            first: 0,
            last,
        }
    }
}

fn number(ip: IpAddr) -> (u8, u128) {
    match ip {
        IpAddr::V4(v4) => (4, u128::from(u32::from(v4))),
        IpAddr::V6(v6) => (6, u128::from(v6)),
    }
}

/// One address, `a.b.c.d/len` network (its host bits must be zero, as `Net::IP` requires), or
/// range `a-b` (first not after last, one version).
pub fn parse_span(text: &str) -> Result<Span, String> {
    if let Some((from, to)) = text.split_once('-') {
        let (version, first) = number(parse_ip(from)?);
        let (other, last) = number(parse_ip(to)?);
        if version != other {
            return Err(format!("{text} mixes IPv4 and IPv6"));
        }
        if first > last {
            return Err(format!("{text} begins after it ends"));
        }
        return Ok(Span {
            version,
            first,
            last,
        });
    }
    let (address, prefix) = match text.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (text, None),
    };
    let (version, value) = number(parse_ip(address)?);
    let bits: u32 = if version == 4 { 32 } else { 128 };
    let prefix = match prefix {
        None => bits,
        Some(p) => match p.parse::<u32>() {
            Ok(p) if p <= bits => p,
            _ => return Err(format!("invalid prefix length in {text}")),
        },
    };
    let host_bits = bits - prefix;
    let host_mask: u128 = if host_bits == 0 {
        0
    } else if host_bits == 128 {
        u128::MAX
    } else {
        (1u128 << host_bits) - 1
    };
    if value & host_mask != 0 {
        return Err(format!("invalid prefix {text}: host bits are set"));
    }
    Ok(Span {
        version,
        first: value,
        last: value | host_mask,
    })
}

fn parse_ip(text: &str) -> Result<IpAddr, String> {
    text.parse::<IpAddr>()
        .map_err(|_| format!("invalid IP {text}"))
}

/// An address list as pve-firewall's `parse_address_list` checks it: a comma-separated list of
/// addresses or networks, or one range; one IP version. Returns the spans and the version. (An
/// ipset reference `+name` or an alias name is not a list; see [`AddressSpec`].)
pub fn parse_address_list(text: &str) -> Result<(Vec<Span>, u8), String> {
    let elements: Vec<&str> = text.split(',').collect();
    if elements.iter().any(|e| e.is_empty()) {
        return Err("extraneous commas in list".to_owned());
    }
    let mut spans = Vec::new();
    let mut version = None;
    let mut range = false;
    for element in &elements {
        let span = parse_span(element).map_err(|m| format!("invalid IP address: {m}"))?;
        range |= element.contains('-');
        if version.is_some_and(|v| v != span.version) {
            return Err(format!(
                "detected mixed ipv4/ipv6 addresses in address list '{text}'"
            ));
        }
        version = Some(span.version);
        spans.push(span);
    }
    if range && elements.len() > 1 {
        return Err("you can't use a range in a list".to_owned());
    }
    Ok((spans, version.unwrap_or(4)))
}

/// What a `-source`/`-dest` value names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressSpec {
    /// `+name`, `+dc/name`, `+guest/name`, `+sdn/name`: an ipset (scope kept, name lowercased).
    IpSet {
        /// `dc/`, `guest/`, `sdn/` or empty.
        scope: String,
        /// The ipset's name.
        name: String,
    },
    /// `name`, `dc/name`, `guest/name`: an alias.
    Alias {
        /// `dc/`, `guest/` or empty.
        scope: String,
        /// The alias's name.
        name: String,
    },
    /// Addresses, networks or a range.
    List(Vec<Span>),
}

/// Whether `text` is a name pve-firewall takes for an alias, ipset or group:
/// `[A-Za-z][A-Za-z0-9_-]+`.
pub fn is_fw_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && text.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Reads a `-source`/`-dest` value.
pub fn parse_address_spec(text: &str) -> Result<AddressSpec, String> {
    if let Some(rest) = text.strip_prefix('+') {
        let (scope, name) = split_scope(rest, &["dc/", "guest/", "sdn/"]);
        if !is_fw_name(name) {
            return Err(format!("invalid ipset name '{text}'"));
        }
        return Ok(AddressSpec::IpSet {
            scope: scope.to_owned(),
            name: name.to_ascii_lowercase(),
        });
    }
    let (scope, name) = split_scope(text, &["dc/", "guest/"]);
    if is_fw_name(name) {
        return Ok(AddressSpec::Alias {
            scope: scope.to_owned(),
            name: name.to_ascii_lowercase(),
        });
    }
    parse_address_list(text).map(|(spans, _)| AddressSpec::List(spans))
}

fn split_scope<'a>(text: &'a str, scopes: &[&'a str]) -> (&'a str, &'a str) {
    for scope in scopes {
        if let Some(rest) = text.strip_prefix(scope) {
            return (scope, rest);
        }
    }
    ("", text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_9_address_lists_parse_as_pve_firewall_checks_them() {
        let cases = [
            ("10.0.0.153", "ok 4 x1"),
            ("10.0.0.0/24", "ok 4 x1"),
            ("10.0.0.1-10.0.0.10", "ok 4 x1"),
            ("10.0.0.1,10.0.0.2,10.0.0.3", "ok 4 x3"),
            ("2001:db8::/64", "ok 6 x1"),
            (
                "10.0.0.5/24",
                "invalid IP address: invalid prefix 10.0.0.5/24: host bits are set",
            ),
            (
                "10.0.0.0/33",
                "invalid IP address: invalid prefix length in 10.0.0.0/33",
            ),
            ("10.0.0.256", "invalid IP address: invalid IP 10.0.0.256"),
            ("10.0.0.1,,10.0.0.2", "extraneous commas in list"),
            (
                "10.0.0.1,2001:db8::1",
                "detected mixed ipv4/ipv6 addresses in address list '10.0.0.1,2001:db8::1'",
            ),
            (
                "10.0.0.1-10.0.0.9,10.0.0.20",
                "you can't use a range in a list",
            ),
            (
                "10.0.0.9-10.0.0.1",
                "invalid IP address: 10.0.0.9-10.0.0.1 begins after it ends",
            ),
        ];
        for (text, expect) in cases {
            let got = match parse_address_list(text) {
                Ok((spans, version)) => format!("ok {version} x{}", spans.len()),
                Err(m) => m,
            };
            assert_eq!(got, expect, "{text}");
        }
    }

    #[test]
    fn issue_9_specs_tell_ipsets_aliases_and_lists_apart() {
        assert_eq!(
            parse_address_spec("+dc/Management"),
            Ok(AddressSpec::IpSet {
                scope: "dc/".into(),
                name: "management".into()
            })
        );
        assert_eq!(
            parse_address_spec("myserveralias"),
            Ok(AddressSpec::Alias {
                scope: String::new(),
                name: "myserveralias".into()
            })
        );
        assert!(matches!(
            parse_address_spec("10.0.0.0/24"),
            Ok(AddressSpec::List(_))
        ));
        assert!(parse_address_spec("+1bad").is_err());
    }

    #[test]
    fn issue_9_spans_cover_and_overlap() {
        let net = parse_span("10.0.0.0/24").expect("net");
        let host = parse_span("10.0.0.7").expect("host");
        let other = parse_span("10.0.1.0/24").expect("other");
        let wide = parse_span("10.0.0.0/16").expect("wide");
        assert!(net.covers(&host) && !host.covers(&net));
        assert!(wide.covers(&net) && wide.overlaps(&other));
        assert!(!net.overlaps(&other));
        assert!(Span::everything(4).covers(&net));
        assert!(!Span::everything(6).covers(&net));
    }
}
