//! Strict parsing of where a client wants to go: the CONNECT authority or the
//! authority of an absolute-form URI. Address literals are accepted only in
//! their canonical forms (dotted-quad decimal IPv4, bracketed IPv6 without a
//! zone); decimal, octal, hexadecimal and shortened IPv4 forms are refused, since
//! they exist to hide an address; IPv4-mapped IPv6 is normalised to IPv4.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Lower-case host name, or the address as text.
    pub host: String,
    /// Port.
    pub port: u16,
    /// The address, when the host is a literal.
    pub literal: Option<IpAddr>,
}

/// Why a target is refused (the client gets a 400 with this text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadTarget(pub String);

fn bad(s: impl Into<String>) -> BadTarget {
    BadTarget(s.into())
}

/// Parses `host:port` (CONNECT), or `host[:port]` with `default_port` (absolute URIs).
pub fn parse_authority(authority: &str, default_port: Option<u16>) -> Result<Target, BadTarget> {
    if authority.is_empty() {
        return Err(bad("empty destination"));
    }
    if authority.contains('@') {
        return Err(bad("credentials (userinfo) in the destination are refused"));
    }
    if authority
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b == b'%' || b >= 0x80)
    {
        return Err(bad(
            "the destination holds spaces, control characters, percent-escapes or non-ASCII bytes",
        ));
    }
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (inside, after) = rest
            .split_once(']')
            .ok_or_else(|| bad("unterminated IPv6 literal"))?;
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| bad("junk after the IPv6 literal"))?,
            ),
        };
        (format!("[{inside}]"), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    let port = match port {
        Some(p) => {
            if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(format!("`{p}` is not a port")));
            }
            p.parse::<u16>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| bad(format!("`{p}` is not a port")))?
        }
        None => default_port.ok_or_else(|| bad("the destination needs a port (host:port)"))?,
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        let v6: Ipv6Addr = inner
            .parse()
            .map_err(|_| bad(format!("`{inner}` is not an IPv6 address")))?;
        let addr = match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        };
        return Ok(Target {
            host: addr.to_string(),
            port,
            literal: Some(addr),
        });
    }
    if host.is_empty() || host.len() > 253 {
        return Err(bad("the host name is empty or too long"));
    }
    let labels: Vec<&str> = host.split('.').collect();
    if labels.iter().any(|l| {
        l.is_empty()
            || l.len() > 63
            || !l
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }) {
        return Err(bad(format!("`{host}` is not a host name")));
    }
    // Anything whose last label looks numeric is an address literal, and must be
    // the canonical dotted quad.
    let last = labels.last().copied().unwrap_or_default();
    let numeric = last.bytes().all(|b| b.is_ascii_digit())
        || (last.starts_with("0x")
            && last.len() > 2
            && last.bytes().skip(2).all(|b| b.is_ascii_hexdigit()));
    if numeric {
        let v4 = canonical_ipv4(&host).ok_or_else(|| {
            bad(format!(
                "`{host}` is not a canonical IPv4 address: decimal, octal, hexadecimal and shortened forms are refused"
            ))
        })?;
        return Ok(Target {
            host: v4.to_string(),
            port,
            literal: Some(IpAddr::V4(v4)),
        });
    }
    Ok(Target {
        host,
        port,
        literal: None,
    })
}

/// Four decimal parts 0-255 without leading zeros.
fn canonical_ipv4(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut octets = [0u8; 4];
    for (o, p) in octets.iter_mut().zip(&parts) {
        if p.is_empty() || p.len() > 3 || (p.len() > 1 && p.starts_with('0')) {
            return None;
        }
        *o = p.parse().ok()?;
    }
    Some(Ipv4Addr::from(octets))
}

#[cfg(test)]
mod test {
    use super::*;

    fn lit(s: &str) -> Option<String> {
        parse_authority(s, None)
            .ok()
            .and_then(|t| t.literal)
            .map(|a| a.to_string())
    }

    #[test]
    fn literals_are_canonical_or_refused() {
        assert_eq!(lit("127.0.0.3:443").as_deref(), Some("127.0.0.3"));
        assert_eq!(lit("[::ffff:127.0.0.3]:443").as_deref(), Some("127.0.0.3"));
        assert_eq!(lit("[::ffff:7f00:3]:443").as_deref(), Some("127.0.0.3"));
        assert_eq!(lit("[2a00:1450::1]:443").as_deref(), Some("2a00:1450::1"));
        for refused in [
            "2130706435:443",
            "0x7f000003:443",
            "0177.0.0.3:443",
            "127.3:443",
            "127.0.0.03:443",
            "0x7f.0.0.3:443",
            "[fe80::1%25eth0]:443",
            "[fe80::1%eth0]:443",
            "user:pw@example.eu:443",
            "example.eu",
            "example.eu:0",
            "example.eu:99999",
            "exa mple.eu:443",
            "example..eu:443",
            "[::1:443",
        ] {
            assert!(
                parse_authority(refused, None).is_err(),
                "{refused} accepted"
            );
        }
        let t = parse_authority("API.Example.EU.", Some(80)).unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.literal),
            ("api.example.eu", 80, None)
        );
    }
}
