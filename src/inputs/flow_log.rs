//! Flow logs: AWS VPC Flow Logs (default version 2, and any custom format announced
//! by a header line), Zeek `conn.log` (TSV with `#fields`, and JSON lines), plain or
//! gzip-compressed. Read in blocks of whole lines, parsed by one worker per core: a
//! plain file's workers read their own blocks at fixed offsets (so a block is in
//! the worker's cache when it parses it), standard input and gzip are cut into
//! blocks by one reader thread. Each record is folded into per-destination-address
//! counters, so memory grows with the number of distinct destinations, not with
//! the file. The workers' counters are read at the end in ranges of addresses,
//! one range per core ([`FlowTally::take_ranges`]).

pub mod fast;
pub mod generic;
mod table;
mod vpc;
mod zeek;

use crate::error::InputError;
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::rc::Rc;
use std::sync::{mpsc, Mutex};

/// The size of a block: a worker parses the lines that start in one at a time.
const BLOCK: usize = 1 << 18;

/// The read-ahead of a plain regular file while its first lines are detected: its
/// workers then read their own blocks from where those lines end, so whatever
/// this buffer held beyond them is read again; small.
const SNIFF: usize = 16 * 1024;

/// The read-ahead of standard input, pipes and gzip-compressed files.
const STREAM_BUFFER: usize = 256 * 1024;

/// How much more a worker reads at a time past its block's end, to the end of the
/// block's last line: a line or two, since the next block reads those bytes too.
const READ_ON: usize = 4 * 1024;

/// The longest line read: a longer one is a bad line, and the readers skip what
/// follows its first `MAX_LINE + 1` bytes rather than hold it, so that memory
/// stays bounded whatever the input (a flow record is a few hundred bytes).
pub const MAX_LINE: usize = 1 << 20;

/// Why a line longer than [`MAX_LINE`] is bad.
fn overlong() -> String {
    format!(
        "longer than {} MiB (a flow record is a few hundred bytes); the rest of the line was not read",
        MAX_LINE >> 20
    )
}

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

/// A flow the fast path read whole: IPv4 destination (and source, if any), times
/// that fit 32 bits. It goes straight to a table slot, without the general
/// record's optional fields.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct V4Flow {
    /// The remote destination.
    pub dst: u32,
    /// The source (meaningful with [`V4Flow::HAS_SRC`]).
    pub src: u32,
    /// Bytes sent to the destination.
    pub bytes: u64,
    /// Start time, Unix seconds (meaningful with [`V4Flow::HAS_START`]; never
    /// `u32::MAX`).
    pub start: u32,
    /// End time, Unix seconds (meaningful with [`V4Flow::HAS_END`]).
    pub end: u32,
    /// Destination port (0 when absent).
    pub port: u16,
    /// Which of the optional fields are present.
    pub flags: u8,
}

impl V4Flow {
    /// `flags`: the record has a source.
    pub const HAS_SRC: u8 = 1;
    /// `flags`: the record has a start time.
    pub const HAS_START: u8 = 2;
    /// `flags`: the record has an end time.
    pub const HAS_END: u8 = 4;

    /// The compact form of a flow, when it has one: an IPv4 source or none, and
    /// times that fit a table slot (a start below `u32::MAX`, whose "none" that
    /// is, and an end within 32 bits). `None` for a flow that needs the general
    /// record.
    #[inline(always)]
    pub fn new(
        dst: Ipv4Addr,
        src: Option<Ipv4Addr>,
        port: u16,
        bytes: u64,
        start: Option<u64>,
        end: Option<u64>,
    ) -> Option<V4Flow> {
        let time = |t: Option<u64>, flag: u8| match t {
            None => Some((0, 0)),
            Some(t) => u32::try_from(t).ok().map(|t| (t, flag)),
        };
        let (start, has_start) = time(start, Self::HAS_START).filter(|&(s, _)| s != u32::MAX)?;
        let (end, has_end) = time(end, Self::HAS_END)?;
        Some(V4Flow {
            dst: u32::from(dst),
            src: src.map_or(0, u32::from),
            bytes,
            start,
            end,
            port,
            flags: has_start | has_end | if src.is_some() { Self::HAS_SRC } else { 0 },
        })
    }

    /// The compact form of a general record, when it has one (see [`V4Flow::new`]).
    pub fn of(r: &FlowRecord) -> Option<V4Flow> {
        let IpAddr::V4(dst) = r.dst else {
            return None;
        };
        let src = match r.src {
            None => None,
            Some(IpAddr::V4(s)) => Some(s),
            Some(IpAddr::V6(_)) => return None,
        };
        V4Flow::new(dst, src, r.dst_port, r.bytes, r.start, r.end)
    }

    /// The same flow as a general record (what the tests compare).
    #[cfg(test)]
    pub fn record(&self) -> FlowRecord {
        let has = |f: u8| self.flags & f != 0;
        FlowRecord {
            dst: IpAddr::V4(self.dst.into()),
            dst_port: self.port,
            src: has(Self::HAS_SRC).then(|| IpAddr::V4(self.src.into())),
            bytes: self.bytes,
            start: has(Self::HAS_START).then_some(u64::from(self.start)),
            end: has(Self::HAS_END).then_some(u64::from(self.end)),
        }
    }
}

/// What the fast path made of a plain line.
#[derive(Debug, Clone, PartialEq)]
pub enum Plain {
    /// An IPv4 flow, ready for a table slot.
    V4(V4Flow),
    /// Anything else, as the full parser would give it.
    Parsed(Parsed),
}

impl Plain {
    /// The outcome as the full parser gives it (what the tests compare).
    #[cfg(test)]
    pub fn parsed(self) -> Parsed {
        match self {
            Plain::V4(f) => Parsed::Flow(f.record()),
            Plain::Parsed(p) => p,
        }
    }
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
    /// The lowest source address that sent to it (the same answer whatever order
    /// the workers read the blocks in).
    pub sample_source: Option<IpAddr>,
    /// Per destination port, in port order.
    pub ports: Ports,
}

/// A destination's ports and their counts: few per destination, so held inline
/// (up to five, as a table slot holds them), with no allocation of their own.
pub type Ports = smallvec::SmallVec<[(u16, PortCount); 5]>;

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
    /// Accepted traffic per destination, as it is counted.
    table: table::Table,
    /// Tables counted before (a worker's is sealed when it ends), sorted by address.
    sealed: Vec<table::Sealed>,
    /// The destinations of earlier tables, when there were many of them.
    merged: table::Destinations,
}

/// Sealed tables a tally keeps before it adds them up into one list (a month of
/// logs makes two per file): memory stays bounded by the number of destinations.
const SEALED_TABLES: usize = 8;

