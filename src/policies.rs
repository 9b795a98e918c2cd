//! Policy files (TOML): the presets in `policies/` and users' own files that
//! extend them. Raw (strict, spanned) -> validated `engine::Policy`.

use crate::engine::{
    ApprovedTransfer, ConditionalAdequacy, Country, Mechanism, Policy, ProviderRequirement, RuleId,
    Severity, Waiver,
};
use crate::error::{did_you_mean, line_col, InputError};
use crate::inputs::inventory::{transfer_basis, RawCertification, RawTransfer};
use crate::knowledge::countries::parse_country;
use crate::knowledge::parse_date;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use time::Date;
use toml::Spanned;

/// The shipped presets: name and TOML text.
pub const PRESETS: [(&str, &str); 3] = [
    ("gdpr", include_str!("../policies/gdpr.toml")),
    ("eea-only", include_str!("../policies/eea-only.toml")),
    ("sovereign", include_str!("../policies/sovereign.toml")),
];

/// The default preset.
pub const DEFAULT: &str = "gdpr";

/// A loaded policy with its provenance.
#[derive(Debug, Clone)]
pub struct LoadedPolicy {
    /// The validated policy.
    pub policy: Policy,
    /// Where it came from: the chain of files and presets, child first.
    pub chain: Vec<String>,
    /// SHA-256 of the resolved policy (canonical JSON), for the evidence record.
    pub hash: String,
    /// Classification per Terraform resource-type pattern (`none`, `personal`, `special`, `stores`, `processes`).
    pub resource_types: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    policy: RawHeader,
    #[serde(default)]
    jurisdictions: Option<RawJurisdictions>,
    #[serde(default)]
    transfers: Option<RawTransfers>,
    #[serde(default)]
    providers: Option<RawProviders>,
    #[serde(default)]
    severity: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    approved_transfer: Vec<RawApproval>,
    #[serde(default)]
    waiver: Vec<RawWaiver>,
    #[serde(default)]
    resource_types: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    egress: Option<RawEgress>,
    #[serde(default)]
    proxy: Option<RawProxy>,
    #[serde(default)]
    approved_recipient: Vec<RawRecipient>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProxy {
    #[serde(default)]
    allow_hosts: Vec<Spanned<String>>,
    #[serde(default)]
    deny_hosts: Vec<Spanned<String>>,
    #[serde(default)]
    deny_cidrs: Vec<Spanned<String>>,
    #[serde(default)]
    ports: Vec<Spanned<i64>>,
    #[serde(default)]
    internal_allowed_cidrs: Vec<Spanned<String>>,
    #[serde(default)]
    loopback_is_public: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEgress {
    #[serde(default)]
    allowed_cidrs: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecipient {
    id: Spanned<String>,
    name: String,
    cidrs: Vec<Spanned<String>>,
    mechanism: String,
    #[serde(default)]
    certification: Option<RawCertification>,
    #[serde(default)]
    scc_module: Option<u8>,
    #[serde(default)]
    tia: Option<String>,
    #[serde(default)]
    supplementary_measures: Vec<String>,
    #[serde(default)]
    derogation: Option<String>,
    approver: String,
    ticket: String,
    #[serde(default)]
    expires: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    extends: Option<Spanned<String>>,
    #[serde(default)]
    version: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJurisdictions {
    #[serde(default)]
    adequacy: Option<bool>,
    #[serde(default)]
    conditional_adequacy: Option<Spanned<String>>,
    #[serde(default)]
    extra_countries: Vec<Spanned<String>>,
    #[serde(default)]
    denied_countries: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTransfers {
    #[serde(default)]
    mechanisms: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    require_tia: Option<bool>,
    #[serde(default)]
    require_supplementary_measures: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProviders {
    #[serde(default)]
    require: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaiver {
    id: Spanned<String>,
    rules: Vec<Spanned<String>>,
    subjects: Vec<String>,
    reason: String,
    approver: String,
    ticket: String,
    #[serde(default)]
    expires: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApproval {
    id: Spanned<String>,
    subjects: Vec<String>,
    #[serde(default)]
    countries: Vec<Spanned<String>>,
    mechanism: String,
    #[serde(default)]
    certification: Option<RawCertification>,
    #[serde(default)]
    scc_module: Option<u8>,
    #[serde(default)]
    tia: Option<String>,
    #[serde(default)]
    supplementary_measures: Vec<String>,
    #[serde(default)]
    derogation: Option<String>,
    approver: String,
    ticket: String,
    #[serde(default)]
    expires: Option<Spanned<toml::Value>>,
}

/// Loads `spec`: a preset name, or a path to a TOML file.
pub fn load(spec: &str) -> Result<LoadedPolicy, InputError> {
    let mut chain = Vec::new();
    let mut resource_types = BTreeMap::new();
    let policy = resolve(spec, None, &mut chain, &mut resource_types)?;
    let mut hash_input = serde_json::to_vec(&policy).unwrap_or_default();
    hash_input.extend(serde_json::to_vec(&resource_types).unwrap_or_default());
    let hash = crate::inputs::hex(&Sha256::digest(&hash_input));
    Ok(LoadedPolicy {
        policy,
        chain,
        hash,
        resource_types,
    })
}

fn resolve(
    spec: &str,
    relative_to: Option<&Path>,
    chain: &mut Vec<String>,
    types: &mut BTreeMap<String, String>,
) -> Result<Policy, InputError> {
    if chain.len() > 8 {
        return Err(
            InputError::new(spec, "`extends` chain is deeper than 8 files")
                .hint(chain.join(" -> ")),
        );
    }
    let (label, text, dir) = match PRESETS.iter().find(|(n, _)| *n == spec) {
        Some((name, text)) => (format!("preset:{name}"), (*text).to_string(), None),
        None => {
            let path = match relative_to {
                Some(dir) if Path::new(spec).is_relative() => dir.join(spec),
                _ => PathBuf::from(spec),
            };
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(&path).map_err(|e| {
                let names: Vec<&str> = PRESETS.iter().map(|(n, _)| *n).collect();
                let msg = if e.kind() == std::io::ErrorKind::NotFound {
                    format!("no such policy file, and `{spec}` is not a preset")
                } else {
                    format!("cannot read policy: {e}")
                };
                InputError::new(&shown, msg).maybe_hint(
                    did_you_mean(spec, names.iter().copied())
                        .or_else(|| Some(format!("presets: {}", names.join(", ")))),
                )
            })?;
            let dir = path.parent().map(Path::to_path_buf);
            (shown, text, dir)
        }
    };
    if chain.contains(&label) {
        return Err(InputError::new(&label, "`extends` forms a cycle").hint(chain.join(" -> ")));
    }
    chain.push(label.clone());
    parse(&label, &text, dir.as_deref(), chain, types)
}

fn at_span(file: &str, text: &str, span: std::ops::Range<usize>) -> InputError {
    let (l, c) = line_col(text, span.start);
    InputError::new(file, "").at(Some(l), Some(c))
}

fn spanned_err(
    file: &str,
    text: &str,
    span: std::ops::Range<usize>,
    field: &str,
    msg: String,
) -> InputError {
    let mut e = at_span(file, text, span).field(field);
    e.message = msg;
    e
}

fn parse(
    file: &str,
    text: &str,
    dir: Option<&Path>,
    chain: &mut Vec<String>,
    types: &mut BTreeMap<String, String>,
) -> Result<Policy, InputError> {
    if text.trim().is_empty() {
        return Err(InputError::new(file, "the policy file is empty")
            .hint("a policy starts with `[policy]` and `name = \"...\"`"));
    }
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let (line, col) = e.span().map(|s| line_col(text, s.start)).unzip();
        let msg = e.message().to_string();
        let mut err = InputError::new(file, msg.clone()).at(line, col);
        if let Some(rest) = msg.strip_prefix("unknown field `") {
            if let Some((name, expected)) = rest.split_once("`, expected ") {
                let opts: Vec<&str> = expected
                    .trim_start_matches("one of ")
                    .split(", ")
                    .map(|s| s.trim_matches('`'))
                    .collect();
                err = err.maybe_hint(did_you_mean(name, opts.iter().copied()));
            }
        }
        err
    })?;
    let mut p = match &raw.policy.extends {
        Some(parent) => resolve(parent.get_ref(), dir, chain, types)?,
        None => defaults(),
    };
    let _ = &raw.policy.version;
    p.name = raw.policy.name.clone();
    if let Some(d) = &raw.policy.description {
        p.description = d.clone();
    }
    let country = |s: &Spanned<String>, field: &str| -> Result<Country, InputError> {
        parse_country(s.get_ref()).map_err(|h| {
            spanned_err(
                file,
                text,
                s.span(),
                field,
                format!("bad country code `{}`", s.get_ref()),
            )
            .maybe_hint(h)
        })
    };
    if let Some(j) = &raw.jurisdictions {
        if let Some(a) = j.adequacy {
            p.adequacy = a;
        }
        if let Some(c) = &j.conditional_adequacy {
            p.conditional_adequacy = match c.get_ref().as_str() {
                "never" => ConditionalAdequacy::Never,
                "with-certification" => ConditionalAdequacy::WithCertification,
                other => {
                    return Err(spanned_err(
                        file,
                        text,
                        c.span(),
                        "jurisdictions.conditional_adequacy",
                        format!("unknown value `{other}`"),
                    )
                    .hint("expected `never` or `with-certification`"))
                }
            };
        }
        for c in &j.extra_countries {
            p.extra_countries
                .insert(country(c, "jurisdictions.extra_countries")?);
        }
        for c in &j.denied_countries {
            p.denied_countries
                .insert(country(c, "jurisdictions.denied_countries")?);
        }
    }
    if let Some(t) = &raw.transfers {
        if let Some(ms) = &t.mechanisms {
            let names: Vec<&str> = Mechanism::ALL.iter().map(|m| m.as_str()).collect();
            let mut set = BTreeSet::new();
            for m in ms {
                let mech = Mechanism::parse(m.get_ref()).ok_or_else(|| {
                    spanned_err(
                        file,
                        text,
                        m.span(),
                        "transfers.mechanisms",
                        format!("unknown mechanism `{}`", m.get_ref()),
                    )
                    .maybe_hint(
                        did_you_mean(m.get_ref(), names.iter().copied())
                            .or_else(|| Some(format!("expected any of {}", names.join(", ")))),
                    )
                })?;
                if mech.is_adequacy() {
                    return Err(spanned_err(
                        file,
                        text,
                        m.span(),
                        "transfers.mechanisms",
                        format!(
                            "`{}` is governed by `[jurisdictions]`, not by `transfers.mechanisms`",
                            m.get_ref()
                        ),
                    ));
                }
                set.insert(mech);
            }
            p.mechanisms = set;
        }
        if let Some(b) = t.require_tia {
            p.require_tia = b;
        }
        if let Some(b) = t.require_supplementary_measures {
            p.require_supplementary_measures = b;
        }
    }
    if let Some(pr) = &raw.providers {
        if let Some(r) = &pr.require {
            p.providers = match r.get_ref().as_str() {
                "any" => ProviderRequirement::Any,
                "no-foreign-access-law" => ProviderRequirement::NoForeignAccessLaw,
                "eea-headquarters" => ProviderRequirement::EeaHeadquarters,
                other => {
                    return Err(spanned_err(
                        file,
                        text,
                        r.span(),
                        "providers.require",
                        format!("unknown value `{other}`"),
                    )
                    .maybe_hint(
                        did_you_mean(other, ["any", "no-foreign-access-law", "eea-headquarters"])
                            .or_else(|| {
                                Some(
                                    "expected `any`, `no-foreign-access-law` or `eea-headquarters`"
                                        .into(),
                                )
                            }),
                    ))
                }
            };
        }
    }
    let rule_names: Vec<&str> = RuleId::ALL.iter().map(|r| r.code()).collect();
    for (key, value) in &raw.severity {
        let rule = RuleId::parse(key).ok_or_else(|| {
            spanned_err(
                file,
                text,
                value.span(),
                &format!("severity.{key}"),
                format!("unknown rule `{key}`"),
            )
            .maybe_hint(
                did_you_mean(key, rule_names.iter().copied())
                    .or_else(|| Some("see `residency explain`".into())),
            )
        })?;
        let sev = match value.get_ref().as_str() {
            "off" => None,
            s => Some(Severity::parse(s).ok_or_else(|| {
                spanned_err(
                    file,
                    text,
                    value.span(),
                    &format!("severity.{key}"),
                    format!("unknown severity `{s}`"),
                )
                .hint("expected `error`, `warning`, `info` or `off`")
            })?),
        };
        if rule == RuleId::LocationUnknown && sev.is_none() {
            return Err(spanned_err(
                file,
                text,
                value.span(),
                &format!("severity.{key}"),
                "RES003 cannot be switched off: an unknown location must never pass silently"
                    .into(),
            )
            .hint("lower it to `warning` if you must"));
        }
        p.severities.insert(rule, sev);
    }
    for (pattern, value) in &raw.resource_types {
        let v = value.get_ref().as_str();
        if !matches!(v, "none" | "personal" | "special" | "stores" | "processes") {
            return Err(spanned_err(
                file,
                text,
                value.span(),
                &format!("resource_types.{pattern}"),
                format!("unknown classification `{v}`"),
            )
            .maybe_hint(
                did_you_mean(v, ["none", "personal", "special", "stores", "processes"]).or_else(
                    || {
                        Some(
                            "expected `none`, `personal`, `special`, `stores` or `processes`"
                                .into(),
                        )
                    },
                ),
            ));
        }
        types.insert(pattern.clone(), v.to_string());
    }
    for w in &raw.waiver {
        let id = w.id.get_ref().clone();
        let field = format!("waiver `{id}`");
        let mut rules = Vec::new();
        for r in &w.rules {
            let rule = RuleId::parse(r.get_ref()).ok_or_else(|| {
                spanned_err(
                    file,
                    text,
                    r.span(),
                    &format!("{field}.rules"),
                    format!("unknown rule `{}`", r.get_ref()),
                )
                .maybe_hint(did_you_mean(r.get_ref(), rule_names.iter().copied()))
            })?;
            if !rule.waivable() {
                return Err(spanned_err(
                    file,
                    text,
                    r.span(),
                    &format!("{field}.rules"),
                    format!("{} cannot be waived", rule.code()),
                ));
            }
            rules.push(rule);
        }
        if rules.is_empty() || w.subjects.is_empty() {
            return Err(spanned_err(
                file,
                text,
                w.id.span(),
                &field,
                "a waiver needs at least one rule and one subject".into(),
            ));
        }
        for (name, v) in [
            ("reason", &w.reason),
            ("approver", &w.approver),
            ("ticket", &w.ticket),
        ] {
            if v.trim().is_empty() {
                return Err(spanned_err(
                    file,
                    text,
                    w.id.span(),
                    &format!("{field}.{name}"),
                    format!("`{name}` must not be empty"),
                ));
            }
        }
        let expires = required_date(file, text, &w.id, w.expires.as_ref(), &field)?;
        p.waivers.push(Waiver {
            id,
            rules,
            subjects: w.subjects.clone(),
            reason: w.reason.clone(),
            approver: w.approver.clone(),
            ticket: w.ticket.clone(),
            expires,
        });
    }
    let cidr = |s: &Spanned<String>, field: &str| -> Result<ipnet::IpNet, InputError> {
        let t = s.get_ref().trim();
        t.parse::<ipnet::IpNet>()
            .or_else(|_| t.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
            .map_err(|_| {
                spanned_err(
                    file,
                    text,
                    s.span(),
                    field,
                    format!("`{t}` is not a network"),
                )
                .hint("write a CIDR such as `52.95.0.0/16` or `2a05:d000::/25`, or one address")
            })
    };
    if let Some(e) = &raw.egress {
        for c in &e.allowed_cidrs {
            p.egress_cidrs.push(cidr(c, "egress.allowed_cidrs")?);
        }
    }
    if let Some(x) = &raw.proxy {
        let host = |h: &Spanned<String>, field: &str| -> Result<String, InputError> {
            let t = h.get_ref().trim().to_ascii_lowercase();
            let body = t.strip_prefix("*.").unwrap_or(&t);
            let ok = !body.is_empty()
                && body.split('.').all(|l| {
                    !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                });
            if ok {
                Ok(t)
            } else {
                Err(spanned_err(
                    file,
                    text,
                    h.span(),
                    field,
                    format!("`{}` is not a host name or pattern", h.get_ref()),
                )
                .hint("write `api.example.eu`, or `*.example.eu` for every name below example.eu"))
            }
        };
        for h in &x.allow_hosts {
            p.proxy.allow_hosts.push(host(h, "proxy.allow_hosts")?);
        }
        for h in &x.deny_hosts {
            p.proxy.deny_hosts.push(host(h, "proxy.deny_hosts")?);
        }
        for c in &x.deny_cidrs {
            p.proxy.deny_cidrs.push(cidr(c, "proxy.deny_cidrs")?);
        }
        for c in &x.internal_allowed_cidrs {
            p.proxy
                .internal_allowed_cidrs
                .push(cidr(c, "proxy.internal_allowed_cidrs")?);
        }
        for port in &x.ports {
            let n = u16::try_from(*port.get_ref())
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    spanned_err(
                        file,
                        text,
                        port.span(),
                        "proxy.ports",
                        format!("`{}` is not a port", port.get_ref()),
                    )
                    .hint("ports are 1 to 65535, e.g. `ports = [443]`")
                })?;
            p.proxy.ports.push(n);
        }
        if let Some(b) = x.loopback_is_public {
            p.proxy.loopback_is_public = b;
        }
    }
    for r in &raw.approved_recipient {
        let id = r.id.get_ref().clone();
        let field = format!("approved_recipient `{id}`");
        let raw_t = RawTransfer {
            mechanism: r.mechanism.clone(),
            certification: r.certification.clone(),
            scc_module: r.scc_module,
            tia: r.tia.clone(),
            supplementary_measures: r.supplementary_measures.clone(),
            derogation: r.derogation.clone(),
            expires: None,
        };
        let basis = approval_basis(file, text, &r.id, &field, &raw_t, r.expires.as_ref())?;
        let mut cidrs = Vec::new();
        for c in &r.cidrs {
            cidrs.push(cidr(c, &format!("{field}.cidrs"))?);
        }
        if cidrs.is_empty() {
            return Err(spanned_err(
                file,
                text,
                r.id.span(),
                &format!("{field}.cidrs"),
                "a recipient needs at least one network".into(),
            ));
        }
        p.recipients.push(crate::engine::ApprovedRecipient {
            id,
            name: r.name.clone(),
            cidrs,
            basis,
            approver: r.approver.clone(),
            ticket: r.ticket.clone(),
        });
    }
    for a in &raw.approved_transfer {
        let id = a.id.get_ref().clone();
        let field = format!("approved_transfer `{id}`");
        let raw_t = RawTransfer {
            mechanism: a.mechanism.clone(),
            certification: a.certification.clone(),
            scc_module: a.scc_module,
            tia: a.tia.clone(),
            supplementary_measures: a.supplementary_measures.clone(),
            derogation: a.derogation.clone(),
            expires: None,
        };
        let basis = approval_basis(file, text, &a.id, &field, &raw_t, a.expires.as_ref())?;
        let mut countries = Vec::new();
        for c in &a.countries {
            countries.push(country(c, &format!("{field}.countries"))?);
        }
        if a.subjects.is_empty() {
            return Err(spanned_err(
                file,
                text,
                a.id.span(),
                &format!("{field}.subjects"),
                "an approval needs at least one subject".into(),
            ));
        }
        p.approvals.push(ApprovedTransfer {
            id,
            subjects: a.subjects.clone(),
            countries,
            basis,
            approver: a.approver.clone(),
            ticket: a.ticket.clone(),
        });
    }
    Ok(p)
}

/// The basis an approval (transfer or recipient) grants: its transfer fields, a
/// required expiry, and the approval as its origin. Errors fall back to the
/// approval's line when the field's own line cannot be found.
fn approval_basis(
    file: &str,
    text: &str,
    id: &Spanned<String>,
    field: &str,
    raw: &RawTransfer,
    expires: Option<&Spanned<toml::Value>>,
) -> Result<crate::engine::TransferBasis, InputError> {
    let expires = required_date(file, text, id, expires, field)?;
    let mut basis = transfer_basis(file, text, None, field, raw).map_err(|mut e| {
        if e.line.is_none() {
            e.line = Some(line_col(text, id.span().start).0);
        }
        e
    })?;
    basis.expires = Some(expires);
    basis.origin = crate::engine::BasisOrigin::Approval(id.get_ref().clone());
    Ok(basis)
}

fn required_date(
    file: &str,
    text: &str,
    id: &Spanned<String>,
    value: Option<&Spanned<toml::Value>>,
    field: &str,
) -> Result<Date, InputError> {
    let Some(v) = value else {
        return Err(spanned_err(
            file,
            text,
            id.span(),
            &format!("{field}.expires"),
            "`expires` is required".into(),
        )
        .hint("every waiver and approval ends: add `expires = 2027-06-30`"));
    };
    let parsed = match v.get_ref() {
        toml::Value::Datetime(dt) => dt.date.and_then(|d| {
            time::Month::try_from(d.month)
                .ok()
                .and_then(|m| Date::from_calendar_date(i32::from(d.year), m, d.day).ok())
        }),
        toml::Value::String(s) => parse_date(s),
        _ => None,
    };
    parsed.ok_or_else(|| {
        spanned_err(
            file,
            text,
            v.span(),
            &format!("{field}.expires"),
            format!("bad date `{}`", v.get_ref()),
        )
        .hint("expected a date such as 2027-06-30")
    })
}

/// Built-in defaults for settings a policy does not give (the `gdpr` semantics).
fn defaults() -> Policy {
    Policy {
        name: String::new(),
        description: String::new(),
        adequacy: true,
        conditional_adequacy: ConditionalAdequacy::WithCertification,
        extra_countries: BTreeSet::new(),
        denied_countries: BTreeSet::new(),
        mechanisms: [Mechanism::Scc, Mechanism::Bcr].into_iter().collect(),
        require_tia: true,
        require_supplementary_measures: true,
        providers: ProviderRequirement::NoForeignAccessLaw,
        severities: BTreeMap::new(),
        waivers: Vec::new(),
        approvals: Vec::new(),
        egress_cidrs: Vec::new(),
        recipients: Vec::new(),
        proxy: crate::engine::ProxyRules::default(),
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn presets_load() {
        for (name, _) in PRESETS {
            let p = load(name).unwrap();
            assert_eq!(p.policy.name, name);
            assert_eq!(p.hash.len(), 64);
        }
        let eea = load("eea-only").unwrap().policy;
        assert!(!eea.adequacy);
        assert!(eea.mechanisms.is_empty());
        let sov = load("sovereign").unwrap().policy;
        assert_eq!(sov.providers, ProviderRequirement::EeaHeadquarters);
        assert_eq!(
            sov.severity(RuleId::ForeignJurisdictionProvider),
            Some(Severity::Error)
        );
    }

    #[test]
    fn unknown_preset_hints() {
        let e = load("gdrp").unwrap_err();
        assert_eq!(e.hint.as_deref(), Some("did you mean `gdpr`?"));
    }
}
