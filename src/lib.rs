//! residency keeps the personal data of people in the EU inside the EEA, or in
//! countries the EU has found adequate (GDPR Chapter V).
//!
//! Data flow: an input adapter (`inputs`) parses an inventory into location
//! claims; the resolver (`locate`) turns claims into countries with evidence,
//! using the region catalogue (`knowledge`) and the IP geodb (`geo`); the pure
//! `engine` evaluates the assets against a policy (`policies`) on a date and
//! returns sorted findings; a reporter (`report`) writes them; the exit code
//! follows from the worst unwaived severity. The commands live in `cli`.
//!
//! Using the library: evaluate one asset in a US region against the `gdpr` policy.
//!
//! ```
//! use residency::engine::{evaluate, Facts};
//! use residency::geo::maxmind::GeoDb;
//! use residency::inputs::{inventory, read_input};
//! use residency::knowledge::{parse_date, Knowledge};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = std::env::temp_dir().join(format!("residency-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("inventory.yaml");
//! std::fs::write(&path, "version: 1\nassets:\n  - id: events\n    location: {provider: aws, region: us-east-1}\n    data_categories: [user.behavior]\n")?;
//!
//! let knowledge = Knowledge::embedded()?;
//! let geo = GeoDb::embedded()?;
//! let policy = residency::policies::load("gdpr")?;
//! let inv = inventory::load(&[read_input(&path)?], &knowledge, &geo, "embedded")?;
//! let result = evaluate(&Facts { assets: inv.assets }, &policy.policy, &knowledge.legal, parse_date("2026-11-28").unwrap());
//!
//! assert_eq!(result.findings[0].rule.code(), "RES001");
//! assert!(!result.summary.compliant);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```

pub mod audit;
pub mod cli;
pub mod engine;
pub mod error;
pub mod geo;
pub mod inputs;
pub mod knowledge;
pub mod locate;
pub mod policies;
pub mod proxy;
pub mod report;
pub mod rules;
