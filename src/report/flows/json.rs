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

/// Writes the report as pretty-printed JSON.
pub fn write(r: &FlowReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    let json = Json {
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
        destinations: &r.destinations,
        malformed_lines: r.malformed_lines,
    };
    serde_json::to_writer_pretty(&mut *out, &json)?;
    writeln!(out)
}
