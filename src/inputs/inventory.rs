//! The inventory format (YAML or JSON): sites, assets with their replicas and
//! backups, and sub-processors with the transfer basis they rely on.
//! Documented in `docs/inventory.md`; strict (`deny_unknown_fields`).

use super::source::find_line;
use super::{Format, InputFile};
use crate::engine::{
    Asset, BasisOrigin, CopyOf, Country, DataProfile, Mechanism, Operator, RecipientCertification,
    Role, TransferBasis,
};
use crate::error::{did_you_mean, InputError};
use crate::knowledge::countries::parse_country;
use crate::knowledge::taxonomy::Taxonomy;
use crate::knowledge::{parse_date, Knowledge};
use crate::locate::{LocationClaim, Resolver, Site};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use time::Date;

/// The inventory format version this build reads.
pub const VERSION: u32 = 1;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInventory {
    version: u32,
    #[serde(default)]
    organisation: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    sites: Vec<RawSite>,
    #[serde(default)]
    assets: Vec<RawAsset>,
    #[serde(default)]
    processors: Vec<RawProcessor>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    id: String,
    #[serde(default)]
    name: Option<String>,
    country: String,
    #[serde(default)]
    city: Option<String>,
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    failure_domain: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLocation {
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    zone: Option<String>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    city: Option<String>,
    #[serde(default)]
    ip: Option<String>,
    #[serde(default)]
    site: Option<String>,
    #[serde(default)]
    failure_domain: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAsset {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    location: Option<RawLocation>,
    #[serde(default)]
    data_categories: Option<Vec<String>>,
    #[serde(default)]
    replicas: Vec<String>,
    #[serde(default)]
    backups: Vec<String>,
    #[serde(default)]
    transfer: Option<RawTransfer>,
    #[serde(default)]
    operator: Option<String>,
    #[serde(default)]
    notes: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProcessor {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    vendor: Option<String>,
    #[serde(default)]
    headquarters: Option<String>,
    #[serde(default)]
    purpose: Option<String>,
    #[serde(default)]
    location: Option<RawLocation>,
    #[serde(default)]
    data_categories: Option<Vec<String>>,
    #[serde(default)]
    transfer: Option<RawTransfer>,
    #[serde(default)]
    notes: Option<String>,
}

/// The `transfer:` block, shared with policy approvals.
#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawTransfer {
    /// `adequacy`, `dpf`, `scc`, `bcr`, `code-of-conduct`, `certification`, `ad-hoc-clauses`, `derogation`.
    pub mechanism: String,
    /// The recipient's certification for conditional adequacy.
    #[serde(default)]
    pub certification: Option<RawCertification>,
    /// SCC module 1-4.
    #[serde(default)]
    pub scc_module: Option<u8>,
    /// TIA reference.
    #[serde(default)]
    pub tia: Option<String>,
    /// Supplementary measures.
    #[serde(default)]
    pub supplementary_measures: Vec<String>,
    /// Art. 49 derogation, e.g. `49(1)(b)`.
    #[serde(default)]
    pub derogation: Option<String>,
    /// Re-assessment date (YYYY-MM-DD).
    #[serde(default)]
    pub expires: Option<String>,
}

/// The recipient's certification.
#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawCertification {
    /// `dpf` or `pipeda`.
    pub scheme: String,
    /// Reference (DPF List entry).
    #[serde(default)]
    pub reference: Option<String>,
    /// Lapse date (YYYY-MM-DD).
    #[serde(default)]
    pub valid_until: Option<String>,
}

/// A parsed, resolved inventory.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// Organisation named in the file(s).
    pub organisation: Option<String>,
    /// Every asset and sub-processor as engine assets.
    pub assets: Vec<Asset>,
}

struct Ctx<'a> {
    file: &'a InputFile,
}

impl Ctx<'_> {
    fn err(
        &self,
        anchor: Option<&str>,
        field: String,
        key: &str,
        value: &str,
        msg: String,
    ) -> InputError {
        let line = find_line(&self.file.text, anchor, key, value);
        InputError::new(&self.file.path, msg)
            .at(line, None)
            .field(field)
    }
}

