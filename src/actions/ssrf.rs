//! The outbound target guard: a small, strict URL parser and the address
//! rules that keep user-typed URLs away from the worker's own network.
//!
//! The parser accepts only what it can read unambiguously the way `fetch`
//! (the WHATWG URL standard) will read it; anything else is refused rather
//! than guessed at. IPv4 hosts are read in every spelling WHATWG accepts
//! (`2130706433`, `0177.0.0.1`, `0x7f.1`, `127.1`, a trailing dot), so a
//! disguised loopback address is seen as loopback. The checked target is
//! re-serialized and that normalized URL is what gets sent.
//!
//! Limitation: a public DNS name that resolves to a private address cannot
//! be detected here, because Workers give no DNS lookup before `fetch`.
//! Cloudflare's edge does not route to private networks, which covers the
//! deployed case; locally `ALLOW_PRIVATE_TARGETS=true` is needed anyway.

use std::net::{Ipv4Addr, Ipv6Addr};

/// The host of a parsed URL, normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A DNS name, lower-case, as written (trailing dot kept).
    Name(String),
    V4(Ipv4Addr),
    V6(Ipv6Addr),
}

/// A parsed absolute http(s) URL without credentials or fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `http` or `https`.
    pub scheme: &'static str,
    pub host: Host,
    pub port: Option<u16>,
    /// Path and query, always starting with `/`.
    pub path: String,
}

/// Why a URL may not be called. `private` marks refusals that
/// `ALLOW_PRIVATE_TARGETS=true` would lift.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: String,
    pub private: bool,
}

impl Refusal {
    fn bad(reason: impl Into<String>) -> Self {
        Refusal {
            reason: reason.into(),
            private: false,
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.private {
            write!(f, "{} (ALLOW_PRIVATE_TARGETS is false)", self.reason)
        } else {
            f.write_str(&self.reason)
        }
    }
}

impl Target {
    /// `scheme://host[:port]`, for same-origin comparisons and relative redirects.
    pub fn origin(&self) -> String {
        let host = match &self.host {
            Host::Name(n) => n.clone(),
            Host::V4(a) => a.to_string(),
            Host::V6(a) => format!("[{a}]"),
        };
        match self.port {
            Some(p) => format!("{}://{host}:{p}", self.scheme),
            None => format!("{}://{host}", self.scheme),
        }
    }

    /// The normalized URL that is actually sent.
    pub fn url(&self) -> String {
        format!("{}{}", self.origin(), self.path)
    }
}

/// Parses `url` and applies the address rules; with `allow_private` only
/// the scheme, credential and well-formedness rules apply.
pub fn check(url: &str, allow_private: bool) -> Result<Target, Refusal> {
    let target = parse(url)?;
    if !allow_private {
        if let Some(reason) = private_reason(&target.host) {
            return Err(Refusal {
                reason: format!("refused target {}: {reason}", target.origin()),
                private: true,
            });
        }
    }
    Ok(target)
}

/// Parses an absolute http(s) URL strictly (see the module note).
pub fn parse(url: &str) -> Result<Target, Refusal> {
    if url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return Err(Refusal::bad(
            "URL contains whitespace, control characters or backslashes",
        ));
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(Refusal::bad(
            "URL must be absolute and start with http:// or https://",
        ));
    };
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "http" => "http",
        "https" => "https",
        other => {
            return Err(Refusal::bad(format!(
                "scheme {other:?} is not allowed (only http and https)"
            )))
        }
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.contains('@') {
        return Err(Refusal::bad("credentials in URLs are not allowed"));
    }
    let tail = tail.split('#').next().unwrap_or("");
    let path = if tail.starts_with('/') {
        tail.to_string()
    } else {
        format!("/{tail}")
    };
    let (host, port) = split_host_port(authority)?;
    Ok(Target {
        scheme,
        host: parse_host(host)?,
        port,
        path,
    })
}

fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), Refusal> {
    let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
        let close = inner
            .find(']')
            .ok_or_else(|| Refusal::bad("unterminated IPv6 address"))?;
        let after = &inner[close + 1..];
        let port = match after {
            "" => None,
            p if p.starts_with(':') => Some(&p[1..]),
            _ => return Err(Refusal::bad("unexpected text after IPv6 address")),
        };
        (&authority[..close + 2], port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        None | Some("") => None,
        Some(p) if p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => match p.parse::<u16>() {
            Ok(n) => Some(n),
            Err(_) => return Err(Refusal::bad("port out of range")),
        },
        Some(_) => return Err(Refusal::bad("invalid port")),
    };
    Ok((host, port))
}

