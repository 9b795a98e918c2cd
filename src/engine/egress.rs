//! Egress: accepted network flows are transfers. Each destination address is
//! allowed by a policy CIDR, by an approved recipient (with its transfer basis),
//! or by its country's standing under the policy; what is left is RES012 per
//! destination country, and RES013 for addresses no geodb record places.

use super::country::Country;
use super::evaluate::{fingerprint, judge_destination};
use super::finding::{Finding, FindingLocation};
use super::legal::LegalKnowledge;
use super::policy::Policy;
use super::rule::RuleId;
use rustc_hash::FxHashMap;
use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;
use time::Date;

/// Traffic to one destination address, as the adapter counted it.
#[derive(Debug, Clone, PartialEq)]
pub struct EgressAddress {
    /// The address.
    pub ip: IpAddr,
    /// Its country, `None` when no geodb record places it.
    pub country: Option<Country>,
    /// Internal ranges are never transfers.
    pub internal: bool,
    /// Accepted flows.
    pub flows: u64,
    /// Bytes sent.
    pub bytes: u64,
    /// Earliest start (Unix seconds).
    pub first_seen: Option<u64>,
    /// Latest end (Unix seconds).
    pub last_seen: Option<u64>,
    /// A source that sent to it.
    pub sample_source: Option<IpAddr>,
    /// The network and port that carried most of its bytes, for messages.
    pub top: Option<TopNetwork>,
    /// Where the country came from (one text shared by the addresses the geodb
    /// placed).
    pub source: Arc<str>,
}

/// The network holding an address, its /24 (IPv4) or /48 (IPv6), and a port:
/// written `198.51.100.0/24:443`, `2a00:1450:4001::/48:443`; ordered by network,
/// then port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopNetwork {
    /// The network's address (the host bits cleared).
    pub network: IpAddr,
    /// The port.
    pub port: u16,
}

impl TopNetwork {
    /// The network holding `ip`, and `port`.
    pub fn of(ip: IpAddr, port: u16) -> TopNetwork {
        TopNetwork {
            network: network_key(ip),
            port,
        }
    }
}

impl std::fmt::Display for TopNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", NetworkText(self.network), self.port)
    }
}

/// The /24 (IPv4) or /48 (IPv6) holding `ip`, as its network address.
pub fn network_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            IpAddr::V4(std::net::Ipv4Addr::new(a, b, c, 0))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let g = |i: usize| s.get(i).copied().unwrap_or(0);
            IpAddr::V6(std::net::Ipv6Addr::new(g(0), g(1), g(2), 0, 0, 0, 0, 0))
        }
    }
}

/// The network of [`network_key`] as text: `a.b.c.0/24`, or `a:b:c::/48` (its
/// three groups always written, zero or not).
pub fn network_text(ip: IpAddr) -> String {
    match network_key(ip) {
        // Reports name thousands of these: written digit by digit, not through `fmt`.
        IpAddr::V4(net) => {
            let mut text = String::with_capacity(18);
            for octet in net.octets().into_iter().take(3) {
                let (hundreds, tens, ones) = (octet / 100, octet / 10 % 10, octet % 10);
                if hundreds > 0 {
                    text.push(char::from(b'0' + hundreds));
                }
                if octet >= 10 {
                    text.push(char::from(b'0' + tens));
                }
                text.push(char::from(b'0' + ones));
                text.push('.');
            }
            text.push_str("0/24");
            text
        }
        IpAddr::V6(_) => NetworkText(ip).to_string(),
    }
}

/// Writes the network holding an address (see [`network_text`]).
struct NetworkText(IpAddr);

impl std::fmt::Display for NetworkText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match network_key(self.0) {
            IpAddr::V4(net) => write!(f, "{net}/24"),
            IpAddr::V6(net) => {
                let [a, b, c, ..] = net.segments();
                write!(f, "{a:x}:{b:x}:{c:x}::/48")
            }
        }
    }
}