/// Parses the structure of one file (no resolution yet).
fn parse_raw(file: &InputFile) -> Result<RawInventory, InputError> {
    let result = match file.format {
        Format::InventoryJson => {
            let mut de = serde_json::Deserializer::from_str(&file.text);
            serde_path_to_error::deserialize::<_, RawInventory>(&mut de).map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                structural(
                    file,
                    &path,
                    &inner.to_string(),
                    Some(inner.line()),
                    Some(inner.column()),
                )
            })
        }
        _ => {
            let de = serde_norway::Deserializer::from_str(&file.text);
            serde_path_to_error::deserialize::<_, RawInventory>(de).map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                let loc = inner.location();
                structural(
                    file,
                    &path,
                    &inner.to_string(),
                    loc.as_ref().map(|l| l.line()),
                    loc.as_ref().map(|l| l.column()),
                )
            })
        }
    }?;
    if result.version != VERSION {
        return Err(InputError::new(
            &file.path,
            format!("unsupported inventory version {}", result.version),
        )
        .at(find_line(&file.text, None, "version", ""), None)
        .field("version")
        .hint(format!("this build reads `version: {VERSION}`")));
    }
    Ok(result)
}

fn structural(
    file: &InputFile,
    path: &str,
    message: &str,
    line: Option<usize>,
    col: Option<usize>,
) -> InputError {
    // serde appends " at line X column Y" and may prefix the path; the error shows both itself.
    let path = path.replace(".?", "").replace('?', "");
    let mut msg = message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_string();
    if let Some((head, tail)) = msg.split_once(": ") {
        if !head.is_empty() && path.starts_with(head) {
            msg = tail.to_string();
        }
    }
    for (internal, shown) in [
        (
            "struct RawInventory",
            "an inventory mapping (`version`, `sites`, `assets`, `processors`)",
        ),
        (
            "struct RawAsset",
            "an asset mapping (`id`, `location`, `data_categories`, ...)",
        ),
        (
            "struct RawProcessor",
            "a processor mapping (`id`, `location`, `transfer`, ...)",
        ),
        (
            "struct RawLocation",
            "a location mapping (`provider`, `region`, `country`, `site`, `ip`)",
        ),
        ("struct RawSite", "a site mapping (`id`, `country`, `city`)"),
        (
            "struct RawTransfer",
            "a transfer mapping (`mechanism`, `tia`, ...)",
        ),
        (
            "struct RawCertification",
            "a certification mapping (`scheme`, `reference`, `valid_until`)",
        ),
    ] {
        msg = msg.replace(internal, shown);
    }
    let mut err = InputError::new(&file.path, msg.clone()).at(line, col);
    if !path.is_empty() && path != "." {
        err = err.field(path);
    }
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        if let Some((name, expected)) = rest.split_once("`, expected one of ") {
            let options: Vec<&str> = expected.split(", ").map(|s| s.trim_matches('`')).collect();
            err = err.maybe_hint(
                did_you_mean(name, options.iter().copied())
                    .or_else(|| Some(format!("expected one of {expected}"))),
            );
        }
    } else if msg.starts_with("missing field `version`") {
        err = err.hint(format!("an inventory starts with `version: {VERSION}`"));
    }
    err
}

/// Parses and resolves inventory files into engine assets.
pub fn load(
    files: &[InputFile],
    knowledge: &Knowledge,
    geo: &dyn crate::geo::GeoLookup,
    geo_label: &str,
) -> Result<Inventory, InputError> {
    let mut inv = Inventory::default();
    let mut seen: HashMap<String, String> = HashMap::new();
    for file in files {
        let raw = parse_raw(file)?;
        let _ = (&raw.description,);
        if inv.organisation.is_none() {
            inv.organisation = raw.organisation.clone();
        }
        let assets = build(file, raw, knowledge, geo, geo_label)?;
        for a in &assets {
            if let Some(other) = seen.insert(a.id.clone(), file.path.clone()) {
                return Err(InputError::new(
                    &file.path,
                    format!("duplicate id `{}` (also in {other})", a.id),
                )
                .at(find_line(&file.text, None, "id", &a.id), None)
                .field("id"));
            }
        }
        inv.assets.extend(assets);
    }
    Ok(inv)
}

