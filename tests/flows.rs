//! Flow logs generated from known geodb ranges: the per-country counts and bytes
//! are known by construction, and must match exactly for every format.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "test and benchmark code: a panic is a failed run"
)]

mod common;

use common::{residency, stderr, write_geodb};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};

/// (destination, port, bytes, how many flows, disposition)
#[derive(Clone, Copy)]
enum Kind {
    Accept,
    Reject,
    NoData,
}

fn traffic() -> Vec<(&'static str, u16, u64, usize, Kind)> {
    vec![
        ("5.10.1.1", 443, 100, 3, Kind::Accept),  // DE
        ("5.10.2.7", 5432, 100, 2, Kind::Accept), // DE
        ("6.20.0.9", 443, 1000, 3, Kind::Accept), // US
        ("7.30.4.4", 443, 50, 2, Kind::Accept),   // IN
        ("8.40.0.1", 25, 10, 4, Kind::Accept),    // GB
        ("9.9.9.9", 53, 7, 1, Kind::Accept),      // not in the geodb
        ("10.0.0.1", 8080, 5, 2, Kind::Accept),   // internal
        ("169.254.169.254", 80, 1, 1, Kind::Accept),
        ("6.20.0.9", 22, 0, 3, Kind::Reject),
        ("5.10.1.1", 0, 0, 2, Kind::NoData),
    ]
}

/// Calls `line` with each flow of [`traffic`] in order and its time (ten seconds
/// apart), NODATA records included only for a format that has them.
fn each_flow(nodata: bool, mut line: impl FnMut(u64, &'static str, u16, u64, Kind)) {
    let mut t = 1_780_000_000u64;
    for (dst, port, bytes, n, kind) in traffic() {
        if matches!(kind, Kind::NoData) && !nodata {
            continue;
        }
        for _ in 0..n {
            t += 10;
            line(t, dst, port, bytes, kind);
        }
    }
}

/// A temporary directory with the test geodb and the VPC log (with header,
/// default fields) in it: the directory, the geodb and the log.
fn vpc_log() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = geodb(dir.path());
    let log = dir.path().join("vpc.log");
    std::fs::write(&log, vpc(true, false)).unwrap();
    (dir, db, log)
}

fn geodb(dir: &Path) -> PathBuf {
    let p = dir.join("flows.mmdb");
    write_geodb(
        &p,
        "GeoIP2-Country",
        &[
            ("5.10.0.0", 16, json!({"country": {"iso_code": "DE"}})),
            ("6.20.0.0", 16, json!({"country": {"iso_code": "US"}})),
            ("7.30.0.0", 16, json!({"country": {"iso_code": "IN"}})),
            ("8.40.0.0", 16, json!({"country": {"iso_code": "GB"}})),
        ],
    );
    p
}

fn vpc(header: bool, custom: bool) -> String {
    let mut out = String::new();
    if header {
        out.push_str(if custom {
            "version srcaddr dstaddr pkt-dstaddr dstport bytes start end action log-status\n"
        } else {
            "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n"
        });
    }
    each_flow(true, |t, dst, port, bytes, kind| {
        let (action, status) = match kind {
            Kind::Accept => ("ACCEPT", "OK"),
            Kind::Reject => ("REJECT", "OK"),
            Kind::NoData => ("-", "NODATA"),
        };
        if custom {
            // Behind a NAT gateway: dstaddr is the gateway, pkt-dstaddr the real destination.
            let (d, p, b) = if matches!(kind, Kind::NoData) {
                ("-", "-".to_string(), "-".to_string())
            } else {
                (dst, port.to_string(), bytes.to_string())
            };
            out.push_str(&format!(
                "5 10.0.1.5 10.0.9.9 {d} {p} {b} {t} {} {action} {status}\n",
                t + 5
            ));
        } else if matches!(kind, Kind::NoData) {
            out.push_str(&format!(
                "2 123456789012 eni-0a1 - - - - - - - {t} {} - NODATA\n",
                t + 5
            ));
        } else {
            out.push_str(&format!("2 123456789012 eni-0a1 10.0.1.5 {dst} 40000 {port} 6 3 {bytes} {t} {} {action} {status}\n", t + 5));
        }
    });
    out.push_str("2 this line is broken\n");
    out
}

fn zeek_tsv() -> String {
    let mut out = String::from("#separator \\x09\n#set_separator\t,\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\n");
    each_flow(false, |t, dst, port, bytes, kind| {
        let state = if matches!(kind, Kind::Reject) {
            "REJ"
        } else {
            "SF"
        };
        let b = if matches!(kind, Kind::Reject) {
            "-".to_string()
        } else {
            bytes.to_string()
        };
        out.push_str(&format!(
            "{t}.25\tC{t}\t10.0.1.5\t40000\t{dst}\t{port}\ttcp\t-\t1.5\t{b}\t99\t{state}\n"
        ));
    });
    out.push_str("#close\t2026-11-28-00-00-00\n");
    out.push_str("broken\tline\n");
    out
}

fn zeek_json() -> String {
    let mut out = String::new();
    each_flow(false, |t, dst, port, bytes, kind| {
        let state = if matches!(kind, Kind::Reject) {
            "REJ"
        } else {
            "SF"
        };
        out.push_str(&json!({"ts": t as f64 + 0.25, "uid": format!("C{t}"), "id.orig_h": "10.0.1.5", "id.orig_p": 40000, "id.resp_h": dst, "id.resp_p": port, "proto": "tcp", "duration": 1.5, "orig_bytes": bytes, "resp_bytes": 99, "conn_state": state}).to_string());
        out.push('\n');
    });
    out.push_str("{\"broken\": \n");
    out
}

