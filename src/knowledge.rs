//! Knowledge as data: the EEA, adequacy decisions, the provider and region
//! catalogue and the Fides taxonomy, embedded as defaults and replaceable by files.

pub mod countries;
pub mod regions;
pub mod taxonomy;

use crate::engine::{AdequacyDecision, AdequacyScope, Country, LegalKnowledge};
use crate::error::InputError;
use regions::Catalogue;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use taxonomy::Taxonomy;
use time::Date;

/// The embedded EEA list.
pub const EEA_JSON: &str = include_str!("../policies/knowledge/eea.json");
/// The embedded adequacy decisions.
pub const ADEQUACY_JSON: &str = include_str!("../policies/knowledge/adequacy.json");
/// The embedded provider and region catalogue.
pub const PROVIDERS_JSON: &str = include_str!("../geodb/providers.json");

/// Everything the resolver and the engine know, with where it came from.
#[derive(Debug, Clone)]
pub struct Knowledge {
    /// EEA and adequacy.
    pub legal: LegalKnowledge,
    /// Providers and regions.
    pub catalogue: Catalogue,
    /// Fides data categories.
    pub taxonomy: Taxonomy,
    /// Where the adequacy list came from (`embedded` or a path).
    pub adequacy_source: String,
    /// Where the catalogue came from (`embedded`, or `embedded + <path>`).
    pub catalogue_source: String,
}

impl Knowledge {
    /// The embedded defaults.
    pub fn embedded() -> Result<Knowledge, InputError> {
        Knowledge::load(None, None)
    }

    /// The EEA and the adequacy decisions alone (the embedded list, or
    /// `adequacy`), and where the list came from: for commands that need no
    /// provider catalogue.
    pub fn load_legal(adequacy: Option<&Path>) -> Result<(LegalKnowledge, String), InputError> {
        let eea = parse_eea("<embedded eea.json>", EEA_JSON)?;
        let (adequacy_source, adequacy_text) = match adequacy {
            Some(p) => (p.display().to_string(), read(p)?),
            None => ("embedded".to_string(), ADEQUACY_JSON.to_string()),
        };
        let (list_date, decisions) = parse_adequacy(&adequacy_source, &adequacy_text)?;
        let legal = LegalKnowledge {
            list_date,
            eea_version: eea.version,
            eea: eea.members,
            decisions,
        };
        Ok((legal, adequacy_source))
    }

    /// The defaults, with the adequacy list replaced by `adequacy` and the catalogue
    /// extended (per provider, per region) by `providers`.
    pub fn load(
        adequacy: Option<&Path>,
        providers: Option<&Path>,
    ) -> Result<Knowledge, InputError> {
        let (legal, adequacy_source) = Knowledge::load_legal(adequacy)?;
        let mut catalogue = Catalogue::embedded()?;
        let mut catalogue_source = "embedded".to_string();
        if let Some(p) = providers {
            let extra = Catalogue::parse(&p.display().to_string(), &read(p)?)?;
            catalogue.extend(extra);
            catalogue_source = format!("embedded + {}", p.display());
        }
        Ok(Knowledge {
            legal,
            catalogue,
            taxonomy: Taxonomy::embedded(),
            adequacy_source,
            catalogue_source,
        })
    }
}

fn read(p: &Path) -> Result<String, InputError> {
    std::fs::read_to_string(p)
        .map_err(|e| InputError::new(p.display().to_string(), format!("cannot read: {e}")))
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s.trim(), &fmt).ok()
}

fn json_error(file: &str, e: &serde_json::Error) -> InputError {
    InputError::new(file, e.to_string()).at(Some(e.line()), Some(e.column()))
}

struct Eea {
    version: String,
    members: BTreeMap<Country, String>,
}

#[derive(Deserialize)]
struct RawEea {
    version: String,
    members: Vec<RawMember>,
    territories_in_eea: Vec<RawTerritory>,
}

#[derive(Deserialize)]
struct RawMember {
    code: String,
    status: String,
}

