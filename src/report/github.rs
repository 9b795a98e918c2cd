//! GitHub Actions workflow commands: one `::error` / `::warning` / `::notice`
//! annotation per unwaived finding, on the file and line of the resource when known.

use super::ReportMeta;
use crate::engine::{Evaluation, Severity};
use std::io::{self, Write};

/// Escapes a message (`%`, CR, LF).
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value (`%`, CR, LF, `:`, `,`).
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Writes the annotations.
pub fn render(evaluation: &Evaluation, meta: &ReportMeta, out: &mut dyn Write) -> io::Result<()> {
    for f in evaluation.findings.iter().filter(|f| f.waived.is_none()) {
        let command = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut props = Vec::new();
        if let Some(p) = meta.place(&f.subject) {
            props.push(format!("file={}", property(&p.uri)));
            if let Some(l) = p.line {
                props.push(format!("line={l}"));
            }
        }
        props.push(format!(
            "title={}",
            property(&format!("{} {} ({})", f.rule.code(), f.name, f.subject))
        ));
        writeln!(
            out,
            "::{command} {}::{}",
            props.join(","),
            data(&format!("{}\nfix: {}", f.message, f.remediation))
        )?;
    }
    let s = &evaluation.summary;
    writeln!(
        out,
        "residency: {} errors, {} warnings, {} waived ({})",
        s.errors,
        s.warnings,
        s.waived,
        if s.compliant {
            "compliant"
        } else {
            "not compliant"
        }
    )
}
