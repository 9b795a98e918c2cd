//! `residency scan`: inventories in, findings out.

use super::common::{open_geodb, parse_as_of, terminal_width, today, use_color};
use super::output::Output;
use super::{ColorChoice, ExitStatus};
use crate::engine::{evaluate, Evaluation, Facts, Severity};
use crate::error::InputError;
use crate::geo::maxmind::GeoDb;
use crate::inputs::terraform_plan::{
    parse_plan, plan_assets, source_places, strip_instance_keys, PlanOptions, ResourceTypes,
};
use crate::inputs::{
    expand_paths, inventory, read_input, Format as InputFormat, InputFile, Wanted,
};
use crate::knowledge::Knowledge;
use crate::locate::Resolver;
use crate::policies::{self, LoadedPolicy};
use crate::report::Place;
use crate::report::{
    self, Format, GeoMeta, KnowledgeMeta, PolicyMeta, RenderOptions, ReportMeta, Tool,
};
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use time::Date;

const SCAN_HELP: &str = "\
Examples:
  residency scan fixtures/demo/webinar-platform.yaml
  residency scan inventory/ --policy eea-only
  residency scan inventory.yaml --format json --output report.json
  residency scan inventory.yaml --policy ./policy.toml --as-of 2026-01-25 --fail-on warning

PATH may be a file (.yaml, .yml, .json) or a directory (read recursively). Several files form one
inventory: ids must be unique across them.

Exit codes: 0 compliant, 1 findings at or above --fail-on, 2 usage or input error.";

/// Arguments of `scan`.
#[derive(Debug, Args)]
#[command(after_help = SCAN_HELP)]
pub struct ScanArgs {
    /// Inventories and Terraform plans (YAML or JSON), or directories of them (walked
    /// in name order; hidden entries such as `.terraform` skipped).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Policy: a preset (gdpr, eea-only, sovereign) or a TOML file.
    #[arg(long, short = 'p', default_value = policies::DEFAULT, value_name = "NAME|FILE")]
    pub policy: String,
    /// IP-to-country database (MaxMind DB format; plain or .gz). Default: the one
    /// installed by `geodb update`, else the embedded one.
    #[arg(long, value_name = "FILE", env = "RESIDENCY_GEODB")]
    pub geodb: Option<PathBuf>,
    /// Extra provider/region catalogue (JSON, format of geodb/providers.json), merged over the embedded one.
    #[arg(long, value_name = "FILE")]
    pub regions: Option<PathBuf>,
    /// Replacement adequacy list (JSON, format of policies/knowledge/adequacy.json).
    #[arg(long, value_name = "FILE")]
    pub adequacy: Option<PathBuf>,
    /// Evaluate as of this date (adequacy decisions, waiver and approval expiry). Default: today (UTC).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_as_of)]
    pub as_of: Option<Date>,
    /// Lowest unwaived severity that makes the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// For Terraform plans: check only resources being created or updated.
    #[arg(long)]
    pub changed_only: bool,
    /// Report only findings that are not in this previous JSON report (matched by fingerprint).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// For Terraform plans: the directory of the root module, to point findings at the `.tf`
    /// file and line of each resource block (local module sources are followed).
    #[arg(long, value_name = "DIR")]
    pub tf_root: Option<PathBuf>,
    /// Write the report to FILE instead of stdout. FILE's directory is checked before
    /// any input is read; an existing FILE is replaced only once the new report is
    /// complete, so a run that fails leaves it as it was.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Where to record the run.
    #[command(flatten)]
    pub record: super::audit::RecordArgs,
}

/// Failure threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Exit 1 on any unwaived error.
    Error,
    /// Exit 1 on any unwaived error or warning.
    Warning,
    /// Always exit 0 (unless the input is bad).
    Never,
}

impl FailOn {
    /// Whether an evaluation fails at this threshold.
    pub fn fails(self, evaluation: &Evaluation) -> bool {
        self.fails_at(evaluation.worst())
    }

    /// Whether the worst unwaived severity fails at this threshold.
    pub fn fails_at(self, worst: Option<Severity>) -> bool {
        match (self, worst) {
            (FailOn::Never, _) | (_, None) => false,
            (FailOn::Error, Some(s)) => s == Severity::Error,
            (FailOn::Warning, Some(s)) => s <= Severity::Warning,
        }
    }
}

/// What a scan needs besides the inputs.
pub struct Setup {
    /// Legal and location knowledge.
    pub knowledge: Knowledge,
    /// The policy.
    pub policy: LoadedPolicy,
    /// The geodb.
    pub geo: GeoDb,
    /// Evaluation date.
    pub as_of: Date,
    /// Plans: only resources being created or updated.
    pub changed_only: bool,
    /// Plans: the root module directory, for `.tf` places.
    pub tf_root: Option<PathBuf>,
}

impl Setup {
    /// Loads knowledge, policy and geodb as the arguments say.
    pub fn from_args(args: &ScanArgs) -> anyhow::Result<Setup> {
        Ok(Setup {
            knowledge: Knowledge::load(args.adequacy.as_deref(), args.regions.as_deref())?,
            policy: policies::load(&args.policy)?,
            geo: open_geodb(args.geodb.as_deref())?,
            as_of: args.as_of.unwrap_or_else(today),
            changed_only: args.changed_only,
            tf_root: args.tf_root.clone(),
        })
    }
}