fn build(
    file: &InputFile,
    raw: RawInventory,
    knowledge: &Knowledge,
    geo: &dyn crate::geo::GeoLookup,
    geo_label: &str,
) -> Result<Vec<Asset>, InputError> {
    let cx = Ctx { file };
    let mut sites = Vec::new();
    for (i, s) in raw.sites.iter().enumerate() {
        let _ = &s.name;
        let country = parse_country(&s.country).map_err(|h| {
            cx.err(
                Some(&s.id),
                format!("sites[{i}].country"),
                "country",
                &s.country,
                format!("bad country code `{}`", s.country),
            )
            .maybe_hint(h)
        })?;
        if let Some(p) = &s.provider {
            if knowledge.catalogue.provider(p).is_none() {
                return Err(cx
                    .err(
                        Some(&s.id),
                        format!("sites[{i}].provider"),
                        "provider",
                        p,
                        format!("unknown provider `{p}`"),
                    )
                    .maybe_hint(knowledge.catalogue.provider_hint(p)));
            }
        }
        sites.push(Site {
            id: s.id.clone(),
            country,
            city: s.city.clone(),
            provider: s.provider.clone(),
            failure_domain: s.failure_domain.clone(),
        });
    }
    let resolver = Resolver::new(knowledge, geo, geo_label).with_sites(sites);
    let mut out: Vec<Asset> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut declared_role: Vec<bool> = Vec::new();
    for (i, a) in raw.assets.iter().enumerate() {
        let at = format!("assets[{i}]");
        check_id(&cx, &a.id, &at)?;
        let role = match a.role.as_deref() {
            None => Role::Primary,
            Some(r) => parse_role(r).ok_or_else(|| {
                cx.err(
                    Some(&a.id),
                    format!("{at}.role"),
                    "role",
                    r,
                    format!("unknown role `{r}`"),
                )
                .maybe_hint(
                    did_you_mean(r, ROLES)
                        .or_else(|| Some(format!("expected one of {}", ROLES.join(", ")))),
                )
            })?,
        };
        if role == Role::SubProcessor {
            return Err(cx.err(
                Some(&a.id),
                format!("{at}.role"),
                "role",
                "sub_processor",
                "sub-processors go under `processors:`".into(),
            ));
        }
        let (location, operator) =
            locate(&cx, &resolver, knowledge, &a.id, &at, a.location.as_ref())?;
        let operator = match &a.operator {
            Some(o) => Some(vendor(
                &cx,
                knowledge,
                &a.id,
                &format!("{at}.operator"),
                "operator",
                o,
            )?),
            None => operator,
        };
        let data = data_profile(&cx, knowledge, &a.id, &at, a.data_categories.as_deref())?;
        let transfer = a
            .transfer
            .as_ref()
            .map(|t| {
                transfer_basis(
                    &file.path,
                    &file.text,
                    Some(&a.id),
                    &format!("{at}.transfer"),
                    t,
                )
            })
            .transpose()?;
        let _ = (&a.notes,);
        if index.contains_key(&a.id) {
            return Err(duplicate(&cx, &a.id, &format!("{at}.id")));
        }
        index.insert(a.id.clone(), out.len());
        declared_role.push(a.role.is_some());
        out.push(Asset {
            id: a.id.clone(),
            name: a.name.clone(),
            kind: a.kind.clone(),
            role,
            location,
            operator,
            data,
            transfer,
            copy_of: None,
        });
    }
    // Replicas and backups: link both ends, inherit data categories.
    for (i, a) in raw.assets.iter().enumerate() {
        for (list, role, key) in [
            (&a.replicas, Role::Replica, "replicas"),
            (&a.backups, Role::Backup, "backups"),
        ] {
            for (j, target) in list.iter().enumerate() {
                let field = format!("assets[{i}].{key}[{j}]");
                if target == &a.id {
                    return Err(cx.err(
                        Some(&a.id),
                        field,
                        key,
                        target,
                        format!("`{target}` cannot be its own {}", role.as_str()),
                    ));
                }
                let Some(&t) = index.get(target) else {
                    return Err(cx
                        .err(Some(&a.id), field, key, target, format!("`{target}` is not a declared asset"))
                        .maybe_hint(did_you_mean(target, index.keys().map(String::as_str)).or_else(|| {
                            Some("declare the replica or backup as an asset of its own, with its location".into())
                        })));
                };
                let source_data = out
                    .get(index.get(&a.id).copied().unwrap_or(usize::MAX))
                    .map(|s| s.data.clone());
                if let Some(copy) = out.get_mut(t) {
                    if copy.copy_of.is_none() {
                        copy.copy_of = Some(CopyOf {
                            source: a.id.clone(),
                            role,
                        });
                    }
                    if !declared_role.get(t).copied().unwrap_or(true) {
                        copy.role = role;
                    }
                    if !copy.data.declared {
                        if let Some(d) = source_data {
                            copy.data = d;
                        }
                    }
                }
            }
        }
    }
    for (i, p) in raw.processors.iter().enumerate() {
        let at = format!("processors[{i}]");
        check_id(&cx, &p.id, &at)?;
        if index.contains_key(&p.id) {
            return Err(cx.err(
                None,
                format!("{at}.id"),
                "id",
                &p.id,
                format!("duplicate id `{}`", p.id),
            ));
        }
        let (location, _) = locate(&cx, &resolver, knowledge, &p.id, &at, p.location.as_ref())?;
        let operator = match (&p.vendor, &p.headquarters) {
            (Some(v), _) => Some(vendor(
                &cx,
                knowledge,
                &p.id,
                &format!("{at}.vendor"),
                "vendor",
                v,
            )?),
            (None, Some(hq)) => {
                let c = parse_country(hq).map_err(|h| {
                    cx.err(
                        Some(&p.id),
                        format!("{at}.headquarters"),
                        "headquarters",
                        hq,
                        format!("bad country code `{hq}`"),
                    )
                    .maybe_hint(h)
                })?;
                Some(Operator {
                    id: p.id.as_str().into(),
                    name: p.name.as_deref().unwrap_or(&p.id).into(),
                    headquarters: c,
                    eu_headquartered: knowledge.legal.is_eea(c),
                    foreign_access_laws: foreign_access_laws(c).into(),
                })
            }
            (None, None) => None,
        };
        let data = data_profile(&cx, knowledge, &p.id, &at, p.data_categories.as_deref())?;
        let transfer = p
            .transfer
            .as_ref()
            .map(|t| {
                transfer_basis(
                    &file.path,
                    &file.text,
                    Some(&p.id),
                    &format!("{at}.transfer"),
                    t,
                )
            })
            .transpose()?;
        let _ = (&p.purpose, &p.notes);
        index.insert(p.id.clone(), out.len());
        out.push(Asset {
            id: p.id.clone(),
            name: p.name.clone(),
            kind: Some("sub-processor".into()),
            role: Role::SubProcessor,
            location,
            operator,
            data,
            transfer,
            copy_of: None,
        });
    }
    Ok(out)
}

