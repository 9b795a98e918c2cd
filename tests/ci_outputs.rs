//! CI outputs: SARIF validated against the official 2.1.0 schema, JUnit read by a
//! JUnit parser, Markdown, GitHub annotations, `--tf-root` places and `--baseline`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "test and benchmark code: a panic is a failed run"
)]

mod common;

use common::{residency, root, stderr, stdout};

fn sarif_validator() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("fixtures/schemas/sarif-2.1.0.json")).unwrap(),
    )
    .unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let validator = sarif_validator();
    for input in [
        "fixtures/terraform/s3-replication/plan.json",
        "fixtures/terraform/unknown-region/plan.json",
        "fixtures/terraform/aws-provider-region/plan.json",
        "fixtures/demo/webinar-platform.yaml",
    ] {
        let o = residency(&[
            "scan",
            input,
            "--format",
            "sarif",
            "--as-of",
            "2026-11-28",
            "--policy",
            "fixtures/demo/policy.toml",
        ]);
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "{input}: {}",
            stderr(&o)
        );
        let log: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&log)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{input}: {errors:#?}");
        let run = &log["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 13);
        assert!(rules
            .iter()
            .all(|r| r["help"]["markdown"].as_str().unwrap().contains("**Fix.**")));
        assert!(rules.iter().all(|r| r["properties"]["security-severity"]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .is_ok()));
        for r in run["results"].as_array().unwrap() {
            assert_eq!(
                r["partialFingerprints"]["residencyFinding/v1"]
                    .as_str()
                    .unwrap()
                    .len(),
                16
            );
            let rule_index = r["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[rule_index]["id"], r["ruleId"]);
        }
    }
    // The schema really checks: a result without a message is refused.
    let o = residency(&[
        "scan",
        "fixtures/terraform/aws-alias/plan.json",
        "--format",
        "sarif",
    ]);
    let mut log: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    log["runs"][0]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("message");
    assert!(!validator.is_valid(&log));
}

#[test]
fn sarif_logical_location_is_the_resource_address_and_waivers_are_suppressions() {
    let o = residency(&[
        "scan",
        "fixtures/terraform/modules/plan.json",
        "--format",
        "sarif",
    ]);
    let log: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    let r = results.iter().find(|r| r["ruleId"] == "RES001").unwrap();
    assert_eq!(
        r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "module.archive.aws_s3_bucket.b[0]"
    );
    assert_eq!(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "fixtures/terraform/modules/plan.json"
    );
    let o = residency(&[
        "scan",
        "fixtures/demo/webinar-platform.yaml",
        "--format",
        "sarif",
        "--policy",
        "fixtures/demo/policy.toml",
        "--as-of",
        "2026-11-28",
    ]);
    let log: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let waived = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["suppressions"].is_array())
        .unwrap();
    assert!(waived["suppressions"][0]["justification"]
        .as_str()
        .unwrap()
        .contains("W-2026-014"));
    // Inventory findings point at the line of the asset's id.
    let line = waived["locations"][0]["physicalLocation"]["region"]["startLine"]
        .as_u64()
        .unwrap();
    let text = std::fs::read_to_string(root().join("fixtures/demo/webinar-platform.yaml")).unwrap();
    assert!(text
        .lines()
        .nth(line as usize - 1)
        .unwrap()
        .contains("id: analytics-events"));
}

#[test]
fn tf_root_points_at_the_resource_block() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.tf"),
        "module \"archive\" {\n  source = \"./archive\"\n}\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("archive")).unwrap();
    std::fs::write(
        dir.path().join("archive/buckets.tf"),
        "# archive buckets\n\nresource \"aws_s3_bucket\" \"b\" {\n  count  = 1\n  bucket = \"acme-archive\"\n}\n",
    )
    .unwrap();
    let o = residency(&[
        "scan",
        "fixtures/terraform/modules/plan.json",
        "--format",
        "sarif",
        "--tf-root",
        dir.path().to_str().unwrap(),
    ]);
    let log: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let r = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "RES001")
        .unwrap();
    let loc = &r["locations"][0]["physicalLocation"];
    assert!(
        loc["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("archive/buckets.tf"),
        "{loc}"
    );
    assert_eq!(loc["region"]["startLine"], 3);
    let gh = stdout(&residency(&[
        "scan",
        "fixtures/terraform/modules/plan.json",
        "--format",
        "github",
        "--tf-root",
        dir.path().to_str().unwrap(),
    ]));
    assert!(gh.contains("buckets.tf,line=3,title=RES001"), "{gh}");
}

