//! A validated policy: what is allowed, how strictly, and the approvals and
//! waivers granted by the compliance team. Built from TOML by `policies`.

use super::country::Country;
use super::model::{Mechanism, TransferBasis};
use super::rule::{RuleId, Severity};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use time::Date;

/// How conditional adequacy (US DPF, Canada PIPEDA) is treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConditionalAdequacy {
    /// Never enough on its own.
    Never,
    /// Enough when the recipient's certification is declared.
    WithCertification,
}

/// What the policy demands of the provider operating an asset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderRequirement {
    /// No requirement.
    Any,
    /// Flag providers whose parent answers to foreign-access laws (CLOUD Act, ...).
    NoForeignAccessLaw,
    /// Only providers headquartered in the EEA.
    EeaHeadquarters,
}

/// A waiver: findings that may fail, accepted by a named approver until a date.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Waiver {
    /// Waiver id, e.g. `W-2026-014`.
    pub id: String,
    /// Rules covered.
    pub rules: Vec<RuleId>,
    /// Subjects covered: exact ids, or patterns with `*`.
    pub subjects: Vec<String>,
    /// Why the risk is accepted.
    pub reason: String,
    /// Who approved it.
    pub approver: String,
    /// Ticket or decision record.
    pub ticket: String,
    /// Last day the waiver applies (required).
    pub expires: Date,
}

impl Waiver {
    /// Whether the waiver covers a finding of `rule` on `subject`.
    pub fn covers(&self, rule: RuleId, subject: &str) -> bool {
        self.rules.contains(&rule) && self.subjects.iter().any(|p| glob_match(p, subject))
    }
}

/// A transfer approved by the compliance team, supplying the basis for matching assets.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ApprovedTransfer {
    /// Approval id, e.g. `AT-2026-003`.
    pub id: String,
    /// Subjects covered: exact ids, or patterns with `*`.
    pub subjects: Vec<String>,
    /// Destination countries covered; empty means any.
    pub countries: Vec<Country>,
    /// The basis it grants (mechanism, TIA, measures); `expires` is required.
    pub basis: TransferBasis,
    /// Who approved it.
    pub approver: String,
    /// Ticket or decision record.
    pub ticket: String,
}

impl ApprovedTransfer {
    /// Whether the approval covers `subject` (any of `countries`).
    pub fn covers(&self, subject: &str, countries: &[Country]) -> bool {
        self.subjects.iter().any(|p| glob_match(p, subject))
            && (self.countries.is_empty() || countries.iter().all(|c| self.countries.contains(c)))
    }
}

/// A resolved, validated policy.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Policy {
    /// Policy name (`gdpr`, `eea-only`, `sovereign`, or the user's).
    pub name: String,
    /// One-line description.
    pub description: String,
    /// Whether full and partial adequacy decisions in force are accepted.
    pub adequacy: bool,
    /// How conditional adequacy is treated.
    pub conditional_adequacy: ConditionalAdequacy,
    /// Countries allowed in addition to the EEA and adequacy.
    pub extra_countries: BTreeSet<Country>,
    /// Countries never allowed, whatever their adequacy.
    pub denied_countries: BTreeSet<Country>,
    /// Transfer tools (Art. 46, 49) accepted for third countries.
    pub mechanisms: BTreeSet<Mechanism>,
    /// Whether Art. 46 transfers need a TIA reference.
    pub require_tia: bool,
    /// Whether Art. 46 transfers need supplementary measures.
    pub require_supplementary_measures: bool,
    /// What is demanded of providers.
    pub providers: ProviderRequirement,
    /// Severity per rule; `None` switches a rule off.
    pub severities: BTreeMap<RuleId, Option<Severity>>,
    /// Granted waivers.
    pub waivers: Vec<Waiver>,
    /// Approved transfers.
    pub approvals: Vec<ApprovedTransfer>,
    /// Destination networks always allowed for egress (e.g. the company's own EEA ranges).
    pub egress_cidrs: Vec<ipnet::IpNet>,
    /// Recipients whose published networks are approved under a transfer basis.
    pub recipients: Vec<ApprovedRecipient>,
    /// What the egress proxy adds: host lists, denied networks, ports, internal ranges.
    pub proxy: ProxyRules,
}

