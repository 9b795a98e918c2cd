//! The flow report as CSV: one row per destination country, network and port.

use super::FlowReport;
use std::io::{self, Write};

/// Writes one row per destination country, network and port (the top networks
/// of each country), after a header row.
pub fn write(r: &FlowReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "country",
        "name",
        "class",
        "network",
        "port",
        "flows",
        "bytes",
        "first_seen",
        "last_seen",
        "sample_source",
    ])?;
    for c in &r.destinations {
        let first = c.first_seen.map(|v| v.to_string()).unwrap_or_default();
        let last = c.last_seen.map(|v| v.to_string()).unwrap_or_default();
        let sample = c.sample_source.map(|v| v.to_string()).unwrap_or_default();
        for n in &c.networks {
            w.write_record([
                c.country.as_str(),
                c.name.as_str(),
                c.class.as_str(),
                n.network.as_str(),
                &n.port.to_string(),
                &n.flows.to_string(),
                &n.bytes.to_string(),
                &first,
                &last,
                &sample,
            ])?;
        }
    }
    w.flush()
}