fn jsonl() -> String {
    let mut out = String::new();
    each_flow(false, |t, dst, port, bytes, kind| {
        let action = if matches!(kind, Kind::Reject) {
            "REJECT"
        } else {
            "ACCEPT"
        };
        out.push_str(&json!({"ts": t, "src_ip": "10.0.1.5", "dst_ip": dst, "dport": port, "bytes_out": bytes, "action": action}).to_string());
        out.push('\n');
    });
    out.push_str("[1, 2]\n");
    out
}

fn csv() -> String {
    let mut out = String::from("when,client,peer,peer_port,sent,verdict\n");
    each_flow(false, |t, dst, port, bytes, kind| {
        let verdict = if matches!(kind, Kind::Reject) {
            "deny"
        } else {
            "allow"
        };
        out.push_str(&format!(
            "{t},10.0.1.5,\"{dst}\",{port},{bytes},{verdict}\n"
        ));
    });
    out.push_str("only,three,columns\n");
    out
}

/// A policy that cannot be loaded fails the run before any log is read: a log
/// that does not exist is not reached.
#[test]
fn a_bad_policy_fails_before_the_logs_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let db = geodb(dir.path());
    let missing = dir.path().join("missing.log");
    let o = run_flows(&[&missing], &db, &["--policy", "gdrp"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("did you mean `gdpr`"), "{err}");
    assert!(!err.contains("missing.log"), "{err}");
}

fn run(path: &Path, db: &Path) -> Value {
    run_with(path, db, &[])
}

/// `residency flows PATHS… --geodb DB` and `extra`.
fn run_flows(paths: &[&Path], db: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["flows"];
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    args.extend(["--geodb", db.to_str().unwrap()]);
    args.extend_from_slice(extra);
    residency(&args)
}

fn run_with(path: &Path, db: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["--format", "json", "--as-of", "2026-11-28"];
    args.extend_from_slice(extra);
    let o = run_flows(&[path], db, &args);
    // Traffic to the US (no approved recipient), India and an unplaced address fails.
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn check(doc: &Value, with_nodata: bool) {
    let s = &doc["summary"];
    let skipped = if with_nodata { 2 } else { 0 };
    // 18 accepted + 3 rejected + NODATA + 1 malformed line.
    assert_eq!(s["records"], 18 + 3 + skipped + 1, "{s}");
    assert_eq!(s["rejected"], 3);
    assert_eq!(s["skipped"], skipped);
    assert_eq!(s["malformed"], 1);
    assert_eq!(
        s["classes"],
        json!({"internal": 3, "eea": 5, "adequate": 4, "conditional": 3, "third_country": 2, "unknown": 1})
    );
    assert_eq!(s["metadata_flows"], 1);
    assert_eq!(
        s["flows_by_country"],
        json!({"DE": 5, "GB": 4, "IN": 2, "US": 3, "unknown": 1})
    );
    assert_eq!(
        s["bytes_by_country"],
        json!({"DE": 500, "GB": 40, "IN": 100, "US": 3000, "unknown": 7})
    );
    let de = doc["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["country"] == "DE")
        .unwrap();
    assert_eq!(de["addresses"], 2);
    assert_eq!(de["networks"].as_array().unwrap().len(), 2);
    assert_eq!(de["sample_source"], "10.0.1.5");
    assert!(doc["malformed_lines"][0]["line"].as_u64().unwrap() > 0);
    let findings: Vec<String> = common::finding_lines(doc);
    assert_eq!(
        findings,
        [
            "RES012 egress:IN",
            "RES012 egress:US",
            "RES013 egress:unknown"
        ]
    );
    let us = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["subject"] == "egress:US")
        .unwrap();
    let m = us["message"].as_str().unwrap();
    assert!(
        m.starts_with("3 flows, 3000 bytes to US (1 address; top 6.20.0.0/24:443)"),
        "{m}"
    );
    assert!(m.contains("Data Privacy Framework"), "{m}");
}

#[test]
fn approved_recipients_and_allowed_networks_clear_findings() {
    let (dir, db, log) = vpc_log();
    let policy = dir.path().join("p.toml");
    std::fs::write(
        &policy,
        "[policy]\nname = \"p\"\nextends = \"gdpr\"\n\n[egress]\nallowed_cidrs = [\"9.9.9.9\", \"7.30.0.0/16\"]\n\n[[approved_recipient]]\nid = \"AR-1\"\nname = \"mailer\"\ncidrs = [\"6.20.0.0/24\"]\nmechanism = \"scc\"\ntia = \"TIA-1\"\nsupplementary_measures = [\"tls\"]\napprover = \"DPO\"\nticket = \"T-1\"\nexpires = 2027-01-31\n",
    )
    .unwrap();
    let args = ["--format", "json", "--policy", policy.to_str().unwrap()];
    let mut with_date = args.to_vec();
    with_date.extend(["--as-of", "2026-11-28"]);
    let o = run_flows(&[&log], &db, &with_date);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["findings"], json!([]));
    // After the approval expires, the US flows count again and RES010 says why.
    let mut later = args.to_vec();
    later.extend(["--as-of", "2027-02-01"]);
    let o = run_flows(&[&log], &db, &later);
    assert_eq!(o.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let rules: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["RES010", "RES012"]);
}

#[test]
fn vpc_default_with_and_without_header() {
    let dir = tempfile::tempdir().unwrap();
    let db = geodb(dir.path());
    for header in [true, false] {
        let p = dir.path().join(format!("vpc-{header}.log"));
        std::fs::write(&p, vpc(header, false)).unwrap();
        let doc = run(&p, &db);
        check(&doc, true);
        assert_eq!(doc["inputs"][0]["format"], "vpc");
        let line = doc["malformed_lines"][0]["line"].as_u64().unwrap();
        assert_eq!(
            line,
            24 + u64::from(header),
            "the broken line is the last one"
        );
    }
}

