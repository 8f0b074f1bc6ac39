"""The scoring Lambda handler on moto: partial batch failures, DLQ redrive, idempotency, model errors."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from c4.elt import file_id
from c4.engine import connect
from c4.scoring.champion import clear_cache

from tests.integration.test_score_support import (
    BUCKET,
    PREFIX,
    UPLOADS,
    Aws,
    FakeContext,
    create_idempotency_table,
    create_queues,
    create_secret,
    delete_succeeded,
    handler_env,
    lake_on_s3,
    load_handler,
    moto_account,
    receive,
    sqs_event,
)
from tests.unit.test_scoring_support import held_bytes


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    yield from moto_account(monkeypatch)


def _s3_body(key: str, etag: str = "etag", bucket: str = BUCKET) -> str:
    return json.dumps(
        {
            "Records": [
                {
                    "eventName": "ObjectCreated:Put",
                    "s3": {
                        "bucket": {"name": bucket},
                        "object": {"key": key.replace(" ", "+"), "eTag": etag, "size": 1},
                    },
                }
            ]
        }
    )


def _upload(aws: Aws, name: str, data: bytes) -> tuple[str, str]:
    key = f"{UPLOADS}{name}"
    etag = aws.client("s3").put_object(Bucket=BUCKET, Key=key, Body=data)["ETag"].strip('"')
    return key, etag


def _message(body: str, mid: str) -> dict:
    return {
        "MessageId": mid,
        "ReceiptHandle": f"rh-{mid}",
        "Body": body,
        "MD5OfBody": "x",
        "Attributes": {"ApproximateReceiveCount": "1"},
    }


def test_one_bad_message_fails_alone(aws: Aws, monkeypatch) -> None:
    # Given a lake on S3 and a batch: a good upload, a TestEvent, garbage, an object of another
    # bucket and one outside raw/uploads/
    lake, _, facts = lake_on_s3(aws)
    handler_env(aws, monkeypatch)
    key, etag = _upload(aws, "CL01 último día.csv", held_bytes(facts, "CL01"))
    batch = [
        _message(_s3_body(key, etag), "good"),
        _message(
            json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": BUCKET}), "test-event"
        ),
        _message("this is not an S3 notification", "garbage"),
        _message(_s3_body(f"{UPLOADS}x.csv", bucket="someone-elses-bucket"), "other-bucket"),
        _message(_s3_body(f"{PREFIX}/curated/sessions/x.parquet"), "outside-uploads"),
    ]
    handler = load_handler()
    # When the handler consumes the batch
    response = handler.handler(sqs_event(batch), FakeContext())
    # Then only the bad messages are reported as failures; the good file is scored
    failed = sorted(f["itemIdentifier"] for f in response["batchItemFailures"])
    assert failed == ["garbage", "other-bucket", "outside-uploads"]
    rel = key[len(PREFIX) + 1 :]
    preds = (
        connect(lake)
        .execute("SELECT count(*) FROM churn_predictions WHERE source_file = ?", [rel])
        .fetchone()
    )
    assert preds[0] > 0


def test_failing_message_reaches_the_dlq_after_retries_while_the_good_one_succeeds(
    aws: Aws, monkeypatch
) -> None:
    # Given a queue with a DLQ (maxReceiveCount 2) holding a good and a poisonous message
    lake, _, facts = lake_on_s3(aws)
    handler_env(aws, monkeypatch)
    queue, dlq = create_queues(aws, max_receive_count=2, visibility=0)
    key, etag = _upload(aws, "PE01.jsonl", held_bytes(facts, "PE01"))
    sqs = aws.client("sqs")
    sqs.send_message(QueueUrl=queue, MessageBody=_s3_body(key, etag))
    sqs.send_message(QueueUrl=queue, MessageBody='{"Records": "not a list"}')
    handler = load_handler()
    # When the event source polls until the queue is empty (failed messages come back)
    polls = 0
    while polls < 10:
        messages = receive(aws, queue)
        if not messages:
            break
        polls += 1
        delete_succeeded(aws, queue, messages, handler.handler(sqs_event(messages), FakeContext()))
    # Then the poisonous message is in the DLQ after maxReceiveCount receives; the good one is gone
    dead = receive(aws, dlq)
    assert [m["Body"] for m in dead] == ['{"Records": "not a list"}']
    assert int(dead[0]["Attributes"]["ApproximateReceiveCount"]) >= 2
    assert polls >= 2 and receive(aws, queue) == []
    rel = key[len(PREFIX) + 1 :]
    assert lake.exists(f"manifests/elt/{file_id(rel)}.json")


def test_missing_champion_is_retried_not_dropped(aws: Aws, monkeypatch) -> None:
    # Given a lake whose champion pointer is missing
    lake, _, facts = lake_on_s3(aws)
    handler_env(aws, monkeypatch)
    champion = lake.read_bytes("models/champion.json")
    lake.delete("models/champion.json")
    key, etag = _upload(aws, "CO01.csv", held_bytes(facts, "CO01"))
    event = sqs_event([_message(_s3_body(key, etag), "m1")])
    handler = load_handler()
    # When the message is processed, it fails (retried later) and nothing is ingested
    assert handler.handler(event, FakeContext())["batchItemFailures"] == [{"itemIdentifier": "m1"}]
    rel = key[len(PREFIX) + 1 :]
    assert not lake.exists(f"manifests/elt/{file_id(rel)}.json")
    # And once the champion is back, the retry succeeds
    lake.write_bytes("models/champion.json", champion)
    clear_cache()
    assert handler.handler(event, FakeContext())["batchItemFailures"] == []
    assert lake.exists(f"manifests/elt/{file_id(rel)}.json")


def test_unreadable_file_is_quarantined_and_acknowledged(aws: Aws, monkeypatch) -> None:
    lake, _, _ = lake_on_s3(aws)
    handler_env(aws, monkeypatch)
    key, etag = _upload(aws, "ventas.csv", b"\x1f\x8b\x08\x00 gzip bytes")
    handler = load_handler()
    response = handler.handler(sqs_event([_message(_s3_body(key, etag), "m1")]), FakeContext())
    assert response["batchItemFailures"] == []
    rel = key[len(PREFIX) + 1 :]
    assert "gzip" in lake.read_json(f"quarantine/files/{file_id(rel)}/error.json")["error"]
    assert lake.read_json(f"manifests/elt/{file_id(rel)}.json")["status"] == "unreadable"


def test_duplicate_delivery_is_scored_once_with_idempotency(aws: Aws, monkeypatch) -> None:
    # Given the key in Secrets Manager and an idempotency table, as in AWS
    lake, _, facts = lake_on_s3(aws)
    handler_env(aws, monkeypatch, secret_arn=create_secret(aws), table=create_idempotency_table(aws))
    key, etag = _upload(aws, "CL01.csv", held_bytes(facts, "CL01"))
    handler = load_handler()
    calls: list[str] = []
    # When the same object arrives twice (two messages, same bucket/key/ETag)
    import c4.scoring.runtime as runtime

    original = runtime.score_object

    def counting(*args, **kwargs):
        calls.append(args[2].key)
        return original(*args, **kwargs)

    monkeypatch.setattr(runtime, "score_object", counting)
    first = handler.handler(sqs_event([_message(_s3_body(key, etag), "a")]), FakeContext())
    second = handler.handler(sqs_event([_message(_s3_body(key, etag), "b")]), FakeContext())
    # Then it is scored once, both messages succeed, and predictions hold one row per guest
    assert first["batchItemFailures"] == second["batchItemFailures"] == []
    assert calls == [key]
    rel = key[len(PREFIX) + 1 :]
    con = connect(lake)
    n, guests = con.execute(
        "SELECT count(*), count(DISTINCT customer_id) FROM churn_predictions WHERE source_file = ?", [rel]
    ).fetchone()
    assert n == guests > 0
    # And the same bytes uploaded again (same ETag) are not scored again either
    key2, etag2 = _upload(aws, "CL01.csv", held_bytes(facts, "CL01"))
    assert (key2, etag2) == (key, etag)
    assert (
        handler.handler(sqs_event([_message(_s3_body(key2, etag2), "c")]), FakeContext())["batchItemFailures"]
        == []
    )
    assert calls == [key]


def test_handler_settings_come_from_the_environment(aws: Aws, monkeypatch) -> None:
    lake_on_s3(aws)
    handler_env(aws, monkeypatch, secret_arn=create_secret(aws))
    handler = load_handler()
    assert handler.SETTINGS.lake == f"s3://{BUCKET}/{PREFIX}"
    assert handler.SETTINGS.resolve_pseudonym_key().decode().startswith("scoring-tests-")
    with pytest.raises(Exception, match="refused"):
        from c4.scoring import S3Object

        handler.SCORER.score(S3Object(BUCKET, f"{PREFIX}/raw/sessions/x.csv"))
