//! JUnit XML: a test case per checked resource or asset, a failure per finding
//! (errors and warnings; waived and info findings pass with the note attached),
//! skipped cases for resources that were not evaluated.

use super::ReportMeta;
use crate::engine::{Evaluation, Finding, Severity};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::collections::BTreeMap;
use std::io::{self, Write};

fn describe(findings: &[&Finding]) -> String {
    findings
        .iter()
        .map(|f| {
            format!(
                "{} {} [{}{}]: {}\nfix: {}",
                f.rule.code(),
                f.name,
                f.severity.as_str(),
                if f.waived.is_some() { ", waived" } else { "" },
                f.message,
                f.remediation
            )
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Writes a JUnit XML report.
pub fn render(evaluation: &Evaluation, meta: &ReportMeta, out: &mut dyn Write) -> io::Result<()> {
    let mut by_subject: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &evaluation.findings {
        let key = f.subject.as_str();
        by_subject.entry(key).or_default().push(f);
    }
    let mut suites: BTreeMap<String, Vec<TestCase>> = BTreeMap::new();
    let suite_of = |subject: &str| {
        meta.place(subject)
            .map(|p| p.uri.clone())
            .unwrap_or_else(|| "policy".to_string())
    };
    let case_for = |name: &str, classname: &str, findings: &[&Finding]| {
        let failing: Vec<&Finding> = findings
            .iter()
            .copied()
            .filter(|f| f.waived.is_none() && f.severity != Severity::Info)
            .collect();
        let status = if failing.is_empty() {
            TestCaseStatus::success()
        } else {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let codes: Vec<&str> = failing.iter().map(|f| f.rule.code()).collect();
            s.set_message(format!(
                "{}: {}",
                codes.join(", "),
                failing.first().map_or("", |f| f.message.as_str())
            ));
            s.set_type(failing.first().map_or("error", |f| f.severity.as_str()));
            s.set_description(describe(&failing));
            s
        };
        let mut case = TestCase::new(name.to_string(), status);
        case.set_classname(classname.to_string());
        let notes: Vec<&Finding> = findings
            .iter()
            .copied()
            .filter(|f| f.waived.is_some() || f.severity == Severity::Info)
            .collect();
        if !notes.is_empty() {
            case.set_system_out(describe(&notes));
        }
        case
    };
    for v in &evaluation.assets {
        let findings = by_subject.remove(v.id.as_str()).unwrap_or_default();
        let case = case_for(&v.id, &format!("residency.{}", v.role.as_str()), &findings);
        suites.entry(suite_of(&v.id)).or_default().push(case);
    }
    for r in meta.resources.iter().filter(|r| r.skipped.is_some()) {
        let mut status = TestCaseStatus::skipped();
        status.set_message(r.skipped.clone().unwrap_or_default());
        let mut case = TestCase::new(r.address.clone(), status);
        case.set_classname(format!("residency.{}", r.rtype));
        suites.entry(suite_of(&r.address)).or_default().push(case);
    }
    for (subject, findings) in by_subject {
        let case = case_for(subject, "residency.policy", &findings);
        suites.entry("policy".into()).or_default().push(case);
    }
    let mut report = Report::new("residency");
    for (name, cases) in suites {
        let mut suite = TestSuite::new(name);
        suite.add_test_cases(cases);
        report.add_test_suite(suite);
    }
    report.serialize(&mut *out).map_err(io::Error::other)?;
    writeln!(out)
}