/// Records parsed before their counters are updated: the table probes of a batch
/// are independent, so the processor overlaps their cache misses.
const BATCH: usize = 32;

impl FlowTally {
    /// Accepted traffic per destination address, in address order, moved out of
    /// the tally (which keeps its counts and bad lines): one list, which the
    /// tests compare (the command reads them range by range, unlisted).
    #[cfg(test)]
    pub fn take_destinations(&mut self) -> Vec<(IpAddr, Destination)> {
        self.take_ranges(1).range(0)
    }

    /// Accepted traffic per destination, moved out of the tally (which keeps its
    /// counts and bad lines), in up to `n` address ranges of about the same size,
    /// each to be read on a thread of its own; no /24 or /48 network is split.
    pub fn take_ranges(&mut self, n: usize) -> DestinationRanges {
        self.seal();
        let tables = std::mem::take(&mut self.sealed);
        let merged = std::mem::take(&mut self.merged);
        // Each bound the first address of its network (/24, /48), so that no
        // network has addresses in two ranges.
        let mut split: Vec<IpAddr> = table::split(&tables, &[&merged], n.max(1))
            .into_iter()
            .map(crate::engine::egress::network_key)
            .collect();
        split.dedup();
        let mut bounds = vec![None];
        bounds.extend(split.into_iter().map(Some));
        bounds.push(None);
        DestinationRanges {
            tables,
            merged,
            bounds,
        }
    }

    /// Sorts the table being counted by address, as a worker does with its own
    /// when it ends, so that the tables are read in order at the end.
    fn seal(&mut self) {
        let table = std::mem::take(&mut self.table);
        if !table.is_empty() {
            self.sealed.push(table.seal());
        }
        if self.sealed.len() > SEALED_TABLES {
            let merged = table::destinations(&self.sealed, &[&self.merged], Default::default());
            self.merged = merged;
            self.sealed.clear();
        }
    }

    /// Adds another tally (from a worker) to this one.
    pub fn merge(&mut self, mut other: FlowTally) {
        other.seal();
        self.records += other.records;
        self.rejected += other.rejected;
        self.skipped += other.skipped;
        self.malformed += other.malformed;
        self.bad_lines.extend(other.bad_lines);
        self.bad_lines
            .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        self.bad_lines.truncate(MALFORMED_SAMPLES);
        if !other.merged.is_empty() {
            self.merged =
                table::destinations(&[], &[&self.merged, &other.merged], Default::default());
        }
        self.sealed.extend(other.sealed);
        self.seal();
    }
}

/// Accepted traffic per destination, taken out of a tally, in address ranges
/// (see [`FlowTally::take_ranges`]).
#[derive(Debug, Default)]
pub struct DestinationRanges {
    tables: Vec<table::Sealed>,
    merged: table::Destinations,
    /// Range `k` holds the addresses from `bounds[k]` (`None`: the lowest) up to
    /// `bounds[k + 1]` (`None`: the highest), that one excluded.
    bounds: Vec<Option<IpAddr>>,
}

impl DestinationRanges {
    /// How many ranges there are (at least one).
    pub fn len(&self) -> usize {
        self.bounds.len().saturating_sub(1)
    }

    /// Whether there are no ranges (never: an empty tally has one empty range).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The addresses of range `k` (none past the last range).
    fn span(&self, k: usize) -> Option<table::Span> {
        match (self.bounds.get(k), self.bounds.get(k + 1)) {
            (Some(&from), Some(&to)) => Some(table::Span { from, to }),
            _ => None,
        }
    }

    /// The destinations of range `k`, in address order, each with its ports in
    /// order (what the tests compare; [`DestinationRanges::each`] reads them
    /// without a list).
    #[cfg(test)]
    pub fn range(&self, k: usize) -> Vec<(IpAddr, Destination)> {
        self.span(k).map_or_else(Vec::new, |span| {
            table::destinations(&self.tables, &[&self.merged], span)
        })
    }

    /// At least as many destinations as range `k` holds: what each table and
    /// list holds there, added up (an address several hold counts for each).
    pub fn room(&self, k: usize) -> usize {
        self.span(k)
            .map_or(0, |span| table::room(&self.tables, &[&self.merged], span))
    }

    /// Calls `f` with each destination of range `k`, as [`DestinationRanges::range`]
    /// lists them, without making the list; stops at the first error `f` returns.
    pub fn each<E>(
        &self,
        k: usize,
        f: impl FnMut(IpAddr, &Destination) -> Result<(), E>,
    ) -> Result<(), E> {
        match self.span(k) {
            Some(span) => table::each_destination(&self.tables, &[&self.merged], span, f),
            None => Ok(()),
        }
    }
}

/// A line parser that may learn from header lines.
pub trait LineParser: Send {
    /// Parses one line (without its newline).
    fn parse(&mut self, line: &str) -> Parsed;
    /// Parses one line given as bytes: checks that it is UTF-8 text and calls
    /// [`LineParser::parse`]. (Formats with a byte-level fast path offer it through
    /// [`LineParser::parse_plain`], which the block reader tries first.)
    fn parse_bytes(&mut self, line: &[u8]) -> Parsed {
        match std::str::from_utf8(line) {
            Ok(text) => self.parse(text),
            Err(_) => Parsed::Bad("not UTF-8 text".into()),
        }
    }
    /// Whether [`LineParser::parse_plain`] takes lines: then blocks are scanned
    /// for lines and fields in one pass.
    fn takes_plain_lines(&self) -> bool {
        false
    }
    /// Parses a line the block scanner found plain (single spaces between fields,
    /// nothing but printable ASCII); `None` hands it to [`LineParser::parse_bytes`].
    fn parse_plain(&mut self, _line: &fast::Line<'_>) -> Option<Plain> {
        None
    }
    /// A copy with the same learnt state, for another worker.
    fn boxed_clone(&self) -> Box<dyn LineParser>;
    /// Parses a block of whole lines, the first of which is line `first_line`, into
    /// `tally`; returns how many lines it had. (Provided: each parser gets its own
    /// copy, with its line methods called directly, not through the trait object.)
    fn process_block(
        &mut self,
        block: &[u8],
        first_line: u64,
        strict: bool,
        file: &str,
        tally: &mut FlowTally,
    ) -> Result<u64, InputError> {
        let mut batch = Vec::with_capacity(BATCH);
        let mut v4 = Vec::with_capacity(BATCH);
        let mut at = At {
            file,
            line: first_line,
            strict,
        };
        let lines = if self.takes_plain_lines() {
            // One pass finds the lines and their fields; lines the fast path
            // does not take go to the full parser.
            let lines = fast::lines(block, |line| {
                let parsed = match line.bounds {
                    Some(_) if line.len <= MAX_LINE => self.parse_plain(&line),
                    _ => None,
                };
                let done = match parsed {
                    Some(Plain::V4(r)) => {
                        tally.records += 1;
                        v4.push(r);
                        if v4.len() == BATCH {
                            tally.table.add_v4_batch(&v4);
                            v4.clear();
                        }
                        Ok(())
                    }
                    Some(Plain::Parsed(p)) => fold(p, &at, tally, &mut batch),
                    None => process_line(self, line.text(), &at, tally, &mut batch),
                };
                at.line += 1;
                done
            });
            tally.table.add_v4_batch(&v4);
            lines?
        } else {
            let mut start = 0;
            let ends = memchr::memchr_iter(b'\n', block).chain(
                // A last line without its newline.
                (block.last().is_some_and(|b| *b != b'\n')).then_some(block.len()),
            );
            for end in ends {
                let line = block.get(start..end).unwrap_or_default();
                process_line(self, line, &at, tally, &mut batch)?;
                at.line += 1;
                start = end + 1;
            }
            at.line - first_line
        };
        flush(tally, &mut batch);
        Ok(lines)
    }
}

