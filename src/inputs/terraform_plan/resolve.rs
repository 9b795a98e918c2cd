//! From compact plan records to engine assets: classify the resource type, find
//! the effective location (resource attributes, then the provider configuration
//! through aliases, modules and variables), and add an asset per secondary copy.

use super::parse::{ConfigModule, PlanSummary};
use super::{PlanResource, ReplicaSpec};
use crate::engine::policy::glob_match;
use crate::engine::{Asset, CopyOf, DataProfile, Location, Operator, Role};
use crate::error::InputError;
use crate::knowledge::taxonomy::Taxonomy;
use crate::knowledge::Knowledge;
use crate::locate::{LocationClaim, Resolver};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The embedded resource-type catalogue.
pub const RESOURCE_TYPES_JSON: &str =
    include_str!("../../../policies/knowledge/terraform_resources.json");

/// What a resource type does with data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TypeClass {
    /// Holds data at rest.
    Stores,
    /// Processes data in use.
    Processes,
    /// Holds no personal data (identity, network, DNS, keys).
    NoData,
    /// Not in the catalogue: treated as processing personal data, as a warning.
    Unknown,
}

#[derive(Deserialize)]
struct RawTypes {
    version: String,
    providers: BTreeMap<String, RawTypeSet>,
}

#[derive(Deserialize)]
struct RawTypeSet {
    prefix: String,
    #[serde(default)]
    stores: Vec<String>,
    #[serde(default)]
    processes: Vec<String>,
    #[serde(default)]
    no_data: Vec<String>,
}

/// The resource-type catalogue.
#[derive(Debug, Clone)]
pub struct ResourceTypes {
    /// Catalogue version.
    pub version: String,
    sets: Vec<(String, String, RawLists)>,
}

#[derive(Debug, Clone)]
struct RawLists {
    stores: Vec<String>,
    processes: Vec<String>,
    no_data: Vec<String>,
}

impl ResourceTypes {
    /// The embedded catalogue.
    pub fn embedded() -> Result<ResourceTypes, InputError> {
        let raw: RawTypes = serde_json::from_str(RESOURCE_TYPES_JSON).map_err(|e| {
            InputError::new("<embedded terraform_resources.json>", e.to_string())
                .at(Some(e.line()), Some(e.column()))
        })?;
        Ok(ResourceTypes {
            version: raw.version,
            sets: raw
                .providers
                .into_iter()
                .map(|(id, s)| {
                    (
                        id,
                        s.prefix,
                        RawLists {
                            stores: s.stores,
                            processes: s.processes,
                            no_data: s.no_data,
                        },
                    )
                })
                .collect(),
        })
    }

    /// The class of `rtype`.
    pub fn classify(&self, rtype: &str) -> TypeClass {
        for (_, prefix, lists) in &self.sets {
            if !rtype.starts_with(prefix.as_str()) {
                continue;
            }
            let hit = |list: &[String]| list.iter().any(|p| glob_match(p, rtype));
            // Exact names win over patterns: check no_data patterns last among equals.
            if lists.stores.iter().any(|p| p == rtype) {
                return TypeClass::Stores;
            }
            if lists.processes.iter().any(|p| p == rtype) {
                return TypeClass::Processes;
            }
            if lists.no_data.iter().any(|p| p == rtype) {
                return TypeClass::NoData;
            }
            if hit(&lists.no_data) {
                return TypeClass::NoData;
            }
            if hit(&lists.stores) {
                return TypeClass::Stores;
            }
            if hit(&lists.processes) {
                return TypeClass::Processes;
            }
        }
        TypeClass::Unknown
    }
}

/// Catalogue provider id for a resource type.
pub fn provider_of(rtype: &str) -> Option<&'static str> {
    let prefix = rtype.split('_').next().unwrap_or("");
    Some(match prefix {
        "aws" => "aws",
        "azurerm" => "azure",
        "google" => "gcp",
        "hcloud" => "hetzner",
        "ovh" | "openstack" => "ovh",
        "scaleway" => "scaleway",
        "digitalocean" => "digitalocean",
        "oci" => "oci",
        "ionoscloud" => "ionos",
        "upcloud" => "upcloud",
        "exoscale" => "exoscale",
        "stackit" => "stackit",
        "opentelekomcloud" => "open_telekom_cloud",
        "linode" => "linode",
        "vultr" => "vultr",
        "alicloud" => "alibaba",
        "ibm" => "ibm",
        _ => return None,
    })
}

