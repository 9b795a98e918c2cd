//! `evaluate`: facts, policy, legal knowledge and a date in; sorted findings out.
//!
//! Order of checks for one asset holding personal data:
//! 1. no country known -> RES003 (fail closed);
//! 2. per country: EEA, then policy extras, then adequacy in force on the date
//!    (conditional adequacy needs the recipient's certification, RES004), then the
//!    declared or approved Art. 46/49 basis (TIA and measures, RES006; expired, RES010);
//!    nothing left -> RES001 (stores), RES002 (replicas, backups), RES005 (sub-processors);
//! 3. location allowed -> provider jurisdiction (RES007).
//!
//! Backups sharing a failure domain with their source give RES008 whatever the data.
//! Waivers apply last: a waived finding stays in the output, marked; an expired
//! waiver stops waiving and adds RES009; an unused one adds RES011.

use super::country::Country;
use super::finding::{AssetVerdict, Evaluation, Finding, FindingLocation, Summary, WaiverRef};
use super::legal::{AdequacyDecision, Class, LegalKnowledge, Standing};
use super::model::{Asset, Facts, Role, TransferBasis};
use super::policy::{ConditionalAdequacy, Policy, ProviderRequirement};
use super::rule::{RuleId, Severity};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use time::Date;

/// Evaluates every asset in `facts` against `policy` on the date `as_of`.
pub fn evaluate(facts: &Facts, policy: &Policy, legal: &LegalKnowledge, as_of: Date) -> Evaluation {
    let by_id: HashMap<&str, &Asset> = facts.assets.iter().map(|a| (a.id.as_str(), a)).collect();
    let mut raw = Vec::new();
    let mut verdicts = Vec::with_capacity(facts.assets.len());
    let ctx = Ctx {
        policy,
        legal,
        as_of,
    };
    for asset in &facts.assets {
        verdicts.push(ctx.asset(asset, &by_id, &mut raw));
    }
    let mut findings = ctx.apply_waivers(raw);
    findings.retain_mut(|f| match policy.severity(f.rule) {
        Some(s) => {
            f.severity = s;
            true
        }
        None => false,
    });
    findings.sort_by(|a, b| {
        (
            a.waived.is_some(),
            a.severity,
            a.rule,
            &a.subject,
            &a.message,
        )
            .cmp(&(
                b.waived.is_some(),
                b.severity,
                b.rule,
                &b.subject,
                &b.message,
            ))
    });
    let failing: HashSet<&str> = findings
        .iter()
        .filter(|f| f.waived.is_none() && f.severity != Severity::Info)
        .map(|f| f.subject.as_str())
        .collect();
    for v in &mut verdicts {
        v.compliant = !failing.contains(v.id.as_str());
    }
    verdicts.sort_by(|a, b| a.id.cmp(&b.id));
    let summary = summarise(&findings, &verdicts);
    Evaluation {
        findings,
        assets: verdicts,
        summary,
    }
}

fn summarise(findings: &[Finding], verdicts: &[AssetVerdict]) -> Summary {
    let mut s = Summary {
        assets: verdicts.len(),
        personal_data_assets: verdicts.iter().filter(|v| v.personal_data).count(),
        findings: findings.len(),
        ..Summary::default()
    };
    for f in findings {
        if f.waived.is_some() {
            s.waived += 1;
            continue;
        }
        match f.severity {
            Severity::Error => s.errors += 1,
            Severity::Warning => s.warnings += 1,
            Severity::Info => s.info += 1,
        }
    }
    s.compliant = s.errors == 0;
    s
}

struct Ctx<'a> {
    policy: &'a Policy,
    legal: &'a LegalKnowledge,
    as_of: Date,
}

/// The outcome for one destination country.
enum Judgement {
    Allowed(String),
    Uncertified(String),
    MissingSafeguards(String),
    Blocked(String),
}

