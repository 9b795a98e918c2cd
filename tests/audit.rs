//! The audit store: recording, verification against tampering (update, delete,
//! reorder, forged append), pruning with checkpoints, crash safety, windows, and
//! the registers in CSV.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "test and benchmark code: a panic is a failed run"
)]

mod common;

use common::{residency, stderr, stdout};
use residency::audit::store::row_hash;
use residency::audit::{Key, Kind, NewRecord, Store};
use rusqlite::Connection;
use std::io::BufRead;
use std::path::{Path, PathBuf};

struct Fixture {
    _dir: tempfile::TempDir,
    store: PathBuf,
    key: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        Fixture {
            store: dir.path().join("audit.sqlite"),
            key: dir.path().join("keys").join("audit.key"),
            _dir: dir,
        }
    }

    fn s(&self) -> &str {
        self.store.to_str().unwrap()
    }

    fn k(&self) -> &str {
        self.key.to_str().unwrap()
    }

    /// Records a scan of the demo inventory with `policy`.
    fn scan(&self, policy: &str) {
        let o = residency(&[
            "scan",
            "fixtures/demo/webinar-platform.yaml",
            "--policy",
            policy,
            "--audit",
            self.s(),
            "--audit-key",
            self.k(),
            "--format",
            "json",
        ]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(stderr(&o).contains("recorded as run"), "{}", stderr(&o));
    }

    fn verify(&self) -> (Option<i32>, String) {
        let o = residency(&[
            "audit",
            "verify",
            "--audit",
            self.s(),
            "--audit-key",
            self.k(),
        ]);
        (o.status.code(), stdout(&o) + &stderr(&o))
    }

    /// Runs SQL with the append-only triggers dropped: what an attacker with
    /// write access to the file can do.
    fn tamper(&self, sql: &str) {
        let c = Connection::open(&self.store).unwrap();
        c.execute_batch(
            "DROP TRIGGER records_append_only_update; DROP TRIGGER records_append_only_delete;",
        )
        .unwrap();
        c.execute_batch(sql).unwrap();
    }

    /// Prunes every run recorded before tomorrow: all of them.
    fn prune_all(&self) -> std::process::Output {
        let tomorrow =
            (time::OffsetDateTime::now_utc().date() + time::Duration::days(1)).to_string();
        residency(&[
            "audit",
            "prune",
            "--audit",
            self.s(),
            "--audit-key",
            self.k(),
            "--before",
            &tomorrow,
        ])
    }

    fn rows(&self) -> i64 {
        let c = Connection::open(&self.store).unwrap();
        c.query_row("SELECT count(*) FROM records", [], |r| r.get(0))
            .unwrap()
    }
}

fn two_scans() -> Fixture {
    let f = Fixture::new();
    f.scan("fixtures/demo/policy.toml");
    f.scan("gdpr");
    f
}

#[test]
fn an_untouched_store_verifies_with_its_key_and_without() {
    let f = two_scans();
    let (code, out) = f.verify();
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!(
            "ok: {} rows verified, signatures checked",
            f.rows()
        )),
        "{out}"
    );
    // Without the key (another HOME, no --audit-key): the chain is still checked.
    let o = residency(&["audit", "verify", "--audit", f.s()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("hash chain only"), "{}", stdout(&o));
    // The key file is private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&f.key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn the_store_refuses_updates_and_deletes() {
    let f = two_scans();
    let c = Connection::open(&f.store).unwrap();
    let e = c
        .execute("UPDATE records SET body = '{}' WHERE seq = 3", [])
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    let e = c
        .execute("DELETE FROM records WHERE seq = 3", [])
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
}

#[test]
fn an_altered_row_is_named() {
    let f = two_scans();
    // Make the latest run look compliant.
    let c = Connection::open(&f.store).unwrap();
    let run: i64 = c
        .query_row("SELECT max(seq) FROM records WHERE kind = 'run'", [], |r| {
            r.get(0)
        })
        .unwrap();
    f.tamper(&format!(
        "UPDATE records SET body = replace(body, '\"compliant\":false', '\"compliant\":true') WHERE seq = {run}"
    ));
    let body: String = c
        .query_row("SELECT body FROM records WHERE seq = ?1", [run], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(body.contains("\"compliant\":true"));
    let (code, out) = f.verify();
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("FAILED at row {run}")) && out.contains("altered"),
        "{out}"
    );
}