/// Options for turning a plan into assets.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Keep only resources being created or updated.
    pub changed_only: bool,
    /// Classification per type pattern from the policy (`none`, `personal`, `special`, `stores`, `processes`).
    pub type_overrides: BTreeMap<String, String>,
}

/// A resource the scan looked at, for per-resource reports (JUnit).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CheckedResource {
    /// Address.
    pub address: String,
    /// Type.
    pub rtype: String,
    /// Class.
    pub class: TypeClass,
    /// Why it was not evaluated, if it was not (`deleted`, `unchanged`, `holds no data`, `data source`).
    pub skipped: Option<String>,
}

/// The assets of a plan and what was looked at.
#[derive(Debug, Clone, Default)]
pub struct PlanResult {
    /// Assets for the engine.
    pub assets: Vec<Asset>,
    /// Every managed resource, evaluated or skipped.
    pub checked: Vec<CheckedResource>,
}

struct Ctx<'a> {
    plan: &'a PlanSummary,
    knowledge: &'a Knowledge,
    resolver: &'a Resolver<'a>,
    /// Full config address -> (provider key, argument names set).
    config: HashMap<String, (Option<String>, &'a BTreeSet<String>)>,
}

fn index_config<'a>(
    module: &'a ConfigModule,
    prefix: &str,
    out: &mut HashMap<String, (Option<String>, &'a BTreeSet<String>)>,
) {
    for r in &module.resources {
        out.insert(
            format!("{prefix}{}", r.address),
            (r.provider_config_key.clone(), &r.expressions),
        );
    }
    for (name, call) in &module.module_calls {
        index_config(&call.module, &format!("{prefix}module.{name}."), out);
    }
}

