//! The MaxMind DB reader. Accepts the MaxMind (`country.iso_code`, then
//! `registered_country.iso_code`), DB-IP / ip-location-db (`country_code`) and
//! IPinfo (`country` as a string) record shapes, detected once at open.

use super::{GeoError, GeoLookup};
use crate::engine::Country;
use maxminddb::{PathElement, Reader, WithinOptions};
use serde::Serialize;
use std::net::IpAddr;

/// The embedded default database (ip-location-db geo-whois-asn-country, see `geodb/README.md`).
pub static EMBEDDED: &[u8] = include_bytes!("../../geodb/geo-whois-asn-country.mmdb");

/// How country codes are stored in the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordShape {
    /// `{"country": {"iso_code": "DE"}}`, falling back to `registered_country`.
    MaxMind,
    /// `{"country_code": "DE"}`.
    CountryCode,
    /// `{"country": "DE"}`.
    Ipinfo,
}

impl RecordShape {
    /// The field path, for `geodb info`.
    pub fn describe(self) -> &'static str {
        match self {
            RecordShape::MaxMind => "maxmind (country.iso_code, registered_country.iso_code)",
            RecordShape::CountryCode => "ip-location-db / DB-IP (country_code)",
            RecordShape::Ipinfo => "ipinfo (country)",
        }
    }
}

/// Bytes behind a reader: the embedded database or a loaded file.
#[derive(Debug)]
pub enum GeoBytes {
    /// Compiled into the binary.
    Static(&'static [u8]),
    /// Read from a file or a download.
    Owned(Vec<u8>),
}

impl AsRef<[u8]> for GeoBytes {
    fn as_ref(&self) -> &[u8] {
        match self {
            GeoBytes::Static(b) => b,
            GeoBytes::Owned(v) => v,
        }
    }
}

/// Facts about a loaded database, for evidence and `geodb info`.
#[derive(Debug, Clone, Serialize)]
pub struct GeoDbInfo {
    /// Path, or `embedded`.
    pub path: String,
    /// `database_type` from the metadata.
    pub database_type: String,
    /// Build date (UTC) from `build_epoch`.
    pub build_date: String,
    /// 4 or 6.
    pub ip_version: u16,
    /// Search-tree nodes.
    pub node_count: u32,
    /// Detected record shape.
    pub record_shape: RecordShape,
    /// English description, if any.
    pub description: Option<String>,
    /// Size in bytes.
    pub size: usize,
}

/// An open country database.
pub struct GeoDb {
    reader: Reader<GeoBytes>,
    shape: RecordShape,
    path: String,
    size: usize,
}

impl std::fmt::Debug for GeoDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GeoDb({}, {:?})", self.path, self.shape)
    }
}

impl GeoDb {
    /// The embedded default.
    pub fn embedded() -> Result<GeoDb, GeoError> {
        GeoDb::from_bytes(GeoBytes::Static(EMBEDDED), "embedded")
    }

    /// Opens a file (plain or gzip-compressed).
    pub fn open(path: &std::path::Path) -> Result<GeoDb, GeoError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| GeoError::Read {
            path: shown.clone(),
            message: e.to_string(),
        })?;
        let bytes = super::update::unpack(&shown, bytes)?;
        GeoDb::from_bytes(GeoBytes::Owned(bytes), &shown)
    }

    /// Opens bytes, checks the metadata and detects the record shape.
    pub fn from_bytes(bytes: GeoBytes, path: &str) -> Result<GeoDb, GeoError> {
        let invalid = |message: String| GeoError::Invalid {
            path: path.to_string(),
            message,
        };
        let size = bytes.as_ref().len();
        if size == 0 {
            return Err(invalid("the file is empty".into()));
        }
        let reader = Reader::from_source(bytes).map_err(|e| invalid(e.to_string()))?;
        let shape = detect_shape(&reader).map_err(invalid)?;
        Ok(GeoDb {
            reader,
            shape,
            path: path.to_string(),
            size,
        })
    }

    /// The detected record shape.
    pub fn shape(&self) -> RecordShape {
        self.shape
    }

    /// Metadata and shape.
    pub fn info(&self) -> GeoDbInfo {
        let m = self.reader.metadata();
        let build_date = i64::try_from(m.build_epoch)
            .ok()
            .and_then(|e| time::OffsetDateTime::from_unix_timestamp(e).ok())
            .map(|t| t.date().to_string())
            .unwrap_or_else(|| "unknown".into());
        GeoDbInfo {
            path: self.path.clone(),
            database_type: m.database_type.clone(),
            build_date,
            ip_version: m.ip_version,
            node_count: m.node_count,
            record_shape: self.shape,
            description: m.description.get("en").cloned(),
            size: self.size,
        }
    }

    /// The first address with a record, used as a probe after downloads.
    pub fn probe_address(&self) -> Option<IpAddr> {
        let mut it = self.reader.networks(WithinOptions::default()).ok()?;
        it.find_map(|r| r.ok().and_then(|l| l.network().ok()).map(|n| n.ip()))
    }
}