#[test]
fn a_deleted_row_is_named() {
    let f = two_scans();
    f.tamper("DELETE FROM records WHERE seq = 7");
    let (code, out) = f.verify();
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("FAILED at row 7") && out.contains("missing"),
        "{out}"
    );
    // Deleting the last row is not visible in the chain itself, but the report quotes the head.
}

#[test]
fn reordered_rows_are_named() {
    let f = two_scans();
    // Swap the contents of rows 4 and 6 (hashes and all): each row still hashes
    // correctly on its own, but the chain no longer links.
    f.tamper(
        "UPDATE records SET seq = -4 WHERE seq = 4;
         UPDATE records SET seq = 4 WHERE seq = 6;
         UPDATE records SET seq = 6 WHERE seq = -4;",
    );
    let (code, out) = f.verify();
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("FAILED at row 4"), "{out}");
}

#[test]
fn a_forged_row_with_a_valid_chain_hash_is_named() {
    let f = two_scans();
    let c = Connection::open(&f.store).unwrap();
    let (seq, prev): (i64, String) = c
        .query_row(
            "SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let at = "2026-11-28T12:00:00.000000Z";
    let body = r#"{"note":"all findings were resolved"}"#;
    let hash = row_hash(&prev, seq + 1, at, "finding", Some(1), body);
    c.execute(
        "INSERT INTO records (seq, at, kind, run, body, prev, hash, mac) VALUES (?1, ?2, 'finding', 1, ?3, ?4, ?5, ?6)",
        rusqlite::params![seq + 1, at, body, prev, hash, "00".repeat(32)],
    )
    .unwrap();
    let (code, out) = f.verify();
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("FAILED at row {}", seq + 1)) && out.contains("forged"),
        "{out}"
    );
    // A forged row with a careless hash fails even without the key.
    f.tamper(&format!(
        "UPDATE records SET hash = 'abc' WHERE seq = {}",
        seq + 1
    ));
    let o = residency(&["audit", "verify", "--audit", f.s()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains(&format!("FAILED at row {}", seq + 1)));
}

#[test]
fn a_wrong_key_and_a_foreign_file_are_input_errors() {
    let f = two_scans();
    let other = f.key.with_file_name("other.key");
    std::fs::write(&other, "11".repeat(32)).unwrap();
    let o = residency(&[
        "audit",
        "verify",
        "--audit",
        f.s(),
        "--audit-key",
        other.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("sealed with key"), "{}", stderr(&o));
    let not_a_store = f.key.with_file_name("notes.txt");
    std::fs::write(&not_a_store, "hello, this is not SQLite").unwrap();
    let o = residency(&["audit", "verify", "--audit", not_a_store.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not a SQLite database"),
        "{}",
        stderr(&o)
    );
    let o = residency(&["audit", "verify", "--audit", "/nonexistent/audit.sqlite"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no such file"), "{}", stderr(&o));
}

#[test]
fn pruning_keeps_the_rest_verifiable_and_tampering_still_shows() {
    let f = two_scans();
    let before = f.rows();
    // Everything recorded before tomorrow goes: both runs.
    let o = f.prune_all();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("pruned {before} rows")),
        "{}",
        stdout(&o)
    );
    f.scan("gdpr");
    let (code, out) = f.verify();
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!("checkpoint at row {before}")),
        "{out}"
    );
    // The first row after the checkpoint, altered.
    f.tamper(&format!(
        "UPDATE records SET at = '2020-01-01T00:00:00.000000Z' WHERE seq = {}",
        before + 2
    ));
    let (code, out) = f.verify();
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("FAILED at row {}", before + 2)),
        "{out}"
    );
}

#[test]
fn a_forged_checkpoint_is_detected() {
    let f = two_scans();
    assert_eq!(f.prune_all().status.code(), Some(0));
    f.tamper("UPDATE checkpoints SET hash = 'ff' || substr(hash, 3)");
    let (code, out) = f.verify();
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("checkpoint"), "{out}");
}

