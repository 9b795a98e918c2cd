//! `geodb update`: fetch a new database, prove it works, then swap it in atomically.
//! On any failure the old file stays as it was.

use super::maxmind::{GeoBytes, GeoDb, GeoDbInfo};
use super::{GeoError, GeoLookup};
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

/// Largest download accepted (MaxMind City databases are ~70 MB; allow headroom).
pub const MAX_DOWNLOAD: u64 = 512 * 1024 * 1024;

/// Unpacks gzip (`.mmdb.gz`) and tar (`.tar.gz` as MaxMind ships) wrappers.
pub fn unpack(label: &str, bytes: Vec<u8>) -> Result<Vec<u8>, GeoError> {
    let invalid = |message: String| GeoError::Invalid {
        path: label.to_string(),
        message,
    };
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .take(MAX_DOWNLOAD)
            .read_to_end(&mut out)
            .map_err(|e| invalid(format!("gzip: {e}")))?;
        out
    } else {
        bytes
    };
    if bytes.get(257..262) == Some(b"ustar") {
        let mut archive = tar::Archive::new(bytes.as_slice());
        let entries = archive
            .entries()
            .map_err(|e| invalid(format!("tar: {e}")))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| invalid(format!("tar: {e}")))?;
            let is_mmdb = entry
                .path()
                .map(|p| p.extension().is_some_and(|x| x == "mmdb"))
                .unwrap_or(false);
            if is_mmdb {
                let mut out = Vec::new();
                entry
                    .read_to_end(&mut out)
                    .map_err(|e| invalid(format!("tar: {e}")))?;
                return Ok(out);
            }
        }
        return Err(invalid("the archive holds no `.mmdb` file".into()));
    }
    Ok(bytes)
}

/// Reads `source`: an `http(s)://` URL, a `file://` URL or a local path.
pub fn fetch(source: &str) -> Result<Vec<u8>, GeoError> {
    let download = |message: String| GeoError::Download {
        url: source.to_string(),
        message,
    };
    if let Some(path) = source.strip_prefix("file://") {
        return std::fs::read(path).map_err(|e| download(e.to_string()));
    }
    if !(source.starts_with("http://") || source.starts_with("https://")) {
        return std::fs::read(source).map_err(|e| download(e.to_string()));
    }
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(300))
        .connect_timeout(Duration::from_secs(20))
        .user_agent(concat!("residency/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| download(e.to_string()))?;
    let resp = client
        .get(source)
        .send()
        .map_err(|e| download(e.to_string()))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(download(format!("HTTP {status}")));
    }
    if resp.content_length().is_some_and(|n| n > MAX_DOWNLOAD) {
        return Err(download(format!("larger than {MAX_DOWNLOAD} bytes")));
    }
    let mut out = Vec::new();
    resp.take(MAX_DOWNLOAD + 1)
        .read_to_end(&mut out)
        .map_err(|e| download(e.to_string()))?;
    if out.len() as u64 > MAX_DOWNLOAD {
        return Err(download(format!("larger than {MAX_DOWNLOAD} bytes")));
    }
    Ok(out)
}

/// Checks `bytes` (opens, detects the shape, answers a probe lookup), then
/// replaces `dest` atomically. Returns the new database's facts.
pub fn install(source: &str, bytes: Vec<u8>, dest: &Path) -> Result<GeoDbInfo, GeoError> {
    let bytes = unpack(source, bytes)?;
    let db = GeoDb::from_bytes(GeoBytes::Owned(bytes.clone()), source)?;
    let probe = db.probe_address().ok_or_else(|| GeoError::Invalid {
        path: source.to_string(),
        message: "the database has no network with data".into(),
    })?;
    match db.country(probe)? {
        Some(_) => {}
        None => {
            return Err(GeoError::Invalid {
                path: source.to_string(),
                message: format!("the probe lookup of {probe} returned no country"),
            })
        }
    }
    let shown = dest.display().to_string();
    let write_err = |e: std::io::Error| GeoError::Write {
        path: shown.clone(),
        message: e.to_string(),
    };
    let dir = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir).map_err(write_err)?;
    let file_name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "geodb.mmdb".into());
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, dest)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok::<(), std::io::Error>(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(write_err(e));
    }
    let mut info = GeoDb::open(dest)?.info();
    info.path = shown;
    Ok(info)
}

/// `fetch` then `install`.
pub fn update(source: &str, dest: &Path) -> Result<GeoDbInfo, GeoError> {
    let bytes = fetch(source)?;
    install(source, bytes, dest)
}
