//! AWS VPC Flow Logs: the default version-2 format, or any custom format announced
//! by a header line (versions 2-8 fields). The remote destination is `pkt-dstaddr`
//! when present, else `dstaddr`. `REJECT` records, `NODATA` and `SKIPDATA` carry no
//! transfer.

use super::fast::{self, fast_digits, fast_ipv4, AddressMemo, Line};
use super::{address, number, Disposition, FlowRecord, LineParser, Parsed, Plain, V4Flow};
use std::net::{IpAddr, Ipv4Addr};

/// A field position the scan does not need.
const UNUSED: u8 = u8::MAX;

/// Field positions, from a header line or the version-2 default.
#[derive(Debug, Clone)]
pub struct VpcParser {
    srcaddr: Option<usize>,
    dstaddr: Option<usize>,
    pkt_dstaddr: Option<usize>,
    dstport: Option<usize>,
    bytes: Option<usize>,
    start: Option<usize>,
    end: Option<usize>,
    action: Option<usize>,
    log_status: Option<usize>,
    width: usize,
    /// For each slot of the fast path, its field position (or `UNUSED`).
    fields: [u8; 9],
    /// Source addresses read lately: 8,192 places, 192 KiB, made on first use.
    sources: AddressMemo<13>,
}

/// Slots of the fast path's field array.
const SRC: usize = 0;
const DST: usize = 1;
const PKT_DST: usize = 2;
const PORT: usize = 3;
const BYTES: usize = 4;
const START: usize = 5;
const END: usize = 6;
const ACTION: usize = 7;
const STATUS: usize = 8;

/// The default version-2 field order.
const DEFAULT: [&str; 14] = [
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
];

impl Default for VpcParser {
    fn default() -> Self {
        VpcParser::from_fields(&DEFAULT)
    }
}

impl VpcParser {
    fn from_fields(names: &[&str]) -> VpcParser {
        let pos = |n: &str| names.iter().position(|f| *f == n);
        let slot_names = [
            (SRC, "srcaddr"),
            (DST, "dstaddr"),
            (PKT_DST, "pkt-dstaddr"),
            (PORT, "dstport"),
            (BYTES, "bytes"),
            (START, "start"),
            (END, "end"),
            (ACTION, "action"),
            (STATUS, "log-status"),
        ];
        let mut fields = [UNUSED; 9];
        for (slot, name) in slot_names {
            if let (Some(f), Some(i)) = (fields.get_mut(slot), pos(name)) {
                *f = u8::try_from(i).unwrap_or(UNUSED);
            }
        }
        VpcParser {
            fields,
            srcaddr: pos("srcaddr"),
            dstaddr: pos("dstaddr"),
            pkt_dstaddr: pos("pkt-dstaddr"),
            dstport: pos("dstport"),
            bytes: pos("bytes"),
            start: pos("start"),
            end: pos("end"),
            action: pos("action"),
            log_status: pos("log-status"),
            width: names.len(),
            sources: AddressMemo::default(),
        }
    }
}

fn is_header(fields: &[&str]) -> bool {
    fields
        .iter()
        .any(|f| *f == "dstaddr" || *f == "pkt-dstaddr" || *f == "version" || *f == "log-status")
        && fields.iter().all(|f| {
            f.chars()
                .all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit())
        })
        && fields
            .iter()
            .any(|f| f.chars().any(|c| c.is_ascii_lowercase()))
}

impl VpcParser {
    /// The byte-level fast path for the common record, on a line the block scanner
    /// found plain: plain IPv4 addresses, plain numbers. `None` hands the line to the
    /// full parser, which handles (and explains) everything else, so both paths give
    /// the same answer.
    #[inline]
    fn fast_line(&mut self, line: &Line<'_>) -> Option<Plain> {
        // The version-2 default (most logs): its field positions and width are
        // constants, so each field's bounds are read at a fixed place, checked
        // once for the line.
        if self.width == DEFAULT.len() && self.fields == DEFAULT_FIELDS {
            fast_fields(line, &DEFAULT_FIELDS, DEFAULT.len(), &mut self.sources)
        } else {
            let fields = self.fields;
            fast_fields(line, &fields, self.width, &mut self.sources)
        }
    }

