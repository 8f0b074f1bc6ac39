"""Data lake: buckets are private, TLS-only, encrypted, logged, versioned and expire what they should."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match

from cdk.components.data_lake import UPLOADS_PREFIX

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]


def _bucket(synth: Any, construct: Any) -> dict[str, Any]:
    return synth.template["Resources"][synth.logical_id(construct)]["Properties"]


def _rules(props: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}


def test_every_bucket_blocks_public_access_and_enforces_owner(dev: Any) -> None:
    buckets = dev.resources("AWS::S3::Bucket")
    assert len(buckets) == 4  # lake, artifacts, athena results, access logs
    for props in (b["Properties"] for b in buckets.values()):
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_every_bucket_policy_denies_plain_http(dev: Any) -> None:
    policies = dev.resources("AWS::S3::BucketPolicy")
    assert len(policies) == 4
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        )


def test_lake_is_kms_encrypted_versioned_and_logged(dev: Any) -> None:
    lake = dev.stack.lake
    props = _bucket(dev, lake.lake_bucket)
    sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert sse["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {
        "Fn::GetAtt": [dev.logical_id(dev.stack.keys.data_key), "Arn"]
    }
    assert sse["BucketKeyEnabled"] is True
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": dev.logical_id(lake.logs_bucket)},
        "LogFilePrefix": "lake/",
    }


def test_lake_lifecycle_is_per_zone_prefix(dev: Any, prod: Any) -> None:
    dev_rules = _rules(_bucket(dev, dev.stack.lake.lake_bucket))
    assert dev_rules["raw-tiering"]["Prefix"] == "raw/"
    assert [t["StorageClass"] for t in dev_rules["raw-tiering"]["Transitions"]] == ["STANDARD_IA"]
    assert dev_rules["quarantine-expiry"] == {
        "Id": "quarantine-expiry",
        "Prefix": "quarantine/",
        "ExpirationInDays": 30,
        "Status": "Enabled",
    }
    prod_rules = _rules(_bucket(prod, prod.stack.lake.lake_bucket))
    assert [t["StorageClass"] for t in prod_rules["raw-tiering"]["Transitions"]] == [
        "STANDARD_IA",
        "GLACIER_IR",
    ]
    assert prod_rules["quarantine-expiry"]["ExpirationInDays"] == 365
    assert prod_rules["noncurrent-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 90


def test_access_log_bucket_uses_sse_s3_and_receives_logs_by_bucket_policy(dev: Any) -> None:
    logs_bucket = dev.stack.lake.logs_bucket
    props = _bucket(dev, logs_bucket)
    algo = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert algo == {"SSEAlgorithm": "AES256"}
    assert "LoggingConfiguration" not in props
    dev.assertions.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": dev.logical_id(logs_bucket)},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject"}
                        )
                    ]
                )
            },
        },
    )


def test_athena_results_expire_and_are_kms_encrypted(dev: Any) -> None:
    props = _bucket(dev, dev.stack.lake.results_bucket)
    sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert sse["SSEAlgorithm"] == "aws:kms"
    assert _rules(props)["expire-results"]["ExpirationInDays"] == 7


def test_prod_retains_data_and_dev_destroys_it(dev: Any, prod: Any) -> None:
    for synth, policy in ((dev, "Delete"), (prod, "Retain")):
        lake_id = synth.logical_id(synth.stack.lake.lake_bucket)
        assert synth.template["Resources"][lake_id]["DeletionPolicy"] == policy
        key_id = synth.logical_id(synth.stack.keys.data_key)
        assert synth.template["Resources"][key_id]["DeletionPolicy"] == policy
    assert dev.resources("Custom::S3AutoDeleteObjects")
    assert not prod.resources("Custom::S3AutoDeleteObjects")


def test_lake_uri_is_the_bucket_root_and_uploads_live_under_raw(dev: Any) -> None:
    assert dev.stack.resolve(dev.stack.lake.lake_uri) == {
        "Fn::Join": ["", ["s3://", {"Ref": dev.logical_id(dev.stack.lake.lake_bucket)}]]
    }
    assert UPLOADS_PREFIX == "raw/uploads/"


def test_keys_rotate_and_ops_key_lets_cloudwatch_logs_use_it(dev: Any) -> None:
    for key in dev.resources("AWS::KMS::Key").values():
        assert key["Properties"]["EnableKeyRotation"] is True
    ops = dev.template["Resources"][dev.logical_id(dev.stack.keys.ops_key)]["Properties"]["KeyPolicy"]
    sids = {s.get("Sid") for s in ops["Statement"]}
    assert {"CloudWatchLogs", "CloudWatchAlarmsToSns"} <= sids
