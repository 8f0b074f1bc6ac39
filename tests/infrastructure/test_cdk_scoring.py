"""Scoring: S3 -> SQS (SSE, DLQ) -> container Lambda with partial batch failures, alarms, least privilege."""

from __future__ import annotations

import json
from typing import Any

import pytest
from c4.settings import ENV
from cdk_test_helpers import as_list, statements_of_role

from cdk.components.scoring import DOCKER_EXCLUDE, DOCKERFILE, SCORING_READ, SCORING_WRITE

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]


def _function(synth: Any) -> dict[str, Any]:
    return synth.template["Resources"][synth.logical_id(synth.stack.scoring.function)]["Properties"]


def test_queue_is_encrypted_tls_only_with_a_dead_letter_queue(dev: Any) -> None:
    scoring = dev.stack.scoring
    queue = dev.template["Resources"][dev.logical_id(scoring.queue)]["Properties"]
    dlq_id = dev.logical_id(scoring.dead_letter_queue)
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": 3,
    }
    assert queue["VisibilityTimeout"] >= 6 * 300  # six times the function timeout
    assert dev.template["Resources"][dlq_id]["Properties"]["SqsManagedSseEnabled"] is True
    for policy in dev.resources("AWS::SQS::QueuePolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        )


def test_uploads_prefix_notifies_the_queue(dev: Any) -> None:
    _, notifications = dev.one("Custom::S3BucketNotifications")
    config = notifications["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert config == [
        {
            "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "raw/uploads/"}]}},
            "QueueArn": {"Fn::GetAtt": [dev.logical_id(dev.stack.scoring.queue), "Arn"]},
        }
    ]


def test_function_is_a_container_image_with_the_c4_handler(dev: Any) -> None:
    props = _function(dev)
    assert props["PackageType"] == "Image"
    assert props["FunctionName"] == "c4-dev-score"
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["ReservedConcurrentExecutions"] == 2
    assert props["MemorySize"] == 2048 and props["Timeout"] == 300
    asset_key = props["Code"]["ImageUri"]["Fn::Sub"].rsplit(":", 1)[-1]
    manifest = json.loads((dev.outdir / f"{dev.stack.stack_name}.assets.json").read_text())
    image = manifest["dockerImages"][asset_key]["source"]
    assert image["dockerFile"] == DOCKERFILE
    assert {".venv", "lake", "cdk.out", ".git", "**/__pycache__"} <= set(DOCKER_EXCLUDE)


def test_dockerfile_installs_requirements_and_c4_and_runs_the_handler(repo_root: Any) -> None:
    dockerfile = (repo_root / DOCKERFILE).read_text()
    assert "pip install --no-cache-dir -r ${LAMBDA_TASK_ROOT}/requirements.txt" in dockerfile
    assert "pip install --no-cache-dir --no-deps /tmp/c4-src" in dockerfile
    assert 'CMD ["lambdas.score.handler.handler"]' in dockerfile


def test_environment_uses_the_shared_variable_names(dev: Any) -> None:
    env = _function(dev)["Environment"]["Variables"]
    assert env[ENV["stage"]] == "dev"
    assert env[ENV["lake"]] == {
        "Fn::Join": ["", ["s3://", {"Ref": dev.logical_id(dev.stack.lake.lake_bucket)}]]
    }
    assert env[ENV["glue_database"]] == {"Ref": dev.logical_id(dev.stack.catalog.database)}
    assert env["C4_PSEUDONYM_SECRET_ARN"] == {"Ref": dev.logical_id(dev.stack.keys.pseudonym_secret)}
    assert env["C4_IDEMPOTENCY_TABLE"] == {"Ref": dev.logical_id(dev.stack.scoring.idempotency_table)}
    assert ENV["pseudonym_key"] not in env  # the key itself never sits in the configuration


def test_sqs_event_source_reports_batch_item_failures(dev: Any, prod: Any) -> None:
    for synth, batch in ((dev, 5), (prod, 10)):
        _, mapping = synth.one("AWS::Lambda::EventSourceMapping")
        props = mapping["Properties"]
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert props["BatchSize"] == batch
        assert props["EventSourceArn"] == {"Fn::GetAtt": [synth.logical_id(synth.stack.scoring.queue), "Arn"]}
    assert _function(prod)["ReservedConcurrentExecutions"] == 20


def test_idempotency_table_matches_powertools_defaults(dev: Any) -> None:
    table = dev.template["Resources"][dev.logical_id(dev.stack.scoring.idempotency_table)]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    data_key = {"Fn::GetAtt": [dev.logical_id(dev.stack.keys.data_key), "Arn"]}
    assert table["SSESpecification"] == {"KMSMasterKeyId": data_key, "SSEEnabled": True, "SSEType": "KMS"}
    assert _function(dev)["KmsKeyArn"] == data_key  # environment encrypted with the data key


def test_function_role_touches_only_its_prefixes(dev: Any) -> None:
    lake_arn = {"Fn::GetAtt": [dev.logical_id(dev.stack.lake.lake_bucket), "Arn"]}
    reads, writes, deletes = set(), set(), set()
    for st in statements_of_role(dev, dev.stack.scoring.function.role):
        for res in as_list(st["Resource"]):
            if isinstance(res, dict) and "Fn::Join" in res and res["Fn::Join"][1][0] == lake_arn:
                prefix = res["Fn::Join"][1][1].lstrip("/")
                if "s3:GetObject*" in as_list(st["Action"]):
                    reads.add(prefix)
                if "s3:PutObject" in as_list(st["Action"]):
                    writes.add(prefix)
                if "s3:DeleteObject*" in as_list(st["Action"]):
                    deletes.add(prefix)
    assert reads == {f"{p}*" for p in SCORING_READ}
    assert writes == {f"{p}*" for p in SCORING_WRITE}
    assert deletes == {"predictions/*"}


def test_function_may_register_prediction_partitions_only(dev: Any) -> None:
    glue = [
        st
        for st in statements_of_role(dev, dev.stack.scoring.function.role)
        if any(a.startswith("glue:") for a in as_list(st["Action"]))
    ]
    assert len(glue) == 1
    assert "glue:BatchCreatePartition" in glue[0]["Action"]
    assert not [a for a in glue[0]["Action"] if "Delete" in a or "Update" in a or a.endswith("*")]
    resources = json.dumps(glue[0]["Resource"])
    db_ref = json.dumps({"Ref": dev.logical_id(dev.stack.catalog.database)})
    assert len(glue[0]["Resource"]) == 3 and resources.count(db_ref) == 2
    assert '"/churn_predictions"' in resources


def test_alarms_on_dlq_errors_and_backlog_notify_the_alerts_topic(dev: Any) -> None:
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in dev.resources("AWS::CloudWatch::Alarm").values()
    }
    topic = {"Ref": dev.logical_id(dev.stack.alerts.topic)}
    assert set(alarms) == {"c4-dev-scoring-dlq-not-empty", "c4-dev-scoring-errors", "c4-dev-scoring-backlog"}
    assert alarms["c4-dev-scoring-dlq-not-empty"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarms["c4-dev-scoring-errors"]["MetricName"] == "Errors"
    assert alarms["c4-dev-scoring-backlog"]["MetricName"] == "ApproximateAgeOfOldestMessage"
    assert alarms["c4-dev-scoring-backlog"]["Threshold"] == 900
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [topic]


def test_alerts_topic_is_kms_encrypted_and_tls_only(dev: Any) -> None:
    _, topic = dev.one("AWS::SNS::Topic")
    assert topic["Properties"]["KmsMasterKeyId"] == {
        "Fn::GetAtt": [dev.logical_id(dev.stack.keys.ops_key), "Arn"]
    }
    _, policy = dev.one("AWS::SNS::TopicPolicy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )


def test_secret_is_generated_and_encrypted_with_the_data_key(dev: Any) -> None:
    _, secret = dev.one("AWS::SecretsManager::Secret")
    props = secret["Properties"]
    assert props["Name"] == "c4-dev/pseudonym-key"
    assert props["GenerateSecretString"]["PasswordLength"] == 64
    assert props["KmsKeyId"] == {"Fn::GetAtt": [dev.logical_id(dev.stack.keys.data_key), "Arn"]}


def test_scoring_reads_cover_what_the_library_reads() -> None:
    """The stores scoring reads at run time (features' population parts and running state)."""
    from c4.features.state import STATE_LOCATION
    from c4.features.store import POPULATION_LOCATION

    for location in (POPULATION_LOCATION, STATE_LOCATION):
        assert any(f"{location}/".startswith(prefix) for prefix in SCORING_READ), location
