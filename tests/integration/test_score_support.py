"""AWS side of the scoring tests, all on a local moto server (never real AWS).

* :func:`moto_account` — a ``ThreadedMotoServer`` with every boto3 client pointed at it
  (``AWS_ENDPOINT_URL``), so S3 (also through pyarrow's ``S3FileSystem``), SQS, DynamoDB,
  Secrets Manager and Glue all live in one in-memory account.
* :func:`lake_on_s3` — the scoring test lake (history + champion) copied to ``s3://c4-lake/prod``.
* :func:`load_handler` — imports ``lambdas.score.handler`` afresh with a given environment
  (its settings are built at import, as at a Lambda cold start).
* :func:`sqs_event` — the Lambda SQS event for messages received from a queue.
"""

from __future__ import annotations

import importlib
import json
import socket
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pyarrow.fs as pafs
import pytest
from c4.scoring.cache import clear_history_cache
from c4.scoring.champion import clear_cache
from c4.settings import Settings
from c4.storage import Lake, open_lake
from moto.server import ThreadedMotoServer

from tests.unit.test_scoring_support import KEY, base_lake

REGION = "us-east-1"
BUCKET = "c4-lake"
PREFIX = "prod"
LAKE_URI = f"s3://{BUCKET}/{PREFIX}"
UPLOADS = f"{PREFIX}/raw/uploads/"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Aws:
    """The moto endpoint and a session on it."""

    endpoint: str
    session: boto3.Session

    def client(self, name: str) -> Any:
        return self.session.client(name, endpoint_url=self.endpoint, region_name=REGION)


def moto_account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    """Body of each module's ``aws`` fixture: a fresh moto account behind a local endpoint."""
    for var, val in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(var, val)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    _reset(endpoint)  # moto's backends are process-wide: start every test from an empty account
    clear_cache()
    clear_history_cache()
    try:
        yield Aws(endpoint, boto3.Session(region_name=REGION))
    finally:
        clear_cache()
        clear_history_cache()
        _reset(endpoint)
        server.stop()


def _reset(endpoint: str) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def lake_on_s3(aws: Aws) -> tuple[Lake, Settings, dict[str, object]]:
    """The base scoring lake copied to ``s3://c4-lake/prod`` (bucket created here)."""
    facts = base_lake()
    aws.client("s3").create_bucket(Bucket=BUCKET)
    settings = Settings(lake=LAKE_URI, pseudonym_key=KEY, s3_endpoint_url=aws.endpoint, aws_region=REGION)
    lake = open_lake(settings, boto3_session=aws.session)
    root = Path(str(facts["root"]))
    for zone in ("curated", "models", "manifests"):
        pafs.copy_files(
            str(root / zone),
            lake.path(zone),
            source_filesystem=pafs.LocalFileSystem(),
            destination_filesystem=lake.fs,
            use_threads=True,
        )
    lake.write_bytes(".c4/pseudonym.key", b"")  # nothing secret in the lake: the key comes from settings
    return lake, settings, facts


def handler_env(
    aws: Aws,
    monkeypatch,
    *,
    secret_arn: str | None = None,
    table: str | None = None,
    glue_database: str | None = None,
) -> None:
    """The environment the CDK stack gives the scoring function."""
    monkeypatch.setenv("C4_LAKE", LAKE_URI)
    monkeypatch.setenv("C4_STAGE", "test")
    monkeypatch.setenv("C4_S3_ENDPOINT_URL", aws.endpoint)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "c4-scoring")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "C4")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    for var, value in (
        ("C4_PSEUDONYM_SECRET_ARN", secret_arn),
        ("C4_IDEMPOTENCY_TABLE", table),
        ("C4_GLUE_DATABASE", glue_database),
    ):
        if value is None:
            monkeypatch.delenv(var, raising=False)
        else:
            monkeypatch.setenv(var, value)
    if secret_arn is None:
        monkeypatch.setenv("C4_PSEUDONYM_KEY", KEY)
    else:
        monkeypatch.delenv("C4_PSEUDONYM_KEY", raising=False)


