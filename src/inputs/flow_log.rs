//! Flow logs: AWS VPC Flow Logs (default version 2, and any custom format announced
//! by a header line), Zeek `conn.log` (TSV with `#fields`, and JSON lines), plain or
//! gzip-compressed. Read as a stream of blocks of whole lines, parsed by one worker
//! per core; each record is folded into per-destination-address counters, so memory
//! grows with the number of distinct destinations, not with the file.

pub mod generic;
mod table;
mod vpc;
mod zeek;

use crate::error::InputError;
use rustc_hash::FxHashMap;
use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, Ipv4Addr};
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
    /// The lowest source address that sent to it (the same answer whatever order
    /// the workers read the blocks in).
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
    /// Accepted traffic per destination.
    table: table::Table,
}

/// Records parsed before their counters are updated: the table probes of a batch
/// are independent, so the processor overlaps their cache misses.
const BATCH: usize = 32;

impl FlowTally {
    /// Accepted traffic per destination address, moved out of the tally (which
    /// keeps its counts and bad lines): the per-worker tables are freed as it goes.
    pub fn take_destinations(&mut self) -> FxHashMap<IpAddr, Destination> {
        std::mem::take(&mut self.table).into_destinations()
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
        self.table.merge(other.table);
    }
}

/// A line parser that may learn from header lines.
pub trait LineParser: Send {
    /// Parses one line (without its newline).
    fn parse(&mut self, line: &str) -> Parsed;
    /// Parses one line given as bytes. The default checks that it is UTF-8 text and
    /// calls [`LineParser::parse`]; formats with a byte-level fast path override it.
    fn parse_bytes(&mut self, line: &[u8]) -> Parsed {
        match std::str::from_utf8(line) {
            Ok(text) => self.parse(text),
            Err(_) => Parsed::Bad("not UTF-8 text".into()),
        }
    }
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
    batch: &mut Vec<FlowRecord>,
) -> Result<(), InputError> {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    let blank = bytes.first().is_none_or(|b| b.is_ascii_whitespace())
        && bytes.iter().all(u8::is_ascii_whitespace);
    if blank {
        return Ok(());
    }
    match parser.parse_bytes(bytes) {
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

/// Folds the batched records into the tally.
#[inline]
fn flush(tally: &mut FlowTally, batch: &mut Vec<FlowRecord>) {
    tally.table.add_batch(batch);
    batch.clear();
}

/// Parses a block of whole lines, the first of which is line `first_line`.
fn process_block(
    parser: &mut dyn LineParser,
    block: &[u8],
    first_line: u64,
    strict: bool,
    file: &str,
    tally: &mut FlowTally,
) -> Result<u64, InputError> {
    let mut batch = Vec::with_capacity(BATCH);
    let mut line_no = first_line;
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', block).chain(
        // A last line without its newline.
        (block.last().is_some_and(|b| *b != b'\n')).then_some(block.len()),
    );
    for end in ends {
        let line = block.get(start..end).unwrap_or_default();
        process_line(parser, line, line_no, strict, file, tally, &mut batch)?;
        line_no += 1;
        start = end + 1;
    }
    flush(tally, &mut batch);
    Ok(line_no - first_line)
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
    process_block(parser.as_mut(), data, 1, false, "<memory>", tally)
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
    let mut parser = parser_for(format, columns);
    // The first lines (read for detection) go through in order: they carry the headers.
    let mut line_no: u64 = 0;
    let mut batch = Vec::with_capacity(BATCH);
    for line in &pending {
        line_no += 1;
        process_line(
            parser.as_mut(),
            line.as_bytes(),
            line_no,
            strict,
            &shown,
            tally,
            &mut batch,
        )?;
    }
    flush(tally, &mut batch);
    // The rest in blocks of whole lines, one worker per core, each with its own
    // tally. Buffers circulate between the reader and the workers, so memory is
    // bounded by their number whatever the size of the log; line numbers are fixed
    // up at the end from each block's line count, so the reader never scans lines.
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    let buffers = workers * 2 + 1;
    let (tx, rx) = mpsc::channel::<Block>();
    let (back_tx, back_rx) = mpsc::channel::<Vec<u8>>();
    let rx = Mutex::new(rx);
    let (read_result, results) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let mut p = parser.boxed_clone();
                let rx = &rx;
                let back = back_tx.clone();
                let shown = shown.as_str();
                scope.spawn(move || worker(p.as_mut(), rx, &back, strict, shown))
            })
            .collect();
        drop(back_tx);
        let read_result = read_blocks(reader.as_mut(), &tx, &back_rx, buffers);
        drop(tx);
        let results: Vec<WorkerOutput> = handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| WorkerOutput {
                    error: Some((0, InputError::new(&shown, "a worker failed"))),
                    ..WorkerOutput::default()
                })
            })
            .collect();
        (read_result, results)
    });
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
    read_result.map_err(|e| InputError::new(&shown, format!("cannot read: {e}")))?;
    Ok(format)
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