/// Parses one line and folds it into `tally`.
fn process_line<P: LineParser + ?Sized>(
    parser: &mut P,
    bytes: &[u8],
    at: &At<'_>,
    tally: &mut FlowTally,
    batch: &mut Vec<FlowRecord>,
) -> Result<(), InputError> {
    if bytes.len() > MAX_LINE {
        return fold(Parsed::Bad(overlong()), at, tally, batch);
    }
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    let blank = bytes.first().is_none_or(|b| b.is_ascii_whitespace())
        && bytes.iter().all(u8::is_ascii_whitespace);
    if blank {
        return Ok(());
    }
    let parsed = parser.parse_bytes(bytes);
    fold(parsed, at, tally, batch)
}

/// Where a line is, and what to do with a bad one.
struct At<'a> {
    file: &'a str,
    line: u64,
    strict: bool,
}

/// Folds one parsed line into `tally` (records through `batch`). Inlined into the
/// block loop, so that a record is not copied through memory on its way in.
#[inline(always)]
fn fold(
    parsed: Parsed,
    at: &At<'_>,
    tally: &mut FlowTally,
    batch: &mut Vec<FlowRecord>,
) -> Result<(), InputError> {
    match parsed {
        Parsed::Header => {}
        Parsed::Flow(r) => {
            tally.records += 1;
            batch.push(r);
            if batch.len() == BATCH {
                flush(tally, batch);
            }
        }
        Parsed::NoTransfer(d) => {
            tally.records += 1;
            match d {
                Disposition::Rejected => tally.rejected += 1,
                Disposition::Skipped | Disposition::Accepted => tally.skipped += 1,
            }
        }
        Parsed::Bad(reason) => {
            if at.strict {
                return Err(InputError::new(at.file, reason)
                    .at(usize::try_from(at.line).ok(), None)
                    .hint("without --strict, bad lines are counted and skipped"));
            }
            tally.records += 1;
            tally.malformed += 1;
            if tally.bad_lines.len() < MALFORMED_SAMPLES {
                tally.bad_lines.push(BadLine {
                    file: at.file.to_string(),
                    line: at.line,
                    reason,
                });
            }
        }
    }
    Ok(())
}

/// Folds the batched records into the tally.
#[inline]
fn flush(tally: &mut FlowTally, batch: &mut Vec<FlowRecord>) {
    tally.table.add_batch(batch);
    batch.clear();
}

/// Parses whole lines held in memory, in this thread, into `tally`: the hot path
/// of [`read_log`] without its reader and workers (for benchmarks and embedding).
/// Returns the number of lines.
pub fn read_lines(
    format: FlowFormat,
    columns: &generic::ColumnMap,
    data: &[u8],
    tally: &mut FlowTally,
) -> Result<u64, InputError> {
    let mut parser = parser_for(format, columns);
    parser.process_block(data, 1, false, "<memory>", tally)
}

/// The line parser for a format.
fn parser_for(format: FlowFormat, columns: &generic::ColumnMap) -> Box<dyn LineParser> {
    match format {
        FlowFormat::Vpc => Box::new(vpc::VpcParser::default()),
        FlowFormat::ZeekTsv => Box::new(zeek::ZeekTsvParser::default()),
        FlowFormat::ZeekJson => Box::new(zeek::ZeekJsonParser),
        FlowFormat::Jsonl => Box::new(generic::JsonlParser {
            map: columns.clone(),
        }),
        FlowFormat::Csv => Box::new(generic::CsvParser::new(columns.clone())),
    }
}

/// A read that failed, as an input error naming the file.
fn cannot_read(file: &str, e: std::io::Error) -> InputError {
    InputError::new(file, format!("cannot read: {e}"))
}

/// An opened log: a reader over its text, and, for a plain (uncompressed) regular
/// file, the file itself and its length, for workers that read their own blocks.
struct Opened {
    reader: Box<dyn BufRead>,
    plain: Option<(std::fs::File, u64)>,
    /// The digest of the bytes read so far through `reader` (asked for).
    digest: Option<Rc<RefCell<Sha256>>>,
}

/// A reader that adds every byte it reads to a SHA-256 digest its opener keeps.
struct Digesting<R> {
    inner: R,
    digest: Rc<RefCell<Sha256>>,
}

impl<R: Read> Read for Digesting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.digest
            .borrow_mut()
            .update(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
}

