//! The JSON report. Schema: `docs/schema/scan-report.schema.json` (checked in tests).

use super::{ReportMeta, SCHEMA_VERSION};
use crate::engine::{AssetVerdict, Evaluation, Finding, Summary};
use serde::Serialize;
use std::io::{self, Write};

#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    #[serde(flatten)]
    meta: &'a ReportMeta,
    summary: &'a Summary,
    findings: &'a [Finding],
    assets: &'a [AssetVerdict],
}

/// Writes the report as pretty JSON with a trailing newline.
pub fn render(evaluation: &Evaluation, meta: &ReportMeta, out: &mut dyn Write) -> io::Result<()> {
    let doc = Document {
        schema_version: SCHEMA_VERSION,
        meta,
        summary: &evaluation.summary,
        findings: &evaluation.findings,
        assets: &evaluation.assets,
    };
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
    writeln!(out)
}