    /// The fast path for one line on its own (the block reader scans whole blocks).
    #[cfg(test)]
    fn fast(&mut self, line: &[u8]) -> Option<Parsed> {
        let mut parsed = None;
        let _ = fast::lines(line, |l| -> Result<(), ()> {
            parsed = self.fast_line(&l).map(Plain::parsed);
            Ok(())
        });
        parsed
    }
}

/// The fast path's field positions of the version-2 default, slot by slot (see
/// [`VpcParser`]'s `fields`).
const DEFAULT_FIELDS: [u8; 9] = [3, 4, UNUSED, 6, 9, 10, 11, 12, 13];

/// The fast path for a record of `width` fields, `fields` giving each slot's
/// field position (see [`VpcParser`]'s `fields`).
#[inline(always)]
fn fast_fields(
    line: &Line<'_>,
    fields: &[u8; 9],
    width: usize,
    sources: &mut AddressMemo<13>,
) -> Option<Plain> {
    let bounds = line.bounds?;
    if bounds.len() != width + 1 {
        return None;
    }
    let text = line.text();
    // Each slot's field as offset and length; `(0, 0)` for a field the format lacks.
    let mut at = [(0usize, 0usize); 9];
    for (a, &i) in at.iter_mut().zip(fields) {
        if i != UNUSED {
            *a = fast::span(bounds, usize::from(i))?;
        }
    }
    // The status and the action, each compared as one word.
    match word(line.room, at[STATUS]) {
        NODATA | SKIPDATA => return Some(Plain::Parsed(Parsed::NoTransfer(Disposition::Skipped))),
        OK | DASH | 0 => {}
        _ => return None,
    }
    match word(line.room, at[ACTION]) {
        REJECT => return Some(Plain::Parsed(Parsed::NoTransfer(Disposition::Rejected))),
        ACCEPT | DASH | 0 => {}
        _ => return None,
    }
    let dst = match fast_address(line, at[PKT_DST])? {
        Some(a) => a,
        None => fast_address(line, at[DST])??,
    };
    let dst_port = fast_number(text, at[PORT])?.map_or(0, |p| u16::try_from(p).unwrap_or(0));
    let src = match at[SRC] {
        (_, 0) => None,
        (at, 1) if line.room.get(at) == Some(&b'-') => None,
        (at, len) => Some(sources.ipv4(line.room.get(at..)?, len)?),
    };
    let bytes = fast_number(text, at[BYTES])?.unwrap_or(0);
    let start = fast_number(text, at[START])?;
    let end = fast_number(text, at[END])?;
    Some(match V4Flow::new(dst, src, dst_port, bytes, start, end) {
        Some(flow) => Plain::V4(flow),
        None => Plain::Parsed(Parsed::Flow(FlowRecord {
            dst: IpAddr::V4(dst),
            dst_port,
            src: src.map(IpAddr::V4),
            bytes,
            start,
            end,
        })),
    })
}

/// Up to eight bytes as one little-endian word, the bytes after them zero.
const fn pack(text: &[u8]) -> u64 {
    let mut w = 0u64;
    let mut rest = text;
    while let [before @ .., last] = rest {
        w = w << 8 | *last as u64;
        rest = before;
    }
    w
}

const NODATA: u64 = pack(b"NODATA");
const SKIPDATA: u64 = pack(b"SKIPDATA");
const OK: u64 = pack(b"OK");
const REJECT: u64 = pack(b"REJECT");
const ACCEPT: u64 = pack(b"ACCEPT");
const DASH: u64 = pack(b"-");

/// A field of up to eight bytes as [`pack`] makes it (`0` for an empty or absent
/// one), read with one load where the block has eight bytes from its start; a
/// longer field is `u64::MAX`, which no [`pack`]ed word of a plain line equals
/// (a plain line is ASCII).
#[inline(always)]
fn word(room: &[u8], (at, len): (usize, usize)) -> u64 {
    if len > 8 {
        return u64::MAX;
    }
    let w = match room.get(at..at + 8) {
        Some(w) => w.try_into().map_or(u64::MAX, u64::from_le_bytes),
        None => room.get(at..at + len).map_or(u64::MAX, pack),
    };
    match len {
        8 => w,
        _ => w & ((1u64 << (8 * len)) - 1),
    }
}