/// Opens `path` (`-` for stdin), transparently gunzipping; with `digest`, every
/// byte read from the file or stream (before gunzipping) goes into a SHA-256.
fn open(path: &Path, digest: bool) -> Result<Opened, InputError> {
    let shown = path.display().to_string();
    let cannot = |e| cannot_read(&shown, e);
    let (raw, file): (Box<dyn Read>, Option<(std::fs::File, u64)>) = if shown == "-" {
        (Box::new(std::io::stdin()), None)
    } else {
        let file = std::fs::File::open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                InputError::new(&shown, "no such file")
            } else {
                cannot(e)
            }
        })?;
        let regular = file
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        let positional = match regular {
            Some(len) => Some((file.try_clone().map_err(cannot)?, len)),
            None => None,
        };
        (Box::new(file), positional)
    };
    let digest = digest.then(|| Rc::new(RefCell::new(Sha256::new())));
    let raw: Box<dyn Read> = match &digest {
        Some(d) => Box::new(Digesting {
            inner: raw,
            digest: d.clone(),
        }),
        None => raw,
    };
    let capacity = if file.is_some() { SNIFF } else { STREAM_BUFFER };
    let mut buffered = BufReader::with_capacity(capacity, raw);
    let head = buffered.fill_buf().map_err(cannot)?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Opened {
            reader: Box::new(BufReader::with_capacity(
                STREAM_BUFFER,
                flate2::bufread::MultiGzDecoder::new(buffered),
            )),
            plain: None,
            digest,
        })
    } else {
        Ok(Opened {
            reader: Box::new(buffered),
            plain: file,
            digest,
        })
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

/// An error when a Zeek log, detected or forced, names itself as another log than
/// conn: `#path` in the TSV header, or `_path` in the JSON that log shippers write
/// when they merge Zeek's logs. Only conn logs hold connections (a dns or http log
/// has `id.resp_h` too, but one line per query).
fn conn_logs_only(file: &str, format: FlowFormat, head: &[String]) -> Result<(), InputError> {
    let (kind, field) = match format {
        FlowFormat::ZeekTsv => {
            let kind = head.iter().find_map(|l| {
                let mut words = l.split_ascii_whitespace();
                (words.next() == Some("#path")).then(|| words.next().unwrap_or_default())
            });
            (kind.map(str::to_string), "`#path`")
        }
        FlowFormat::ZeekJson => {
            let first = head.iter().map(|l| l.trim()).find(|l| !l.is_empty());
            let record = first.and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok());
            let kind = record.and_then(|r| match r.get("_path")? {
                serde_json::Value::String(s) => Some(s.clone()),
                other => Some(other.to_string()),
            });
            (kind, "`_path`")
        }
        _ => return Ok(()),
    };
    match kind {
        Some(kind) if kind != "conn" => {
            // Shown escaped and cut short: it comes from the file.
            let shown: String = kind.escape_debug().take(40).collect();
            Err(InputError::new(
                file,
                format!("a Zeek `{shown}` log, not a conn log ({field} is `{shown}`)"),
            )
            .hint("flows reads Zeek conn logs (conn.log, conn.*.log.gz); give those only"))
        }
        _ => Ok(()),
    }
}

/// Reads one line into `buf` (cleared first), keeping at most `MAX_LINE + 1` bytes
/// of it: a longer line's first bytes stand for it (a bad line), and the rest is
/// skipped. Returns the bytes consumed, 0 at the end.
fn read_line_capped(reader: &mut dyn BufRead, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    buf.clear();
    let n = reader.take(MAX_LINE as u64 + 1).read_until(b'\n', buf)?;
    if n > MAX_LINE && buf.last() != Some(&b'\n') {
        return Ok(n + reader.skip_until(b'\n')?);
    }
    Ok(n)
}

/// What reading one log found out about it.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRead {
    /// The format, detected or forced.
    pub format: FlowFormat,
    /// When asked for: the SHA-256 (hex) of the bytes of the file or stream, as
    /// stored (a gzipped log's compressed bytes).
    pub sha256: Option<String>,
}

/// Reads one log, folding records into `tally`. With `digest`, also takes the
/// SHA-256 of its bytes: a stream's (standard input, a pipe, a gzipped file) as
/// they are read, so a log that can be read only once still has one; a plain
/// file's on this thread while the workers read its blocks, over the same range.
pub fn read_log(
    path: &Path,
    forced: Option<FlowFormat>,
    columns: &generic::ColumnMap,
    strict: bool,
    digest: bool,
    tally: &mut FlowTally,
) -> Result<LogRead, InputError> {
    let shown = path.display().to_string();
    let Opened {
        mut reader,
        plain,
        digest,
    } = open(path, digest)?;
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    // Bytes of the file the first lines took.
    let mut consumed: u64 = 0;
    let mut pending: Vec<String> = Vec::new();
    // Peek at the first lines for detection without losing them.
    while pending.len() < 5 {
        let n = read_line_capped(reader.as_mut(), &mut buf).map_err(|e| cannot_read(&shown, e))?;
        if n == 0 {
            break;
        }
        consumed += n as u64;
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
    conn_logs_only(&shown, format, &pending)?;
    let mut parser = parser_for(format, columns);
    // The first lines (read for detection) go through in order: they carry the headers.
    let mut line_no: u64 = 0;
    let mut batch = Vec::with_capacity(BATCH);
    for line in &pending {
        line_no += 1;
        let at = At {
            file: &shown,
            line: line_no,
            strict,
        };
        process_line(parser.as_mut(), line.as_bytes(), &at, tally, &mut batch)?;
    }
    flush(tally, &mut batch);
    // The rest in blocks of whole lines, one worker per core, each with its own
    // tally. Buffers circulate between the reader and the workers, so memory is
    // bounded by their number whatever the size of the log; line numbers are fixed
    // up at the end from each block's line count, so the reader never scans lines.
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    let parser = parser.as_ref();
    // A plain file's digest, taken on this thread while the workers read it.
    let mut file_digest = None;
    let results: Vec<WorkerOutput> = match plain {
        // A plain file: each worker reads its own blocks, so they are in its cache
        // when it parses them, and no thread copies for the others.
        #[cfg(unix)]
        Some((file, len)) => {
            let next = std::sync::atomic::AtomicU64::new(0);
            let sources = (0..workers)
                .map(|_| FileBlocks::new(&file, &next, consumed, len))
                .collect();
            let (hashed, results) = with_workers(sources, parser, strict, &shown, || {
                digest.is_some().then(|| digest_range(&file, len))
            });
            file_digest = hashed.transpose().map_err(|e| cannot_read(&shown, e))?;
            results
        }
        _ => {
            let buffers = workers * 2 + 1;
            let (tx, rx) = mpsc::channel::<Block>();
            let (back_tx, back_rx) = mpsc::channel::<Vec<u8>>();
            let rx = Mutex::new(rx);
            let sources = (0..workers)
                .map(|_| SentBlocks {
                    rx: &rx,
                    back: back_tx.clone(),
                    current: None,
                })
                .collect();
            drop(back_tx);
            let (read_result, results) = with_workers(sources, parser, strict, &shown, || {
                let read_result = read_blocks(reader.as_mut(), &tx, &back_rx, buffers);
                drop(tx);
                read_result
            });
            read_result.map_err(|e| cannot_read(&shown, e))?;
            results
        }
    };
    // Blocks were numbered in file order: their first lines follow from the counts.
    let mut counts: Vec<(u64, u64)> = results
        .iter()
        .flat_map(|r| r.line_counts.iter().copied())
        .collect();
    counts.sort_unstable();
    let mut before = rustc_hash::FxHashMap::default();
    let mut next = line_no;
    for &(seq, lines) in &counts {
        before.insert(seq, next);
        next += lines;
    }
    // The first error in file order: every block before it was parsed, so its place is known.
    let mut first_error: Option<(u64, InputError)> = None;
    let mut outputs = Vec::with_capacity(results.len());
    for mut r in results {
        if let Some((seq, e)) = r.error.take() {
            if first_error
                .as_ref()
                .is_none_or(|(s, f)| (seq, e.line) < (*s, f.line))
            {
                first_error = Some((seq, e));
            }
        }
        outputs.push(r);
    }
    if let Some((seq, mut e)) = first_error {
        // Every block before the failed one was parsed (an error there would come first).
        let lines_before = line_no
            + counts
                .iter()
                .filter(|(s, _)| *s < seq)
                .map(|(_, n)| n)
                .sum::<u64>();
        e.line = e
            .line
            .and_then(|rel| usize::try_from(lines_before).ok().map(|b| b + rel));
        return Err(e);
    }
    for mut out in outputs {
        for (bad, seq) in out.tally.bad_lines.iter_mut().zip(&out.bad_seqs) {
            bad.line += before.get(seq).copied().unwrap_or(line_no);
        }
        tally.merge(out.tally);
    }
    // A stream was read to its end, every byte through the digest.
    drop(reader);
    let sha256 = match (file_digest, digest) {
        (Some(h), _) => Some(h),
        (None, Some(d)) => Some(crate::inputs::hex(&d.take().finalize())),
        (None, None) => None,
    };
    Ok(LogRead { format, sha256 })
}

/// The SHA-256 (hex) of a file's first `len` bytes, the range the workers read,
/// read at fixed offsets; a file that shrank meanwhile gives what it still has.
#[cfg(unix)]
fn digest_range(file: &std::fs::File, len: u64) -> std::io::Result<String> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; BLOCK];
    let mut at = 0u64;
    while at < len {
        let want = usize::try_from(len - at).map_or(buf.len(), |left| left.min(buf.len()));
        let chunk = buf.get_mut(..want).unwrap_or_default();
        let n = read_full_at(file, chunk, at)?;
        h.update(chunk.get(..n).unwrap_or_default());
        if n < want {
            break; // the file ended early
        }
        at += n as u64;
    }
    Ok(crate::inputs::hex(&h.finalize()))
}