fn duplicate(cx: &Ctx<'_>, id: &str, field: &str) -> InputError {
    let line = super::source::find_nth_line(&cx.file.text, "id", id, 2);
    InputError::new(
        &cx.file.path,
        format!("duplicate id `{id}`: ids must be unique across assets and processors"),
    )
    .at(line, None)
    .field(field)
}

const ROLES: [&str; 6] = [
    "primary",
    "replica",
    "backup",
    "cache",
    "log_sink",
    "processing",
];

fn parse_role(s: &str) -> Option<Role> {
    Some(match s.replace('-', "_").as_str() {
        "primary" => Role::Primary,
        "replica" => Role::Replica,
        "backup" => Role::Backup,
        "cache" => Role::Cache,
        "log_sink" => Role::LogSink,
        "processing" => Role::Processing,
        "sub_processor" => Role::SubProcessor,
        _ => return None,
    })
}

fn check_id(cx: &Ctx<'_>, id: &str, at: &str) -> Result<(), InputError> {
    if id.trim().is_empty() {
        return Err(cx.err(None, format!("{at}.id"), "id", "", "empty id".into()));
    }
    if id.chars().any(|c| c.is_control()) {
        return Err(cx.err(
            None,
            format!("{at}.id"),
            "id",
            "",
            "the id contains control characters".into(),
        ));
    }
    Ok(())
}

