//! Bad input never panics: exit 2 and a message naming the file, the place
//! (line or field) and what was expected, with a hint where one helps.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "test and benchmark code: a panic is a failed run"
)]

mod common;

use common::{residency, stderr};

/// (file under fixtures/invalid, substrings the message must contain)
const INVENTORIES: &[(&str, &[&str])] = &[
    (
        "yaml-syntax.yaml",
        &["yaml-syntax.yaml:5:", "expected ',' or '}'"],
    ),
    (
        "unknown-field.yaml",
        &[
            "unknown-field.yaml:6:",
            "unknown field `regoin`",
            "did you mean `region`?",
        ],
    ),
    (
        "unknown-top-field.yaml",
        &["unknown-top-field.yaml:2:", "did you mean `assets`?"],
    ),
    (
        "unknown-provider.yaml",
        &[
            "unknown-provider.yaml:4:",
            "assets[0].location.provider",
            "did you mean `hetzner`?",
        ],
    ),
    (
        "unknown-region.yaml",
        &[
            "unknown-region.yaml:8:",
            "assets[1].location.region",
            "did you mean `westeurope`?",
        ],
    ),
    (
        "bad-country.yaml",
        &["bad-country.yaml:4:", "bad country code `XX`", "alpha-2"],
    ),
    ("country-alpha3.yaml", &["country-alpha3.yaml:5:", "`DE`"]),
    (
        "country-name.yaml",
        &[
            "country-name.yaml:4:",
            "processors[0].location.country",
            "`DE` for Germany",
        ],
    ),
    (
        "bad-date.yaml",
        &["bad-date.yaml:8:", "bad date `2026-13-45`", "YYYY-MM-DD"],
    ),
    (
        "unknown-role.yaml",
        &["unknown-role.yaml:4:", "did you mean `primary`?"],
    ),
    (
        "unknown-category.yaml",
        &[
            "unknown-category.yaml:5:",
            "data_categories[1]",
            "did you mean `user.contact.email`?",
        ],
    ),
    (
        "unknown-mechanism.yaml",
        &["unknown-mechanism.yaml:5:", "did you mean `scc`?"],
    ),
    (
        "bad-scc-module.yaml",
        &["bad-scc-module.yaml:5:", "SCC module 5"],
    ),
    (
        "bad-ip.yaml",
        &["bad-ip.yaml:4:", "`300.1.2.3` is not an IP address"],
    ),
    (
        "unknown-reference.yaml",
        &[
            "unknown-reference.yaml:5:",
            "assets[0].backups[0]",
            "did you mean `db-backup`?",
        ],
    ),
    (
        "duplicate-id.yaml",
        &["duplicate-id.yaml:5:", "duplicate id `db`"],
    ),
    (
        "unknown-site.yaml",
        &[
            "unknown-site.yaml:7:",
            "unknown site `waw-2`",
            "did you mean `waw-1`?",
        ],
    ),
    (
        "region-without-provider.yaml",
        &["region-without-provider.yaml:4:", "needs a `provider`"],
    ),
    (
        "conflicting-country.yaml",
        &["conflicting-country.yaml:4:", "contradicts"],
    ),
    (
        "wrong-version.yaml",
        &["wrong-version.yaml:1:", "unsupported inventory version 2"],
    ),
    (
        "missing-version.yaml",
        &["missing-version.yaml:1:", "missing field `version`"],
    ),
    (
        "wrong-type.yaml",
        &[
            "wrong-type.yaml:2:",
            "assets: invalid type",
            "expected a sequence",
        ],
    ),
    (
        "scalar-document.yaml",
        &["scalar-document.yaml:1:", "expected an inventory mapping"],
    ),
    ("empty.yaml", &["empty.yaml: the file is empty"]),
    (
        "json-syntax.json",
        &["json-syntax.json:1:", "trailing comma"],
    ),
    (
        "json-unknown-field.json",
        &["json-unknown-field.json:4:", "did you mean `location`?"],
    ),
    (
        "derogation-without-ground.yaml",
        &["derogation-without-ground.yaml:5:", "Art. 49 ground"],
    ),
    (
        "unknown-cert-scheme.yaml",
        &[
            "unknown-cert-scheme.yaml:7:",
            "unknown certification scheme",
        ],
    ),
    (
        "none-with-categories.yaml",
        &["none-with-categories.yaml:5:", "`none` cannot be combined"],
    ),
    (
        "region-and-zone.yaml",
        &["region-and-zone.yaml:4:", "not both"],
    ),
];