/// Fills `buf` from `file` at offset `at`, as far as the file goes (a read the
/// kernel interrupted is made again); returns how many bytes were read.
#[cfg(unix)]
fn read_full_at(file: &std::fs::File, buf: &mut [u8], at: u64) -> std::io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(buf.get_mut(got..).unwrap_or_default(), at + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// A block of whole lines, numbered in file order.
struct Block {
    seq: u64,
    data: Vec<u8>,
    len: usize,
}

/// What a worker hands back: its tally (bad lines numbered within their block),
/// the block of each bad line, how many lines each block had, and the error that
/// stopped it, if any.
#[derive(Default)]
struct WorkerOutput {
    tally: FlowTally,
    bad_seqs: Vec<u64>,
    line_counts: Vec<(u64, u64)>,
    error: Option<(u64, InputError)>,
}

/// Runs one worker per block source, each with its own copy of the parser, and
/// `meanwhile` on this thread; returns what `meanwhile` returned and the workers'
/// outputs (a worker that panicked reports an error).
fn with_workers<B: Blocks + Send, R>(
    sources: Vec<B>,
    parser: &dyn LineParser,
    strict: bool,
    shown: &str,
    meanwhile: impl FnOnce() -> R,
) -> (R, Vec<WorkerOutput>) {
    std::thread::scope(|scope| {
        let handles: Vec<_> = sources
            .into_iter()
            .map(|mut blocks| {
                let mut p = parser.boxed_clone();
                scope.spawn(move || worker(p.as_mut(), &mut blocks, strict, shown))
            })
            .collect();
        let r = meanwhile();
        let outputs = handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| WorkerOutput {
                    error: Some((0, InputError::new(shown, "a worker failed"))),
                    ..WorkerOutput::default()
                })
            })
            .collect();
        (r, outputs)
    })
}

/// Where a worker gets its blocks of whole lines from.
trait Blocks {
    /// The next block's number in file order, and its lines (or why they could not
    /// be read); `None` at the end.
    fn next(&mut self) -> Option<(u64, std::io::Result<&[u8]>)>;
}

/// Blocks sent by a reader thread; each buffer goes back to it for reuse.
struct SentBlocks<'a> {
    rx: &'a Mutex<mpsc::Receiver<Block>>,
    back: mpsc::Sender<Vec<u8>>,
    current: Option<Block>,
}

impl Blocks for SentBlocks<'_> {
    fn next(&mut self) -> Option<(u64, std::io::Result<&[u8]>)> {
        if let Some(done) = self.current.take() {
            // The reader may have stopped already: then the buffer is simply dropped.
            let _ = self.back.send(done.data);
        }
        let block = self.rx.lock().ok()?.recv().ok()?;
        let block = self.current.insert(block);
        Some((
            block.seq,
            Ok(block.data.get(..block.len).unwrap_or_default()),
        ))
    }
}

/// Blocks a worker reads itself from a plain file: block `k` holds the lines that
/// start in its `BLOCK` bytes (from `start`), read on to the end of its last line.
#[cfg(unix)]
struct FileBlocks<'a> {
    file: &'a std::fs::File,
    /// The next block number, shared by the workers.
    next: &'a std::sync::atomic::AtomicU64,
    /// Where the blocks start (after the lines read for detection), and the file's end.
    start: u64,
    end: u64,
    /// The block's bytes are `buf[..filled]`; the rest is room kept from earlier
    /// blocks, so that a buffer is zeroed once, not before every read.
    buf: Vec<u8>,
    filled: usize,
}

#[cfg(unix)]
impl<'a> FileBlocks<'a> {
    /// The blocks of `file` from `start` to `end`, numbered by the shared `next`.
    fn new(
        file: &'a std::fs::File,
        next: &'a std::sync::atomic::AtomicU64,
        start: u64,
        end: u64,
    ) -> Self {
        FileBlocks {
            file,
            next,
            start,
            end,
            buf: Vec::new(),
            filled: 0,
        }
    }

    /// Appends up to `want` bytes read at `at` (fewer at the end of the file).
    fn read(&mut self, at: u64, want: usize) -> std::io::Result<usize> {
        let from = self.filled;
        if self.buf.len() < from + want {
            self.buf.resize(from + want, 0);
        }
        let into = self.buf.get_mut(from..from + want).unwrap_or_default();
        let got = read_full_at(self.file, into, at)?;
        self.filled = from + got;
        Ok(got)
    }

