//! Flow logs: AWS VPC Flow Logs (default version 2, and any custom format announced
//! by a header line), Zeek `conn.log` (TSV with `#fields`, and JSON lines), plain or
//! gzip-compressed. Read as a stream with one reused line buffer; each record is
//! folded into per-destination-address counters, so memory grows with the number of
//! distinct destinations, not with the file.

pub mod generic;
mod vpc;
mod zeek;

use crate::error::InputError;
use rustc_hash::FxHashMap;
use std::io::{BufRead, BufReader, Read};
use std::net::IpAddr;
use std::path::Path;
use std::sync::{mpsc, Mutex};

/// Bytes handed to a worker at a time (cut at a line boundary).
const BLOCK: usize = 1 << 20;

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
    /// Per destination port (few per destination: a small vector beats a map).
    pub ports: Vec<(u16, PortCount)>,
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
    pub destinations: FxHashMap<IpAddr, Destination>,
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
        match d.ports.iter_mut().find(|(port, _)| *port == r.dst_port) {
            Some((_, p)) => {
                p.flows += 1;
                p.bytes += r.bytes;
            }
            None => d.ports.push((
                r.dst_port,
                PortCount {
                    flows: 1,
                    bytes: r.bytes,
                },
            )),
        }
    }

    /// Adds another tally (from a worker) to this one.
    pub fn merge(&mut self, other: FlowTally) {
        self.records += other.records;
        self.rejected += other.rejected;
        self.skipped += other.skipped;
        self.malformed += other.malformed;
        self.bad_lines.extend(other.bad_lines);
        self.bad_lines
            .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        self.bad_lines.truncate(MALFORMED_SAMPLES);
        for (ip, d) in other.destinations {
            let mine = self.destinations.entry(ip).or_default();
            mine.flows += d.flows;
            mine.bytes += d.bytes;
            mine.first_seen = match (mine.first_seen, d.first_seen) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            mine.last_seen = match (mine.last_seen, d.last_seen) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            if mine.sample_source.is_none() {
                mine.sample_source = d.sample_source;
            }
            for (port, pc) in d.ports {
                match mine.ports.iter_mut().find(|(p, _)| *p == port) {
                    Some((_, m)) => {
                        m.flows += pc.flows;
                        m.bytes += pc.bytes;
                    }
                    None => mine.ports.push((port, pc)),
                }
            }
        }
    }
}

/// A line parser that may learn from header lines.
pub trait LineParser: Send {
    /// Parses one line (without its newline).
    fn parse(&mut self, line: &str) -> Parsed;
    /// A copy with the same learnt state, for another worker.
    fn boxed_clone(&self) -> Box<dyn LineParser>;
}

/// Parses one line and folds it into `tally`.
fn process_line(
    parser: &mut dyn LineParser,
    bytes: &[u8],
    line_no: u64,
    strict: bool,
    file: &str,
    tally: &mut FlowTally,
) -> Result<(), InputError> {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    let blank = bytes.first().is_none_or(|b| b.is_ascii_whitespace())
        && bytes.iter().all(u8::is_ascii_whitespace);
    if blank {
        return Ok(());
    }
    let parsed = match std::str::from_utf8(bytes) {
        Ok(line) => parser.parse(line),
        Err(_) => Parsed::Bad("not UTF-8 text".into()),
    };
    match parsed {
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
                return Err(InputError::new(file, reason)
                    .at(usize::try_from(line_no).ok(), None)
                    .hint("without --strict, bad lines are counted and skipped"));
            }
            tally.records += 1;
            tally.malformed += 1;
            if tally.bad_lines.len() < MALFORMED_SAMPLES {
                tally.bad_lines.push(BadLine {
                    file: file.to_string(),
                    line: line_no,
                    reason,
                });
            }
        }
    }
    Ok(())
}

/// Parses a block of whole lines, the first of which is line `first_line`.
fn process_block(
    parser: &mut dyn LineParser,
    block: &[u8],
    first_line: u64,
    strict: bool,
    file: &str,
    tally: &mut FlowTally,
) -> Result<(), InputError> {
    let mut line_no = first_line;
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', block) {
        process_line(
            parser,
            block.get(start..end).unwrap_or_default(),
            line_no,
            strict,
            file,
            tally,
        )?;
        line_no += 1;
        start = end + 1;
    }
    if start < block.len() {
        process_line(
            parser,
            block.get(start..).unwrap_or_default(),
            line_no,
            strict,
            file,
            tally,
        )?;
    }
    Ok(())
}

/// Reads up to `want` more bytes into `block`; true at end of input.
fn fill(reader: &mut dyn BufRead, block: &mut Vec<u8>, want: usize) -> std::io::Result<bool> {
    while block.len() < want {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(true);
        }
        let take = buf.len().min(want - block.len());
        block.extend_from_slice(buf.get(..take).unwrap_or_default());
        reader.consume(take);
    }
    Ok(false)
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
    // The first lines (read for detection) go through in order: they carry the headers.
    let mut line_no: u64 = 0;
    for line in &pending {
        line_no += 1;
        process_line(
            parser.as_mut(),
            line.as_bytes(),
            line_no,
            strict,
            &shown,
            tally,
        )?;
    }
    // The rest in blocks of whole lines, one worker per core, each with its own tally.
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    let (tx, rx) = mpsc::sync_channel::<(Vec<u8>, u64)>(workers * 2);
    let rx = Mutex::new(rx);
    let (read_result, results) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let mut p = parser.boxed_clone();
                let rx = &rx;
                let shown = shown.as_str();
                scope.spawn(move || -> Result<FlowTally, InputError> {
                    let mut t = FlowTally::default();
                    loop {
                        let next = match rx.lock() {
                            Ok(guard) => guard.recv(),
                            Err(_) => break,
                        };
                        let Ok((block, first)) = next else { break };
                        process_block(p.as_mut(), &block, first, strict, shown, &mut t)?;
                    }
                    Ok(t)
                })
            })
            .collect();
        let read_result = (|| -> std::io::Result<()> {
            let mut carry: Vec<u8> = Vec::new();
            loop {
                let mut block = std::mem::take(&mut carry);
                let want = BLOCK.max(block.len() + 1);
                let eof = fill(&mut reader, &mut block, want)?;
                if !eof {
                    match memchr::memrchr(b'\n', &block) {
                        Some(pos) => carry = block.split_off(pos + 1),
                        None => {
                            // One line longer than a block: keep reading it.
                            carry = block;
                            continue;
                        }
                    }
                }
                let lines = memchr::memchr_iter(b'\n', &block).count() as u64
                    + u64::from(!block.is_empty() && !block.ends_with(b"\n"));
                if !block.is_empty() && tx.send((block, line_no + 1)).is_err() {
                    return Ok(()); // every worker stopped (strict error): they say why
                }
                line_no += lines;
                if eof {
                    return Ok(());
                }
            }
        })();
        drop(tx);
        let results: Vec<Result<FlowTally, InputError>> = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(InputError::new(&shown, "a worker failed")))
            })
            .collect();
        (read_result, results)
    });
    let mut first_error: Option<InputError> = None;
    for r in results {
        match r {
            Ok(t) => tally.merge(t),
            Err(e) => {
                if first_error.as_ref().is_none_or(|f| e.line < f.line) {
                    first_error = Some(e);
                }
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    read_result.map_err(|e| InputError::new(&shown, format!("cannot read: {e}")))?;
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