/// The three networks:ports with the most bytes from one address, each once, ties
/// by network, then port: kept as addresses come, rather than by sorting them all
/// (a country can have tens of thousands). A network's best address counts: as
/// its bytes only rise, one pushed out can come back only with more.
#[derive(Debug, Default)]
struct TopThree {
    /// Best first: (bytes, network).
    best: Vec<(u64, TopNetwork)>,
}

impl TopThree {
    fn add(&mut self, bytes: u64, t: TopNetwork) {
        // Before `b` in the order: more bytes, or as many and a lower network.
        let before =
            |a: &(u64, TopNetwork), b: &(u64, TopNetwork)| a.0 > b.0 || (a.0 == b.0 && a.1 < b.1);
        let entry = (bytes, t);
        match self.best.iter().position(|e| e.1 == t) {
            Some(i) => match self.best.get_mut(i) {
                Some(e) if before(&entry, e) => *e = entry,
                _ => return,
            },
            None if self.best.len() < 3 => self.best.push(entry),
            None => match self.best.last_mut() {
                Some(worst) if before(&entry, worst) => *worst = entry,
                _ => return,
            },
        }
        self.best
            .sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    }

    fn networks(&self) -> Vec<TopNetwork> {
        self.best.iter().map(|&(_, t)| t).collect()
    }
}

#[derive(Default)]
struct Group<'a> {
    flows: u64,
    bytes: u64,
    addresses: u64,
    first: Option<u64>,
    last: Option<u64>,
    sample: Option<IpAddr>,
    /// Each address's bytes and its top network:port.
    tops: TopThree,
    reason: String,
    source: &'a str,
}

