//! Flow logs: AWS VPC Flow Logs (default version 2, and any custom format announced
//! by a header line), Zeek `conn.log` (TSV with `#fields`, and JSON lines), plain or
//! gzip-compressed. Read as a stream with one reused line buffer; each record is
//! folded into per-destination-address counters, so memory grows with the number of
//! distinct destinations, not with the file.

pub mod generic;
mod vpc;
mod zeek;

use crate::error::InputError;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::net::IpAddr;
use std::path::Path;

/// How many malformed lines are kept with their line numbers.
pub const MALFORMED_SAMPLES: usize = 10;

/// The flow-log formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlowFormat {
    /// AWS VPC Flow Logs (default or custom field list, with or without header).
    Vpc,
    /// Zeek conn.log, tab-separated with `#fields`.
    ZeekTsv,
    /// Zeek conn.log as JSON lines.
    ZeekJson,
    /// Generic JSON lines (columns mapped with --columns, or common names).
    Jsonl,
    /// Generic CSV with a header line (columns mapped with --columns, or common names).
    Csv,
}

/// What a record says about its traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Traffic that was accepted: a transfer.
    Accepted,
    /// Traffic that was rejected (VPC `REJECT`, Zeek `REJ`).
    Rejected,
    /// No traffic in the interval (VPC `NODATA`) or records skipped by AWS (`SKIPDATA`).
    Skipped,
}

/// One flow record, borrowed from the line it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlowRecord {
    /// The remote destination.
    pub dst: IpAddr,
    /// Destination port (0 when absent).
    pub dst_port: u16,
    /// Source address, if present.
    pub src: Option<IpAddr>,
    /// Bytes sent to the destination.
    pub bytes: u64,
    /// Start time (Unix seconds), if present.
    pub start: Option<u64>,
    /// End time (Unix seconds), if present.
    pub end: Option<u64>,
}

/// The outcome of parsing one line.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// A header or comment line.
    Header,
    /// A record that carries traffic.
    Flow(FlowRecord),
    /// A record that carries no transfer.
    NoTransfer(Disposition),
    /// A line that could not be parsed, with the reason.
    Bad(String),
}

/// Counters for one destination port.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PortCount {
    /// Accepted flows.
    pub flows: u64,
    /// Bytes.
    pub bytes: u64,
}

/// Counters for one destination address.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Destination {
    /// Accepted flows.
    pub flows: u64,
    /// Bytes.
    pub bytes: u64,
    /// Earliest start seen.
    pub first_seen: Option<u64>,
    /// Latest end seen.
    pub last_seen: Option<u64>,
    /// One source that talked to it.
    pub sample_source: Option<IpAddr>,
    /// Per destination port.
    pub ports: HashMap<u16, PortCount>,
}

/// A malformed line kept as an example.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BadLine {
    /// The file.
    pub file: String,
    /// 1-based line number.
    pub line: u64,
    /// What was wrong.
    pub reason: String,
}

/// Everything read from the logs.
#[derive(Debug, Clone, Default)]
pub struct FlowTally {
    /// Data lines read (headers excluded).
    pub records: u64,
    /// Rejected records.
    pub rejected: u64,
    /// NODATA / SKIPDATA records.
    pub skipped: u64,
    /// Lines that could not be parsed.
    pub malformed: u64,
    /// The first malformed lines.
    pub bad_lines: Vec<BadLine>,
    /// Accepted traffic per destination address.
    pub destinations: HashMap<IpAddr, Destination>,
}

impl FlowTally {
    fn add(&mut self, r: &FlowRecord) {
        let d = self.destinations.entry(r.dst).or_default();
        d.flows += 1;
        d.bytes += r.bytes;
        if let Some(s) = r.start {
            d.first_seen = Some(d.first_seen.map_or(s, |f| f.min(s)));
        }
        if let Some(e) = r.end.or(r.start) {
            d.last_seen = Some(d.last_seen.map_or(e, |l| l.max(e)));
        }
        if d.sample_source.is_none() {
            d.sample_source = r.src;
        }
        let p = d.ports.entry(r.dst_port).or_default();
        p.flows += 1;
        p.bytes += r.bytes;
    }
}

/// A line parser that may learn from header lines.
pub trait LineParser {
    /// Parses one line (without its newline).
    fn parse(&mut self, line: &str) -> Parsed;
}

/// Opens `path` (`-` for stdin), transparently gunzipping.
fn open(path: &Path) -> Result<Box<dyn BufRead>, InputError> {
    let shown = path.display().to_string();
    let raw: Box<dyn Read> = if shown == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(|e| {
            InputError::new(
                &shown,
                if e.kind() == std::io::ErrorKind::NotFound {
                    "no such file".to_string()
                } else {
                    format!("cannot read: {e}")
                },
            )
        })?)
    };
    let mut buffered = BufReader::with_capacity(256 * 1024, raw);
    let head = buffered
        .fill_buf()
        .map_err(|e| InputError::new(&shown, format!("cannot read: {e}")))?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(BufReader::with_capacity(
            256 * 1024,
            flate2::bufread::MultiGzDecoder::new(buffered),
        )))
    } else {
        Ok(Box::new(buffered))
    }
}

