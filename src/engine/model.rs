//! What the engine evaluates: assets (stores, copies, processing, sub-processors)
//! with their resolved locations, the data they hold and the transfer basis relied on.

use super::country::Country;
use serde::Serialize;
use std::sync::Arc;
use time::Date;

/// Shared, immutable text: cheap to copy into every finding about the same location.
pub type Text = Arc<str>;

/// What an asset does with personal data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The primary copy of the data.
    Primary,
    /// A live replica of another asset.
    Replica,
    /// A backup target of another asset.
    Backup,
    /// A cache holding copies of personal data.
    Cache,
    /// A log sink (logs, traces, metrics that carry personal data).
    LogSink,
    /// Compute that processes personal data without being its store.
    Processing,
    /// A third party (SaaS vendor) processing data on our behalf.
    SubProcessor,
}

impl Role {
    /// The name used in inputs and outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Replica => "replica",
            Role::Backup => "backup",
            Role::Cache => "cache",
            Role::LogSink => "log_sink",
            Role::Processing => "processing",
            Role::SubProcessor => "sub_processor",
        }
    }

    /// Whether this role is a secondary copy of another asset's data.
    pub fn is_copy(self) -> bool {
        matches!(self, Role::Replica | Role::Backup)
    }
}

/// Where an asset is, as far as the evidence shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Location {
    /// Provider id from the catalogue (`aws`, `ovh`, ...), if any.
    pub provider: Option<Text>,
    /// Canonical region code, if the location came from a region or zone.
    pub region: Option<Text>,
    /// Declared site (own datacentre, colocation) id, if any.
    pub site: Option<String>,
    /// City, when known.
    pub city: Option<String>,
    /// Every country the data may sit in; empty means the location is unknown.
    pub countries: Vec<Country>,
    /// Why the location is unknown, when `countries` is empty.
    pub unknown: Option<String>,
    /// The evidence: where the country came from.
    pub source: Text,
    /// Failure domain (site, region or a declared domain) for continuity checks.
    pub failure_domain: Option<String>,
    /// Whether the catalogue entry behind this location is marked verified.
    pub verified: bool,
    /// Allowed alternatives to suggest in remediation (e.g. EEA regions of the same provider).
    pub alternatives: Vec<String>,
}

impl Location {
    /// A location that could not be determined, with the reason.
    pub fn unknown(reason: impl Into<String>, source: impl Into<Text>) -> Location {
        Location {
            unknown: Some(reason.into()),
            source: source.into(),
            ..Location::default()
        }
    }

    /// Short human description: `aws eu-central-1, Frankfurt, DE`.
    pub fn describe(&self) -> String {
        let mut out = String::with_capacity(48);
        self.describe_into(&mut out);
        out
    }

    /// Appends the description to `out`.
    pub fn describe_into(&self, out: &mut String) {
        let start = out.len();
        let sep = |out: &mut String| {
            if out.len() > start {
                out.push_str(", ");
            }
        };
        if let Some(p) = &self.provider {
            out.push_str(p);
        }
        if let Some(r) = &self.region {
            if out.len() > start {
                out.push(' ');
            }
            out.push_str(r);
        }
        if let Some(s) = &self.site {
            sep(out);
            out.push_str("site ");
            out.push_str(s);
        }
        if let Some(c) = &self.city {
            sep(out);
            out.push_str(c);
        }
        sep(out);
        push_countries(out, &self.countries, "+");
    }
}

/// Appends `DE+FR` (or `unknown` for none) to `out`.
pub fn push_countries(out: &mut String, countries: &[Country], sep: &str) {
    if countries.is_empty() {
        out.push_str("unknown");
    }
    for (i, c) in countries.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        let [a, b] = c.bytes();
        out.push(char::from(a));
        out.push(char::from(b));
    }
}

/// The legal entity that operates an asset's infrastructure, and the law it answers to.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Operator {
    /// Catalogue id (`aws`, `hetzner`, `twilio`, ...).
    pub id: Text,
    /// Display name.
    pub name: Text,
    /// Headquarters country of the parent company.
    pub headquarters: Country,
    /// Whether the parent is headquartered in the EEA.
    pub eu_headquartered: bool,
    /// Foreign laws that can compel access regardless of where the data sits (e.g. US CLOUD Act).
    pub foreign_access_laws: Arc<[String]>,
}

/// The personal data an asset holds.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DataProfile {
    /// Fides data-category keys; `["none"]` means no personal data.
    pub categories: Vec<String>,
    /// False when the input did not declare categories (then personal data is assumed).
    pub declared: bool,
    /// Whether any category is special (GDPR Art. 9) or criminal (Art. 10) data.
    pub special: bool,
    /// Personal data is inferred, not known (e.g. a resource type the catalogue does not
    /// know): findings are capped at warning.
    pub inferred: bool,
}

impl DataProfile {
    /// Whether the asset must be treated as holding personal data (fail closed when undeclared).
    pub fn holds_personal(&self) -> bool {
        if !self.declared {
            return true;
        }
        self.categories
            .iter()
            .any(|c| c != "none" && !c.starts_with("system"))
    }

