//! `residency policy`: validate a policy file, list and show presets.

use super::common::today;
use super::ExitStatus;
use crate::policies::{self, PRESETS};
use clap::Subcommand;
use std::io::Write;

/// Subcommands of `policy`.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate a policy file (or preset) and summarise what it allows.
    #[command(
        after_help = "Examples:\n  residency policy check policies/gdpr.toml\n  residency policy check my-policy.toml\n\nExit codes: 0 valid, 2 invalid (the message names the line and field)."
    )]
    Check {
        /// Policy file or preset name.
        #[arg(value_name = "FILE")]
        file: String,
    },
    /// List the shipped presets.
    List,
    /// Print a preset's TOML, to copy and adapt.
    Show {
        /// Preset name.
        #[arg(value_name = "NAME")]
        name: String,
    },
}

/// Runs `policy`.
pub fn run(cmd: PolicyCommand) -> anyhow::Result<ExitStatus> {
    let mut out = std::io::stdout().lock();
    match cmd {
        PolicyCommand::Check { file } => {
            let loaded = policies::load(&file)?;
            let p = &loaded.policy;
            let today = today();
            writeln!(
                out,
                "policy `{}` is valid ({})",
                p.name,
                loaded.chain.join(" -> ")
            )?;
            writeln!(out, "  sha256: {}", loaded.hash)?;
            if !p.description.is_empty() {
                writeln!(out, "  {}", p.description)?;
            }
            let extra: Vec<&str> = p.extra_countries.iter().map(|c| c.as_str()).collect();
            let denied: Vec<&str> = p.denied_countries.iter().map(|c| c.as_str()).collect();
            writeln!(
                out,
                "  allowed: EEA{}{}{}",
                if p.adequacy {
                    " + adequacy decisions in force"
                } else {
                    ""
                },
                if p.adequacy
                    && p.conditional_adequacy
                        == crate::engine::ConditionalAdequacy::WithCertification
                {
                    " (conditional ones with certification)"
                } else {
                    ""
                },
                if extra.is_empty() {
                    String::new()
                } else {
                    format!(" + {}", extra.join(", "))
                }
            )?;
            if !denied.is_empty() {
                writeln!(out, "  denied: {}", denied.join(", "))?;
            }
            let mechs: Vec<&str> = p.mechanisms.iter().map(|m| m.as_str()).collect();
            writeln!(
                out,
                "  transfer tools: {}{}{}",
                if mechs.is_empty() {
                    "none".to_string()
                } else {
                    mechs.join(", ")
                },
                if p.require_tia { "; TIA required" } else { "" },
                if p.require_supplementary_measures {
                    "; supplementary measures required"
                } else {
                    ""
                }
            )?;
            writeln!(
                out,
                "  providers: {}",
                serde_json::to_value(p.providers)?.as_str().unwrap_or("?")
            )?;
            for (rule, sev) in &p.severities {
                writeln!(
                    out,
                    "  severity {}: {}",
                    rule.code(),
                    sev.map_or("off", |s| s.as_str())
                )?;
            }
            for w in &p.waivers {
                let days = (w.expires - today).whole_days();
                let state = if days < 0 {
                    format!("EXPIRED {} days ago", -days)
                } else if days <= 30 {
                    format!("expires in {days} days")
                } else {
                    format!("until {}", w.expires)
                };
                writeln!(
                    out,
                    "  waiver {} ({} by {}, {}): {state}",
                    w.id,
                    w.ticket,
                    w.approver,
                    w.subjects.join(", ")
                )?;
            }
            for a in &p.approvals {
                let exp = a.basis.expires.map(|e| e.to_string()).unwrap_or_default();
                writeln!(
                    out,
                    "  approved transfer {} ({}, {}): {} until {exp}",
                    a.id,
                    a.basis.mechanism.as_str(),
                    a.approver,
                    a.subjects.join(", ")
                )?;
            }
        }
        PolicyCommand::List => {
            for (name, _) in PRESETS {
                let p = policies::load(name)?;
                writeln!(out, "{name:<10} {}", p.policy.description)?;
            }
        }
        PolicyCommand::Show { name } => {
            let Some((_, text)) = PRESETS.iter().find(|(n, _)| *n == name) else {
                let names: Vec<&str> = PRESETS.iter().map(|(n, _)| *n).collect();
                anyhow::bail!(
                    "unknown preset `{name}`\n  hint: presets: {}",
                    names.join(", ")
                );
            };
            write!(out, "{text}")?;
        }
    }
    Ok(ExitStatus::Success)
}
