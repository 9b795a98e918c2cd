//! Generic flow records: JSON lines or CSV with a header, mapped to flow fields by
//! column names (`--columns dst=dest_ip,port=dport,bytes=sent_bytes`), or by the
//! common names when no mapping is given.

use super::{address, number, Disposition, FlowRecord, LineParser, Parsed};
use serde_json::{Map, Value};

/// Which column holds which flow field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMap {
    /// Destination address (required).
    pub dst: Vec<String>,
    /// Destination port.
    pub port: Vec<String>,
    /// Bytes sent.
    pub bytes: Vec<String>,
    /// Source address.
    pub src: Vec<String>,
    /// Start time (Unix seconds).
    pub start: Vec<String>,
    /// End time (Unix seconds).
    pub end: Vec<String>,
    /// Action (`REJECT`, `DENY`, `DROP`, `BLOCK` carry no transfer).
    pub action: Vec<String>,
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_string()).collect()
}

impl Default for ColumnMap {
    fn default() -> Self {
        ColumnMap {
            dst: names(&[
                "dst",
                "dstaddr",
                "dst_ip",
                "dst_addr",
                "dest_ip",
                "destination",
                "destination_ip",
                "remote_ip",
            ]),
            port: names(&["dst_port", "dstport", "dport", "destination_port", "port"]),
            bytes: names(&[
                "bytes",
                "bytes_out",
                "sent_bytes",
                "bytes_sent",
                "orig_bytes",
                "out_bytes",
            ]),
            src: names(&[
                "src",
                "srcaddr",
                "src_ip",
                "src_addr",
                "source",
                "source_ip",
            ]),
            start: names(&["start", "ts", "timestamp", "time", "start_time"]),
            end: names(&["end", "end_time"]),
            action: names(&["action", "verdict", "decision"]),
        }
    }
}

/// The flow fields `--columns` can map.
pub const FIELDS: [&str; 7] = ["dst", "port", "bytes", "src", "start", "end", "action"];

