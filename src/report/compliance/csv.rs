//! The registers as CSV: the transfer register (default), findings, or waivers.

use crate::audit::view::AuditReport;
use std::io::{self, Write};

/// Which table to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Table {
    /// The transfer register (Art. 30(1)(e)).
    Transfers,
    /// The findings of the latest scan and flow audit.
    Findings,
    /// The waiver register.
    Waivers,
}

fn io_err(e: csv::Error) -> io::Error {
    io::Error::other(e)
}

/// Renders `table`.
pub fn render(r: &AuditReport, table: Table, out: &mut dyn Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    match table {
        Table::Transfers => {
            w.write_record([
                "subject",
                "recipient",
                "countries",
                "class",
                "data_categories",
                "mechanism",
                "article",
                "scc_module",
                "tia",
                "supplementary_measures",
                "expires",
                "approval",
                "compliant",
            ])
            .map_err(io_err)?;
            for t in &r.transfers {
                w.write_record([
                    t.subject.as_str(),
                    &t.recipient,
                    &t.countries.join(" "),
                    &t.class,
                    &t.data_categories.join(" "),
                    &t.mechanism,
                    &t.article,
                    &t.scc_module.map(|m| m.to_string()).unwrap_or_default(),
                    t.tia.as_deref().unwrap_or(""),
                    &t.measures.join(" "),
                    t.expires.as_deref().unwrap_or(""),
                    t.approval.as_deref().unwrap_or(""),
                    if t.compliant { "true" } else { "false" },
                ])
                .map_err(io_err)?;
            }
        }
        Table::Findings => {
            w.write_record([
                "severity",
                "rule",
                "name",
                "subject",
                "message",
                "article",
                "remediation",
                "waiver",
                "fingerprint",
            ])
            .map_err(io_err)?;
            for f in &r.findings {
                w.write_record([
                    f.severity.as_str(),
                    &f.rule,
                    &f.name,
                    &f.subject,
                    &f.message,
                    &f.article,
                    &f.remediation,
                    f.waiver.as_deref().unwrap_or(""),
                    &f.fingerprint,
                ])
                .map_err(io_err)?;
            }
        }
        Table::Waivers => {
            w.write_record([
                "id", "rules", "subjects", "reason", "approver", "ticket", "expires", "used",
            ])
            .map_err(io_err)?;
            for x in &r.waivers {
                w.write_record([
                    x.id.as_str(),
                    &x.rules.join(" "),
                    &x.subjects.join(" "),
                    &x.reason,
                    &x.approver,
                    &x.ticket,
                    &x.expires,
                    &x.used.to_string(),
                ])
                .map_err(io_err)?;
            }
        }
    }
    w.flush()
}
