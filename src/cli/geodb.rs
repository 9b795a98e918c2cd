//! `residency geodb`: what is loaded, lookups, and atomic updates.

use super::common::{default_geodb_path, open_geodb};
use super::ExitStatus;
use crate::geo::{classify, update, GeoAnswer};
use crate::knowledge::countries::country_name;
use clap::Subcommand;
use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;

/// Subcommands of `geodb`.
#[derive(Debug, Subcommand)]
pub enum GeodbCommand {
    /// Show the database in use: path, type, build date, record shape.
    Info {
        /// Database to inspect (default: the one `scan` would use).
        #[arg(long, value_name = "FILE", env = "RESIDENCY_GEODB")]
        geodb: Option<PathBuf>,
    },
    /// Look addresses up (internal ranges first, then the database).
    Lookup {
        /// Addresses.
        #[arg(required = true, value_name = "IP")]
        ips: Vec<IpAddr>,
        /// Database to use.
        #[arg(long, value_name = "FILE", env = "RESIDENCY_GEODB")]
        geodb: Option<PathBuf>,
    },
    /// Download a MaxMind-format database, check it, and replace the old one atomically.
    #[command(
        after_help = "The download may be a plain .mmdb, a .mmdb.gz, or a .tar.gz holding one (as MaxMind ships).\n\
It must open, carry country codes in a known record shape, and answer a probe lookup; otherwise\n\
the old database is kept untouched.\n\nExamples:\n  residency geodb update --from https://example.org/country.mmdb\n  residency geodb update --from ./GeoLite2-Country.tar.gz --geodb /var/lib/residency/geodb.mmdb"
    )]
    Update {
        /// URL (http, https, file) or local path to fetch.
        #[arg(long, value_name = "URL")]
        from: String,
        /// Where to install it (default: ~/.local/share/residency/geodb.mmdb).
        #[arg(long, value_name = "FILE")]
        geodb: Option<PathBuf>,
    },
}

/// Runs `geodb`.
pub fn run(cmd: GeodbCommand) -> anyhow::Result<ExitStatus> {
    let mut out = std::io::stdout().lock();
    match cmd {
        GeodbCommand::Info { geodb } => {
            let db = open_geodb(geodb.as_deref())?;
            let i = db.info();
            writeln!(out, "path:          {}", i.path)?;
            writeln!(out, "type:          {}", i.database_type)?;
            writeln!(out, "build date:    {}", i.build_date)?;
            writeln!(out, "ip version:    {}", i.ip_version)?;
            writeln!(out, "record shape:  {}", i.record_shape.describe())?;
            writeln!(
                out,
                "size:          {} bytes, {} nodes",
                i.size, i.node_count
            )?;
            if let Some(d) = &i.description {
                writeln!(out, "description:   {d}")?;
            }
            if i.path == "embedded" {
                writeln!(out, "attribution:   ip-location-db geo-whois-asn-country (CC0); includes NRO data, CC BY 4.0, nro.net")?;
            }
        }
        GeodbCommand::Lookup { ips, geodb } => {
            let db = open_geodb(geodb.as_deref())?;
            for ip in ips {
                match classify(&db, ip)? {
                    GeoAnswer::Internal(r) => {
                        writeln!(out, "{ip}\tinternal\t{} ({})", r.label, r.cidr)?
                    }
                    GeoAnswer::Country(c) => writeln!(out, "{ip}\t{c}\t{}", country_name(c))?,
                    GeoAnswer::NotFound => writeln!(out, "{ip}\tunknown\tno record")?,
                }
            }
        }
        GeodbCommand::Update { from, geodb } => {
            let dest = geodb.or_else(default_geodb_path).ok_or_else(|| {
                anyhow::anyhow!("no destination: set --geodb FILE (HOME is not set)")
            })?;
            let info = update::update(&from, &dest)?;
            writeln!(
                out,
                "installed {} ({}, built {}, {}) at {}",
                from,
                info.database_type,
                info.build_date,
                info.record_shape.describe(),
                dest.display()
            )?;
        }
    }
    Ok(ExitStatus::Success)
}