    /// Reads block `k` into `buf`; returns the range of its lines there.
    fn fill(&mut self, k: u64) -> std::io::Result<Option<std::ops::Range<usize>>> {
        let block = BLOCK as u64;
        let at = self.start.saturating_add(k.saturating_mul(block));
        if at >= self.end {
            return Ok(None);
        }
        self.filled = 0;
        // From the byte before the block: a newline there means a line starts at
        // the block's first byte.
        let from = if k == 0 { at } else { at - 1 };
        let want = usize::try_from((at + block).min(self.end) - from).unwrap_or(BLOCK);
        let got = self.read(from, want)?;
        let first = if k == 0 {
            0
        } else {
            match memchr::memchr(b'\n', self.buf.get(..got).unwrap_or_default()) {
                Some(p) => p + 1,
                None => got, // no line starts in this block
            }
        };
        // A line starting at the block's end belongs to the next block.
        if first >= want {
            return Ok(Some(0..0));
        }
        // Read on to the end of the last line (or of the file), or until it is
        // longer than `MAX_LINE`: then its first `MAX_LINE + 1` bytes stand for it
        // (a bad line), and the blocks after skip the rest (they start after a newline).
        let mut pos = from + got as u64;
        if got == want {
            let read = self.buf.get(first..got).unwrap_or_default();
            let last_start = memchr::memrchr(b'\n', read).map_or(first, |p| first + p + 1);
            loop {
                if self.filled - last_start > MAX_LINE {
                    self.filled = last_start + MAX_LINE + 1;
                    break;
                }
                let tail = self.filled;
                if tail.checked_sub(1).and_then(|t| self.buf.get(t)) == Some(&b'\n') {
                    break;
                }
                let n = self.read(pos, READ_ON)?;
                if n == 0 {
                    break;
                }
                pos += n as u64;
                let read = self.buf.get(tail..self.filled).unwrap_or_default();
                if let Some(nl) = memchr::memchr(b'\n', read) {
                    self.filled = tail + nl + 1;
                    break;
                }
            }
        }
        Ok(Some(first..self.filled))
    }
}

#[cfg(unix)]
impl Blocks for FileBlocks<'_> {
    fn next(&mut self) -> Option<(u64, std::io::Result<&[u8]>)> {
        let k = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match self.fill(k) {
            Ok(Some(lines)) => Some((k, Ok(self.buf.get(lines).unwrap_or_default()))),
            Ok(None) => None,
            Err(e) => Some((k, Err(e))),
        }
    }
}

/// Parses blocks until there are no more. A strict-mode error stops the worker
/// and names the block and the line within it.
fn worker(
    parser: &mut dyn LineParser,
    blocks: &mut dyn Blocks,
    strict: bool,
    file: &str,
) -> WorkerOutput {
    let mut out = WorkerOutput::default();
    while let Some((seq, next)) = blocks.next() {
        let data = match next {
            Ok(data) => data,
            Err(e) => {
                // In file order with the other errors: blocks before it were read.
                out.error = Some((seq, cannot_read(file, e)));
                break;
            }
        };
        let before = out.tally.bad_lines.len();
        match parser.process_block(data, 1, strict, file, &mut out.tally) {
            Ok(lines) => out.line_counts.push((seq, lines)),
            Err(e) => {
                out.error = Some((seq, e));
                break;
            }
        }
        out.bad_seqs
            .extend(std::iter::repeat_n(seq, out.tally.bad_lines.len() - before));
    }
    // In parallel with the other workers, rather than after them.
    out.tally.seal();
    out
}

/// Reads the rest of the input into blocks of whole lines and sends them out,
/// reusing the buffers the workers send back (at most `buffers` exist at once).
fn read_blocks(
    reader: &mut dyn BufRead,
    tx: &mpsc::Sender<Block>,
    back: &mpsc::Receiver<Vec<u8>>,
    buffers: usize,
) -> std::io::Result<()> {
    let mut made = 0;
    let mut carry: Vec<u8> = Vec::new();
    // A buffer that held no whole line, kept for the next read (it must not be
    // dropped: it counts among the `buffers` made).
    let mut spare: Option<Vec<u8>> = None;
    let mut seq = 0;
    loop {
        let mut data = match spare.take().map_or_else(|| back.try_recv(), Ok) {
            Ok(buf) => buf,
            Err(_) if made < buffers => {
                made += 1;
                vec![0; BLOCK]
            }
            Err(_) => match back.recv() {
                Ok(buf) => buf,
                Err(_) => return Ok(()), // every worker stopped (strict error): they say why
            },
        };
        if data.len() < carry.len() + BLOCK / 2 {
            data.resize(carry.len() + BLOCK, 0);
        }
        let mut len = carry.len();
        data.get_mut(..len)
            .unwrap_or_default()
            .copy_from_slice(&carry);
        carry.clear();
        let mut eof = false;
        while len < data.len() {
            let n = match reader.read(data.get_mut(len..).unwrap_or_default()) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                eof = true;
                break;
            }
            len += n;
        }
        if !eof {
            match memchr::memrchr(b'\n', data.get(..len).unwrap_or_default()) {
                Some(pos) => {
                    carry.extend_from_slice(data.get(pos + 1..len).unwrap_or_default());
                    len = pos + 1;
                }
                None => {
                    // One line longer than a buffer: keep it and read on with a
                    // bigger one, up to `MAX_LINE`; past that its first `MAX_LINE + 1`
                    // bytes stand for it (a bad line) and the rest is skipped.
                    carry.extend_from_slice(data.get(..len).unwrap_or_default());
                    if carry.len() > MAX_LINE {
                        carry.truncate(MAX_LINE + 1);
                        reader.skip_until(b'\n')?;
                        carry.push(b'\n');
                    }
                    spare = Some(data);
                    continue;
                }
            }
        }
        if len > 0 {
            if tx.send(Block { seq, data, len }).is_err() {
                return Ok(()); // every worker stopped (strict error): they say why
            }
            seq += 1;
        }
        if eof {
            return Ok(());
        }
    }
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

#[cfg(test)]
mod test {
    use super::*;

    /// A log whose second line is `long` bytes (no newline inside), between two
    /// short lines.
    fn with_long_line(long: usize) -> Vec<u8> {
        let mut text = b"first\n".to_vec();
        text.resize(text.len() + long, b'x');
        text.extend_from_slice(b"\nlast\n");
        text
    }

    /// A tally of VPC lines held in memory, and how many lines there were.
    fn read_vpc(text: &str) -> (FlowTally, u64) {
        let mut tally = FlowTally::default();
        let columns = generic::ColumnMap::default();
        let lines = read_lines(FlowFormat::Vpc, &columns, text.as_bytes(), &mut tally).unwrap();
        (tally, lines)
    }