/// Findings for flows that no policy rule allows, one per destination country, in
/// country order (addresses no geodb record places first).
pub fn evaluate_egress(
    addresses: &[EgressAddress],
    policy: &Policy,
    legal: &LegalKnowledge,
    as_of: Date,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut expired_reported = Vec::new();
    // Looked up once per address: hashed, and put in country order at the end.
    let mut judged: FxHashMap<Option<Country>, Result<Cow<'static, str>, String>> =
        FxHashMap::default();
    let mut groups: FxHashMap<Option<Country>, Group> = FxHashMap::default();
    for a in addresses.iter().filter(|a| !a.internal) {
        if policy.egress_cidrs.iter().any(|n| n.contains(&a.ip)) {
            continue;
        }
        if let Some(r) = policy
            .recipients
            .iter()
            .find(|r| r.cidrs.iter().any(|n| n.contains(&a.ip)))
        {
            match r.basis.expires {
                Some(e) if e < as_of => {
                    if !expired_reported.contains(&r.id) {
                        expired_reported.push(r.id.clone());
                        out.push(expired(r.id.as_str(), &r.name, e));
                    }
                }
                _ => continue,
            }
        }
        let verdict = judged.entry(a.country).or_insert_with(|| match a.country {
            Some(c) => judge_destination(policy, legal, as_of, c),
            None => Err("no geodb record places these addresses".into()),
        });
        let Err(reason) = verdict else { continue };
        // The reason and the source are the country's: taken from its first address.
        let g = groups.entry(a.country).or_insert_with(|| Group {
            reason: reason.clone(),
            source: &a.source,
            ..Group::default()
        });
        g.flows += a.flows;
        g.bytes += a.bytes;
        g.addresses += 1;
        g.first = lowest(g.first, a.first_seen);
        g.last = g.last.max(a.last_seen);
        if g.sample.is_none() {
            g.sample = a.sample_source;
        }
        if let Some(t) = a.top {
            g.tops.add(a.bytes, t);
        }
    }
    let mut groups: Vec<(Option<Country>, Group)> = groups.into_iter().collect();
    groups.sort_unstable_by_key(|(country, _)| *country);
    for (country, g) in groups {
        let top = g.tops.networks();
        let place = country.map_or_else(|| "unknown".to_string(), |c| c.to_string());
        let (rule, fix) = match country {
            Some(_) => (
                RuleId::EgressOutsideAllowed,
                "Stop the traffic (block it at the egress proxy), or approve the recipient in the policy \
                 (`[[approved_recipient]]` with its CIDRs, transfer mechanism, TIA and expiry).",
            ),
            None => (
                RuleId::EgressDestinationUnknown,
                "Identify the destination (cloud ranges, whois) and approve or block it; \
                 a better geodb (`geodb update`) may place it.",
            ),
        };
        let message = format!(
            "{} flows, {} bytes to {place} ({} address{}; top {}){}{}: {}",
            g.flows,
            g.bytes,
            g.addresses,
            if g.addresses == 1 { "" } else { "es" },
            if top.is_empty() {
                "-".to_string()
            } else {
                top.iter()
                    .map(TopNetwork::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            g.sample
                .map(|s| format!(", e.g. from {s}"))
                .unwrap_or_default(),
            match (g.first, g.last) {
                (Some(f), Some(l)) => format!(", seen {f}..{l}"),
                _ => String::new(),
            },
            g.reason
        );
        let subject = format!("egress:{place}");
        let mut f = Finding {
            rule,
            name: rule.name(),
            severity: rule.default_severity(),
            fingerprint: fingerprint(rule, &subject, &[]),
            subject,
            subject_kind: "destination",
            location: Some(FindingLocation {
                provider: None,
                region: None,
                country,
                countries: country.into_iter().collect(),
                source: g.source.to_string().into(),
            }),
            message,
            article: rule.article(),
            remediation: Cow::Borrowed(fix),
            related: None,
            waived: None,
            asset_index: None,
            inferred: false,
        };
        if let Some(s) = policy.severity(rule) {
            f.severity = s;
            out.push(f);
        }
    }
    out
}

/// The lower of two values (times, sources), `None` counting as unseen: the
/// earliest first-seen, the lowest sample source. (The latest is `Option::max`.)
pub fn lowest<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

fn expired(id: &str, name: &str, on: Date) -> Finding {
    let rule = RuleId::ApprovalExpired;
    Finding {
        rule,
        name: rule.name(),
        severity: rule.default_severity(),
        subject: id.to_string(),
        subject_kind: "approval",
        location: None,
        message: format!(
            "approved recipient `{id}` ({name}) expired on {on}; its flows count as unapproved"
        ),
        article: rule.article(),
        remediation: Cow::Owned(format!(
            "Re-assess the transfer and renew `{id}` with a new expiry, or stop the traffic."
        )),
        related: None,
        waived: None,
        fingerprint: fingerprint(rule, id, &[]),
        asset_index: None,
        inferred: false,
    }
}

/// One outbound connection the egress proxy is asked to open: the host the
/// client named, the port, and one address that host resolved to, already
/// placed (internal range, or country from the geodb).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Connection<'a> {
    /// The host as the client gave it (a name or an address literal).
    pub host: &'a str,
    /// Destination port.
    pub port: u16,
    /// The address that would be dialled.
    pub addr: IpAddr,
    /// The internal range holding `addr` (its label), if any.
    pub internal: Option<&'static str>,
    /// The country of `addr`, `None` when internal or no geodb record places it.
    pub country: Option<Country>,
}

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The connection may be opened.
    Allow,
    /// The connection is refused.
    Deny,
}

/// A decision with the rule and the reason behind it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Decision {
    /// Allow or deny.
    pub verdict: Verdict,
    /// The rule a denial falls under (RES012 outside the policy, RES013 unknown
    /// place, RES010 expired approval); `None` when allowed.
    pub rule: Option<RuleId>,
    /// Why, in one sentence.
    pub reason: String,
}

impl Decision {
    fn allow(reason: impl Into<String>) -> Decision {
        Decision {
            verdict: Verdict::Allow,
            rule: None,
            reason: reason.into(),
        }
    }

    fn deny(rule: RuleId, reason: impl Into<String>) -> Decision {
        Decision {
            verdict: Verdict::Deny,
            rule: Some(rule),
            reason: reason.into(),
        }
    }
}

