"""The ELT on local Spark gives the same curated rows and rejections as on DuckDB."""

from __future__ import annotations

import os
import sys
from datetime import datetime

import pytest
from c4.elt import run_elt
from c4.elt.outputs import read_quarantine_rows
from c4.elt.samples import EXPECTED, write_sample_raw
from c4.settings import Settings
from c4.storage import Lake, open_lake

pytestmark = pytest.mark.spark

NOW = datetime(2026, 11, 30, 12, 0, 0)
KEY = "spark-parity-key-0123456789"


@pytest.fixture(scope="module")
def spark():
    pyspark = pytest.importorskip("pyspark.sql")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers need this venv's packages
    session = (
        pyspark.SparkSession.builder.master("local[1]")
        .appName("c4-elt-test")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "1")
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.sql.codegen.wholeStage", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _lake(path) -> tuple[Lake, Settings]:
    settings = Settings(lake=str(path), pseudonym_key=KEY)
    lake = open_lake(settings)
    write_sample_raw(lake)
    return lake, settings


def _rows(lake: Lake, rel: str, order: list[str]) -> list[dict]:
    table = read_quarantine_rows(lake) if rel.startswith("quarantine") else lake.read_parquet(rel)
    return sorted(table.to_pylist(), key=lambda r: tuple(str(r[c]) for c in order))


@pytest.fixture(scope="module")
def both(spark, tmp_path_factory):
    from c4.elt.spark import run_elt_spark

    duck_lake, settings = _lake(tmp_path_factory.mktemp("duck"))
    spark_lake, spark_settings = _lake(tmp_path_factory.mktemp("spark"))
    duck = run_elt(duck_lake, settings, now=NOW)
    sp = run_elt_spark(spark, spark_lake.uri, spark_settings, now=NOW)
    return duck_lake, duck, spark_lake, sp


def test_spark_counts_equal_duckdb_and_expected(both):
    _, duck, _, sp = both
    assert sp.engine == "spark"
    for summary in (duck, sp):
        assert summary.rows_in == EXPECTED["rows_in"]
        assert summary.rows_accepted == EXPECTED["rows_accepted"]
        assert summary.rejected_by_reason == EXPECTED["rejected_by_reason"]
        assert summary.files_unreadable == EXPECTED["files_unreadable"]
    by_file = {
        r.source_file: (r.status, r.rows_in, r.rows_accepted, r.rejected_by_reason) for r in duck.reports
    }
    assert {
        r.source_file: (r.status, r.rows_in, r.rows_accepted, r.rejected_by_reason) for r in sp.reports
    } == by_file


def test_spark_curated_rows_equal_duckdb_row_by_row(both):
    duck_lake, _, spark_lake, _ = both
    order = ["source_file", "session_id", "session_start"]
    duck_rows = _rows(duck_lake, "curated/sessions", order)
    spark_rows = _rows(spark_lake, "curated/sessions", order)
    assert len(duck_rows) == EXPECTED["rows_accepted"]
    assert spark_rows == duck_rows
    assert sorted(duck_lake.list_files("curated/sessions")) == sorted(
        spark_lake.list_files("curated/sessions")
    )


def test_spark_quarantine_equal_duckdb(both):
    duck_lake, _, spark_lake, _ = both
    key = ["source_file", "line_no", "reason_code"]
    duck_q = [tuple(r[c] for c in key) for r in _rows(duck_lake, "quarantine/rows", key)]
    spark_q = [tuple(r[c] for c in key) for r in _rows(spark_lake, "quarantine/rows", key)]
    assert spark_q == duck_q
    assert len(duck_q) == sum(EXPECTED["rejected_by_reason"].values())


def test_spark_manifests_say_spark(both):
    _, duck, spark_lake, _ = both
    manifests = spark_lake.list_files("manifests/elt")
    assert len(manifests) == duck.files_processed
    assert {spark_lake.read_json(m)["engine"] for m in manifests} == {"spark"}