/// Parses blocks until the reader stops. A strict-mode error stops the worker and
/// names the block and the line within it.
fn worker(
    parser: &mut dyn LineParser,
    rx: &Mutex<mpsc::Receiver<Block>>,
    back: &mpsc::Sender<Vec<u8>>,
    strict: bool,
    file: &str,
) -> WorkerOutput {
    let mut out = WorkerOutput::default();
    loop {
        let next = match rx.lock() {
            Ok(guard) => guard.recv(),
            Err(_) => break,
        };
        let Ok(block) = next else { break };
        let data = block.data.get(..block.len).unwrap_or_default();
        let before = out.tally.bad_lines.len();
        match process_block(parser, data, 1, strict, file, &mut out.tally) {
            Ok(lines) => out.line_counts.push((block.seq, lines)),
            Err(e) => {
                out.error = Some((block.seq, e));
                break;
            }
        }
        out.bad_seqs.extend(std::iter::repeat_n(
            block.seq,
            out.tally.bad_lines.len() - before,
        ));
        // The reader may have stopped already: then the buffer is simply dropped.
        let _ = back.send(block.data);
    }
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
    let mut seq = 0;
    loop {
        let mut data = match back.try_recv() {
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
                    // One line longer than a buffer: keep it and read on with a bigger one.
                    carry.extend_from_slice(data.get(..len).unwrap_or_default());
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

/// A plain dotted-quad IPv4 address, or `None` for anything else (IPv6, leading
/// zeros, stray bytes): such fields go to the full parser, which decides and explains.
#[inline]
pub fn fast_ipv4(field: &[u8]) -> Option<Ipv4Addr> {
    let digit = |c: u8| -> Option<u32> {
        let d = c.wrapping_sub(b'0');
        (d < 10).then_some(u32::from(d))
    };
    // One octet at the front of `s`: 1-3 digits, no leading zero, at most 255;
    // returns it with the rest after its terminator (a dot, or the end).
    let octet = |s: &[u8]| -> Option<(u32, usize)> {
        match *s {
            [a, b'.', ..] | [a] => Some((digit(a)?, 1)),
            [a, b, b'.', ..] | [a, b] if a != b'0' => Some((digit(a)? * 10 + digit(b)?, 2)),
            [a, b, c, b'.', ..] | [a, b, c] if a != b'0' => {
                let v = digit(a)? * 100 + digit(b)? * 10 + digit(c)?;
                (v <= 255).then_some((v, 3))
            }
            _ => None,
        }
    };
    let mut acc: u32 = 0;
    let mut rest = field;
    for i in 0..4 {
        let (v, len) = octet(rest)?;
        acc = acc << 8 | v;
        rest = match (i, rest.get(len..)) {
            (3, Some([])) => &[],
            (0..=2, Some([b'.', tail @ ..])) => tail,
            _ => return None,
        };
    }
    Some(Ipv4Addr::from(acc))
}

/// A run of up to 19 ASCII digits as a number, or `None` for anything else (`-`,
/// signs, decimals, overflow): such fields go to the full parser.
#[inline]
pub fn fast_u64(field: &[u8]) -> Option<u64> {
    if field.is_empty() || field.len() > 19 {
        return None;
    }
    let mut n: u64 = 0;
    for &c in field {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(c - b'0');
    }
    Some(n)
}

/// `field`, a run of up to 16 ASCII digits inside `line`, as a number; `None` for
/// anything else (`-`, signs, decimals, too long), which goes to the full parser.
/// Eight digits at a time, without a branch per digit: a word ending at the
/// field's last byte is loaded from the line, the bytes before the field read as
/// `0`, checked to be digits, and converted with three multiplications. Fields
/// too close to the start of the line, or not inside it, take the plain loop.
#[inline]
pub fn fast_digits(line: &[u8], field: &[u8]) -> Option<u64> {
    let offset = (field.as_ptr() as usize).checked_sub(line.as_ptr() as usize);
    let end = offset.map(|o| o + field.len());
    let swar = end.and_then(|end| match field.len() {
        1..=8 => eight_digits(line, end, field.len()),
        9..=16 => Some(
            eight_digits(line, end - 8, field.len() - 8)? * 100_000_000
                + eight_digits(line, end, 8)?,
        ),
        _ => None,
    });
    swar.or_else(|| fast_u64(field))
}

/// The `len` (1-8) digits that end at `line[end]`, as a number.
#[inline]
fn eight_digits(line: &[u8], end: usize, len: usize) -> Option<u64> {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    const HIGH_NIBBLES: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    let word: [u8; 8] = line.get(end.checked_sub(8)?..end)?.try_into().ok()?;
    let x = u64::from_le_bytes(word);
    // The low bytes come before the digits: they read as '0'.
    let pad = if len >= 8 { 0 } else { u64::MAX >> (8 * len) };
    let x = (x & !pad) | (ZEROS & pad);
    // Every byte is 0x30..=0x39: its high nibble is 3, and still 3 after adding 6.
    if (x & HIGH_NIBBLES) | ((x.wrapping_add(0x0606_0606_0606_0606) & HIGH_NIBBLES) >> 4)
        != 0x3333_3333_3333_3333
    {
        return None;
    }
    // Pairs, then fours, then eight: each step is one multiplication.
    let x = (x & 0x0F0F_0F0F_0F0F_0F0F).wrapping_mul(10 << 8 | 1) >> 8;
    let x = (x & 0x00FF_00FF_00FF_00FF).wrapping_mul(100 << 16 | 1) >> 16;
    Some((x & 0x0000_FFFF_0000_FFFF).wrapping_mul(10_000 << 32 | 1) >> 32)
}

/// The longest line [`split_spaces`] takes: longer ones go to the full parsers.
pub const SPLIT_MAX: usize = 256;

/// Splits `line` at single spaces and calls `f` with each field and its index;
/// returns the number of fields. `None` (after calling `f` for some fields, or
/// none) when a field is empty, the line holds a tab or another control byte, or
/// it is longer than [`SPLIT_MAX`]: such lines go to the full parsers.
///
/// The separators are found eight bytes at a time with exact zero-byte tests and
/// gathered into one bit per byte, so walking the fields is a loop over set bits:
/// no branch per byte for the processor to mispredict at every field end.
#[inline]
pub fn split_spaces<'a>(line: &'a [u8], mut f: impl FnMut(usize, &'a [u8])) -> Option<usize> {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const SPACES: u64 = 0x2020_2020_2020_2020;
    // Adds to each byte's low seven bits so that exactly the bytes below 0x20 stay
    // below 0x80.
    const BELOW_SPACE: u64 = 0x6060_6060_6060_6060;
    // Gathers the high bit of each byte into the top byte.
    const GATHER: u64 = 0x0002_0408_1020_4081;
    if line.len() > SPLIT_MAX {
        return None;
    }
    // One word's spaces as eight bits, and whether it holds a control byte.
    let scan = |x: u64| -> (u64, u64) {
        // High bit set exactly in the bytes that are spaces / below a space.
        let y = x ^ SPACES;
        let spaces = !(((y & LOW7) + LOW7) | y | LOW7);
        let control = !(((x & LOW7) + BELOW_SPACE) | x) & HIGH;
        (spaces.wrapping_mul(GATHER) >> 56, control)
    };
    // A mask per 64 bytes, built in a register.
    let mut masks = [0u64; SPLIT_MAX / 64];
    let mut control = 0u64;
    let mut rest = line;
    for mask in &mut masks {
        let mut m = 0u64;
        let take = rest.len().min(64);
        let (block, after) = rest.split_at_checked(take)?;
        let words = block.chunks_exact(8);
        let tail = words.remainder();
        let full = words.len();
        for (j, word) in words.enumerate() {
            let (bits, c) = scan(u64::from_le_bytes(word.try_into().ok()?));
            m |= bits << (8 * j);
            control |= c;
        }
        if !tail.is_empty() {
            // The last bytes, padded with a byte that is neither a space nor control.
            let mut word = [b'!'; 8];
            word.get_mut(..tail.len())?.copy_from_slice(tail);
            let (bits, c) = scan(u64::from_le_bytes(word));
            m |= bits << (8 * full);
            control |= c;
        }
        *mask = m;
        rest = after;
        if rest.is_empty() {
            break;
        }
    }
    if control != 0 {
        return None;
    }
    let mut n = 0;
    let mut start = 0;
    for (m, mut mask) in masks.into_iter().enumerate() {
        while mask != 0 {
            let end = m * 64 + mask.trailing_zeros() as usize;
            mask &= mask - 1;
            let field = line.get(start..end).filter(|f| !f.is_empty())?;
            f(n, field);
            n += 1;
            start = end + 1;
        }
    }
    let field = line.get(start..).filter(|f| !f.is_empty())?;
    f(n, field);
    Some(n + 1)
}