/// The child side of the crash test: appends decisions one transaction at a
/// time and acknowledges each on stdout. Does nothing unless asked to.
#[test]
fn crash_writer_child() {
    let (Some(path), Some(key)) = (
        std::env::var_os("RESIDENCY_CRASH_STORE"),
        std::env::var_os("RESIDENCY_CRASH_KEY"),
    ) else {
        return;
    };
    let key = Key::load(Path::new(&key), true).unwrap();
    let mut store = Store::open(Path::new(&path), Some(key)).unwrap();
    for i in 0..1_000_000u64 {
        let seq = store
            .append(&[NewRecord {
                kind: Kind::Decision,
                body: serde_json::json!({"decision": "allow", "host": format!("h{i}.example.eu"), "country": "DE", "bytes_up": i}),
            }])
            .unwrap();
        println!("ack {seq}");
    }
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let f = Fixture::new();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_writer_child",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("RESIDENCY_CRASH_STORE", &f.store)
        .env("RESIDENCY_CRASH_KEY", &f.key)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut acked = 0i64;
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    while acked < 300 {
        let line = lines.next().expect("the writer stopped early").unwrap();
        if let Some(n) = line.strip_prefix("ack ") {
            acked = n.parse().unwrap();
        }
    }
    child.kill().unwrap(); // SIGKILL, in the middle of the stream
    child.wait().unwrap();
    // Anything it printed after we stopped reading was acknowledged too.
    for line in lines.map_while(Result::ok) {
        if let Some(n) = line.strip_prefix("ack ") {
            acked = acked.max(n.parse().unwrap());
        }
    }
    let key = Key::load(&f.key, false).unwrap();
    let store = Store::open(&f.store, Some(key)).unwrap();
    let v = store.verify().unwrap();
    assert!(v.ok(), "{:?}", v.first_bad);
    assert!(v.macs_checked);
    assert!(
        v.rows as i64 >= acked,
        "{} rows on disk, {acked} acknowledged",
        v.rows
    );
    let decisions = store.loose(Kind::Decision, None, None).unwrap();
    assert_eq!(decisions.first().unwrap().body["host"], "h0.example.eu");
    assert!(decisions
        .iter()
        .enumerate()
        .all(|(i, d)| d.seq == i as i64 + 1));
}