fn key_path(shape: RecordShape) -> &'static [PathElement<'static>] {
    match shape {
        RecordShape::MaxMind => &[PathElement::Key("country"), PathElement::Key("iso_code")],
        RecordShape::CountryCode => &[PathElement::Key("country_code")],
        RecordShape::Ipinfo => &[PathElement::Key("country")],
    }
}

const REGISTERED: &[PathElement<'static>] = &[
    PathElement::Key("registered_country"),
    PathElement::Key("iso_code"),
];

fn detect_shape(reader: &Reader<GeoBytes>) -> Result<RecordShape, String> {
    let networks = reader
        .networks(WithinOptions::default())
        .map_err(|e| e.to_string())?;
    for item in networks.take(64) {
        let Ok(result) = item else { continue };
        if let Ok(Some(_)) = result.decode_path::<&str>(key_path(RecordShape::CountryCode)) {
            return Ok(RecordShape::CountryCode);
        }
        if let Ok(Some(_)) = result.decode_path::<&str>(key_path(RecordShape::MaxMind)) {
            return Ok(RecordShape::MaxMind);
        }
        if let Ok(Some(_)) = result.decode_path::<&str>(REGISTERED) {
            return Ok(RecordShape::MaxMind);
        }
        if let Ok(Some(_)) = result.decode_path::<&str>(key_path(RecordShape::Ipinfo)) {
            return Ok(RecordShape::Ipinfo);
        }
    }
    Err("no record carries a country code (expected `country.iso_code`, `country_code` or `country`)".into())
}

impl GeoDb {
    /// Where an address leads in the database: a record or none, and the network
    /// that answer holds for.
    fn lookup(&self, ip: IpAddr) -> Result<maxminddb::LookupResult<'_, GeoBytes>, GeoError> {
        self.reader.lookup(ip).map_err(|e| GeoError::Lookup {
            ip,
            message: e.to_string(),
        })
    }

    /// The country in the record found for an address (`None` without one).
    fn decode(&self, result: &maxminddb::LookupResult<'_, GeoBytes>) -> Option<Country> {
        let mut code: Option<&str> = result.decode_path(key_path(self.shape)).unwrap_or(None);
        if code.is_none() && self.shape == RecordShape::MaxMind {
            code = result.decode_path(REGISTERED).unwrap_or(None);
        }
        code.and_then(Country::new)
    }
}

impl GeoLookup for GeoDb {
    fn country(&self, ip: IpAddr) -> Result<Option<Country>, GeoError> {
        // A lookup without a record decodes to no country.
        Ok(self.decode(&self.lookup(ip)?))
    }