def load_handler() -> ModuleType:
    """``lambdas.score.handler`` imported as at a cold start (module state rebuilt)."""
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters import base

    base.DEFAULT_PROVIDERS.clear()  # providers keep a client on the previous test's endpoint
    parameters.clear_caches()
    sys.modules.pop("lambdas.score.handler", None)
    return importlib.import_module("lambdas.score.handler")


def create_secret(aws: Aws) -> str:
    """The pseudonymisation key in Secrets Manager; returns its ARN."""
    return str(
        aws.client("secretsmanager").create_secret(Name="c4/test/pseudonym-key", SecretString=KEY)["ARN"]
    )


def create_idempotency_table(aws: Aws, name: str = "c4-test-idempotency") -> str:
    """The Powertools idempotency table (partition key ``id``)."""
    aws.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def create_queues(aws: Aws, *, max_receive_count: int = 3, visibility: int = 0) -> tuple[str, str]:
    """A scoring queue with a dead-letter queue; returns (queue URL, DLQ URL)."""
    sqs = aws.client("sqs")
    dlq = sqs.create_queue(QueueName="c4-test-score-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(
        QueueName="c4-test-score",
        Attributes={
            "VisibilityTimeout": str(visibility),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
            ),
        },
    )["QueueUrl"]
    return queue, dlq


def notify_uploads(aws: Aws, queue_url: str) -> None:
    """S3 -> SQS notification for objects created under the upload prefix."""
    sqs = aws.client("sqs")
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws.client("s3").put_bucket_notification_configuration(
        Bucket=BUCKET,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "c4-uploads",
                    "QueueArn": arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": UPLOADS}]}},
                }
            ]
        },
    )


def receive(aws: Aws, queue_url: str, n: int = 10) -> list[dict[str, Any]]:
    """Up to ``n`` messages (with their receive count)."""
    out = aws.client("sqs").receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=n, WaitTimeSeconds=0, AttributeNames=["All"]
    )
    return list(out.get("Messages", []))


def sqs_event(
    messages: list[dict[str, Any]], queue_arn: str = "arn:aws:sqs:us-east-1:123456789012:c4-test-score"
) -> dict[str, Any]:
    """The event Lambda's SQS event source would deliver for these messages."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


def delete_succeeded(
    aws: Aws, queue_url: str, messages: list[dict[str, Any]], response: dict[str, Any]
) -> None:
    """What the event source mapping does: delete every message not reported as failed."""
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    for m in messages:
        if m["MessageId"] not in failed:
            aws.client("sqs").delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])


class FakeContext:
    """The bits of a Lambda context Powertools reads."""

    function_name = "c4-test-score"
    function_version = "$LATEST"
    memory_limit_in_mb = 3008
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:c4-test-score"
    aws_request_id = "2f4b1f3c-8d2e-4a57-b0a7-3c1c5f9d6e10"
    log_group_name = "/aws/lambda/c4-test-score"
    log_stream_name = "2026/11/30/[$LATEST]abc"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    yield from moto_account(monkeypatch)


def test_moto_notification_delivers_a_test_event_then_url_encoded_keys(aws: Aws) -> None:
    # Given a bucket whose uploads notify a queue
    aws.client("s3").create_bucket(Bucket=BUCKET)
    queue, _ = create_queues(aws)
    notify_uploads(aws, queue)
    # When an object with blanks and accents in its name is uploaded (and one outside the prefix)
    aws.client("s3").put_object(Bucket=BUCKET, Key=f"{UPLOADS}CL01 último día.csv", Body=b"x")
    aws.client("s3").put_object(Bucket=BUCKET, Key=f"{PREFIX}/raw/sessions/other.csv", Body=b"x")
    bodies = [json.loads(m["Body"]) for m in receive(aws, queue)]
    # Then the first message is the TestEvent and the key arrives URL-encoded
    assert bodies[0].get("Event") == "s3:TestEvent"
    from c4.scoring import s3_objects

    objs = [o for b in bodies for o in s3_objects(b)]
    assert [o.key for o in objs] == [f"{UPLOADS}CL01 último día.csv"]
    assert objs[0].etag
