//! Every rule has a violating and a complying fixture under `fixtures/cases/`,
//! with the exact findings expected of each (`expect.toml`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "test and benchmark code: a panic is a failed run"
)]

mod common;

use common::{evaluate_files, residency, root, summary_lines};
use residency::engine::RuleId;
use serde::Deserialize;
use std::path::Path;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    #[serde(default = "default_as_of")]
    as_of: String,
    violates: Vec<String>,
    complies: Vec<String>,
}

fn default_as_of() -> String {
    "2026-11-28".into()
}

fn policy_for(dir: &Path, variant: &str) -> String {
    let p = dir.join(format!("{variant}.policy.toml"));
    if p.exists() {
        p.display().to_string()
    } else {
        "gdpr".into()
    }
}

#[test]
fn every_rule_has_a_violating_and_a_complying_case() {
    let cases = root().join("fixtures/cases");
    for rule in RuleId::ALL {
        let dir = cases.join(format!("{}-{}", rule.code(), rule.name()));
        let ext = if dir.join("violates.log").is_file() {
            "log"
        } else {
            "yaml"
        };
        assert!(
            dir.join(format!("violates.{ext}")).is_file(),
            "missing {}/violates.{ext}",
            dir.display()
        );
        assert!(
            dir.join(format!("complies.{ext}")).is_file(),
            "missing {}/complies.{ext}",
            dir.display()
        );
        let expect: Expect =
            toml::from_str(&std::fs::read_to_string(dir.join("expect.toml")).unwrap()).unwrap();
        assert!(
            expect
                .violates
                .iter()
                .any(|l| l.starts_with(rule.code()) && !l.ends_with(" waived")),
            "{}: the violating case must expect an unwaived {}",
            dir.display(),
            rule.code()
        );
        assert!(
            !expect
                .complies
                .iter()
                .any(|l| l.starts_with(rule.code()) && !l.ends_with(" waived")),
            "{}: the complying case must not expect {}",
            dir.display(),
            rule.code()
        );
    }
}

#[test]
fn cases_give_exactly_the_expected_findings() {
    let cases = root().join("fixtures/cases");
    let mut dirs: Vec<_> = std::fs::read_dir(&cases)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= RuleId::ALL.len());
    for dir in dirs {
        let expect: Expect =
            toml::from_str(&std::fs::read_to_string(dir.join("expect.toml")).unwrap()).unwrap();
        for (variant, expected) in [
            ("violates", &expect.violates),
            ("complies", &expect.complies),
        ] {
            let mut want = expected.clone();
            want.sort();
            let log = dir.join(format!("{variant}.log"));
            if log.is_file() {
                // Flow-log cases run through `residency flows` (embedded geodb).
                let o = residency(&[
                    "flows",
                    log.to_str().unwrap(),
                    "--policy",
                    &policy_for(&dir, variant),
                    "--format",
                    "json",
                    "--as-of",
                    &expect.as_of,
                ]);
                let doc: serde_json::Value =
                    serde_json::from_slice(&o.stdout).unwrap_or_else(|_| {
                        panic!("{}: {}", log.display(), String::from_utf8_lossy(&o.stderr))
                    });
                let got: Vec<String> = common::finding_lines(&doc);
                assert_eq!(got, want, "{}", log.display());
                assert_eq!(
                    o.status.code(),
                    Some(if want.is_empty() { 0 } else { 1 }),
                    "{}",
                    log.display()
                );
                continue;
            }
            let inventory = dir.join(format!("{variant}.yaml"));
            let e = evaluate_files(&[&inventory], &policy_for(&dir, variant), &expect.as_of);
            assert_eq!(summary_lines(&e), want, "{}", inventory.display());
        }
    }
}
