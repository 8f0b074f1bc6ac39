"""A single file's ingest with its writes deferred to an executor (scoring overlaps them)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from c4.elt import ingest_file
from c4.settings import Settings
from c4.storage import open_lake


def _upload(n: int) -> bytes:
    lines = ["customer_id,mall_id,zone,session_start,dwell_minutes"]
    for i in range(n):
        lines.append(f"aa:{i % 97:02x},CL01,food,2025-05-02T{10 + i % 11:02d}:{i % 60:02d}:00-04:00,{i % 40}")
    lines.append("bb:01,CL01,food,not-a-time,3")  # one rejected row
    return ("\n".join(lines) + "\n").encode()


def test_ingest_with_an_executor_returns_rows_first_and_writes_on_wait(tmp_path):
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
