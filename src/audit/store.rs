//! The SQLite store: schema and migrations, appends, verification, pruning.

use crate::inputs::hex;
use hmac::{Hmac, Mac};
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// The hash before the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What went wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// SQLite failed.
    #[error("audit store {path}: {source}")]
    Sqlite {
        /// The store.
        path: String,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// The key file is missing, unreadable or malformed.
    #[error("audit key {path}: {reason}")]
    Key {
        /// The key file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The store was written by a newer residency.
    #[error("audit store {path}: schema version {found} is newer than this build knows ({known}); upgrade residency")]
    TooNew {
        /// The store.
        path: String,
        /// Its version.
        found: i64,
        /// The newest this build knows.
        known: i64,
    },
    /// The file is not an audit store.
    #[error("audit store {path}: {reason}")]
    NotAStore {
        /// The file.
        path: String,
        /// Why not.
        reason: String,
    },
}

/// Record kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// One scan or flow audit: versions, hashes, summary. Other rows point at it.
    Run,
    /// A finding of a run.
    Finding,
    /// An asset's place and standing (where data lives).
    Asset,
    /// A transfer-register entry (Art. 30(1)(e)).
    Transfer,
    /// A waiver the policy grants.
    Waiver,
    /// An egress decision of the proxy.
    Decision,
    /// A prune: what was removed, and the hash it continues from.
    Prune,
}

impl Kind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Run => "run",
            Kind::Finding => "finding",
            Kind::Asset => "asset",
            Kind::Transfer => "transfer",
            Kind::Waiver => "waiver",
            Kind::Decision => "decision",
            Kind::Prune => "prune",
        }
    }
}

/// A record to append.
#[derive(Debug, Clone)]
pub struct NewRecord {
    /// Its kind.
    pub kind: Kind,
    /// Its content (stored as canonical JSON: sorted keys, no spaces).
    pub body: serde_json::Value,
}

/// A row read back.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    /// Position in the chain (1-based, contiguous).
    pub seq: i64,
    /// When it was written (RFC 3339, UTC).
    pub at: String,
    /// Its kind.
    pub kind: String,
    /// The run it belongs to (the run's own `seq`), if any.
    pub run: Option<i64>,
    /// Its content.
    pub body: serde_json::Value,
}

/// The outcome of `verify`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Verification {
    /// Rows checked.
    pub rows: u64,
    /// The hash of the last row (what a report quotes).
    pub head: String,
    /// The first row found altered, deleted, inserted or reordered, with why.
    pub first_bad: Option<BadRow>,
    /// Whether the MACs were checked (a key was available and matches the store).
    pub macs_checked: bool,
    /// Checkpoint the chain starts from after pruning (seq, hash).
    pub checkpoint: Option<(i64, String)>,
}

impl Verification {
    /// Whether the whole chain holds.
    pub fn ok(&self) -> bool {
        self.first_bad.is_none()
    }
}

/// A row that breaks the chain.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BadRow {
    /// The row's `seq` (or the `seq` expected where one is missing).
    pub seq: i64,
    /// What is wrong.
    pub reason: String,
}

/// The MAC key.
#[derive(Clone)]
pub struct Key {
    bytes: Vec<u8>,
    /// Where it came from (for messages).
    pub path: String,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({})", self.path)
    }
}