    /// Categories for messages: `user.contact.email, user.name` or `undeclared`.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        self.describe_into(&mut out);
        out
    }

    /// Appends the categories to `out`.
    pub fn describe_into(&self, out: &mut String) {
        if !self.declared {
            out.push_str("undeclared: assumed personal");
            return;
        }
        for (i, c) in self.categories.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(c);
        }
    }
}

/// A GDPR Chapter V transfer tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mechanism {
    /// Art. 45 adequacy decision of the destination country.
    Adequacy,
    /// Art. 45 via the EU-US Data Privacy Framework (a certified US recipient).
    Dpf,
    /// Art. 46(2)(c) standard contractual clauses, Decision (EU) 2021/914.
    Scc,
    /// Art. 46(2)(b) and 47 binding corporate rules.
    Bcr,
    /// Art. 46(2)(e) approved code of conduct with binding commitments.
    CodeOfConduct,
    /// Art. 46(2)(f) approved certification with binding commitments.
    Certification,
    /// Art. 46(3) ad hoc clauses authorised by a supervisory authority.
    AdHocClauses,
    /// Art. 49 derogation for specific situations.
    Derogation,
}

impl Mechanism {
    /// Every mechanism, in declaration order.
    pub const ALL: [Mechanism; 8] = [
        Mechanism::Adequacy,
        Mechanism::Dpf,
        Mechanism::Scc,
        Mechanism::Bcr,
        Mechanism::CodeOfConduct,
        Mechanism::Certification,
        Mechanism::AdHocClauses,
        Mechanism::Derogation,
    ];

    /// The name used in inputs and outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Mechanism::Adequacy => "adequacy",
            Mechanism::Dpf => "dpf",
            Mechanism::Scc => "scc",
            Mechanism::Bcr => "bcr",
            Mechanism::CodeOfConduct => "code-of-conduct",
            Mechanism::Certification => "certification",
            Mechanism::AdHocClauses => "ad-hoc-clauses",
            Mechanism::Derogation => "derogation",
        }
    }

    /// Parses the input name.
    pub fn parse(s: &str) -> Option<Mechanism> {
        Mechanism::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The GDPR article this mechanism rests on.
    pub fn article(self) -> &'static str {
        match self {
            Mechanism::Adequacy | Mechanism::Dpf => "Art. 45",
            Mechanism::Scc => "Art. 46(2)(c)",
            Mechanism::Bcr => "Art. 46(2)(b), 47",
            Mechanism::CodeOfConduct => "Art. 46(2)(e)",
            Mechanism::Certification => "Art. 46(2)(f)",
            Mechanism::AdHocClauses => "Art. 46(3)",
            Mechanism::Derogation => "Art. 49",
        }
    }

    /// Whether this mechanism relies on an adequacy decision (Art. 45).
    pub fn is_adequacy(self) -> bool {
        matches!(self, Mechanism::Adequacy | Mechanism::Dpf)
    }
}

/// A recipient's certification under a conditional adequacy decision (DPF List, PIPEDA).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecipientCertification {
    /// The scheme: `dpf` (US) or `pipeda` (CA).
    pub scheme: String,
    /// Where it can be checked (DPF List entry, registration number).
    pub reference: Option<String>,
    /// When the certification lapses, if known.
    pub valid_until: Option<Date>,
}

/// Where a transfer basis was declared.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum BasisOrigin {
    /// Declared with the asset in the inventory.
    Inventory,
    /// An approved transfer in the policy, by id.
    Approval(String),
}

/// The legal basis relied on for a transfer outside the EEA.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TransferBasis {
    /// The transfer tool.
    pub mechanism: Mechanism,
    /// The recipient's certification, for conditional adequacy.
    pub certification: Option<RecipientCertification>,
    /// SCC module (1 C2C, 2 C2P, 3 P2P, 4 P2C).
    pub scc_module: Option<u8>,
    /// Reference of the transfer impact assessment.
    pub tia: Option<String>,
    /// Supplementary measures (e.g. `encryption-keys-in-eea`).
    pub supplementary_measures: Vec<String>,
    /// The Art. 49 derogation relied on, e.g. `49(1)(b)`.
    pub derogation: Option<String>,
    /// When the basis must be re-assessed (contract end, TIA review date).
    pub expires: Option<Date>,
    /// Where it was declared.
    pub origin: BasisOrigin,
}

/// A copy relation: this asset is a replica or backup of another.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CopyOf {
    /// The asset copied from.
    pub source: String,
    /// Replica or backup.
    pub role: Role,
}

/// One thing that holds or processes data, with its resolved location.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Asset {
    /// Unique id within the inventory (or the resource address for plans).
    pub id: String,
    /// Display name.
    pub name: Option<String>,
    /// Free-form kind (`database`, `bucket`, `vm`, ...).
    pub kind: Option<String>,
    /// What it does with the data.
    pub role: Role,
    /// Where it is.
    pub location: Location,
    /// Who runs it, if known.
    pub operator: Option<Operator>,
    /// What personal data it holds.
    pub data: DataProfile,
    /// The transfer basis declared for it, if it sits outside the EEA.
    pub transfer: Option<TransferBasis>,
    /// When this asset is a copy of another one.
    pub copy_of: Option<CopyOf>,
}

/// Everything one scan evaluates.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// The assets, in any order (the evaluation sorts its output).
    pub assets: Vec<Asset>,
}
