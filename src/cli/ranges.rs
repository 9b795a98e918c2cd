//! `residency ranges`: import the address ranges clouds publish, so flows to cloud
//! addresses resolve to provider and region rather than a country guess.

use super::common::default_geodb_path;
use super::output::Output;
use super::ExitStatus;
use crate::geo::ranges::{parse_published, RangesFile};
use crate::geo::update::fetch;
use anyhow::Context;
use clap::Subcommand;
use std::io::Write;
use std::path::PathBuf;

/// Where imported ranges are kept by default (beside the updated geodb).
pub fn default_ranges_path() -> Option<PathBuf> {
    default_geodb_path().map(|p| p.with_file_name("ranges.json"))
}

/// Reads the ranges file, if there is one.
pub fn load(explicit: Option<&std::path::Path>) -> anyhow::Result<RangesFile> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => match default_ranges_path().filter(|p| p.is_file()) {
            Some(p) => p,
            None => return Ok(RangesFile::default()),
        },
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow::anyhow!("{}: cannot read ranges: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}:{}: not a ranges file: {e}", path.display(), e.line()))
}

/// Subcommands of `ranges`.
#[derive(Debug, Subcommand)]
pub enum RangesCommand {
    /// Import AWS ip-ranges.json, Google cloud.json or Azure Service Tags (file or URL).
    #[command(
        after_help = "Examples:\n  residency ranges import ip-ranges.json cloud.json ServiceTags_Public.json\n  residency ranges import https://example.org/ip-ranges.json\n\nA provider's ranges replace that provider's earlier import; `residency flows` then resolves\naddresses in them to provider and region (evidence: the published file)."
    )]
    Import {
        /// Files or URLs.
        #[arg(required = true, value_name = "FILE|URL")]
        sources: Vec<String>,
        /// The ranges file to update (default: ~/.local/share/residency/ranges.json).
        #[arg(long, value_name = "FILE")]
        ranges: Option<PathBuf>,
    },
    /// Show what is imported.
    List {
        /// The ranges file (default: ~/.local/share/residency/ranges.json).
        #[arg(long, value_name = "FILE")]
        ranges: Option<PathBuf>,
    },
}

/// Runs `ranges`.
pub fn run(cmd: RangesCommand) -> anyhow::Result<ExitStatus> {
    let mut out = std::io::stdout().lock();
    match cmd {
        RangesCommand::Import { sources, ranges } => {
            let dest = ranges.or_else(default_ranges_path).ok_or_else(|| {
                anyhow::anyhow!("no destination: set --ranges FILE (HOME is not set)")
            })?;
            // Where the ranges go, checked before any source is fetched.
            if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            let output = Output::open(Some(&dest))?;
            let mut file = if dest.is_file() {
                load(Some(&dest))?
            } else {
                RangesFile {
                    version: 1,
                    ..RangesFile::default()
                }
            };
            for source in &sources {
                let bytes = fetch(source)?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| anyhow::anyhow!("{source}: not UTF-8 text"))?;
                let (provider, label, list) =
                    parse_published(source, &text).map_err(anyhow::Error::msg)?;
                file.ranges.retain(|r| r.provider != provider);
                writeln!(out, "{source}: {} {provider} ranges ({label})", list.len())?;
                file.ranges.extend(list);
                file.sources
                    .insert(provider, format!("{label} from {source}"));
            }
            file.version = 1;
            output.write(|w| Ok(serde_json::to_writer(w, &file)?))?;
            writeln!(out, "{} ranges in {}", file.ranges.len(), dest.display())?;
        }
        RangesCommand::List { ranges } => {
            let file = load(ranges.as_deref())?;
            if file.ranges.is_empty() {
                writeln!(
                    out,
                    "no cloud ranges imported (residency ranges import FILE|URL)"
                )?;
            }
            let mut providers: Vec<(&String, &String)> = file.sources.iter().collect();
            providers.sort();
            for (p, label) in providers {
                let n = file.ranges.iter().filter(|r| &r.provider == p).count();
                writeln!(out, "{p}: {n} ranges, {label}")?;
            }
        }
    }
    Ok(ExitStatus::Success)
}
