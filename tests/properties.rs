//! Engine invariants over generated inventories.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "test and benchmark code: a panic is a failed run"
)]

use proptest::prelude::*;
use residency::engine::{
    evaluate, Asset, BasisOrigin, Country, DataProfile, Facts, Location, Mechanism, Policy, Role,
    TransferBasis,
};
use residency::knowledge::{parse_date, Knowledge};
use residency::policies;

const COUNTRIES: &[&str] = &[
    "DE", "FR", "PL", "US", "GB", "CH", "IN", "BR", "CA", "JP", "SG", "NO",
];

fn asset(i: usize, country: Option<usize>, role: u8, personal: bool, scc: bool) -> Asset {
    let countries: Vec<Country> = country
        .map(|c| Country::new(COUNTRIES[c % COUNTRIES.len()]).unwrap())
        .into_iter()
        .collect();
    Asset {
        id: format!("a{i}"),
        name: None,
        kind: None,
        role: match role % 4 {
            0 => Role::Primary,
            1 => Role::Backup,
            2 => Role::Processing,
            _ => Role::SubProcessor,
        },
        location: Location {
            unknown: countries.is_empty().then(|| "not declared".to_string()),
            countries,
            source: "test".into(),
            ..Location::default()
        },
        operator: None,
        data: DataProfile {
            categories: vec![if personal { "user.name" } else { "none" }.into()],
            declared: true,
            special: false,
            inferred: false,
        },
        transfer: scc.then(|| TransferBasis {
            mechanism: Mechanism::Scc,
            certification: None,
            scc_module: Some(2),
            tia: Some("TIA-1".into()),
            supplementary_measures: vec!["encryption".into()],
            derogation: None,
            expires: None,
            origin: BasisOrigin::Inventory,
        }),
        copy_of: None,
    }
}

fn assets() -> impl Strategy<Value = Vec<Asset>> {
    prop::collection::vec(
        (
            prop::option::weighted(0.9, 0usize..COUNTRIES.len()),
            any::<u8>(),
            any::<bool>(),
            any::<bool>(),
        ),
        0..40,
    )
    .prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (c, r, p, s))| asset(i, c, r, p, s))
            .collect()
    })
}

fn gdpr() -> Policy {
    policies::load("gdpr").unwrap().policy
}

proptest! {
    #[test]
    fn input_order_does_not_matter(list in assets(), seed in any::<u64>()) {
        let k = Knowledge::embedded().unwrap();
        let date = parse_date("2026-11-28").unwrap();
        let p = gdpr();
        let a = evaluate(&Facts { assets: list.clone() }, &p, &k.legal, date);
        let mut shuffled = list;
        // A deterministic shuffle from the seed.
        let n = shuffled.len();
        let mut s = seed;
        for i in (1..n).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (s >> 33) as usize % (i + 1));
        }
        let b = evaluate(&Facts { assets: shuffled }, &p, &k.legal, date);
        prop_assert_eq!(a, b);
    }

    #[test]
    fn allowing_a_country_never_adds_an_error(list in assets(), extra in 0usize..COUNTRIES.len()) {
        let k = Knowledge::embedded().unwrap();
        let date = parse_date("2026-11-28").unwrap();
        let base = gdpr();
        let mut wider = base.clone();
        wider.extra_countries.insert(Country::new(COUNTRIES[extra]).unwrap());
        let a = evaluate(&Facts { assets: list.clone() }, &base, &k.legal, date);
        let b = evaluate(&Facts { assets: list }, &wider, &k.legal, date);
        prop_assert!(b.summary.errors <= a.summary.errors);
    }

    #[test]
    fn every_personal_asset_with_unknown_location_is_a_finding(list in assets()) {
        let k = Knowledge::embedded().unwrap();
        let e = evaluate(&Facts { assets: list.clone() }, &gdpr(), &k.legal, parse_date("2026-11-28").unwrap());
        for a in list.iter().filter(|a| a.location.countries.is_empty() && a.data.holds_personal()) {
            prop_assert!(e.findings.iter().any(|f| f.subject == a.id && f.rule.code() == "RES003"), "{} passed silently", a.id);
        }
    }

    #[test]
    fn eea_only_allows_nothing_outside_the_eea(list in assets()) {
        let k = Knowledge::embedded().unwrap();
        let date = parse_date("2026-11-28").unwrap();
        let e = evaluate(&Facts { assets: list.clone() }, &policies::load("eea-only").unwrap().policy, &k.legal, date);
        for a in list.iter().filter(|a| a.data.holds_personal()) {
            if a.location.countries.iter().any(|c| !k.legal.is_eea(*c)) {
                prop_assert!(e.findings.iter().any(|f| f.subject == a.id && f.severity.as_str() == "error"), "{} allowed", a.id);
            }
        }
    }
}
