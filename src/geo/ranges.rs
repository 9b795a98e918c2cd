//! Published cloud address ranges (AWS `ip-ranges.json`, Google `cloud.json`, Azure
//! Service Tags): an address in a cloud range resolves to provider and region, and
//! through the region catalogue to a country, ahead of any geodb guess.

use super::{GeoError, GeoLookup};
use crate::engine::Country;
use crate::knowledge::regions::{Catalogue, RegionMatch};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::net::IpAddr;

/// One published range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudRange {
    /// The network.
    pub prefix: IpNet,
    /// Catalogue provider id (`aws`, `gcp`, `azure`).
    pub provider: String,
    /// The provider's region code.
    pub region: String,
    /// The service, when published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// The stored ranges file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangesFile {
    /// Format version.
    pub version: u32,
    /// Where each provider's ranges came from, and when the source says it was published.
    pub sources: HashMap<String, String>,
    /// The ranges.
    pub ranges: Vec<CloudRange>,
}

/// Parses a published file, detecting AWS, Google or Azure shape.
pub fn parse_published(
    label: &str,
    text: &str,
) -> Result<(String, String, Vec<CloudRange>), String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("{label}: not JSON: {e}"))?;
    let mut out = Vec::new();
    let net = |s: &str| {
        s.parse::<IpNet>()
            .map_err(|_| format!("{label}: `{s}` is not a network"))
    };
    if let (Some(p4), Some(token)) = (
        v.get("prefixes").and_then(Value::as_array),
        v.get("syncToken"),
    ) {
        // AWS: prefixes[] {ip_prefix, region, service}, ipv6_prefixes[] {ipv6_prefix, ...}
        let p6 = v
            .get("ipv6_prefixes")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for p in p4.iter().chain(p6.iter()) {
            let Some(prefix) = p
                .get("ip_prefix")
                .or_else(|| p.get("ipv6_prefix"))
                .and_then(Value::as_str)
            else {
                continue;
            };
            let Some(region) = p.get("region").and_then(Value::as_str) else {
                continue;
            };
            if region == "GLOBAL" {
                continue;
            }
            out.push(CloudRange {
                prefix: net(prefix)?,
                provider: "aws".into(),
                region: region.to_string(),
                service: p.get("service").and_then(Value::as_str).map(str::to_string),
            });
        }
        let when = v
            .get("createDate")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        return Ok((
            "aws".into(),
            format!("AWS ip-ranges.json syncToken {token} {when}"),
            out,
        ));
    }
    if let Some(p) = v.get("prefixes").and_then(Value::as_array) {
        // Google: prefixes[] {ipv4Prefix | ipv6Prefix, service, scope}
        for e in p {
            let Some(prefix) = e
                .get("ipv4Prefix")
                .or_else(|| e.get("ipv6Prefix"))
                .and_then(Value::as_str)
            else {
                continue;
            };
            let Some(scope) = e.get("scope").and_then(Value::as_str) else {
                continue;
            };
            if scope == "global" {
                continue;
            }
            out.push(CloudRange {
                prefix: net(prefix)?,
                provider: "gcp".into(),
                region: scope.to_string(),
                service: e.get("service").and_then(Value::as_str).map(str::to_string),
            });
        }
        let when = v
            .get("creationTime")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        return Ok(("gcp".into(), format!("Google cloud.json {when}"), out));
    }
    if let Some(values) = v.get("values").and_then(Value::as_array) {
        // Azure Service Tags: values[] {name, properties {region, addressPrefixes[]}}
        for t in values {
            let props = t.get("properties");
            let Some(region) = props
                .and_then(|p| p.get("region"))
                .and_then(Value::as_str)
                .filter(|r| !r.is_empty())
            else {
                continue;
            };
            let service = props
                .and_then(|p| p.get("systemService"))
                .and_then(Value::as_str)
                .map(str::to_string);
            for prefix in props
                .and_then(|p| p.get("addressPrefixes"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(s) = prefix.as_str() {
                    out.push(CloudRange {
                        prefix: net(s)?,
                        provider: "azure".into(),
                        region: region.to_string(),
                        service: service.clone(),
                    });
                }
            }
        }
        let when = v
            .get("changeNumber")
            .map(|c| format!("changeNumber {c}"))
            .unwrap_or_default();
        return Ok(("azure".into(), format!("Azure Service Tags {when}"), out));
    }
    Err(format!("{label}: not AWS ip-ranges.json (`prefixes` + `syncToken`), Google cloud.json (`prefixes` with `scope`) or Azure Service Tags (`values`)"))
}

/// What a range says about an address: (provider, region, country).
pub type RangeHit = (String, String, Option<Country>);

/// Network address -> hit, for one prefix length.
type Table = HashMap<IpAddr, RangeHit>;

/// Longest-prefix lookup over the ranges, with countries from the catalogue.
#[derive(Debug, Default)]
pub struct CloudRanges {
    /// prefix length -> network address -> (provider, region, country)
    tables: Vec<(u8, bool, Table)>,
}