/// Windows line endings and bytes outside ASCII reach the block scanner: CRLF
/// records count as LF ones, and a record with a byte that is not UTF-8 is a bad
/// line at its own line number, not a lost or misread one.
#[test]
fn vpc_lines_with_crlf_and_bytes_outside_ascii() {
    let dir = tempfile::tempdir().unwrap();
    let db = geodb(dir.path());
    let p = dir.path().join("crlf.log");
    std::fs::write(&p, vpc(true, false).replace('\n', "\r\n")).unwrap();
    let doc = run(&p, &db);
    check(&doc, true);
    assert_eq!(doc["malformed_lines"][0]["line"], 25);
    let mut bytes = vpc(true, false).into_bytes();
    bytes.extend_from_slice(
        b"2 123456789012 eni-\xff 10.0.1.5 5.10.1.1 40000 443 6 1 100 1780000000 1780000060 ACCEPT OK\n",
    );
    let p = dir.path().join("latin1.log");
    std::fs::write(&p, &bytes).unwrap();
    let doc = run(&p, &db);
    assert_eq!(doc["summary"]["malformed"], 2);
    assert_eq!(
        doc["summary"]["flows_by_country"]["DE"], 5,
        "the bad record is not counted"
    );
    let bad = &doc["malformed_lines"][1];
    assert_eq!(
        (bad["line"].as_u64(), bad["reason"].as_str()),
        (Some(26), Some("not UTF-8 text"))
    );
}

#[test]
fn vpc_custom_format_uses_pkt_dstaddr() {
    let dir = tempfile::tempdir().unwrap();
    let db = geodb(dir.path());
    let p = dir.path().join("vpc-custom.log");
    std::fs::write(&p, vpc(true, true)).unwrap();
    check(&run(&p, &db), true);
}

#[test]
fn zeek_tsv_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = geodb(dir.path());
    let tsv = dir.path().join("conn.log");
    std::fs::write(&tsv, zeek_tsv()).unwrap();
    let doc = run(&tsv, &db);
    check(&doc, false);
    assert_eq!(doc["inputs"][0]["format"], "zeek-tsv");
    let js = dir.path().join("conn.json");
    std::fs::write(&js, zeek_json()).unwrap();
    let doc = run(&js, &db);
    check(&doc, false);
    assert_eq!(doc["inputs"][0]["format"], "zeek-json");
}

#[test]
fn generic_json_lines_and_csv_with_a_column_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let db = geodb(dir.path());
    let j = dir.path().join("flows.jsonl");
    std::fs::write(&j, jsonl()).unwrap();
    let doc = run(&j, &db);
    check(&doc, false);
    assert_eq!(doc["inputs"][0]["format"], "jsonl");
    let c = dir.path().join("flows.csv");
    std::fs::write(&c, csv()).unwrap();
    let doc = run_with(
        &c,
        &db,
        &[
            "--columns",
            "dst=peer,port=peer_port,bytes=sent,src=client,start=when,action=verdict",
        ],
    );
    check(&doc, false);
    assert_eq!(doc["inputs"][0]["format"], "csv");
    // Without the mapping the header has no destination column.
    let o = strict(&c, &db);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--columns dst=NAME"), "{}", stderr(&o));
    let o = residency(&["flows", c.to_str().unwrap(), "--columns", "dest=peer"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("did you mean `dst`?"), "{}", stderr(&o));
}

/// A replacement adequacy list that is not JSON, or not there, is an error that
/// names the file (and the line), with exit 2 and no report.
#[test]
fn a_bad_adequacy_list_is_named() {
    let (dir, db, log) = vpc_log();
    let bad = dir.path().join("adequacy.json");
    std::fs::write(
        &bad,
        "{\"list_date\": \"2026-01-01\",\n  \"decisions\": [ {\"country\"",
    )
    .unwrap();
    let o = run_flows(&[&log], &db, &["--adequacy", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let err = stderr(&o);
    assert!(err.contains("adequacy.json:2:"), "{err}");
    assert!(err.contains("EOF while parsing"), "{err}");
    let missing = dir.path().join("none.json");
    let o = run_flows(&[&log], &db, &["--adequacy", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("none.json: cannot read"), "{err}");
}

/// A report that cannot be written (a full device) is an error naming where it
/// was going, with exit 2: not a panic, and not a silent pass.
#[cfg(target_os = "linux")]
#[test]
fn a_report_that_cannot_be_written_is_an_error() {
    let (_dir, db, log) = vpc_log();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_residency"))
        .args([
            "flows",
            log.to_str().unwrap(),
            "--geodb",
            db.to_str().unwrap(),
        ])
        .args(["--format", "json", "--fail-on", "never"])
        .env_clear()
        .env("HOME", home.path())
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("cannot write the report to standard output"),
        "{err}"
    );
    assert!(err.contains("No space left on device"), "{err}");
}

/// `text` gzipped, as AWS delivers logs to S3.
fn gzip(text: &str) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap()
}

#[test]
fn gzipped_logs_are_read_transparently() {
    let dir = tempfile::tempdir().unwrap();
    let db = geodb(dir.path());
    let p = dir.path().join("flows.log.gz");
    std::fs::write(&p, gzip(&vpc(true, false))).unwrap();
    check(&run(&p, &db), true);
}

/// A gzipped log cut short (an interrupted download) or with a gzip header over
/// something else is exit 2 naming the file (or `-`) and what is wrong, from a
/// file and from standard input alike; nothing is reported as if it were whole.
#[test]
fn truncated_and_corrupt_gzip_logs_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let db = geodb(dir.path());
    let whole = gzip(&vpc(true, false).repeat(50));
    let cases = [
        (
            "cut.log.gz",
            whole[..whole.len() / 2].to_vec(),
            "cannot read",
        ),
        (
            "bad.log.gz",
            b"\x1f\x8bnot deflate at all".to_vec(),
            "invalid gzip header",
        ),
    ];
    for (name, bytes, why) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, &bytes).unwrap();
        let o = run_flows(&[&p], &db, &["--format", "json"]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{name}");
        let e = stderr(&o);
        assert!(
            e.contains(&format!("{}: cannot read", p.display())) && e.contains(why),
            "{e}"
        );
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_residency"))
            .args(["flows", "-", "--geodb", db.to_str().unwrap()])
            .env_clear()
            .env("HOME", dir.path())
            .stdin(std::fs::File::open(&p).unwrap())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{name} on stdin: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{name}");
        let e = stderr(&o);
        assert!(e.contains("-: cannot read") && e.contains(why), "{e}");
    }
}

