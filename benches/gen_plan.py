"""Writes a large `terraform show -json` plan with realistic attribute counts.

usage: python3 gen_plan.py OUT.json [RESOURCES]   (default 100000; ~9 KB per resource)

Keys come in Terraform's order (variables, planned_values, resource_changes,
prior_state, configuration), so `configuration` arrives after the changes, as in
real plans. A third of the changes are updates carrying a full `before`.
"""
import json, random, sys

out_path = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
random.seed(7)
TYPES = ["aws_s3_bucket", "aws_db_instance", "aws_instance", "aws_sqs_queue", "aws_dynamodb_table",
         "aws_iam_role", "aws_security_group", "aws_cloudwatch_log_group", "aws_lambda_function", "aws_ebs_volume"]
REGIONS = ["eu-central-1", "eu-west-1", "eu-west-3", "eu-north-1", "us-east-1"]
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": f"s{i}", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::12345678901{i}:root"},
     "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"], "Resource": [f"arn:aws:s3:::bucket-{i}/*"]}
    for i in range(6)]})

def values(i, rtype):
    region = REGIONS[i % len(REGIONS)]
    v = {
        "arn": f"arn:aws:{rtype}:{region}:123456789012:res/{i}",
        "id": f"res-{i:08d}", "name": f"{rtype}-{i}", "region": region,
        "tags": {f"tag{k}": f"value-{k}-{i}" for k in range(8)},
        "tags_all": {f"tag{k}": f"value-{k}-{i}" for k in range(12)},
        "policy": POLICY,
        "lifecycle_rule": [{"id": f"rule-{k}", "enabled": True, "prefix": f"logs/{k}/",
                            "expiration": [{"days": 30 + k, "date": None, "expired_object_delete_marker": False}],
                            "transition": [{"days": 7, "storage_class": "STANDARD_IA"}, {"days": 90, "storage_class": "GLACIER"}]}
                           for k in range(2)],
        "server_side_encryption_configuration": [{"rule": [{"apply_server_side_encryption_by_default": [
            {"kms_master_key_id": f"arn:aws:kms:{region}:123456789012:key/{i:08d}-aaaa-bbbb-cccc", "sse_algorithm": "aws:kms"}],
            "bucket_key_enabled": True}]}],
        "timeouts": None, "force_destroy": False, "object_lock_enabled": False,
    }
    for k in range(10):
        v[f"attribute_{k:02d}"] = f"some configured or computed value number {k} for resource {i}"
    return v

def w(f, s): f.write(s)

with open(out_path, "w") as f:
    w(f, '{"format_version":"1.2","terraform_version":"1.9.5","variables":{"env":{"value":"prod"}},')
    w(f, '"planned_values":{"root_module":{"resources":[')
    for i in range(n):
        rtype = TYPES[i % len(TYPES)]
        if i: w(f, ",")
        w(f, json.dumps({"address": f"{rtype}.r{i}", "mode": "managed", "type": rtype, "name": f"r{i}",
                         "provider_name": "registry.terraform.io/hashicorp/aws", "schema_version": 0,
                         "values": values(i, rtype), "sensitive_values": {"tags": {}, "lifecycle_rule": []}}))
    w(f, ']}},"resource_changes":[')
    for i in range(n):
        rtype = TYPES[i % len(TYPES)]
        after = values(i, rtype)
        update = i % 3 == 0
        change = {"address": f"{rtype}.r{i}", "mode": "managed", "type": rtype, "name": f"r{i}",
                  "provider_name": "registry.terraform.io/hashicorp/aws",
                  "change": {"actions": ["update"] if update else ["create"],
                             "before": after if update else None, "after": after,
                             "after_unknown": {} if update else {"arn": True, "id": True},
                             "before_sensitive": {} if update else False, "after_sensitive": {"tags": {}}}}
        if i: w(f, ",")
        w(f, json.dumps(change))
    w(f, '],"prior_state":{"format_version":"1.2","terraform_version":"1.9.5","values":{"root_module":{}}},')
    w(f, '"configuration":{"provider_config":{"aws":{"name":"aws","full_name":"registry.terraform.io/hashicorp/aws","expressions":{"region":{"constant_value":"eu-central-1"}}}},"root_module":{"resources":[')
    for i in range(n):
        rtype = TYPES[i % len(TYPES)]
        if i: w(f, ",")
        w(f, json.dumps({"address": f"{rtype}.r{i}", "mode": "managed", "type": rtype, "name": f"r{i}",
                         "provider_config_key": "aws",
                         "expressions": {"name": {"constant_value": f"{rtype}-{i}"}, "region": {"constant_value": REGIONS[i % len(REGIONS)]},
                                         "tags": {"constant_value": {f"tag{k}": f"value-{k}-{i}" for k in range(8)}}},
                         "schema_version": 0}))
    w(f, ']}},"timestamp":"2026-11-28T06:00:00Z","applyable":true,"complete":true,"errored":false}\n')