    fn country_memo(
        &self,
        ip: IpAddr,
        memo: &mut super::GeoMemo,
    ) -> Result<Option<Country>, GeoError> {
        if let Some((net, answer)) = &memo.last {
            if net.contains(&ip) {
                return Ok(*answer);
            }
        }
        let result = self.lookup(ip)?;
        // No record (`offset` is `None`) is an answer too, for its whole network.
        let answer = match result.offset() {
            Some(at) => *memo
                .by_offset
                .entry(at)
                .or_insert_with(|| self.decode(&result)),
            None => None,
        };
        memo.last = result
            .network()
            .ok()
            .and_then(|n| ipnet::IpNet::new(n.ip(), n.prefix()).ok())
            .map(|net| (net, answer));
        Ok(answer)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    /// Answers kept by record give the answers looked up one by one, across
    /// countries, unknown addresses and IPv6.
    #[test]
    fn a_memo_answers_as_lookups_do() {
        let db = GeoDb::embedded().unwrap();
        let mut memo = crate::geo::GeoMemo::default();
        let mut x = 7u32;
        let mut countries = std::collections::BTreeSet::new();
        for k in 0..20_000u32 {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let ip = if k % 10 == 0 {
                IpAddr::V6(std::net::Ipv6Addr::from(
                    u128::from(x) << 96 | 0x2a00 << 112,
                ))
            } else {
                IpAddr::V4(std::net::Ipv4Addr::from(x))
            };
            let want = db.country(ip).unwrap();
            assert_eq!(db.country_memo(ip, &mut memo).unwrap(), want, "{ip}");
            countries.insert(want);
        }
        // Many countries, and far fewer records kept than addresses.
        assert!(countries.len() > 50, "{}", countries.len());
        assert!(memo.by_offset.len() < 2_000, "{}", memo.by_offset.len());
    }

    /// Addresses in order, with their neighbours on both sides of many network
    /// edges: the memo's last network answers as lookups do.
    #[test]
    fn a_memo_answers_as_lookups_do_in_address_order() {
        let db = GeoDb::embedded().unwrap();
        let mut x = 11u32;
        let mut ips = Vec::new();
        for k in 0..5_000u32 {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            for near in [
                x,
                x.wrapping_add(1),
                x.wrapping_sub(1),
                x ^ 0xFF,
                x ^ 0xFFFF,
                x ^ 0x80_0000,
            ] {
                ips.push(IpAddr::V4(std::net::Ipv4Addr::from(near)));
            }
            if k % 10 == 0 {
                let v6 = u128::from(x) << 96 | 0x2a00 << 112;
                for near in [v6, v6 + 1, v6 ^ 1 << 100] {
                    ips.push(IpAddr::V6(std::net::Ipv6Addr::from(near)));
                }
            }
        }
        ips.sort_unstable();
        let mut memo = crate::geo::GeoMemo::default();
        let mut changes = 0;
        let mut before = None;
        for ip in ips {
            let want = db.country(ip).unwrap();
            assert_eq!(db.country_memo(ip, &mut memo).unwrap(), want, "{ip}");
            changes += usize::from(before != Some(want));
            before = Some(want);
        }
        // Neighbours on both sides of many changes of country.
        assert!(changes > 1_000, "{changes}");
    }

    /// A user's database whose records lack a country, or hold a bad code, or
    /// only a registered country: the memo answers as lookups do, every time.
    #[test]
    fn a_memo_keeps_records_without_a_country_as_none() {
        use maxminddb_writer::paths::IpAddrWithMask;
        let mut w = maxminddb_writer::Database::default();
        w.metadata.database_type = "GeoIP2-Country".into();
        w.metadata.binary_format_major_version = 2;
        w.metadata.build_epoch = 1_780_000_000;
        w.metadata.languages = vec!["en".into()];
        let records = [
            (
                "5.10.0.0",
                serde_json::json!({"country": {"iso_code": "DE"}}),
            ),
            (
                "6.20.0.0",
                serde_json::json!({"registered_country": {"iso_code": "US"}}),
            ),
            (
                "7.30.0.0",
                serde_json::json!({"city": {"names": {"en": "Nowhere"}}}),
            ),
            (
                "8.40.0.0",
                serde_json::json!({"country": {"iso_code": "D"}}),
            ),
        ];
        for (net, record) in records {
            let data = w.insert_value(record).unwrap();
            w.insert_node(IpAddrWithMask::new(net.parse().unwrap(), 16), data);
        }
        let mut bytes = Vec::new();
        w.write_to(&mut bytes).unwrap();
        let db = GeoDb::from_bytes(GeoBytes::Owned(bytes), "test.mmdb").unwrap();
        let mut memo = crate::geo::GeoMemo::default();
        let want = ["DE", "US", "", "", ""];
        for round in 0..2 {
            for (k, prefix) in ["5.10", "6.20", "7.30", "8.40", "9.50"].iter().enumerate() {
                for host in [1, 77, 254] {
                    let ip: IpAddr = format!("{prefix}.3.{host}").parse().unwrap();
                    let got = db.country_memo(ip, &mut memo).unwrap();
                    assert_eq!(got, db.country(ip).unwrap(), "{ip} round {round}");
                    assert_eq!(
                        got.map(|c| c.to_string()).unwrap_or_default(),
                        want[k],
                        "{ip}"
                    );
                }
            }
            // This database is IPv4 only: an IPv6 address is an error through the
            // memo as it is without, whatever network came before.
            let v6: IpAddr = "2001:db8::1".parse().unwrap();
            assert!(db.country(v6).is_err());
            let e = db.country_memo(v6, &mut memo).unwrap_err();
            assert!(e.to_string().contains("2001:db8::1"), "{e}");
        }
    }

    #[test]
    fn embedded_opens_and_answers() {
        let db = GeoDb::embedded().unwrap();
        assert_eq!(db.shape(), RecordShape::CountryCode);
        let info = db.info();
        assert!(info.build_date.starts_with("2026-"), "{}", info.build_date);
        // An AWS Frankfurt address (geofeed-first data).
        assert_eq!(
            db.country("3.120.0.1".parse().unwrap())
                .unwrap()
                .unwrap()
                .as_str(),
            "DE"
        );
        assert!(db.probe_address().is_some());
    }
}
