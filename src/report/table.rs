//! The table for people: one row per finding, then a verdict line.

use super::{RenderOptions, ReportMeta};
use crate::engine::{Evaluation, Finding, Severity};
use comfy_table::{presets, Attribute, Cell, Color, ContentArrangement, Table};
use std::io::{self, Write};

fn severity_cell(f: &Finding, color: bool) -> Cell {
    let text = if f.waived.is_some() {
        format!("{} (waived)", f.severity.as_str())
    } else {
        f.severity.as_str().to_string()
    };
    let cell = Cell::new(text);
    if !color {
        return cell;
    }
    match (f.waived.is_some(), f.severity) {
        (true, _) => cell.fg(Color::DarkGrey),
        (false, Severity::Error) => cell.fg(Color::Red).add_attribute(Attribute::Bold),
        (false, Severity::Warning) => cell.fg(Color::Yellow),
        (false, Severity::Info) => cell.fg(Color::Blue),
    }
}

fn where_text(f: &Finding) -> String {
    match &f.location {
        None => "-".into(),
        Some(l) => {
            let place: Vec<&str> = l.countries.iter().map(|c| c.as_str()).collect();
            let head = match (&l.provider, &l.region) {
                (Some(p), Some(r)) => format!("{p} {r}"),
                (Some(p), None) => p.to_string(),
                (None, _) => String::new(),
            };
            match (head.is_empty(), place.is_empty()) {
                (true, true) => "unknown".into(),
                (true, false) => place.join("+"),
                (false, true) => format!("{head}\n(unknown)"),
                (false, false) => format!("{head}\n({})", place.join("+")),
            }
        }
    }
}

/// Writes the table and the verdict.
pub fn render(
    evaluation: &Evaluation,
    meta: &ReportMeta,
    opts: RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let s = &evaluation.summary;
    if evaluation.findings.is_empty() {
        writeln!(out, "No findings.")?;
    } else {
        let mut t = Table::new();
        t.load_preset(presets::UTF8_FULL_CONDENSED);
        t.set_content_arrangement(ContentArrangement::Dynamic);
        t.set_width(opts.width.unwrap_or(140));
        if !opts.color {
            t.force_no_tty();
        }
        t.set_header(vec!["severity", "rule", "subject", "where", "finding"]);
        for f in &evaluation.findings {
            let mut text = f.message.clone();
            text.push_str("\nfix: ");
            text.push_str(&f.remediation);
            if let Some(w) = &f.waived {
                text.push_str(&format!(
                    "\nwaived by {} ({}, {}) until {}",
                    w.id, w.approver, w.ticket, w.expires
                ));
            }
            t.add_row(vec![
                severity_cell(f, opts.color),
                Cell::new(format!("{}\n{}", f.rule.code(), f.name)),
                Cell::new(&f.subject),
                Cell::new(where_text(f)),
                Cell::new(text),
            ]);
        }
        writeln!(out, "{t}")?;
    }
    let verdict = if s.compliant {
        "compliant"
    } else {
        "NOT compliant"
    };
    writeln!(
        out,
        "{} assets ({} with personal data): {} errors, {} warnings, {} info, {} waived: {verdict}",
        s.assets, s.personal_data_assets, s.errors, s.warnings, s.info, s.waived
    )?;
    writeln!(
        out,
        "policy {} (sha256 {}), as of {}, adequacy list {}, regions {}, geodb {} ({})",
        meta.policy.name,
        meta.policy.hash.get(..12).unwrap_or(&meta.policy.hash),
        meta.as_of,
        meta.knowledge.adequacy_list_date,
        meta.knowledge.region_catalogue,
        meta.knowledge.geodb.path,
        meta.knowledge.geodb.build_date
    )?;
    Ok(())
}
