//! Terraform plans: the exact findings per resource address for every fixture,
//! plan semantics, and malformed plans.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "test and benchmark code: a panic is a failed run"
)]

mod common;

use common::{residency, root, stderr};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    findings: Vec<String>,
}

fn findings(args: &[&str]) -> (Option<i32>, Vec<String>, serde_json::Value) {
    let mut all = vec!["scan"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json", "--as-of", "2026-11-28"]);
    let o = residency(&all);
    let doc: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{args:?}: {}", stderr(&o)));
    let lines: Vec<String> = common::finding_lines(&doc);
    (o.status.code(), lines, doc)
}

#[test]
fn every_plan_fixture_gives_exactly_the_expected_findings() {
    let dir = root().join("fixtures/terraform");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("plan.json").is_file())
        .collect();
    cases.sort();
    assert!(cases.len() >= 12, "at least 12 plan fixtures");
    for case in cases {
        let expect: Expect =
            toml::from_str(&std::fs::read_to_string(case.join("expect.toml")).unwrap()).unwrap();
        let plan = case.join("plan.json");
        let (code, got, doc) = findings(&[plan.to_str().unwrap()]);
        assert_eq!(got, expect.findings, "{}", case.display());
        let errors = doc["summary"]["errors"].as_u64().unwrap();
        assert_eq!(
            code,
            Some(if errors > 0 { 1 } else { 0 }),
            "{}",
            case.display()
        );
        assert_eq!(doc["inputs"][0]["format"], "terraform-plan");
        assert_eq!(doc["inputs"][0]["sha256"].as_str().unwrap().len(), 64);
    }
}

#[test]
fn location_evidence_names_the_provider_configuration_and_variables() {
    let (_, _, doc) = findings(&["fixtures/terraform/modules/plan.json"]);
    let f = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "RES001")
        .unwrap();
    let source = f["location"]["source"].as_str().unwrap();
    assert!(source.contains("provider `module.archive:aws`"), "{source}");
    assert!(
        source.contains("var.archive_region = \"ap-south-1\""),
        "{source}"
    );
    let (_, _, doc) = findings(&["fixtures/terraform/unknown-region/plan.json"]);
    let msgs: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(
        msgs.iter()
            .any(|m| m.contains("sets no region") && m.contains("AWS_REGION")),
        "{msgs:#?}"
    );
    assert!(
        msgs.iter().any(|m| m.contains("known only after apply")),
        "{msgs:#?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.contains("eu-centrl-1") && m.contains("did you mean `eu-central-1`?")),
        "{msgs:#?}"
    );
}

#[test]
fn replicas_name_both_ends() {
    let (_, _, doc) = findings(&["fixtures/terraform/s3-replication/plan.json"]);
    let f = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "RES002")
        .unwrap();
    assert_eq!(f["related"], "aws_s3_bucket.src");
    let m = f["message"].as_str().unwrap();
    assert!(
        m.contains("of `aws_s3_bucket.src`") && m.contains("US"),
        "{m}"
    );
    let (_, _, doc) = findings(&["fixtures/terraform/azure-grs/plan.json"]);
    let br = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "RES002")
        .unwrap();
    assert!(br["location"]["source"]
        .as_str()
        .unwrap()
        .contains("paired region of `brazilsouth` is `southcentralus`"));
}

#[test]
fn changed_only_keeps_creates_and_updates() {
    let (_, all, _) = findings(&["fixtures/terraform/deletes/plan.json"]);
    assert_eq!(
        all,
        ["RES001 aws_s3_bucket.kept", "RES001 aws_s3_bucket.moved"]
    );
    let (_, changed, _) = findings(&["fixtures/terraform/deletes/plan.json", "--changed-only"]);
    assert_eq!(changed, ["RES001 aws_s3_bucket.moved"]);
}

#[test]
fn unknown_types_warn_and_policy_can_classify_types() {
    let (code, _, doc) = findings(&["fixtures/terraform/tags-and-types/plan.json"]);
    assert_eq!(code, Some(1));
    let unknown = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["subject"] == "aws_brand_new_service.x")
        .unwrap();
    assert_eq!(unknown["severity"], "warning");
    assert!(unknown["message"]
        .as_str()
        .unwrap()
        .contains("not in the catalogue"));
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.toml");
    std::fs::write(&policy, "[policy]\nname = \"p\"\nextends = \"gdpr\"\n\n[resource_types]\n\"aws_brand_new_*\" = \"none\"\naws_sqs_queue = \"none\"\n").unwrap();
    let (code, got, _) = findings(&[
        "fixtures/terraform/tags-and-types/plan.json",
        "--policy",
        policy.to_str().unwrap(),
    ]);
    assert_eq!(
        code,
        Some(1),
        "the special-category tag on the queue wins over the type rule"
    );
    assert_eq!(got, ["RES001 aws_sqs_queue.health"]);
}

#[test]
fn malformed_plans_exit_2_naming_the_problem() {
    for (file, needle) in [
        ("truncated.json", "truncated"),
        ("wrong-types.json", "expected a sequence"),
        ("no-resource-changes.json", "no `resource_changes`"),
        ("planned-without-values.json", "has no `values`"),
        ("errored.json", "errored"),
        (
            "format-version-2.json",
            "unsupported plan format_version `2.0`",
        ),
        (
            "changes-not-a-list.json",
            "expected an array of resource changes",
        ),
    ] {
        let path = format!("fixtures/invalid/plans/{file}");
        let o = residency(&["scan", &path]);
        assert_eq!(o.status.code(), Some(2), "{file}");
        let err = stderr(&o);
        assert!(err.contains(&path) && err.contains(needle), "{file}: {err}");
        assert!(!err.contains("panicked"));
    }
    let o = residency(&["scan", "fixtures/terraform/empty-plan.json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "an empty plan is not an error: {}",
        stderr(&o)
    );
}
