//! `residency audit verify|prune|log`, and the `--audit` options that `scan` and
//! `flows` share to record their runs.

use super::ExitStatus;
use crate::audit::record::{self, InputRow, RunRow};
use crate::audit::{default_key_path, default_store_path, Key, Kind, NewRecord, Store};
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;

const AUDIT_HELP: &str = "\
The audit store is one SQLite file. Every row is hash-chained to the one before and signed with
a key kept apart from the store, so `audit verify` shows that nothing was altered, deleted,
inserted, reordered or forged since it was written.

Defaults:
  store  $XDG_DATA_HOME/residency/audit.sqlite   (else ~/.local/share/residency/audit.sqlite)
  key    $XDG_CONFIG_HOME/residency/audit.key    (else ~/.config/residency/audit.key; created on first write)

Examples:
  residency scan inventory.yaml --audit                      # record into the default store
  residency flows vpc/*.log.gz --audit audit.sqlite
  residency audit verify --audit audit.sqlite
  residency audit log --audit audit.sqlite --since 2026-01-01
  residency audit prune --audit audit.sqlite --before 2024-01-01
  residency report --audit audit.sqlite --format html --output report.html";

/// `--audit [FILE]` and `--audit-key FILE`, for commands that record their runs.
#[derive(Debug, Args, Clone, Default)]
pub struct RecordArgs {
    /// Record this run in the audit store (FILE, or the default store when given
    /// without a value; also RESIDENCY_AUDIT).
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "", env = "RESIDENCY_AUDIT")]
    pub audit: Option<PathBuf>,
    /// The key that signs the store's rows (default: ~/.config/residency/audit.key, created if missing).
    #[arg(long, value_name = "FILE", env = "RESIDENCY_AUDIT_KEY")]
    pub audit_key: Option<PathBuf>,
}

/// `--audit FILE` and `--audit-key FILE`, for commands that read a store.
#[derive(Debug, Args, Clone, Default)]
pub struct StoreArgs {
    /// The audit store (default: ~/.local/share/residency/audit.sqlite; also RESIDENCY_AUDIT).
    #[arg(long, value_name = "FILE", env = "RESIDENCY_AUDIT")]
    pub audit: Option<PathBuf>,
    /// The store's key (default: ~/.config/residency/audit.key). Without it the
    /// chain is checked, the signatures are not.
    #[arg(long, value_name = "FILE", env = "RESIDENCY_AUDIT_KEY")]
    pub audit_key: Option<PathBuf>,
}

fn store_path(explicit: Option<&PathBuf>) -> anyhow::Result<PathBuf> {
    match explicit.filter(|p| !p.as_os_str().is_empty()) {
        Some(p) => Ok(p.clone()),
        None => default_store_path().context(
            "no audit store given and no home directory for the default one; pass --audit FILE",
        ),
    }
}

fn key_path(explicit: Option<&PathBuf>) -> anyhow::Result<PathBuf> {
    match explicit {
        Some(p) => Ok(p.clone()),
        None => default_key_path().context(
            "no audit key given and no home directory for the default one; pass --audit-key FILE",
        ),
    }
}

impl RecordArgs {
    /// Opens the store for writing when `--audit` was given.
    pub fn open(&self) -> anyhow::Result<Option<Store>> {
        let Some(given) = &self.audit else {
            return Ok(None);
        };
        let path = store_path(Some(given))?;
        let key = Key::load(&key_path(self.audit_key.as_ref())?, true)?;
        Ok(Some(Store::open(&path, Some(key))?))
    }
}

impl StoreArgs {
    /// Opens an existing store; the key is used when it can be read.
    pub fn open(&self) -> anyhow::Result<Store> {
        let path = store_path(self.audit.as_ref())?;
        let key = match &self.audit_key {
            Some(p) => Some(Key::load(p, false)?),
            None => default_key_path().and_then(|p| Key::load(&p, false).ok()),
        };
        Ok(Store::open_existing(&path, key)?)
    }

    /// Opens the store for maintenance (prune): the key is required.
    pub fn open_writable(&self) -> anyhow::Result<Store> {
        let path = store_path(self.audit.as_ref())?;
        if !path.is_file() {
            anyhow::bail!("audit store {}: no such file", path.display());
        }
        let key = Key::load(&key_path(self.audit_key.as_ref())?, false)?;
        Ok(Store::open(&path, Some(key))?)
    }
}

/// Records a scan: the run, its findings, assets, transfer and waiver registers.
pub fn record_scan(
    store: &mut Store,
    evaluation: &crate::engine::Evaluation,
    meta: &crate::report::ReportMeta,
    policy: &crate::engine::Policy,
) -> anyhow::Result<i64> {
    let s = &evaluation.summary;
    let run = RunRow {
        version: meta.tool.version.to_string(),
        as_of: meta.as_of.clone(),
        organisation: meta.organisation.clone(),
        policy: meta.policy.name.clone(),
        policy_hash: meta.policy.hash.clone(),
        adequacy_list_date: meta.knowledge.adequacy_list_date.clone(),
        geodb: format!(
            "{} ({})",
            meta.knowledge.geodb.path, meta.knowledge.geodb.build_date
        ),
        inputs: meta
            .inputs
            .iter()
            .map(|i| InputRow {
                path: i.path.clone(),
                sha256: i.sha256.clone(),
            })
            .collect(),
        assets: s.assets as u64,
        ..RunRow::outcome("scan", s)
    };
    let mut children: Vec<NewRecord> = Vec::new();
    children.extend(record::records(
        Kind::Finding,
        &record::finding_rows(&evaluation.findings),
    ));
    children.extend(record::records(
        Kind::Asset,
        &record::asset_rows(evaluation),
    ));
    children.extend(record::records(Kind::Transfer, &meta.transfers));
    children.extend(record::records(
        Kind::Waiver,
        &record::waiver_rows(policy, &evaluation.findings),
    ));
    append(store, &run, children)
}

/// Records a flow audit: the run (with flows and bytes per country), its
/// findings, and the approved recipients as transfer-register lines. Each log
/// is named by the digest `read_log` took of it (asked for only when recording).
pub fn record_flows(
    store: &mut Store,
    report: &crate::report::flows::FlowReport<'_>,
    policy: &crate::policies::LoadedPolicy,
) -> anyhow::Result<i64> {
    let findings = report.findings;
    let s = crate::engine::Summary::tally(findings, 0, 0);
    let run = RunRow {
        version: env!("CARGO_PKG_VERSION").into(),
        as_of: report.as_of.to_string(),
        organisation: None,
        policy: report.policy_name.to_string(),
        policy_hash: report.policy_hash.to_string(),
        adequacy_list_date: report.adequacy_list_date.to_string(),
        geodb: report.geodb.to_string(),
        inputs: report
            .inputs
            .iter()
            .map(|i| InputRow {
                path: i.path.clone(),
                sha256: i.sha256.clone().unwrap_or_default(),
            })
            .collect(),
        records: report.summary.records,
        flows_by_country: report.summary.flows_by_country.clone(),
        bytes_by_country: report.summary.bytes_by_country.clone(),
        ..RunRow::outcome("flows", &s)
    };
    let mut children = record::records(Kind::Finding, &record::finding_rows(findings));
    children.extend(record::records(
        Kind::Transfer,
        &record::recipient_rows(&policy.policy),
    ));
    append(store, &run, children)
}

fn append(store: &mut Store, run: &RunRow, children: Vec<NewRecord>) -> anyhow::Result<i64> {
    let seq = store.append_run(serde_json::to_value(run)?, children)?;
    if store.file().is_some() {
        eprintln!("recorded as run {seq} in {}", store.path());
    }
    Ok(seq)
}

/// Arguments of `audit`.
#[derive(Debug, Subcommand)]
#[command(after_help = AUDIT_HELP)]
pub enum AuditCommand {
    /// Check the whole hash chain (and the signatures, with the key); name the first bad row.
    Verify(VerifyArgs),
    /// List the recorded runs.
    Log(LogArgs),
    /// Remove runs recorded before a date; a signed checkpoint keeps the rest verifiable.
    Prune(PruneArgs),
}

/// Output of `audit verify` and `audit log`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TextOrJson {
    /// Lines for people.
    Text,
    /// JSON.
    Json,
}

/// Arguments of `audit verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = TextOrJson::Text)]
    format: TextOrJson,
}

/// Arguments of `audit log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Only runs recorded on or after this date (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = TextOrJson::Text)]
    format: TextOrJson,
}

/// Arguments of `audit prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Remove runs recorded before this date (YYYY-MM-DD).
    #[arg(long, value_name = "DATE", value_parser = super::common::parse_as_of)]
    before: time::Date,
}

/// Runs `audit`.
pub fn run(cmd: AuditCommand) -> anyhow::Result<ExitStatus> {
    let mut out = std::io::stdout().lock();
    match cmd {
        AuditCommand::Verify(a) => {
            let store = a.store.open()?;
            let v = store.verify()?;
            match a.format {
                TextOrJson::Json => {
                    serde_json::to_writer_pretty(&mut out, &v)?;
                    writeln!(out)?;
                }
                TextOrJson::Text => match &v.first_bad {
                    None => writeln!(
                        out,
                        "ok: {} rows verified{}; head {}{}",
                        v.rows,
                        if v.macs_checked {
                            ", signatures checked"
                        } else {
                            " (hash chain only: no key, signatures not checked)"
                        },
                        v.head,
                        v.checkpoint
                            .as_ref()
                            .map(|(s, _)| format!("; continues from the checkpoint at row {s}"))
                            .unwrap_or_default()
                    )?,
                    Some(b) => writeln!(out, "FAILED at row {}: {}", b.seq, b.reason)?,
                },
            }
            Ok(if v.ok() {
                ExitStatus::Success
            } else {
                ExitStatus::Failure
            })
        }
        AuditCommand::Log(a) => {
            let store = a.store.open()?;
            let runs = store.runs(a.since.as_deref(), None)?;
            if a.format == TextOrJson::Json {
                let rows: Vec<serde_json::Value> = runs
                    .iter()
                    .map(|r| serde_json::json!({"seq": r.seq, "at": r.at, "run": r.body}))
                    .collect();
                serde_json::to_writer_pretty(&mut out, &rows)?;
                writeln!(out)?;
            } else {
                for r in &runs {
                    let run: Option<RunRow> = serde_json::from_value(r.body.clone()).ok();
                    match run {
                        Some(x) => {
                            writeln!(
                            out,
                            "{:>6}  {}  {:<5}  {}  {} errors, {} warnings, {} waived  policy {}",
                            r.seq,
                            r.at,
                            x.command,
                            if x.compliant { "compliant    " } else { "not compliant" },
                            x.errors,
                            x.warnings,
                            x.waived,
                            x.policy
                        )?
                        }
                        None => writeln!(out, "{:>6}  {}  (unreadable run)", r.seq, r.at)?,
                    }
                }
                if runs.is_empty() {
                    writeln!(out, "no runs recorded")?;
                }
            }
            Ok(ExitStatus::Success)
        }
        AuditCommand::Prune(a) => {
            let mut store = a.store.open_writable()?;
            let removed = store.prune(&a.before.to_string())?;
            writeln!(
                out,
                "pruned {removed} rows recorded before {}; the chain continues from a signed checkpoint",
                a.before
            )?;
            Ok(ExitStatus::Success)
        }
    }
}
