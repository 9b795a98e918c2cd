//! `residency explain`: the rule documentation, from `policies/rules/`.

use super::ExitStatus;
use crate::engine::RuleId;
use crate::error::did_you_mean;
use crate::rules::{self, RuleDoc};
use clap::{Args, ValueEnum};
use std::io::Write;

/// Arguments of `explain`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  residency explain            # list every rule\n  residency explain RES003\n  residency explain location-unknown --format markdown"
)]
pub struct ExplainArgs {
    /// Rule id (`RES001`) or name (`storage-outside-allowed`); omit to list all rules.
    #[arg(value_name = "RULE")]
    pub rule: Option<String>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = ExplainFormat::Text)]
    pub format: ExplainFormat,
}

/// Formats of `explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    /// Plain text.
    Text,
    /// Markdown (used for docs/rules.md).
    Markdown,
    /// JSON.
    Json,
}

fn text(d: &RuleDoc) -> String {
    format!(
        "{} {}: {}\nseverity: {} (default)    GDPR: {}\n\n{}\n\nWhy:\n{}\n\nFix:\n{}\n\nViolates:\n{}\n\nComplies:\n{}\n{}",
        d.id,
        d.name,
        d.title,
        d.severity,
        d.article,
        d.summary,
        d.rationale.trim(),
        d.remediation.trim(),
        indent(&d.violating),
        indent(&d.complying),
        if d.references.is_empty() {
            String::new()
        } else {
            format!("\nReferences: {}\n", d.references.join("; "))
        }
    )
}

fn indent(s: &str) -> String {
    s.trim_matches('\n')
        .lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One rule as Markdown.
pub fn markdown(d: &RuleDoc) -> String {
    d.markdown("##")
}

/// Runs `explain`.
pub fn run(args: ExplainArgs) -> anyhow::Result<ExitStatus> {
    let mut out = std::io::stdout().lock();
    let docs: Vec<&RuleDoc> = match &args.rule {
        Some(name) => {
            let rule = RuleId::parse(name).ok_or_else(|| {
                let names = RuleId::ALL.iter().flat_map(|r| [r.code(), r.name()]);
                let hint = did_you_mean(name, names)
                    .unwrap_or_else(|| "run `residency explain` to list the rules".into());
                anyhow::anyhow!("unknown rule `{name}`\n  hint: {hint}")
            })?;
            vec![rules::doc(rule)
                .ok_or_else(|| anyhow::anyhow!("no documentation for {}", rule.code()))?]
        }
        None => rules::all().iter().collect(),
    };
    match args.format {
        ExplainFormat::Json => {
            serde_json::to_writer_pretty(
                &mut out,
                &docs.iter().map(|d| doc_json(d)).collect::<Vec<_>>(),
            )?;
            writeln!(out)?;
        }
        ExplainFormat::Markdown => {
            for d in docs {
                writeln!(out, "{}", markdown(d))?;
            }
        }
        ExplainFormat::Text if args.rule.is_none() => {
            for d in docs {
                writeln!(
                    out,
                    "{}  {:<34} {:<8} {}",
                    d.id, d.name, d.severity, d.title
                )?;
            }
            writeln!(out, "\nrun `residency explain RULE` for details")?;
        }
        ExplainFormat::Text => {
            for d in docs {
                write!(out, "{}", text(d))?;
            }
        }
    }
    Ok(ExitStatus::Success)
}

fn doc_json(d: &RuleDoc) -> serde_json::Value {
    serde_json::json!({
        "id": d.id, "name": d.name, "title": d.title, "article": d.article, "severity": d.severity,
        "summary": d.summary, "rationale": d.rationale.trim(), "remediation": d.remediation.trim(),
        "violating": d.violating.trim_matches('\n'), "complying": d.complying.trim_matches('\n'),
        "references": d.references,
    })
}