/// An address field: `Some(None)` when absent (`-`, or a field the format lacks).
#[inline(always)]
fn fast_address(line: &Line<'_>, (at, len): (usize, usize)) -> Option<Option<Ipv4Addr>> {
    if len == 0 || (len == 1 && line.room.get(at) == Some(&b'-')) {
        return Some(None);
    }
    fast_ipv4(line.room.get(at..)?, len).map(Some)
}

/// A number field: `Some(None)` when absent (`-`, or a field the format lacks).
#[inline(always)]
fn fast_number(text: &[u8], (at, len): (usize, usize)) -> Option<Option<u64>> {
    if len == 0 || (len == 1 && text.get(at) == Some(&b'-')) {
        return Some(None);
    }
    fast_digits(text, at, len).map(Some)
}

impl LineParser for VpcParser {
    fn boxed_clone(&self) -> Box<dyn LineParser> {
        Box::new(self.clone())
    }

    fn takes_plain_lines(&self) -> bool {
        true
    }

    #[inline]
    fn parse_plain(&mut self, line: &Line<'_>) -> Option<Plain> {
        self.fast_line(line)
    }

    fn parse(&mut self, line: &str) -> Parsed {
        // Records start with a version number; only other lines can be headers.
        if !line.starts_with(|c: char| c.is_ascii_digit()) {
            let fields: Vec<&str> = line.split_ascii_whitespace().collect();
            if is_header(&fields) {
                *self = VpcParser::from_fields(&fields);
                if self.dstaddr.is_none() && self.pkt_dstaddr.is_none() {
                    return Parsed::Bad(
                        "the header names neither `dstaddr` nor `pkt-dstaddr`".into(),
                    );
                }
                return Parsed::Header;
            }
        }
        // One pass over the fields, keeping only the ones the scan needs.
        let slot_of = |i: usize| -> Option<usize> {
            let hit = |p: Option<usize>| p == Some(i);
            [
                self.srcaddr,
                self.dstaddr,
                self.pkt_dstaddr,
                self.dstport,
                self.bytes,
                self.start,
                self.end,
                self.action,
                self.log_status,
            ]
            .iter()
            .position(|p| hit(*p))
        };
        let mut got: [&str; 9] = ["-"; 9];
        let mut n = 0;
        for f in line.split([' ', '\t']).filter(|f| !f.is_empty()) {
            if let Some(slot) = slot_of(n).and_then(|s| got.get_mut(s)) {
                *slot = f;
            }
            n += 1;
        }
        if n != self.width {
            return Parsed::Bad(format!("expected {} fields, found {n}", self.width));
        }
        let [src, dstaddr, pkt_dstaddr, dstport, bytes, start, end, action, status] = got;
        if status == "NODATA" || status == "SKIPDATA" {
            return Parsed::NoTransfer(Disposition::Skipped);
        }
        match action {
            "REJECT" => return Parsed::NoTransfer(Disposition::Rejected),
            "ACCEPT" | "-" => {}
            other => return Parsed::Bad(format!("unknown action `{other}`")),
        }
        let dst = match (address(pkt_dstaddr), address(dstaddr)) {
            (Ok(Some(a)), _) => a,
            (Ok(None), Ok(Some(a))) => a,
            (Err(e), _) | (_, Err(e)) => return Parsed::Bad(e),
            (Ok(None), Ok(None)) => return Parsed::Bad("no destination address".into()),
        };
        let parsed = (|| -> Result<FlowRecord, String> {
            Ok(FlowRecord {
                dst,
                dst_port: number(dstport)?.map_or(0, |p| u16::try_from(p).unwrap_or(0)),
                src: address(src)?,
                bytes: number(bytes)?.unwrap_or(0),
                start: number(start)?,
                end: number(end)?,
            })
        })();
        match parsed {
            Ok(r) => Parsed::Flow(r),
            Err(e) => Parsed::Bad(e),
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use proptest::prelude::*;

    fn field() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("-".to_string()),
            Just("ACCEPT".to_string()),
            Just("REJECT".to_string()),
            Just("OK".to_string()),
            Just("NODATA".to_string()),
            Just("SKIPDATA".to_string()),
            Just("accept".to_string()),
            Just("2a00:1450::1".to_string()),
            Just("01.2.3.4".to_string()),
            Just("1.2.3.256".to_string()),
            Just("1.2.3".to_string()),
            Just("1.2.3.4.5".to_string()),
            Just("+5".to_string()),
            Just("1.5".to_string()),
            Just("99999999999999999999".to_string()),
            (0u8..=255, 0u8..=255, 0u8..=255, 0u8..=255)
                .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
            any::<u64>().prop_map(|n| n.to_string()),
            (0u32..70000).prop_map(|n| n.to_string()),
            "[a-z0-9.:-]{0,6}",
            // The words the fast path compares, and longer ones that start alike.
            "(OK|NODATA|SKIPDATA|ACCEPT|REJECT|-)[A-Z-]{0,3}",
        ]
    }

