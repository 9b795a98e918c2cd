//! The pure engine: assets with resolved locations, a policy, legal knowledge
//! and a date go in; sorted findings with rule ids and reasons come out.
//!
//! Nothing here reads files, the clock, the network or a database; callers pass
//! everything in (see `tests/architecture.rs`).

pub mod country;
pub mod egress;
pub mod evaluate;
pub mod finding;
pub mod legal;
pub mod model;
pub mod policy;
pub mod rule;

pub use country::Country;
pub use egress::{
    decide_connection, evaluate_egress, Connection, Decision, EgressAddress, Verdict,
};
pub use evaluate::evaluate;
pub use finding::{
    AssetVerdict, Evaluation, Finding, FindingLocation, Fingerprint, Summary, WaiverRef,
};
pub use legal::{AdequacyDecision, AdequacyScope, Class, LegalKnowledge, Standing};
pub use model::{
    Asset, BasisOrigin, CopyOf, DataProfile, Facts, Location, Mechanism, Operator,
    RecipientCertification, Role, TransferBasis,
};
pub use policy::{
    glob_match, host_matches, ApprovedRecipient, ApprovedTransfer, ConditionalAdequacy, Policy,
    ProviderRequirement, ProxyRules, Waiver,
};
pub use rule::{RuleId, Severity};