impl CloudRanges {
    /// Indexes `ranges`, resolving each region through `catalogue`.
    pub fn new(ranges: &[CloudRange], catalogue: &Catalogue) -> CloudRanges {
        let mut by_len: HashMap<(u8, bool), Table> = HashMap::new();
        let mut country_cache: HashMap<(String, String), Option<Country>> = HashMap::new();
        for r in ranges {
            let country = *country_cache
                .entry((r.provider.clone(), r.region.clone()))
                .or_insert_with(|| {
                    let p = catalogue.provider(&r.provider)?;
                    match catalogue.resolve(p, &r.region)? {
                        RegionMatch::Region { region, .. } => region.country,
                        RegionMatch::Prefix(rule) => Some(rule.country),
                        RegionMatch::Multi(m) => m
                            .countries
                            .as_ref()
                            .filter(|c| c.len() == 1)
                            .and_then(|c| c.first().copied()),
                    }
                });
            let v6 = matches!(r.prefix, IpNet::V6(_));
            by_len
                .entry((r.prefix.prefix_len(), v6))
                .or_default()
                .insert(
                    r.prefix.network(),
                    (r.provider.clone(), r.region.clone(), country),
                );
        }
        let mut tables: Vec<_> = by_len.into_iter().map(|((l, v6), m)| (l, v6, m)).collect();
        tables.sort_by_key(|t| std::cmp::Reverse(t.0));
        CloudRanges { tables }
    }

    /// The most specific range holding `ip`: (provider, region, country).
    pub fn lookup(&self, ip: IpAddr) -> Option<&RangeHit> {
        let v6 = ip.is_ipv6();
        self.tables
            .iter()
            .filter(|t| t.1 == v6)
            .find_map(|(len, _, map)| {
                let net = IpNet::new(ip, *len).ok()?.trunc();
                map.get(&net.network())
            })
    }

    /// Number of prefix lengths indexed (0 when empty).
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }
}

/// A geodb that asks the cloud ranges first.
pub struct RangesFirst<'a> {
    /// The ranges.
    pub ranges: &'a CloudRanges,
    /// The fallback.
    pub geo: &'a dyn GeoLookup,
}

impl RangesFirst<'_> {
    /// The country of the imported range holding `ip`, else what `fallback` says.
    fn ranged(
        &self,
        ip: IpAddr,
        fallback: impl FnOnce() -> Result<Option<Country>, GeoError>,
    ) -> Result<Option<Country>, GeoError> {
        match self.ranges.lookup(ip) {
            Some((_, _, Some(c))) => Ok(Some(*c)),
            _ => fallback(),
        }
    }
}

impl GeoLookup for RangesFirst<'_> {
    fn country(&self, ip: IpAddr) -> Result<Option<Country>, GeoError> {
        self.ranged(ip, || self.geo.country(ip))
    }

    fn country_memo(
        &self,
        ip: IpAddr,
        memo: &mut super::GeoMemo,
    ) -> Result<Option<Country>, GeoError> {
        self.ranged(ip, || self.geo.country_memo(ip, memo))
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::knowledge::Knowledge;

    #[test]
    fn parses_the_three_shapes_and_looks_up_longest_prefix() {
        let aws = r#"{"syncToken":"1","createDate":"2026-11-01-00-00-00","prefixes":[{"ip_prefix":"3.120.0.0/14","region":"eu-central-1","service":"AMAZON"},{"ip_prefix":"3.120.4.0/24","region":"us-east-1","service":"EC2"},{"ip_prefix":"52.94.0.0/22","region":"GLOBAL","service":"AMAZON"}],"ipv6_prefixes":[{"ipv6_prefix":"2a05:d000::/25","region":"eu-west-1","service":"AMAZON"}]}"#;
        let (p, _, r) = parse_published("aws.json", aws).unwrap();
        assert_eq!((p.as_str(), r.len()), ("aws", 3));
        let gcp = r#"{"creationTime":"2026-11-01","prefixes":[{"ipv4Prefix":"34.32.0.0/16","service":"Google Cloud","scope":"europe-west3"},{"ipv4Prefix":"8.8.8.0/24","service":"Google","scope":"global"}]}"#;
        let (p, _, g) = parse_published("cloud.json", gcp).unwrap();
        assert_eq!((p.as_str(), g.len()), ("gcp", 1));
        let az = r#"{"changeNumber":42,"values":[{"name":"AzureCloud.westeurope","properties":{"region":"westeurope","systemService":"","addressPrefixes":["20.50.0.0/16"]}},{"name":"AzureCloud","properties":{"region":"","addressPrefixes":["13.0.0.0/8"]}}]}"#;
        let (p, _, a) = parse_published("tags.json", az).unwrap();
        assert_eq!((p.as_str(), a.len()), ("azure", 1));
        assert!(parse_published("x.json", "{}").is_err());
        let k = Knowledge::embedded().unwrap();
        let all: Vec<CloudRange> = r.into_iter().chain(g).chain(a).collect();
        let idx = CloudRanges::new(&all, &k.catalogue);
        let c = |ip: &str| {
            idx.lookup(ip.parse().unwrap())
                .and_then(|x| x.2)
                .map(|c| c.to_string())
        };
        assert_eq!(c("3.121.0.1").as_deref(), Some("DE"));
        assert_eq!(
            c("3.120.4.9").as_deref(),
            Some("US"),
            "the longer prefix wins"
        );
        assert_eq!(c("34.32.1.1").as_deref(), Some("DE"));
        assert_eq!(c("20.50.3.3").as_deref(), Some("NL"));
        assert_eq!(c("2a05:d000::1").as_deref(), Some("IE"));
        assert_eq!(c("9.9.9.9"), None);
    }
}
