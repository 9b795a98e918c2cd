//! The compliance report's content, read from the store: the latest scan and
//! flow audit in a window, what changed since the audit before, trends, the
//! registers and the evidence (versions, hashes, the chain's verification).

use super::record::{AssetRow, FindingRow, RunRow, TransferRow, WaiverRow};
use super::store::{AuditError, Kind, Store, StoredRecord, Verification};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A window of time over the store: `[from, to)`, dates or RFC 3339 times.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Window {
    /// Inclusive start.
    pub from: Option<String>,
    /// Exclusive end.
    pub to: Option<String>,
}

/// One recorded run, with its row number and time.
#[derive(Debug, Clone, Serialize)]
pub struct RunView {
    /// Its row in the chain.
    pub seq: i64,
    /// When it was recorded.
    pub at: String,
    /// What it recorded.
    #[serde(flatten)]
    pub run: RunRow,
}

/// One point of the findings trend.
#[derive(Debug, Clone, Serialize)]
pub struct TrendPoint {
    /// When.
    pub at: String,
    /// `scan` or `flows`.
    pub command: String,
    /// Unwaived errors.
    pub errors: u64,
    /// Unwaived warnings.
    pub warnings: u64,
    /// Unwaived infos.
    pub info: u64,
    /// Bytes to public destinations (flow audits).
    pub egress_bytes: u64,
}

/// Egress to one country over the window.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Egress {
    /// Accepted flows (flow audits) and allowed connections (proxy).
    pub flows: u64,
    /// Bytes.
    pub bytes: u64,
    /// Connections the proxy denied.
    pub denied: u64,
}

/// Everything a compliance report shows.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    /// The store read.
    pub store: String,
    /// The window.
    pub window: Window,
    /// The latest scan in the window.
    pub scan: Option<RunView>,
    /// The scan before it, if any.
    pub previous_scan: Option<RunView>,
    /// The latest flow audit in the window.
    pub flows: Option<RunView>,
    /// Findings of the latest scan and flow audit.
    pub findings: Vec<FindingRow>,
    /// Findings not in the previous scan.
    pub new_findings: Vec<FindingRow>,
    /// Findings of the previous scan that are gone.
    pub resolved_findings: Vec<FindingRow>,
    /// Where data lives (latest scan).
    pub assets: Vec<AssetRow>,
    /// Transfer register (latest scan and flow audit).
    pub transfers: Vec<TransferRow>,
    /// Waiver register (latest scan).
    pub waivers: Vec<WaiverRow>,
    /// Findings and egress per run over the window.
    pub trend: Vec<TrendPoint>,
    /// Egress per destination country over the window (flow audits and proxy decisions).
    pub egress: BTreeMap<String, Egress>,
    /// Destinations the proxy denied most often: (host, country, count).
    pub top_denied: Vec<(String, String, u64)>,
    /// The chain's verification.
    pub verification: Verification,
}

impl AuditReport {
    /// Whether the latest scan and flow audit found no unwaived error.
    pub fn compliant(&self) -> bool {
        self.scan.as_ref().is_none_or(|s| s.run.compliant)
            && self.flows.as_ref().is_none_or(|f| f.run.compliant)
    }

    /// Unwaived findings by severity: (errors, warnings, infos, waived).
    pub fn counts(&self) -> (u64, u64, u64, u64) {
        let mut c = (0, 0, 0, 0);
        for f in &self.findings {
            match (f.waiver.is_some(), f.severity.as_str()) {
                (true, _) => c.3 += 1,
                (false, "error") => c.0 += 1,
                (false, "warning") => c.1 += 1,
                _ => c.2 += 1,
            }
        }
        c
    }
}

fn rows<T: serde::de::DeserializeOwned>(records: Vec<StoredRecord>) -> Vec<T> {
    records
        .into_iter()
        .filter_map(|r| serde_json::from_value(r.body).ok())
        .collect()
}

fn run_view(r: &StoredRecord) -> Option<RunView> {
    let run: RunRow = serde_json::from_value(r.body.clone()).ok()?;
    Some(RunView {
        seq: r.seq,
        at: r.at.clone(),
        run,
    })
}

