//! The HTML compliance report, loaded in a real headless browser (Debian's
//! `chromium`, which `.ci/run` installs): the DOM has the summary, the map with the
//! expected countries shaded, the transfer register; hostile names stay text.

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
use std::path::PathBuf;

fn browser() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|b| std::env::split_paths(&path).map(move |d| d.join(b)))
        .find(|p| p.is_file())
}

#[test]
fn the_html_report_renders_in_a_browser_with_map_registers_and_escaped_names() {
    let Some(chromium) = browser() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is not installed: `apt-get install chromium` (.ci/run does)"
        );
        eprintln!("skipped: chromium is not installed (apt-get install chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("audit.sqlite");
    let key = dir.path().join("audit.key");
    let hostile = dir.path().join("hostile.yaml");
    std::fs::write(
        &hostile,
        r#"version: 1
assets:
  - id: "<script>alert(1)</script>"
    name: "<img src=x onerror=alert(2)>"
    kind: database
    location: {provider: aws, region: af-south-1}
    data_categories: [user.contact.email]
"#,
    )
    .unwrap();
    let (s, k) = (store.to_str().unwrap(), key.to_str().unwrap());
    for args in [
        vec![
            "scan",
            "fixtures/demo/webinar-platform.yaml",
            hostile.to_str().unwrap(),
            "--policy",
            "fixtures/demo/policy.toml",
        ],
        vec!["flows", "fixtures/flows/sample-vpc.log"],
    ] {
        let mut a = args.clone();
        a.extend(["--audit", s, "--audit-key", k, "--format", "json"]);
        let o = residency(&a);
        assert!(stderr(&o).contains("recorded as run"), "{}", stderr(&o));
    }
    let html = dir.path().join("report.html");
    let o = residency(&[
        "report",
        "--audit",
        s,
        "--audit-key",
        k,
        "--output",
        html.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = std::process::Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8(out.stdout).unwrap();
    // The summary.
    assert!(
        dom.contains(r#"id="verdict" data-compliant="false">Not compliant<"#),
        "no verdict"
    );
    assert!(dom.contains(r#"id="summary""#) && dom.contains(r#"id="count-error""#));
    // The map: where data lives (PL, FR, DE: EEA; GB: adequate; US: conditional;
    // ZA: third country, from the hostile asset) and where flows went (IN).
    for (country, class) in [
        ("PL", "eea"),
        ("DE", "eea"),
        ("GB", "adequate"),
        ("US", "conditional"),
        ("ZA", "third_country"),
        ("IN", "third_country"),
    ] {
        let needle = format!(r#"<path data-country="{country}" class="shade-{class}""#);
        assert!(dom.contains(&needle), "{country} is not shaded {class}");
    }
    for unshaded in ["CN", "AU", "BR", "RU"] {
        assert!(
            dom.contains(&format!(r#"<path data-country="{unshaded}" d="#)),
            "{unshaded} should not be shaded"
        );
    }
    // The transfer register rows.
    for subject in ["analytics-events", "lb-london", "mailer"] {
        assert!(
            dom.contains(&format!(
                r#"<tr class="transfer" data-subject="{subject}">"#
            )),
            "no transfer row for {subject}"
        );
    }
    assert!(
        dom.contains("TIA-2026-003"),
        "the approved transfer's TIA is missing"
    );
    // Hostile names are text, never markup: no script element, no injected image.
    assert!(
        !dom.contains("<script"),
        "a script element made it into the DOM"
    );
    assert!(
        !dom.contains("<img"),
        "an image element made it into the DOM"
    );
    assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // The evidence block: the chain verified.
    assert!(dom.contains(r#"id="chain-ok""#));
}
