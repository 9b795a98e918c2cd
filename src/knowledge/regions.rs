//! The provider and region catalogue: region and zone codes to country and city,
//! provider headquarters and the laws they answer to.
//!
//! Lookups normalise case and spaces (`West Europe` = `westeurope`), then try,
//! in order: the exact region, a multi-region (`EU`, `EUR4`, `aws-global`), the
//! provider's zone rules (`eu-central-1a`, `europe-west3-b`, `eastus2-1`,
//! `fsn1-dc14`, `fr-par-2`, `Uocm:EU-FRANKFURT-1-AD-1`), then prefix rules (OVH).

use crate::engine::{Country, Operator};
use crate::error::{did_you_mean, InputError};
use crate::knowledge::countries::parse_country;
use serde::Deserialize;
use std::collections::BTreeMap;

/// One region of one provider.
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    /// Canonical code as the provider writes it.
    pub code: String,
    /// Country; `None` when the catalogue could not confirm it.
    pub country: Option<Country>,
    /// City.
    pub city: Option<String>,
    /// Provider's display name (`Europe (Frankfurt)`, `West Europe`).
    pub label: Option<String>,
    /// Whether the country was read from a cited source.
    pub verified: bool,
    /// Caveats.
    pub note: Option<String>,
}

/// A location that spans several countries (GCS `EU`, dual-regions, logical geographies).
#[derive(Debug, Clone, PartialEq)]
pub struct MultiRegion {
    /// Canonical code.
    pub code: String,
    /// The countries it may use; `None` when unknown or not a data location.
    pub countries: Option<Vec<Country>>,
    /// What it is.
    pub scope: String,
    /// Caveats.
    pub note: Option<String>,
    /// Whether the composition was read from a cited source.
    pub verified: bool,
}

/// A prefix rule (OVH: `GRA*` is Gravelines, France).
#[derive(Debug, Clone, PartialEq)]
pub struct PrefixRule {
    /// Upper-case prefix.
    pub prefix: String,
    /// Country.
    pub country: Country,
    /// City.
    pub city: Option<String>,
}

/// A provider or SaaS vendor.
#[derive(Debug, Clone, PartialEq)]
pub struct Provider {
    /// Catalogue id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Other names accepted in inputs.
    pub aliases: Vec<String>,
    /// Headquarters country of the parent.
    pub headquarters: Country,
    /// Parent entity.
    pub entity: Option<String>,
    /// Whether the headquarters fact was verified.
    pub headquarters_verified: bool,
    /// Headquartered in the EEA.
    pub eu_headquartered: bool,
    /// Laws that reach data wherever it sits.
    pub foreign_access_laws: Vec<String>,
    /// Where the region data came from.
    pub source: Option<String>,
    /// Zone-to-region rules, by name.
    pub zone_rules: Vec<String>,
    /// Regions by normalised key.
    pub regions: BTreeMap<String, Region>,
    /// Multi-regions by normalised key.
    pub multi_regions: BTreeMap<String, MultiRegion>,
    /// Prefix rules.
    pub prefix_rules: Vec<PrefixRule>,
    /// Paired regions (geo-redundant copies), by normalised key.
    pub region_pairs: BTreeMap<String, String>,
}

impl Provider {
    /// The operator value the engine sees.
    pub fn operator(&self) -> Operator {
        Operator {
            id: self.id.as_str().into(),
            name: self.name.as_str().into(),
            headquarters: self.headquarters,
            eu_headquartered: self.eu_headquartered,
            foreign_access_laws: self.foreign_access_laws.clone().into(),
        }
    }
}

/// What a region string resolved to.
#[derive(Debug, Clone, PartialEq)]
pub enum RegionMatch<'a> {
    /// A single region, possibly reached through a zone rule (`via` names it).
    Region {
        /// The region.
        region: &'a Region,
        /// The zone rule used, e.g. `zone eu-central-1a`.
        via: Option<String>,
    },
    /// A multi-region.
    Multi(&'a MultiRegion),
    /// A prefix rule.
    Prefix(&'a PrefixRule),
}

/// The whole catalogue.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    /// Catalogue version (compilation date).
    pub version: String,
    /// Providers by id.
    pub providers: BTreeMap<String, Provider>,
    /// Normalised id or alias -> provider id.
    names: std::collections::HashMap<String, String>,
}

fn name_key(s: &str) -> String {
    key(s).replace('_', "-")
}

