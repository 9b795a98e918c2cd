//! The flow report for a terminal: a table per destination, the counts, the bad
//! lines and the findings with their fixes.

use super::{destination_label, top_network, FlowReport};
use std::io::{self, Write};

/// Writes the table of traffic per destination, then the counts, bad lines and findings.
pub fn write(r: &FlowReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    t.set_header(vec![
        "destination",
        "class",
        "flows",
        "bytes",
        "addresses",
        "top network:port",
    ]);
    for c in &r.destinations {
        t.add_row(vec![
            destination_label(c),
            c.class.as_str().to_string(),
            c.flows.to_string(),
            c.bytes.to_string(),
            c.addresses.to_string(),
            top_network(c),
        ]);
    }
    writeln!(out, "{t}")?;
    let s = &r.summary;
    let cl = &s.classes;
    writeln!(
        out,
        "{} records: {} rejected, {} skipped (NODATA/SKIPDATA), {} malformed; accepted flows: {} internal ({} to the metadata address), {} eea, {} adequate, {} conditional, {} third_country, {} unknown",
        s.records, s.rejected, s.skipped, s.malformed, cl.internal, s.metadata_flows, cl.eea, cl.adequate, cl.conditional, cl.third_country, cl.unknown
    )?;
    for b in r.malformed_lines {
        writeln!(out, "malformed: {}:{}: {}", b.file, b.line, b.reason)?;
    }
    for f in r.findings {
        writeln!(
            out,
            "{} {} {} {}: {}\n  fix: {}",
            f.severity.as_str(),
            f.rule.code(),
            f.name,
            f.subject,
            f.message,
            f.remediation
        )?;
    }
    if r.findings.is_empty() {
        writeln!(
            out,
            "no findings: every transfer is allowed by policy `{}`",
            r.policy_name
        )?;
    }
    writeln!(out, "as of {}, geodb {}", r.as_of, r.geodb)
}
