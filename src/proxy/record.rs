//! Decision records: JSON lines on stdout for log shippers, and rows in the audit
//! store written by one thread in batches. The queue is bounded: when it is full
//! the connection waits for room (backpressure) rather than drop a decision.

use crate::audit::{Kind, NewRecord, Store};
use serde::Serialize;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// One decision, as logged.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionRecord {
    /// When it was made (RFC 3339, UTC).
    pub time: String,
    /// `connect`, `http` or `authz`.
    pub kind: &'static str,
    /// The client's address.
    pub client: String,
    /// The host asked for.
    pub host: String,
    /// The port.
    pub port: u16,
    /// The address checked and dialled (empty when none was).
    pub address: String,
    /// Its country (empty when internal or unknown).
    pub country: String,
    /// `allow`, `deny`, or `would_deny` (report mode).
    pub decision: &'static str,
    /// The rule behind a denial.
    pub rule: String,
    /// Why.
    pub reason: String,
    /// `enforce`, `report` or `open`.
    pub mode: &'static str,
    /// Bytes from the client to the destination.
    pub bytes_up: u64,
    /// Bytes from the destination to the client.
    pub bytes_down: u64,
    /// From the request to the end of the exchange, in milliseconds.
    pub duration_ms: u64,
}

/// Where decisions go.
#[derive(Clone)]
pub struct Sink {
    json_stdout: bool,
    audit: Option<mpsc::Sender<DecisionRecord>>,
    /// Records written to the store.
    pub stored: Arc<AtomicU64>,
}

impl Sink {
    /// Logs one decision.
    pub async fn log(&self, r: DecisionRecord) {
        if self.json_stdout {
            if let Ok(line) = serde_json::to_string(&r) {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}");
            }
        }
        if let Some(tx) = &self.audit {
            // Waits only when the writer is a full queue behind.
            let _ = tx.send(r).await;
        }
    }
}

/// The audit writer: a thread that drains the queue in batches of up to 512
/// records, one transaction each. Returns the sink and the thread's handle
/// (join it after dropping every sink to flush).
pub fn start(
    json_stdout: bool,
    store: Option<Store>,
) -> (Sink, Option<std::thread::JoinHandle<Result<(), String>>>) {
    let stored = Arc::new(AtomicU64::new(0));
    let Some(mut store) = store else {
        return (
            Sink {
                json_stdout,
                audit: None,
                stored,
            },
            None,
        );
    };
    let (tx, mut rx) = mpsc::channel::<DecisionRecord>(65_536);
    let count = stored.clone();
    let handle = std::thread::spawn(move || -> Result<(), String> {
        let mut batch: Vec<NewRecord> = Vec::with_capacity(512);
        while let Some(first) = rx.blocking_recv() {
            batch.push(to_record(&first));
            while batch.len() < 512 {
                match rx.try_recv() {
                    Ok(r) => batch.push(to_record(&r)),
                    Err(_) => break,
                }
            }
            store.append(&batch).map_err(|e| e.to_string())?;
            count.fetch_add(batch.len() as u64, Ordering::Relaxed);
            batch.clear();
        }
        Ok(())
    });
    (
        Sink {
            json_stdout,
            audit: Some(tx),
            stored,
        },
        Some(handle),
    )
}

fn to_record(r: &DecisionRecord) -> NewRecord {
    NewRecord {
        kind: Kind::Decision,
        body: serde_json::to_value(r).unwrap_or(serde_json::Value::Null),
    }
}
