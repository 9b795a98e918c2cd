//! IP address to country: internal ranges first, then an MMDB behind `GeoLookup`.

pub mod maxmind;
pub mod ranges;
pub mod update;

use crate::engine::Country;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Errors from opening, reading or replacing a geodb.
#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    /// The file could not be read.
    #[error("{path}: cannot read geodb: {message}")]
    Read {
        /// The path.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The bytes are not a usable MaxMind DB.
    #[error("{path}: not a usable MaxMind DB: {message}")]
    Invalid {
        /// The path or URL.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A lookup failed inside the database.
    #[error("geodb lookup of {ip} failed: {message}")]
    Lookup {
        /// The address.
        ip: IpAddr,
        /// What went wrong.
        message: String,
    },
    /// A download failed.
    #[error("download from {url} failed: {message}")]
    Download {
        /// The URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// Writing the new database failed (the old one is kept).
    #[error("{path}: cannot write geodb: {message}")]
    Write {
        /// The destination.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// What an address is, before any country lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InternalRange {
    /// The range, e.g. `10.0.0.0/8`.
    pub cidr: &'static str,
    /// What it is, e.g. `private (RFC 1918)`.
    pub label: &'static str,
}

/// The answer for one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeoAnswer {
    /// An internal, non-routable or special-purpose address.
    Internal(InternalRange),
    /// A country from the geodb.
    Country(Country),
    /// The geodb has no record for it.
    NotFound,
}

/// Anything that maps an address to a country.
pub trait GeoLookup: Send + Sync {
    /// The country of `ip`, `None` when the database has no record.
    fn country(&self, ip: IpAddr) -> Result<Option<Country>, GeoError>;

    /// The same answer, with `memo` keeping what was decoded for earlier
    /// addresses: a database whose networks share records (a country database
    /// has a few hundred) decodes each record once, and an address in the
    /// network of the one before is answered without a lookup. The default
    /// keeps nothing.
    fn country_memo(&self, ip: IpAddr, memo: &mut GeoMemo) -> Result<Option<Country>, GeoError> {
        let _ = memo;
        self.country(ip)
    }
}

/// Decoded geodb records by their place in the database, for one thread placing
/// many addresses (see [`GeoLookup::country_memo`]).
#[derive(Debug, Default)]
pub struct GeoMemo {
    pub(crate) by_offset: rustc_hash::FxHashMap<usize, Option<Country>>,
    /// The network of the last answer (every address in it has the same
    /// record): addresses placed in order often fall in the one before.
    pub(crate) last: Option<(ipnet::IpNet, Option<Country>)>,
}

/// The cloud metadata address, internal but worth naming.
pub const METADATA_ADDRESS: Ipv4Addr = Ipv4Addr::new(169, 254, 169, 254);

/// The internal range `ip` falls in, if any. IPv4-mapped IPv6 addresses are
/// checked as IPv4.
pub fn internal_range(ip: IpAddr) -> Option<InternalRange> {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => internal_v4(v4),
            None => internal_v6(v6),
        },
    }
}

fn r(cidr: &'static str, label: &'static str) -> Option<InternalRange> {
    Some(InternalRange { cidr, label })
}

fn internal_v4(ip: Ipv4Addr) -> Option<InternalRange> {
    let [a, b, c, _] = ip.octets();
    if ip == METADATA_ADDRESS {
        return r("169.254.169.254/32", "cloud metadata");
    }
    match (a, b, c) {
        (0, _, _) => r("0.0.0.0/8", "this network (RFC 1122)"),
        (10, _, _) => r("10.0.0.0/8", "private (RFC 1918)"),
        (100, 64..=127, _) => r("100.64.0.0/10", "shared address space / CGNAT (RFC 6598)"),
        (127, _, _) => r("127.0.0.0/8", "loopback"),
        (169, 254, _) => r("169.254.0.0/16", "link-local"),
        (172, 16..=31, _) => r("172.16.0.0/12", "private (RFC 1918)"),
        (192, 0, 0) => r("192.0.0.0/24", "IETF protocol assignments"),
        (192, 0, 2) => r("192.0.2.0/24", "documentation (TEST-NET-1)"),
        (192, 168, _) => r("192.168.0.0/16", "private (RFC 1918)"),
        (198, 18..=19, _) => r("198.18.0.0/15", "benchmarking (RFC 2544)"),
        (198, 51, 100) => r("198.51.100.0/24", "documentation (TEST-NET-2)"),
        (203, 0, 113) => r("203.0.113.0/24", "documentation (TEST-NET-3)"),
        (224..=239, _, _) => r("224.0.0.0/4", "multicast"),
        (240..=255, _, _) => r("240.0.0.0/4", "reserved"),
        _ => None,
    }
}

