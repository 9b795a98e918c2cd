//! The resolver: turns what an input claims about a location (provider and
//! region, country, site, IP address) into countries with evidence, using the
//! region catalogue and the geodb. Unknown stays unknown: the engine fails closed.

use crate::engine::{Country, Location, Operator};
use crate::geo::{classify, GeoAnswer, GeoLookup};
use crate::knowledge::countries::country_name;
use crate::knowledge::regions::RegionMatch;
use crate::knowledge::Knowledge;
use std::collections::HashMap;
use std::net::IpAddr;

/// What an input says about where something is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LocationClaim {
    /// Provider id or alias.
    pub provider: Option<String>,
    /// Region, zone or multi-region code.
    pub region: Option<String>,
    /// Declared country.
    pub country: Option<Country>,
    /// Declared city.
    pub city: Option<String>,
    /// Address to look up in the geodb.
    pub ip: Option<IpAddr>,
    /// Declared site id.
    pub site: Option<String>,
    /// Declared failure domain.
    pub failure_domain: Option<String>,
}

/// A declared site (own datacentre, colocation, office).
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// Id referenced by assets.
    pub id: String,
    /// Country.
    pub country: Country,
    /// City.
    pub city: Option<String>,
    /// Provider running it, if any (catalogue id).
    pub provider: Option<String>,
    /// Failure domain; defaults to the site id.
    pub failure_domain: Option<String>,
}

/// Why a claim could not be resolved at all (bad input, not an unknown location).
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimError {
    /// The field at fault, relative to the location (`provider`, `region`, `site`, `country`).
    pub field: &'static str,
    /// The offending value.
    pub value: String,
    /// What is wrong.
    pub message: String,
    /// A suggestion.
    pub hint: Option<String>,
}

/// Resolves claims against the knowledge, the geodb and declared sites.
pub struct Resolver<'a> {
    /// Resolutions of claims without an IP address, by claim (inventories and
    /// plans repeat the same regions many times).
    cache: std::cell::RefCell<HashMap<LocationClaim, (Location, Option<Operator>)>>,
    knowledge: &'a Knowledge,
    geo: &'a dyn GeoLookup,
    geo_label: String,
    sites: HashMap<String, Site>,
    alternatives: HashMap<String, Vec<String>>,
}

