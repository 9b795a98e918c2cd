//! Rule identities. Each rule's documentation (title, article, rationale,
//! remediation, example) lives in `policies/rules/<ID>.toml` and is loaded by `rules`.

use serde::Serialize;
use std::fmt;

/// Severity of a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Fails the build by default.
    Error,
    /// Fails with `--fail-on warning`.
    Warning,
    /// Never fails; informational.
    Info,
}

impl Severity {
    /// The name used in inputs and outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    /// Parses `error`, `warning` or `info`.
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "error" => Some(Severity::Error),
            "warning" => Some(Severity::Warning),
            "info" => Some(Severity::Info),
            _ => None,
        }
    }
}

/// Every rule the engine can report, with a stable id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleId {
    /// RES001: personal data stored or processed outside the allowed jurisdictions.
    StorageOutsideAllowed,
    /// RES002: a replica or backup outside the allowed jurisdictions.
    CopyOutsideAllowed,
    /// RES003: the location cannot be determined (fail closed).
    LocationUnknown,
    /// RES004: conditional adequacy relied on without the recipient's certification.
    ConditionalAdequacyUncertified,
    /// RES005: a third-country transfer to a sub-processor without a valid mechanism.
    TransferWithoutMechanism,
    /// RES006: an Art. 46 transfer without TIA or supplementary measures.
    TransferWithoutTia,
    /// RES007: the provider answers to a non-EU jurisdiction with foreign-access laws.
    ForeignJurisdictionProvider,
    /// RES008: primary and backup share a site or failure domain.
    SharedFailureDomain,
    /// RES009: a waiver has expired.
    WaiverExpired,
    /// RES010: an approved transfer or declared basis has expired.
    ApprovalExpired,
    /// RES011: a waiver matches no finding.
    WaiverUnused,
    /// RES012: flows carried data to a destination the policy does not allow.
    EgressOutsideAllowed,
    /// RES013: flows went to addresses no geodb record places (fail closed).
    EgressDestinationUnknown,
}

impl RuleId {
    /// Every rule, in id order.
    pub const ALL: [RuleId; 13] = [
        RuleId::StorageOutsideAllowed,
        RuleId::CopyOutsideAllowed,
        RuleId::LocationUnknown,
        RuleId::ConditionalAdequacyUncertified,
        RuleId::TransferWithoutMechanism,
        RuleId::TransferWithoutTia,
        RuleId::ForeignJurisdictionProvider,
        RuleId::SharedFailureDomain,
        RuleId::WaiverExpired,
        RuleId::ApprovalExpired,
        RuleId::WaiverUnused,
        RuleId::EgressOutsideAllowed,
        RuleId::EgressDestinationUnknown,
    ];

    /// Stable id, e.g. `RES001`.
    pub fn code(self) -> &'static str {
        match self {
            RuleId::StorageOutsideAllowed => "RES001",
            RuleId::CopyOutsideAllowed => "RES002",
            RuleId::LocationUnknown => "RES003",
            RuleId::ConditionalAdequacyUncertified => "RES004",
            RuleId::TransferWithoutMechanism => "RES005",
            RuleId::TransferWithoutTia => "RES006",
            RuleId::ForeignJurisdictionProvider => "RES007",
            RuleId::SharedFailureDomain => "RES008",
            RuleId::WaiverExpired => "RES009",
            RuleId::ApprovalExpired => "RES010",
            RuleId::WaiverUnused => "RES011",
            RuleId::EgressOutsideAllowed => "RES012",
            RuleId::EgressDestinationUnknown => "RES013",
        }
    }

    /// Stable kebab-case name, e.g. `storage-outside-allowed`.
    pub fn name(self) -> &'static str {
        match self {
            RuleId::StorageOutsideAllowed => "storage-outside-allowed",
            RuleId::CopyOutsideAllowed => "copy-outside-allowed",
            RuleId::LocationUnknown => "location-unknown",
            RuleId::ConditionalAdequacyUncertified => "conditional-adequacy-uncertified",
            RuleId::TransferWithoutMechanism => "transfer-without-mechanism",
            RuleId::TransferWithoutTia => "transfer-without-tia",
            RuleId::ForeignJurisdictionProvider => "foreign-jurisdiction-provider",
            RuleId::SharedFailureDomain => "shared-failure-domain",
            RuleId::WaiverExpired => "waiver-expired",
            RuleId::ApprovalExpired => "approval-expired",
            RuleId::WaiverUnused => "waiver-unused",
            RuleId::EgressOutsideAllowed => "egress-outside-allowed",
            RuleId::EgressDestinationUnknown => "egress-destination-unknown",
        }
    }

    /// Severity when the policy does not override it.
    pub fn default_severity(self) -> Severity {
        match self {
            RuleId::ForeignJurisdictionProvider | RuleId::SharedFailureDomain => Severity::Warning,
            RuleId::WaiverUnused => Severity::Info,
            _ => Severity::Error,
        }
    }

    /// The GDPR provisions the rule rests on.
    pub fn article(self) -> &'static str {
        match self {
            RuleId::StorageOutsideAllowed | RuleId::CopyOutsideAllowed => "Art. 44, 45, 46",
            RuleId::LocationUnknown => "Art. 5(2), 30(1)(e), 44",
            RuleId::ConditionalAdequacyUncertified => "Art. 45",
            RuleId::TransferWithoutMechanism => "Art. 28, 44, 46, 49",
            RuleId::TransferWithoutTia => "Art. 46(1); CJEU C-311/18",
            RuleId::ForeignJurisdictionProvider => "Art. 48; CJEU C-311/18",
            RuleId::SharedFailureDomain => "Art. 32(1)(b)-(c)",
            RuleId::WaiverExpired | RuleId::ApprovalExpired | RuleId::WaiverUnused => "Art. 5(2)",
            RuleId::EgressOutsideAllowed => "Art. 44, 45, 46",
            RuleId::EgressDestinationUnknown => "Art. 5(2), 44",
        }
    }

    /// Whether a waiver may cover findings of this rule.
    pub fn waivable(self) -> bool {
        !matches!(
            self,
            RuleId::WaiverExpired | RuleId::WaiverUnused | RuleId::ApprovalExpired
        )
    }

    /// Looks a rule up by id (`RES001`, case-insensitive) or name.
    pub fn parse(s: &str) -> Option<RuleId> {
        let t = s.trim();
        RuleId::ALL
            .into_iter()
            .find(|r| r.code().eq_ignore_ascii_case(t) || r.name() == t)
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}