/// Laws that reach data held by companies headquartered in `c`, wherever it sits.
pub fn foreign_access_laws(c: Country) -> Vec<String> {
    match c.as_str() {
        "US" => vec![
            "US CLOUD Act (18 U.S.C. 2713)".into(),
            "US FISA section 702 (50 U.S.C. 1881a)".into(),
        ],
        "CN" => vec!["PRC National Intelligence Law 2017 (unverified)".into()],
        _ => Vec::new(),
    }
}

fn vendor(
    cx: &Ctx<'_>,
    k: &Knowledge,
    id: &str,
    field: &str,
    key: &str,
    name: &str,
) -> Result<Operator, InputError> {
    k.catalogue
        .provider(name)
        .map(|p| p.operator())
        .ok_or_else(|| {
            cx.err(
                Some(id),
                field.to_string(),
                key,
                name,
                format!("unknown provider or vendor `{name}`"),
            )
            .maybe_hint(k.catalogue.provider_hint(name).or_else(|| {
                Some(
                    "use `headquarters: <country>` for a vendor the catalogue does not know".into(),
                )
            }))
        })
}

fn locate(
    cx: &Ctx<'_>,
    resolver: &Resolver<'_>,
    knowledge: &Knowledge,
    id: &str,
    at: &str,
    raw: Option<&RawLocation>,
) -> Result<(crate::engine::Location, Option<Operator>), InputError> {
    let empty = RawLocation::default();
    let raw = raw.unwrap_or(&empty);
    let country = match &raw.country {
        Some(c) => Some(parse_country(c).map_err(|h| {
            cx.err(
                Some(id),
                format!("{at}.location.country"),
                "country",
                c,
                format!("bad country code `{c}`"),
            )
            .maybe_hint(h)
        })?),
        None => None,
    };
    let ip = match &raw.ip {
        Some(s) => Some(s.trim().parse::<IpAddr>().map_err(|_| {
            cx.err(
                Some(id),
                format!("{at}.location.ip"),
                "ip",
                s,
                format!("`{s}` is not an IP address"),
            )
            .hint("write one IPv4 or IPv6 address, e.g. `51.68.10.5`")
        })?),
        None => None,
    };
    if raw.region.is_some() && raw.zone.is_some() {
        return Err(cx.err(
            Some(id),
            format!("{at}.location.zone"),
            "zone",
            "",
            "give `region` or `zone`, not both".into(),
        ));
    }
    let claim = LocationClaim {
        provider: raw.provider.clone(),
        region: raw.region.clone().or_else(|| raw.zone.clone()),
        country,
        city: raw.city.clone(),
        ip,
        site: raw.site.clone(),
        failure_domain: raw.failure_domain.clone(),
    };
    let _ = knowledge;
    resolver.resolve(&claim).map_err(|e| {
        let key = if e.field == "region" && raw.region.is_none() {
            "zone"
        } else {
            e.field
        };
        cx.err(
            Some(id),
            format!("{at}.location.{key}"),
            key,
            &e.value,
            e.message,
        )
        .maybe_hint(e.hint)
    })
}

