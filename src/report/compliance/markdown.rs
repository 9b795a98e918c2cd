//! The compliance report as Markdown (for tickets and wikis).

use super::{human_bytes, Context};
use crate::audit::view::AuditReport;
use std::io::{self, Write};

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Renders the report.
pub fn render(r: &AuditReport, ctx: &Context, out: &mut dyn Write) -> io::Result<()> {
    let (errors, warnings, infos, waived) = r.counts();
    let verdict = if r.compliant() {
        "✅ compliant"
    } else {
        "❌ not compliant"
    };
    writeln!(out, "# Data residency report: {verdict}\n")?;
    writeln!(
        out,
        "Generated {} from `{}`. {errors} errors, {warnings} warnings, {infos} info, {waived} waived; {} transfers in the register.\n",
        ctx.generated_at,
        r.store,
        r.transfers.len()
    )?;
    if r.previous_scan.is_some() {
        writeln!(
            out,
            "Since the previous audit: {} new, {} resolved findings.\n",
            r.new_findings.len(),
            r.resolved_findings.len()
        )?;
    }
    if !r.findings.is_empty() {
        writeln!(out, "## Findings\n\n| severity | rule | subject | finding | article | waiver |\n|---|---|---|---|---|---|")?;
        for f in &r.findings {
            writeln!(
                out,
                "| {} | {} {} | `{}` | {} | {} | {} |",
                f.severity,
                f.rule,
                f.name,
                cell(&f.subject),
                cell(&f.message),
                cell(&f.article),
                cell(f.waiver.as_deref().unwrap_or(""))
            )?;
        }
        writeln!(out)?;
    }
    writeln!(out, "## Transfer register (Art. 30(1)(e))\n")?;
    if r.transfers.is_empty() {
        writeln!(out, "No transfers outside the EEA.\n")?;
    } else {
        writeln!(out, "| subject | recipient | country | data categories | mechanism | TIA | expires | approval |\n|---|---|---|---|---|---|---|---|")?;
        for t in &r.transfers {
            writeln!(
                out,
                "| `{}` | {} | {} | {} | {} | {} | {} | {} |",
                cell(&t.subject),
                cell(&t.recipient),
                t.countries.join(", "),
                cell(&t.data_categories.join(", ")),
                t.mechanism,
                cell(t.tia.as_deref().unwrap_or("")),
                t.expires.as_deref().unwrap_or(""),
                cell(t.approval.as_deref().unwrap_or(""))
            )?;
        }
        writeln!(out)?;
    }
    if !r.waivers.is_empty() {
        writeln!(out, "## Waiver register\n\n| waiver | rules | subjects | approver | ticket | expires | waived |\n|---|---|---|---|---|---|---|")?;
        for w in &r.waivers {
            let flag = if w.expires.as_str() <= ctx.soon.as_str() {
                " ⚠"
            } else {
                ""
            };
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {}{flag} | {} |",
                cell(&w.id),
                w.rules.join(", "),
                cell(&w.subjects.join(", ")),
                cell(&w.approver),
                cell(&w.ticket),
                w.expires,
                w.used
            )?;
        }
        writeln!(out)?;
    }
    if !r.egress.is_empty() {
        writeln!(
            out,
            "## Egress by country\n\n| country | flows | bytes | denied |\n|---|---|---|---|"
        )?;
        for (c, e) in &r.egress {
            writeln!(
                out,
                "| {c} | {} | {} | {} |",
                e.flows,
                human_bytes(e.bytes),
                e.denied
            )?;
        }
        writeln!(out)?;
    }
    let v = &r.verification;
    writeln!(
        out,
        "## Evidence\n\nChain: {} ({} rows); head hash `{}`.",
        match &v.first_bad {
            None => "verified".to_string(),
            Some(b) => format!("BROKEN — {}", b.reason),
        },
        v.rows,
        v.head
    )?;
    for run in [&r.scan, &r.flows].into_iter().flatten() {
        writeln!(
            out,
            "\n- {} row {} at {}: residency {}, policy `{}` ({}), adequacy list {}, geodb {}",
            run.run.command,
            run.seq,
            run.at,
            run.run.version,
            run.run.policy,
            run.run.policy_hash,
            run.run.adequacy_list_date,
            run.run.geodb
        )?;
        for i in &run.run.inputs {
            writeln!(out, "  - `{}` sha256 `{}`", i.path, i.sha256)?;
        }
    }
    Ok(())
}
