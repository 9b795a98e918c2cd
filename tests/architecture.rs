//! The engine stays pure: no files, clock, network, database or environment,
//! and it imports nothing else from the crate.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "test and benchmark code: a panic is a failed run"
)]

use std::path::Path;

const FORBIDDEN: &[&str] = &[
    "std::fs",
    // Addresses are values; sockets and name resolution are I/O.
    "TcpStream",
    "TcpListener",
    "UdpSocket",
    "ToSocketAddrs",
    "lookup_host",
    "std::env",
    "std::process",
    "tokio",
    "hyper",
    "reqwest",
    "rusqlite",
    "maxminddb",
    "SystemTime",
    "Instant::now",
    "OffsetDateTime::now",
    "now_utc",
    "include_bytes!",
    "include_str!",
    "crate::geo",
    "crate::inputs",
    "crate::report",
    "crate::cli",
    "crate::knowledge",
    "crate::locate",
    "crate::policies",
];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn engine_does_no_io_and_depends_on_nothing_else_in_the_crate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("src/engine.rs")];
    rust_files(&root.join("src/engine"), &mut files);
    assert!(files.len() >= 7);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for bad in FORBIDDEN {
                assert!(
                    !code.contains(bad),
                    "{}:{}: the engine must not use `{bad}`",
                    f.display(),
                    n + 1
                );
            }
        }
    }
}

#[test]
fn main_stays_thin() {
    let main =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/main.rs")).unwrap();
    assert!(
        main.lines().count() < 40,
        "main.rs should only parse, run and map the exit code"
    );
}