impl Ctx<'_> {
    fn asset(
        &self,
        asset: &Asset,
        by_id: &HashMap<&str, &Asset>,
        out: &mut Vec<Finding>,
    ) -> AssetVerdict {
        let personal = asset.data.holds_personal();
        let countries = &asset.location.countries;
        let class = self.worst_class(countries);
        let mut verdict = AssetVerdict {
            id: asset.id.clone(),
            role: asset.role,
            location: asset.location.describe(),
            countries: countries.clone(),
            class,
            personal_data: personal,
            basis: String::new(),
            compliant: true,
        };
        self.continuity(asset, by_id, out);
        if !personal {
            verdict.basis = "no personal data".into();
            return verdict;
        }
        if countries.is_empty() {
            let reason = asset
                .location
                .unknown
                .as_deref()
                .unwrap_or("no location declared");
            out.push(finding(
                RuleId::LocationUnknown,
                asset,
                format!(
                    "location of `{}` cannot be determined: {reason}; its personal data ({}) may be anywhere",
                    asset.id,
                    asset.data.describe()
                ),
                "Declare where it runs: a provider and region, a country, a site, or an address the geodb knows. \
                 Until then it is treated as outside every allowed jurisdiction."
                    .into(),
            ));
            verdict.basis = "unknown location".into();
            return verdict;
        }
        let needs_basis = countries
            .iter()
            .any(|c| !self.legal.is_eea(*c) && !self.policy.extra_countries.contains(c));
        let basis = if needs_basis {
            self.select_basis(asset, out)
        } else {
            None
        };
        let mut allowed = Vec::new();
        let mut uncertified = Vec::new();
        let mut missing = Vec::new();
        let mut blocked = Vec::new();
        for &c in countries {
            match self.judge(c, asset, basis.as_ref()) {
                Judgement::Allowed(why) => allowed.push(why),
                Judgement::Uncertified(why) => uncertified.push((c, why)),
                Judgement::MissingSafeguards(why) => missing.push((c, why)),
                Judgement::Blocked(why) => blocked.push((c, why)),
            }
        }
        allowed.sort();
        allowed.dedup();
        verdict.basis = allowed.join("; ");
        if !blocked.is_empty() {
            out.push(self.outside(asset, &blocked));
            verdict.basis = "none".into();
        }
        if !uncertified.is_empty() {
            out.push(finding(
                RuleId::ConditionalAdequacyUncertified,
                asset,
                format!(
                    "`{}` relies on conditional adequacy for {}: {}",
                    asset.id,
                    list_countries(&uncertified),
                    join_reasons(&uncertified)
                ),
                "Declare the recipient's certification (`transfer.certification: {scheme: dpf, reference: <DPF List entry>}`) \
                 after checking it is active for this data, or rely on SCCs with a TIA instead."
                    .into(),
            ));
            verdict.basis = "conditional adequacy without certification".into();
        }
        if !missing.is_empty() {
            out.push(finding(
                RuleId::TransferWithoutTia,
                asset,
                format!(
                    "transfer of `{}` to {}: {}",
                    asset.id,
                    list_countries(&missing),
                    join_reasons(&missing)
                ),
                "Record a transfer impact assessment (`transfer.tia: <reference>`) and the supplementary measures it relies on \
                 (`transfer.supplementary_measures`, e.g. `encryption-keys-in-eea`), as EDPB Recommendations 01/2020 require."
                    .into(),
            ));
        }
        if blocked.is_empty() && uncertified.is_empty() && missing.is_empty() {
            self.provider(asset, out);
        }
        verdict
    }

    fn worst_class(&self, countries: &[Country]) -> Class {
        countries
            .iter()
            .map(|c| self.legal.class(*c, self.as_of))
            .max()
            .unwrap_or(Class::Unknown)
    }

    /// The basis for a transfer: a valid approval first, then the inventory's declaration.
    fn select_basis(&self, asset: &Asset, out: &mut Vec<Finding>) -> Option<TransferBasis> {
        let countries = &asset.location.countries;
        for ap in self
            .policy
            .approvals
            .iter()
            .filter(|a| a.covers(&asset.id, countries))
        {
            match ap.basis.expires {
                Some(e) if e < self.as_of => {
                    let mut f = finding(
                        RuleId::ApprovalExpired,
                        asset,
                        format!(
                            "approved transfer `{}` for `{}` expired on {e}; it no longer supplies a transfer basis",
                            ap.id, asset.id
                        ),
                        format!(
                            "Re-assess the transfer (TIA, measures) and renew `{}` with a new expiry, or stop the transfer.",
                            ap.id
                        ),
                    );
                    f.related = Some(ap.id.clone());
                    out.push(f);
                }
                _ => return Some(ap.basis.clone()),
            }
        }
        let basis = asset.transfer.as_ref()?;
        if let Some(e) = basis.expires {
            if e < self.as_of {
                out.push(finding(
                    RuleId::ApprovalExpired,
                    asset,
                    format!(
                        "the {} basis declared for `{}` expired on {e}; it no longer covers the transfer",
                        basis.mechanism.as_str(),
                        asset.id
                    ),
                    "Re-assess the transfer and update `transfer.expires`, or stop the transfer.".into(),
                ));
                return None;
            }
        }
        Some(basis.clone())
    }

    fn judge(&self, c: Country, asset: &Asset, basis: Option<&TransferBasis>) -> Judgement {
        let p = self.policy;
        if p.denied_countries.contains(&c) {
            return Judgement::Blocked(format!("policy `{}` denies {c}", p.name));
        }
        let standing = self.legal.standing(c, self.as_of);
        if standing == Standing::Eea {
            return Judgement::Allowed("EEA".into());
        }
        if p.extra_countries.contains(&c) {
            return Judgement::Allowed(format!("{c} allowed by policy `{}`", p.name));
        }
        let mut notes: Vec<String> = Vec::new();
        match standing {
            Standing::Eea => {}
            Standing::Adequate(d) if p.adequacy => match excluded(d, asset) {
                None => return Judgement::Allowed(format!("adequacy: {}", d.reference)),
                Some(cat) => notes.push(format!(
                    "{} adequacy ({}) excludes `{cat}`: {}",
                    c, d.reference, d.scope_note
                )),
            },
            Standing::Adequate(d) => notes.push(format!(
                "{c} has an adequacy decision ({}) but policy `{}` does not accept adequacy",
                d.reference, p.name
            )),
            Standing::Conditional(d) => {
                if !p.adequacy || p.conditional_adequacy == ConditionalAdequacy::Never {
                    notes.push(format!(
                        "{c} adequacy ({}) is conditional and policy `{}` does not accept it",
                        d.reference, p.name
                    ));
                } else {
                    match self.certified(d, basis) {
                        Ok(why) => return Judgement::Allowed(why),
                        Err(why) if basis.is_some_and(|b| b.mechanism.is_adequacy()) => {
                            return Judgement::Uncertified(why)
                        }
                        Err(why) => notes.push(why),
                    }
                }
            }
            Standing::ThirdCountry => notes.push(match self.legal.lapsed_decision(c, self.as_of) {
                Some(d) if d.in_force_from > self.as_of => format!(
                    "{c} has no adequacy decision in force on {} ({} applies from {})",
                    self.as_of, d.reference, d.in_force_from
                ),
                Some(d) => format!(
                    "{c} has no adequacy decision in force on {} ({} {})",
                    self.as_of,
                    d.reference,
                    match (d.invalidated, d.expires) {
                        (Some(i), _) => format!("was invalidated on {i}"),
                        (None, Some(e)) => format!("expired on {e}"),
                        (None, None) => "is not in force".to_string(),
                    }
                ),
                None => format!("{c} has no adequacy decision"),
            }),
        }
        let Some(b) = basis else {
            notes.push("no transfer mechanism is declared".into());
            return Judgement::Blocked(notes.join("; "));
        };
        if b.mechanism.is_adequacy() {
            notes.push(format!(
                "the declared `{}` basis does not apply",
                b.mechanism.as_str()
            ));
            return Judgement::Blocked(notes.join("; "));
        }
        if !p.mechanisms.contains(&b.mechanism) {
            notes.push(format!(
                "policy `{}` does not accept `{}` ({}) transfers",
                p.name,
                b.mechanism.as_str(),
                b.mechanism.article()
            ));
            return Judgement::Blocked(notes.join("; "));
        }
        let mut lacks = Vec::new();
        if p.require_tia && b.tia.as_deref().is_none_or(|t| t.trim().is_empty()) {
            lacks.push("a transfer impact assessment (TIA) reference");
        }
        if p.require_supplementary_measures && b.supplementary_measures.is_empty() {
            lacks.push("supplementary measures");
        }
        let label = format!(
            "{} ({}){}",
            b.mechanism.as_str(),
            b.mechanism.article(),
            b.tia
                .as_ref()
                .map(|t| format!(", TIA {t}"))
                .unwrap_or_default()
        );
        if lacks.is_empty() {
            Judgement::Allowed(label)
        } else {
            Judgement::MissingSafeguards(format!(
                "{c}: {label} lacks {} (CJEU C-311/18 Schrems II)",
                lacks.join(" and ")
            ))
        }
    }

    /// Whether `basis` declares a valid certification for conditional decision `d`.
    fn certified(
        &self,
        d: &AdequacyDecision,
        basis: Option<&TransferBasis>,
    ) -> Result<String, String> {
        let scheme = d.scheme.as_deref().unwrap_or("certification");
        let cert = basis.and_then(|b| b.certification.as_ref());
        match cert {
            Some(c) if c.scheme.eq_ignore_ascii_case(scheme) => match c.valid_until {
                Some(until) if until < self.as_of => Err(format!(
                    "the recipient's `{scheme}` certification lapsed on {until} ({} covers only {})",
                    d.reference,
                    d.recipients.as_deref().unwrap_or("certified recipients")
                )),
                _ => Ok(format!(
                    "adequacy: {} (certified recipient{})",
                    d.reference,
                    c.reference.as_ref().map(|r| format!(" {r}")).unwrap_or_default()
                )),
            },
            Some(c) => Err(format!(
                "{} covers only recipients certified under `{scheme}`, but the declared certification is `{}`",
                d.reference, c.scheme
            )),
            None => Err(format!(
                "{} adequacy ({}) covers only {}; no `{scheme}` certification of the recipient is declared",
                d.jurisdiction,
                d.reference,
                d.recipients.as_deref().unwrap_or("certified recipients")
            )),
        }
    }

    /// RES001 / RES002 / RES005 for countries that nothing allows.
    fn outside(&self, asset: &Asset, blocked: &[(Country, String)]) -> Finding {
        let p = self.policy;
        let (rule, message) = match (asset.role, &asset.copy_of) {
            (Role::SubProcessor, _) => (
                RuleId::TransferWithoutMechanism,
                format!(
                    "sub-processor `{}` receives personal data ({}) in {} without a valid transfer mechanism: {}",
                    asset.id,
                    asset.data.describe(),
                    list_countries(blocked),
                    join_reasons(blocked)
                ),
            ),
            (role, copy) if role.is_copy() || copy.is_some() => {
                let of = copy
                    .as_ref()
                    .map(|c| format!(" of `{}`", c.source))
                    .unwrap_or_default();
                let kind = copy.as_ref().map(|c| c.role).unwrap_or(role);
                (
                    RuleId::CopyOutsideAllowed,
                    format!(
                        "{} `{}`{of} keeps personal data ({}) in {} ({}), outside the allowed jurisdictions: {}",
                        kind.as_str(),
                        asset.id,
                        asset.data.describe(),
                        list_countries(blocked),
                        asset.location.describe(),
                        join_reasons(blocked)
                    ),
                )
            }
            _ => (
                RuleId::StorageOutsideAllowed,
                format!(
                    "`{}` ({}) holds personal data ({}) in {} ({}), outside the allowed jurisdictions: {}",
                    asset.id,
                    asset.role.as_str(),
                    asset.data.describe(),
                    list_countries(blocked),
                    asset.location.describe(),
                    join_reasons(blocked)
                ),
            ),
        };
        let message = if asset.data.special {
            format!("{message} (includes special-category data, Art. 9/10)")
        } else {
            message
        };
        let alternatives = if asset.location.alternatives.is_empty() {
            String::new()
        } else {
            format!(" (e.g. {})", asset.location.alternatives.join(", "))
        };
        let remediation = if p.mechanisms.is_empty() {
            format!(
                "Move `{}` to the EEA{alternatives}: policy `{}` accepts no third-country transfer. \
                 A waiver needs an approver, a ticket and an expiry.",
                asset.id, p.name
            )
        } else {
            let tools: Vec<&str> = p.mechanisms.iter().map(|m| m.as_str()).collect();
            format!(
                "Move `{}` to an allowed location{alternatives}, or declare the transfer basis \
                 (`transfer: {{mechanism: {}, tia: <ref>, supplementary_measures: [...]}}`; policy `{}` accepts {}).",
                asset.id,
                tools.first().copied().unwrap_or("scc"),
                p.name,
                tools.join(", ")
            )
        };
        let mut f = finding(rule, asset, message, remediation);
        f.related = asset.copy_of.as_ref().map(|c| c.source.clone());
        if let Some(loc) = &mut f.location {
            let only: Vec<Country> = blocked.iter().map(|(c, _)| *c).collect();
            if only.len() == 1 {
                loc.country = only.first().copied();
            }
        }
        f
    }

    /// RES007: the provider's parent answers to laws that reach data abroad.
    fn provider(&self, asset: &Asset, out: &mut Vec<Finding>) {
        let Some(op) = &asset.operator else { return };
        let reason = match self.policy.providers {
            ProviderRequirement::Any => return,
            ProviderRequirement::NoForeignAccessLaw if op.foreign_access_laws.is_empty() => return,
            // Data in the provider's home country is a transfer there, judged above.
            ProviderRequirement::NoForeignAccessLaw if asset.location.countries.contains(&op.headquarters) => {
                return
            }
            ProviderRequirement::NoForeignAccessLaw => format!(
                "is operated by {} (headquarters {}), subject to {}: data in {} can still be compelled from abroad",
                op.name,
                op.headquarters,
                op.foreign_access_laws.join(", "),
                asset.location.describe()
            ),
            ProviderRequirement::EeaHeadquarters if op.eu_headquartered => return,
            ProviderRequirement::EeaHeadquarters => format!(
                "is operated by {} (headquarters {}), and policy `{}` requires EEA-headquartered providers",
                op.name, op.headquarters, self.policy.name
            ),
        };
        out.push(finding(
            RuleId::ForeignJurisdictionProvider,
            asset,
            format!("`{}` {reason}", asset.id),
            "Record the access risk in a TIA with supplementary measures (customer-held keys in the EEA), \
             or move the data to an EEA-headquartered provider."
                .into(),
        ));
    }

    /// RES008: a backup in the same failure domain as its source.
    fn continuity(&self, asset: &Asset, by_id: &HashMap<&str, &Asset>, out: &mut Vec<Finding>) {
        let Some(copy) = &asset.copy_of else { return };
        if copy.role != Role::Backup {
            return;
        }
        let Some(source) = by_id.get(copy.source.as_str()) else {
            return;
        };
        let (Some(a), Some(b)) = (
            &asset.location.failure_domain,
            &source.location.failure_domain,
        ) else {
            return;
        };
        if a == b {
            let mut f = finding(
                RuleId::SharedFailureDomain,
                asset,
                format!(
                    "backup `{}` shares failure domain `{a}` with its source `{}`: one incident can take both",
                    asset.id, source.id
                ),
                "Keep the backup in another site or region of the EEA (e.g. primary in Warsaw, backup in Strasbourg).".into(),
            );
            f.related = Some(source.id.clone());
            out.push(f);
        }
    }

    fn apply_waivers(&self, mut findings: Vec<Finding>) -> Vec<Finding> {
        let mut used = vec![false; self.policy.waivers.len()];
        for f in &mut findings {
            if !f.rule.waivable() {
                continue;
            }
            for (i, w) in self.policy.waivers.iter().enumerate() {
                if w.expires < self.as_of || !w.covers(f.rule, &f.subject) {
                    continue;
                }
                if let Some(u) = used.get_mut(i) {
                    *u = true;
                }
                f.waived = Some(WaiverRef {
                    id: w.id.clone(),
                    approver: w.approver.clone(),
                    ticket: w.ticket.clone(),
                    expires: w.expires.to_string(),
                    reason: w.reason.clone(),
                });
                break;
            }
        }
        for (w, used) in self.policy.waivers.iter().zip(used) {
            let rules: Vec<&str> = w.rules.iter().map(|r| r.code()).collect();
            if w.expires < self.as_of {
                findings.push(bare_finding(
                    RuleId::WaiverExpired,
                    &w.id,
                    "waiver",
                    format!(
                        "waiver `{}` ({} on {}, approved by {}, {}) expired on {}; the findings it covered count again",
                        w.id,
                        rules.join(", "),
                        w.subjects.join(", "),
                        w.approver,
                        w.ticket,
                        w.expires
                    ),
                    format!(
                        "Fix the findings, or renew `{}` with a new approver decision and expiry.",
                        w.id
                    ),
                ));
            } else if !used {
                findings.push(bare_finding(
                    RuleId::WaiverUnused,
                    &w.id,
                    "waiver",
                    format!(
                        "waiver `{}` ({} on {}) matches no finding",
                        w.id,
                        rules.join(", "),
                        w.subjects.join(", ")
                    ),
                    format!(
                        "Remove `{}` from the policy, or correct its rules or subjects.",
                        w.id
                    ),
                ));
            }
        }
        findings
    }
}