/// A directory is walked for logs in name order (as AWS lays them out in S3:
/// account, region, year, month, day): the report is the one of the same files
/// named one by one. Hidden entries, other files and links to directories (here
/// a loop) are skipped; a directory with no log is exit 2.
#[test]
fn directories_are_walked_for_logs() {
    let dir = tempfile::tempdir().unwrap();
    let db = geodb(dir.path());
    let root = dir.path().join("AWSLogs");
    let day = |d: &str| {
        let p = root.join("eu-central-1/2026/11").join(d);
        std::fs::create_dir_all(&p).unwrap();
        p
    };
    let first = day("01").join("a.log");
    std::fs::write(&first, vpc(true, false)).unwrap();
    let second = day("02").join("b.LOG.gz");
    std::fs::write(&second, gzip(&zeek_tsv())).unwrap();
    std::fs::write(day("02").join("README.md"), "not a log").unwrap();
    std::fs::create_dir_all(root.join(".cache")).unwrap();
    std::fs::write(root.join(".cache/c.log"), "not a log either").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&root, day("03").join("loop")).unwrap();
    let report = |paths: &[&Path]| {
        let o = run_flows(paths, &db, &["--format", "json", "--as-of", "2026-11-28"]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        serde_json::from_slice::<Value>(&o.stdout).unwrap()
    };
    let walked = report(&[&root]);
    let named = report(&[&first, &second]);
    assert_eq!(walked["inputs"], named["inputs"]);
    assert_eq!(walked["inputs"].as_array().unwrap().len(), 2);
    assert_eq!(walked["summary"], named["summary"]);
    assert_eq!(walked["destinations"], named["destinations"]);
    // Both logs counted: twice the DE flows of one (3 + 2 in each).
    assert_eq!(walked["summary"]["flows_by_country"]["DE"], 10);
    let empty = day("04");
    std::fs::write(empty.join("notes.md"), "nothing").unwrap();
    let o = run_flows(&[&empty], &db, &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("the directory holds no .log"), "{err}");
}

/// Other Zeek logs have `id.resp_h` too (a dns log: one line per query), but no
/// connection's bytes: one that names itself (`#path` in TSV, `_path` in the JSON
/// that log shippers write) is named, not counted as flows; a conn log that names
/// itself is read as before.
#[test]
fn a_zeek_log_other_than_conn_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = geodb(dir.path());
    let named = |kind: &str| format!("{{\"_path\":\"{kind}\",");
    for (name, text, field) in [
        (
            "dns.log",
            zeek_tsv().replace("#path\tconn", "#path\tdns"),
            "`#path`",
        ),
        (
            "dns.json",
            zeek_json().replace('{', &named("dns")),
            "`_path`",
        ),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let o = run_flows(&[&p], &db, &[]);
        assert_eq!(o.status.code(), Some(2), "{name}");
        let err = stderr(&o);
        assert!(
            err.contains(&format!(
                "{name}: a Zeek `dns` log, not a conn log ({field} is `dns`)"
            )) && err.contains("hint:"),
            "{err}"
        );
    }
    // Forcing the format does not make a dns log a conn log.
    let p = dir.path().join("dns.log");
    let o = run_flows(&[&p], &db, &["--input-format", "zeek-tsv"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("a Zeek `dns` log"), "{}", stderr(&o));
    // Names from the file are shown escaped; a `_path` that is no string is no
    // conn log either.
    let odd = [
        (
            "escape.log",
            zeek_tsv().replace("#path\tconn", "#path\t\u{1b}[2Jdns"),
            "a Zeek `\\u{1b}[2Jdns` log",
        ),
        (
            "number.json",
            zeek_json().replace('{', "{\"_path\":7,"),
            "a Zeek `7` log",
        ),
    ];
    for (name, text, want) in odd {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let o = run_flows(&[&p], &db, &[]);
        assert_eq!(o.status.code(), Some(2), "{name}");
        let err = stderr(&o);
        assert!(err.contains(want) && !err.contains('\u{1b}'), "{err}");
    }
    let p = dir.path().join("conn.json");
    std::fs::write(&p, zeek_json().replace('{', &named("conn"))).unwrap();
    check(&run(&p, &db), false);
}