impl Ctx<'_> {
    /// The module call at `path` (`module.a.module.b`).
    fn module_call(&self, path: &str) -> Option<&super::parse::ModuleCall> {
        let mut module = &self.plan.configuration.root_module;
        let mut call = None;
        for name in path.split('.').filter(|s| *s != "module" && !s.is_empty()) {
            let c = module.module_calls.get(name)?;
            module = &c.module;
            call = Some(c);
        }
        call
    }

    /// Resolves an expression in `module` (empty = root) to a string.
    fn expr(&self, expr: &Value, module: &str, depth: usize) -> Result<(String, String), String> {
        if depth > 16 {
            return Err("variable chain too deep".into());
        }
        if let Some(c) = expr.get("constant_value") {
            return match c.as_str() {
                Some(s) => Ok((s.to_string(), format!("\"{s}\""))),
                None => Err(format!("constant `{c}` is not a string")),
            };
        }
        let refs: Vec<&str> = expr
            .get("references")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let Some(var) = refs.iter().find_map(|r| r.strip_prefix("var.")) else {
            return Err(match refs.first() {
                Some(r) => format!("`{r}` is not known before apply"),
                None => "the value is computed at apply time".into(),
            });
        };
        let var = var.split('.').next().unwrap_or(var);
        if module.is_empty() {
            return match self.plan.variables.get(var) {
                Some(Value::String(s)) => Ok((s.clone(), format!("var.{var} = \"{s}\""))),
                Some(Value::Null) | None => Err(format!("var.{var} has no value in the plan")),
                Some(other) => Err(format!("var.{var} = {other} is not a string")),
            };
        }
        let call = self
            .module_call(module)
            .ok_or_else(|| format!("module call `{module}` is not in the configuration"))?;
        let arg = call.expressions.get(var).ok_or_else(|| {
            format!("{module} is called without `{var}` (its default is not in the plan)")
        })?;
        let parent = module.rsplit_once(".module.").map_or("", |(p, _)| p);
        let (value, how) = self.expr(arg, parent, depth + 1)?;
        Ok((value, format!("{module}: var.{var} = {how}")))
    }

    /// The region set by the provider configuration `key`.
    fn provider_region(&self, key: &str) -> Result<(String, String), String> {
        let pc = self.plan.configuration.provider_config.get(key).ok_or_else(|| {
            format!("provider configuration `{key}` is not in the plan: its region comes from the environment at apply time")
        })?;
        for attr in ["region", "default_region", "zone"] {
            if let Some(expr) = pc.expressions.get(attr) {
                let module = pc.module_address.as_deref().unwrap_or("");
                return self
                    .expr(expr, module, 0)
                    .map(|(v, how)| (v, format!("provider `{key}`: {attr} = {how}")))
                    .map_err(|why| format!("provider `{key}` {attr}: {why}"));
            }
        }
        Err(format!(
            "provider `{key}` sets no region: it comes from the environment (e.g. AWS_REGION, a profile) at apply time"
        ))
    }

    fn claim(provider: &str, region: &str) -> LocationClaim {
        LocationClaim {
            provider: Some(provider.to_string()),
            region: Some(region.to_string()),
            ..LocationClaim::default()
        }
    }

    /// Resolves region values of `provider` into one location (union of countries).
    fn locate(&self, provider: &str, values: &[(String, String)]) -> (Location, Option<Operator>) {
        let mut merged: Option<(Location, Option<Operator>)> = None;
        for (value, how) in values {
            match self.resolver.resolve(&Self::claim(provider, value)) {
                Ok((mut loc, op)) => {
                    loc.source = format!("{how}; {}", loc.source).into();
                    merged = Some(match merged {
                        None => (loc, op),
                        Some((mut acc, op0)) => {
                            if acc.countries.is_empty() || loc.countries.is_empty() {
                                acc.countries.clear();
                                acc.unknown = acc.unknown.or(loc.unknown);
                            } else {
                                for c in loc.countries {
                                    if !acc.countries.contains(&c) {
                                        acc.countries.push(c);
                                    }
                                }
                                acc.countries.sort();
                            }
                            acc.source = format!("{}; {}", acc.source, loc.source).into();
                            (acc, op0)
                        }
                    });
                }
                Err(e) => {
                    let op = self
                        .knowledge
                        .catalogue
                        .provider(provider)
                        .map(|p| p.operator());
                    let hint = e.hint.map(|h| format!(" ({h})")).unwrap_or_default();
                    let mut loc = Location::unknown(
                        format!("{how}: {}{hint}", e.message),
                        format!("region catalogue: {provider}"),
                    );
                    loc.provider = Some(provider.into());
                    return (loc, op);
                }
            }
        }
        merged.unwrap_or_else(|| (Location::unknown("no location value", "plan"), None))
    }

    /// The effective location of a resource.
    fn effective(&self, r: &PlanResource, provider: Option<&str>) -> (Location, Option<Operator>) {
        let Some(provider) = provider else {
            return (
                Location::unknown(
                    format!(
                        "resource type `{}` belongs to a provider the catalogue does not know",
                        r.rtype
                    ),
                    "plan",
                ),
                None,
            );
        };
        let (key, set_args) = match self.config.get(&r.config_address) {
            Some((k, args)) => (k.clone(), Some(*args)),
            None => (None, None),
        };
        if !r.locations.is_empty() {
            let values: Vec<(String, String)> = r
                .locations
                .iter()
                .map(|l| (l.value.clone(), format!("{} = \"{}\"", l.path, l.value)))
                .collect();
            return self.locate(provider, &values);
        }
        if let Some(attr) = &r.unknown_location {
            // Set in configuration but unknown until apply: fail closed. A computed
            // attribute (not set in configuration) mirrors the provider instead.
            if set_args.is_some_and(|a| a.contains(attr)) {
                let mut loc =
                    Location::unknown(format!("`{attr}` is known only after apply"), "plan");
                loc.provider = Some(provider.into());
                return (
                    loc,
                    self.knowledge
                        .catalogue
                        .provider(provider)
                        .map(|p| p.operator()),
                );
            }
        }
        let short = r.rtype.split('_').next().unwrap_or("");
        let key = key.unwrap_or_else(|| {
            if r.module_address.is_empty() {
                short.to_string()
            } else {
                format!("{}:{short}", r.module_address)
            }
        });
        match self.provider_region(&key) {
            Ok((value, how)) => self.locate(provider, &[(value, how)]),
            Err(why) => {
                let mut loc = Location::unknown(why, "plan provider configuration");
                loc.provider = Some(provider.into());
                (
                    loc,
                    self.knowledge
                        .catalogue
                        .provider(provider)
                        .map(|p| p.operator()),
                )
            }
        }
    }
}

