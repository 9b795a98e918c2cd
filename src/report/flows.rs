//! The flow report (`residency flows`): its model, and one file per output format.
//! Every format is written from the same [`FlowReport`].

pub mod csv;
pub mod json;
pub mod markdown;
pub mod table;

use crate::engine::{Class, Finding};
use crate::inputs::flow_log::{BadLine, FlowFormat};
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;
use time::Date;

/// Everything a flow report shows.
#[derive(Debug)]
pub struct FlowReport<'a> {
    /// The date destinations were classed as of.
    pub as_of: Date,
    /// The policy's name.
    pub policy_name: &'a str,
    /// The policy's content hash.
    pub policy_hash: &'a str,
    /// The date of the adequacy list used.
    pub adequacy_list_date: &'a str,
    /// The geodb, as `path (build date)`.
    pub geodb: &'a str,
    /// The logs read.
    pub inputs: Vec<InputMeta>,
    /// Counts over the whole input.
    pub summary: FlowSummary,
    /// Egress findings, in report order.
    pub findings: &'a [Finding],
    /// Traffic per destination country, most bytes first.
    pub destinations: Vec<CountryTraffic>,
    /// The first bad lines, with their places.
    pub malformed_lines: &'a [BadLine],
}

/// Per-class counts of accepted flows.
#[derive(Debug, Default, Serialize)]
pub struct Classes {
    /// Internal destinations.
    pub internal: u64,
    /// EEA.
    pub eea: u64,
    /// Adequate.
    pub adequate: u64,
    /// Conditional adequacy (US, CA).
    pub conditional: u64,
    /// No adequacy.
    pub third_country: u64,
    /// No geodb record.
    pub unknown: u64,
}

impl Classes {
    /// The count of a class.
    pub fn of(&mut self, class: crate::engine::Class) -> &mut u64 {
        use crate::engine::Class;
        match class {
            Class::Internal => &mut self.internal,
            Class::Eea => &mut self.eea,
            Class::Adequate => &mut self.adequate,
            Class::Conditional => &mut self.conditional,
            Class::ThirdCountry => &mut self.third_country,
            Class::Unknown => &mut self.unknown,
        }
    }

    /// Adds other counts to these.
    pub fn add(&mut self, o: &Classes) {
        self.internal += o.internal;
        self.eea += o.eea;
        self.adequate += o.adequate;
        self.conditional += o.conditional;
        self.third_country += o.third_country;
        self.unknown += o.unknown;
    }
}

/// The `summary` of a flow report.
#[derive(Debug, Default, Serialize)]
pub struct FlowSummary {
    /// Data records read.
    pub records: u64,
    /// Rejected records.
    pub rejected: u64,
    /// NODATA / SKIPDATA records.
    pub skipped: u64,
    /// Bad lines.
    pub malformed: u64,
    /// Accepted flows per destination class.
    pub classes: Classes,
    /// Accepted flows to the cloud metadata address (also counted as internal).
    pub metadata_flows: u64,
    /// Accepted flows to public destinations per country (`unknown` for geodb misses).
    pub flows_by_country: BTreeMap<String, u64>,
    /// Bytes to public destinations per country (`unknown` for geodb misses).
    pub bytes_by_country: BTreeMap<String, u64>,
}

/// Traffic to one network and port.
#[derive(Debug, Serialize)]
pub struct NetworkPort {
    /// The destination /24 (IPv4) or /48 (IPv6).
    pub network: String,
    /// Destination port.
    pub port: u16,
    /// Flows.
    pub flows: u64,
    /// Bytes.
    pub bytes: u64,
}

/// Traffic to one destination country (or `internal` / `unknown`).
#[derive(Debug, Serialize)]
pub struct CountryTraffic {
    /// ISO code, `internal` or `unknown`.
    pub country: String,
    /// Country name.
    pub name: String,
    /// Class.
    pub class: Class,
    /// Flows.
    pub flows: u64,
    /// Bytes.
    pub bytes: u64,
    /// Distinct destination addresses.
    pub addresses: u64,
    /// Earliest start (Unix seconds).
    pub first_seen: Option<u64>,
    /// Latest end (Unix seconds).
    pub last_seen: Option<u64>,
    /// A source that sent traffic there.
    pub sample_source: Option<IpAddr>,
    /// Per network and port, most bytes first (the top 100).
    pub networks: Vec<NetworkPort>,
    /// How many network and port pairs there are in all.
    pub networks_total: usize,
}

/// One log read, and the format it was read as.
#[derive(Debug, Serialize)]
pub struct InputMeta {
    /// The path as given (`-` for standard input).
    pub path: String,
    /// The format, detected or forced.
    pub format: FlowFormat,
    /// The SHA-256 of the log's bytes as stored (with `--audit`, which records it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// `DE Germany`, or just the name for internal and unplaced destinations.
pub fn destination_label(c: &CountryTraffic) -> String {
    match c.class {
        Class::Internal | Class::Unknown => c.name.clone(),
        _ => format!("{} {}", c.country, c.name),
    }
}

/// A destination's network and port with the most bytes, as `network:port`
/// (empty when it has none).
pub fn top_network(c: &CountryTraffic) -> String {
    c.networks
        .first()
        .map(|n| format!("{}:{}", n.network, n.port))
        .unwrap_or_default()
}
