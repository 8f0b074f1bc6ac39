"""The same storage seam against S3, served by a local moto server (never real AWS)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import boto3
import pyarrow as pa
import pytest
from c4.engine import connect
from c4.settings import Settings
from c4.storage import open_lake
from moto.server import ThreadedMotoServer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def s3_endpoint(monkeypatch) -> Iterator[str]:
    for var, val in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(var, val)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    url = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=url, region_name="us-east-1").create_bucket(Bucket="c4-lake")
    yield url
    server.stop()


def test_lake_on_s3_reads_writes_lists_and_queries(s3_endpoint: str) -> None:
    # Given a lake on S3 opened through the same seam as a local folder
    settings = Settings(lake="s3://c4-lake/prod", s3_endpoint_url=s3_endpoint, aws_region="us-east-1")
    session = boto3.Session(region_name="us-east-1")
    lake = open_lake(settings, boto3_session=session)
    # When files and Parquet partitions are written
    lake.write_json("manifests/elt/a.json", {"rows_in": 3})
    for dt in ("2025-01-01", "2025-01-02"):
        lake.write_parquet(
            f"curated/sessions/dt={dt}/part.parquet", pa.table({"customer_id": ["x", "y", "z"]})
        )
    # Then they are listed, read back, and visible to DuckDB under the Athena table name
    assert lake.read_json("manifests/elt/a.json") == {"rows_in": 3}
    assert lake.list_files("curated/sessions") == [
        "curated/sessions/dt=2025-01-01/part.parquet",
        "curated/sessions/dt=2025-01-02/part.parquet",
    ]
    keys = boto3.client("s3", endpoint_url=s3_endpoint).list_objects_v2(Bucket="c4-lake")["Contents"]
    assert {k["Key"] for k in keys} >= {"prod/manifests/elt/a.json"}
    con = connect(lake)
    assert con.execute("SELECT count(*), count(DISTINCT dt) FROM sessions").fetchone() == (6, 2)
