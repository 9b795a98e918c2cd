//! The rule documents drive the README table and docs/rules.md; this keeps them in sync.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "test and benchmark code: a panic is a failed run"
)]

mod common;

use common::{residency, root, stdout};

#[test]
fn readme_rule_table_matches_the_rule_documents() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find("<!-- rules:start -->\n")
        .expect("README lacks the rules:start marker")
        + 21;
    let end = readme
        .find("<!-- rules:end -->")
        .expect("README lacks the rules:end marker");
    let want = residency::rules::readme_table();
    assert_eq!(
        &readme[start..end],
        want,
        "README rule table is stale; replace it with:\n{want}"
    );
}

#[test]
fn docs_rules_md_matches_explain() {
    let doc = std::fs::read_to_string(root().join("docs/rules.md")).unwrap();
    let generated = stdout(&residency(&["explain", "--format", "markdown"]));
    let body = doc
        .split_once("<!-- generated -->\n")
        .expect("docs/rules.md lacks the generated marker")
        .1;
    assert_eq!(
        body, generated,
        "docs/rules.md is stale: regenerate with `residency explain --format markdown`"
    );
}

#[test]
fn readme_commands_are_the_ones_that_work() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(readme.contains("cargo run --release -- scan fixtures/demo/webinar-platform.yaml"));
    assert!(readme.contains("cargo test"));
    assert!(root().join("fixtures/demo/webinar-platform.yaml").is_file());
}

#[test]
fn readme_flow_sample_says_what_the_readme_says() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(readme.contains("cargo run --release -- flows fixtures/flows/sample-vpc.log"));
    let o = residency(&[
        "flows",
        "fixtures/flows/sample-vpc.log",
        "--format",
        "json",
        "--as-of",
        "2026-11-28",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let got: Vec<String> = common::finding_lines(&doc);
    assert_eq!(
        got,
        [
            "RES012 egress:IN",
            "RES012 egress:US",
            "RES013 egress:unknown"
        ]
    );
    let s = &doc["summary"];
    assert_eq!(
        (
            s["classes"]["eea"].as_u64(),
            s["classes"]["internal"].as_u64(),
            s["metadata_flows"].as_u64()
        ),
        (Some(4), Some(2), Some(1))
    );
}