fn internal_v6(ip: Ipv6Addr) -> Option<InternalRange> {
    let seg = ip.segments();
    let first = seg.first().copied().unwrap_or(0);
    if ip.is_loopback() {
        return r("::1/128", "loopback");
    }
    if ip.is_unspecified() {
        return r("::/128", "unspecified");
    }
    if first & 0xfe00 == 0xfc00 {
        return r("fc00::/7", "unique local (ULA)");
    }
    if first & 0xffc0 == 0xfe80 {
        return r("fe80::/10", "link-local");
    }
    if first & 0xff00 == 0xff00 {
        return r("ff00::/8", "multicast");
    }
    if first == 0x2001 && seg.get(1) == Some(&0x0db8) {
        return r("2001:db8::/32", "documentation");
    }
    if first == 0x0064 && seg.get(1) == Some(&0xff9b) {
        return r("64:ff9b::/96", "NAT64");
    }
    None
}

/// Internal ranges first, then the geodb.
pub fn classify(geo: &dyn GeoLookup, ip: IpAddr) -> Result<GeoAnswer, GeoError> {
    internal_first(ip, || geo.country(ip))
}

/// [`classify`] for one of many addresses, with the geodb's records kept in `memo`.
pub fn classify_memo(
    geo: &dyn GeoLookup,
    ip: IpAddr,
    memo: &mut GeoMemo,
) -> Result<GeoAnswer, GeoError> {
    internal_first(ip, || geo.country_memo(ip, memo))
}

/// An internal range if `ip` is in one, else what `country` says.
fn internal_first(
    ip: IpAddr,
    country: impl FnOnce() -> Result<Option<Country>, GeoError>,
) -> Result<GeoAnswer, GeoError> {
    if let Some(range) = internal_range(ip) {
        return Ok(GeoAnswer::Internal(range));
    }
    Ok(match country()? {
        Some(c) => GeoAnswer::Country(c),
        None => GeoAnswer::NotFound,
    })
}

#[cfg(test)]
mod test {
    use super::*;

    fn label(s: &str) -> Option<&'static str> {
        internal_range(s.parse().unwrap()).map(|r| r.label)
    }

    #[test]
    fn internal_ranges() {
        assert_eq!(label("10.1.2.3"), Some("private (RFC 1918)"));
        assert_eq!(label("172.31.255.255"), Some("private (RFC 1918)"));
        assert_eq!(label("172.32.0.1"), None);
        assert_eq!(
            label("100.64.0.1"),
            Some("shared address space / CGNAT (RFC 6598)")
        );
        assert_eq!(label("100.128.0.1"), None);
        assert_eq!(label("127.0.0.3"), Some("loopback"));
        assert_eq!(label("169.254.169.254"), Some("cloud metadata"));
        assert_eq!(label("169.254.1.1"), Some("link-local"));
        assert_eq!(label("192.0.2.10"), Some("documentation (TEST-NET-1)"));
        assert_eq!(label("::1"), Some("loopback"));
        assert_eq!(label("fd00::1"), Some("unique local (ULA)"));
        assert_eq!(label("fe80::1"), Some("link-local"));
        assert_eq!(label("2001:db8::1"), Some("documentation"));
        assert_eq!(label("::ffff:10.0.0.1"), Some("private (RFC 1918)"));
        assert_eq!(label("::ffff:169.254.169.254"), Some("cloud metadata"));
        assert_eq!(label("8.8.8.8"), None);
        assert_eq!(label("2a00:1450::1"), None);
    }
}