/// Normalised lookup key: lower case, no spaces or underscores between words.
pub fn key(s: &str) -> String {
    s.trim()
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

#[derive(Deserialize)]
struct RawCatalogue {
    catalogue_version: String,
    providers: BTreeMap<String, RawProvider>,
}

#[derive(Deserialize)]
struct RawProvider {
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    headquarters: RawHq,
    eu_headquartered: bool,
    #[serde(default)]
    foreign_access_laws: Vec<String>,
    source: Option<String>,
    #[serde(default)]
    zone_rules: Vec<String>,
    #[serde(default)]
    regions: BTreeMap<String, RawRegion>,
    #[serde(default)]
    multi_regions: BTreeMap<String, RawMulti>,
    #[serde(default)]
    prefix_rules: Vec<RawPrefix>,
    #[serde(default)]
    region_pairs: Option<RawPairs>,
}

#[derive(Deserialize)]
struct RawPairs {
    #[serde(default)]
    pairs: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RawHq {
    country: String,
    entity: Option<String>,
    #[serde(default)]
    verified: bool,
}

#[derive(Deserialize)]
struct RawRegion {
    country: Option<String>,
    city: Option<String>,
    label: Option<String>,
    #[serde(default)]
    verified: bool,
    note: Option<String>,
}

#[derive(Deserialize)]
struct RawMulti {
    countries: Option<Vec<String>>,
    #[serde(default)]
    scope: String,
    note: Option<String>,
    #[serde(default)]
    verified: bool,
}

#[derive(Deserialize)]
struct RawPrefix {
    prefix: String,
    country: String,
    city: Option<String>,
}

const ZONE_RULES: [&str; 7] = [
    "letter-suffix",
    "dash-letter-suffix",
    "dash-number-suffix",
    "datacenter-suffix",
    "region-prefix",
    "oci-availability-domain",
    "ovh-prefix",
];

impl Catalogue {
    /// The embedded catalogue (`geodb/providers.json`).
    pub fn embedded() -> Result<Catalogue, InputError> {
        Catalogue::parse(
            "<embedded providers.json>",
            crate::knowledge::PROVIDERS_JSON,
        )
    }

    /// Parses a catalogue in the format of `geodb/providers.json`.
    pub fn parse(file: &str, text: &str) -> Result<Catalogue, InputError> {
        let raw: RawCatalogue = serde_json::from_str(text).map_err(|e| {
            InputError::new(file, e.to_string()).at(Some(e.line()), Some(e.column()))
        })?;
        let country = |field: String, v: &str| {
            parse_country(v).map_err(|h| {
                InputError::new(file, format!("bad country code `{v}`"))
                    .field(field)
                    .maybe_hint(h)
            })
        };
        let mut providers = BTreeMap::new();
        for (id, p) in raw.providers {
            let mut regions = BTreeMap::new();
            for (code, r) in p.regions {
                let c = match r.country.as_deref() {
                    Some(v) => Some(country(
                        format!("providers.{id}.regions.{code}.country"),
                        v,
                    )?),
                    None => None,
                };
                regions.insert(
                    key(&code),
                    Region {
                        code,
                        country: c,
                        city: r.city,
                        label: r.label,
                        verified: r.verified,
                        note: r.note,
                    },
                );
            }
            let mut multi = BTreeMap::new();
            for (code, m) in p.multi_regions {
                let countries = match m.countries {
                    Some(list) => Some(
                        list.iter()
                            .map(|v| {
                                country(format!("providers.{id}.multi_regions.{code}.countries"), v)
                            })
                            .collect::<Result<Vec<_>, _>>()?,
                    ),
                    None => None,
                };
                multi.insert(
                    key(&code),
                    MultiRegion {
                        code,
                        countries,
                        scope: m.scope,
                        note: m.note,
                        verified: m.verified,
                    },
                );
            }
            let mut prefix_rules = Vec::new();
            for r in p.prefix_rules {
                prefix_rules.push(PrefixRule {
                    country: country(format!("providers.{id}.prefix_rules"), &r.country)?,
                    prefix: r.prefix.to_ascii_uppercase(),
                    city: r.city,
                });
            }
            for rule in &p.zone_rules {
                if !ZONE_RULES.contains(&rule.as_str()) {
                    return Err(InputError::new(file, format!("unknown zone rule `{rule}`"))
                        .field(format!("providers.{id}.zone_rules"))
                        .maybe_hint(did_you_mean(rule, ZONE_RULES)));
                }
            }
            providers.insert(
                id.clone(),
                Provider {
                    headquarters: country(
                        format!("providers.{id}.headquarters.country"),
                        &p.headquarters.country,
                    )?,
                    id,
                    name: p.name,
                    aliases: p.aliases,
                    entity: p.headquarters.entity,
                    headquarters_verified: p.headquarters.verified,
                    eu_headquartered: p.eu_headquartered,
                    foreign_access_laws: p.foreign_access_laws,
                    source: p.source,
                    zone_rules: p.zone_rules,
                    regions,
                    multi_regions: multi,
                    prefix_rules,
                    region_pairs: p
                        .region_pairs
                        .map(|r| r.pairs.into_iter().map(|(k, v)| (key(&k), v)).collect())
                        .unwrap_or_default(),
                },
            );
        }
        let mut cat = Catalogue {
            version: raw.catalogue_version,
            providers,
            names: std::collections::HashMap::new(),
        };
        cat.reindex();
        Ok(cat)
    }

    fn reindex(&mut self) {
        self.names.clear();
        for p in self.providers.values() {
            for a in &p.aliases {
                self.names.insert(name_key(a), p.id.clone());
            }
        }
        // Ids win over aliases.
        for p in self.providers.values() {
            self.names.insert(name_key(&p.id), p.id.clone());
        }
    }

    /// Adds or replaces providers and regions from `other`.
    pub fn extend(&mut self, other: Catalogue) {
        for (id, p) in other.providers {
            match self.providers.get_mut(&id) {
                Some(mine) => {
                    mine.regions.extend(p.regions);
                    mine.multi_regions.extend(p.multi_regions);
                    mine.prefix_rules.extend(p.prefix_rules);
                    mine.region_pairs.extend(p.region_pairs);
                    for r in p.zone_rules {
                        if !mine.zone_rules.contains(&r) {
                            mine.zone_rules.push(r);
                        }
                    }
                }
                None => {
                    self.providers.insert(id, p);
                }
            }
        }
        self.version = format!("{} + {}", self.version, other.version);
        self.reindex();
    }

    /// Finds a provider by id or alias (any case).
    pub fn provider(&self, name: &str) -> Option<&Provider> {
        self.names
            .get(&name_key(name))
            .and_then(|id| self.providers.get(id))
    }

    /// The paired region of `region` (Azure geo-redundant storage), if the catalogue knows one.
    pub fn paired_region(&self, provider: &str, region: &str) -> Option<String> {
        self.provider(provider)?
            .region_pairs
            .get(&key(region))
            .cloned()
    }

    /// "did you mean" for an unknown provider.
    pub fn provider_hint(&self, name: &str) -> Option<String> {
        let names: Vec<&str> = self
            .providers
            .values()
            .flat_map(|p| {
                std::iter::once(p.id.as_str()).chain(p.aliases.iter().map(String::as_str))
            })
            .collect();
        did_you_mean(name, names)
    }

    /// Resolves a region, zone or multi-region string of `provider`.
    pub fn resolve<'a>(&self, provider: &'a Provider, input: &str) -> Option<RegionMatch<'a>> {
        let k = key(input);
        if let Some(r) = provider.regions.get(&k) {
            return Some(RegionMatch::Region {
                region: r,
                via: None,
            });
        }
        if let Some(m) = provider.multi_regions.get(&k) {
            return Some(RegionMatch::Multi(m));
        }
        for rule in &provider.zone_rules {
            if let Some(base) = apply_zone_rule(rule, &k, provider) {
                if let Some(r) = provider.regions.get(&base) {
                    return Some(RegionMatch::Region {
                        region: r,
                        via: Some(format!("zone `{}` is in region `{}`", input.trim(), r.code)),
                    });
                }
            }
        }
        let upper = input.trim().to_ascii_uppercase();
        provider
            .prefix_rules
            .iter()
            .filter(|r| upper.starts_with(&r.prefix))
            .max_by_key(|r| r.prefix.len())
            .map(RegionMatch::Prefix)
    }

    /// "did you mean" for an unknown region of `provider`.
    pub fn region_hint(&self, provider: &Provider, input: &str) -> Option<String> {
        let k = key(input);
        let mut best: Option<(f64, &str)> = None;
        let codes = provider
            .regions
            .iter()
            .map(|(k, r)| (k.as_str(), r.code.as_str()))
            .chain(
                provider
                    .multi_regions
                    .iter()
                    .map(|(k, m)| (k.as_str(), m.code.as_str())),
            )
            .chain(
                provider
                    .regions
                    .values()
                    .filter_map(|r| r.label.as_deref().map(|l| (l, r.code.as_str()))),
            );
        for (cand, code) in codes {
            let s = strsim::jaro_winkler(&k, &key(cand));
            if best.is_none_or(|(b, _)| s > b) {
                best = Some((s, code));
            }
        }
        match best {
            Some((s, code)) if s >= 0.8 => Some(format!("did you mean `{code}`?")),
            _ => {
                let mut all: Vec<&str> =
                    provider.regions.values().map(|r| r.code.as_str()).collect();
                all.truncate(6);
                Some(format!(
                    "known {} regions include {}",
                    provider.id,
                    all.join(", ")
                ))
            }
        }
    }

    /// Every (provider, region) pair, for listings and tests.
    pub fn all_regions(&self) -> impl Iterator<Item = (&Provider, &Region)> {
        self.providers
            .values()
            .flat_map(|p| p.regions.values().map(move |r| (p, r)))
    }
}