impl ColumnMap {
    /// Parses `dst=dest_ip,port=dport,...` over the defaults.
    pub fn parse(spec: &str) -> Result<ColumnMap, String> {
        let mut map = ColumnMap::default();
        for part in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (field, column) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}` is not FIELD=COLUMN"))?;
            let slot = match field.trim() {
                "dst" => &mut map.dst,
                "port" => &mut map.port,
                "bytes" => &mut map.bytes,
                "src" => &mut map.src,
                "start" => &mut map.start,
                "end" => &mut map.end,
                "action" => &mut map.action,
                other => {
                    return Err(format!(
                        "unknown field `{other}`{}",
                        crate::error::did_you_mean(other, FIELDS)
                            .map(|h| format!(" ({h})"))
                            .unwrap_or_default()
                    ))
                }
            };
            *slot = vec![column.trim().to_string()];
        }
        Ok(map)
    }
}

fn rejected(action: &str) -> bool {
    matches!(
        action.to_ascii_uppercase().as_str(),
        "REJECT" | "DENY" | "DROP" | "BLOCK" | "DENIED" | "BLOCKED"
    )
}

fn record<'a>(get: impl Fn(&[String]) -> Option<&'a str>, map: &ColumnMap) -> Parsed {
    if get(&map.action).is_some_and(rejected) {
        return Parsed::NoTransfer(Disposition::Rejected);
    }
    let result = (|| -> Result<FlowRecord, String> {
        let dst = get(&map.dst)
            .ok_or_else(|| format!("no destination column (looked for {})", map.dst.join(", ")))?;
        let dst = address(dst)?.ok_or("empty destination")?;
        Ok(FlowRecord {
            dst,
            dst_port: get(&map.port)
                .map(number)
                .transpose()?
                .flatten()
                .map_or(0, |p| u16::try_from(p).unwrap_or(0)),
            src: get(&map.src).map(address).transpose()?.flatten(),
            bytes: get(&map.bytes)
                .map(number)
                .transpose()?
                .flatten()
                .unwrap_or(0),
            start: get(&map.start).map(number).transpose()?.flatten(),
            end: get(&map.end).map(number).transpose()?.flatten(),
        })
    })();
    match result {
        Ok(r) => Parsed::Flow(r),
        Err(e) => Parsed::Bad(e),
    }
}

/// JSON lines.
#[derive(Debug, Clone, Default)]
pub struct JsonlParser {
    /// The column mapping.
    pub map: ColumnMap,
}

impl LineParser for JsonlParser {
    fn boxed_clone(&self) -> Box<dyn LineParser> {
        Box::new(self.clone())
    }

    fn parse(&mut self, line: &str) -> Parsed {
        let obj: Map<String, Value> = match serde_json::from_str(line) {
            Ok(o) => o,
            Err(e) => return Parsed::Bad(format!("not a JSON object: {e}")),
        };
        // Numbers are kept as text so one number parser serves both formats.
        let texts: Vec<(String, String)> = obj
            .iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k.clone(), s.clone())),
                Value::Number(n) => Some((k.clone(), n.to_string())),
                _ => None,
            })
            .collect();
        let get = |cands: &[String]| {
            cands
                .iter()
                .find_map(|c| texts.iter().find(|(k, _)| k == c).map(|(_, v)| v.as_str()))
        };
        record(get, &self.map)
    }
}

/// CSV with a header line.
#[derive(Debug, Clone, Default)]
pub struct CsvParser {
    /// The column mapping.
    pub map: ColumnMap,
    header: Option<Vec<String>>,
}

impl CsvParser {
    /// A parser that learns positions from the header line.
    pub fn new(map: ColumnMap) -> CsvParser {
        CsvParser { map, header: None }
    }
}

impl LineParser for CsvParser {
    fn boxed_clone(&self) -> Box<dyn LineParser> {
        Box::new(self.clone())
    }

    fn parse(&mut self, line: &str) -> Parsed {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(line.as_bytes());
        let row = match reader.records().next() {
            Some(Ok(r)) => r,
            Some(Err(e)) => return Parsed::Bad(format!("not a CSV row: {e}")),
            None => return Parsed::Header,
        };
        let Some(header) = &self.header else {
            let names: Vec<String> = row.iter().map(|s| s.trim().to_string()).collect();
            if !self.map.dst.iter().any(|d| names.contains(d)) {
                return Parsed::Bad(format!(
                    "the header has no destination column (looked for {}); map one with --columns dst=NAME",
                    self.map.dst.join(", ")
                ));
            }
            self.header = Some(names);
            return Parsed::Header;
        };
        if row.len() != header.len() {
            return Parsed::Bad(format!(
                "expected {} columns, found {}",
                header.len(),
                row.len()
            ));
        }
        let get = |cands: &[String]| {
            cands.iter().find_map(|c| {
                header
                    .iter()
                    .position(|h| h == c)
                    .and_then(|i| row.get(i))
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
            })
        };
        match record(get, &self.map) {
            Parsed::Flow(r) => Parsed::Flow(r),
            other => other,
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn jsonl_and_csv() {
        let mut j = JsonlParser::default();
        let Parsed::Flow(f) = j.parse(r#"{"dst_ip":"3.120.0.1","dport":443,"bytes_out":10,"src_ip":"10.0.0.1","ts":1700000000}"#) else { panic!() };
        assert_eq!(
            (f.dst.to_string().as_str(), f.dst_port, f.bytes),
            ("3.120.0.1", 443, 10)
        );
        assert_eq!(
            j.parse(r#"{"dst":"1.1.1.1","action":"DENY"}"#),
            Parsed::NoTransfer(Disposition::Rejected)
        );
        let mut c = CsvParser {
            map: ColumnMap::parse("dst=peer,bytes=sent").unwrap(),
            header: None,
        };
        assert_eq!(c.parse("when,peer,sent,note"), Parsed::Header);
        let Parsed::Flow(f) = c.parse("1700000000,\"8.8.8.8\",99,\"a, b\"") else {
            panic!()
        };
        assert_eq!((f.dst.to_string().as_str(), f.bytes), ("8.8.8.8", 99));
        assert!(matches!(c.parse("1,2"), Parsed::Bad(_)));
        assert!(ColumnMap::parse("dest=x")
            .unwrap_err()
            .contains("did you mean `dst`?"));
    }
}