#[derive(Deserialize)]
struct RawTerritory {
    code: String,
    part_of: String,
    basis: String,
}

fn parse_eea(file: &str, text: &str) -> Result<Eea, InputError> {
    let raw: RawEea = serde_json::from_str(text).map_err(|e| json_error(file, &e))?;
    let mut members = BTreeMap::new();
    for m in raw.members {
        let c = Country::new(&m.code).ok_or_else(|| {
            InputError::new(file, format!("bad country code `{}`", m.code)).field("members")
        })?;
        members.insert(c, m.status);
    }
    for t in raw.territories_in_eea {
        let c = Country::new(&t.code).ok_or_else(|| {
            InputError::new(file, format!("bad country code `{}`", t.code))
                .field("territories_in_eea")
        })?;
        members.insert(c, format!("part of {} ({})", t.part_of, t.basis));
    }
    Ok(Eea {
        version: raw.version,
        members,
    })
}

#[derive(Deserialize)]
struct RawAdequacy {
    list_date: String,
    decisions: Vec<RawDecision>,
}

#[derive(Deserialize)]
struct RawDecision {
    jurisdiction: String,
    name: String,
    reference: String,
    in_force_from: String,
    expires: Option<String>,
    invalidated: Option<String>,
    scope: String,
    scope_note: String,
    condition: Option<RawCondition>,
    #[serde(default)]
    excluded_categories: Vec<RawExclusion>,
}

#[derive(Deserialize)]
struct RawCondition {
    scheme: String,
    #[serde(default)]
    recipients: Option<String>,
}

#[derive(Deserialize)]
struct RawExclusion {
    category: String,
}

/// Parses an adequacy list in the format of `policies/knowledge/adequacy.json`.
pub fn parse_adequacy(
    file: &str,
    text: &str,
) -> Result<(String, Vec<AdequacyDecision>), InputError> {
    let raw: RawAdequacy = serde_json::from_str(text).map_err(|e| json_error(file, &e))?;
    let mut out = Vec::new();
    for (i, d) in raw.decisions.into_iter().enumerate() {
        let at = |f: &str| format!("decisions[{i}].{f}");
        let date = |f: &str, v: &str| {
            parse_date(v).ok_or_else(|| {
                InputError::new(file, format!("bad date `{v}`, expected YYYY-MM-DD")).field(at(f))
            })
        };
        let jurisdiction = Country::new(&d.jurisdiction).ok_or_else(|| {
            InputError::new(file, format!("bad country code `{}`", d.jurisdiction))
                .field(at("jurisdiction"))
        })?;
        let scope = match d.scope.as_str() {
            "full" => AdequacyScope::Full,
            "partial" => AdequacyScope::Partial,
            "conditional" => AdequacyScope::Conditional,
            other => {
                return Err(InputError::new(
                    file,
                    format!("unknown scope `{other}`, expected `full`, `partial` or `conditional`"),
                )
                .field(at("scope")))
            }
        };
        let (scheme, recipients) = match d.condition {
            Some(c) => (Some(c.scheme), c.recipients),
            None => (None, None),
        };
        if scope == AdequacyScope::Conditional && scheme.is_none() {
            return Err(
                InputError::new(file, "a conditional decision needs `condition.scheme`")
                    .field(at("condition")),
            );
        }
        out.push(AdequacyDecision {
            jurisdiction,
            name: d.name,
            reference: d.reference,
            in_force_from: date("in_force_from", &d.in_force_from)?,
            expires: d
                .expires
                .as_deref()
                .map(|v| date("expires", v))
                .transpose()?,
            invalidated: d
                .invalidated
                .as_deref()
                .map(|v| date("invalidated", v))
                .transpose()?,
            scope,
            scheme,
            recipients,
            excluded_categories: d
                .excluded_categories
                .into_iter()
                .map(|x| x.category)
                .collect(),
            scope_note: d.scope_note,
        });
    }
    Ok((raw.list_date, out))
}
