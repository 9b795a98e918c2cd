//! Shared test helpers: run the library pipeline on fixture files, run the binary.
#![allow(dead_code)]

use residency::engine::{evaluate, Evaluation, Facts};
use residency::geo::maxmind::GeoDb;
use residency::inputs::{inventory, read_input};
use residency::knowledge::{parse_date, Knowledge};
use residency::policies;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Evaluates inventory files with a policy (preset or path) on a date.
pub fn evaluate_files(files: &[&Path], policy: &str, as_of: &str) -> Evaluation {
    let knowledge = Knowledge::embedded().unwrap();
    let geo = GeoDb::embedded().unwrap();
    let policy = policies::load(policy).unwrap();
    let inputs: Vec<_> = files.iter().map(|p| read_input(p).unwrap()).collect();
    let inv = inventory::load(&inputs, &knowledge, &geo, "embedded").unwrap();
    evaluate(
        &Facts { assets: inv.assets },
        &policy.policy,
        &knowledge.legal,
        parse_date(as_of).unwrap(),
    )
}

/// Evaluates inline YAML.
pub fn evaluate_yaml(yaml: &str, policy: &str, as_of: &str) -> Evaluation {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("inventory.yaml");
    std::fs::write(&p, yaml).unwrap();
    evaluate_files(&[&p], policy, as_of)
}

/// `RULE subject` (plus ` waived`) for every finding, sorted.
pub fn summary_lines(e: &Evaluation) -> Vec<String> {
    let mut v: Vec<String> = e
        .findings
        .iter()
        .map(|f| {
            let w = if f.waived.is_some() { " waived" } else { "" };
            format!("{} {}{w}", f.rule.code(), f.subject)
        })
        .collect();
    v.sort();
    v
}

/// Runs the binary with a clean environment (no user geodb, no colour).
pub fn residency(args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_residency"))
        .args(args)
        .current_dir(root())
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .unwrap()
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Writes an IPv4 MaxMind DB mapping each `(address, prefix length)` to a JSON record.
pub fn write_geodb(path: &Path, database_type: &str, records: &[(&str, u8, serde_json::Value)]) {
    use maxminddb_writer::paths::IpAddrWithMask;
    let mut db = maxminddb_writer::Database::default();
    db.metadata.database_type = database_type.to_string();
    db.metadata.binary_format_major_version = 2;
    db.metadata.build_epoch = 1_780_000_000;
    db.metadata.languages = vec!["en".into()];
    for (addr, mask, record) in records {
        let data = db.insert_value(record.clone()).unwrap();
        db.insert_node(IpAddrWithMask::new(addr.parse().unwrap(), *mask), data);
    }
    let mut out = Vec::new();
    db.write_to(&mut out).unwrap();
    std::fs::write(path, out).unwrap();
}

/// `RULE subject` for every finding of a JSON report, sorted.
pub fn finding_lines(doc: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["rule"].as_str().unwrap(),
                f["subject"].as_str().unwrap()
            )
        })
        .collect();
    v.sort();
    v
}
