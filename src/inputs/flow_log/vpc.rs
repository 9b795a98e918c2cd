//! AWS VPC Flow Logs: the default version-2 format, or any custom format announced
//! by a header line (versions 2-8 fields). The remote destination is `pkt-dstaddr`
//! when present, else `dstaddr`. `REJECT` records, `NODATA` and `SKIPDATA` carry no
//! transfer.

use super::{address, number, Disposition, FlowRecord, LineParser, Parsed};

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
}

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
        VpcParser {
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

impl LineParser for VpcParser {
    fn boxed_clone(&self) -> Box<dyn LineParser> {
        Box::new(self.clone())
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