    /// Times at the edge of 32 bits (a start of `u32::MAX`, an end past it) and
    /// absent ones come out of a block as they went in, whichever record form the
    /// fast path chose for them.
    #[test]
    fn times_at_the_edge_of_32_bits() {
        let line = |start: &str, end: &str| {
            format!("2 1 eni-1 10.0.0.1 198.51.100.7 1 443 6 1 100 {start} {end} ACCEPT OK\n")
        };
        let cases = [
            (
                "4294967295",
                "4294967295",
                Some(4_294_967_295),
                Some(4_294_967_295),
            ),
            (
                "4294967294",
                "4294967296",
                Some(4_294_967_294),
                Some(4_294_967_296),
            ),
            ("4294967295", "-", Some(4_294_967_295), Some(4_294_967_295)),
            ("-", "4294967295", None, Some(4_294_967_295)),
            ("-", "-", None, None),
            ("1700000000", "-", Some(1_700_000_000), Some(1_700_000_000)),
        ];
        for (start, end, first, last) in cases {
            let (mut tally, read) = read_vpc(&line(start, end).repeat(3));
            assert_eq!(read, 3);
            let d = tally.take_destinations();
            assert_eq!(d.len(), 1, "{start} {end}");
            let (_, d) = &d[0];
            assert_eq!((d.flows, d.bytes), (3, 300), "{start} {end}");
            assert_eq!((d.first_seen, d.last_seen), (first, last), "{start} {end}");
        }
    }

    /// Sources that repeat (and are answered from the parser's memo of them) give
    /// each destination its lowest source, among texts that differ only in their
    /// last digits or in length, in any order.
    #[test]
    fn repeated_sources_give_the_lowest() {
        let sources = [
            "10.0.0.13",
            "10.0.0.12",
            "10.0.0.1",
            "10.0.0.100",
            "10.0.0.10",
            "10.0.0.11",
            "10.0.0.2",
            "10.0.1.0",
            "10.0.0.200",
            "10.0.0.20",
        ];
        let destinations = ["198.51.100.7", "198.51.100.8", "203.0.113.9"];
        let mut data = String::new();
        let mut lowest = std::collections::BTreeMap::new();
        for i in 0..600usize {
            let d = destinations[i % 3];
            // Each destination sees the sources from a different one on, and some
            // destinations never see the lowest ones.
            let s = sources[(i / 3 + i % 3 * 4) % sources.len()];
            if i % 3 == 2 && (s == "10.0.0.1" || s == "10.0.0.2") {
                continue;
            }
            data.push_str(&format!(
                "2 1 eni-1 {s} {d} 1 443 6 1 100 1700000000 1700000060 ACCEPT OK\n"
            ));
            let s: IpAddr = s.parse().unwrap();
            lowest
                .entry(d.parse::<IpAddr>().unwrap())
                .and_modify(|l: &mut IpAddr| *l = (*l).min(s))
                .or_insert(s);
        }
        let (mut tally, read) = read_vpc(&data);
        assert_eq!(read, data.lines().count() as u64);
        let got: std::collections::BTreeMap<IpAddr, IpAddr> = tally
            .take_destinations()
            .into_iter()
            .filter_map(|(ip, d)| Some((ip, d.sample_source?)))
            .collect();
        assert_eq!(got, lowest);
        assert_eq!(
            got[&"203.0.113.9".parse::<IpAddr>().unwrap()],
            "10.0.0.10".parse::<IpAddr>().unwrap()
        );
    }

    /// Tallies merged one after another (more than a tally keeps as tables, as a
    /// month of logs makes them, so that they are added up into a list on the
    /// way) give the destinations one tally of all the lines gives.
    #[test]
    fn many_merged_tallies_equal_one() {
        let line = |i: u32| {
            let dst = std::net::Ipv4Addr::from(0xC633_6400 + i % 300);
            let src = if i % 5 == 0 {
                "2001:db8::9".to_string()
            } else {
                format!("10.0.0.{}", i % 250)
            };
            format!(
                "2 1 eni-1 {src} {dst} 1 {} 6 1 {} 1700000{:03} 1700001000 ACCEPT OK\n",
                i % 7 * 100,
                i,
                i % 1000
            )
        };
        let lines: Vec<String> = (0..6_000).map(line).collect();
        let read = |text: &str| read_vpc(text).0;
        let mut one = read(&lines.concat());
        let want = one.take_destinations();
        assert_eq!(want.len(), 300);
        let mut all = FlowTally::default();
        for part in lines.chunks(250) {
            all.merge(read(&part.concat()));
        }
        assert_eq!(all.records, 6_000);
        assert!(all.sealed.len() <= SEALED_TABLES);
        assert!(!all.merged.is_empty());
        assert_eq!(all.take_destinations(), want);
        // Two such tallies, each with its tables added up, merged into one.
        let halves: Vec<FlowTally> = lines
            .chunks(3_000)
            .map(|half| {
                let mut t = FlowTally::default();
                for part in half.chunks(250) {
                    t.merge(read(&part.concat()));
                }
                assert!(!t.merged.is_empty());
                t
            })
            .collect();
        let mut both = FlowTally::default();
        for half in halves {
            both.merge(half);
        }
        assert_eq!(both.records, 6_000);
        assert_eq!(both.take_destinations(), want);
    }

    /// A custom header of hundreds of fields (positions past what the fast path
    /// indexes, one of them at 255) reads its records as the header says.
    #[test]
    fn a_header_of_hundreds_of_fields() {
        for (dst_at, bytes_at) in [(20, 255), (255, 30), (280, 299)] {
            let mut names: Vec<String> = (0..300).map(|i| format!("extra-{i}")).collect();
            names[0] = "version".into();
            names[5] = "srcaddr".into();
            names[dst_at] = "dstaddr".into();
            names[bytes_at] = "bytes".into();
            names[10] = "action".into();
            let mut values: Vec<String> = (0..300).map(|i| i.to_string()).collect();
            values[0] = "5".into();
            values[5] = "10.0.0.7".into();
            values[dst_at] = "198.51.100.9".into();
            values[bytes_at] = "4242".into();
            values[10] = "ACCEPT".into();
            let data = format!(
                "{}\n{}\n{}\n",
                names.join(" "),
                values.join(" "),
                values.join(" ")
            );
            let (mut tally, _) = read_vpc(&data);
            assert_eq!(
                (tally.records, tally.malformed),
                (2, 0),
                "{dst_at} {bytes_at}"
            );
            let d = tally.take_destinations();
            assert_eq!(d.len(), 1, "{dst_at} {bytes_at}");
            assert_eq!(d[0].0, "198.51.100.9".parse::<IpAddr>().unwrap());
            assert_eq!(
                (d[0].1.flows, d[0].1.bytes),
                (2, 8484),
                "{dst_at} {bytes_at}"
            );
            assert_eq!(d[0].1.sample_source, Some("10.0.0.7".parse().unwrap()));
        }
    }

