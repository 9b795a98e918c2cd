//! Compliance reports from the audit store: one self-contained HTML page (map,
//! charts, registers, evidence), Markdown, CSV registers and JSON. Every renderer
//! reads the same [`AuditReport`].

pub mod csv;
pub mod html;
pub mod markdown;

use crate::audit::view::AuditReport;
use std::collections::BTreeMap;

/// What a renderer needs besides the report: the class of every country shown,
/// when the report was made, and the date waivers are measured against.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// ISO code -> `eea`, `adequate`, `conditional`, `third_country`.
    pub classes: BTreeMap<String, String>,
    /// When the report was generated (RFC 3339).
    pub generated_at: String,
    /// Today (YYYY-MM-DD): waivers expiring within 30 days of it are highlighted.
    pub today: String,
    /// The day 30 days after `today`.
    pub soon: String,
}

/// The countries where data lives (assets) and where it goes (egress), with the
/// roles they play: (holds data, receives flows).
pub fn places(report: &AuditReport) -> BTreeMap<String, (bool, bool)> {
    let mut out: BTreeMap<String, (bool, bool)> = BTreeMap::new();
    for a in report.assets.iter().filter(|a| a.personal_data) {
        for c in &a.countries {
            out.entry(c.clone()).or_default().0 = true;
        }
    }
    for t in &report.transfers {
        for c in &t.countries {
            out.entry(c.clone()).or_default().0 = true;
        }
    }
    for (c, e) in &report.egress {
        if c != "unknown" && (e.flows > 0 || e.bytes > 0) {
            out.entry(c.clone()).or_default().1 = true;
        }
    }
    out
}

/// A byte count for people: `1.2 GB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    let u = UNITS.get(unit).copied().unwrap_or("B");
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {u}")
    }
}