fn apply_zone_rule(rule: &str, k: &str, provider: &Provider) -> Option<String> {
    match rule {
        // eu-central-1a -> eu-central-1
        "letter-suffix" => {
            let mut chars = k.chars().rev();
            let last = chars.next()?;
            let prev = chars.next()?;
            (last.is_ascii_alphabetic() && prev.is_ascii_digit())
                .then(|| k.get(..k.len() - 1).map(str::to_string))?
        }
        // europe-west3-b -> europe-west3
        "dash-letter-suffix" => {
            let (base, tail) = k.rsplit_once('-')?;
            (tail.len() == 1 && tail.chars().all(|c| c.is_ascii_alphabetic()))
                .then(|| base.to_string())
        }
        // eastus2-1, fr-par-2, eu-de-01 -> eastus2, fr-par, eu-de
        "dash-number-suffix" => {
            let (base, tail) = k.rsplit_once('-')?;
            (!tail.is_empty() && tail.chars().all(|c| c.is_ascii_digit())).then(|| base.to_string())
        }
        // fsn1-dc14 -> fsn1
        "datacenter-suffix" => k.split_once("-dc").map(|(base, _)| base.to_string()),
        // us-east-1-bos-1a (local zone) -> us-east-1
        "region-prefix" => provider
            .regions
            .keys()
            .filter(|r| k.starts_with(r.as_str()) && k.as_bytes().get(r.len()) == Some(&b'-'))
            .max_by_key(|r| r.len())
            .cloned(),
        // uocm:eu-frankfurt-1-ad-1 -> eu-frankfurt-1
        "oci-availability-domain" => {
            let tail = k.rsplit_once(':').map_or(k, |(_, t)| t);
            let base = tail.rsplit_once("-ad-").map_or(tail, |(b, _)| b);
            Some(base.to_string())
        }
        _ => None,
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::knowledge::PROVIDERS_JSON;

    fn cat() -> Catalogue {
        Catalogue::parse("providers.json", PROVIDERS_JSON).unwrap()
    }

    fn country_of(c: &Catalogue, p: &str, r: &str) -> Option<String> {
        let prov = c.provider(p)?;
        match c.resolve(prov, r)? {
            RegionMatch::Region { region, .. } => region.country.map(|c| c.to_string()),
            RegionMatch::Multi(m) => m.countries.as_ref().map(|v| {
                v.iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join("+")
            }),
            RegionMatch::Prefix(p) => Some(p.country.to_string()),
        }
    }

    #[test]
    fn normalisation_and_zones() {
        let c = cat();
        assert_eq!(
            country_of(&c, "azure", "West Europe").as_deref(),
            Some("NL")
        );
        assert_eq!(
            country_of(&c, "azurerm", "westeurope").as_deref(),
            Some("NL")
        );
        assert_eq!(
            country_of(&c, "aws", "eu-central-1a").as_deref(),
            Some("DE")
        );
        assert_eq!(
            country_of(&c, "aws", "us-east-1-bos-1a").as_deref(),
            Some("US")
        );
        assert_eq!(
            country_of(&c, "google", "europe-west3-b").as_deref(),
            Some("DE")
        );
        assert_eq!(country_of(&c, "azure", "eastus2-1").as_deref(), Some("US"));
        assert_eq!(
            country_of(&c, "hetzner", "fsn1-dc14").as_deref(),
            Some("DE")
        );
        assert_eq!(
            country_of(&c, "scaleway", "fr-par-2").as_deref(),
            Some("FR")
        );
        assert_eq!(
            country_of(&c, "oci", "Uocm:EU-FRANKFURT-1-AD-1").as_deref(),
            Some("DE")
        );
        assert_eq!(country_of(&c, "ovh", "gra7").as_deref(), Some("FR"));
        assert_eq!(country_of(&c, "ovh", "GRA5").as_deref(), Some("FR"));
        assert_eq!(country_of(&c, "otc", "eu-de-01").as_deref(), Some("DE"));
        assert_eq!(country_of(&c, "gcp", "EUR4").as_deref(), Some("FI+NL"));
        assert_eq!(country_of(&c, "gcp", "NAM4").as_deref(), Some("US"));
        assert!(country_of(&c, "gcp", "EU").unwrap().contains("DE"));
        assert!(!country_of(&c, "gcp", "EU").unwrap().contains("GB"));
        assert_eq!(country_of(&c, "gcp", "EUR5"), None);
        assert_eq!(country_of(&c, "aws", "eu-central-9"), None);
    }

    #[test]
    fn hints() {
        let c = cat();
        let az = c.provider("azure").unwrap();
        assert_eq!(
            c.region_hint(az, "westeuropa").as_deref(),
            Some("did you mean `westeurope`?")
        );
        assert_eq!(
            c.provider_hint("hetzer").as_deref(),
            Some("did you mean `hetzner`?")
        );
    }
}
