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
//!
//! Findings are sorted by (waived, severity, rule, subject, message), so the output
//! does not depend on input order. Messages are written into one buffer each: the
//! engine evaluates 10^5 assets in well under a second (see `benches/engine.rs`).

use super::country::Country;
use super::finding::{
    AssetVerdict, Evaluation, Finding, FindingLocation, Fingerprint, Summary, WaiverRef,
};
use super::legal::{AdequacyDecision, Class, LegalKnowledge, Standing};
use super::model::{Asset, Facts, Role, TransferBasis};
use super::policy::{ConditionalAdequacy, Policy, ProviderRequirement};
use super::rule::{RuleId, Severity};
use std::borrow::Cow;
use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use time::Date;

/// Evaluates every asset in `facts` against `policy` on the date `as_of`.
pub fn evaluate(facts: &Facts, policy: &Policy, legal: &LegalKnowledge, as_of: Date) -> Evaluation {
    // Only backups are compared with their source (RES008): index just those sources.
    let sources: HashSet<&str> = facts
        .assets
        .iter()
        .filter_map(|a| {
            a.copy_of
                .as_ref()
                .filter(|c| c.role == Role::Backup)
                .map(|c| c.source.as_str())
        })
        .collect();
    let by_id: HashMap<&str, &Asset> = if sources.is_empty() {
        HashMap::new()
    } else {
        facts
            .assets
            .iter()
            .filter(|a| sources.contains(a.id.as_str()))
            .map(|a| (a.id.as_str(), a))
            .collect()
    };
    let ctx = Ctx {
        policy,
        legal,
        as_of,
        standings: vec![Cell::new(None); 26 * 26],
    };
    // Evaluate in id order: verdicts come out sorted, and findings of assets
    // come out in subject order. A stable sort keeps (rejected upstream)
    // duplicate ids in input order.
    let mut order: Vec<usize> = (0..facts.assets.len()).collect();
    order.sort_by(|&a, &b| id_of(facts, a).cmp(id_of(facts, b)));
    let mut raw: Vec<Finding> = Vec::with_capacity(facts.assets.len());
    let mut verdicts = Vec::with_capacity(facts.assets.len());
    for (rank, asset) in order
        .iter()
        .filter_map(|&i| facts.assets.get(i))
        .enumerate()
    {
        let start = raw.len();
        verdicts.push(ctx.asset(asset, &by_id, &mut raw));
        for f in raw.get_mut(start..).unwrap_or_default() {
            f.asset_index = Some(rank);
        }
    }
    let mut findings = ctx.apply_waivers(raw);
    findings.retain_mut(|f| match policy.severity(f.rule) {
        Some(s) => {
            f.severity = if f.inferred && s == Severity::Error {
                Severity::Warning
            } else {
                s
            };
            true
        }
        None => false,
    });
    for f in &findings {
        let counts = f.waived.is_none() && f.severity != Severity::Info;
        if let (true, Some(v)) = (counts, f.asset_index.and_then(|i| verdicts.get_mut(i))) {
            v.compliant = false;
        }
    }
    // Sort small keys, then move each finding once. Within one asset the
    // evaluation order is deterministic, so the position breaks remaining ties.
    let mut keys: Vec<(u8, Severity, RuleId, usize, usize)> = findings
        .iter()
        .enumerate()
        .map(|(pos, f)| {
            (
                u8::from(f.waived.is_some()),
                f.severity,
                f.rule,
                f.asset_index.unwrap_or(usize::MAX),
                pos,
            )
        })
        .collect();
    keys.sort_unstable_by(|a, b| {
        (a.0, a.1, a.2, a.3)
            .cmp(&(b.0, b.1, b.2, b.3))
            .then_with(|| {
                let (fa, fb) = (findings.get(a.4), findings.get(b.4));
                match (a.3, fa, fb) {
                    (usize::MAX, Some(x), Some(y)) => x
                        .subject
                        .cmp(&y.subject)
                        .then_with(|| x.message.cmp(&y.message)),
                    _ => a.4.cmp(&b.4),
                }
            })
    });
    let mut slots: Vec<Option<Finding>> = findings.into_iter().map(Some).collect();
    let findings: Vec<Finding> = keys
        .iter()
        .filter_map(|k| slots.get_mut(k.4).and_then(Option::take))
        .map(|mut f| {
            f.asset_index = None;
            f
        })
        .collect();
    let summary = summarise(&findings, &verdicts);
    Evaluation {
        findings,
        assets: verdicts,
        summary,
    }
}

