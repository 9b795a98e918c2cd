//! `terraform show -json` plans (Terraform and OpenTofu), read as a stream: each
//! resource change is reduced to a compact record as it is parsed, so a plan close
//! to 1 GB is never held as a document tree. The configuration and variables
//! (small) are kept whole to resolve provider regions afterwards.
//!
//! Effective location of a resource, most specific first: its own location
//! attributes (`region`, `location`, `zone`, nested blocks), then the provider
//! configuration it uses (constant, or a variable resolved through module calls),
//! then nothing: an unknown location is a finding (RES003), never a pass.

mod parse;
mod replicas;
mod resolve;
mod sources;

pub use parse::{parse_plan, strip_instance_keys, PlanSummary};
pub use resolve::{
    plan_assets, provider_of, CheckedResource, PlanOptions, PlanResult, ResourceTypes, TypeClass,
};
pub use sources::source_places;

use crate::engine::Role;

/// What a plan does to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Created.
    Create,
    /// Updated in place.
    Update,
    /// Destroyed and created again.
    Replace,
    /// Destroyed (not a finding).
    Delete,
    /// Unchanged.
    NoOp,
    /// Read (data sources).
    Read,
}

impl Action {
    /// From the plan's `actions` list.
    pub fn from_actions(actions: &[String]) -> Action {
        let has = |a: &str| actions.iter().any(|x| x == a);
        match (has("create"), has("delete"), has("update"), has("read")) {
            (true, true, _, _) => Action::Replace,
            (true, false, _, _) => Action::Create,
            (false, true, _, _) => Action::Delete,
            (_, _, true, _) => Action::Update,
            (_, _, _, true) => Action::Read,
            _ => Action::NoOp,
        }
    }

    /// Whether the resource is being created or changed.
    pub fn is_change(self) -> bool {
        matches!(self, Action::Create | Action::Update | Action::Replace)
    }
}

/// A location value found on a resource, with the attribute path it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct LocationValue {
    /// e.g. `region`, `nodes[0].region`, `geo_location[1].location`.
    pub path: String,
    /// The value as written.
    pub value: String,
}

/// A secondary copy declared on a resource.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplicaSpec {
    /// A copy in a region of the same provider (DynamoDB replica, Cosmos DB geo_location, GRS pair, Cloud SQL backup location).
    Region {
        /// Attribute path, for evidence.
        path: String,
        /// Region code (or `None` when the copy's region cannot be known, e.g. a GRS account in a region without a pair).
        region: Option<String>,
        /// Why the region is unknown, when it is.
        unknown: Option<String>,
        /// Replica or backup.
        role: Role,
    },
    /// A geo-redundant copy in the provider's paired region (Azure GRS, RA-GRS, GZRS, RA-GZRS).
    Paired {
        /// Attribute path.
        path: String,
        /// The primary region.
        of: String,
    },
    /// A copy into an S3 bucket named by ARN or name (resolved against the plan's buckets).
    Bucket {
        /// Attribute path.
        path: String,
        /// Destination bucket name.
        bucket: String,
    },
}

/// The compact record kept per resource change.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanResource {
    /// Full address, e.g. `module.db.aws_db_instance.main[0]`.
    pub address: String,
    /// Address without instance keys, e.g. `module.db.aws_db_instance.main`.
    pub config_address: String,
    /// Module path, e.g. `module.db` (empty at the root).
    pub module_address: String,
    /// Resource type.
    pub rtype: String,
    /// `managed` or `data`.
    pub mode: String,
    /// Provider source address.
    pub provider_name: String,
    /// What the plan does.
    pub action: Action,
    /// Location values on the resource, in priority order.
    pub locations: Vec<LocationValue>,
    /// A location attribute known only at apply time (and set in configuration).
    pub unknown_location: Option<String>,
    /// `data_classification` tag or label (`none`, `personal`, `special`).
    pub classification: Option<String>,
    /// `data_categories` tag or label, split.
    pub categories: Option<Vec<String>>,
    /// The bucket name, for resolving replication destinations.
    pub bucket_name: Option<String>,
    /// For replication configurations: the name of the bucket whose data is copied.
    pub source_bucket: Option<String>,
    /// Secondary copies declared on it.
    pub replicas: Vec<ReplicaSpec>,
    /// The resource is itself a replica or backup of another (RDS read replica, Cloud SQL replica, ...).
    pub copy_of: Option<(String, Role)>,
}
