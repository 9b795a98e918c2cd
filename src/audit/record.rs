//! What a scan or a flow audit writes into the store, as typed rows that reports
//! read back: the run (versions, hashes, summary), findings, assets (where data
//! lives), the transfer register and the waiver register.

use super::store::{Kind, NewRecord};
use crate::engine::{Class, Evaluation, Facts, Finding, LegalKnowledge, Policy};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::Date;

/// A run: what was checked, with what, and the outcome in numbers.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RunRow {
    /// `scan` or `flows`.
    pub command: String,
    /// Tool version.
    pub version: String,
    /// The evaluation date.
    pub as_of: String,
    /// The organisation named in the inventory.
    #[serde(default)]
    pub organisation: Option<String>,
    /// Policy name.
    pub policy: String,
    /// SHA-256 of the resolved policy.
    pub policy_hash: String,
    /// Date the adequacy list was compiled.
    pub adequacy_list_date: String,
    /// The geodb (path and build date).
    pub geodb: String,
    /// Input files with their SHA-256.
    pub inputs: Vec<InputRow>,
    /// Whether no unwaived error was found.
    pub compliant: bool,
    /// Unwaived errors.
    pub errors: u64,
    /// Unwaived warnings.
    pub warnings: u64,
    /// Unwaived infos.
    pub info: u64,
    /// Waived findings.
    pub waived: u64,
    /// Assets evaluated (scan).
    #[serde(default)]
    pub assets: u64,
    /// Flow records read (flows).
    #[serde(default)]
    pub records: u64,
    /// Accepted flows per destination country (flows).
    #[serde(default)]
    pub flows_by_country: BTreeMap<String, u64>,
    /// Bytes per destination country (flows).
    #[serde(default)]
    pub bytes_by_country: BTreeMap<String, u64>,
}

impl RunRow {
    /// A run of `command` with the outcome a summary gives (verdict and counts per
    /// severity), the rest to be filled in.
    pub fn outcome(command: &str, s: &crate::engine::Summary) -> RunRow {
        RunRow {
            command: command.into(),
            compliant: s.compliant,
            errors: s.errors as u64,
            warnings: s.warnings as u64,
            info: s.info as u64,
            waived: s.waived as u64,
            ..RunRow::default()
        }
    }
}

/// An input file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InputRow {
    /// Path as given.
    pub path: String,
    /// SHA-256 of its content (empty for standard input).
    pub sha256: String,
}

/// A finding as recorded.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FindingRow {
    /// Rule code.
    pub rule: String,
    /// Rule name.
    pub name: String,
    /// `error`, `warning` or `info`.
    pub severity: String,
    /// The asset, resource or destination.
    pub subject: String,
    /// What is wrong.
    pub message: String,
    /// GDPR article.
    pub article: String,
    /// How to fix it.
    pub remediation: String,
    /// The waiver that covers it, if any.
    #[serde(default)]
    pub waiver: Option<String>,
    /// Stable identity across runs.
    pub fingerprint: String,
}

/// An asset's place and standing.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AssetRow {
    /// Asset id.
    pub id: String,
    /// Role.
    pub role: String,
    /// Location summary.
    pub location: String,
    /// Countries.
    pub countries: Vec<String>,
    /// `eea`, `adequate`, `conditional`, `third_country`, `unknown`.
    pub class: String,
    /// Whether it holds personal data.
    pub personal_data: bool,
    /// The legal basis relied on.
    pub basis: String,
    /// Whether it is compliant.
    pub compliant: bool,
}

/// One line of the transfer register (GDPR Art. 30(1)(e)).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TransferRow {
    /// The asset or recipient approval the transfer concerns.
    pub subject: String,
    /// Who receives the data (operator or vendor).
    pub recipient: String,
    /// Destination countries outside the EEA.
    pub countries: Vec<String>,
    /// Their class.
    pub class: String,
    /// Fides data categories.
    pub data_categories: Vec<String>,
    /// Transfer mechanism (`adequacy`, `dpf`, `scc`, ...), or `none`.
    pub mechanism: String,
    /// The article it rests on.
    pub article: String,
    /// SCC module, if any.
    #[serde(default)]
    pub scc_module: Option<u8>,
    /// Transfer impact assessment reference.
    #[serde(default)]
    pub tia: Option<String>,
    /// Supplementary measures.
    #[serde(default)]
    pub measures: Vec<String>,
    /// When the basis must be re-assessed.
    #[serde(default)]
    pub expires: Option<String>,
    /// The policy approval granting it, if any.
    #[serde(default)]
    pub approval: Option<String>,
    /// Whether the transfer is allowed as it stands.
    pub compliant: bool,
}

/// One line of the waiver register.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WaiverRow {
    /// Waiver id.
    pub id: String,
    /// Rules covered.
    pub rules: Vec<String>,
    /// Subjects covered.
    pub subjects: Vec<String>,
    /// Why the risk is accepted.
    pub reason: String,
    /// Who approved it.
    pub approver: String,
    /// Ticket.
    pub ticket: String,
    /// Last day it applies.
    pub expires: String,
    /// Findings it waived in this run.
    pub used: u64,
}

