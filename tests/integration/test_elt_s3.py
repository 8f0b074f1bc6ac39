"""The same ELT against S3 (moto server) through the storage seam."""

from __future__ import annotations

import socket
import urllib.request
from datetime import datetime

import pytest
from c4.elt import ingest_file, run_elt
from c4.elt.contract import file_id
from c4.elt.samples import EXPECTED, RAW_MACS, write_sample_raw
from c4.engine import connect
from c4.settings import Settings
from c4.storage import open_lake

NOW = datetime(2026, 11, 30, 12, 0, 0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def s3_settings(monkeypatch):
    moto_server = pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    for var, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(var, value)
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))  # fresh state
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="c4-test")
    yield Settings(
        lake="s3://c4-test/lake",
        s3_endpoint_url=endpoint,
        aws_region="us-east-1",
        pseudonym_key="s3-test-key-0123456789",
    )
    server.stop()


def test_elt_on_s3_matches_the_local_result(s3_settings):
    lake = open_lake(s3_settings)
    write_sample_raw(lake)
    summary = run_elt(lake, s3_settings, now=NOW)
    assert summary.rows_in == EXPECTED["rows_in"]
    assert summary.rows_accepted == EXPECTED["rows_accepted"]
    assert summary.rejected_by_reason == EXPECTED["rejected_by_reason"]
    assert summary.files_unreadable == EXPECTED["files_unreadable"]
    assert len(lake.list_files("manifests/elt")) == EXPECTED["files_processed"]
    assert lake.exists("quarantine/files/" + file_id("raw/sessions/mall_id=CO01/date=2025-03-14/empty.csv"))
    con = connect(lake)
    assert con.execute("SELECT COUNT(*) FROM sessions").fetchone() == (EXPECTED["rows_accepted"],)
    for rel in lake.list_files("curated/sessions"):
        assert not any(mac.encode() in lake.read_bytes(rel) for mac in RAW_MACS)
    again = run_elt(lake, s3_settings, now=NOW)
    assert again.files_processed == 0


def test_ingest_file_on_s3(s3_settings):
    lake = open_lake(s3_settings)
    lake.write_bytes(
        "raw/uploads/u.jsonl", b'{"mac": "aa:01", "ts": "2025-03-14T10:00:00-03:00", "mall_id": "CL01"}\n'
    )
    result = ingest_file(
        lake,
        s3_settings,
        "raw/uploads/u.jsonl",
        mapping={"customer_id": "mac", "session_start": "ts"},
        now=NOW,
    )
    assert (result.status, result.rows_accepted) == ("ok", 1)
    assert lake.read_parquet("curated/sessions").num_rows == 1