/// Whether transfers to `country` are allowed without a declared basis (EEA, policy
/// extras, adequacy): `Ok(label)` or `Err(reason)`, exactly as assets are judged.
pub(crate) fn judge_destination(
    policy: &Policy,
    legal: &LegalKnowledge,
    as_of: Date,
    country: Country,
) -> Result<Cow<'static, str>, String> {
    let ctx = Ctx {
        policy,
        legal,
        as_of,
        standings: vec![Cell::new(None); 26 * 26],
    };
    let recipient = Asset {
        id: String::new(),
        name: None,
        kind: None,
        role: Role::SubProcessor,
        location: super::model::Location::default(),
        operator: None,
        data: super::model::DataProfile {
            categories: vec!["user".into()],
            declared: true,
            special: false,
            inferred: false,
        },
        transfer: None,
        copy_of: None,
    };
    match ctx.judge(country, &recipient, None) {
        Judgement::Allowed(label) => Ok(label),
        Judgement::Uncertified(r) | Judgement::MissingSafeguards(r) | Judgement::Blocked(r) => {
            Err(r)
        }
    }
}

fn id_of(facts: &Facts, i: usize) -> &str {
    facts.assets.get(i).map_or("", |a| a.id.as_str())
}

fn summarise(findings: &[Finding], verdicts: &[AssetVerdict]) -> Summary {
    Summary::tally(
        findings,
        verdicts.len(),
        verdicts.iter().filter(|v| v.personal_data).count(),
    )
}

struct Ctx<'a> {
    policy: &'a Policy,
    legal: &'a LegalKnowledge,
    as_of: Date,
    /// Standing per country on `as_of`, filled on first use (indexed by `Country::index`).
    standings: Vec<Cell<Option<Standing<'a>>>>,
}

/// The outcome for one destination country.
enum Judgement {
    Allowed(Cow<'static, str>),
    Uncertified(String),
    MissingSafeguards(String),
    Blocked(String),
}

const RES003_FIX: &str = "Declare where it runs: a provider and region, a country, a site, or an address the geodb knows. \
    Until then it is treated as outside every allowed jurisdiction.";
const RES004_FIX: &str = "Declare the recipient's certification (`transfer.certification: {scheme: dpf, reference: <DPF List entry>}`) \
    after checking it is active for this data, or rely on SCCs with a TIA instead.";
const RES006_FIX: &str = "Record a transfer impact assessment (`transfer.tia: <reference>`) and the supplementary measures it relies on \
    (`transfer.supplementary_measures`, e.g. `encryption-keys-in-eea`), as EDPB Recommendations 01/2020 require.";
const RES007_FIX: &str =
    "Record the access risk in a TIA with supplementary measures (customer-held keys in the EEA), \
    or move the data to an EEA-headquartered provider.";
const RES008_FIX: &str = "Keep the backup in another site or region of the EEA (e.g. primary in Warsaw, backup in Strasbourg).";

impl<'a> Ctx<'a> {
    fn standing(&self, c: Country) -> Standing<'a> {
        let Some(cell) = self.standings.get(c.index()) else {
            return self.legal.standing(c, self.as_of);
        };
        match cell.get() {
            Some(s) => s,
            None => {
                let s = self.legal.standing(c, self.as_of);
                cell.set(Some(s));
                s
            }
        }
    }

    fn class(&self, c: Country) -> Class {
        match self.standing(c) {
            Standing::Eea => Class::Eea,
            Standing::Adequate(_) => Class::Adequate,
            Standing::Conditional(_) => Class::Conditional,
            Standing::ThirdCountry => Class::ThirdCountry,
        }
    }

