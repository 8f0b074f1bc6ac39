"""The DuckDB engine: a single file's deferred writes, and its two ways of holding relations."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from c4.elt import ingest_file
from c4.elt.batch import run_batch
from c4.elt.duck import DuckEngine
from c4.elt.samples import FILES, write_sample_raw
from c4.settings import Settings
from c4.storage import open_lake

from tests.data.bad_files.corpus import DAY, NOW, cases


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


def _batch_outputs(tmp_path, arrow: bool) -> tuple[dict, dict[str, pa.Table], dict[str, bytes]]:
    """The sample files and the whole bad-file corpus in one batch, with one engine mode."""
    lake = open_lake(Settings(lake=str(tmp_path / ("arrow" if arrow else "tables"))))
    files = dict(FILES)
    for case in cases():
        files[f"raw/sessions/mall_id=CL01/date={DAY}/{case.filename}"] = case.data
    write_sample_raw(lake, files)
    engine = DuckEngine(threads=2, arrow=arrow)
    try:
        summary = run_batch(engine, lake, b"unit-test-key-0123456789", now=NOW)
    finally:
        engine.close()
    curated = {f: pq.read_table(lake.path(f)) for f in lake.list_files("curated/sessions")}
    quarantine = {f: lake.read_bytes(f) for f in lake.list_files("quarantine")}
    counts = {
        r.source_file: (r.status, r.rows_in, r.rows_accepted, r.rejected_by_reason) for r in summary.reports
    }
    return counts, curated, quarantine


def _ordered(table: pa.Table) -> pa.Table:
    table = table.drop_columns(["ingested_at"])
    return table.take(pc.sort_indices(table, [(n, "ascending") for n in table.column_names]))


def test_arrow_relations_give_the_same_outputs_as_duckdb_tables(tmp_path):
    """``DuckEngine(arrow=True)`` (single uploads) changes where relations live, not a row."""
    counts_t, curated_t, quarantine_t = _batch_outputs(tmp_path, arrow=False)
    counts_a, curated_a, quarantine_a = _batch_outputs(tmp_path, arrow=True)
    assert counts_a == counts_t
    assert sum(c[2] for c in counts_t.values()) > 0 and any(c[3] for c in counts_t.values())
    assert sorted(curated_a) == sorted(curated_t)
    for f, table in curated_t.items():
        assert _ordered(curated_a[f]).equals(_ordered(table)), f
    assert sorted(quarantine_a) == sorted(quarantine_t)
    for f, data in quarantine_t.items():
        if f.endswith(".jsonl"):  # rejected rows: same lines apart from the rejection time
            strip = [
                json.dumps({k: v for k, v in json.loads(x).items() if k != "rejected_at"})
                for x in data.splitlines()
            ]
            again = [json.dumps({k: v for k, v in json.loads(x).items() if k != "rejected_at"})
                     for x in quarantine_a[f].splitlines()]  # fmt: skip
            assert again == strip, f


def _spill_folder(engine: DuckEngine) -> str:
    return str(engine.con.execute("SELECT current_setting('temp_directory')").fetchall()[0][0])


def test_arrow_engines_share_their_threads_database_but_not_their_relations():
    # Given two Arrow-mode engines of one thread, each with its own "staging"
    a, b = DuckEngine(threads=2, arrow=True), DuckEngine(threads=2, arrow=True)
    a.register("staging", pa.table({"x": [1]}))
    b.register("staging", pa.table({"x": [2, 3]}))
    # Then they share the thread's database (one spill folder) but each sees its own relation,
    # also once the other is closed
    assert _spill_folder(a) == _spill_folder(b)
    assert a.fetch("SELECT count(*) AS n FROM staging").column("n").to_pylist() == [1]
    a.close()
    assert b.fetch("SELECT count(*) AS n FROM staging").column("n").to_pylist() == [2]
    # And another thread gets a database of its own; an engine with a memory limit too
    with ThreadPoolExecutor(max_workers=1) as pool:
        other = pool.submit(lambda: _spill_folder(DuckEngine(threads=2, arrow=True))).result()
    limited = DuckEngine(threads=2, arrow=True, memory_limit="1GB")
    assert len({_spill_folder(b), other, _spill_folder(limited)}) == 3
    b.close()
    limited.close()


def _ingest_all(
    tmp_path, name: str, uploads: dict[str, bytes], executor: bool
) -> tuple[dict, list, dict[str, pa.Table], dict[str, bytes]]:
    """Uploads ingested one at a time, in path order, into one lake."""
    settings = Settings(lake=str(tmp_path / name), pseudonym_key="unit-test-key-0123456789")
    lake = open_lake(settings)
    counts, accepted = {}, []
    for rel, data in sorted(uploads.items()):
        lake.write_bytes(rel, data)
        with ThreadPoolExecutor(max_workers=1) as pool:
            result = ingest_file(lake, settings, rel, now=NOW, executor=pool if executor else None)
            result.wait()
        counts[rel] = (result.status, result.rows_in, result.rows_accepted, dict(result.rejected_by_reason))
        accepted.append(_ordered(result.accepted.drop_columns(["dt"])).to_pylist())
    curated = {f: _ordered(pq.read_table(lake.path(f))) for f in lake.list_files("curated/sessions")}
    quarantine = {f: lake.read_bytes(f) for f in lake.list_files("quarantine")}
    return counts, accepted, curated, quarantine


def test_outputs_made_in_the_background_job_are_the_same(tmp_path):
    """With an executor, an upload's curated_out/rejected_out are made by the background job."""
    # Given the sample files, the bad-file corpus and two uploads sharing guests and a day
    uploads = {f"raw/uploads/{f.rsplit('/', 1)[-1]}": data for f, data in FILES.items()}
    uploads.update({f"raw/uploads/{case.filename}": case.data for case in cases()})
    uploads["raw/uploads/a.csv"] = _upload(50)
    uploads["raw/uploads/again.csv"] = _upload(30)  # after a.csv: its rows meet existing ones
    # When they are ingested with and without an executor
    counts, accepted, curated, quarantine = _ingest_all(tmp_path, "now", uploads, executor=False)
    counts_bg, accepted_bg, curated_bg, quarantine_bg = _ingest_all(tmp_path, "bg", uploads, executor=True)
    # Then every count, accepted row, curated file and quarantined byte is the same
    assert counts_bg == counts
    assert sum(c[2] for c in counts.values()) > 0 and any(c[3] for c in counts.values())
    assert accepted_bg == accepted
    assert sorted(curated_bg) == sorted(curated)
    for f, table in curated.items():
        assert curated_bg[f].equals(table), f
    assert quarantine_bg == quarantine