#[test]
fn the_transfer_register_reads_back_as_csv() {
    let f = two_scans();
    let out = f.store.with_file_name("transfers.csv");
    let o = residency(&[
        "report",
        "--audit",
        f.s(),
        "--audit-key",
        f.k(),
        "--format",
        "csv",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut r = csv::Reader::from_path(&out).unwrap();
    let headers = r.headers().unwrap().clone();
    assert_eq!(&headers[0], "subject");
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let get = |row: &csv::StringRecord, col: &str| {
        row[headers.iter().position(|h| h == col).unwrap()].to_string()
    };
    let lines: Vec<String> = rows
        .iter()
        .map(|x| {
            format!(
                "{} {} {} {} {}",
                get(x, "subject"),
                get(x, "countries"),
                get(x, "mechanism"),
                get(x, "tia"),
                get(x, "compliant")
            )
        })
        .collect();
    // The latest scan used the gdpr preset: the mailer's SCCs have no TIA there,
    // the US analytics bucket has no basis, London rests on the UK adequacy decision.
    assert_eq!(
        lines,
        [
            "analytics-events US none  false",
            "lb-london GB adequacy  false",
            "mailer US scc  false",
        ]
    );
    let mailer = rows.iter().find(|x| get(x, "subject") == "mailer").unwrap();
    assert_eq!(get(mailer, "recipient"), "Twilio");
    assert_eq!(
        get(mailer, "data_categories"),
        "user.contact.email user.name"
    );
}

#[test]
fn windows_select_runs_and_changes_are_counted() {
    let f = two_scans();
    let json = |extra: &[&str]| {
        let mut args = vec![
            "report",
            "--audit",
            f.s(),
            "--audit-key",
            f.k(),
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let o = residency(&args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        serde_json::from_str::<serde_json::Value>(&stdout(&o)).unwrap()
    };
    let all = json(&[]);
    assert_eq!(all["trend"].as_array().unwrap().len(), 2);
    assert_eq!(all["scan"]["policy"], "gdpr");
    assert_eq!(all["previous_scan"]["policy"], "webinar-platform");
    // Without the demo policy, the waiver and the mailer's approval are gone:
    // the waived finding is now plain, and the mailer lacks a TIA.
    let new: Vec<&str> = all["new_findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(new, ["RES006"]);
    assert!(all["verification"]["first_bad"].is_null());
    let future = json(&["--since", "2999-01-01"]);
    assert!(future["scan"].is_null());
    assert_eq!(future["trend"].as_array().unwrap().len(), 0);
    let past = json(&["--between", "2000-01-01..2001-01-01"]);
    assert!(past["scan"].is_null());
    let o = residency(&[
        "report",
        "--audit",
        f.s(),
        "--between",
        "2026-02-01..2026-01-01",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("the end must come after the start"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn flow_audits_are_recorded_with_egress_by_country() {
    let f = Fixture::new();
    let o = residency(&[
        "flows",
        "fixtures/flows/sample-vpc.log",
        "--audit",
        f.s(),
        "--audit-key",
        f.k(),
        "--format",
        "json",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(stderr(&o).contains("recorded as run 1"), "{}", stderr(&o));
    let o = residency(&[
        "report",
        "--audit",
        f.s(),
        "--audit-key",
        f.k(),
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let by_country = doc["summary"]["bytes_by_country"].as_object().unwrap();
    assert!(!by_country.is_empty());
    for (c, b) in by_country {
        assert_eq!(report["egress"][c]["bytes"], *b, "{c}");
    }
    assert_eq!(report["flows"]["records"], doc["summary"]["records"]);
    assert_eq!(
        report["findings"].as_array().unwrap().len(),
        doc["findings"].as_array().unwrap().len()
    );
    // The run is recorded as a flow audit, with its unwaived findings by severity.
    let count = |severity: &str| {
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["severity"] == severity && x["waived"].is_null())
            .count()
    };
    let run = &report["trend"][0];
    assert_eq!(run["command"], "flows");
    assert_eq!(run["errors"], count("error"));
    assert_eq!(run["warnings"], count("warning"));
    assert!(count("error") > 0);
}

#[test]
fn a_store_from_a_newer_residency_is_refused_and_an_empty_file_is_migrated() {
    let f = Fixture::new();
    // An empty SQLite file (e.g. created by a deployment tool) becomes a store.
    Connection::open(&f.store).unwrap();
    f.scan("gdpr");
    let (code, out) = f.verify();
    assert_eq!(code, Some(0), "{out}");
    let c = Connection::open(&f.store).unwrap();
    assert_eq!(
        c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
            .unwrap(),
        residency::audit::store::SCHEMA_VERSION
    );
    c.pragma_update(None, "user_version", 99).unwrap();
    let (code, out) = f.verify();
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("schema version 99 is newer"), "{out}");
    // Some other application's database is not taken over.
    let other = f.store.with_file_name("other.sqlite");
    Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    let o = residency(&[
        "scan",
        "fixtures/demo/webinar-platform.yaml",
        "--audit",
        other.to_str().unwrap(),
        "--audit-key",
        f.k(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not a residency audit store"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_dates_and_windows_are_usage_errors() {
    let f = two_scans();
    // Each is refused with exit 2, and the message says what was expected.
    for (args, expected) in [
        (
            vec![
                "audit",
                "prune",
                "--audit",
                f.s(),
                "--audit-key",
                f.k(),
                "--before",
                "last week",
            ],
            "expected YYYY-MM-DD",
        ),
        (
            vec!["report", "--audit", f.s(), "--since", "2026-13-01"],
            "2026-13-01",
        ),
        (
            vec!["report", "--audit", f.s(), "--between", "2026-01-01"],
            "expected FROM..TO",
        ),
        (
            vec![
                "report",
                "--audit",
                f.s(),
                "--since",
                "2026-01-01",
                "--between",
                "2026-01-01..2026-02-01",
            ],
            "--between",
        ),
    ] {
        let o = residency(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(expected), "{args:?}: {}", stderr(&o));
    }
    // Pruning without the key is refused: only the key holder maintains the store.
    let o = residency(&[
        "audit",
        "prune",
        "--audit",
        f.s(),
        "--audit-key",
        "/nonexistent/key",
        "--before",
        "2020-01-01",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no such file"), "{}", stderr(&o));
}
