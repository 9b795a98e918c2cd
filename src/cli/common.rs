//! What several commands share: opening the geodb, the knowledge and outputs.

use super::ColorChoice;
use crate::geo::maxmind::GeoDb;
use crate::knowledge::parse_date;
use anyhow::Context;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use time::Date;

/// Where `geodb update` writes by default, and where `scan` looks before the embedded one:
/// `$XDG_DATA_HOME/residency/geodb.mmdb`, else `~/.local/share/residency/geodb.mmdb`.
pub fn default_geodb_path() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(x).join("residency").join("geodb.mmdb"));
    }
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(|h| PathBuf::from(h).join(".local/share/residency/geodb.mmdb"))
}

/// Opens `--geodb FILE`, else the user's updated database, else the embedded one.
pub fn open_geodb(explicit: Option<&Path>) -> anyhow::Result<GeoDb> {
    if let Some(p) = explicit {
        return Ok(GeoDb::open(p)?);
    }
    if let Some(p) = default_geodb_path().filter(|p| p.is_file()) {
        return GeoDb::open(&p).with_context(|| {
            format!(
                "the updated geodb at {} is unusable; remove it or run `residency geodb update`",
                p.display()
            )
        });
    }
    Ok(GeoDb::embedded()?)
}

/// Parses `--as-of`.
pub fn parse_as_of(s: &str) -> Result<Date, String> {
    parse_date(s)
        .ok_or_else(|| format!("`{s}` is not a date: expected YYYY-MM-DD, e.g. 2023-07-10"))
}

/// Today's date (UTC): the default evaluation date.
pub fn today() -> Date {
    time::OffsetDateTime::now_utc().date()
}

/// Whether to colour output going to stdout.
pub fn use_color(choice: ColorChoice, to_file: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            !to_file && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    }
}

/// Terminal width when stdout is a terminal.
pub fn terminal_width() -> Option<u16> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok())
}
