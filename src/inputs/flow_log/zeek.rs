//! Zeek `conn.log`: TSV with `#separator` and `#fields` headers, or JSON lines.
//! The destination is `id.resp_h`, the bytes sent to it `orig_bytes`; connections
//! in state `REJ` carry no transfer.

use super::{address, number, Disposition, FlowRecord, LineParser, Parsed};
use serde::Deserialize;

/// TSV: positions learnt from `#fields`.
#[derive(Debug, Clone, Default)]
pub struct ZeekTsvParser {
    separator: Option<char>,
    ts: Option<usize>,
    duration: Option<usize>,
    orig_h: Option<usize>,
    resp_h: Option<usize>,
    resp_p: Option<usize>,
    orig_bytes: Option<usize>,
    conn_state: Option<usize>,
    width: usize,
}

fn unset(v: &str) -> &str {
    if v == "(empty)" {
        "-"
    } else {
        v
    }
}

fn seconds(v: &str) -> Result<Option<u64>, String> {
    number(unset(v))
}

impl LineParser for ZeekTsvParser {
    fn boxed_clone(&self) -> Box<dyn LineParser> {
        Box::new(self.clone())
    }

    fn parse(&mut self, line: &str) -> Parsed {
        if let Some(rest) = line.strip_prefix('#') {
            if let Some(sep) = rest.strip_prefix("separator ") {
                self.separator = match sep.trim() {
                    "\\x09" => Some('\t'),
                    "\\x20" => Some(' '),
                    "," => Some(','),
                    other => other.chars().next(),
                };
            } else if let Some(names) = rest.strip_prefix("fields") {
                let names: Vec<&str> = names
                    .split(self.separator.unwrap_or('\t'))
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect();
                let pos = |n: &str| names.iter().position(|f| *f == n);
                self.ts = pos("ts");
                self.duration = pos("duration");
                self.orig_h = pos("id.orig_h");
                self.resp_h = pos("id.resp_h");
                self.resp_p = pos("id.resp_p");
                self.orig_bytes = pos("orig_bytes");
                self.conn_state = pos("conn_state");
                self.width = names.len();
                if self.resp_h.is_none() {
                    return Parsed::Bad("`#fields` has no `id.resp_h`".into());
                }
            }
            return Parsed::Header;
        }
        if self.width == 0 {
            return Parsed::Bad("a record before the `#fields` header".into());
        }
        // One pass over the fields, keeping the seven the scan needs (no allocation).
        let wanted = [
            self.ts,
            self.duration,
            self.orig_h,
            self.resp_h,
            self.resp_p,
            self.orig_bytes,
            self.conn_state,
        ];
        let mut got: [&str; 7] = ["-"; 7];
        let mut n = 0;
        for field in line.split(self.separator.unwrap_or('\t')) {
            for (slot, want) in got.iter_mut().zip(wanted) {
                if want == Some(n) {
                    *slot = unset(field);
                }
            }
            n += 1;
        }
        if n != self.width {
            return Parsed::Bad(format!("expected {} fields, found {n}", self.width));
        }
        let [ts, duration, orig_h, resp_h, resp_p, orig_bytes, conn_state] = got;
        if conn_state == "REJ" {
            return Parsed::NoTransfer(Disposition::Rejected);
        }
        let result = (|| -> Result<FlowRecord, String> {
            let dst = address(resp_h)?.ok_or("no `id.resp_h`")?;
            let start = seconds(ts)?;
            let duration = seconds(duration)?;
            Ok(FlowRecord {
                dst,
                dst_port: number(resp_p)?.map_or(0, |p| u16::try_from(p).unwrap_or(0)),
                src: address(orig_h)?,
                bytes: number(orig_bytes)?.unwrap_or(0),
                start,
                end: start.map(|s| s + duration.unwrap_or(0)),
            })
        })();
        match result {
            Ok(r) => Parsed::Flow(r),
            Err(e) => Parsed::Bad(e),
        }
    }
}