impl Key {
    /// Reads the key at `path`, creating it (32 random bytes, hex, mode 0600) when
    /// `create` is set and the file does not exist.
    pub fn load(path: &Path, create: bool) -> Result<Key, AuditError> {
        let shown = path.display().to_string();
        let err = |reason: String| AuditError::Key {
            path: shown.clone(),
            reason,
        };
        if !path.exists() {
            if !create {
                return Err(err("no such file".into()));
            }
            let mut raw = [0u8; 32];
            getrandom::fill(&mut raw).map_err(|e| err(format!("no randomness: {e}")))?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| err(format!("cannot create: {e}")))?;
            }
            write_private(path, format!("{}\n", hex(&raw)).as_bytes())
                .map_err(|e| err(format!("cannot create: {e}")))?;
        }
        let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
        let text = text.trim();
        let bytes = unhex(text)
            .filter(|b| b.len() >= 16)
            .ok_or_else(|| err("expected at least 32 hex digits on one line".into()))?;
        Ok(Key { bytes, path: shown })
    }

    /// A key from raw bytes (tests, in-memory stores).
    pub fn from_bytes(bytes: &[u8], label: &str) -> Key {
        Key {
            bytes: bytes.to_vec(),
            path: label.to_string(),
        }
    }

    /// A short public fingerprint of the key, kept in the store.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"residency-audit-key\n");
        h.update(&self.bytes);
        hex(&h.finalize()).chars().take(16).collect()
    }

    fn mac(&self, hash: &str) -> String {
        match Hmac::<Sha256>::new_from_slice(&self.bytes) {
            Ok(mut m) => {
                m.update(hash.as_bytes());
                hex(&m.finalize().into_bytes())
            }
            Err(_) => String::new(), // HMAC takes keys of any length
        }
    }
}

#[cfg(unix)]
fn write_private(path: &Path, content: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(content)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, content: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, content)
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|p| u8::from_str_radix(p, 16).ok()))
        .collect()
}

/// The schema, one migration per version (`PRAGMA user_version`).
const MIGRATIONS: &[&str] = &[
    // 1: the chain, checkpoints and metadata; updates and deletes refused.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE records (
         seq  INTEGER PRIMARY KEY,
         at   TEXT NOT NULL,
         kind TEXT NOT NULL,
         run  INTEGER,
         body TEXT NOT NULL,
         prev TEXT NOT NULL,
         hash TEXT NOT NULL,
         mac  TEXT NOT NULL
     );
     CREATE INDEX records_run ON records (run, kind);
     CREATE INDEX records_kind_at ON records (kind, at);
     CREATE TABLE checkpoints (
         seq  INTEGER PRIMARY KEY,
         hash TEXT NOT NULL,
         at   TEXT NOT NULL,
         mac  TEXT NOT NULL
     );
     CREATE TRIGGER records_append_only_update BEFORE UPDATE ON records
     BEGIN SELECT RAISE(ABORT, 'the audit store is append-only'); END;
     CREATE TRIGGER records_append_only_delete BEFORE DELETE ON records
     WHEN (SELECT value FROM meta WHERE key = 'pruning') IS NULL
     BEGIN SELECT RAISE(ABORT, 'the audit store is append-only; use `residency audit prune`'); END;",
];

/// The newest schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// An open store.
pub struct Store {
    conn: Connection,
    path: String,
    key: Option<Key>,
    /// (seq, hash) of the last row.
    head: (i64, String),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.path)
    }
}

/// The content a row's hash covers.
pub fn row_hash(
    prev: &str,
    seq: i64,
    at: &str,
    kind: &str,
    run: Option<i64>,
    body: &str,
) -> String {
    let mut h = Sha256::new();
    h.update(b"residency-audit-v1\n");
    h.update(prev.as_bytes());
    h.update(format!("\n{seq}\n{at}\n{kind}\n").as_bytes());
    h.update(run.map(|r| r.to_string()).unwrap_or_default().as_bytes());
    h.update(b"\n");
    h.update(body.as_bytes());
    hex(&h.finalize())
}