/// Decides one connection, in this order: the cloud metadata address (always
/// denied), the port, denied hosts and networks, internal ranges (denied unless
/// the policy allows that network), the host allow-list, allowed networks,
/// approved recipients, and last the country's standing on `as_of`; an address
/// no geodb record places is denied (fail closed).
pub fn decide_connection(
    c: &Connection<'_>,
    policy: &Policy,
    legal: &LegalKnowledge,
    as_of: Date,
) -> Decision {
    let rules = &policy.proxy;
    let out = RuleId::EgressOutsideAllowed;
    if c.internal == Some("cloud metadata") {
        return Decision::deny(
            out,
            format!("{} is the cloud metadata address: always denied", c.addr),
        );
    }
    if !rules.allowed_port(c.port) {
        return Decision::deny(out, format!("port {} is not an allowed port", c.port));
    }
    if let Some(p) = rules
        .deny_hosts
        .iter()
        .find(|p| super::policy::host_matches(p, c.host))
    {
        return Decision::deny(out, format!("host `{}` is denied by `{p}`", c.host));
    }
    if let Some(n) = rules.deny_cidrs.iter().find(|n| n.contains(&c.addr)) {
        return Decision::deny(out, format!("{} is in the denied network {n}", c.addr));
    }
    if let Some(label) = c.internal {
        return match rules
            .internal_allowed_cidrs
            .iter()
            .find(|n| n.contains(&c.addr))
        {
            Some(n) => Decision::allow(format!("internal network {n} allowed by the policy")),
            None => Decision::deny(
                out,
                format!("{} is an internal address ({label}): denied unless the policy allows its network", c.addr),
            ),
        };
    }
    if !rules.allow_hosts.is_empty()
        && !rules
            .allow_hosts
            .iter()
            .any(|p| super::policy::host_matches(p, c.host))
    {
        return Decision::deny(out, format!("host `{}` is not on the allow-list", c.host));
    }
    if let Some(n) = policy.egress_cidrs.iter().find(|n| n.contains(&c.addr)) {
        return Decision::allow(format!("{} is in the allowed network {n}", c.addr));
    }
    if let Some(r) = policy
        .recipients
        .iter()
        .find(|r| r.cidrs.iter().any(|n| n.contains(&c.addr)))
    {
        return match r.basis.expires {
            Some(e) if e < as_of => Decision::deny(
                RuleId::ApprovalExpired,
                format!("approved recipient `{}` ({}) expired on {e}", r.id, r.name),
            ),
            _ => Decision::allow(format!(
                "approved recipient `{}` ({}) under {}",
                r.id,
                r.name,
                r.basis.mechanism.as_str()
            )),
        };
    }
    match c.country {
        None => Decision::deny(
            RuleId::EgressDestinationUnknown,
            format!("no geodb record places {}: denied (fail closed)", c.addr),
        ),
        Some(country) => match judge_destination(policy, legal, as_of, country) {
            Ok(why) => Decision::allow(format!("{country}: {why}")),
            Err(why) => Decision::deny(out, format!("{country}: {why}")),
        },
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Kept as addresses come, the top three equal what sorting every address
        /// (most bytes first, ties by network and port) and taking the first three
        /// distinct networks gives, whatever the order, with many ties and repeats.
        #[test]
        fn the_top_three_kept_equal_the_top_three_sorted(
            entries in proptest::collection::vec((0u64..6, 0u8..5, 0u16..3), 0..40),
        ) {
            let entries: Vec<(u64, TopNetwork)> = entries
                .into_iter()
                .map(|(bytes, net, port)| {
                    let ip = IpAddr::V4(std::net::Ipv4Addr::new(10, net, 0, 1));
                    (bytes, TopNetwork::of(ip, port))
                })
                .collect();
            let mut sorted = entries.clone();
            sorted.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            let mut want: Vec<TopNetwork> = Vec::new();
            for (_, t) in sorted {
                if want.len() < 3 && !want.contains(&t) {
                    want.push(t);
                }
            }
            let mut kept = TopThree::default();
            for (bytes, t) in entries {
                kept.add(bytes, t);
            }
            prop_assert_eq!(kept.networks(), want);
        }
    }
}