#[test]
fn junit_is_read_by_a_junit_parser() {
    let o = residency(&[
        "scan",
        "fixtures/terraform/deletes/plan.json",
        "--format",
        "junit",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let suites = junit_parser::from_reader(std::io::Cursor::new(o.stdout)).unwrap();
    let cases: Vec<&junit_parser::TestCase> =
        suites.suites.iter().flat_map(|s| s.cases.iter()).collect();
    assert_eq!(cases.len(), 3, "a test case per checked resource");
    let by = |n: &str| cases.iter().find(|c| c.original_name == n).unwrap();
    assert!(by("aws_s3_bucket.kept").status.is_failure());
    assert!(by("aws_s3_bucket.moved").status.is_failure());
    assert!(by("aws_s3_bucket.old").status.is_skipped());
    // Resources that hold no data are skipped, compliant ones pass.
    let o = residency(&[
        "scan",
        "fixtures/terraform/aws-provider-region/plan.json",
        "--format",
        "junit",
        "--policy",
        "eea-only",
    ]);
    let suites = junit_parser::from_reader(std::io::Cursor::new(o.stdout)).unwrap();
    let cases: Vec<&junit_parser::TestCase> =
        suites.suites.iter().flat_map(|s| s.cases.iter()).collect();
    let iam = cases
        .iter()
        .find(|c| c.original_name == "aws_iam_role.app")
        .unwrap();
    assert!(iam.status.is_skipped());
    let o = residency(&[
        "scan",
        "fixtures/terraform/european-providers/plan.json",
        "--format",
        "junit",
    ]);
    let suites = junit_parser::from_reader(std::io::Cursor::new(o.stdout)).unwrap();
    let cases: Vec<&junit_parser::TestCase> =
        suites.suites.iter().flat_map(|s| s.cases.iter()).collect();
    assert!(cases
        .iter()
        .find(|c| c.original_name == "hcloud_server.app")
        .unwrap()
        .status
        .is_success());
    assert!(cases
        .iter()
        .find(|c| c.original_name == "hcloud_volume.us")
        .unwrap()
        .status
        .is_failure());
}

#[test]
fn markdown_and_github_annotations() {
    let md = stdout(&residency(&[
        "scan",
        "fixtures/terraform/aws-alias/plan.json",
        "--format",
        "markdown",
    ]));
    assert!(md.starts_with("## residency: ❌ not compliant"), "{md}");
    assert!(md.contains("| 🔴 error | RES001 `storage-outside-allowed` | `aws_s3_bucket.us` | aws us-east-1 (US) |"), "{md}");
    assert!(md.contains("<details><summary>How to fix</summary>"));
    let ok = stdout(&residency(&[
        "scan",
        "fixtures/terraform/aws-provider-region/plan.json",
        "--format",
        "markdown",
        "--policy",
        "eea-only",
    ]));
    assert!(ok.starts_with("## residency: ✅ compliant"), "{ok}");
    let gh = stdout(&residency(&[
        "scan",
        "fixtures/terraform/aws-alias/plan.json",
        "--format",
        "github",
    ]));
    let lines: Vec<&str> = gh.lines().collect();
    assert!(lines[0].starts_with("::error file=fixtures/terraform/aws-alias/plan.json,title=RES001 storage-outside-allowed (aws_s3_bucket.us)::"), "{gh}");
    assert!(lines[1].starts_with("::warning "), "{gh}");
    assert!(lines.iter().all(|l| !l.contains('\r')));
    assert!(lines[0].contains("%0Afix: "), "newlines are escaped");
}

#[test]
fn baseline_reports_only_new_findings() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.json");
    let o = residency(&[
        "scan",
        "fixtures/terraform/aws-alias/plan.json",
        "--format",
        "json",
        "--output",
        base.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    // The same plan against its own baseline: nothing new, exit 0.
    let o = residency(&[
        "scan",
        "fixtures/terraform/aws-alias/plan.json",
        "--baseline",
        base.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["findings"].as_array().unwrap().len(), 0);
    assert_eq!(doc["summary"]["baselined"], 2);
    // A plan with one more problem reports just that one.
    let o = residency(&[
        "scan",
        "fixtures/terraform/aws-alias/plan.json",
        "fixtures/terraform/deletes/plan.json",
        "--baseline",
        base.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let subjects: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["aws_s3_bucket.kept", "aws_s3_bucket.moved"]);
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"not\": \"a report\"}").unwrap();
    let o = residency(&[
        "scan",
        "fixtures/terraform/aws-alias/plan.json",
        "--baseline",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no `findings` array"));
}
