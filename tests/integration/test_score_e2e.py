"""End to end on moto: upload -> S3 notification -> SQS -> the real handler -> predictions + Glue."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from c4.elt import file_id
from c4.engine import connect
from c4.tables import CHURN_PREDICTIONS

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
    notify_uploads,
    receive,
    sqs_event,
)
from tests.unit.test_scoring_support import held_bytes


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    yield from moto_account(monkeypatch)


GLUE_DB = "c4_test"


def _create_predictions_table(aws: Aws) -> None:
    """The Glue table the CDK stack declares (columns from c4.tables, partitions dt and mall_id)."""
    glue = aws.client("glue")
    glue.create_database(DatabaseInput={"Name": GLUE_DB})
    glue.create_table(
        DatabaseName=GLUE_DB,
        TableInput={
            "Name": CHURN_PREDICTIONS.name,
            "TableType": "EXTERNAL_TABLE",
            "PartitionKeys": [{"Name": p, "Type": "string"} for p in CHURN_PREDICTIONS.partitions],
            "StorageDescriptor": {
                "Columns": [{"Name": n, "Type": t} for n, t in CHURN_PREDICTIONS.columns],
                "Location": f"s3://{BUCKET}/{PREFIX}/{CHURN_PREDICTIONS.location}/",
                "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                "SerdeInfo": {
                    "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
                },
            },
        },
    )


def test_upload_is_scored_end_to_end_and_replays_add_nothing(aws: Aws, monkeypatch) -> None:
    # Given the lake on S3, uploads notifying an SQS queue with a DLQ, the Glue table, the key in
    # Secrets Manager and an idempotency table: the deployed setup, on moto
    lake, _, facts = lake_on_s3(aws)
    queue, dlq = create_queues(aws, max_receive_count=3, visibility=30)
    notify_uploads(aws, queue)
    _create_predictions_table(aws)
    handler_env(
        aws,
        monkeypatch,
        secret_arn=create_secret(aws),
        table=create_idempotency_table(aws),
        glue_database=GLUE_DB,
    )
    handler = load_handler()
    # When two malls' exports are uploaded (one name with blanks and accents)
    names = {"CL01": "CL01 exportación 31-05.csv", "PE01": "PE01_2025-05-31.jsonl"}
    for mall, name in names.items():
        aws.client("s3").put_object(Bucket=BUCKET, Key=f"{UPLOADS}{name}", Body=held_bytes(facts, mall))
    messages = receive(aws, queue)
    bodies = [json.loads(m["Body"]) for m in messages]
    assert any(b.get("Event") == "s3:TestEvent" for b in bodies)  # moto sends it first
    response = handler.handler(sqs_event(messages), FakeContext())
    delete_succeeded(aws, queue, messages, response)
    # Then every message succeeded (the TestEvent is skipped) and nothing is left or dead-lettered
    assert response["batchItemFailures"] == []
    assert receive(aws, queue) == [] and receive(aws, dlq) == []
    # And predictions are in the lake for every guest of both files
    con = connect(lake)
    rels = [f"raw/uploads/{n}" for n in names.values()]
    for rel in rels:
        guests = con.execute(
            "SELECT count(DISTINCT customer_id) FROM sessions WHERE source_file = ?", [rel]
        ).fetchone()[0]
        rows = con.execute(
            "SELECT count(*), count(DISTINCT customer_id) FROM churn_predictions WHERE source_file = ?", [rel]
        ).fetchone()
        assert rows == (guests, guests) and guests > 0
    preds = con.execute("SELECT * FROM churn_predictions").df()
    assert set(preds["dt"]) == {facts["last_day"].isoformat()}
    # And the catalogue knows the partitions written
    parts = aws.client("glue").get_partitions(DatabaseName=GLUE_DB, TableName=CHURN_PREDICTIONS.name)
    registered = {tuple(p["Values"]) for p in parts["Partitions"]}
    assert registered == {
        (d, m) for d, m in preds[["dt", "mall_id"]].drop_duplicates().itertuples(index=False)
    }
    for p in parts["Partitions"]:
        assert p["StorageDescriptor"]["Location"].startswith(f"s3://{BUCKET}/{PREFIX}/predictions/")
    # When the same notifications are delivered again, and the same file is uploaded once more
    replay = handler.handler(sqs_event(messages), FakeContext())
    aws.client("s3").put_object(
        Bucket=BUCKET, Key=f"{UPLOADS}{names['CL01']}", Body=held_bytes(facts, "CL01")
    )
    again = receive(aws, queue)
    assert handler.handler(sqs_event(again), FakeContext())["batchItemFailures"] == []
    # Then nothing is duplicated: predictions, curated sessions and manifests are unchanged
    assert replay["batchItemFailures"] == []
    con = connect(lake)
    assert len(con.execute("SELECT * FROM churn_predictions").df()) == len(preds)
    for rel in rels:
        n = con.execute("SELECT count(*) FROM sessions WHERE source_file = ?", [rel]).fetchone()[0]
        assert n == lake.read_json(f"manifests/elt/{file_id(rel)}.json")["rows_accepted"]