fn data_profile(
    cx: &Ctx<'_>,
    knowledge: &Knowledge,
    id: &str,
    at: &str,
    cats: Option<&[String]>,
) -> Result<DataProfile, InputError> {
    let Some(cats) = cats else {
        return Ok(DataProfile::default());
    };
    for (j, c) in cats.iter().enumerate() {
        if !(knowledge.taxonomy.contains(c) || c.starts_with("custom.")) {
            return Err(cx
                .err(Some(id), format!("{at}.data_categories[{j}]"), "data_categories", c, format!("unknown data category `{c}`"))
                .maybe_hint(did_you_mean(c, knowledge.taxonomy.keys()).or_else(|| {
                    Some("use a Fides key such as `user.contact.email`, `none`, or your own `custom.<name>`".into())
                })));
        }
        if c == "none" && cats.len() > 1 {
            return Err(cx.err(
                Some(id),
                format!("{at}.data_categories"),
                "data_categories",
                c,
                "`none` cannot be combined with other categories".into(),
            ));
        }
    }
    Ok(DataProfile {
        categories: cats.to_vec(),
        declared: true,
        special: cats.iter().any(|c| Taxonomy::is_special(c)),
        inferred: false,
    })
}

/// Turns a raw `transfer:` block into a basis, naming the field on error.
pub fn transfer_basis(
    file: &str,
    text: &str,
    anchor: Option<&str>,
    at: &str,
    t: &RawTransfer,
) -> Result<TransferBasis, InputError> {
    let err = |key: &str, value: &str, msg: String| {
        InputError::new(file, msg)
            .at(find_line(text, anchor, key, value), None)
            .field(format!("{at}.{key}"))
    };
    let names: Vec<&str> = Mechanism::ALL.iter().map(|m| m.as_str()).collect();
    let mechanism = Mechanism::parse(t.mechanism.trim()).ok_or_else(|| {
        err(
            "mechanism",
            &t.mechanism,
            format!("unknown transfer mechanism `{}`", t.mechanism),
        )
        .maybe_hint(
            did_you_mean(&t.mechanism, names.iter().copied())
                .or_else(|| Some(format!("expected one of {}", names.join(", ")))),
        )
    })?;
    let date = |key: &str, v: &str| -> Result<Date, InputError> {
        parse_date(v).ok_or_else(|| err(key, v, format!("bad date `{v}`, expected YYYY-MM-DD")))
    };
    if let Some(m) = t.scc_module {
        if !(1..=4).contains(&m) {
            return Err(err("scc_module", &m.to_string(), format!("SCC module {m} does not exist"))
                .hint("modules are 1 (controller to controller), 2 (controller to processor), 3 (processor to processor), 4 (processor to controller)"));
        }
        if mechanism != Mechanism::Scc {
            return Err(err(
                "scc_module",
                &m.to_string(),
                format!(
                    "`scc_module` needs `mechanism: scc`, not `{}`",
                    mechanism.as_str()
                ),
            ));
        }
    }
    if mechanism == Mechanism::Derogation && t.derogation.is_none() {
        return Err(err(
            "mechanism",
            "derogation",
            "a derogation needs `derogation:` naming the Art. 49 ground, e.g. `49(1)(b)`".into(),
        ));
    }
    let certification = match &t.certification {
        Some(c) => {
            let scheme = c.scheme.trim().to_ascii_lowercase();
            if !matches!(scheme.as_str(), "dpf" | "pipeda") {
                return Err(err(
                    "scheme",
                    &c.scheme,
                    format!("unknown certification scheme `{}`", c.scheme),
                )
                .hint("expected `dpf` (EU-US Data Privacy Framework) or `pipeda` (Canada)"));
            }
            Some(RecipientCertification {
                scheme,
                reference: c.reference.clone(),
                valid_until: c
                    .valid_until
                    .as_deref()
                    .map(|v| date("valid_until", v))
                    .transpose()?,
            })
        }
        None => None,
    };
    Ok(TransferBasis {
        mechanism,
        certification,
        scc_module: t.scc_module,
        tia: t.tia.clone().filter(|s| !s.trim().is_empty()),
        supplementary_measures: t.supplementary_measures.clone(),
        derogation: t.derogation.clone(),
        expires: t
            .expires
            .as_deref()
            .map(|v| date("expires", v))
            .transpose()?,
        origin: BasisOrigin::Inventory,
    })
}