#[derive(Deserialize)]
struct ZeekJson<'a> {
    #[serde(default)]
    ts: Option<f64>,
    #[serde(default)]
    duration: Option<f64>,
    #[serde(rename = "id.orig_h", default, borrow)]
    orig_h: Option<&'a str>,
    #[serde(rename = "id.resp_h", borrow)]
    resp_h: &'a str,
    #[serde(rename = "id.resp_p", default)]
    resp_p: Option<u16>,
    #[serde(default)]
    orig_bytes: Option<u64>,
    #[serde(default, borrow)]
    conn_state: Option<&'a str>,
}

/// JSON lines.
#[derive(Debug, Clone, Copy, Default)]
pub struct ZeekJsonParser;

impl LineParser for ZeekJsonParser {
    fn boxed_clone(&self) -> Box<dyn LineParser> {
        Box::new(*self)
    }

    fn parse(&mut self, line: &str) -> Parsed {
        let rec: ZeekJson<'_> = match serde_json::from_str(line) {
            Ok(r) => r,
            Err(e) => return Parsed::Bad(format!("not a Zeek JSON record: {e}")),
        };
        if rec.conn_state == Some("REJ") {
            return Parsed::NoTransfer(Disposition::Rejected);
        }
        let dst = match address(rec.resp_h) {
            Ok(Some(a)) => a,
            Ok(None) => return Parsed::Bad("no `id.resp_h`".into()),
            Err(e) => return Parsed::Bad(e),
        };
        let src = match rec.orig_h.map(address).transpose() {
            Ok(s) => s.flatten(),
            Err(e) => return Parsed::Bad(e),
        };
        let start = rec.ts.map(|t| t as u64);
        Parsed::Flow(FlowRecord {
            dst,
            dst_port: rec.resp_p.unwrap_or(0),
            src,
            bytes: rec.orig_bytes.unwrap_or(0),
            start,
            end: start.map(|s| s + rec.duration.unwrap_or(0.0) as u64),
        })
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn tsv_and_json() {
        let mut p = ZeekTsvParser::default();
        assert_eq!(p.parse("#separator \\x09"), Parsed::Header);
        assert_eq!(p.parse("#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\torig_bytes\tresp_bytes\tconn_state"), Parsed::Header);
        let Parsed::Flow(f) =
            p.parse("1700000000.5\tCx1\t10.0.0.2\t5555\t3.120.0.1\t443\ttcp\t2.5\t1200\t800\tSF")
        else {
            panic!()
        };
        assert_eq!(
            (f.dst.to_string().as_str(), f.dst_port, f.bytes, f.start),
            ("3.120.0.1", 443, 1200, Some(1_700_000_000))
        );
        let Parsed::Flow(f) =
            p.parse("1700000000.5\tCx1\t10.0.0.2\t5555\t3.120.0.1\t443\ttcp\t-\t-\t-\tS0")
        else {
            panic!()
        };
        assert_eq!(f.bytes, 0);
        assert_eq!(
            p.parse("1\tC\t10.0.0.2\t1\t3.3.3.3\t80\ttcp\t-\t-\t-\tREJ"),
            Parsed::NoTransfer(Disposition::Rejected)
        );
        assert!(matches!(p.parse("1\tC\t10.0.0.2"), Parsed::Bad(_)));
        let mut j = ZeekJsonParser;
        let Parsed::Flow(f) = j.parse(r#"{"ts":1700000000.1,"uid":"C1","id.orig_h":"10.0.0.2","id.orig_p":5,"id.resp_h":"2a00:1450::1","id.resp_p":443,"orig_bytes":77,"conn_state":"SF"}"#) else { panic!() };
        assert_eq!((f.dst.to_string().as_str(), f.bytes), ("2a00:1450::1", 77));
        assert!(matches!(j.parse("{not json"), Parsed::Bad(_)));
    }
}
