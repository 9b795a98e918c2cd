//! Rule documentation: one TOML file per rule in `policies/rules/`, the single
//! source for `residency explain`, SARIF rule metadata and the README table.

use crate::engine::{RuleId, Severity};
use serde::Deserialize;
use std::sync::OnceLock;

/// The documentation of one rule.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleDoc {
    /// Stable id, e.g. `RES001`.
    pub id: String,
    /// Stable name.
    pub name: String,
    /// One-line title.
    pub title: String,
    /// GDPR provisions.
    pub article: String,
    /// Default severity.
    pub severity: String,
    /// SARIF `security-severity` (0.0-10.0; GitHub: >= 9 critical, >= 7 high, >= 4 medium).
    pub security_severity: String,
    /// What the rule checks.
    pub summary: String,
    /// Why it matters.
    pub rationale: String,
    /// What to do.
    pub remediation: String,
    /// A violating inventory snippet.
    pub violating: String,
    /// The same snippet, complying.
    pub complying: String,
    /// Sources.
    #[serde(default)]
    pub references: Vec<String>,
}

impl RuleDoc {
    /// The rule's help as Markdown (docs/rules.md, SARIF `help.markdown`), under a heading of `level`.
    pub fn markdown(&self, heading: &str) -> String {
        format!(
            "{heading} {} `{}`: {}\n\n*Default severity:* {} · *GDPR:* {}\n\n{}\n\n**Why.** {}\n\n**Fix.** {}\n\nViolates:\n\n```\n{}\n```\n\nComplies:\n\n```\n{}\n```\n",
            self.id,
            self.name,
            self.title,
            self.severity,
            self.article,
            self.summary,
            self.rationale.trim().replace('\n', " "),
            self.remediation.trim().replace('\n', " "),
            self.violating.trim_matches('\n'),
            self.complying.trim_matches('\n')
        )
    }
}

/// The embedded rule documents, in id order.
pub const SOURCES: [(&str, &str); 13] = [
    ("RES001", include_str!("../policies/rules/RES001.toml")),
    ("RES002", include_str!("../policies/rules/RES002.toml")),
    ("RES003", include_str!("../policies/rules/RES003.toml")),
    ("RES004", include_str!("../policies/rules/RES004.toml")),
    ("RES005", include_str!("../policies/rules/RES005.toml")),
    ("RES006", include_str!("../policies/rules/RES006.toml")),
    ("RES007", include_str!("../policies/rules/RES007.toml")),
    ("RES008", include_str!("../policies/rules/RES008.toml")),
    ("RES009", include_str!("../policies/rules/RES009.toml")),
    ("RES010", include_str!("../policies/rules/RES010.toml")),
    ("RES011", include_str!("../policies/rules/RES011.toml")),
    ("RES012", include_str!("../policies/rules/RES012.toml")),
    ("RES013", include_str!("../policies/rules/RES013.toml")),
];

/// Parses every rule document; errors name the file.
pub fn parse_all() -> Result<Vec<RuleDoc>, String> {
    SOURCES
        .iter()
        .map(|(id, text)| {
            toml::from_str::<RuleDoc>(text).map_err(|e| format!("policies/rules/{id}.toml: {e}"))
        })
        .collect()
}

/// All rule documents (parsed once).
pub fn all() -> &'static [RuleDoc] {
    static DOCS: OnceLock<Vec<RuleDoc>> = OnceLock::new();
    DOCS.get_or_init(|| parse_all().unwrap_or_default())
}

/// The document of `rule`.
pub fn doc(rule: RuleId) -> Option<&'static RuleDoc> {
    all().iter().find(|d| d.id == rule.code())
}

/// The default severity written in a document, parsed.
pub fn doc_severity(doc: &RuleDoc) -> Option<Severity> {
    Severity::parse(&doc.severity)
}

/// The Markdown table of rules for the README (kept in sync by `tests/docs.rs`).
pub fn readme_table() -> String {
    let mut out =
        String::from("| id | name | default | what it finds | GDPR |\n|---|---|---|---|---|\n");
    for d in all() {
        out.push_str(&format!(
            "| {} | `{}` | {} | {} | {} |\n",
            d.id, d.name, d.severity, d.title, d.article
        ));
    }
    out
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn every_rule_has_a_matching_document() {
        let docs = parse_all().unwrap();
        assert_eq!(docs.len(), RuleId::ALL.len());
        for rule in RuleId::ALL {
            let d = doc(rule).unwrap_or_else(|| panic!("no doc for {}", rule.code()));
            assert_eq!(d.name, rule.name());
            assert_eq!(
                doc_severity(d),
                Some(rule.default_severity()),
                "{}",
                rule.code()
            );
            assert!(!d.violating.trim().is_empty() && !d.complying.trim().is_empty());
        }
    }
}