/// The egress proxy's knobs (`[proxy]` in a policy file). Countries, allowed
/// networks (`[egress] allowed_cidrs`) and approved recipients are shared with
/// the flow audit.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ProxyRules {
    /// Hosts that may be reached (`api.example.eu`, `*.example.eu`); empty: any host
    /// whose addresses the policy allows.
    pub allow_hosts: Vec<String>,
    /// Hosts never reached, whatever their country.
    pub deny_hosts: Vec<String>,
    /// Networks never reached.
    pub deny_cidrs: Vec<ipnet::IpNet>,
    /// Destination ports allowed; empty: 80 and 443.
    pub ports: Vec<u16>,
    /// Internal networks that may be reached (e.g. the cluster's service CIDR);
    /// every other internal address is denied, the metadata address always.
    pub internal_allowed_cidrs: Vec<ipnet::IpNet>,
    /// Look loopback addresses up in the geodb instead of treating them as
    /// internal: for tests on one machine with a test geodb, never in production.
    pub loopback_is_public: bool,
}

impl ProxyRules {
    /// The ports allowed (80 and 443 unless the policy says otherwise).
    pub fn allowed_port(&self, port: u16) -> bool {
        if self.ports.is_empty() {
            port == 80 || port == 443
        } else {
            self.ports.contains(&port)
        }
    }
}

/// Whether `host` matches `pattern`: exact (case-insensitive, trailing dot
/// ignored), or `*.suffix` for any name below `suffix` (not `suffix` itself).
pub fn host_matches(pattern: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.');
    let pattern = pattern.trim_end_matches('.');
    match pattern.strip_prefix("*.") {
        Some(suffix) => {
            host.len() > suffix.len() + 1
                && host
                    .get(host.len() - suffix.len()..)
                    .is_some_and(|t| t.eq_ignore_ascii_case(suffix))
                && host.as_bytes().get(host.len() - suffix.len() - 1) == Some(&b'.')
        }
        None => host.eq_ignore_ascii_case(pattern),
    }
}

/// A recipient approved for egress: its networks, and the basis its transfers rest on.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ApprovedRecipient {
    /// Approval id, e.g. `AR-2026-001`.
    pub id: String,
    /// Who it is (e.g. the e-mail vendor).
    pub name: String,
    /// Its networks.
    pub cidrs: Vec<ipnet::IpNet>,
    /// The basis (mechanism, TIA, measures); `expires` is required.
    pub basis: TransferBasis,
    /// Who approved it.
    pub approver: String,
    /// Ticket.
    pub ticket: String,
}

impl Policy {
    /// Severity of `rule` under this policy, `None` when switched off.
    pub fn severity(&self, rule: RuleId) -> Option<Severity> {
        match self.severities.get(&rule) {
            Some(s) => *s,
            None => Some(rule.default_severity()),
        }
    }
}

/// Matches `text` against `pattern`, where `*` stands for any run of characters.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return pattern == text;
    };
    if !pattern.contains('*') {
        return pattern == text;
    }
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = parts.collect();
    let Some((last, middle)) = pieces.split_last() else {
        return true;
    };
    for piece in middle {
        match rest.find(piece) {
            Some(i) => rest = rest.get(i + piece.len()..).unwrap_or(""),
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod test {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("a", "a"));
        assert!(!glob_match("a", "ab"));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("db-*", "db-primary"));
        assert!(!glob_match("db-*", "cache"));
        assert!(glob_match("*-backup", "db-backup"));
        assert!(glob_match("a*b*c", "a--b--c"));
        assert!(!glob_match("a*b*c", "a--c--b"));
        assert!(!glob_match("ab*ba", "aba"));
    }
}
