//! Any MaxMind-format database works: the MaxMind, DB-IP / ip-location-db and
//! IPinfo record shapes are detected and read; a database without country codes
//! is refused with a clear error.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "test and benchmark code: a panic is a failed run"
)]

mod common;

use common::{residency, stderr, stdout, write_geodb};
use residency::geo::maxmind::{GeoDb, RecordShape};
use residency::geo::GeoLookup;
use serde_json::json;

fn country(db: &GeoDb, ip: &str) -> Option<String> {
    db.country(ip.parse().unwrap())
        .unwrap()
        .map(|c| c.to_string())
}

#[test]
fn maxmind_shape_with_registered_country_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("maxmind.mmdb");
    write_geodb(
        &p,
        "GeoLite2-Country",
        &[
            (
                "127.0.0.2",
                32,
                json!({"country": {"iso_code": "DE", "names": {"en": "Germany"}}}),
            ),
            ("127.0.0.3", 32, json!({"country": {"iso_code": "US"}})),
            (
                "198.18.7.0",
                24,
                json!({"registered_country": {"iso_code": "GB"}}),
            ),
        ],
    );
    let db = GeoDb::open(&p).unwrap();
    assert_eq!(db.shape(), RecordShape::MaxMind);
    assert_eq!(country(&db, "127.0.0.2").as_deref(), Some("DE"));
    assert_eq!(country(&db, "127.0.0.3").as_deref(), Some("US"));
    assert_eq!(
        country(&db, "198.18.7.9").as_deref(),
        Some("GB"),
        "registered_country when country is absent"
    );
    assert_eq!(country(&db, "127.0.0.9"), None);
    assert_eq!(db.info().database_type, "GeoLite2-Country");
}

#[test]
fn ipinfo_and_country_code_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let ipinfo = dir.path().join("ipinfo.mmdb");
    write_geodb(
        &ipinfo,
        "ipinfo country",
        &[("127.0.0.4", 32, json!({"country": "NZ", "continent": "OC"}))],
    );
    let db = GeoDb::open(&ipinfo).unwrap();
    assert_eq!(db.shape(), RecordShape::Ipinfo);
    assert_eq!(country(&db, "127.0.0.4").as_deref(), Some("NZ"));

    let dbip = dir.path().join("dbip.mmdb");
    write_geodb(
        &dbip,
        "dbip-country-lite",
        &[("127.0.0.5", 32, json!({"country_code": "BR"}))],
    );
    let db = GeoDb::open(&dbip).unwrap();
    assert_eq!(db.shape(), RecordShape::CountryCode);
    assert_eq!(country(&db, "127.0.0.5").as_deref(), Some("BR"));
}

#[test]
fn a_database_without_country_codes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("asn.mmdb");
    write_geodb(
        &p,
        "GeoLite2-ASN",
        &[("127.0.0.0", 8, json!({"autonomous_system_number": 64500}))],
    );
    let err = GeoDb::open(&p).unwrap_err().to_string();
    assert!(err.contains("asn.mmdb") && err.contains("country"), "{err}");
    let o = residency(&["geodb", "info", "--geodb", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no record carries a country code"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn scan_locates_addresses_with_the_given_database() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("test.mmdb");
    write_geodb(
        &p,
        "GeoIP2-Country",
        &[
            ("198.51.99.0", 24, json!({"country": {"iso_code": "PL"}})),
            ("100.200.0.0", 16, json!({"country": {"iso_code": "IN"}})),
        ],
    );
    let inv = dir.path().join("inv.yaml");
    std::fs::write(
        &inv,
        "version: 1\nassets:\n  - id: waw\n    location: {ip: 198.51.99.20}\n    data_categories: [user.name]\n  - id: bom\n    location: {ip: 100.200.1.1}\n    data_categories: [user.name]\n  - id: lost\n    location: {ip: 1.2.3.4}\n    data_categories: [user.name]\n",
    )
    .unwrap();
    let o = residency(&[
        "scan",
        inv.to_str().unwrap(),
        "--geodb",
        p.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let by_id = |id: &str| {
        doc["assets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(by_id("waw")["countries"][0], "PL");
    assert_eq!(by_id("bom")["countries"][0], "IN");
    assert_eq!(by_id("lost")["class"], "unknown");
    let rules: Vec<String> = common::finding_lines(&doc);
    assert_eq!(rules, ["RES001 bom", "RES003 lost"]);
    let lost = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["subject"] == "lost")
        .unwrap();
    assert!(lost["message"]
        .as_str()
        .unwrap()
        .contains("has no record for 1.2.3.4"));
    assert!(doc["knowledge"]["geodb"]["path"]
        .as_str()
        .unwrap()
        .ends_with("test.mmdb"));
    assert_eq!(doc["knowledge"]["geodb"]["database_type"], "GeoIP2-Country");
    let info = stdout(&residency(&[
        "geodb",
        "info",
        "--geodb",
        p.to_str().unwrap(),
    ]));
    assert!(info.contains("maxmind (country.iso_code"), "{info}");
}