/// Reads the report's content for `window` from `store`.
pub fn build(store: &Store, window: Window) -> Result<AuditReport, AuditError> {
    let verification = store.verify()?;
    let runs: Vec<RunView> = store
        .runs(window.from.as_deref(), window.to.as_deref())?
        .iter()
        .filter_map(run_view)
        .collect();
    let scans: Vec<&RunView> = runs.iter().filter(|r| r.run.command == "scan").collect();
    let scan = scans.last().map(|r| (*r).clone());
    // "Since the last audit": the latest earlier scan of the same inputs, else the
    // latest earlier scan of anything.
    let paths =
        |r: &RunView| -> BTreeSet<String> { r.run.inputs.iter().map(|i| i.path.clone()).collect() };
    let earlier: Vec<&RunView> = scans.iter().rev().skip(1).copied().collect();
    let previous_scan = scan
        .as_ref()
        .and_then(|s| {
            earlier
                .iter()
                .find(|r| paths(r) == paths(s))
                .or_else(|| earlier.first())
        })
        .map(|r| (*r).clone());
    let flows = runs
        .iter()
        .rev()
        .find(|r| r.run.command == "flows")
        .cloned();
    let mut findings: Vec<FindingRow> = Vec::new();
    let mut assets = Vec::new();
    let mut transfers = Vec::new();
    let mut waivers = Vec::new();
    if let Some(s) = &scan {
        findings.extend(rows::<FindingRow>(store.children(s.seq, Kind::Finding)?));
        assets = rows(store.children(s.seq, Kind::Asset)?);
        transfers.extend(rows::<TransferRow>(store.children(s.seq, Kind::Transfer)?));
        waivers = rows(store.children(s.seq, Kind::Waiver)?);
    }
    let (mut new_findings, mut resolved_findings) = (Vec::new(), Vec::new());
    if let (Some(s), Some(p)) = (&scan, &previous_scan) {
        let now: Vec<FindingRow> = rows(store.children(s.seq, Kind::Finding)?);
        let before: Vec<FindingRow> = rows(store.children(p.seq, Kind::Finding)?);
        let now_fp: BTreeSet<&str> = now.iter().map(|f| f.fingerprint.as_str()).collect();
        let before_fp: BTreeSet<&str> = before.iter().map(|f| f.fingerprint.as_str()).collect();
        new_findings = now
            .iter()
            .filter(|f| !before_fp.contains(f.fingerprint.as_str()))
            .cloned()
            .collect();
        resolved_findings = before
            .iter()
            .filter(|f| !now_fp.contains(f.fingerprint.as_str()))
            .cloned()
            .collect();
    }
    if let Some(f) = &flows {
        findings.extend(rows::<FindingRow>(store.children(f.seq, Kind::Finding)?));
        transfers.extend(rows::<TransferRow>(store.children(f.seq, Kind::Transfer)?));
    }
    let mut egress: BTreeMap<String, Egress> = BTreeMap::new();
    let mut trend = Vec::new();
    for r in &runs {
        let mut bytes = 0;
        for (country, b) in &r.run.bytes_by_country {
            let e = egress.entry(country.clone()).or_default();
            e.bytes += b;
            e.flows += r.run.flows_by_country.get(country).copied().unwrap_or(0);
            bytes += b;
        }
        trend.push(TrendPoint {
            at: r.at.clone(),
            command: r.run.command.clone(),
            errors: r.run.errors,
            warnings: r.run.warnings,
            info: r.run.info,
            egress_bytes: bytes,
        });
    }
    let mut denied: BTreeMap<(String, String), u64> = BTreeMap::new();
    for d in store.loose(Kind::Decision, window.from.as_deref(), window.to.as_deref())? {
        let text = |k: &str| {
            d.body
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        let num = |k: &str| {
            d.body
                .get(k)
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0)
        };
        let country = match text("country") {
            c if c.is_empty() => "unknown".to_string(),
            c => c,
        };
        let e = egress.entry(country.clone()).or_default();
        if text("decision") == "deny" {
            e.denied += 1;
            *denied.entry((text("host"), country)).or_default() += 1;
        } else {
            e.flows += 1;
            e.bytes += num("bytes_up");
        }
    }
    let mut top_denied: Vec<(String, String, u64)> =
        denied.into_iter().map(|((h, c), n)| (h, c, n)).collect();
    top_denied.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    top_denied.truncate(20);
    Ok(AuditReport {
        store: store.path().to_string(),
        window,
        scan,
        previous_scan,
        flows,
        findings,
        new_findings,
        resolved_findings,
        assets,
        transfers,
        waivers,
        trend,
        egress,
        top_denied,
        verification,
    })
}
