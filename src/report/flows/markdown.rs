//! The flow report as Markdown, for a pull request or an audit file: the verdict,
//! traffic per destination, then the findings.

use super::{destination_label, top_network, FlowReport};
use crate::engine::Severity;
use crate::report::markdown::cell;
use std::io::{self, Write};

/// Writes the verdict, a table of traffic per destination and one of findings.
pub fn write(r: &FlowReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    let verdict = if r.findings.iter().any(|f| f.severity == Severity::Error) {
        "❌ transfers without a legal basis"
    } else {
        "✅ every transfer allowed"
    };
    let s = &r.summary;
    writeln!(out, "## residency flows: {verdict}\n")?;
    writeln!(
        out,
        "Policy `{}` · as of {} · {} records ({} rejected, {} skipped, {} malformed)\n",
        r.policy_name, r.as_of, s.records, s.rejected, s.skipped, s.malformed
    )?;
    writeln!(
        out,
        "| destination | class | flows | bytes | top network:port |\n|---|---|---|---|---|"
    )?;
    for c in &r.destinations {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            cell(&destination_label(c)),
            c.class.as_str(),
            c.flows,
            c.bytes,
            top_network(c)
        )?;
    }
    if !r.findings.is_empty() {
        writeln!(
            out,
            "\n| | rule | destination | finding |\n|---|---|---|---|"
        )?;
        for f in r.findings {
            writeln!(
                out,
                "| {} | {} `{}` | `{}` | {} |",
                f.severity.as_str(),
                f.rule.code(),
                f.name,
                f.subject,
                cell(&f.message)
            )?;
        }
    }
    Ok(())
}
