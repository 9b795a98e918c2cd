//! The binary as users run it: exit codes, outputs, schema, explain, policy, geodb.

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
use std::io::{Read, Write};
use std::net::TcpListener;

const DEMO: &str = "fixtures/demo/webinar-platform.yaml";

#[test]
fn demo_scan_prints_a_table_and_exits_1() {
    let o = residency(&["scan", DEMO, "--as-of", "2026-11-28"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    for needle in [
        "RES001",
        "analytics-events",
        "RES003",
        "support-attachments",
        "RES006",
        "mailer",
        "NOT compliant",
    ] {
        assert!(out.contains(needle), "missing {needle} in\n{out}");
    }
    assert!(!out.contains('\u{1b}'), "no colour when not a terminal");
}

#[test]
fn demo_json_is_valid_against_the_documented_schema() {
    let o = residency(&["scan", DEMO, "--format", "json", "--as-of", "2026-11-28"]);
    assert_eq!(o.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("docs/schema/scan-report.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(doc["summary"]["errors"], 3);
    assert_eq!(doc["summary"]["compliant"], false);
    // The schema really constrains: a finding without `rule` is rejected.
    let mut broken = doc.clone();
    broken["findings"][0]
        .as_object_mut()
        .unwrap()
        .remove("rule");
    assert!(!validator.is_valid(&broken));
}

#[test]
fn findings_are_sorted_deterministically() {
    let a = residency(&["scan", DEMO, "--format", "json", "--as-of", "2026-11-28"]);
    let b = residency(&["scan", DEMO, "--format", "json", "--as-of", "2026-11-28"]);
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn fail_on_thresholds() {
    // The complying RES007 case has warnings only under gdpr: fails only with --fail-on warning.
    let f = "fixtures/cases/RES007-foreign-jurisdiction-provider/violates.yaml";
    assert_eq!(residency(&["scan", f]).status.code(), Some(0));
    assert_eq!(
        residency(&["scan", f, "--fail-on", "warning"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        residency(&["scan", DEMO, "--fail-on", "never"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        residency(&["scan", f, "--policy", "sovereign"])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn waivers_and_approvals_from_a_policy_file() {
    let o = residency(&[
        "scan",
        DEMO,
        "--policy",
        "fixtures/demo/policy.toml",
        "--format",
        "json",
        "--as-of",
        "2026-11-28",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    let waived: Vec<&serde_json::Value> =
        findings.iter().filter(|f| !f["waived"].is_null()).collect();
    assert_eq!(waived.len(), 1);
    assert_eq!(waived[0]["subject"], "analytics-events");
    assert_eq!(waived[0]["waived"]["approver"], "Data Protection Officer");
    assert!(
        !findings.iter().any(|f| f["subject"] == "mailer"),
        "the approval covers the mailer"
    );
    assert_eq!(doc["summary"]["waived"], 1);
    assert_eq!(doc["policy"]["chain"][1], "preset:gdpr");
    // Past the waiver's expiry it stops waiving and adds RES009.
    let later = residency(&[
        "scan",
        DEMO,
        "--policy",
        "fixtures/demo/policy.toml",
        "--format",
        "json",
        "--as-of",
        "2027-02-01",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&later.stdout).unwrap();
    let rules: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(
        rules.contains(&"RES009") && rules.contains(&"RES001"),
        "{rules:?}"
    );
}

#[test]
fn output_file_and_directories() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    let o = residency(&[
        "scan",
        "fixtures/demo",
        "--format",
        "json",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(
        doc["inputs"].as_array().unwrap().len(),
        1,
        "the directory holds one inventory (policy.toml is not one)"
    );
    // A scan that fails on its input leaves the last report whole.
    let written = std::fs::read(&out).unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "version: 1\nassets: [\n").unwrap();
    let o = residency(&[
        "scan",
        bad.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), written);
    // A path in a missing directory fails first, for scans and reports alike.
    let nowhere = dir.path().join("no-such-dir").join("report.json");
    for args in [
        vec!["scan", "no-such-inventory.yaml"],
        vec!["report", "--audit", "no-such-store.sqlite"],
    ] {
        let mut args = args.clone();
        args.extend(["--output", nowhere.to_str().unwrap()]);
        let o = residency(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        assert!(
            err.contains(&format!("cannot write {}", nowhere.display()))
                && err.contains("does not exist")
                && !err.contains("no-such-inventory")
                && !err.contains("no-such-store"),
            "{args:?}: {err}"
        );
    }
}

/// An initialised Terraform root holds `.terraform/modules/modules.json`, which is
/// no inventory: hidden directories are skipped, and so are links to directories
/// (a loop would otherwise never end).
#[test]
fn a_directory_walk_skips_hidden_entries_and_links_to_directories() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("infra");
    std::fs::create_dir_all(root.join(".terraform/modules")).unwrap();
    std::fs::write(
        root.join(".terraform/modules/modules.json"),
        r#"{"Modules":[{"Key":"","Source":"","Dir":"."}]}"#,
    )
    .unwrap();
    std::fs::copy(
        "fixtures/demo/webinar-platform.yaml",
        root.join("webinar-platform.yaml"),
    )
    .unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&root, root.join("loop")).unwrap();
    let o = residency(&["scan", root.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let inputs = doc["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 1, "{inputs:?}");
    assert!(inputs[0]["path"]
        .as_str()
        .unwrap()
        .ends_with("infra/webinar-platform.yaml"));
}

/// A link to an inventory file in a walked directory is read like the file.
#[cfg(unix)]
#[test]
fn a_walk_reads_linked_files() {
    let dir = tempfile::tempdir().unwrap();
    let real = std::fs::canonicalize("fixtures/demo/webinar-platform.yaml").unwrap();
    std::os::unix::fs::symlink(&real, dir.path().join("linked.yaml")).unwrap();
    let o = residency(&["scan", dir.path().to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let inputs = doc["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 1, "{inputs:?}");
    assert!(inputs[0]["path"].as_str().unwrap().ends_with("linked.yaml"));
}

#[test]
fn json_inventory_is_read_like_yaml() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("inv.json");
    std::fs::write(&p, r#"{"version": 1, "assets": [{"id": "a", "location": {"provider": "azure", "region": "West Europe"}, "data_categories": ["user.name"]}]}"#).unwrap();
    let o = residency(&["scan", p.to_str().unwrap(), "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["assets"][0]["countries"][0], "NL");
    assert_eq!(doc["findings"][0]["rule"], "RES007");
}

#[test]
fn explain_lists_and_explains_rules() {
    let o = residency(&["explain"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    for code in ["RES001", "RES011"] {
        assert!(out.contains(code));
    }
    let one = stdout(&residency(&["explain", "location-unknown"]));
    assert!(
        one.contains("RES003") && one.contains("Fix:") && one.contains("Art. 5(2)"),
        "{one}"
    );
    let bad = residency(&["explain", "RES0001"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("did you mean"), "{}", stderr(&bad));
    let json: serde_json::Value =
        serde_json::from_slice(&residency(&["explain", "--format", "json"]).stdout).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 13);
}

#[test]
fn policy_check_and_presets() {
    let o = residency(&["policy", "check", "fixtures/demo/policy.toml"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("webinar-platform")
            && out.contains("W-2026-014")
            && out.contains("AT-2026-003"),
        "{out}"
    );
    for preset in ["gdpr", "eea-only", "sovereign"] {
        assert_eq!(
            residency(&["policy", "check", preset]).status.code(),
            Some(0)
        );
        assert!(stdout(&residency(&["policy", "show", preset])).contains("[policy]"));
    }
    assert!(stdout(&residency(&["policy", "list"])).contains("eea-only"));
}

#[test]
fn help_teaches() {
    let o = residency(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(
        out.contains("Exit codes") && out.contains("residency scan"),
        "{out}"
    );
    let scan = stdout(&residency(&["scan", "--help"]));
    for flag in [
        "--policy",
        "--as-of",
        "--fail-on",
        "--geodb",
        "--output",
        "--format",
    ] {
        assert!(scan.contains(flag), "scan --help lacks {flag}");
    }
}

#[test]
fn geodb_info_and_lookup() {
    let o = residency(&["geodb", "info"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("embedded") && out.contains("country_code") && out.contains("2026-06-17"),
        "{out}"
    );
    let l = stdout(&residency(&[
        "geodb",
        "lookup",
        "3.120.0.1",
        "10.1.2.3",
        "169.254.169.254",
    ]));
    assert!(l.contains("3.120.0.1\tDE"), "{l}");
    assert!(l.contains("10.1.2.3\tinternal"), "{l}");
    assert!(l.contains("cloud metadata"), "{l}");
}

/// Serves `body` to `count` GET requests on 127.0.0.1, answering `status`.
fn serve(status: &'static str, body: Vec<u8>, count: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(count) {
            let mut s = stream.unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        }
    });
    format!("http://{addr}/country.mmdb")
}

#[test]
fn geodb_update_replaces_atomically_and_keeps_the_old_one_on_failure() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("geodb.mmdb");
    let dest_s = dest.to_str().unwrap();
    let good = std::fs::read(root().join("geodb/geo-whois-asn-country.mmdb")).unwrap();

    // A good download installs.
    let url = serve("200 OK", good.clone(), 1);
    let o = residency(&["geodb", "update", "--from", &url, "--geodb", dest_s]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(std::fs::read(&dest).unwrap(), good);

    // Gzip-compressed works too.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&good).unwrap();
    let url = serve("200 OK", gz.finish().unwrap(), 1);
    assert_eq!(
        residency(&["geodb", "update", "--from", &url, "--geodb", dest_s])
            .status
            .code(),
        Some(0)
    );

    // Garbage, a truncated file, an HTTP error and a dead server all fail and keep the old file.
    for (status, body) in [
        ("200 OK", b"this is not a maxmind database".to_vec()),
        ("200 OK", good[..good.len() / 2].to_vec()),
        ("404 Not Found", Vec::new()),
    ] {
        let url = serve(status, body, 1);
        let o = residency(&["geodb", "update", "--from", &url, "--geodb", dest_s]);
        assert_eq!(o.status.code(), Some(2), "{status}: {}", stdout(&o));
        assert_eq!(
            std::fs::read(&dest).unwrap(),
            good,
            "old database must be kept"
        );
    }
    let dead = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/x.mmdb", l.local_addr().unwrap())
    };
    let o = residency(&["geodb", "update", "--from", &dead, "--geodb", dest_s]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("download from"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&dest).unwrap(), good);
    // No temporary files are left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    // And `scan --geodb` uses it.
    assert_eq!(
        stdout(&residency(&["geodb", "info", "--geodb", dest_s]))
            .lines()
            .next()
            .unwrap(),
        format!("path:          {dest_s}")
    );
}

#[test]
fn extra_regions_from_a_file_as_the_readme_shows() {
    let dir = tempfile::tempdir().unwrap();
    let regions = dir.path().join("my-regions.json");
    std::fs::write(
        &regions,
        r#"{"catalogue_version": "local-2026-12", "providers": {"ovh": {"name": "OVHcloud", "headquarters": {"country": "FR"}, "eu_headquartered": true, "regions": {"EU-WEST-LZ-AMS-A": {"country": "NL", "city": "Amsterdam", "verified": true}}}}}"#,
    )
    .unwrap();
    let inv = dir.path().join("inv.yaml");
    std::fs::write(&inv, "version: 1\nassets:\n  - id: a\n    location: {provider: ovh, region: EU-WEST-LZ-AMS-A}\n    data_categories: [user.name]\n  - id: b\n    location: {provider: ovh, region: WAW1}\n    data_categories: [user.name]\n").unwrap();
    let without = residency(&["scan", inv.to_str().unwrap()]);
    assert_eq!(
        without.status.code(),
        Some(2),
        "EU-WEST-LZ-AMS-A is unknown without the extra file"
    );
    let o = residency(&[
        "scan",
        inv.to_str().unwrap(),
        "--regions",
        regions.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["assets"][0]["countries"][0], "NL");
    assert_eq!(
        doc["assets"][1]["countries"][0], "PL",
        "embedded regions of the provider are kept"
    );
    assert!(doc["knowledge"]["region_catalogue_source"]
        .as_str()
        .unwrap()
        .contains("my-regions.json"));
}
