//! residency keeps the personal data of people in the EU inside the EEA, or in
//! countries the EU has found adequate (GDPR Chapter V).
//!
//! Data flow: an input adapter (`inputs`) parses an inventory into location
//! claims; the resolver (`locate`) turns claims into countries with evidence,
//! using the region catalogue (`knowledge`) and the IP geodb (`geo`); the pure
//! `engine` evaluates the assets against a policy (`policies`) on a date and
//! returns sorted findings; a reporter (`report`) writes them; the exit code
//! follows from the worst unwaived severity. The commands live in `cli`.

pub mod cli;
pub mod engine;
pub mod error;
pub mod geo;
pub mod inputs;
pub mod knowledge;
pub mod locate;
pub mod policies;
pub mod report;
pub mod rules;
