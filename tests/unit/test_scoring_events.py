"""Parsing S3 event notifications out of SQS bodies, and output hygiene."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from c4.scoring.events import S3Object, s3_objects
from c4.scoring.exceptions import EventError
from c4.scoring.safety import neutralise, partition_value

EVENTS = Path(__file__).resolve().parents[1] / "events"


def load_event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def test_committed_sqs_event_with_s3_notification() -> None:
    # Given a real SQS batch whose body is an S3 notification with a URL-encoded key
    event = load_event("sqs_s3_put.json")
    body = event["Records"][0]["body"]
    # When parsed
    objs = s3_objects(body)
    # Then the key is decoded and the ETag kept
    assert objs == [
        S3Object(
            "c4-lake",
            "raw/uploads/CL01 ventas ñuñoa.csv",
            "0123456789abcdef0123456789abcdef",
            1234,
            "ObjectCreated:Put",
        )
    ]


def test_test_event_is_skipped() -> None:
    event = load_event("sqs_s3_test_event.json")
    assert s3_objects(event["Records"][0]["body"]) == []


def test_non_create_records_are_ignored() -> None:
    body = {
        "Records": [
            {
                "eventName": "ObjectRemoved:Delete",
                "s3": {"bucket": {"name": "b"}, "object": {"key": "raw/uploads/x.csv"}},
            }
        ]
    }
    assert s3_objects(body) == []


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[1, 2]",
        json.dumps({"hello": "world"}),
        json.dumps({"Records": [{"eventName": "ObjectCreated:Put"}]}),
        json.dumps({"Records": ["x"]}),
    ],
)
def test_malformed_bodies_are_clear_errors(body: str) -> None:
    with pytest.raises(EventError):
        s3_objects(body)


def test_neutralise_formulas_everywhere_a_cell_part_starts() -> None:
    assert neutralise('=HYPERLINK("http://x","y")') == '\'=HYPERLINK("http://x","y")'
    assert neutralise("+1") == "'+1" and neutralise("@SUM(A1)") == "'@SUM(A1)"
    assert neutralise("zona favorita: =1+1 (habitual: cine); sistema: @x") == (
        "zona favorita: '=1+1 (habitual: cine); sistema: '@x"
    )
    assert neutralise("señal WiFi (dBm): -75 (habitual: -60.5)") == "señal WiFi (dBm): -75 (habitual: -60.5)"
    assert neutralise("-75") == "-75" and neutralise("-1+1") == "'-1+1" and neutralise("-x") == "'-x"
    assert neutralise("\tcmd") == "'\tcmd"
    assert neutralise("días: 45 (habitual: 12)") == "días: 45 (habitual: 12)"
    # plain negative numbers take the fast path; a formula after them is still caught
    assert neutralise("a: -62 (habitual: -0.09); b: -=1") == "a: -62 (habitual: -0.09); b: '-=1"
    assert neutralise("a: -0.5; b: -7") == "a: -0.5; b: -7"
    assert neutralise(None) is None


def test_neutralising_each_reason_equals_neutralising_the_joined_cell() -> None:
    # Scoring neutralises each reason once and joins them with "; " (predict._texts): that must
    # equal neutralising the joined cell, for any pieces, including ones ending or starting
    # like a separator, a formula or a number.
    pieces = [
        "Días: 45 (habitual: 12)", "a: -62", "-7", "-", "x:", "x: ", "x;", "x(", "(", ";", " ",
        "=1", "@x", "b: -=1", "-0.5", "c: -3)", "\tcmd", "", "d: -5 (habitual: -x)", "e: 1e-5",
    ]  # fmt: skip
    for a in pieces:
        for b in pieces:
            for c in ("ok", "-1", "=2"):
                joined = "; ".join([a, b, c])
                parts = "; ".join(neutralise(p) or "" for p in (a, b, c))
                assert parts == neutralise(joined), (a, b, c)


def test_partition_values_are_safe() -> None:
    assert partition_value("PE03") == "PE03"
    for bad in (None, "", "../../etc", "a/b", "=HYPERLINK(1)", "x" * 80, 12):
        assert partition_value(bad) == "unknown"


def test_batch_recorded_from_moto_notifications() -> None:
    # Given a batch recorded from moto: the TestEvent, then an upload with blanks and accents
    event = load_event("sqs_s3_moto_batch.json")
    objs = [o for r in event["Records"] for o in s3_objects(r["body"])]
    # Then the TestEvent gives nothing and the key is decoded
    assert len(event["Records"]) == 2
    assert [(o.bucket, o.key) for o in objs] == [("c4-lake", "raw/uploads/CL01 exportación 31-05.csv")]
    assert objs[0].etag and objs[0].size is not None