#[test]
fn strict_and_unrecognisable_input_exit_2() {
    let (dir, db, p) = vpc_log();
    let o = strict(&p, &db);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("vpc.log:25:"), "{}", stderr(&o));
    let junk = dir.path().join("notes.txt");
    std::fs::write(&junk, "dear diary\nnothing to see\n").unwrap();
    let o = residency(&["flows", junk.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not a flow log") && stderr(&o).contains("--input-format"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn large_logs_split_into_blocks_keep_counts_and_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let db = geodb(dir.path());
    let p = dir.path().join("big.log");
    let mut text = String::from(VPC_HEADER);
    let dests = ["5.10.1.1", "6.20.0.9", "8.40.0.1", "10.1.2.3"];
    for i in 0..40_000u64 {
        let line = i + 2; // the header is line 1
        if line == 31_337 {
            text.push_str("2 123456789012 eni-0a1 this is not a record\n");
            continue;
        }
        let d = dests[(i % 4) as usize];
        text.push_str(&format!("2 123456789012 eni-0a1 10.0.0.9 {d} 40000 443 6 1 {} 1780000000 1780000060 ACCEPT OK\n", i % 7));
    }
    assert!(text.len() > 3 << 20, "spans several blocks");
    std::fs::write(&p, &text).unwrap();
    let o = run_flows(&[&p], &db, &["--format", "json", "--fail-on", "never"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let s = &doc["summary"];
    assert_eq!(s["records"], 40_000);
    assert_eq!(s["malformed"], 1);
    assert_eq!(doc["malformed_lines"][0]["line"], 31_337);
    let expected_bytes = |k: u64| {
        (0..40_000u64)
            .filter(|i| i % 4 == k && i + 2 != 31_337)
            .map(|i| i % 7)
            .sum::<u64>()
    };
    assert_eq!(s["bytes_by_country"]["DE"], expected_bytes(0));
    assert_eq!(s["bytes_by_country"]["US"], expected_bytes(1));
    assert_eq!(s["flows_by_country"]["GB"], 10_000);
    assert_eq!(
        s["classes"]["internal"], 9_999,
        "the broken line replaced an internal flow"
    );
    let o = strict(&p, &db);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("big.log:31337:"), "{}", stderr(&o));
}

#[test]
fn imported_cloud_ranges_take_precedence_over_the_geodb() {
    let dir = tempfile::tempdir().unwrap();
    let db = geodb(dir.path());
    let aws = dir.path().join("ip-ranges.json");
    std::fs::write(&aws, r#"{"syncToken":"17","createDate":"2026-11-20-10-00-00","prefixes":[{"ip_prefix":"6.20.0.0/24","region":"eu-central-1","service":"EC2","network_border_group":"eu-central-1"}],"ipv6_prefixes":[]}"#).unwrap();
    let gcp = dir.path().join("cloud.json");
    std::fs::write(&gcp, r#"{"creationTime":"2026-11-20","prefixes":[{"ipv4Prefix":"7.30.4.0/24","service":"Google Cloud","scope":"europe-west1"}]}"#).unwrap();
    let azure = dir.path().join("ServiceTags_Public.json");
    std::fs::write(&azure, r#"{"changeNumber":3,"values":[{"name":"AzureCloud.northeurope","properties":{"region":"northeurope","addressPrefixes":["8.40.0.0/24"]}}]}"#).unwrap();
    let ranges = dir.path().join("ranges.json");
    let o = residency(&[
        "ranges",
        "import",
        aws.to_str().unwrap(),
        gcp.to_str().unwrap(),
        azure.to_str().unwrap(),
        "--ranges",
        ranges.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let listed = common::stdout(&residency(&[
        "ranges",
        "list",
        "--ranges",
        ranges.to_str().unwrap(),
    ]));
    assert!(
        listed.contains("aws: 1 ranges")
            && listed.contains("gcp: 1 ranges")
            && listed.contains("azure: 1 ranges"),
        "{listed}"
    );
    let log = dir.path().join("vpc.log");
    std::fs::write(&log, vpc(true, false)).unwrap();
    let o = run_flows(
        &[&log],
        &db,
        &[
            "--ranges",
            ranges.to_str().unwrap(),
            "--format",
            "json",
            "--as-of",
            "2026-11-28",
        ],
    );
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let s = &doc["summary"];
    // 6.20.0.9 (geodb: US) is in AWS eu-central-1; 7.30.4.4 (geodb: IN) in GCP europe-west1;
    // 8.40.0.1 (geodb: GB) in Azure northeurope.
    assert_eq!(
        s["flows_by_country"],
        json!({"BE": 2, "DE": 8, "IE": 4, "unknown": 1})
    );
    let findings: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["subject"].as_str().unwrap())
        .collect();
    assert_eq!(findings, ["egress:unknown"]);
    // A garbage file is refused with the formats it expects.
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"hello\": 1}").unwrap();
    let o = residency(&[
        "ranges",
        "import",
        junk.to_str().unwrap(),
        "--ranges",
        ranges.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("Azure Service Tags"), "{}", stderr(&o));
    // The failed import left the ranges as they were.
    let listed = common::stdout(&residency(&[
        "ranges",
        "list",
        "--ranges",
        ranges.to_str().unwrap(),
    ]));
    assert!(listed.contains("azure: 1 ranges"), "{listed}");
    // A destination that cannot be made is named.
    let under_a_file = junk.join("ranges.json");
    let o = residency(&[
        "ranges",
        "import",
        aws.to_str().unwrap(),
        "--ranges",
        under_a_file.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("cannot create {}", junk.display())),
        "{err}"
    );
}

#[test]
fn csv_and_markdown_reports() {
    let (_dir, db, log) = vpc_log();
    let base = ["--as-of", "2026-11-28", "--format"];
    let mut args = base.to_vec();
    args.push("csv");
    let o = run_flows(&[&log], &db, &args);
    let mut reader = csv::Reader::from_reader(o.stdout.as_slice());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(headers.get(0), Some("country"));
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let flows: u64 = rows
        .iter()
        .map(|r| r.get(5).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(flows, 18, "every accepted flow in exactly one row");
    let de_bytes: u64 = rows
        .iter()
        .filter(|r| r.get(0) == Some("DE"))
        .map(|r| r.get(6).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(de_bytes, 500);
    let mut args = base.to_vec();
    args.push("markdown");
    let md = common::stdout(&run_flows(&[&log], &db, &args));
    assert!(
        md.starts_with("## residency flows: ❌ transfers without a legal basis"),
        "{md}"
    );
    assert!(md.contains("| DE Germany | eea | 5 | 500 |"), "{md}");
    assert!(
        md.contains("| error | RES012 `egress-outside-allowed` | `egress:US` |"),
        "{md}"
    );
}

/// `--output` writes the report to the file (nothing on stdout); a path that
/// cannot be written is exit 2, naming it.
#[test]
fn the_report_goes_to_the_output_file_or_says_why_not() {
    let (dir, db, log) = vpc_log();
    let out = dir.path().join("report.json");
    let o = run_flows(
        &[&log],
        &db,
        &[
            "--as-of",
            "2026-11-28",
            "--format",
            "json",
            "--output",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let doc: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    check(&doc, true);
    // A run that fails on its input leaves the last report whole, and no
    // temporary file beside it.
    let written = std::fs::read(&out).unwrap();
    let garbage = dir.path().join("garbage.txt");
    std::fs::write(&garbage, "hello\nworld\n").unwrap();
    let o = run_flows(&[&garbage], &db, &["--output", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), written);
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["flows.mmdb", "garbage.txt", "report.json", "vpc.log"]
    );
    // A path in a missing directory fails before any log is read.
    let nowhere = dir.path().join("no-such-dir").join("report.json");
    let missing = dir.path().join("missing.log");
    let o = run_flows(&[&missing], &db, &["--output", nowhere.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("cannot write {}", nowhere.display())),
        "{err}"
    );
    assert!(err.contains("does not exist"), "{err}");
    assert!(!err.contains("missing.log"), "{err}");
}

#[test]
fn standard_input_is_read_when_the_path_is_a_dash() {
    let dir = tempfile::tempdir().unwrap();
    let db = geodb(dir.path());
    let doc = run_stdin(vpc(true, false).as_bytes(), &db, dir.path(), &[], 1);
    check(&doc, true);
    assert_eq!(doc["inputs"][0]["path"], "-");
}

/// Runs `flows` on `text` given on standard input, expecting exit code `code`.
fn run_stdin(text: &[u8], db: &Path, home: &Path, extra: &[&str], code: i32) -> Value {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_residency"))
        .args(["flows", "-", "--geodb", db.to_str().unwrap()])
        .args(["--format", "json", "--as-of", "2026-11-28"])
        .args(extra)
        .env_clear()
        .env("HOME", home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let text = text.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&text).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(out.status.code(), Some(code));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The header line of the default VPC format.
const VPC_HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n";

/// Record `i` of the block-edge logs: four destinations in turn, bytes `i % 7`.
fn edge_record(i: usize) -> String {
    let d = ["5.10.1.1", "6.20.0.9", "8.40.0.1", "10.1.2.3"][i % 4];
    format!(
        "2 123456789012 eni-0a1 10.0.0.9 {d} 40000 443 6 1 {} 1780000000 1780000060 ACCEPT OK\n",
        i % 7
    )
}

/// Each malformed line's number and reason (not its file, which differs
/// between a path and standard input).
fn bad_lines(doc: &Value) -> Vec<(Value, Value)> {
    let bad = doc["malformed_lines"].as_array().unwrap();
    bad.iter()
        .map(|b| (b["line"].clone(), b["reason"].clone()))
        .collect()
}

/// Runs `flows --strict` on a log.
fn strict(log: &Path, db: &Path) -> std::process::Output {
    run_flows(&[log], db, &["--strict"])
}

/// A file and the same bytes on standard input give the same counts and line
/// numbers, with lines longer than a block, lines ending right at, just before
/// and just after the first block's edge, and a last line without its newline.
/// A file's workers read their own blocks at fixed offsets; standard input is
/// cut into blocks by one reader: the edges fall differently, the answer may not.
#[test]
fn files_and_standard_input_agree_across_block_edges() {
    for shift in [-1i64, 0, 1] {
        block_edges(shift, false);
    }
    // One of the lines read for detection is longer than the reader's look-ahead
    // (`SNIFF`, 16 KiB): the blocks start after it all the same.
    block_edges(0, true);
}

fn block_edges(shift: i64, long_head: bool) {
    // The readers' block size (`BLOCK` in src/inputs/flow_log.rs).
    const BLOCK: usize = 1 << 18;
    let dir = tempfile::tempdir().unwrap();
    let db = geodb(dir.path());
    let mut text = String::from(VPC_HEADER);
    let mut records = 0;
    let mut bad = Vec::new();
    let mut line = 1;
    let mut push = |text: &mut String, s: &str, bad_line: bool| {
        line += 1;
        if bad_line {
            bad.push(line);
        }
        text.push_str(s);
    };
    // The reader looks at the first five lines before the blocks begin.
    for i in 0..4 {
        if long_head && i == 2 {
            push(&mut text, &format!("{}\n", "z".repeat(40_000)), true);
        } else {
            push(&mut text, &edge_record(records), false);
            records += 1;
        }
    }
    let edge = text.len() + BLOCK;
    // Records up to the first block's edge, then one line that ends on it (or a
    // byte before or after it).
    while text.len() + 200 < edge {
        push(&mut text, &edge_record(records), false);
        records += 1;
    }
    let filler = (edge as i64 - text.len() as i64 - 1 + shift) as usize;
    push(&mut text, &format!("{}\n", "x".repeat(filler)), true);
    assert_eq!(text.len() as i64, edge as i64 + shift);
    // A line longer than two blocks.
    push(
        &mut text,
        &format!("{}\n", "y".repeat(2 * BLOCK + 12_345)),
        true,
    );
    for _ in 0..20_000 {
        push(&mut text, &edge_record(records), false);
        records += 1;
    }
    // The last record without its newline.
    let last = edge_record(records);
    push(&mut text, last.trim_end(), false);
    records += 1;
    let malformed = bad.len();
    let p = dir.path().join("edges.log");
    std::fs::write(&p, &text).unwrap();
    let from_file = run_with(&p, &db, &[]);
    let from_stdin = run_stdin(text.as_bytes(), &db, dir.path(), &[], 1);
    let s = &from_file["summary"];
    assert_eq!(s["records"], records + malformed);
    assert_eq!(s["malformed"], malformed);
    let lines: Vec<u64> = from_file["malformed_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, bad.iter().map(|&l| l as u64).collect::<Vec<_>>());
    assert_eq!(from_file["summary"], from_stdin["summary"]);
    assert_eq!(from_file["destinations"], from_stdin["destinations"]);
    assert_eq!(bad_lines(&from_file), bad_lines(&from_stdin));
}

/// A line longer than the readers' limit (`MAX_LINE`, 1 MiB) is a bad line, read
/// no further than its first bytes, wherever it is: among the lines read for
/// detection, inside a block, running past several blocks, or last without its
/// newline. A line of exactly the limit is an ordinary bad line. A file, standard
/// input and gzip give the same counts, line numbers and reasons, and the records
/// around those lines count exactly as in a log without them.
#[test]
fn lines_over_the_limit_are_bad_lines_read_no_further() {
    const MAX_LINE: usize = 1 << 20;
    const BLOCK: usize = 1 << 18;
    let dir = tempfile::tempdir().unwrap();
    let db = geodb(dir.path());
    let header = VPC_HEADER;
    let (mut text, mut clean) = (header.to_string(), header.to_string());
    let (mut records, mut line) = (0, 1);
    let mut bad: Vec<(u64, bool)> = Vec::new();
    let mut add_records = |text: &mut String, clean: &mut String, line: &mut u64, n: usize| {
        for _ in 0..n {
            let r = edge_record(records);
            text.push_str(&r);
            clean.push_str(&r);
            records += 1;
            *line += 1;
        }
    };
    let mut add_bad = |text: &mut String, line: &mut u64, len: usize, newline: bool| {
        *line += 1;
        bad.push((*line, len > MAX_LINE));
        // A plain-looking line: fields of digits, so only its length makes it bad.
        let mut l = "2 ".repeat(len / 2 + 1);
        l.truncate(len);
        text.push_str(&l);
        if newline {
            text.push('\n');
        }
    };
    add_records(&mut text, &mut clean, &mut line, 1);
    // Among the first five lines, read for detection.
    add_bad(&mut text, &mut line, MAX_LINE + 1, true);
    add_records(&mut text, &mut clean, &mut line, 3000);
    // Starting inside a block and running past four more.
    add_bad(&mut text, &mut line, 5 * BLOCK + 777, true);
    add_records(&mut text, &mut clean, &mut line, 3000);
    // Exactly the limit: bad for its fields, not for its length.
    add_bad(&mut text, &mut line, MAX_LINE, true);
    add_records(&mut text, &mut clean, &mut line, 3000);
    // Last, without its newline, three times the limit.
    add_bad(&mut text, &mut line, 3 * MAX_LINE, false);
    let p = dir.path().join("long.log");
    std::fs::write(&p, &text).unwrap();
    let c = dir.path().join("clean.log");
    std::fs::write(&c, &clean).unwrap();
    let gz = dir.path().join("long.log.gz");
    std::fs::write(&gz, gzip(&text)).unwrap();
    let from_file = run_with(&p, &db, &[]);
    let from_stdin = run_stdin(text.as_bytes(), &db, dir.path(), &[], 1);
    let from_gz = run_with(&gz, &db, &[]);
    let expected = run_with(&c, &db, &[]);
    let s = &from_file["summary"];
    assert_eq!(s["records"], records + bad.len());
    assert_eq!(s["malformed"], bad.len());
    assert_eq!(s["classes"], expected["summary"]["classes"]);
    assert_eq!(
        s["bytes_by_country"],
        expected["summary"]["bytes_by_country"]
    );
    assert_eq!(from_file["destinations"], expected["destinations"]);
    let places: Vec<(u64, bool)> = from_file["malformed_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let reason = b["reason"].as_str().unwrap();
            (
                b["line"].as_u64().unwrap(),
                reason.starts_with("longer than 1 MiB"),
            )
        })
        .collect();
    assert_eq!(places, bad);
    for other in [&from_stdin, &from_gz] {
        assert_eq!(from_file["summary"], other["summary"]);
        assert_eq!(from_file["destinations"], other["destinations"]);
        assert_eq!(bad_lines(&from_file), bad_lines(other));
    }
    // With --strict the first such line stops the run, and is named.
    let o = strict(&p, &db);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("long.log:3:") && stderr(&o).contains("longer than 1 MiB"),
        "{}",
        stderr(&o)
    );
}

fn egress_address(
    ip: &str,
    country: &str,
    bytes: u64,
    top_port: u16,
) -> residency::engine::EgressAddress {
    residency::engine::EgressAddress {
        ip: ip.parse().unwrap(),
        country: residency::engine::Country::new(country),
        internal: false,
        flows: 1,
        bytes,
        first_seen: Some(10),
        last_seen: Some(20),
        sample_source: None,
        top: Some(residency::engine::egress::TopNetwork::of(
            ip.parse().unwrap(),
            top_port,
        )),
        source: "geodb test".into(),
    }
}

/// The findings the engine makes of these addresses under the gdpr preset on
/// 2026-11-28.
fn egress_findings(
    addresses: &[residency::engine::EgressAddress],
) -> Vec<residency::engine::Finding> {
    let k = residency::knowledge::Knowledge::embedded().unwrap();
    let policy = residency::policies::load("gdpr").unwrap().policy;
    let date = residency::knowledge::parse_date("2026-11-28").unwrap();
    residency::engine::evaluate_egress(addresses, &policy, &k.legal, date)
}

/// The message of the one finding the engine makes of these addresses (all in one
/// country) under the gdpr preset on 2026-11-28.
fn egress_message(addresses: &[residency::engine::EgressAddress]) -> String {
    let findings = egress_findings(addresses);
    assert_eq!(findings.len(), 1, "{findings:?}");
    findings[0].message.clone()
}

/// A country's finding names its top networks by bytes, each once, even when two
/// addresses of one network are apart in that order.
#[test]
fn top_networks_are_named_once() {
    let m = egress_message(&[
        egress_address("198.51.100.1", "RU", 100, 443),
        egress_address("203.0.113.1", "RU", 70, 443),
        egress_address("198.51.100.2", "RU", 50, 443),
        egress_address("192.0.2.1", "RU", 10, 80),
        egress_address("192.0.2.9", "RU", 5, 25),
    ]);
    assert!(
        m.contains("(5 addresses; top 198.51.100.0/24:443, 203.0.113.0/24:443, 192.0.2.0/24:80)"),
        "{m}"
    );
    assert!(m.starts_with("5 flows, 235 bytes to RU"), "{m}");
}

/// Networks whose addresses carried the same bytes are named in address order,
/// then port: `3.0.0.0/24` before `20.0.0.0/24` (not in the order of the text).
#[test]
fn tied_top_networks_are_named_in_address_order() {
    let m = egress_message(&[
        egress_address("20.0.0.1", "RU", 40, 443),
        egress_address("3.0.0.1", "RU", 40, 443),
        egress_address("3.0.0.2", "RU", 40, 80),
        egress_address("100.0.0.1", "RU", 40, 443),
    ]);
    assert!(
        m.contains("(4 addresses; top 3.0.0.0/24:80, 3.0.0.0/24:443, 20.0.0.0/24:443)"),
        "{m}"
    );
}

/// One finding per country, in country order (addresses no geodb places first),
/// whatever order the addresses come in.
#[test]
fn egress_findings_come_in_country_order() {
    let mut unplaced = egress_address("192.0.2.7", "RU", 5, 443);
    unplaced.country = None;
    let addresses = [
        egress_address("203.0.113.1", "RU", 10, 443),
        egress_address("198.51.100.1", "CN", 10, 443),
        unplaced,
        egress_address("198.51.100.9", "IN", 10, 443),
        egress_address("203.0.113.9", "TR", 10, 443),
    ];
    let findings = egress_findings(&addresses);
    let places: Vec<&str> = findings
        .iter()
        .map(|f| {
            let to = f.message.split(" to ").nth(1).unwrap_or_default();
            to.split(' ').next().unwrap_or_default()
        })
        .collect();
    assert_eq!(places, ["unknown", "CN", "IN", "RU", "TR"], "{findings:?}");
}

/// With `--audit`, each log is named in the report and in the audit record by the
/// SHA-256 of its bytes as stored: a plain file's, a gzipped file's compressed
/// bytes, and standard input's as they were read (a log that can be read only
/// once), through a line over the length limit whose rest the parser skips.
/// Without it, no digest is taken.
#[test]
fn the_audit_record_names_each_log_by_the_digest_of_its_bytes() {
    use sha2::{Digest, Sha256};
    let hex = |b: &[u8]| -> String {
        Sha256::digest(b)
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect()
    };
    let dir = tempfile::tempdir().unwrap();
    let db = geodb(dir.path());
    let mut text = VPC_HEADER.to_string();
    for i in 0..60_000 {
        text.push_str(&edge_record(i));
        if i == 30_000 {
            text.push_str(&format!("2 {}\n", "9".repeat(3 << 20)));
        }
    }
    let plain = dir.path().join("flows.log");
    std::fs::write(&plain, &text).unwrap();
    let gz = gzip(&text);
    let zipped = dir.path().join("flows.log.gz");
    std::fs::write(&zipped, &gz).unwrap();
    let (store, key) = (
        dir.path().join("audit.sqlite"),
        dir.path().join("audit.key"),
    );
    let audit = [
        "--audit",
        store.to_str().unwrap(),
        "--audit-key",
        key.to_str().unwrap(),
        "--fail-on",
        "never",
    ];
    let (text_digest, gz_digest) = (hex(text.as_bytes()), hex(&gz));

    // Standard input, plain and gzipped, then two files in one run.
    let doc = run_stdin(text.as_bytes(), &db, dir.path(), &audit, 0);
    assert_eq!(doc["inputs"][0]["sha256"], text_digest.as_str());
    // Every record, and the long line as a malformed one.
    assert_eq!(doc["summary"]["records"], 60_001);
    assert_eq!(doc["summary"]["malformed"], 1);
    let doc = run_stdin(&gz, &db, dir.path(), &audit, 0);
    assert_eq!(doc["inputs"][0]["sha256"], gz_digest.as_str());
    let mut args = vec!["--format", "json"];
    args.extend(audit);
    let o = run_flows(&[&plain, &zipped], &db, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["inputs"][0]["sha256"], text_digest.as_str());
    assert_eq!(doc["inputs"][1]["sha256"], gz_digest.as_str());

    // The audit store holds the same digests, run by run.
    let conn = rusqlite::Connection::open(&store).unwrap();
    let mut q = conn
        .prepare("SELECT body FROM records WHERE kind = 'run' ORDER BY seq")
        .unwrap();
    let recorded: Vec<Vec<(String, String)>> = q
        .query_map([], |row| row.get::<_, String>(0))
        .unwrap()
        .map(|body| {
            let body: Value = serde_json::from_str(&body.unwrap()).unwrap();
            body["inputs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| {
                    let field = |k: &str| i[k].as_str().unwrap().to_string();
                    (field("path"), field("sha256"))
                })
                .collect()
        })
        .collect();
    let named = |p: &Path, d: &str| (p.to_str().unwrap().to_string(), d.to_string());
    assert_eq!(
        recorded,
        [
            vec![("-".to_string(), text_digest.clone())],
            vec![("-".to_string(), gz_digest.clone())],
            vec![named(&plain, &text_digest), named(&zipped, &gz_digest)],
        ]
    );

    // Without a store, the report names no digest.
    let doc = run_stdin(text.as_bytes(), &db, dir.path(), &["--fail-on", "never"], 0);
    assert!(
        doc["inputs"][0].get("sha256").is_none(),
        "{}",
        doc["inputs"]
    );
}