/// The first category of `asset` that decision `d` excludes.
fn excluded<'a>(d: &AdequacyDecision, asset: &'a Asset) -> Option<&'a str> {
    asset
        .data
        .categories
        .iter()
        .find(|c| {
            d.excluded_categories
                .iter()
                .any(|x| c.as_str() == x || c.starts_with(&format!("{x}.")))
        })
        .map(String::as_str)
}

fn list_countries(items: &[(Country, String)]) -> String {
    let v: Vec<&str> = items.iter().map(|(c, _)| c.as_str()).collect();
    v.join(", ")
}

fn join_reasons(items: &[(Country, String)]) -> String {
    let mut v: Vec<&str> = items.iter().map(|(_, r)| r.as_str()).collect();
    v.dedup();
    v.join("; ")
}

fn finding(rule: RuleId, asset: &Asset, message: String, remediation: String) -> Finding {
    let loc = &asset.location;
    let mut f = bare_finding(rule, &asset.id, asset.role.as_str(), message, remediation);
    f.location = Some(FindingLocation {
        provider: loc.provider.clone(),
        region: loc.region.clone(),
        country: match loc.countries.as_slice() {
            [one] => Some(*one),
            _ => None,
        },
        countries: loc.countries.clone(),
        source: loc.source.clone(),
    });
    f.fingerprint = fingerprint(rule, &asset.id, &loc.countries);
    f
}

fn bare_finding(
    rule: RuleId,
    subject: &str,
    kind: &str,
    message: String,
    remediation: String,
) -> Finding {
    Finding {
        rule,
        name: rule.name(),
        severity: rule.default_severity(),
        subject: subject.to_string(),
        subject_kind: kind.to_string(),
        location: None,
        message,
        article: rule.article(),
        remediation,
        related: None,
        waived: None,
        fingerprint: fingerprint(rule, subject, &[]),
    }
}

/// Stable across runs and unrelated edits: rule, subject and countries only.
fn fingerprint(rule: RuleId, subject: &str, countries: &[Country]) -> String {
    let mut h = Sha256::new();
    h.update(rule.code().as_bytes());
    h.update([0]);
    h.update(subject.as_bytes());
    for c in countries {
        h.update([0]);
        h.update(c.as_str().as_bytes());
    }
    let digest = h.finalize();
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}