const POLICIES: &[(&str, &[&str])] = &[
    (
        "waiver-without-expiry.toml",
        &["waiver-without-expiry.toml:6:", "`expires` is required"],
    ),
    (
        "approval-without-expiry.toml",
        &["approval-without-expiry.toml:5:", "`expires` is required"],
    ),
    (
        "unknown-field.toml",
        &["unknown-field.toml:5:", "did you mean `adequacy`?"],
    ),
    (
        "bad-severity.toml",
        &["bad-severity.toml:5:", "unknown severity `fatal`"],
    ),
    (
        "unknown-rule.toml",
        &["unknown-rule.toml:5:", "unknown rule `RES099`"],
    ),
    (
        "bad-country.toml",
        &["bad-country.toml:5:", "bad country code `Swiss`"],
    ),
    ("cycle-a.toml", &["cycle-a.toml", "forms a cycle"]),
    ("syntax.toml", &["syntax.toml:1:", "invalid table header"]),
    (
        "location-unknown-off.toml",
        &["location-unknown-off.toml:5:", "cannot be switched off"],
    ),
    (
        "extends-missing.toml",
        &["no-such-base.toml", "not a preset"],
    ),
    ("bad-date.toml", &["bad-date.toml:11:", "bad date"]),
    (
        "unknown-mechanism.toml",
        &["unknown-mechanism.toml:5:", "unknown mechanism `contract`"],
    ),
    ("empty.toml", &["empty.toml: the policy file is empty"]),
    (
        "bad-cidr.toml",
        &["bad-cidr.toml:5:", "`52.95.0.0/33` is not a network"],
    ),
    (
        "proxy-bad-host.toml",
        &[
            "proxy-bad-host.toml:5:",
            "proxy.allow_hosts",
            "`*.ex ample.eu` is not a host name",
        ],
    ),
    (
        "proxy-bad-port.toml",
        &[
            "proxy-bad-port.toml:5:",
            "proxy.ports",
            "`70000` is not a port",
        ],
    ),
    (
        "proxy-unknown-field.toml",
        &["proxy-unknown-field.toml:5:", "did you mean `allow_hosts`?"],
    ),
    (
        "recipient-without-expiry.toml",
        &["recipient-without-expiry.toml:5:", "`expires` is required"],
    ),
    (
        "recipient-without-cidrs.toml",
        &["recipient-without-cidrs.toml:5:", "at least one network"],
    ),
    (
        "bad-resource-type.toml",
        &[
            "bad-resource-type.toml:5:",
            "unknown classification `secret`",
        ],
    ),
    (
        "recipient-bad-mechanism.toml",
        &[
            "recipient-bad-mechanism.toml:8:",
            "unknown transfer mechanism `sccs`",
            "did you mean `scc`?",
        ],
    ),
];

fn check(args: &[&str], needles: &[&str]) {
    let o = residency(args);
    let err = stderr(&o);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{args:?} should exit 2; stderr:\n{err}"
    );
    assert!(!err.contains("panicked"), "{args:?} panicked:\n{err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: expected `{n}` in:\n{err}");
    }
}

#[test]
fn malformed_inventories_exit_2_naming_the_place() {
    for (file, needles) in INVENTORIES {
        let path = format!("fixtures/invalid/{file}");
        check(&["scan", &path], needles);
    }
}

#[test]
fn malformed_policies_exit_2_naming_the_place() {
    for (file, needles) in POLICIES {
        let path = format!("fixtures/invalid/policies/{file}");
        check(&["policy", "check", &path], needles);
        check(
            &[
                "scan",
                "fixtures/demo/webinar-platform.yaml",
                "--policy",
                &path,
            ],
            needles,
        );
    }
}

