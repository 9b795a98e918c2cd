//! Markdown for a pull-request comment: the verdict, counts, the findings table,
//! and how to fix each rule that fired.

use super::ReportMeta;
use crate::engine::{Evaluation, RuleId, Severity};
use crate::rules;
use std::collections::BTreeSet;
use std::io::{self, Write};

/// Rows shown before the rest is summarised.
const MAX_ROWS: usize = 100;

/// Text for a table cell: `|` escaped, line breaks as `<br>`, so the row stays one row.
pub(crate) fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', "<br>")
}

/// Writes the Markdown summary.
pub fn render(evaluation: &Evaluation, meta: &ReportMeta, out: &mut dyn Write) -> io::Result<()> {
    let s = &evaluation.summary;
    let verdict = if s.compliant {
        "✅ compliant"
    } else {
        "❌ not compliant"
    };
    writeln!(out, "## residency: {verdict}\n")?;
    writeln!(
        out,
        "Policy `{}` · as of {} · **{}** errors · **{}** warnings · {} info · {} waived · {} assets checked ({} with personal data)\n",
        meta.policy.name, meta.as_of, s.errors, s.warnings, s.info, s.waived, s.assets, s.personal_data_assets
    )?;
    if evaluation.findings.is_empty() {
        writeln!(
            out,
            "No findings: personal data stays in allowed jurisdictions."
        )?;
    } else {
        writeln!(out, "| | rule | subject | where | finding |")?;
        writeln!(out, "|---|---|---|---|---|")?;
        for f in evaluation.findings.iter().take(MAX_ROWS) {
            let icon = match (f.waived.is_some(), f.severity) {
                (true, _) => "⚪ waived",
                (false, Severity::Error) => "🔴 error",
                (false, Severity::Warning) => "🟠 warning",
                (false, Severity::Info) => "🔵 info",
            };
            let place = f
                .location
                .as_ref()
                .map(|l| {
                    let countries: Vec<&str> = l.countries.iter().map(|c| c.as_str()).collect();
                    let head = [l.provider.as_deref(), l.region.as_deref()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" ");
                    format!(
                        "{head} ({})",
                        if countries.is_empty() {
                            "unknown".into()
                        } else {
                            countries.join("+")
                        }
                    )
                })
                .unwrap_or_default();
            writeln!(
                out,
                "| {icon} | {} `{}` | `{}` | {} | {} |",
                f.rule.code(),
                f.name,
                cell(&f.subject),
                cell(place.trim()),
                cell(&f.message)
            )?;
        }
        if evaluation.findings.len() > MAX_ROWS {
            writeln!(
                out,
                "\n…and {} more findings (see the SARIF or JSON report).",
                evaluation.findings.len() - MAX_ROWS
            )?;
        }
        let fired: BTreeSet<RuleId> = evaluation.findings.iter().map(|f| f.rule).collect();
        writeln!(out, "\n<details><summary>How to fix</summary>\n")?;
        for rule in fired {
            if let Some(d) = rules::doc(rule) {
                writeln!(
                    out,
                    "**{} {}** ({}): {}\n",
                    d.id,
                    d.title,
                    d.article,
                    d.remediation.trim().replace('\n', " ")
                )?;
            }
        }
        writeln!(out, "Details: `residency explain <RULE>`.\n</details>")?;
    }
    writeln!(
        out,
        "\n<sub>residency {} · policy sha256 {} · adequacy list {} · regions {} · geodb {}</sub>",
        meta.tool.version,
        meta.policy.hash.get(..12).unwrap_or(&meta.policy.hash),
        meta.knowledge.adequacy_list_date,
        meta.knowledge.region_catalogue,
        meta.knowledge.geodb.build_date
    )
}