fn data_profile(
    r: &PlanResource,
    class: TypeClass,
    overrides: &BTreeMap<String, String>,
) -> Option<DataProfile> {
    let type_override = overrides
        .iter()
        .find(|(p, _)| glob_match(p, &r.rtype))
        .map(|(_, v)| v.as_str());
    let categories = r.categories.clone();
    let tagged = r.classification.as_deref().or(type_override);
    match tagged {
        Some("none") => Some(DataProfile {
            categories: vec!["none".into()],
            declared: true,
            special: false,
            inferred: false,
        }),
        Some("personal") | Some("special") => {
            let cats = categories.unwrap_or_else(|| vec!["user".into()]);
            let special = tagged == Some("special") || cats.iter().any(|c| Taxonomy::is_special(c));
            Some(DataProfile {
                categories: cats,
                declared: true,
                special,
                inferred: false,
            })
        }
        _ => match class {
            TypeClass::NoData => None,
            TypeClass::Stores | TypeClass::Processes => Some(DataProfile {
                special: categories
                    .as_ref()
                    .is_some_and(|c| c.iter().any(|c| Taxonomy::is_special(c))),
                declared: categories.is_some(),
                categories: categories.unwrap_or_default(),
                inferred: false,
            }),
            TypeClass::Unknown => Some(DataProfile {
                declared: categories.is_some(),
                special: false,
                categories: categories.unwrap_or_default(),
                inferred: true,
            }),
        },
    }
}