/// Reads, resolves and evaluates `paths`.
pub fn scan(setup: &Setup, paths: &[PathBuf]) -> anyhow::Result<(Evaluation, ReportMeta)> {
    let files: Vec<InputFile> = expand_paths(paths, Wanted::Inventories)?
        .iter()
        .map(|p| read_input(p))
        .collect::<Result<_, _>>()?;
    let geo_info = setup.geo.info();
    let geo_label = format!("{} {}", geo_info.path, geo_info.build_date);
    let (plans, inventories): (Vec<&InputFile>, Vec<&InputFile>) = files
        .iter()
        .partition(|f| f.format == InputFormat::TerraformPlan);
    let inventories: Vec<InputFile> = inventories.into_iter().cloned().collect();
    let inv = inventory::load(&inventories, &setup.knowledge, &setup.geo, &geo_label)?;
    // One pass per inventory file indexes where every id is written.
    let mut places = std::collections::BTreeMap::new();
    for file in &inventories {
        for (id, line) in crate::inputs::source::id_lines(&file.text) {
            places.entry(id.to_string()).or_insert(Place {
                uri: file.path.clone(),
                line: Some(line),
            });
        }
    }
    let mut assets = inv.assets;
    let mut checked = Vec::new();
    let mut plan_hashes = Vec::new();
    if !plans.is_empty() {
        let types = ResourceTypes::embedded()?;
        let resolver = Resolver::new(&setup.knowledge, &setup.geo, &geo_label);
        let opts = PlanOptions {
            changed_only: setup.changed_only,
            type_overrides: setup.policy.resource_types.clone(),
        };
        for f in plans {
            let plan = parse_plan(std::path::Path::new(&f.path))?;
            plan_hashes.push((f.path.clone(), plan.sha256.clone(), plan.bytes));
            let result = plan_assets(&plan, &setup.knowledge, &resolver, &types, &opts);
            let sources = setup
                .tf_root
                .as_deref()
                .map(|root| source_places(&plan, root));
            for a in &result.assets {
                let address = a.id.split('#').next().unwrap_or(&a.id);
                let place = sources
                    .as_ref()
                    .and_then(|s| s.get(&strip_instance_keys(address)))
                    .map(|(file, line)| Place {
                        uri: file.display().to_string(),
                        line: Some(*line),
                    })
                    .unwrap_or_else(|| Place {
                        uri: f.path.clone(),
                        line: None,
                    });
                places.insert(a.id.clone(), place);
            }
            for c in &result.checked {
                places.entry(c.address.clone()).or_insert_with(|| Place {
                    uri: f.path.clone(),
                    line: None,
                });
            }
            assets.extend(result.assets);
            checked.extend(result.checked);
        }
    }
    let mut files = files;
    for f in &mut files {
        if let Some((_, sha, bytes)) = plan_hashes.iter().find(|(p, _, _)| p == &f.path) {
            f.sha256 = sha.clone();
            f.bytes = usize::try_from(*bytes).unwrap_or(usize::MAX);
        }
    }
    let facts = Facts { assets };
    let evaluation = evaluate(
        &facts,
        &setup.policy.policy,
        &setup.knowledge.legal,
        setup.as_of,
    );
    let k = &setup.knowledge;
    let transfers = crate::audit::record::transfer_rows(&facts, &evaluation, &k.legal, setup.as_of);
    let meta = ReportMeta {
        tool: Tool::default(),
        as_of: setup.as_of.to_string(),
        organisation: inv.organisation,
        policy: PolicyMeta {
            name: setup.policy.policy.name.clone(),
            chain: setup.policy.chain.clone(),
            hash: setup.policy.hash.clone(),
        },
        knowledge: KnowledgeMeta {
            adequacy_list_date: k.legal.list_date.clone(),
            adequacy_source: k.adequacy_source.clone(),
            eea_version: k.legal.eea_version.clone(),
            region_catalogue: k.catalogue.version.clone(),
            region_catalogue_source: k.catalogue_source.clone(),
            geodb: GeoMeta {
                path: geo_info.path,
                database_type: geo_info.database_type,
                build_date: geo_info.build_date,
            },
        },
        inputs: files,
        resources: checked,
        places,
        transfers,
    };
    Ok((evaluation, meta))
}

/// Fingerprints of the findings in a previous JSON report.
pub fn read_baseline(
    path: &std::path::Path,
) -> Result<std::collections::HashSet<String>, InputError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError::new(&shown, format!("cannot read baseline: {e}")))?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| InputError::new(&shown, e.to_string()).at(Some(e.line()), Some(e.column())))?;
    let findings = doc
        .get("findings")
        .and_then(|f| f.as_array())
        .ok_or_else(|| {
            InputError::new(&shown, "not a residency JSON report: no `findings` array").hint(
                "write the baseline with `residency scan ... --format json --output baseline.json`",
            )
        })?;
    Ok(findings
        .iter()
        .filter_map(|f| {
            f.get("fingerprint")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        })
        .collect())
}

/// Runs `scan`.
pub fn run(args: ScanArgs, color: ColorChoice) -> anyhow::Result<ExitStatus> {
    let setup = Setup::from_args(&args)?;
    // Open the store first: a store that cannot be written fails the run before any output.
    let mut store = args.record.open()?;
    // And the report's file: a path that cannot be written fails before the inputs are read.
    let output = Output::open(args.output.as_deref())?;
    let (mut evaluation, meta) = scan(&setup, &args.paths)?;
    if let Some(path) = &args.baseline {
        evaluation.subtract_baseline(&read_baseline(path)?);
    }
    let opts = RenderOptions {
        color: use_color(color, output.is_file()) && args.format == Format::Table,
        width: terminal_width(),
    };
    // Stream the report: a large plan's report is written as it is rendered.
    output.write(|out| Ok(report::render(&evaluation, &meta, args.format, opts, out)?))?;
    if let Some(store) = &mut store {
        super::audit::record_scan(store, &evaluation, &meta, &setup.policy.policy)?;
    }
    Ok(if args.fail_on.fails(&evaluation) {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}