    fn asset(
        &self,
        asset: &Asset,
        by_id: &HashMap<&str, &Asset>,
        out: &mut Vec<Finding>,
    ) -> AssetVerdict {
        let personal = asset.data.holds_personal();
        let countries = &asset.location.countries;
        let mut verdict = AssetVerdict {
            id: asset.id.clone(),
            role: asset.role,
            location: asset.location.describe(),
            countries: countries.clone(),
            class: countries
                .iter()
                .map(|c| self.class(*c))
                .max()
                .unwrap_or(Class::Unknown),
            personal_data: personal,
            basis: String::new(),
            compliant: true,
            transfer: None,
        };
        self.continuity(asset, by_id, out);
        if !personal {
            verdict.basis.push_str("no personal data");
            return verdict;
        }
        if countries.is_empty() {
            let reason = asset
                .location
                .unknown
                .as_deref()
                .unwrap_or("no location declared");
            let mut m = String::with_capacity(160);
            let _ = write!(
                m,
                "location of `{}` cannot be determined: {reason}; its personal data (",
                asset.id
            );
            asset.data.describe_into(&mut m);
            m.push_str(") may be anywhere");
            out.push(finding(
                RuleId::LocationUnknown,
                asset,
                m,
                Cow::Borrowed(RES003_FIX),
            ));
            verdict.basis.push_str("unknown location");
            return verdict;
        }
        let needs_basis = countries.iter().any(|c| {
            self.standing(*c) != Standing::Eea && !self.policy.extra_countries.contains(c)
        });
        let basis = if needs_basis {
            self.select_basis(asset, out)
        } else {
            None
        };
        verdict.transfer.clone_from(&basis);
        let mut allowed: Vec<Cow<'static, str>> = Vec::new();
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
        for (i, a) in allowed.iter().enumerate() {
            if i > 0 {
                verdict.basis.push_str("; ");
            }
            verdict.basis.push_str(a);
        }
        if !blocked.is_empty() {
            out.push(self.outside(asset, &blocked));
            verdict.basis = "none".into();
        }
        if !uncertified.is_empty() {
            let mut m = String::with_capacity(200);
            let _ = write!(m, "`{}` relies on conditional adequacy for ", asset.id);
            push_reasons(&mut m, &uncertified);
            out.push(finding(
                RuleId::ConditionalAdequacyUncertified,
                asset,
                m,
                Cow::Borrowed(RES004_FIX),
            ));
            verdict.basis = "conditional adequacy without certification".into();
        }
        if !missing.is_empty() {
            let mut m = String::with_capacity(200);
            let _ = write!(m, "transfer of `{}` to ", asset.id);
            push_reasons(&mut m, &missing);
            out.push(finding(
                RuleId::TransferWithoutTia,
                asset,
                m,
                Cow::Borrowed(RES006_FIX),
            ));
        }
        if blocked.is_empty() && uncertified.is_empty() && missing.is_empty() {
            self.provider(asset, out);
        }
        verdict
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
                        Cow::Owned(format!(
                            "Re-assess the transfer (TIA, measures) and renew `{}` with a new expiry, or stop the transfer.",
                            ap.id
                        )),
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
                    Cow::Borrowed("Re-assess the transfer and update `transfer.expires`, or stop the transfer."),
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
        let standing = self.standing(c);
        if standing == Standing::Eea {
            return Judgement::Allowed(Cow::Borrowed("EEA"));
        }
        if p.extra_countries.contains(&c) {
            return Judgement::Allowed(Cow::Owned(format!("{c} allowed by policy `{}`", p.name)));
        }
        let mut notes: Vec<String> = Vec::new();
        match standing {
            Standing::Eea => {}
            Standing::Adequate(d) if p.adequacy => match excluded(d, asset) {
                None => {
                    return Judgement::Allowed(Cow::Owned(format!("adequacy: {}", d.reference)))
                }
                Some(cat) => notes.push(format!(
                    "{c} adequacy ({}) excludes `{cat}`: {}",
                    d.reference, d.scope_note
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
                        Ok(why) => return Judgement::Allowed(Cow::Owned(why)),
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
            Judgement::Allowed(Cow::Owned(label))
        } else {
            Judgement::MissingSafeguards(format!(
                "{label} lacks {} (CJEU C-311/18 Schrems II)",
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
        let recipients = d.recipients.as_deref().unwrap_or("certified recipients");
        match basis.and_then(|b| b.certification.as_ref()) {
            Some(c) if c.scheme.eq_ignore_ascii_case(scheme) => match c.valid_until {
                Some(until) if until < self.as_of => Err(format!(
                    "the recipient's `{scheme}` certification lapsed on {until} ({} covers only {recipients})",
                    d.reference
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
                "{} adequacy ({}) covers only {recipients}; no `{scheme}` certification of the recipient is declared",
                d.jurisdiction, d.reference
            )),
        }
    }

    /// RES001 / RES002 / RES005 for countries that nothing allows.
    fn outside(&self, asset: &Asset, blocked: &[(Country, String)]) -> Finding {
        let p = self.policy;
        let mut m = String::with_capacity(256);
        let rule = match (asset.role, &asset.copy_of) {
            (Role::SubProcessor, _) => {
                let _ = write!(m, "sub-processor `{}` receives personal data (", asset.id);
                asset.data.describe_into(&mut m);
                m.push_str(") in ");
                push_blocked_countries(&mut m, blocked);
                m.push_str(" without a valid transfer mechanism: ");
                RuleId::TransferWithoutMechanism
            }
            (role, copy) if role.is_copy() || copy.is_some() => {
                let kind = copy.as_ref().map(|c| c.role).unwrap_or(role);
                let _ = write!(m, "{} `{}`", kind.as_str(), asset.id);
                if let Some(c) = copy {
                    let _ = write!(m, " of `{}`", c.source);
                }
                m.push_str(" keeps personal data (");
                asset.data.describe_into(&mut m);
                m.push_str(") in ");
                push_blocked_countries(&mut m, blocked);
                m.push_str(" (");
                asset.location.describe_into(&mut m);
                m.push_str("), outside the allowed jurisdictions: ");
                RuleId::CopyOutsideAllowed
            }
            _ => {
                let _ = write!(
                    m,
                    "`{}` ({}) holds personal data (",
                    asset.id,
                    asset.role.as_str()
                );
                asset.data.describe_into(&mut m);
                m.push_str(") in ");
                push_blocked_countries(&mut m, blocked);
                m.push_str(" (");
                asset.location.describe_into(&mut m);
                m.push_str("), outside the allowed jurisdictions: ");
                RuleId::StorageOutsideAllowed
            }
        };
        push_only_reasons(&mut m, blocked);
        if asset.data.special {
            m.push_str(" (includes special-category data, Art. 9/10)");
        }
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
        let mut f = finding(rule, asset, m, Cow::Owned(remediation));
        f.related = asset.copy_of.as_ref().map(|c| c.source.clone());
        if let (Some(loc), [(only, _)]) = (&mut f.location, blocked) {
            loc.country = Some(*only);
        }
        f
    }

    /// RES007: the provider's parent answers to laws that reach data abroad.
    fn provider(&self, asset: &Asset, out: &mut Vec<Finding>) {
        let Some(op) = &asset.operator else { return };
        let mut m = String::with_capacity(220);
        let _ = write!(
            m,
            "`{}` is operated by {} (headquarters {})",
            asset.id, op.name, op.headquarters
        );
        match self.policy.providers {
            ProviderRequirement::Any => return,
            ProviderRequirement::NoForeignAccessLaw if op.foreign_access_laws.is_empty() => return,
            // Data in the provider's home country is a transfer there, judged above.
            ProviderRequirement::NoForeignAccessLaw
                if asset.location.countries.contains(&op.headquarters) =>
            {
                return
            }
            ProviderRequirement::NoForeignAccessLaw => {
                m.push_str(", subject to ");
                for (i, law) in op.foreign_access_laws.iter().enumerate() {
                    if i > 0 {
                        m.push_str(", ");
                    }
                    m.push_str(law);
                }
                m.push_str(": data in ");
                asset.location.describe_into(&mut m);
                m.push_str(" can still be compelled from abroad");
            }
            ProviderRequirement::EeaHeadquarters if op.eu_headquartered => return,
            ProviderRequirement::EeaHeadquarters => {
                let _ = write!(
                    m,
                    ", and policy `{}` requires EEA-headquartered providers",
                    self.policy.name
                );
            }
        }
        out.push(finding(
            RuleId::ForeignJurisdictionProvider,
            asset,
            m,
            Cow::Borrowed(RES007_FIX),
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
                Cow::Borrowed(RES008_FIX),
            );
            f.related = Some(source.id.clone());
            out.push(f);
        }
    }

    fn apply_waivers(&self, mut findings: Vec<Finding>) -> Vec<Finding> {
        if self.policy.waivers.is_empty() {
            return findings;
        }
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
                f.waived = Some(Box::new(WaiverRef {
                    id: w.id.clone(),
                    approver: w.approver.clone(),
                    ticket: w.ticket.clone(),
                    expires: w.expires.to_string(),
                    reason: w.reason.clone(),
                }));
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
                    Cow::Owned(format!(
                        "Fix the findings, or renew `{}` with a new approver decision and expiry.",
                        w.id
                    )),
                    &[],
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
                    Cow::Owned(format!(
                        "Remove `{}` from the policy, or correct its rules or subjects.",
                        w.id
                    )),
                    &[],
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
            d.excluded_categories.iter().any(|x| {
                c.as_str() == x
                    || (c.len() > x.len()
                        && c.starts_with(x.as_str())
                        && c.as_bytes().get(x.len()) == Some(&b'.'))
            })
        })
        .map(String::as_str)
}

fn push_blocked_countries(m: &mut String, items: &[(Country, String)]) {
    for (i, (c, _)) in items.iter().enumerate() {
        if i > 0 {
            m.push_str(", ");
        }
        m.push_str(c.as_str());
    }
}

/// Appends the distinct reasons, `; `-separated.
fn push_only_reasons(m: &mut String, items: &[(Country, String)]) {
    let mut last: Option<&str> = None;
    for (_, r) in items {
        if last == Some(r.as_str()) {
            continue;
        }
        if last.is_some() {
            m.push_str("; ");
        }
        m.push_str(r);
        last = Some(r);
    }
}

/// Appends `US, CA: reason; reason`.
fn push_reasons(m: &mut String, items: &[(Country, String)]) {
    push_blocked_countries(m, items);
    m.push_str(": ");
    push_only_reasons(m, items);
}

fn finding(
    rule: RuleId,
    asset: &Asset,
    mut message: String,
    remediation: Cow<'static, str>,
) -> Finding {
    let loc = &asset.location;
    if asset.data.inferred {
        message.push_str(" (resource type ");
        message.push_str(asset.kind.as_deref().unwrap_or("unknown"));
        message.push_str(" is not in the catalogue: assumed to process personal data; a warning until classified)");
    }
    let mut f = bare_finding(
        rule,
        &asset.id,
        asset.role.as_str(),
        message,
        remediation,
        &loc.countries,
    );
    f.inferred = asset.data.inferred;
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
    f
}

fn bare_finding(
    rule: RuleId,
    subject: &str,
    kind: &'static str,
    message: String,
    remediation: Cow<'static, str>,
    countries: &[Country],
) -> Finding {
    Finding {
        rule,
        name: rule.name(),
        severity: rule.default_severity(),
        subject: subject.to_string(),
        subject_kind: kind,
        location: None,
        message,
        article: rule.article(),
        remediation,
        related: None,
        waived: None,
        fingerprint: fingerprint(rule, subject, countries),
        asset_index: None,
        inferred: false,
    }
}

/// Stable across runs, versions and unrelated edits: FNV-1a (64 bit) over the
/// rule id, the subject and the countries.
pub(crate) fn fingerprint(rule: RuleId, subject: &str, countries: &[Country]) -> Fingerprint {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(PRIME);
        }
    };
    eat(rule.code().as_bytes());
    eat(&[0]);
    eat(subject.as_bytes());
    for c in countries {
        eat(&[0]);
        eat(&c.bytes());
    }
    Fingerprint(h)
}

#[cfg(test)]
mod test {
    use super::fingerprint;
    use crate::engine::{Country, RuleId};

    #[test]
    fn fingerprints_are_stable() {
        // Pinned: baselines written by earlier runs must keep matching.
        let de = Country::new("DE").unwrap();
        assert_eq!(
            fingerprint(RuleId::StorageOutsideAllowed, "db", &[de])
                .to_string()
                .len(),
            16
        );
        assert_eq!(
            fingerprint(RuleId::StorageOutsideAllowed, "db", &[de]),
            fingerprint(RuleId::StorageOutsideAllowed, "db", &[de])
        );
        assert_ne!(
            fingerprint(RuleId::StorageOutsideAllowed, "db", &[de]),
            fingerprint(RuleId::CopyOutsideAllowed, "db", &[de])
        );
        assert_eq!(
            fingerprint(RuleId::LocationUnknown, "", &[]).to_string(),
            "26e586dd26e73322"
        );
    }
}
