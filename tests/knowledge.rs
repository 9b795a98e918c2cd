//! The knowledge data: every catalogue region resolves to its country; adequacy
//! decisions take effect and lapse on the right dates.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "test and benchmark code: a panic is a failed run"
)]

mod common;

use common::{evaluate_yaml, summary_lines};
use residency::engine::{Class, Country};
use residency::geo::maxmind::GeoDb;
use residency::knowledge::{parse_date, Knowledge};
use residency::locate::{LocationClaim, Resolver};

#[test]
fn every_region_in_the_catalogue_resolves_to_its_country() {
    let k = Knowledge::embedded().unwrap();
    let geo = GeoDb::embedded().unwrap();
    let resolver = Resolver::new(&k, &geo, "embedded");
    let mut checked = 0;
    for (provider, region) in k.catalogue.all_regions() {
        for spelling in [
            region.code.clone(),
            region.code.to_uppercase(),
            region.code.to_lowercase(),
        ] {
            let claim = LocationClaim {
                provider: Some(provider.id.clone()),
                region: Some(spelling.clone()),
                ..LocationClaim::default()
            };
            let (loc, op) = resolver
                .resolve(&claim)
                .unwrap_or_else(|e| panic!("{} {spelling}: {}", provider.id, e.message));
            assert_eq!(
                loc.region.as_deref(),
                Some(region.code.as_str()),
                "{} {spelling}",
                provider.id
            );
            match region.country {
                Some(c) => assert_eq!(loc.countries, vec![c], "{} {spelling}", provider.id),
                None => assert!(
                    loc.countries.is_empty() && loc.unknown.is_some(),
                    "{} {spelling}",
                    provider.id
                ),
            }
            assert_eq!(&*op.unwrap().id, provider.id.as_str());
        }
        if let Some(label) = &region.label {
            // Display names resolve too (`West Europe` = `westeurope` on Azure).
            if provider.id == "azure" {
                let claim = LocationClaim {
                    provider: Some("azure".into()),
                    region: Some(label.clone()),
                    ..LocationClaim::default()
                };
                assert_eq!(
                    resolver.resolve(&claim).unwrap().0.countries,
                    region.country.into_iter().collect::<Vec<_>>(),
                    "{label}"
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 453, "only {checked} regions in the catalogue");
    assert!(k.catalogue.providers.len() >= 17);
}

#[test]
fn eea_includes_outermost_regions_and_excludes_dependencies() {
    let k = Knowledge::embedded().unwrap();
    for c in [
        "DE", "FR", "IS", "LI", "NO", "GP", "RE", "MQ", "GF", "YT", "MF", "AX",
    ] {
        assert!(
            k.legal.is_eea(Country::new(c).unwrap()),
            "{c} should be EEA"
        );
    }
    for c in ["FO", "GL", "JE", "GG", "IM", "GI", "CH", "GB", "BL", "SJ"] {
        assert!(
            !k.legal.is_eea(Country::new(c).unwrap()),
            "{c} should not be EEA"
        );
    }
    assert_eq!(
        k.legal
            .eea
            .iter()
            .filter(|(_, s)| s.as_str() == "EU")
            .count(),
        27
    );
}

fn class(k: &Knowledge, c: &str, date: &str) -> Class {
    k.legal
        .class(Country::new(c).unwrap(), parse_date(date).unwrap())
}

#[test]
fn adequacy_dates() {
    let k = Knowledge::embedded().unwrap();
    // United States: DPF from 2023-07-10, conditional; Privacy Shield until Schrems II.
    assert_eq!(class(&k, "US", "2023-07-09"), Class::ThirdCountry);
    assert_eq!(class(&k, "US", "2023-07-10"), Class::Conditional);
    assert_eq!(class(&k, "US", "2020-07-15"), Class::Conditional);
    assert_eq!(class(&k, "US", "2020-07-16"), Class::ThirdCountry);
    // Brazil from 2026-01-26.
    assert_eq!(class(&k, "BR", "2026-01-25"), Class::ThirdCountry);
    assert_eq!(class(&k, "BR", "2026-01-26"), Class::Adequate);
    // United Kingdom: from 2021-06-28, renewed to 2031-12-27.
    assert_eq!(class(&k, "GB", "2021-06-27"), Class::ThirdCountry);
    assert_eq!(class(&k, "GB", "2021-06-28"), Class::Adequate);
    assert_eq!(class(&k, "GB", "2031-12-27"), Class::Adequate);
    assert_eq!(class(&k, "GB", "2031-12-28"), Class::ThirdCountry);
    // Full, partial and conditional decisions in force today.
    for c in [
        "AD", "AR", "CH", "FO", "GG", "IL", "IM", "JE", "NZ", "UY", "JP", "KR",
    ] {
        assert_eq!(class(&k, c, "2026-11-28"), Class::Adequate, "{c}");
    }
    assert_eq!(class(&k, "CA", "2026-11-28"), Class::Conditional);
    for c in ["AU", "IN", "SG", "CN", "AE", "ZA", "MX", "GL"] {
        assert_eq!(class(&k, c, "2026-11-28"), Class::ThirdCountry, "{c}");
    }
}

const US_BUCKET: &str = "version: 1\nassets:\n  - id: crm\n    location: {country: US}\n    data_categories: [user.contact]\n    transfer:\n      mechanism: dpf\n      certification: {scheme: dpf, reference: DPF-0001}\n";

#[test]
fn as_of_us_before_and_after_the_data_privacy_framework() {
    assert_eq!(
        summary_lines(&evaluate_yaml(US_BUCKET, "gdpr", "2023-07-09")),
        ["RES001 crm"]
    );
    assert!(summary_lines(&evaluate_yaml(US_BUCKET, "gdpr", "2023-07-10")).is_empty());
}

#[test]
fn as_of_brazil_adequacy() {
    let inv = "version: 1\nassets:\n  - id: db\n    location: {provider: aws, region: sa-east-1}\n    data_categories: [user.name]\n";
    assert_eq!(
        summary_lines(&evaluate_yaml(inv, "gdpr", "2026-01-25")),
        ["RES001 db"]
    );
    // Allowed from the decision date; the provider warning remains.
    assert_eq!(
        summary_lines(&evaluate_yaml(inv, "gdpr", "2026-01-26")),
        ["RES007 db"]
    );
}

#[test]
fn as_of_united_kingdom_adequacy() {
    let inv = "version: 1\nassets:\n  - id: lb\n    location: {provider: ovh, region: UK1}\n    data_categories: [user.device.ip_address]\n";
    assert!(summary_lines(&evaluate_yaml(inv, "gdpr", "2031-12-27")).is_empty());
    assert_eq!(
        summary_lines(&evaluate_yaml(inv, "gdpr", "2031-12-28")),
        ["RES001 lb"]
    );
    assert_eq!(
        summary_lines(&evaluate_yaml(inv, "gdpr", "2021-06-01")),
        ["RES001 lb"]
    );
    let e = evaluate_yaml(inv, "gdpr", "2032-01-10");
    assert!(
        e.findings[0].message.contains("expired on 2031-12-27"),
        "{}",
        e.findings[0].message
    );
}

#[test]
fn presets_differ_as_documented() {
    // GB is adequate: allowed under gdpr, not under eea-only.
    let gb = "version: 1\nassets:\n  - id: lb\n    location: {provider: ovh, region: UK1}\n    data_categories: [user.device.ip_address]\n";
    assert!(summary_lines(&evaluate_yaml(gb, "gdpr", "2026-11-28")).is_empty());
    assert_eq!(
        summary_lines(&evaluate_yaml(gb, "eea-only", "2026-11-28")),
        ["RES001 lb"]
    );
    // A US provider in an EEA region: warning under gdpr, error under sovereign.
    let aws = "version: 1\nassets:\n  - id: db\n    location: {provider: aws, region: eu-central-1}\n    data_categories: [user.name]\n";
    let g = evaluate_yaml(aws, "gdpr", "2026-11-28");
    assert_eq!(g.findings[0].severity.as_str(), "warning");
    let s = evaluate_yaml(aws, "sovereign", "2026-11-28");
    assert_eq!(s.findings[0].severity.as_str(), "error");
    // Exoscale (Swiss, no foreign-access law) passes gdpr but not sovereign.
    let exo = "version: 1\nassets:\n  - id: db\n    location: {provider: exoscale, zone: de-fra-1}\n    data_categories: [user.name]\n";
    assert!(summary_lines(&evaluate_yaml(exo, "gdpr", "2026-11-28")).is_empty());
    assert_eq!(
        summary_lines(&evaluate_yaml(exo, "sovereign", "2026-11-28")),
        ["RES007 db"]
    );
}

#[test]
fn korea_excludes_credit_information() {
    let inv = "version: 1\nassets:\n  - id: a\n    location: {country: KR}\n    data_categories: [user.contact]\n  - id: b\n    location: {country: KR}\n    data_categories: [user.financial.credit_card]\n";
    assert_eq!(
        summary_lines(&evaluate_yaml(inv, "gdpr", "2026-11-28")),
        ["RES001 b"]
    );
}

#[test]
fn multi_region_with_any_outside_country_fails() {
    let inv = "version: 1\nassets:\n  - id: eu\n    location: {provider: gcp, region: EU}\n    data_categories: [user.name]\n  - id: nam4\n    location: {provider: gcp, region: nam4}\n    data_categories: [user.name]\n  - id: asia\n    location: {provider: gcp, region: ASIA}\n    data_categories: [user.name]\n";
    let e = evaluate_yaml(inv, "eea-only", "2026-11-28");
    assert_eq!(
        summary_lines(&e),
        ["RES001 asia", "RES001 nam4", "RES007 eu"]
    );
    let asia = e.findings.iter().find(|f| f.subject == "asia").unwrap();
    assert!(asia.location.as_ref().unwrap().countries.len() > 3);
}