fn parse_host(host: &str) -> Result<Host, Refusal> {
    if host.is_empty() {
        return Err(Refusal::bad("URL has no host"));
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        // Zone ids (`%25eth0`) are not valid in URLs for fetch.
        return inner
            .parse::<Ipv6Addr>()
            .map(Host::V6)
            .map_err(|_| Refusal::bad("invalid IPv6 address"));
    }
    if !host.is_ascii() {
        return Err(Refusal::bad(
            "internationalized host names must be written in punycode (xn--)",
        ));
    }
    // fetch percent-decodes hosts (`%31%32%37.0.0.1`); refusing is simpler than agreeing.
    if !host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
    {
        return Err(Refusal::bad("host contains characters that are not allowed"));
    }
    let host = host.to_ascii_lowercase();
    let labels = host.strip_suffix('.').unwrap_or(&host);
    if labels.split('.').any(str::is_empty) {
        return Err(Refusal::bad("host has an empty label"));
    }
    if ends_in_number(&host) {
        return parse_ipv4(&host)
            .map(Host::V4)
            .ok_or_else(|| Refusal::bad("invalid IPv4 address"));
    }
    Ok(Host::Name(host))
}

fn parts(host: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = host.split('.').collect();
    if parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    parts
}

/// WHATWG: a host whose last label is numeric is an IPv4 address, or invalid.
fn ends_in_number(host: &str) -> bool {
    let last = parts(host).pop().unwrap_or("");
    if !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    last.strip_prefix("0x")
        .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// IPv4 in every form WHATWG accepts: 1 to 4 parts, each decimal, octal
/// (leading 0) or hex (0x); the last part fills the remaining bytes.
pub fn parse_ipv4(host: &str) -> Option<Ipv4Addr> {
    let parts = parts(host);
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let numbers: Vec<u64> = parts
        .iter()
        .map(|p| parse_ipv4_number(p))
        .collect::<Option<_>>()?;
    let (last, init) = numbers.split_last()?;
    if init.iter().any(|&n| n > 255) || *last >= 256u64.pow(5 - numbers.len() as u32) {
        return None;
    }
    let mut value = *last;
    for (i, n) in init.iter().enumerate() {
        value += n << (8 * (3 - i));
    }
    Some(Ipv4Addr::from(u32::try_from(value).ok()?))
}

fn parse_ipv4_number(part: &str) -> Option<u64> {
    if part.is_empty() {
        return None;
    }
    let (digits, radix) = if let Some(hex) = part.strip_prefix("0x") {
        (hex, 16)
    } else if part.len() > 1 && part.starts_with('0') {
        (&part[1..], 8)
    } else {
        (part, 10)
    };
    if digits.is_empty() {
        return Some(0);
    }
    // Cap the length so absurd inputs cannot overflow before the range check.
    if digits.len() > 12 {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// Why a host is not a public internet address, or `None` when it is.
pub fn private_reason(host: &Host) -> Option<String> {
    match host {
        Host::Name(name) => name_reason(name).map(str::to_string),
        Host::V4(a) => v4_reason(*a).map(|r| format!("{a} is {r}")),
        Host::V6(a) => v6_reason(*a).map(|r| format!("{a} is {r}")),
    }
}

fn name_reason(name: &str) -> Option<&'static str> {
    let name = name.strip_suffix('.').unwrap_or(name);
    const METADATA: &[&str] = &[
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
    ];
    if name == "localhost" || name.ends_with(".localhost") {
        Some("localhost names are loopback")
    } else if METADATA.contains(&name) {
        Some("cloud metadata host names are not allowed")
    } else if [".internal", ".local", ".localdomain", ".home.arpa", ".lan"]
        .iter()
        .any(|s| name.ends_with(s))
    {
        Some("internal-only domain names are not allowed")
    } else if !name.contains('.') {
        Some("single-label host names resolve only inside private networks")
    } else {
        None
    }
}

/// The reserved IPv4 ranges that are never public destinations.
fn v4_reason(a: Ipv4Addr) -> Option<&'static str> {
    const RANGES: &[([u8; 4], u8, &str)] = &[
        ([0, 0, 0, 0], 8, "in 0.0.0.0/8 (this network)"),
        ([10, 0, 0, 0], 8, "private (10.0.0.0/8)"),
        ([100, 64, 0, 0], 10, "carrier-grade NAT (100.64.0.0/10)"),
        ([127, 0, 0, 0], 8, "loopback (127.0.0.0/8)"),
        (
            [169, 254, 0, 0],
            16,
            "link-local or cloud metadata (169.254.0.0/16)",
        ),
        ([172, 16, 0, 0], 12, "private (172.16.0.0/12)"),
        ([192, 0, 0, 0], 24, "reserved for IETF protocols (192.0.0.0/24)"),
        ([192, 0, 2, 0], 24, "documentation (192.0.2.0/24)"),
        ([192, 168, 0, 0], 16, "private (192.168.0.0/16)"),
        ([198, 18, 0, 0], 15, "benchmarking (198.18.0.0/15)"),
        ([198, 51, 100, 0], 24, "documentation (198.51.100.0/24)"),
        ([203, 0, 113, 0], 24, "documentation (203.0.113.0/24)"),
        ([224, 0, 0, 0], 4, "multicast (224.0.0.0/4)"),
        ([240, 0, 0, 0], 4, "reserved or broadcast (240.0.0.0/4)"),
    ];
    let bits = u32::from(a);
    RANGES.iter().find_map(|(net, len, why)| {
        let mask = u32::MAX << (32 - u32::from(*len));
        (bits & mask == u32::from_be_bytes(*net)).then_some(*why)
    })
}

fn v6_reason(a: Ipv6Addr) -> Option<String> {
    let s = a.segments();
    let bits = u128::from(a);
    let embedded = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    let via =
        |kind: &str, v4: Ipv4Addr| v4_reason(v4).map(|r| format!("{kind} embedding {v4}, which is {r}"));
    if bits == 0 {
        return Some("the unspecified address".into());
    }
    if bits == 1 {
        return Some("loopback (::1)".into());
    }
    if bits >> 32 == 0 {
        return via("IPv4-compatible", embedded(s[6], s[7]));
    }
    if bits >> 32 == 0xffff || bits >> 32 == 0xffff_0000 {
        return via("IPv4-mapped", embedded(s[6], s[7]));
    }
    if bits >> 32 == 0x0064_ff9b_0000_0000_0000_0000 {
        return via("NAT64", embedded(s[6], s[7]));
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1 {
        return Some("local-use NAT64 (64:ff9b:1::/48)".into());
    }
    if s[0] == 0x2002 {
        return via("6to4", embedded(s[1], s[2]));
    }
    if s[0] == 0x2001 && s[1] == 0 {
        // Teredo: the server address is plain, the client's is inverted.
        return via("Teredo", embedded(s[2], s[3])).or_else(|| via("Teredo", embedded(!s[6], !s[7])));
    }
    let why = match () {
        _ if s[0] & 0xfe00 == 0xfc00 => "unique-local (fc00::/7)",
        _ if s[0] & 0xffc0 == 0xfe80 => "link-local (fe80::/10)",
        _ if s[0] & 0xffc0 == 0xfec0 => "site-local (fec0::/10)",
        _ if s[0] & 0xff00 == 0xff00 => "multicast (ff00::/8)",
        _ if s[0] == 0x2001 && s[1] == 0x0db8 => "documentation (2001:db8::/32)",
        _ if s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0 => "discard-only (100::/64)",
        _ => return None,
    };
    Some(why.into())
}

/// Resolves a redirect's `Location` against the URL that answered.
/// Absolute locations are returned as written, so [`check`] sees them whole.
pub fn resolve_location(base: &Target, location: &str) -> String {
    let location = location.trim();
    let scheme_end = location.find(':');
    let first_delim = location.find(['/', '?', '#']);
    let has_scheme = match (scheme_end, first_delim) {
        (Some(c), Some(d)) => c < d,
        (Some(_), None) => true,
        _ => false,
    };
    if has_scheme {
        location.to_string()
    } else if location.starts_with("//") {
        format!("{}:{location}", base.scheme)
    } else if location.starts_with('/') {
        format!("{}{location}", base.origin())
    } else {
        let path_only = base.path.split('?').next().unwrap_or("/");
        if location.starts_with('?') {
            format!("{}{path_only}{location}", base.origin())
        } else if location.starts_with('#') || location.is_empty() {
            base.url()
        } else {
            let dir = &path_only[..path_only.rfind('/').map_or(0, |i| i + 1)];
            format!("{}{dir}{location}", base.origin())
        }
    }
}
