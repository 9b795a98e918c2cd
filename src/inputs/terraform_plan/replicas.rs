//! Secondary copies declared on resources: replicas, geo-redundancy and backup
//! targets are locations too. Each becomes its own asset, naming both ends.

use super::ReplicaSpec;
use crate::engine::Role;
use serde_json::Value;

fn blocks<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = (usize, &'a Value)> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().enumerate())
        .into_iter()
        .flatten()
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

/// `arn:aws:s3:::name` or `name` -> `name`.
fn bucket_from_arn(s: &str) -> String {
    s.rsplit(":::")
        .next()
        .unwrap_or(s)
        .trim_end_matches('/')
        .to_string()
}

/// The copies a resource declares.
pub fn extract_replicas(rtype: &str, after: &Value, primary: Option<&str>) -> Vec<ReplicaSpec> {
    let mut out = Vec::new();
    match rtype {
        // DynamoDB global tables (version 2019.11.21): replica { region_name }.
        "aws_dynamodb_table" => {
            for (i, r) in blocks(after, "replica") {
                if let Some(region) = text(r, "region_name") {
                    out.push(ReplicaSpec::Region {
                        path: format!("replica[{i}].region_name"),
                        region: Some(region.to_string()),
                        unknown: None,
                        role: Role::Replica,
                    });
                }
            }
        }
        // S3 replication (provider >= 4): rule[].destination[].bucket is an ARN.
        "aws_s3_bucket_replication_configuration" => {
            for (i, rule) in blocks(after, "rule") {
                for (j, d) in blocks(rule, "destination") {
                    if let Some(b) = text(d, "bucket") {
                        out.push(ReplicaSpec::Bucket {
                            path: format!("rule[{i}].destination[{j}].bucket"),
                            bucket: bucket_from_arn(b),
                        });
                    }
                }
            }
        }
        // S3 replication inline (provider 3.x).
        "aws_s3_bucket" => {
            for (i, rc) in blocks(after, "replication_configuration") {
                for (j, rule) in blocks(rc, "rules") {
                    for (k, d) in blocks(rule, "destination") {
                        if let Some(b) = text(d, "bucket") {
                            out.push(ReplicaSpec::Bucket {
                                path: format!("replication_configuration[{i}].rules[{j}].destination[{k}].bucket"),
                                bucket: bucket_from_arn(b),
                            });
                        }
                    }
                }
            }
        }
        // Cosmos DB: every geo_location beyond failover priority 0 holds a copy.
        "azurerm_cosmosdb_account" => {
            for (i, g) in blocks(after, "geo_location") {
                let priority = g
                    .get("failover_priority")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                if let (Some(loc), true) = (text(g, "location"), priority > 0) {
                    out.push(ReplicaSpec::Region {
                        path: format!("geo_location[{i}].location"),
                        region: Some(loc.to_string()),
                        unknown: None,
                        role: Role::Replica,
                    });
                }
            }
        }
        // Azure geo-redundant storage copies to the paired region.
        "azurerm_storage_account" => {
            let kind = text(after, "account_replication_type")
                .unwrap_or("")
                .to_ascii_uppercase();
            if matches!(kind.as_str(), "GRS" | "RAGRS" | "GZRS" | "RAGZRS") {
                if let Some(of) = text(after, "location").or(primary) {
                    out.push(ReplicaSpec::Paired {
                        path: format!("account_replication_type = {kind}"),
                        of: of.to_string(),
                    });
                }
            }
        }
        // Cloud SQL: backups may be kept in another location.
        "google_sql_database_instance" => {
            for (i, s) in blocks(after, "settings") {
                for (j, b) in blocks(s, "backup_configuration") {
                    if let Some(loc) = text(b, "location") {
                        out.push(ReplicaSpec::Region {
                            path: format!("settings[{i}].backup_configuration[{j}].location"),
                            region: Some(loc.to_string()),
                            unknown: None,
                            role: Role::Backup,
                        });
                    }
                }
            }
        }
        // RDS automated backups replicated to another region are described by their own resource.
        _ => {}
    }
    out
}

/// When the resource is itself a copy of another: (source, replica or backup).
pub fn extract_copy_of(rtype: &str, after: &Value) -> Option<(String, Role)> {
    match rtype {
        "aws_db_instance" => {
            text(after, "replicate_source_db").map(|s| (s.to_string(), Role::Replica))
        }
        "aws_rds_cluster" => {
            text(after, "replication_source_identifier").map(|s| (s.to_string(), Role::Replica))
        }
        "aws_db_instance_automated_backups_replication" => {
            text(after, "source_db_instance_arn").map(|s| (s.to_string(), Role::Backup))
        }
        "aws_dynamodb_table_replica" => {
            text(after, "global_table_arn").map(|s| (s.to_string(), Role::Replica))
        }
        "aws_ebs_snapshot_copy" => {
            text(after, "source_snapshot_id").map(|s| (s.to_string(), Role::Backup))
        }
        "google_sql_database_instance" => {
            text(after, "master_instance_name").map(|s| (s.to_string(), Role::Replica))
        }
        "scaleway_rdb_read_replica" => {
            text(after, "instance_id").map(|s| (s.to_string(), Role::Replica))
        }
        "digitalocean_database_replica" => {
            text(after, "cluster_id").map(|s| (s.to_string(), Role::Replica))
        }
        _ => None,
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_copies() {
        let d = extract_replicas(
            "aws_dynamodb_table",
            &json!({"replica": [{"region_name": "us-east-1"}]}),
            None,
        );
        assert_eq!(d.len(), 1);
        let s = extract_replicas(
            "aws_s3_bucket_replication_configuration",
            &json!({"rule": [{"destination": [{"bucket": "arn:aws:s3:::dst-bucket"}]}]}),
            None,
        );
        assert_eq!(
            s,
            vec![ReplicaSpec::Bucket {
                path: "rule[0].destination[0].bucket".into(),
                bucket: "dst-bucket".into()
            }]
        );
        let g = extract_replicas(
            "azurerm_storage_account",
            &json!({"location": "westeurope", "account_replication_type": "RAGRS"}),
            None,
        );
        assert_eq!(
            g,
            vec![ReplicaSpec::Paired {
                path: "account_replication_type = RAGRS".into(),
                of: "westeurope".into()
            }]
        );
        let lrs = extract_replicas(
            "azurerm_storage_account",
            &json!({"location": "westeurope", "account_replication_type": "LRS"}),
            None,
        );
        assert!(lrs.is_empty());
        assert_eq!(
            extract_copy_of(
                "aws_db_instance",
                &json!({"replicate_source_db": "arn:aws:rds:eu-central-1:1:db:main"})
            ),
            Some(("arn:aws:rds:eu-central-1:1:db:main".into(), Role::Replica))
        );
    }
}
