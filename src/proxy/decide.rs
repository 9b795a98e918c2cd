//! Resolve once, place every address, ask the engine, pick the address to dial.

use super::target::Target;
use crate::engine::{decide_connection, Connection, Country, Decision, Policy, Verdict};
use crate::geo::GeoLookup;
use std::collections::BTreeMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;

/// Host name resolution, replaceable (tests use resolvers that change their answer).
pub trait Resolve: Send + Sync {
    /// The addresses of `host`.
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send + 'a>>;
}

/// The system resolver, with `--resolve HOST:ADDR` overrides first.
#[derive(Debug, Default, Clone)]
pub struct SystemResolver {
    /// Host -> addresses, consulted before DNS.
    pub overrides: BTreeMap<String, Vec<IpAddr>>,
}

impl Resolve for SystemResolver {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send + 'a>> {
        Box::pin(async move {
            if let Some(a) = self.overrides.get(host) {
                return Ok(a.clone());
            }
            let addrs = tokio::net::lookup_host((host, port)).await?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    }
}

/// What the proxy knows when it decides: the policy, the legal knowledge and the
/// geodb. Swapped whole on reload.
pub struct Knowledge {
    /// The policy.
    pub policy: Policy,
    /// Its name and hash, for the log.
    pub policy_label: String,
    /// EEA and adequacy.
    pub legal: crate::engine::LegalKnowledge,
    /// IP to country.
    pub geo: Arc<dyn GeoLookup>,
}

/// One address placed and decided.
#[derive(Debug, Clone)]
pub struct Placed {
    /// The address.
    pub addr: IpAddr,
    /// Its country, if placed.
    pub country: Option<Country>,
    /// The engine's decision.
    pub decision: Decision,
}

/// Places `addr`: internal ranges first (loopback too, unless the policy says
/// to look loopback up, for tests), then the geodb.
pub fn place(k: &Knowledge, addr: IpAddr) -> (Option<&'static str>, Option<Country>) {
    let addr = match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    };
    let loopback_public = k.policy.proxy.loopback_is_public && addr.is_loopback();
    if !loopback_public {
        if let Some(r) = crate::geo::internal_range(addr) {
            return (Some(r.label), None);
        }
    }
    (None, k.geo.country(addr).ok().flatten())
}

/// Decides every address of `target` (already resolved) and returns them in
/// order, allowed ones first.
pub fn decide_all(
    k: &Knowledge,
    target: &Target,
    addrs: &[IpAddr],
    as_of: time::Date,
) -> Vec<Placed> {
    let mut out: Vec<Placed> = addrs
        .iter()
        .map(|&addr| {
            let (internal, country) = place(k, addr);
            let decision = decide_connection(
                &Connection {
                    host: &target.host,
                    port: target.port,
                    addr,
                    internal,
                    country,
                },
                &k.policy,
                &k.legal,
                as_of,
            );
            Placed {
                addr,
                country,
                decision,
            }
        })
        .collect();
    out.sort_by_key(|p| p.decision.verdict != Verdict::Allow);
    out
}
