//! Criterion benchmark: the pure engine evaluating 10^2 .. 10^5 assets (a mix in
//! which 7 of 12 location kinds produce a finding, and an estate without findings),
//! and the resolver. Run: `cargo bench --bench engine`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "test and benchmark code: a panic is a failed run"
)]

// The same allocator as the binary, so the figures are the shipped ones.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use residency::engine::{evaluate, Asset, DataProfile, Facts, Role};
use residency::geo::maxmind::GeoDb;
use residency::knowledge::{parse_date, Knowledge};
use residency::locate::{LocationClaim, Resolver};
use residency::policies;

/// A realistic mix: mostly EEA regions, some adequate, some third-country, some unknown.
const CLAIMS: &[(&str, &str)] = &[
    ("ovh", "WAW1"),
    ("ovh", "SBG5"),
    ("aws", "eu-central-1"),
    ("aws", "us-east-1"),
    ("azure", "westeurope"),
    ("gcp", "europe-west3"),
    ("hetzner", "fsn1"),
    ("scaleway", "fr-par"),
    ("digitalocean", "lon1"),
    ("gcp", "EUR4"),
    ("aws", "ap-south-1"),
    ("azure", "global"),
];

/// A compliant estate: EEA regions of EEA-headquartered providers (no findings).
const COMPLIANT: &[(&str, &str)] = &[
    ("ovh", "WAW1"),
    ("ovh", "SBG5"),
    ("ovh", "GRA9"),
    ("hetzner", "fsn1"),
    ("scaleway", "fr-par"),
    ("ionos", "de/fra"),
    ("upcloud", "de-fra1"),
    ("stackit", "eu01"),
];

fn build(n: usize, k: &Knowledge, geo: &GeoDb) -> Vec<Asset> {
    build_from(CLAIMS, n, k, geo)
}

fn build_from(claims: &[(&str, &str)], n: usize, k: &Knowledge, geo: &GeoDb) -> Vec<Asset> {
    let resolver = Resolver::new(k, geo, "embedded");
    let resolved: Vec<_> = claims
        .iter()
        .map(|(p, r)| {
            resolver
                .resolve(&LocationClaim {
                    provider: Some((*p).into()),
                    region: Some((*r).into()),
                    ..LocationClaim::default()
                })
                .unwrap_or_else(|e| panic!("{p} {r}: {}", e.message))
        })
        .collect();
    (0..n)
        .map(|i| {
            let (location, operator) = resolved[i % resolved.len()].clone();
            Asset {
                id: format!("asset-{i:06}"),
                name: None,
                kind: None,
                role: if i % 5 == 0 {
                    Role::Backup
                } else {
                    Role::Primary
                },
                location,
                operator,
                data: DataProfile {
                    categories: vec!["user.contact.email".into(), "user.name".into()],
                    declared: true,
                    special: false,
                    inferred: false,
                },
                transfer: None,
                copy_of: None,
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let k = Knowledge::embedded().unwrap();
    let geo = GeoDb::embedded().unwrap();
    let policy = policies::load("gdpr").unwrap().policy;
    let date = parse_date("2026-11-28").unwrap();
    let mut group = c.benchmark_group("evaluate");
    group.sample_size(10);
    for n in [100usize, 1_000, 10_000, 100_000] {
        let facts = Facts {
            assets: build(n, &k, &geo),
        };
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &facts, |b, facts| {
            b.iter(|| black_box(evaluate(facts, &policy, &k.legal, date)))
        });
    }
    group.finish();

    // The same engine on an estate without findings.
    let mut group = c.benchmark_group("evaluate-compliant");
    group.sample_size(10);
    for n in [1_000usize, 100_000] {
        let facts = Facts {
            assets: build_from(COMPLIANT, n, &k, &geo),
        };
        assert_eq!(
            evaluate(&facts, &policy, &k.legal, date).summary.findings,
            0
        );
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &facts, |b, facts| {
            b.iter(|| black_box(evaluate(facts, &policy, &k.legal, date)))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("resolve");
    group.sample_size(10);
    let resolver = Resolver::new(&k, &geo, "embedded");
    let n = 100_000u64;
    group.throughput(Throughput::Elements(n));
    group.bench_function("100000 region claims", |b| {
        b.iter(|| {
            for i in 0..n as usize {
                let (p, r) = CLAIMS[i % CLAIMS.len()];
                let claim = LocationClaim {
                    provider: Some(p.into()),
                    region: Some(r.into()),
                    ..LocationClaim::default()
                };
                black_box(resolver.resolve(&claim).ok());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
