//! The one finding model every reporter, the audit store and the exit code use.

use super::country::Country;
use super::legal::Class;
use super::model::{Role, Text};
use super::rule::{RuleId, Severity};
use serde::Serialize;
use std::borrow::Cow;

/// The location attached to a finding.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FindingLocation {
    /// Provider id, if any.
    pub provider: Option<Text>,
    /// Region code, if any.
    pub region: Option<Text>,
    /// The single country, when there is exactly one.
    pub country: Option<Country>,
    /// Every country the data may sit in.
    pub countries: Vec<Country>,
    /// The evidence behind the location.
    pub source: Text,
}

/// A stable 64-bit fingerprint, written as 16 lower-case hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub u64);

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A waiver applied to a finding.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WaiverRef {
    /// Waiver id.
    pub id: String,
    /// Who approved it.
    pub approver: String,
    /// Ticket.
    pub ticket: String,
    /// Last day it applies.
    pub expires: String,
    /// Why.
    pub reason: String,
}

/// One problem found, with its rule, reason and remedy.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// The rule.
    pub rule: RuleId,
    /// The rule's name.
    pub name: &'static str,
    /// Severity after policy overrides.
    pub severity: Severity,
    /// The asset id, resource address, waiver or approval id.
    pub subject: String,
    /// What the subject is (`primary`, `backup`, `sub_processor`, `waiver`, `approval`).
    pub subject_kind: &'static str,
    /// Where, when a location applies.
    pub location: Option<FindingLocation>,
    /// What is wrong, in one sentence or two.
    pub message: String,
    /// The GDPR provisions.
    pub article: &'static str,
    /// What to do about it.
    pub remediation: Cow<'static, str>,
    /// The other end, for copies (`source`) and approvals.
    pub related: Option<String>,
    /// The waiver, when the finding is waived (it is still reported).
    pub waived: Option<Box<WaiverRef>>,
    /// A stable fingerprint of rule, subject and countries, for baselines.
    pub fingerprint: Fingerprint,
    /// Index of the subject in the evaluated facts, used during evaluation only
    /// (cleared before the evaluation is returned, so results do not depend on input order).
    #[serde(skip)]
    pub(crate) asset_index: Option<usize>,
    /// The subject's personal data is inferred: the finding is capped at warning.
    #[serde(skip)]
    pub(crate) inferred: bool,
}

/// How an asset stands: the register line behind the findings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AssetVerdict {
    /// Asset id.
    pub id: String,
    /// Role.
    pub role: Role,
    /// Location summary.
    pub location: String,
    /// Countries.
    pub countries: Vec<Country>,
    /// Worst class among the countries.
    pub class: Class,
    /// Whether personal data is held.
    pub personal_data: bool,
    /// The legal basis relied on (`EEA`, the adequacy decision, `scc module 2, TIA ...`, or `none`).
    pub basis: String,
    /// Whether any unwaived error or warning names this asset.
    pub compliant: bool,
    /// The transfer basis relied on outside the EEA (for the transfer register).
    #[serde(skip)]
    pub transfer: Option<super::model::TransferBasis>,
}

/// Counts over one evaluation.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Assets evaluated.
    pub assets: usize,
    /// Assets holding personal data.
    pub personal_data_assets: usize,
    /// Findings in all.
    pub findings: usize,
    /// Unwaived errors.
    pub errors: usize,
    /// Unwaived warnings.
    pub warnings: usize,
    /// Unwaived infos.
    pub info: usize,
    /// Waived findings (they would have counted).
    pub waived: usize,
    /// No unwaived error.
    pub compliant: bool,
    /// Findings left out because a baseline report already had them.
    #[serde(skip_serializing_if = "is_zero")]
    pub baselined: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Summary {
    /// Counts `findings` (waived ones apart) for an evaluation of `assets` assets.
    pub fn tally(findings: &[Finding], assets: usize, personal_data_assets: usize) -> Summary {
        let mut s = Summary {
            assets,
            personal_data_assets,
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
}

/// The result of one evaluation: sorted findings, per-asset verdicts and counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Evaluation {
    /// Findings, sorted by severity, rule, subject, message.
    pub findings: Vec<Finding>,
    /// Per-asset verdicts, sorted by id.
    pub assets: Vec<AssetVerdict>,
    /// Counts.
    pub summary: Summary,
}

impl Evaluation {
    /// Drops findings whose fingerprint `known` contains (a baseline), and recounts.
    pub fn subtract_baseline(&mut self, known: &std::collections::HashSet<String>) {
        let before = self.findings.len();
        self.findings
            .retain(|f| !known.contains(&f.fingerprint.to_string()));
        let mut s = Summary::tally(
            &self.findings,
            self.summary.assets,
            self.summary.personal_data_assets,
        );
        s.baselined = self.summary.baselined + before - self.findings.len();
        self.summary = s;
    }

    /// The worst unwaived severity, if any finding counts.
    pub fn worst(&self) -> Option<Severity> {
        self.findings
            .iter()
            .filter(|f| f.waived.is_none())
            .map(|f| f.severity)
            .min()
    }
}
