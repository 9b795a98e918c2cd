//! The flow report as JSON: `summary`, `findings`, `destinations`, `malformed_lines`.

use super::{CountryTraffic, FlowReport, FlowSummary, InputMeta};
use crate::engine::Finding;
use crate::inputs::flow_log::BadLine;
use crate::report::Tool;
use serde::Serialize;
use std::io::{self, Write};

#[derive(Serialize)]
struct Json<'a> {
    schema_version: u32,
    tool: Tool,
    as_of: String,
    policy: &'a str,
    policy_hash: &'a str,
    adequacy_list_date: &'a str,
    geodb: &'a str,
    inputs: &'a [InputMeta],
    summary: &'a FlowSummary,
    findings: &'a [Finding],
    destinations: &'a [CountryTraffic],
    malformed_lines: &'a [BadLine],
}

/// Countries below which the report is written by one thread.
const SPLIT_FROM: usize = 64;

/// Writes the report as pretty-printed JSON. A report of many countries is made
/// by two threads: this one writes the document with the first half of the
/// countries, the other writes the second half as elements of an array at the
/// same depth, and the two texts are joined where the first array ends. The
/// result is byte for byte the single-threaded document (serde_json's pretty
/// printer indents by depth alone).
pub fn write(r: &FlowReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    let all: &[CountryTraffic] = &r.destinations;
    if all.len() < SPLIT_FROM {
        serde_json::to_writer_pretty(&mut *out, &document(r, all))?;
        return writeln!(out);
    }
    let (first, second) = all.split_at(all.len() / 2);
    let (head, rest) = std::thread::scope(|scope| {
        let rest = scope.spawn(|| elements(second));
        let head = serde_json::to_vec_pretty(&document(r, first));
        (head, rest.join())
    });
    let head = head?;
    let (rest, middle) = rest.map_err(|_| io::Error::other("writing the report failed"))??;
    // The first half's array closes just before the next key, at the top level:
    // a line break then two spaces can only be layout (strings escape line breaks).
    let at =
        memchr::memmem::find(&head, b"\n  ],\n  \"malformed_lines\": ").ok_or_else(unexpected)?;
    let (before, after) = head.split_at(at);
    out.write_all(before)?;
    out.write_all(b",\n")?;
    out.write_all(rest.get(middle).unwrap_or_default())?;
    out.write_all(after)?;
    writeln!(out)
}

/// The document, with these countries as its destinations.
fn document<'a>(r: &'a FlowReport<'_>, destinations: &'a [CountryTraffic]) -> Json<'a> {
    Json {
        schema_version: 1,
        tool: Tool::default(),
        as_of: r.as_of.to_string(),
        policy: r.policy_name,
        policy_hash: r.policy_hash,
        adequacy_list_date: r.adequacy_list_date,
        geodb: r.geodb,
        inputs: &r.inputs,
        summary: &r.summary,
        findings: r.findings,
        destinations,
        malformed_lines: r.malformed_lines,
    }
}

/// Countries as the elements of the document's `destinations` array (at depth
/// two, each on its own lines, joined by commas): a text, and where in it they
/// are, without the array's brackets.
fn elements(countries: &[CountryTraffic]) -> io::Result<(Vec<u8>, std::ops::Range<usize>)> {
    #[derive(Serialize)]
    struct Wrap<'a> {
        destinations: &'a [CountryTraffic],
    }
    let text = serde_json::to_vec_pretty(&Wrap {
        destinations: countries,
    })?;
    const OPEN: &[u8] = b"{\n  \"destinations\": [\n";
    const CLOSE: &[u8] = b"\n  ]\n}";
    if !text.starts_with(OPEN) || !text.ends_with(CLOSE) || text.len() < OPEN.len() + CLOSE.len() {
        return Err(unexpected());
    }

    let middle = OPEN.len()..text.len() - CLOSE.len();
    Ok((text, middle))
}

/// The error for text not laid out as serde_json's pretty printer lays it out.
fn unexpected() -> io::Error {
    io::Error::other("internal: the report's layout is not the expected one")
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::engine::Class;
    use crate::report::flows::NetworkPort;

    fn country(k: usize) -> CountryTraffic {
        CountryTraffic {
            country: format!("C{k}"),
            // A name holding the text the halves are joined at: written escaped,
            // it cannot be taken for the layout.
            name: format!("Country {k}\n  ],\n  \"malformed_lines\": "),
            class: Class::ThirdCountry,
            flows: k as u64,
            bytes: 1000 - k as u64,
            addresses: 1,
            first_seen: Some(1),
            last_seen: None,
            sample_source: None,
            networks: (0..k % 3)
                .map(|n| NetworkPort {
                    network: format!("192.0.2.{n}/24"),
                    port: 443,
                    flows: 1,
                    bytes: 2,
                })
                .collect(),
            networks_total: k % 3,
        }
    }

    /// Written by two threads or by one, the document is the same, byte for
    /// byte, for any number of countries around the split.
    #[test]
    fn halves_make_the_whole_document() {
        let bad = [crate::inputs::flow_log::BadLine {
            file: "a.log".into(),
            line: 3,
            reason: "not a record".into(),
        }];
        for n in [0, 1, SPLIT_FROM - 1, SPLIT_FROM, SPLIT_FROM + 1, 201] {
            let report = FlowReport {
                as_of: time::macros::date!(2026 - 11 - 29),
                policy_name: "gdpr",
                policy_hash: "h",
                adequacy_list_date: "2026-11-28",
                geodb: "embedded",
                inputs: Vec::new(),
                summary: FlowSummary::default(),
                findings: &[],
                destinations: (0..n).map(country).collect(),
                malformed_lines: &bad,
            };
            let mut got = Vec::new();
            write(&report, &mut got).unwrap();
            let mut want =
                serde_json::to_vec_pretty(&document(&report, &report.destinations)).unwrap();
            want.push(b'\n');
            assert_eq!(
                String::from_utf8(got).unwrap(),
                String::from_utf8(want).unwrap(),
                "{n} countries"
            );
        }
    }
}
