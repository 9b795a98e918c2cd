//! Legal knowledge as values: which countries are in the EEA and which adequacy
//! decisions are in force on a given date. Built by `knowledge` from data files.

use super::country::Country;
use serde::Serialize;
use std::collections::BTreeMap;
use time::Date;

/// How much of a country an adequacy decision covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdequacyScope {
    /// All transfers subject to the country's law.
    Full,
    /// A defined part (e.g. Japan's APPI business operators, Korea without FSC credit data).
    Partial,
    /// Only recipients that hold a certification (US DPF List, Canada PIPEDA).
    Conditional,
}

/// One adequacy decision with its validity window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AdequacyDecision {
    /// The country it covers.
    pub jurisdiction: Country,
    /// Human name, e.g. `United States (EU-US Data Privacy Framework)`.
    pub name: String,
    /// Official reference, e.g. `Commission Implementing Decision (EU) 2023/1795`.
    pub reference: String,
    /// First day it applies.
    pub in_force_from: Date,
    /// Last day it applies (sunset), if any.
    pub expires: Option<Date>,
    /// Day a court invalidated it (it no longer applies from that day).
    pub invalidated: Option<Date>,
    /// Coverage.
    pub scope: AdequacyScope,
    /// For conditional decisions: the certification scheme recipients need (`dpf`, `pipeda`).
    pub scheme: Option<String>,
    /// For conditional decisions: who is covered, in a short phrase for messages.
    pub recipients: Option<String>,
    /// Data-category prefixes the decision does not cover (Korea: credit information).
    pub excluded_categories: Vec<String>,
    /// Scope wording for messages.
    pub scope_note: String,
}

impl AdequacyDecision {
    /// Whether the decision applies on `date`.
    pub fn in_force(&self, date: Date) -> bool {
        self.in_force_from <= date
            && self.expires.is_none_or(|e| date <= e)
            && self.invalidated.is_none_or(|i| date < i)
    }
}

/// How a destination stands under Chapter V on a date.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Standing<'a> {
    /// In the EEA: no Chapter V transfer.
    Eea,
    /// Covered by a full or partial adequacy decision.
    Adequate(&'a AdequacyDecision),
    /// Covered only for certified recipients.
    Conditional(&'a AdequacyDecision),
    /// No adequacy decision in force.
    ThirdCountry,
}

/// The destination classes shared by scans, flow audits and the proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Internal address ranges (private, loopback, link-local, ...).
    Internal,
    /// Inside the EEA.
    Eea,
    /// Adequate (full or partial decision).
    Adequate,
    /// Adequate only for certified recipients.
    Conditional,
    /// No adequacy.
    ThirdCountry,
    /// Could not be determined.
    Unknown,
}

impl Class {
    /// The name used in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Internal => "internal",
            Class::Eea => "eea",
            Class::Adequate => "adequate",
            Class::Conditional => "conditional",
            Class::ThirdCountry => "third_country",
            Class::Unknown => "unknown",
        }
    }
}

/// EEA membership and adequacy decisions, with the date the list was compiled.
#[derive(Clone, Debug, Default)]
pub struct LegalKnowledge {
    /// Date the adequacy list was compiled (shown as evidence in every report).
    pub list_date: String,
    /// Version of the EEA list.
    pub eea_version: String,
    /// EEA members and territories, each with a label (`EU`, `EEA-EFTA`, `outermost region of FR`).
    pub eea: BTreeMap<Country, String>,
    /// Every known decision, including expired and invalidated ones.
    pub decisions: Vec<AdequacyDecision>,
}

impl LegalKnowledge {
    /// Whether `country` is in the EEA (members and territories where the Treaties apply).
    pub fn is_eea(&self, country: Country) -> bool {
        self.eea.contains_key(&country)
    }

    /// The decision in force for `country` on `date`, if any.
    pub fn decision(&self, country: Country, date: Date) -> Option<&AdequacyDecision> {
        self.decisions
            .iter()
            .find(|d| d.jurisdiction == country && d.in_force(date))
    }

    /// How `country` stands on `date`.
    pub fn standing(&self, country: Country, date: Date) -> Standing<'_> {
        if self.is_eea(country) {
            return Standing::Eea;
        }
        match self.decision(country, date) {
            Some(d) if d.scope == AdequacyScope::Conditional => Standing::Conditional(d),
            Some(d) => Standing::Adequate(d),
            None => Standing::ThirdCountry,
        }
    }

    /// The class of `country` on `date`.
    pub fn class(&self, country: Country, date: Date) -> Class {
        match self.standing(country, date) {
            Standing::Eea => Class::Eea,
            Standing::Adequate(_) => Class::Adequate,
            Standing::Conditional(_) => Class::Conditional,
            Standing::ThirdCountry => Class::ThirdCountry,
        }
    }

    /// The most recent decision for `country` that is no longer (or not yet) in force on `date`.
    pub fn lapsed_decision(&self, country: Country, date: Date) -> Option<&AdequacyDecision> {
        self.decisions
            .iter()
            .filter(|d| d.jurisdiction == country && !d.in_force(date))
            .max_by_key(|d| d.in_force_from)
    }
}