/// Turns a parsed plan into assets.
pub fn plan_assets(
    plan: &PlanSummary,
    knowledge: &Knowledge,
    resolver: &Resolver<'_>,
    types: &ResourceTypes,
    opts: &PlanOptions,
) -> PlanResult {
    let mut config = HashMap::new();
    index_config(&plan.configuration.root_module, "", &mut config);
    let ctx = Ctx {
        plan,
        knowledge,
        resolver,
        config,
    };
    let mut out = PlanResult::default();
    let mut buckets: HashMap<&str, (Location, Option<Operator>)> = HashMap::new();
    let mut bucket_assets: HashMap<&str, usize> = HashMap::new();
    let mut pending: Vec<(Option<usize>, &PlanResource)> = Vec::new();
    for r in &plan.resources {
        if r.mode == "data" {
            continue;
        }
        let class = match opts
            .type_overrides
            .iter()
            .find(|(p, _)| glob_match(p, &r.rtype))
            .map(|(_, v)| v.as_str())
        {
            Some("stores") => TypeClass::Stores,
            Some("processes") => TypeClass::Processes,
            _ => types.classify(&r.rtype),
        };
        let mut checked = CheckedResource {
            address: r.address.clone(),
            rtype: r.rtype.clone(),
            class,
            skipped: None,
        };
        if r.action == super::Action::Delete {
            checked.skipped = Some("deleted by the plan".into());
            out.checked.push(checked);
            continue;
        }
        if opts.changed_only && !r.action.is_change() {
            checked.skipped = Some("unchanged (--changed-only)".into());
            out.checked.push(checked);
            continue;
        }
        let Some(data) = data_profile(r, class, &opts.type_overrides) else {
            checked.skipped = Some("holds no personal data (resource type)".into());
            out.checked.push(checked);
            if !r.replicas.is_empty() {
                // A configuration that copies another resource's data (S3 replication):
                // its copies are assets, the configuration itself is not.
                pending.push((None, r));
            }
            continue;
        };
        let provider = provider_of(&r.rtype);
        let (location, operator) = ctx.effective(r, provider);
        if let Some(name) = &r.bucket_name {
            buckets.insert(name.as_str(), (location.clone(), operator.clone()));
            bucket_assets.insert(name.as_str(), out.assets.len());
        }
        let role = match (&r.copy_of, class) {
            (Some((_, role)), _) => *role,
            (None, TypeClass::Processes | TypeClass::Unknown) => Role::Processing,
            (None, _) => Role::Primary,
        };
        out.assets.push(Asset {
            id: r.address.clone(),
            name: None,
            kind: Some(r.rtype.clone()),
            role,
            location,
            operator,
            data,
            transfer: None,
            copy_of: r.copy_of.as_ref().map(|(source, role)| CopyOf {
                source: source.clone(),
                role: *role,
            }),
        });
        out.checked.push(checked);
        if !r.replicas.is_empty() {
            pending.push((Some(out.assets.len() - 1), r));
        }
    }
    // Secondary copies, now that every bucket's location is known.
    for (index, r) in pending {
        // The copied data: the resource's own, or the source bucket's for a replication configuration.
        let source_index = index.or_else(|| {
            r.source_bucket
                .as_deref()
                .and_then(|b| bucket_assets.get(b).copied())
        });
        let (source_id, source_data, source_operator) =
            match source_index.and_then(|i| out.assets.get(i)) {
                Some(a) => (a.id.clone(), a.data.clone(), a.operator.clone()),
                None => (
                    r.source_bucket.as_ref().map_or_else(
                        || r.address.clone(),
                        |b| format!("bucket `{b}` (via {})", r.address),
                    ),
                    DataProfile::default(),
                    None,
                ),
            };
        let provider = provider_of(&r.rtype).unwrap_or("");
        for spec in &r.replicas {
            let (label, role, (location, operator)) = match spec {
                ReplicaSpec::Region {
                    path,
                    region,
                    unknown,
                    role,
                } => {
                    let loc = match region {
                        Some(reg) => {
                            ctx.locate(provider, &[(reg.clone(), format!("{path} = \"{reg}\""))])
                        }
                        None => (
                            Location::unknown(
                                unknown.clone().unwrap_or_else(|| "unknown".into()),
                                "plan",
                            ),
                            source_operator.clone(),
                        ),
                    };
                    let label = loc
                        .0
                        .region
                        .as_deref()
                        .map(str::to_string)
                        .or_else(|| region.clone());
                    (
                        format!("{}:{}", role.as_str(), label.as_deref().unwrap_or("?")),
                        *role,
                        loc,
                    )
                }
                ReplicaSpec::Paired { path, of } => {
                    let pair = knowledge.catalogue.paired_region(provider, of);
                    let loc = match &pair {
                        Some(p) => ctx.locate(
                            provider,
                            &[(
                                p.clone(),
                                format!("{path}: paired region of `{of}` is `{p}`"),
                            )],
                        ),
                        None => {
                            let mut l = Location::unknown(
                                format!("{path}: the catalogue knows no paired region for `{of}`, so the geo-redundant copy's location is unknown"),
                                "region catalogue: region pairs",
                            );
                            l.provider = Some(provider.into());
                            (l, source_operator.clone())
                        }
                    };
                    (
                        format!("replica:{}", pair.as_deref().unwrap_or("paired")),
                        Role::Replica,
                        loc,
                    )
                }
                ReplicaSpec::Bucket { path, bucket } => {
                    let loc = match buckets.get(bucket.as_str()) {
                        Some((l, op)) => {
                            let mut l = l.clone();
                            l.source = format!("{path} = `{bucket}`, a bucket in this plan; {}", l.source).into();
                            (l, op.clone())
                        }
                        None => (
                            Location::unknown(
                                format!("{path}: destination bucket `{bucket}` is not in this plan, so its region cannot be checked"),
                                "plan",
                            ),
                            source_operator.clone(),
                        ),
                    };
                    (format!("destination:{bucket}"), Role::Replica, loc)
                }
            };
            out.assets.push(Asset {
                id: format!("{}#{label}", r.address),
                name: None,
                kind: Some(r.rtype.clone()),
                role,
                location,
                operator,
                data: source_data.clone(),
                transfer: None,
                copy_of: Some(CopyOf {
                    source: source_id.clone(),
                    role,
                }),
            });
        }
    }
    out
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn classifies_types() {
        let t = ResourceTypes::embedded().unwrap();
        assert_eq!(t.classify("aws_s3_bucket"), TypeClass::Stores);
        assert_eq!(t.classify("aws_s3_bucket_policy"), TypeClass::NoData);
        assert_eq!(t.classify("aws_iam_role"), TypeClass::NoData);
        assert_eq!(t.classify("aws_elasticache_cluster"), TypeClass::Stores);
        assert_eq!(
            t.classify("aws_elasticache_subnet_group"),
            TypeClass::NoData
        );
        assert_eq!(t.classify("aws_instance"), TypeClass::Processes);
        assert_eq!(t.classify("azurerm_resource_group"), TypeClass::NoData);
        assert_eq!(
            t.classify("google_storage_bucket_iam_member"),
            TypeClass::NoData
        );
        assert_eq!(t.classify("aws_brand_new_service"), TypeClass::Unknown);
        assert_eq!(t.classify("foo_bar"), TypeClass::Unknown);
    }
}