#[test]
fn binary_garbage_missing_files_and_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.yaml");
    let bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(&garbage, &bytes).unwrap();
    check(
        &["scan", garbage.to_str().unwrap()],
        &["garbage.yaml", "not UTF-8 text"],
    );
    let nul = dir.path().join("nul.yaml");
    std::fs::write(&nul, b"version: 1\0\0\0").unwrap();
    check(&["scan", nul.to_str().unwrap()], &["nul.yaml", "NUL"]);
    check(
        &["scan", "fixtures/no-such-inventory.yaml"],
        &["fixtures/no-such-inventory.yaml", "no such file"],
    );
    let empty_dir = tempfile::tempdir().unwrap();
    check(
        &["scan", empty_dir.path().to_str().unwrap()],
        &["holds no .yaml"],
    );
    check(
        &[
            "scan",
            "fixtures/demo/webinar-platform.yaml",
            "--as-of",
            "2026-02-30",
        ],
        &["--as-of", "not a date"],
    );
    check(
        &[
            "scan",
            "fixtures/demo/webinar-platform.yaml",
            "--format",
            "xml",
        ],
        &["--format", "table"],
    );
    check(
        &[
            "scan",
            "fixtures/demo/webinar-platform.yaml",
            "--policy",
            "gdrp",
        ],
        &["did you mean `gdpr`?"],
    );
    check(
        &[
            "scan",
            "fixtures/demo/webinar-platform.yaml",
            "--geodb",
            garbage.to_str().unwrap(),
        ],
        &["garbage.yaml", "not a usable MaxMind DB"],
    );
    check(
        &[
            "scan",
            "fixtures/demo/webinar-platform.yaml",
            "--geodb",
            "/nonexistent/geo.mmdb",
        ],
        &["/nonexistent/geo.mmdb", "cannot read geodb"],
    );
    check(&["scan"], &["PATH"]);
    check(&["explain", "no-such-rule"], &["unknown rule"]);
    let bad_regions = dir.path().join("regions.json");
    std::fs::write(&bad_regions, "{\"catalogue_version\": \"x\", \"providers\": {\"acme\": {\"name\": \"Acme\", \"headquarters\": {\"country\": \"ZZ\"}, \"eu_headquartered\": false}}}").unwrap();
    check(
        &[
            "scan",
            "fixtures/demo/webinar-platform.yaml",
            "--regions",
            bad_regions.to_str().unwrap(),
        ],
        &["regions.json", "providers.acme.headquarters.country", "ZZ"],
    );
    std::fs::write(&bad_regions, "{\"catalogue_version\": \"x\", \"providers\": {\"acme\": {\"name\": \"Acme\", \"headquarters\": {\"country\": \"DE\"}, \"eu_headquartered\": true, \"zone_rules\": [\"letter-sufix\"]}}}").unwrap();
    check(
        &[
            "scan",
            "fixtures/demo/webinar-platform.yaml",
            "--regions",
            bad_regions.to_str().unwrap(),
        ],
        &[
            "regions.json",
            "unknown zone rule `letter-sufix`",
            "did you mean `letter-suffix`?",
        ],
    );
    let bad_adequacy = dir.path().join("adequacy.json");
    std::fs::write(&bad_adequacy, "{\"list_date\": \"x\", \"decisions\": [{\"jurisdiction\": \"US\", \"name\": \"n\", \"reference\": \"r\", \"in_force_from\": \"2023-13-01\", \"scope\": \"full\", \"scope_note\": \"s\"}]}").unwrap();
    check(
        &[
            "scan",
            "fixtures/demo/webinar-platform.yaml",
            "--adequacy",
            bad_adequacy.to_str().unwrap(),
        ],
        &[
            "adequacy.json",
            "decisions[0].in_force_from",
            "bad date `2023-13-01`",
        ],
    );
}

#[test]
fn at_least_forty_malformed_inputs_are_covered() {
    assert!(INVENTORIES.len() + POLICIES.len() >= 40);
}