/// Rows for the findings of a run.
pub fn finding_rows(findings: &[Finding]) -> Vec<FindingRow> {
    findings
        .iter()
        .map(|f| FindingRow {
            rule: f.rule.code().to_string(),
            name: f.name.to_string(),
            severity: f.severity.as_str().to_string(),
            subject: f.subject.clone(),
            message: f.message.clone(),
            article: f.article.to_string(),
            remediation: f.remediation.to_string(),
            waiver: f.waived.as_ref().map(|w| w.id.clone()),
            fingerprint: f.fingerprint.to_string(),
        })
        .collect()
}

/// The transfer register of a scan: every asset with personal data in a country
/// outside the EEA, with the basis it rests on (or `none`).
pub fn transfer_rows(
    facts: &Facts,
    evaluation: &Evaluation,
    legal: &LegalKnowledge,
    as_of: Date,
) -> Vec<TransferRow> {
    let by_id: BTreeMap<&str, &crate::engine::Asset> =
        facts.assets.iter().map(|a| (a.id.as_str(), a)).collect();
    let mut rows = Vec::new();
    for v in &evaluation.assets {
        let outside: Vec<String> = v
            .countries
            .iter()
            .filter(|c| legal.class(**c, as_of) != Class::Eea)
            .map(|c| c.as_str().to_string())
            .collect();
        if !v.personal_data || matches!(v.class, Class::Eea | Class::Internal | Class::Unknown) {
            continue;
        }
        let asset = by_id.get(v.id.as_str());
        let recipient = asset
            .and_then(|a| a.operator.as_ref().map(|o| o.name.to_string()))
            .or_else(|| asset.and_then(|a| a.name.clone()))
            .unwrap_or_else(|| v.id.clone());
        let categories = asset.map(|a| a.data.categories.clone()).unwrap_or_default();
        let t = v.transfer.as_ref();
        let (mechanism, article) = match (t, v.class) {
            (Some(b), _) => (
                b.mechanism.as_str().to_string(),
                b.mechanism.article().to_string(),
            ),
            (None, Class::Adequate) => ("adequacy".to_string(), "Art. 45".to_string()),
            (None, _) => ("none".to_string(), String::new()),
        };
        rows.push(TransferRow {
            subject: v.id.clone(),
            recipient,
            countries: outside,
            class: v.class.as_str().to_string(),
            data_categories: categories,
            mechanism,
            article,
            scc_module: t.and_then(|b| b.scc_module),
            tia: t.and_then(|b| b.tia.clone()),
            measures: t
                .map(|b| b.supplementary_measures.clone())
                .unwrap_or_default(),
            expires: t.and_then(|b| b.expires).map(|d| d.to_string()),
            approval: t.and_then(|b| match &b.origin {
                crate::engine::BasisOrigin::Approval(id) => Some(id.clone()),
                crate::engine::BasisOrigin::Inventory => None,
            }),
            compliant: v.compliant,
        });
    }
    rows
}

/// The approved recipients of a policy as transfer-register lines (flow audits).
pub fn recipient_rows(policy: &Policy) -> Vec<TransferRow> {
    policy
        .recipients
        .iter()
        .map(|r| TransferRow {
            subject: r.id.clone(),
            recipient: r.name.clone(),
            countries: Vec::new(),
            class: "approved_recipient".into(),
            data_categories: Vec::new(),
            mechanism: r.basis.mechanism.as_str().to_string(),
            article: r.basis.mechanism.article().to_string(),
            scc_module: r.basis.scc_module,
            tia: r.basis.tia.clone(),
            measures: r.basis.supplementary_measures.clone(),
            expires: r.basis.expires.map(|d| d.to_string()),
            approval: Some(r.id.clone()),
            compliant: true,
        })
        .collect()
}

/// The waiver register of a policy, with how often each waiver was used.
pub fn waiver_rows(policy: &Policy, findings: &[Finding]) -> Vec<WaiverRow> {
    policy
        .waivers
        .iter()
        .map(|w| WaiverRow {
            id: w.id.clone(),
            rules: w.rules.iter().map(|r| r.code().to_string()).collect(),
            subjects: w.subjects.clone(),
            reason: w.reason.clone(),
            approver: w.approver.clone(),
            ticket: w.ticket.clone(),
            expires: w.expires.to_string(),
            used: findings
                .iter()
                .filter(|f| f.waived.as_ref().is_some_and(|x| x.id == w.id))
                .count() as u64,
        })
        .collect()
}

/// Asset rows of an evaluation.
pub fn asset_rows(evaluation: &Evaluation) -> Vec<AssetRow> {
    evaluation
        .assets
        .iter()
        .map(|v| AssetRow {
            id: v.id.clone(),
            role: v.role.as_str().to_string(),
            location: v.location.clone(),
            countries: v.countries.iter().map(|c| c.as_str().to_string()).collect(),
            class: v.class.as_str().to_string(),
            personal_data: v.personal_data,
            basis: v.basis.clone(),
            compliant: v.compliant,
        })
        .collect()
}

/// Serialises typed rows as records of `kind`.
pub fn records<T: Serialize>(kind: Kind, rows: &[T]) -> Vec<NewRecord> {
    rows.iter()
        .filter_map(|r| serde_json::to_value(r).ok())
        .map(|body| NewRecord { kind, body })
        .collect()
}