/// Detects the format from the first non-empty lines.
pub fn detect(file: &str, head: &[String]) -> Result<FlowFormat, InputError> {
    if let Some(line) = head.iter().map(|l| l.trim()).find(|l| !l.is_empty()) {
        if line.starts_with("#separator") || line.starts_with("#fields") {
            return Ok(FlowFormat::ZeekTsv);
        }
        if line.starts_with('{')
            && (line.contains("\"id.resp_h\"") || line.contains("\"id.orig_h\""))
        {
            return Ok(FlowFormat::ZeekJson);
        }
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        if fields.first() == Some(&"version")
            || fields.contains(&"dstaddr")
            || fields.contains(&"pkt-dstaddr")
        {
            return Ok(FlowFormat::Vpc);
        }
        if fields.len() >= 14
            && fields
                .first()
                .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit()))
        {
            return Ok(FlowFormat::Vpc);
        }
        if line.starts_with('{') {
            return Ok(FlowFormat::Jsonl);
        }
        if line.contains(',') && !line.contains(' ') || line.split(',').count() >= 3 {
            return Ok(FlowFormat::Csv);
        }
    }
    Err(InputError::new(file, "not a flow log this build recognises").hint(
        "expected AWS VPC Flow Logs (version 2 records or a header line), Zeek conn.log (TSV with `#fields`, or JSON lines); force one with --input-format",
    ))
}

/// Reads one log, folding records into `tally`.
pub fn read_log(
    path: &Path,
    forced: Option<FlowFormat>,
    columns: &generic::ColumnMap,
    strict: bool,
    tally: &mut FlowTally,
) -> Result<FlowFormat, InputError> {
    let shown = path.display().to_string();
    let mut reader = open(path)?;
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut pending: Vec<String> = Vec::new();
    // Peek at the first lines for detection without losing them.
    while pending.len() < 5 {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| InputError::new(&shown, format!("cannot read: {e}")))?;
        if n == 0 {
            break;
        }
        pending.push(
            String::from_utf8_lossy(&buf)
                .trim_end_matches(['\n', '\r'])
                .to_string(),
        );
    }
    if pending.iter().all(|l| l.trim().is_empty()) {
        return Err(InputError::new(&shown, "the file is empty"));
    }
    let format = match forced {
        Some(f) => f,
        None => detect(&shown, &pending)?,
    };
    let mut parser: Box<dyn LineParser> = match format {
        FlowFormat::Vpc => Box::new(vpc::VpcParser::default()),
        FlowFormat::ZeekTsv => Box::new(zeek::ZeekTsvParser::default()),
        FlowFormat::ZeekJson => Box::new(zeek::ZeekJsonParser),
        FlowFormat::Jsonl => Box::new(generic::JsonlParser {
            map: columns.clone(),
        }),
        FlowFormat::Csv => Box::new(generic::CsvParser::new(columns.clone())),
    };
    let mut line_no: u64 = 0;
    let mut handle = |line: &str, line_no: u64, tally: &mut FlowTally| -> Result<(), InputError> {
        if line.trim().is_empty() {
            return Ok(());
        }
        match parser.parse(line) {
            Parsed::Header => {}
            Parsed::Flow(r) => {
                tally.records += 1;
                tally.add(&r);
            }
            Parsed::NoTransfer(d) => {
                tally.records += 1;
                match d {
                    Disposition::Rejected => tally.rejected += 1,
                    Disposition::Skipped | Disposition::Accepted => tally.skipped += 1,
                }
            }
            Parsed::Bad(reason) => {
                if strict {
                    return Err(InputError::new(&shown, reason)
                        .at(Some(line_no as usize), None)
                        .hint("without --strict, bad lines are counted and skipped"));
                }
                tally.records += 1;
                tally.malformed += 1;
                if tally.bad_lines.len() < MALFORMED_SAMPLES {
                    tally.bad_lines.push(BadLine {
                        file: shown.clone(),
                        line: line_no,
                        reason,
                    });
                }
            }
        }
        Ok(())
    };
    for line in &pending {
        line_no += 1;
        handle(line, line_no, tally)?;
    }
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(|e| {
            InputError::new(&shown, format!("cannot read at line {}: {e}", line_no + 1))
        })?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let bytes = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        match std::str::from_utf8(bytes) {
            Ok(line) => handle(line, line_no, tally)?,
            Err(_) => {
                if strict {
                    return Err(InputError::new(&shown, "the line is not UTF-8 text")
                        .at(Some(line_no as usize), None));
                }
                tally.records += 1;
                tally.malformed += 1;
                if tally.bad_lines.len() < MALFORMED_SAMPLES {
                    tally.bad_lines.push(BadLine {
                        file: shown.clone(),
                        line: line_no,
                        reason: "not UTF-8 text".into(),
                    });
                }
            }
        }
    }
    Ok(format)
}

/// Parses an unsigned number field; `-` counts as absent.
pub fn number(field: &str) -> Result<Option<u64>, String> {
    if field == "-" || field.is_empty() {
        return Ok(None);
    }
    field.parse::<u64>().map(Some).or_else(|_| {
        field
            .parse::<f64>()
            .map(|f| Some(f as u64))
            .map_err(|_| format!("`{field}` is not a number"))
    })
}

/// Parses an address field; `-` counts as absent.
pub fn address(field: &str) -> Result<Option<IpAddr>, String> {
    if field == "-" || field.is_empty() {
        return Ok(None);
    }
    field
        .parse::<IpAddr>()
        .map(Some)
        .map_err(|_| format!("`{field}` is not an IP address"))
}
