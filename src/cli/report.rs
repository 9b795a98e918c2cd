//! `residency report`: the compliance report, from the audit store or from a
//! fresh scan of inventories and plans.

use super::audit::StoreArgs;
use super::output::Output;
use super::ExitStatus;
use crate::audit::view::{self, Window};
use crate::audit::{Key, Store};
use crate::knowledge::Knowledge;
use crate::report::compliance::{self, csv::Table, Context};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

const REPORT_HELP: &str = "\
Examples:
  residency report --audit audit.sqlite --format html --output report.html
  residency report --audit audit.sqlite --since 2026-10-01 --format markdown
  residency report --audit audit.sqlite --format csv --table transfers --output transfers.csv
  residency report fixtures/demo/webinar-platform.yaml --policy fixtures/demo/policy.toml --format html -o demo.html

From the store, the report shows the latest scan and flow audit in the window, what changed
since the scan before, trends over the window, the transfer and waiver registers, and the
evidence: versions, input hashes and the verification of the whole hash chain. With PATHs it
scans them first (nothing is written to any store).";

/// Output formats of `report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// One self-contained, print-friendly HTML page (map, charts, registers, evidence).
    Html,
    /// Markdown.
    Markdown,
    /// CSV of one register (`--table`).
    Csv,
    /// JSON: everything the report shows.
    Json,
}

/// Arguments of `report`.
#[derive(Debug, Args)]
#[command(after_help = REPORT_HELP)]
pub struct ReportArgs {
    /// Inventories or plans to scan now instead of reading the store.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The store to read.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = ReportFormat::Html)]
    pub format: ReportFormat,
    /// For CSV: which register.
    #[arg(long, value_enum, default_value_t = Table::Transfers)]
    pub table: Table,
    /// Only runs recorded on or after this date (YYYY-MM-DD).
    #[arg(long, value_name = "DATE", value_parser = super::common::parse_as_of)]
    pub since: Option<time::Date>,
    /// Only runs recorded in FROM..TO (dates, TO exclusive), e.g. 2026-01-01..2026-04-01.
    #[arg(long, value_name = "FROM..TO", conflicts_with = "since", value_parser = parse_between)]
    pub between: Option<(time::Date, time::Date)>,
    /// Policy for a fresh scan (with PATHs).
    #[arg(long, short = 'p', default_value = crate::policies::DEFAULT, value_name = "NAME|FILE")]
    pub policy: String,
    /// Write the report to FILE instead of stdout. FILE's directory is checked before
    /// any input is read; an existing FILE is replaced only once the new report is
    /// complete, so a run that fails leaves it as it was.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

fn parse_between(s: &str) -> Result<(time::Date, time::Date), String> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| format!("`{s}`: expected FROM..TO, e.g. 2026-01-01..2026-04-01"))?;
    let a = super::common::parse_as_of(a)?;
    let b = super::common::parse_as_of(b)?;
    if b <= a {
        return Err(format!("`{s}`: the end must come after the start"));
    }
    Ok((a, b))
}

/// Runs `report`.
pub fn run(args: ReportArgs) -> anyhow::Result<ExitStatus> {
    let window = match (args.since, args.between) {
        (Some(s), _) => Window {
            from: Some(s.to_string()),
            to: None,
        },
        (None, Some((a, b))) => Window {
            from: Some(a.to_string()),
            to: Some(b.to_string()),
        },
        (None, None) => Window::default(),
    };
    // The report's file first: a path that cannot be written fails before any work.
    let output = Output::open(args.output.as_deref())?;
    let store = if args.paths.is_empty() {
        args.store.open()?
    } else {
        fresh_scan(&args)?
    };
    let report = view::build(&store, window)?;
    let knowledge = Knowledge::load(None, None)?;
    let today = super::common::today();
    let as_of = report
        .scan
        .as_ref()
        .or(report.flows.as_ref())
        .and_then(|r| crate::knowledge::parse_date(&r.run.as_of))
        .unwrap_or(today);
    let mut ctx = Context {
        generated_at: crate::audit::store::now(),
        today: today.to_string(),
        soon: (today + time::Duration::days(30)).to_string(),
        ..Context::default()
    };
    // Every country the report names: where data lives and every egress destination.
    let places = compliance::places(&report);
    for code in places.keys().chain(report.egress.keys()) {
        if let Some(c) = crate::engine::Country::new(code) {
            ctx.classes.insert(
                code.clone(),
                knowledge.legal.class(c, as_of).as_str().to_string(),
            );
        }
    }
    output.write(|out| {
        match args.format {
            ReportFormat::Html => compliance::html::render(&report, &ctx, out)?,
            ReportFormat::Markdown => compliance::markdown::render(&report, &ctx, out)?,
            ReportFormat::Csv => compliance::csv::render(&report, args.table, out)?,
            ReportFormat::Json => {
                serde_json::to_writer_pretty(&mut *out, &report)?;
                writeln!(out)?;
            }
        }
        Ok(())
    })?;
    Ok(if report.verification.ok() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// Scans `args.paths` into a store in memory, with a throw-away key.
fn fresh_scan(args: &ReportArgs) -> anyhow::Result<Store> {
    let setup = super::scan::Setup {
        knowledge: Knowledge::load(None, None)?,
        policy: crate::policies::load(&args.policy)?,
        geo: super::common::open_geodb(None)?,
        as_of: super::common::today(),
        changed_only: false,
        tf_root: None,
    };
    let (evaluation, meta) = super::scan::scan(&setup, &args.paths)?;
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let mut store = Store::in_memory(Key::from_bytes(&raw, "ephemeral"))?;
    super::audit::record_scan(&mut store, &evaluation, &meta, &setup.policy.policy)?;
    Ok(store)
}