    proptest! {
        /// The byte-level fast path and the full parser agree on every line the fast
        /// path takes (the others go to the full parser).
        #[test]
        fn fast_path_agrees_with_the_full_parser(
            fields in proptest::collection::vec(field(), 12..16),
            seps in proptest::collection::vec(prop_oneof![8 => Just(" "), 1 => Just("  "), 1 => Just("\t")], 16),
        ) {
            let mut line = "2".to_string();
            for (f, sep) in fields.iter().zip(&seps) {
                line.push_str(sep);
                line.push_str(f);
            }
            // The default (constant positions), the default's fields and two more
            // (the same positions at another width), and another order.
            let wider: Vec<&str> = DEFAULT.iter().copied().chain(["vpc-id", "subnet-id"]).collect();
            let reordered = [
                "version", "srcaddr", "dstaddr", "pkt-dstaddr", "dstport", "bytes", "start",
                "end", "action", "log-status", "account-id", "interface-id", "protocol",
            ];
            for mut p in [
                VpcParser::default(),
                VpcParser::from_fields(&wider),
                VpcParser::from_fields(&reordered),
            ] {
                if let Some(fast) = p.fast(line.as_bytes()) {
                    prop_assert_eq!(fast, p.parse(&line));
                }
            }
        }
    }

    /// The default's constant field positions are the ones its header gives; a
    /// custom order, and the default's fields with more after them, take the fast
    /// path at their own positions and agree with the full parser.
    #[test]
    fn the_default_positions_are_the_headers() {
        let p = VpcParser::default();
        assert_eq!((p.fields, p.width), (DEFAULT_FIELDS, DEFAULT.len()));
        let wider: Vec<&str> = DEFAULT.iter().copied().chain(["vpc-id"]).collect();
        let default_line = "2 1 eni-1 10.0.0.5 52.95.0.1 4000 443 6 1 900 10 70 ACCEPT OK";
        let cases = [
            (
                vec![
                    "version",
                    "srcaddr",
                    "dstaddr",
                    "pkt-dstaddr",
                    "dstport",
                    "bytes",
                    "start",
                    "end",
                    "action",
                    "log-status",
                ],
                "5 10.0.0.5 10.0.1.9 52.95.0.1 443 900 10 70 ACCEPT OK".to_string(),
            ),
            (wider, format!("{default_line} vpc-1")),
        ];
        for (header, line) in cases {
            let mut p = VpcParser::from_fields(&header);
            let fast = p.fast(line.as_bytes());
            let Some(Parsed::Flow(f)) = &fast else {
                panic!("{line}: {fast:?}")
            };
            assert_eq!(
                (f.dst.to_string(), f.dst_port, f.bytes, f.start, f.end),
                ("52.95.0.1".to_string(), 443, 900, Some(10), Some(70)),
                "{line}"
            );
            assert_eq!(fast, Some(p.parse(&line)), "{line}");
        }
    }