impl<'a> Resolver<'a> {
    /// A resolver; `geo_label` names the geodb in evidence strings.
    pub fn new(
        knowledge: &'a Knowledge,
        geo: &'a dyn GeoLookup,
        geo_label: impl Into<String>,
    ) -> Resolver<'a> {
        let mut alternatives = HashMap::new();
        for p in knowledge.catalogue.providers.values() {
            let mut alts: Vec<&crate::knowledge::regions::Region> = p
                .regions
                .values()
                .filter(|r| r.verified && r.country.is_some_and(|c| knowledge.legal.is_eea(c)))
                .collect();
            alts.sort_by(|a, b| a.code.cmp(&b.code));
            let list = alts
                .iter()
                .take(3)
                .map(|r| match &r.city {
                    Some(city) => format!("{} {} ({city})", p.id, r.code),
                    None => format!("{} {}", p.id, r.code),
                })
                .collect();
            alternatives.insert(p.id.clone(), list);
        }
        Resolver {
            cache: std::cell::RefCell::new(HashMap::new()),
            knowledge,
            geo,
            geo_label: geo_label.into(),
            sites: HashMap::new(),
            alternatives,
        }
    }

    /// Declares sites that claims may reference.
    pub fn with_sites(mut self, sites: impl IntoIterator<Item = Site>) -> Resolver<'a> {
        for s in sites {
            self.sites.insert(s.id.clone(), s);
        }
        self
    }

    /// Whether a site id is declared.
    pub fn has_site(&self, id: &str) -> bool {
        self.sites.contains_key(id)
    }

    /// Declared site ids.
    pub fn site_ids(&self) -> impl Iterator<Item = &str> {
        self.sites.keys().map(String::as_str)
    }

    /// Resolves a claim to a location and, when a provider is known, its operator.
    pub fn resolve(
        &self,
        claim: &LocationClaim,
    ) -> Result<(Location, Option<Operator>), ClaimError> {
        if claim.ip.is_some() {
            return self.resolve_uncached(claim);
        }
        if let Some(hit) = self.cache.borrow().get(claim) {
            return Ok(hit.clone());
        }
        let resolved = self.resolve_uncached(claim)?;
        self.cache
            .borrow_mut()
            .insert(claim.clone(), resolved.clone());
        Ok(resolved)
    }

    fn resolve_uncached(
        &self,
        claim: &LocationClaim,
    ) -> Result<(Location, Option<Operator>), ClaimError> {
        let mut loc = Location::default();
        let mut operator = None;
        let mut provider_id = claim.provider.clone();
        let mut unknown_reasons: Vec<String> = Vec::new();
        if let Some(site_id) = &claim.site {
            let site = self.sites.get(site_id).ok_or_else(|| ClaimError {
                field: "site",
                value: site_id.clone(),
                message: format!("unknown site `{site_id}`"),
                hint: crate::error::did_you_mean(site_id, self.site_ids())
                    .or_else(|| Some("declare it under `sites:`".into())),
            })?;
            loc.site = Some(site.id.clone());
            loc.city = site.city.clone();
            loc.countries = vec![site.country];
            loc.source = format!("declared site `{}`", site.id).into();
            loc.verified = true;
            loc.failure_domain = Some(
                site.failure_domain
                    .clone()
                    .unwrap_or_else(|| format!("site:{}", site.id)),
            );
            if provider_id.is_none() {
                provider_id = site.provider.clone();
            }
        }
        if let Some(name) = &provider_id {
            let p = self
                .knowledge
                .catalogue
                .provider(name)
                .ok_or_else(|| ClaimError {
                    field: "provider",
                    value: name.clone(),
                    message: format!("unknown provider `{name}`"),
                    hint: self.knowledge.catalogue.provider_hint(name).or_else(|| {
                        Some(
                            "declare `country:` instead, or add the provider with `--regions FILE`"
                                .into(),
                        )
                    }),
                })?;
            loc.provider = Some(p.id.as_str().into());
            operator = Some(p.operator());
            if loc.site.is_none() {
                loc.alternatives = self.alternatives.get(&p.id).cloned().unwrap_or_default();
            }
            if let Some(region) = &claim.region {
                let m = self
                    .knowledge
                    .catalogue
                    .resolve(p, region)
                    .ok_or_else(|| ClaimError {
                        field: "region",
                        value: region.clone(),
                        message: format!("unknown {} region `{region}`", p.id),
                        hint: self.knowledge.catalogue.region_hint(p, region),
                    })?;
                let source_note = p
                    .source
                    .as_deref()
                    .map(|s| format!("; source: {s}"))
                    .unwrap_or_default();
                let site_countries = std::mem::take(&mut loc.countries);
                let site_domain = loc.failure_domain.take();
                match m {
                    RegionMatch::Region { region: r, via } => {
                        loc.region = Some(r.code.as_str().into());
                        loc.city = r.city.clone().or(loc.city.take());
                        loc.verified = r.verified;
                        let via = via.map(|v| format!("{v}; ")).unwrap_or_default();
                        match r.country {
                            Some(c) => {
                                loc.countries = vec![c];
                                loc.source = format!(
                                    "{via}region catalogue: {} {} -> {c}{}{}",
                                    p.id,
                                    r.code,
                                    if r.verified { "" } else { " (unverified)" },
                                    source_note
                                )
                                .into();
                            }
                            None => {
                                loc.countries.clear();
                                loc.unknown = Some(format!(
                                    "the catalogue has no verified country for {} `{}`{}",
                                    p.id,
                                    r.code,
                                    r.note
                                        .as_deref()
                                        .map(|n| format!(" ({n})"))
                                        .unwrap_or_default()
                                ));
                                loc.source =
                                    format!("region catalogue: {} {}", p.id, r.code).into();
                            }
                        }
                        loc.failure_domain = Some(format!("{}:{}", p.id, r.code));
                    }
                    RegionMatch::Multi(m) => {
                        loc.region = Some(m.code.as_str().into());
                        loc.verified = m.verified;
                        match &m.countries {
                            Some(cs) if !cs.is_empty() => {
                                loc.countries = cs.clone();
                                loc.source = format!(
                                    "region catalogue: {} multi-region {} ({}) -> {}{}",
                                    p.id,
                                    m.code,
                                    m.scope,
                                    cs.iter().map(|c| c.as_str()).collect::<Vec<_>>().join("+"),
                                    if m.verified { "" } else { " (unverified)" }
                                )
                                .into();
                            }
                            _ => {
                                loc.countries.clear();
                                loc.unknown = Some(format!(
                                    "{} `{}` is {} and names no set of countries{}",
                                    p.id,
                                    m.code,
                                    if m.scope.is_empty() {
                                        "a multi-region"
                                    } else {
                                        m.scope.as_str()
                                    },
                                    m.note
                                        .as_deref()
                                        .map(|n| format!(": {n}"))
                                        .unwrap_or_default()
                                ));
                                loc.source =
                                    format!("region catalogue: {} {}", p.id, m.code).into();
                            }
                        }
                    }
                    RegionMatch::Prefix(rule) => {
                        loc.region = Some(region.trim().to_ascii_uppercase().into());
                        loc.countries = vec![rule.country];
                        loc.city = rule.city.clone();
                        loc.verified = false;
                        loc.source = format!(
                            "region catalogue: {} prefix rule `{}*` -> {} (unverified)",
                            p.id, rule.prefix, rule.country
                        )
                        .into();
                        loc.failure_domain =
                            Some(format!("{}:{}", p.id, region.trim().to_ascii_uppercase()));
                    }
                }
                if let (Some(site), false) = (&loc.site, site_countries.is_empty()) {
                    if !loc.countries.is_empty() && loc.countries != site_countries {
                        return Err(ClaimError {
                            field: "region",
                            value: region.clone(),
                            message: format!(
                                "region `{region}` ({}) contradicts site `{site}` ({})",
                                loc.countries
                                    .iter()
                                    .map(|c| c.as_str())
                                    .collect::<Vec<_>>()
                                    .join("+"),
                                site_countries
                                    .iter()
                                    .map(|c| c.as_str())
                                    .collect::<Vec<_>>()
                                    .join("+")
                            ),
                            hint: Some("a site and a region must agree on the country".into()),
                        });
                    }
                    if loc.countries.is_empty() {
                        loc.countries = site_countries;
                        loc.unknown = None;
                    }
                    if site_domain.is_some() {
                        loc.failure_domain = site_domain;
                    }
                }
            } else if loc.site.is_none() {
                unknown_reasons.push(format!(
                    "provider {} is declared without a region; its data could be in any of its {} regions",
                    p.id,
                    p.regions.len()
                ));
            }
        } else if let Some(region) = &claim.region {
            return Err(ClaimError {
                field: "region",
                value: region.clone(),
                message: format!("region `{region}` needs a `provider`"),
                hint: Some("add `provider:` (e.g. aws, azure, gcp, ovh, hetzner)".into()),
            });
        }
        if let Some(c) = claim.country {
            if loc.countries.is_empty() {
                loc.countries = vec![c];
                loc.verified = true;
                loc.source = match (&loc.provider, &loc.unknown) {
                    (_, Some(why)) => format!("declared country {c} ({why})").into(),
                    (Some(p), None) => format!("declared country {c} with provider {p}").into(),
                    (None, None) => format!("declared country {c}").into(),
                };
                loc.unknown = None;
            } else if !loc.countries.contains(&c) {
                return Err(ClaimError {
                    field: "country",
                    value: c.to_string(),
                    message: format!(
                        "declared country {c} contradicts {} ({})",
                        loc.countries
                            .iter()
                            .map(|c| c.as_str())
                            .collect::<Vec<_>>()
                            .join("+"),
                        loc.source
                    ),
                    hint: Some("remove `country:` or correct the region or site".into()),
                });
            }
        }
        if let (Some(ip), true) = (claim.ip, loc.countries.is_empty()) {
            match classify(self.geo, ip) {
                Ok(GeoAnswer::Country(c)) => {
                    loc.countries = vec![c];
                    loc.unknown = None;
                    loc.verified = false;
                    loc.source = format!("geodb {}: {ip} -> {c}", self.geo_label).into();
                }
                Ok(GeoAnswer::Internal(r)) => unknown_reasons.push(format!(
                    "{ip} is an internal address ({}, {}); declare the site it is in",
                    r.label, r.cidr
                )),
                Ok(GeoAnswer::NotFound) => unknown_reasons.push(format!(
                    "the geodb ({}) has no record for {ip}",
                    self.geo_label
                )),
                Err(e) => unknown_reasons.push(e.to_string()),
            }
        }
        if loc.countries.is_empty() {
            if loc.unknown.is_none() {
                loc.unknown = Some(
                    unknown_reasons
                        .first()
                        .cloned()
                        .unwrap_or_else(|| "no location is declared".into()),
                );
            }
            if loc.source.is_empty() {
                loc.source = "none".into();
            }
        }
        if claim.city.is_some() {
            loc.city = claim.city.clone();
        }
        if let Some(fd) = &claim.failure_domain {
            loc.failure_domain = Some(fd.clone());
        }
        if loc
            .countries
            .iter()
            .all(|c| self.knowledge.legal.is_eea(*c))
        {
            loc.alternatives.clear();
        }
        Ok((loc, operator))
    }

    /// "Poland (PL)" style label.
    pub fn country_label(c: Country) -> String {
        format!("{} ({c})", country_name(c))
    }
}
