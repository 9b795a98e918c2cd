//! The command line: argument types and one file per command. Only this module
//! (and `main`) uses `anyhow`; everything below it returns typed errors.

pub mod audit;
pub mod common;
pub mod explain;
pub mod flows;
pub mod geodb;
pub mod output;
pub mod policy;
pub mod proxy;
pub mod ranges;
pub mod report;
pub mod scan;

use clap::{Parser, Subcommand, ValueEnum};

const ABOUT: &str = "Keeps personal data inside the EEA or adequate countries (GDPR Chapter V).";

const LONG_ABOUT: &str = "\
residency checks where personal data lives and where it goes: every data store, replica, backup \
and sub-processor in an inventory is located (cloud region catalogue, declared sites, IP geodb), \
judged against a policy (EEA, adequacy decisions in force on a date, SCCs with a TIA, ...) and \
reported with the rule, the GDPR article and the fix. A location that cannot be determined is a \
finding, never a pass.";

const AFTER_HELP: &str = "\
Examples:
  residency scan fixtures/demo/webinar-platform.yaml
  residency scan inventory/ --format json --output report.json
  residency scan inventory.yaml --policy eea-only --fail-on warning
  residency scan inventory.yaml --as-of 2023-07-09
  residency explain RES002
  residency policy check my-policy.toml
  residency geodb info

Exit codes:
  0  compliant: no finding at or above --fail-on
  1  findings at or above --fail-on (default: error)
  2  usage or input error (the message names the file, line and field)";

/// residency: GDPR data-residency scanner.
#[derive(Debug, Parser)]
#[command(name = "residency", version, about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
pub struct Cli {
    /// When to colour the output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Colour choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and `NO_COLOR` is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check inventories against a policy and report every finding.
    Scan(scan::ScanArgs),
    /// Explain a rule: what it checks, why, and how to fix it.
    Explain(explain::ExplainArgs),
    /// Read flow logs (VPC Flow Logs, Zeek conn.log) and report where data actually went.
    Flows(flows::FlowsArgs),
    /// Validate and show policies.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Inspect, query and update the IP-to-country database.
    #[command(subcommand)]
    Geodb(geodb::GeodbCommand),
    /// Import the address ranges clouds publish (AWS, Google, Azure).
    #[command(subcommand)]
    Ranges(ranges::RangesCommand),
    /// Verify, list and prune the audit store (the hash-chained record of runs).
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Write the compliance report (HTML, Markdown, CSV, JSON) from the audit store.
    Report(report::ReportArgs),
    /// Run the egress proxy: refuse connections to destinations the policy does not allow.
    Proxy(proxy::ProxyArgs),
}

/// How a run ended, as an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: nothing at or above the failure threshold.
    Success,
    /// 1: findings at or above the failure threshold.
    Failure,
    /// 2: usage or input error.
    Error,
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(s: ExitStatus) -> Self {
        std::process::ExitCode::from(match s {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Error => 2,
        })
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Scan(args) => scan::run(args, cli.color),
        Command::Explain(args) => explain::run(args),
        Command::Flows(args) => flows::run(args),
        Command::Policy(cmd) => policy::run(cmd),
        Command::Geodb(cmd) => geodb::run(cmd),
        Command::Ranges(cmd) => ranges::run(cmd),
        Command::Audit(cmd) => audit::run(cmd),
        Command::Report(args) => report::run(args),
        Command::Proxy(args) => proxy::run(args),
    }
}

/// Whether an error is a closed output pipe (`residency scan ... | head`), which is not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
