"""The DuckDB adapter's working tables: small row groups for single-file ingests, same rows."""

from __future__ import annotations

import threading
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc
from c4.elt import api, ingest_file
from c4.elt.duck import DuckEngine
from c4.settings import Settings
from c4.storage import open_lake


def _row_groups(engine: DuckEngine, table: str) -> int:
    sql = f"SELECT COUNT(DISTINCT row_group_id) FROM pragma_storage_info('{table}')"
    return int(engine.con.execute(sql).fetchall()[0][0])


def test_row_group_size_splits_working_tables_so_scans_run_in_parallel():
    sql = "SELECT range AS i, md5(CAST(range AS VARCHAR)) AS m FROM range(10000)"
    small, default = DuckEngine(threads=2, row_group_size=2048), DuckEngine(threads=2)
    try:
        for engine in (small, default):
            engine.materialize("t", sql)
        assert _row_groups(small, "t") == 5  # ceil(10,000 / 2,048)
        assert _row_groups(default, "t") == 1
        assert small.fetch("SELECT * FROM t ORDER BY i").equals(default.fetch("SELECT * FROM t ORDER BY i"))
        small.reset()  # the working tables of the attached database are dropped too
        assert small.con.execute("SELECT COUNT(*) FROM duckdb_tables()").fetchall() == [(0,)]
    finally:
        small.close()
        default.close()


def _upload(n: int) -> bytes:
    lines = ["customer_id,mall_id,zone,session_start,dwell_minutes"]
    for i in range(n):
        lines.append(f"aa:{i % 97:02x},CL01,food,2025-05-02T{10 + i % 11:02d}:{i % 60:02d}:00-04:00,{i % 40}")
    lines.append("bb:01,CL01,food,not-a-time,3")  # one rejected row
    return ("\n".join(lines) + "\n").encode()


def _sorted(table: pa.Table) -> pa.Table:
    """Rows in a total order (ties in the ELT's own order are not part of its contract)."""
    table = table.drop_columns(["ingested_at"])
    return table.take(pc.sort_indices(table, [(name, "ascending") for name in table.column_names]))


def test_ingest_with_small_row_groups_writes_the_same_rows(tmp_path, monkeypatch):
    outputs = {}
    for size in (None, 2048):  # 2,048 rows per group (the least DuckDB takes): five groups
        monkeypatch.setattr(api, "INGEST_ROW_GROUP", size)
        settings = Settings(lake=str(tmp_path / f"lake-{size}"), pseudonym_key="unit-test-key-0123456789")
        lake = open_lake(settings)
        lake.write_bytes("raw/uploads/a.csv", _upload(9000))
        result = ingest_file(lake, settings, "raw/uploads/a.csv", now=datetime(2026, 11, 30))
        assert (result.rows_in, result.rows_accepted, result.rows_rejected) == (9001, 9000, 1)
        curated = lake.read_parquet(lake.list_files("curated/sessions")[0])
        outputs[size] = (_sorted(result.accepted), _sorted(curated))
    assert outputs[None][0].equals(outputs[2048][0])
    assert outputs[None][1].equals(outputs[2048][1])


def test_ingest_with_an_executor_returns_rows_first_and_writes_on_wait(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    settings = Settings(lake=str(tmp_path / "lake"), pseudonym_key="unit-test-key-0123456789")
    lake = open_lake(settings)
    lake.write_bytes("raw/uploads/a.csv", _upload(50))
    gate = threading.Event()
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(gate.wait)  # the executor is busy: the writes cannot have run yet
        result = ingest_file(lake, settings, "raw/uploads/a.csv", now=datetime(2026, 11, 30), executor=pool)
        assert result.rows_accepted == 50 and result.accepted.num_rows == 50
        assert not lake.exists(result.manifest_path)
        assert "manifests" not in result.stage_times.as_dict()
        gate.set()
        result.wait()
    assert lake.exists(result.manifest_path)
    assert lake.list_files("quarantine")  # the rejected row
    assert {"write", "manifests"} <= set(result.stage_times.as_dict())
