//! SARIF 2.1.0 for code scanning: rules with full help from the rule documents,
//! `security-severity`, `partialFingerprints`, the resource address as the logical
//! location and the plan, inventory or `.tf` file as the physical one.

use super::{Place, ReportMeta};
use crate::engine::{Evaluation, RuleId, Severity};
use crate::rules;
use serde_json::{json, Value};
use std::io::{self, Write};

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn rule_json(rule: RuleId) -> Value {
    let Some(d) = rules::doc(rule) else {
        return json!({"id": rule.code(), "name": rule.name()});
    };
    let markdown = d.markdown("###");
    let text = format!(
        "{}\n\nWhy: {}\n\nFix: {}",
        d.summary,
        d.rationale.trim(),
        d.remediation.trim()
    );
    json!({
        "id": d.id,
        "name": d.name,
        "shortDescription": {"text": d.title},
        "fullDescription": {"text": d.summary},
        "help": {"text": text, "markdown": markdown},
        "defaultConfiguration": {"level": level(rule.default_severity())},
        "properties": {
            "tags": ["gdpr", "data-residency", "privacy", "chapter-v"],
            "security-severity": d.security_severity,
            "precision": "high",
            "gdpr-article": d.article,
        }
    })
}

fn physical(place: Option<&Place>, fallback: &str) -> Value {
    match place {
        Some(p) => match p.line {
            Some(l) => json!({"artifactLocation": {"uri": p.uri}, "region": {"startLine": l}}),
            None => json!({"artifactLocation": {"uri": p.uri}}),
        },
        None => json!({"artifactLocation": {"uri": fallback}}),
    }
}

/// Writes a SARIF 2.1.0 log.
pub fn render(evaluation: &Evaluation, meta: &ReportMeta, out: &mut dyn Write) -> io::Result<()> {
    let rules: Vec<Value> = RuleId::ALL.into_iter().map(rule_json).collect();
    let fallback = meta.inputs.first().map_or("residency", |f| f.path.as_str());
    let results: Vec<Value> = evaluation
        .findings
        .iter()
        .map(|f| {
            let index = RuleId::ALL.iter().position(|r| *r == f.rule).unwrap_or(0);
            let address = f.subject.split('#').next().unwrap_or(&f.subject);
            let mut text = f.message.clone();
            text.push_str("\nFix: ");
            text.push_str(&f.remediation);
            let mut r = json!({
                "ruleId": f.rule.code(),
                "ruleIndex": index,
                "level": level(f.severity),
                "message": {"text": text},
                "locations": [{
                    "physicalLocation": physical(meta.place(&f.subject), fallback),
                    "logicalLocations": [{"fullyQualifiedName": address, "name": f.subject, "kind": "resource"}]
                }],
                "partialFingerprints": {"residencyFinding/v1": f.fingerprint.to_string()},
                "properties": {
                    "subject": f.subject,
                    "countries": f.location.as_ref().map(|l| l.countries.iter().map(|c| c.as_str()).collect::<Vec<_>>()),
                    "evidence": f.location.as_ref().map(|l| l.source.to_string()),
                    "remediation": f.remediation,
                    "gdpr-article": f.article,
                }
            });
                        if let (Some(w), Some(obj)) = (&f.waived, r.as_object_mut()) {
                obj.insert("suppressions".into(), json!([{
                    "kind": "external",
                    "status": "accepted",
                                        "justification": format!("waiver {} by {} ({}), until {}: {}", w.id, w.approver, w.ticket, w.expires, w.reason),
                }]));
            }
            r
        })
        .collect();
    let artifacts: Vec<Value> = meta
        .inputs
        .iter()
        .map(|f| json!({"location": {"uri": f.path}, "length": f.bytes, "hashes": {"sha-256": f.sha256}}))
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "residency",
                "version": meta.tool.version,
                "semanticVersion": meta.tool.version,
                "rules": rules,
            }},
            "automationDetails": {"id": format!("residency/{}/", meta.policy.name)},
            "artifacts": artifacts,
            "results": results,
            "properties": {
                "policy": meta.policy.name,
                "policyHash": meta.policy.hash,
                "asOf": meta.as_of,
                "adequacyListDate": meta.knowledge.adequacy_list_date,
                "geodbBuildDate": meta.knowledge.geodb.build_date,
            }
        }]
    });
    serde_json::to_writer_pretty(&mut *out, &log).map_err(io::Error::other)?;
    writeln!(out)
}
