//! The audit store: an append-only, hash-chained record of every scan, flow audit
//! and (later) egress decision, in one SQLite file.
//!
//! Every row carries `hash = SHA-256(previous hash, seq, time, kind, run, body)` and
//! `mac = HMAC-SHA-256(key, hash)`. The chain shows that no row was altered,
//! deleted, inserted or reordered; the MAC, made with a key kept apart from the
//! store, shows that nobody without the key appended or rewrote rows with a freshly
//! computed chain. `prune` removes a prefix of the chain and keeps a signed
//! checkpoint of the last hash it removed, so the rest still verifies.

pub mod record;
pub mod store;
pub mod view;

pub use store::{AuditError, Key, Kind, NewRecord, Store, StoredRecord, Verification};

use std::path::PathBuf;

/// The default store: `$XDG_DATA_HOME/residency/audit.sqlite`, else
/// `~/.local/share/residency/audit.sqlite`.
pub fn default_store_path() -> Option<PathBuf> {
    data_dir("XDG_DATA_HOME", ".local/share").map(|d| d.join("audit.sqlite"))
}

/// The default key: `$XDG_CONFIG_HOME/residency/audit.key`, else
/// `~/.config/residency/audit.key` (apart from the store, on purpose).
pub fn default_key_path() -> Option<PathBuf> {
    data_dir("XDG_CONFIG_HOME", ".config").map(|d| d.join("audit.key"))
}

fn data_dir(var: &str, fallback: &str) -> Option<PathBuf> {
    if let Some(x) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(x).join("residency"));
    }
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(|h| PathBuf::from(h).join(fallback).join("residency"))
}