    /// The status and action words, compared as machine words: the known ones
    /// take the fast path and the rest (longer, shorter, other case) go to the full
    /// parser, whether the word ends the block or more lines follow it.
    #[test]
    fn status_and_action_words() {
        let known = ["OK", "NODATA", "SKIPDATA", "ACCEPT", "REJECT", "-"];
        let others = [
            "O",
            "OKK",
            "ok",
            "NODAT",
            "NODATAX",
            "SKIPDAT",
            "SKIPDATAX",
            "ACCEPTED",
            "ACCEP",
            "REJECTS",
            "accept",
            "-X",
            "X",
        ];
        let mut p = VpcParser::default();
        for action in known.iter().chain(&others) {
            for status in known.iter().chain(&others) {
                let line = format!(
                    "2 123456789012 eni-1 10.0.0.1 52.95.110.1 49152 443 6 10 4242 1700000000 1700000060 {action} {status}"
                );
                let full = p.parse(&line);
                for block in [line.clone(), format!("{line}\n{line}\n")] {
                    let mut fast = None;
                    let _ = fast::lines(block.as_bytes(), |l| -> Result<(), ()> {
                        if fast.is_none() {
                            fast = Some(p.fast_line(&l).map(Plain::parsed));
                        }
                        Ok(())
                    });
                    let fast = fast.flatten();
                    // A record without data is taken whatever its action.
                    let plain = match *status {
                        "NODATA" | "SKIPDATA" => true,
                        "OK" | "-" => ["ACCEPT", "REJECT", "-"].contains(action),
                        _ => false,
                    };
                    assert_eq!(fast.is_some(), plain, "{line:?}");
                    if let Some(fast) = fast {
                        assert_eq!(fast, full, "{line:?}");
                    }
                }
            }
        }
    }

    /// A long record (a long interface id, over several of the scanner's 64-byte
    /// chunks) takes the fast path and gets the answer the full parser gives, the
    /// one a short record gets.
    #[test]
    fn long_records_parse_like_short_ones() {
        let long = format!(
            "2 123456789010 eni-{} 172.31.16.139 3.120.0.1 20641 443 6 20 4249 1418530010 1418530070 ACCEPT OK",
            "a".repeat(300)
        );
        let short = "2 123456789010 eni-a 172.31.16.139 3.120.0.1 20641 443 6 20 4249 1418530010 1418530070 ACCEPT OK";
        let mut p = VpcParser::default();
        let fast = p.fast(long.as_bytes());
        assert!(matches!(fast, Some(Parsed::Flow(_))), "{fast:?}");
        assert_eq!(fast, Some(p.parse(&long)));
        assert_eq!(fast, p.fast(short.as_bytes()));
    }

    #[test]
    fn default_and_custom_formats() {
        let mut p = VpcParser::default();
        let r = p.parse("2 123456789010 eni-1235b8ca 172.31.16.139 3.120.0.1 20641 443 6 20 4249 1418530010 1418530070 ACCEPT OK");
        let Parsed::Flow(f) = r else { panic!("{r:?}") };
        assert_eq!(f.dst.to_string(), "3.120.0.1");
        assert_eq!((f.dst_port, f.bytes), (443, 4249));
        assert_eq!(
            p.parse("2 1 eni-1 1.1.1.1 2.2.2.2 1 2 6 1 1 1 2 REJECT OK"),
            Parsed::NoTransfer(Disposition::Rejected)
        );
        assert_eq!(
            p.parse("2 1 eni-1 - - - - - - - 1431280876 1431280934 - NODATA"),
            Parsed::NoTransfer(Disposition::Skipped)
        );
        assert!(matches!(p.parse("2 1 eni-1 1.1.1.1"), Parsed::Bad(_)));
        // A custom format with pkt-dstaddr (NAT gateway: dstaddr is the gateway).
        assert_eq!(
            p.parse("version srcaddr dstaddr pkt-dstaddr dstport bytes action log-status"),
            Parsed::Header
        );
        let Parsed::Flow(f) = p.parse("5 10.0.0.5 10.0.1.9 52.95.0.1 443 900 ACCEPT OK") else {
            panic!()
        };
        assert_eq!(f.dst.to_string(), "52.95.0.1");
        let Parsed::Flow(f) = p.parse("5 10.0.0.5 10.0.1.9 - 443 900 ACCEPT OK") else {
            panic!()
        };
        assert_eq!(f.dst.to_string(), "10.0.1.9");
    }
}