impl Store {
    /// Opens (creating and migrating as needed) the store at `path`. `key` signs
    /// new rows; without it the store can be read and its chain verified, not written.
    pub fn open(path: &Path, key: Option<Key>) -> Result<Store, AuditError> {
        let shown = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                std::fs::create_dir_all(dir).map_err(|e| AuditError::NotAStore {
                    path: shown.clone(),
                    reason: format!("cannot create {}: {e}", dir.display()),
                })?;
            }
        }
        let conn = Connection::open(path).map_err(|e| sqlite(&shown, e))?;
        Store::setup(conn, shown, key, true)
    }

    /// Opens an existing store read-only (for `verify` and `report`).
    pub fn open_existing(path: &Path, key: Option<Key>) -> Result<Store, AuditError> {
        let shown = path.display().to_string();
        if !path.is_file() {
            return Err(AuditError::NotAStore {
                path: shown,
                reason: "no such file (record runs with `residency scan ... --audit FILE`)".into(),
            });
        }
        let conn = Connection::open(path).map_err(|e| sqlite(&shown, e))?;
        Store::setup(conn, shown, key, false)
    }

    /// A store in memory (a report straight from a fresh scan).
    pub fn in_memory(key: Key) -> Result<Store, AuditError> {
        let conn = Connection::open_in_memory().map_err(|e| sqlite(":memory:", e))?;
        Store::setup(conn, ":memory:".into(), Some(key), true)
    }

    fn setup(
        conn: Connection,
        path: String,
        key: Option<Key>,
        writable: bool,
    ) -> Result<Store, AuditError> {
        let e = |err| sqlite(&path, err);
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(e)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|err| match err {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::NotADatabase =>
                {
                    AuditError::NotAStore {
                        path: path.clone(),
                        reason: "not a SQLite database".into(),
                    }
                }
                other => sqlite(&path, other),
            })?;
        if version > SCHEMA_VERSION {
            return Err(AuditError::TooNew {
                path,
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        if version == 0 {
            let tables: i64 = conn
                .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
                .map_err(e)?;
            if tables > 0 {
                return Err(AuditError::NotAStore {
                    path,
                    reason: "a SQLite database, but not a residency audit store".into(),
                });
            }
        }
        // WAL: readers do not block the writer; FULL: an acknowledged write survives
        // a crash of the process or of the machine.
        if path != ":memory:" {
            conn.pragma_update(None, "journal_mode", "WAL").map_err(e)?;
        }
        conn.pragma_update(None, "synchronous", "FULL").map_err(e)?;
        if version < SCHEMA_VERSION {
            if !writable {
                return Err(AuditError::NotAStore {
                    path,
                    reason: format!("schema version {version}: open it once with a recording command to migrate"),
                });
            }
            for (i, sql) in MIGRATIONS
                .iter()
                .enumerate()
                .skip(usize::try_from(version).unwrap_or(0))
            {
                let tx = conn.unchecked_transaction().map_err(e)?;
                tx.execute_batch(sql).map_err(e)?;
                tx.pragma_update(None, "user_version", i as i64 + 1)
                    .map_err(e)?;
                tx.commit().map_err(e)?;
            }
        }
        let mut store = Store {
            conn,
            path,
            key,
            head: (0, GENESIS.to_string()),
        };
        store.check_key(writable)?;
        store.head = store.read_head()?;
        Ok(store)
    }

    /// The store's path as shown.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn check_key(&mut self, writable: bool) -> Result<(), AuditError> {
        let stored = self.meta("key_fingerprint")?;
        match (&self.key, stored) {
            (Some(k), Some(fp)) if fp != k.fingerprint() => Err(AuditError::Key {
                path: k.path.clone(),
                reason: format!(
                    "this store is sealed with key {fp}, the key given is {}; pass the right one with --audit-key",
                    k.fingerprint()
                ),
            }),
            (Some(k), None) if writable => {
                let fp = k.fingerprint();
                self.conn
                    .execute(
                        "INSERT INTO meta (key, value) VALUES ('key_fingerprint', ?1), ('created', ?2)",
                        params![fp, now()],
                    )
                    .map_err(|e| sqlite(&self.path, e))?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn meta(&self, key: &str) -> Result<Option<String>, AuditError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| sqlite(&self.path, e))
    }

    fn read_head(&self) -> Result<(i64, String), AuditError> {
        let last: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| sqlite(&self.path, e))?;
        match last {
            Some(h) => Ok(h),
            None => Ok(self.checkpoint()?.unwrap_or((0, GENESIS.to_string()))),
        }
    }

    fn checkpoint(&self) -> Result<Option<(i64, String)>, AuditError> {
        self.conn
            .query_row(
                "SELECT seq, hash FROM checkpoints ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| sqlite(&self.path, e))
    }

    /// The hash of the last row.
    pub fn head(&self) -> &str {
        &self.head.1
    }

    /// Appends a run and the rows that belong to it, in one transaction; returns
    /// the run's `seq`.
    pub fn append_run(
        &mut self,
        run: serde_json::Value,
        children: Vec<NewRecord>,
    ) -> Result<i64, AuditError> {
        let run_seq = self.head.0 + 1;
        let rows = std::iter::once((Kind::Run, None, &run))
            .chain(children.iter().map(|c| (c.kind, Some(run_seq), &c.body)));
        self.write(rows)?;
        Ok(run_seq)
    }

    /// Appends small records (egress decisions) in one transaction; when it returns
    /// they are on disk. Returns the `seq` of the last one.
    pub fn append(&mut self, records: &[NewRecord]) -> Result<i64, AuditError> {
        self.write(records.iter().map(|r| (r.kind, None, &r.body)))?;
        Ok(self.head.0)
    }

    /// Chains and signs `rows` after the head, in one transaction.
    fn write<'a>(
        &mut self,
        rows: impl Iterator<Item = (Kind, Option<i64>, &'a serde_json::Value)>,
    ) -> Result<(), AuditError> {
        let at = now();
        let key = self.writer_key()?;
        let e = |err| sqlite(&self.path, err);
        let tx = self.conn.unchecked_transaction().map_err(e)?;
        let mut head = self.head.clone();
        for (kind, run, body) in rows {
            insert(&tx, &key, &mut head, &at, kind, run, body).map_err(e)?;
        }
        tx.commit().map_err(e)?;
        self.head = head;
        Ok(())
    }

    fn writer_key(&self) -> Result<Key, AuditError> {
        self.key.clone().ok_or_else(|| AuditError::Key {
            path: self.path.clone(),
            reason: "no key: writing needs the store's key".into(),
        })
    }

    /// Checks the whole chain from the genesis (or the last checkpoint), and every
    /// MAC when the key is at hand. Names the first row that breaks it.
    pub fn verify(&self) -> Result<Verification, AuditError> {
        let checkpoint = self.checkpoint_checked()?;
        let (mut expect_seq, mut prev) = match &checkpoint {
            Ok(Some((s, h))) => (s + 1, h.clone()),
            _ => (1, GENESIS.to_string()),
        };
        let stored_fp = self.meta("key_fingerprint")?;
        let macs = match (&self.key, &stored_fp) {
            (Some(k), Some(fp)) => *fp == k.fingerprint(),
            _ => false,
        };
        let mut out = Verification {
            rows: 0,
            head: prev.clone(),
            first_bad: None,
            macs_checked: macs,
            checkpoint: checkpoint.as_ref().ok().cloned().flatten(),
        };
        if let Err(reason) = checkpoint {
            out.first_bad = Some(BadRow { seq: 0, reason });
            return Ok(out);
        }
        let mut stmt = self
            .conn
            .prepare("SELECT seq, at, kind, run, body, prev, hash, mac FROM records ORDER BY seq")
            .map_err(|e| sqlite(&self.path, e))?;
        let mut rows = stmt.query([]).map_err(|e| sqlite(&self.path, e))?;
        while let Some(r) = rows.next().map_err(|e| sqlite(&self.path, e))? {
            let seq: i64 = r.get(0).map_err(|e| sqlite(&self.path, e))?;
            let at: String = r.get(1).map_err(|e| sqlite(&self.path, e))?;
            let kind: String = r.get(2).map_err(|e| sqlite(&self.path, e))?;
            let run: Option<i64> = r.get(3).map_err(|e| sqlite(&self.path, e))?;
            let body: String = r.get(4).map_err(|e| sqlite(&self.path, e))?;
            let row_prev: String = r.get(5).map_err(|e| sqlite(&self.path, e))?;
            let hash: String = r.get(6).map_err(|e| sqlite(&self.path, e))?;
            let mac: String = r.get(7).map_err(|e| sqlite(&self.path, e))?;
            let bad = if seq > expect_seq {
                Some(BadRow {
                    seq: expect_seq,
                    reason: format!(
                        "row {expect_seq} is missing (deleted): the chain jumps from row {} to row {seq}",
                        expect_seq - 1
                    ),
                })
            } else if row_prev != prev {
                Some(BadRow {
                    seq,
                    reason: format!(
                        "row {seq} does not follow row {}: its previous-hash does not match (a row was deleted, inserted or reordered)",
                        seq - 1
                    ),
                })
            } else if row_hash(&prev, seq, &at, &kind, run, &body) != hash {
                Some(BadRow {
                    seq,
                    reason: format!(
                        "row {seq} ({kind}, {at}) was altered: its content does not match its hash"
                    ),
                })
            } else if macs && self.key.as_ref().is_some_and(|k| k.mac(&hash) != mac) {
                Some(BadRow {
                    seq,
                    reason: format!(
                        "row {seq} ({kind}, {at}) was not written with the store's key: forged or rewritten"
                    ),
                })
            } else {
                None
            };
            if bad.is_some() {
                out.first_bad = bad;
                return Ok(out);
            }
            out.rows += 1;
            expect_seq = seq + 1;
            prev = hash;
            out.head = prev.clone();
        }
        Ok(out)
    }

    /// The latest checkpoint, with its MAC checked when the key is at hand.
    fn checkpoint_checked(&self) -> Result<Result<Option<(i64, String)>, String>, AuditError> {
        let row: Option<(i64, String, String, String)> = self
            .conn
            .query_row(
                "SELECT seq, hash, at, mac FROM checkpoints ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(|e| sqlite(&self.path, e))?;
        Ok(match row {
            None => Ok(None),
            Some((seq, hash, at, mac)) => {
                let ok = self
                    .key
                    .as_ref()
                    .is_none_or(|k| k.mac(&format!("checkpoint\n{seq}\n{hash}\n{at}")) == mac);
                if ok {
                    Ok(Some((seq, hash)))
                } else {
                    Err(format!(
                        "the checkpoint at row {seq} was not written with the store's key"
                    ))
                }
            }
        })
    }

    /// Removes every run recorded before `before` (and the rows that belong to
    /// them, and older decisions): the oldest prefix of the chain. A signed
    /// checkpoint keeps the hash the rest continues from, and a `prune` row records
    /// what was removed. Returns the rows removed.
    pub fn prune(&mut self, before: &str) -> Result<u64, AuditError> {
        let key = self.writer_key()?;
        let e = |err| sqlite(&self.path, err);
        // The first row to keep: the first run at or after `before`, else the end.
        let keep_from: Option<i64> = self
            .conn
            .query_row(
                "SELECT min(seq) FROM records WHERE kind = 'run' AND at >= ?1",
                [before],
                |r| r.get(0),
            )
            .map_err(e)?;
        let keep_from = keep_from.unwrap_or(self.head.0 + 1);
        let cut: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT seq, hash FROM records WHERE seq < ?1 ORDER BY seq DESC LIMIT 1",
                [keep_from],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(e)?;
        let Some((cut_seq, cut_hash)) = cut else {
            return Ok(0);
        };
        let at = now();
        let tx = self.conn.unchecked_transaction().map_err(e)?;
        tx.execute("INSERT INTO meta (key, value) VALUES ('pruning', '1')", [])
            .map_err(e)?;
        let removed = tx
            .execute("DELETE FROM records WHERE seq <= ?1", [cut_seq])
            .map_err(e)?;
        tx.execute("DELETE FROM meta WHERE key = 'pruning'", [])
            .map_err(e)?;
        let mac = key.mac(&format!("checkpoint\n{cut_seq}\n{cut_hash}\n{at}"));
        tx.execute(
            "INSERT INTO checkpoints (seq, hash, at, mac) VALUES (?1, ?2, ?3, ?4)",
            params![cut_seq, cut_hash, at, mac],
        )
        .map_err(e)?;
        let mut head = self.head.clone();
        let body = serde_json::json!({
            "before": before,
            "removed_rows": removed,
            "through_seq": cut_seq,
            "checkpoint_hash": cut_hash,
        });
        insert(&tx, &key, &mut head, &at, Kind::Prune, None, &body).map_err(e)?;
        tx.commit().map_err(e)?;
        self.head = head;
        Ok(removed as u64)
    }

    /// Runs recorded in `[from, to)` (RFC 3339 strings; `None` for open ends), oldest first.
    pub fn runs(
        &self,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Vec<StoredRecord>, AuditError> {
        self.select(
            "SELECT seq, at, kind, run, body FROM records WHERE kind = 'run'
             AND (?1 IS NULL OR at >= ?1) AND (?2 IS NULL OR at < ?2) ORDER BY seq",
            params![from, to],
        )
    }

    /// The rows of `kind` that belong to run `run`.
    pub fn children(&self, run: i64, kind: Kind) -> Result<Vec<StoredRecord>, AuditError> {
        self.select(
            "SELECT seq, at, kind, run, body FROM records WHERE run = ?1 AND kind = ?2 ORDER BY seq",
            params![run, kind.as_str()],
        )
    }

    /// Stand-alone rows of `kind` (decisions) in `[from, to)`.
    pub fn loose(
        &self,
        kind: Kind,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Vec<StoredRecord>, AuditError> {
        self.select(
            "SELECT seq, at, kind, run, body FROM records WHERE kind = ?1 AND run IS NULL
             AND (?2 IS NULL OR at >= ?2) AND (?3 IS NULL OR at < ?3) ORDER BY seq",
            params![kind.as_str(), from, to],
        )
    }

    fn select(
        &self,
        sql: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<StoredRecord>, AuditError> {
        let e = |err| sqlite(&self.path, err);
        let mut stmt = self.conn.prepare_cached(sql).map_err(e)?;
        let rows = stmt
            .query_map(args, |r| {
                let body: String = r.get(4)?;
                Ok(StoredRecord {
                    seq: r.get(0)?,
                    at: r.get(1)?,
                    kind: r.get(2)?,
                    run: r.get(3)?,
                    body: serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
                })
            })
            .map_err(e)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(e)
    }

    /// The file behind the store, when it is one.
    pub fn file(&self) -> Option<PathBuf> {
        (self.path != ":memory:").then(|| PathBuf::from(&self.path))
    }
}

fn insert(
    tx: &rusqlite::Transaction<'_>,
    key: &Key,
    head: &mut (i64, String),
    at: &str,
    kind: Kind,
    run: Option<i64>,
    body: &serde_json::Value,
) -> rusqlite::Result<()> {
    // serde_json's maps are sorted by key: this is the canonical form.
    let body = body.to_string();
    let seq = head.0 + 1;
    let hash = row_hash(&head.1, seq, at, kind.as_str(), run, &body);
    let mac = key.mac(&hash);
    tx.prepare_cached(
        "INSERT INTO records (seq, at, kind, run, body, prev, hash, mac) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![seq, at, kind.as_str(), run, body, head.1, hash, mac])?;
    *head = (seq, hash);
    Ok(())
}

/// Now, as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, fixed width, so it sorts as text).
pub fn now() -> String {
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    OffsetDateTime::now_utc().format(&fmt).unwrap_or_default()
}

fn sqlite(path: &str, source: rusqlite::Error) -> AuditError {
    AuditError::Sqlite {
        path: path.to_string(),
        source,
    }
}