    /// The lines read for detection hold at most `MAX_LINE + 1` bytes of a line,
    /// and the reader goes on after the line's end.
    #[test]
    fn a_head_line_is_kept_to_the_limit() {
        for long in [MAX_LINE - 1, MAX_LINE, MAX_LINE + 1, 5 * MAX_LINE] {
            let text = with_long_line(long);
            let mut reader = std::io::Cursor::new(&text);
            let mut buf = Vec::new();
            assert_eq!(read_line_capped(&mut reader, &mut buf).unwrap(), 6);
            let n = read_line_capped(&mut reader, &mut buf).unwrap();
            assert_eq!(n, long + 1, "the whole line is consumed");
            assert_eq!(buf.len(), (long + 1).min(MAX_LINE + 1));
            read_line_capped(&mut reader, &mut buf).unwrap();
            assert_eq!(buf, b"last\n");
        }
    }

    /// A worker reading a plain file holds at most `MAX_LINE + 1` bytes of a line
    /// that starts in its block, however long the line.
    #[cfg(unix)]
    #[test]
    fn a_file_block_holds_a_long_line_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("long.log");
        std::fs::write(&p, with_long_line(6 * MAX_LINE)).unwrap();
        let file = std::fs::File::open(&p).unwrap();
        let next = std::sync::atomic::AtomicU64::new(0);
        let mut blocks = FileBlocks::new(&file, &next, 0, file.metadata().unwrap().len());
        let lines = blocks.fill(0).unwrap().unwrap();
        assert_eq!(lines, 0..6 + MAX_LINE + 1);
        assert!(
            blocks.buf.len() <= MAX_LINE + READ_ON + 6,
            "{}",
            blocks.buf.len()
        );
        // The blocks inside the line hold no line; the one it ends in starts after it.
        let mut seen = Vec::new();
        for k in 1.. {
            match blocks.fill(k).unwrap() {
                None => break,
                Some(r) => seen.extend_from_slice(&blocks.buf[r]),
            }
        }
        assert_eq!(seen, b"last\n");
    }

    /// Blocks of a plain file, read as the workers read them, one after another.
    #[cfg(unix)]
    fn file_blocks(file: &std::fs::File, end: u64) -> Vec<u8> {
        let next = std::sync::atomic::AtomicU64::new(0);
        let mut blocks = FileBlocks::new(file, &next, 0, end);
        let mut seen = Vec::new();
        while let Some((_, lines)) = blocks.next() {
            seen.extend_from_slice(lines.unwrap());
        }
        seen
    }

    /// A file that is shorter than it was when opened (truncated or rotated while
    /// it is read) gives the lines it still has, once each; one that grew gives the
    /// lines that start before the size it had, the last one whole.
    #[cfg(unix)]
    #[test]
    fn a_file_that_changed_size_gives_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("changing.log");
        let line = |i: usize| format!("line {i} {}\n", "x".repeat(i % 300));
        let text: String = (0..6000).map(line).collect();
        assert!(text.len() > 3 * BLOCK);
        std::fs::write(&p, &text).unwrap();
        let file = std::fs::File::open(&p).unwrap();
        // Opened when it was ten blocks longer.
        assert_eq!(
            file_blocks(&file, text.len() as u64 + 10 * BLOCK as u64),
            text.as_bytes()
        );
        // Opened when it was 1.5 blocks long: every line that started by then.
        let then = BLOCK as u64 * 3 / 2;
        let upto = text[..then as usize].rfind('\n').unwrap() + 1;
        let upto = upto + text[upto..].find('\n').unwrap() + 1;
        assert_eq!(file_blocks(&file, then), &text.as_bytes()[..upto]);
    }

    /// A plain file's digest covers the range the workers read: the whole file, a
    /// prefix of it, or what is left of a file shorter than when it was opened;
    /// a file that cannot be read is an error, not a digest.
    #[cfg(unix)]
    #[test]
    fn a_file_digest_covers_the_range_read() {
        use sha2::{Digest, Sha256};
        let sha = |b: &[u8]| crate::inputs::hex(&Sha256::digest(b));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        let text: Vec<u8> = (0..3 * BLOCK + 17).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, &text).unwrap();
        let file = std::fs::File::open(&p).unwrap();
        let len = text.len() as u64;
        assert_eq!(digest_range(&file, len).unwrap(), sha(&text));
        assert_eq!(
            digest_range(&file, BLOCK as u64 + 5).unwrap(),
            sha(&text[..BLOCK + 5])
        );
        assert_eq!(digest_range(&file, len + 1000).unwrap(), sha(&text));
        assert_eq!(digest_range(&file, 0).unwrap(), sha(b""));
        let write_only = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        assert!(digest_range(&write_only, len).is_err());
    }

    /// A positional read that fails stops the worker with an error that names the
    /// file and says why, in the block it happened.
    #[cfg(unix)]
    #[test]
    fn a_failed_read_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("unreadable.log");
        std::fs::write(
            &p,
            "2 123456789012 eni-1 10.0.0.1 5.1.1.1 1 443 6 1 10 1 2 ACCEPT OK\n",
        )
        .unwrap();
        // Opened for writing only: reading it fails (EBADF).
        let file = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        let next = std::sync::atomic::AtomicU64::new(0);
        let mut blocks = FileBlocks::new(&file, &next, 0, 64);
        let mut parser = vpc::VpcParser::default();
        let out = worker(&mut parser, &mut blocks, false, "unreadable.log");
        let (seq, e) = out.error.unwrap();
        assert_eq!(seq, 0);
        assert_eq!(e.file, "unreadable.log");
        assert!(e.message.starts_with("cannot read: "), "{}", e.message);
        assert_eq!(out.tally.records, 0);
    }

    /// The reader thread holds at most about `MAX_LINE` bytes of a line, whatever
    /// its length, reuses a buffer that held no whole line (it must not be lost:
    /// the buffers are counted), and sends the line's first bytes for it.
    #[test]
    fn streamed_blocks_hold_a_long_line_to_the_limit() {
        let text = with_long_line(7 * MAX_LINE + 3);
        let (tx, rx) = mpsc::channel::<Block>();
        let (back_tx, back_rx) = mpsc::channel::<Vec<u8>>();
        // One buffer: a buffer kept from the workers would stall the reader.
        let reader = std::thread::spawn(move || {
            let mut input = std::io::Cursor::new(text);
            read_blocks(&mut input, &tx, &back_rx, 1)
        });
        let (mut lines, mut largest) = (Vec::new(), 0);
        loop {
            let block = match rx.recv_timeout(std::time::Duration::from_secs(20)) {
                Ok(block) => block,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => panic!("the reader stalled"),
            };
            largest = largest.max(block.data.len());
            for line in block.data[..block.len].split_inclusive(|&b| b == b'\n') {
                lines.push(line.len());
            }
            let _ = back_tx.send(block.data);
        }
        reader.join().unwrap().unwrap();
        assert_eq!(lines, [6, MAX_LINE + 2, 5]);
        assert!(largest <= MAX_LINE + 2 * BLOCK, "{largest}");
    }
}
