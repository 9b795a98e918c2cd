//! Reporters: one finding model, one file per output format, all writing to `io::Write`.

pub mod compliance;
pub mod flows;
pub mod github;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;
pub mod table;
pub mod world;

use crate::engine::Evaluation;
use crate::inputs::InputFile;
use serde::Serialize;
use std::io::{self, Write};

/// Version of the JSON report schema (`docs/schema/scan-report.schema.json`).
pub const SCHEMA_VERSION: u32 = 1;

/// The tool that wrote a report.
#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    /// Always `residency`.
    pub name: &'static str,
    /// Crate version.
    pub version: &'static str,
}

impl Default for Tool {
    fn default() -> Tool {
        Tool {
            name: "residency",
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// The policy behind a report.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyMeta {
    /// Policy name.
    pub name: String,
    /// Files and presets, child first.
    pub chain: Vec<String>,
    /// SHA-256 of the resolved policy.
    pub hash: String,
}

/// The geodb behind a report.
#[derive(Debug, Clone, Serialize)]
pub struct GeoMeta {
    /// Path or `embedded`.
    pub path: String,
    /// `database_type`.
    pub database_type: String,
    /// Build date.
    pub build_date: String,
}

/// Versions of the knowledge used, as evidence.
#[derive(Debug, Clone, Serialize)]
pub struct KnowledgeMeta {
    /// Date the adequacy list was compiled.
    pub adequacy_list_date: String,
    /// `embedded` or a path.
    pub adequacy_source: String,
    /// EEA list version.
    pub eea_version: String,
    /// Region catalogue version.
    pub region_catalogue: String,
    /// `embedded` or with a path.
    pub region_catalogue_source: String,
    /// The geodb.
    pub geodb: GeoMeta,
}

/// Everything a reporter needs besides the evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct ReportMeta {
    /// The tool.
    pub tool: Tool,
    /// The evaluation date.
    pub as_of: String,
    /// The organisation named in the inventory.
    pub organisation: Option<String>,
    /// The policy.
    pub policy: PolicyMeta,
    /// Knowledge versions.
    pub knowledge: KnowledgeMeta,
    /// Input files with hashes.
    pub inputs: Vec<InputFile>,
    /// Terraform resources looked at (evaluated or skipped), for per-resource reports.
    #[serde(skip)]
    pub resources: Vec<crate::inputs::terraform_plan::CheckedResource>,
    /// Where each subject is written (inventory line, plan file, `.tf` file and line).
    #[serde(skip)]
    pub places: std::collections::BTreeMap<String, Place>,
    /// The transfer register (Art. 30(1)(e)) of the evaluation, for the audit store.
    #[serde(skip)]
    pub transfers: Vec<crate::audit::record::TransferRow>,
}

/// A file and line to point reviewers at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// Path as given (relative paths stay relative, as code scanning wants).
    pub uri: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
}

impl ReportMeta {
    /// The place of `subject`; copies (`address#replica:...`) use their resource's place.
    pub fn place(&self, subject: &str) -> Option<&Place> {
        self.places.get(subject).or_else(|| {
            subject
                .split_once('#')
                .and_then(|(a, _)| self.places.get(a))
        })
    }
}

/// Output formats of `scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for people.
    Table,
    /// JSON with a documented, stable schema.
    Json,
    /// SARIF 2.1.0 for code scanning.
    Sarif,
    /// JUnit XML: a test case per resource or asset.
    Junit,
    /// Markdown for a pull-request comment.
    Markdown,
    /// GitHub Actions annotations (workflow commands).
    Github,
}

/// Rendering options.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// ANSI colour (only on a terminal).
    pub color: bool,
    /// Wrap width for the table, if any.
    pub width: Option<u16>,
}

/// Writes `evaluation` in `format`.
pub fn render(
    evaluation: &Evaluation,
    meta: &ReportMeta,
    format: Format,
    opts: RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Table => table::render(evaluation, meta, opts, out),
        Format::Json => json::render(evaluation, meta, out),
        Format::Sarif => sarif::render(evaluation, meta, out),
        Format::Junit => junit::render(evaluation, meta, out),
        Format::Markdown => markdown::render(evaluation, meta, out),
        Format::Github => github::render(evaluation, meta, out),
    }
}
