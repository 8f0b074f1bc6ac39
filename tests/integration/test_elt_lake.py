"""The batch ELT and single-file ingestion on a local lake (DuckDB)."""

from __future__ import annotations

import hashlib
import io
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from c4.elt import ingest_file, run_elt
from c4.elt.contract import file_id
from c4.elt.outputs import read_quarantine_rows
from c4.elt.samples import EXPECTED, FILES, RAW_MACS, UNREADABLE, write_sample_raw
from c4.engine import connect
from c4.generate import DirtConfig, GeneratorConfig, generate
from c4.settings import Settings
from c4.storage import Lake, open_lake

NOW = datetime(2026, 11, 30, 12, 0, 0)
DAY = "raw/sessions/mall_id=CL01/date=2025-03-14/CL01_2025-03-14.csv"
LATE = "raw/sessions/mall_id=CL01/date=2025-03-15/CL01_2025-03-14_late1.csv"


@pytest.fixture
def lake(tmp_path) -> tuple[Lake, Settings]:
    settings = Settings(lake=str(tmp_path / "lake"), pseudonym_key="lake-test-key-0123456789")
    return open_lake(settings), settings


def _snapshot(lake: Lake) -> dict[str, str]:
    return {
        f: hashlib.sha256(lake.read_bytes(f)).hexdigest()
        for zone in ("curated", "quarantine", "manifests")
        for f in lake.list_files(zone)
    }


def test_batch_counts_manifests_and_quarantine(lake):
    lake, settings = lake
    write_sample_raw(lake)
    summary = run_elt(lake, settings, now=NOW)
    assert summary.files_processed == EXPECTED["files_processed"]
    assert summary.rows_in == EXPECTED["rows_in"] == summary.rows_accepted + summary.rows_rejected
    assert summary.rejected_by_reason == EXPECTED["rejected_by_reason"]
    manifests = {
        lake.read_json(f)["source_file"]: lake.read_json(f) for f in lake.list_files("manifests/elt")
    }
    assert set(manifests) == {f for f in FILES if not f.startswith("raw/_")}
    for m in manifests.values():
        assert (
            m["rows_in"]
            == m["rows_accepted"] + m["rows_rejected"]
            == sum(m["rejected_by_reason"].values()) + m["rows_accepted"]
        )
        assert m["engine"] == "duckdb" and m["processed_at"] == "2026-11-30T12:00:00Z"
    day = manifests[DAY]
    assert (day["status"], day["rows_in"], day["rows_accepted"], day["mall_id"]) == ("ok", 17, 4, "CL01")
    quarantined = read_quarantine_rows(lake, DAY).to_pylist()
    assert lake.exists(f"quarantine/rows/source={file_id(DAY)}/{file_id(DAY)}.jsonl")
    assert len(quarantined) == 13 and {q["source_file"] for q in quarantined} == {DAY}
    garbage = next(q for q in quarantined if q["line_no"] == 7)
    assert (garbage["reason_code"], garbage["raw_line"]) == ("malformed", "#### garbage ####")
    assert lake.has_data("curated/malls")


def test_unreadable_files_quarantined_whole(lake):
    lake, settings = lake
    write_sample_raw(lake)
    run_elt(lake, settings, now=NOW)
    for rel, data in UNREADABLE.items():
        manifest = lake.read_json(f"manifests/elt/{file_id(rel)}.json")
        assert manifest["status"] == "unreadable" and manifest["error"]
        assert manifest["rows_in"] == manifest["rows_accepted"] == manifest["rows_rejected"] == 0
        folder = f"quarantine/files/{file_id(rel)}"
        assert lake.read_bytes(f"{folder}/{rel.rsplit('/', 1)[1]}") == data
        assert lake.read_json(f"{folder}/error.json")["error"] == manifest["error"]


def test_rerun_is_idempotent(lake):
    lake, settings = lake
    write_sample_raw(lake)
    run_elt(lake, settings, now=NOW)
    before = _snapshot(lake)
    again = run_elt(lake, settings, now=datetime(2026, 12, 1))
    assert again.files_processed == 0 and again.files_skipped == EXPECTED["files_processed"]
    assert _snapshot(lake) == before


def test_incremental_late_file_dedupes_against_curated_and_rejoins_visits(lake):
    lake, settings = lake
    write_sample_raw(lake, {DAY: FILES[DAY]})
    first = run_elt(lake, settings, now=NOW)
    assert first.files_processed == 1
    day_file = "curated/sessions/dt=2025-03-14/raw-sessions.parquet"
    visits_before = {r["session_id"]: r["visit_id"] for r in lake.read_parquet(day_file).to_pylist()}
    assert visits_before["cl-1"] == visits_before["cl-2"] != visits_before["cl-3"]
    write_sample_raw(lake, {LATE: FILES[LATE]})
    second = run_elt(lake, settings, now=NOW)
    assert second.files_processed == 1 and second.files_skipped == 1
    assert (second.rows_in, second.rows_accepted, second.rejected_by_reason) == (2, 1, {"duplicate": 1})
    rejected = read_quarantine_rows(lake, LATE).to_pylist()
    assert rejected[0]["session_id"] == "cl-2" and "already curated" in rejected[0]["reason"]
    visits_after = {r["session_id"]: r["visit_id"] for r in lake.read_parquet("curated/sessions").to_pylist()}
    guest_a = {visits_after[s] for s in ("cl-1", "cl-2", "cl-16", "cl-3")}
    assert len(guest_a) == 1  # the late session bridges the two visits, the day's file rewritten
    assert lake.list_files("curated/sessions") == [day_file]
    con = connect(lake)
    assert con.execute("SELECT COUNT(*), COUNT(DISTINCT session_id) FROM sessions").fetchone() == (5, 5)


def test_no_raw_mac_reaches_curated(lake):
    lake, settings = lake
    write_sample_raw(lake)
    run_elt(lake, settings, now=NOW)
    needles = [m.encode() for m in RAW_MACS] + [m.replace(":", "").encode() for m in RAW_MACS]
    for rel in lake.list_files("curated"):
        data = lake.read_bytes(rel)
        assert not any(n in data for n in needles), rel
    values = lake.read_parquet("curated/sessions").column("customer_id").to_pylist()
    assert values and all(len(v) == 64 and v not in RAW_MACS for v in values)


def test_ingest_file_with_a_mapping(lake):
    lake, settings = lake
    rel = "raw/uploads/partner_export.csv"
    lake.write_bytes(
        rel,
        b"Client_MAC;Inicio;Centro;Extra\n"
        b"aa:bb:cc:00:00:01;2025-05-01T12:00:00-04:00;CL03;x\n"
        b"aa:bb:cc:00:00:02;2025-05-01 13:00;NEW9;y\n"
        b"aa:bb:cc:00:00:03;;CL03;z\n",
    )
    result = ingest_file(
        lake,
        settings,
        rel,
        mapping={"customer_id": "client_mac", "session_start": "inicio", "mall_id": "centro"},
        now=NOW,
    )
    assert (result.status, result.rows_in, result.rows_accepted) == ("ok", 3, 2)
    assert result.rejected_by_reason == {"missing_required": 1}
    rows = {r["mall_id"]: r for r in result.accepted.to_pylist()}
    assert rows["CL03"]["session_start"] == datetime(2025, 5, 1, 16, 0)
    assert rows["NEW9"]["session_start"] == datetime(2025, 5, 1, 13, 0)  # unknown mall: naive = UTC
    assert lake.read_json(result.manifest_path)["rows_accepted"] == 2
    again = ingest_file(
        lake,
        settings,
        rel,
        mapping={"customer_id": "client_mac", "session_start": "inicio", "mall_id": "centro"},
        now=NOW,
    )
    assert again.rows_accepted == 2  # re-ingesting overwrites, it does not count itself as duplicate
    assert lake.read_parquet("curated/sessions").num_rows == 2


def test_redelivered_upload_replaces_its_own_curated_file_without_reading_it(lake):
    lake, settings = lake
    upload, other = "raw/uploads/day.csv", "raw/uploads/other.csv"
    header = b"session_id,customer_id,mall_id,session_start,dwell_minutes\n"
    rows = [
        b"s1,aa:01,CL01,2025-05-01T12:00:00-04:00,5\n",
        b"s2,aa:01,CL01,2025-05-01T12:10:00-04:00,5\n",
        b"s3,aa:02,CL01,2025-05-01T15:00:00-04:00,5\n",
    ]
    lake.write_bytes(other, header + rows[2])  # another file of the day, curated first
    lake.write_bytes(upload, header + b"".join(rows))
    assert ingest_file(lake, settings, other, now=NOW).rows_accepted == 1
    first = ingest_file(lake, settings, upload, now=NOW)
    assert (first.rows_accepted, first.rejected_by_reason) == (2, {"duplicate": 1})
    before = _snapshot(lake)
    again = ingest_file(lake, settings, upload, now=NOW)
    assert (again.rows_accepted, again.rejected_by_reason) == (2, {"duplicate": 1})
    assert _snapshot(lake) == before  # idempotent: same curated, quarantine and manifest bytes
    own = f"curated/sessions/dt=2025-05-01/{file_id(upload)}.parquet"
    lake.write_bytes(own, b"not parquet")  # a damaged earlier output of this very file
    healed = ingest_file(lake, settings, upload, now=NOW)
    assert (healed.rows_accepted, healed.rejected_by_reason) == (2, {"duplicate": 1})
    assert _snapshot(lake) == before
    visits = {r["session_id"]: r["visit_id"] for r in lake.read_parquet("curated/sessions").to_pylist()}
    assert visits["s1"] == visits["s2"] != visits["s3"]


def test_two_column_file_through_the_elt(lake):
    lake, settings = lake
    rel = "raw/sessions/mall_id=PE02/date=2025-05-02/minimal.csv"
    lake.write_bytes(
        rel, b"customer_id,session_start\naa:01,2025-05-02\naa:02,2025-05-02\naa:01,2025-05-02\n"
    )
    summary = run_elt(lake, settings, now=NOW)
    assert (summary.rows_accepted, summary.rejected_by_reason) == (2, {"duplicate": 1})
    rows = (
        connect(lake)
        .execute(
            "SELECT mall_id, local_hour, dwell_minutes, session_end, dt FROM sessions ORDER BY customer_id"
        )
        .fetchall()
    )
    assert rows == [("PE02", None, None, None, "2025-05-02")] * 2


def test_unreadable_ingest_file(lake):
    lake, settings = lake
    lake.write_bytes("raw/uploads/empty.csv", b"")
    result = ingest_file(lake, settings, "raw/uploads/empty.csv", now=NOW)
    assert result.status == "unreadable" and result.accepted.num_rows == 0
    assert lake.read_json(result.manifest_path)["error"] == "empty file"


def test_cli_elt_prints_the_summary(lake, monkeypatch):
    import typer
    from c4.cli.elt import elt
    from typer.testing import CliRunner

    lake, _ = lake
    monkeypatch.setenv("C4_PSEUDONYM_KEY", "cli-test-key-0123456789")
    lake.write_bytes(
        "raw/sessions/x/export.csv", b"MAC,Inicio\naa:01,2025-05-02T10:00:00-05:00\n,2025-05-02\n"
    )
    app = typer.Typer()
    app.command()(elt)
    result = CliRunner().invoke(
        app,
        ["--lake", lake.uri, "--map", "customer_id=mac,session_start=inicio", "--now", "2026-11-30T00:00:00"],
    )
    assert result.exit_code == 0, result.output
    assert "rows accepted" in result.output and "missing_required" in result.output
    assert lake.read_parquet("curated/sessions").num_rows == 1
    bad = CliRunner().invoke(app, ["--lake", lake.uri, "--map", "nonsense=x"])
    assert bad.exit_code == 2 and "not a contract column" in bad.output


def test_typed_parquet_upload_is_normalised_to_utc(lake):
    # Given a Parquet upload with real types: a tz-aware start (Santiago), a naive end, numbers
    lake, settings = lake
    start = pa.array([datetime(2025, 3, 14, 21, 0)], pa.timestamp("ms", tz="UTC")).cast(
        pa.timestamp("ms", tz="America/Santiago")
    )
    table = pa.table(
        {
            "customer_id": ["aa:bb:cc:00:00:09"],
            "mall_id": ["CL01"],
            "session_start": start,
            "session_end": pa.array([datetime(2025, 3, 14, 18, 30)], pa.timestamp("us")),  # naive: local
            "bytes_down": pa.array([1234], pa.int64()),
            "dwell_minutes": pa.array([30.0], pa.float64()),
        }
    )
    buf = io.BytesIO()
    pq.write_table(table, buf)
    lake.write_bytes("raw/uploads/typed.parquet", buf.getvalue())
    # When it is ingested
    result = ingest_file(lake, settings, "raw/uploads/typed.parquet", now=NOW)
    # Then the aware start keeps its instant, the naive end is read as the mall's local time (UTC-3)
    assert (result.status, result.rows_accepted) == ("ok", 1), result.rejected_by_reason
    row = result.accepted.to_pylist()[0]
    assert row["session_start"] == datetime(2025, 3, 14, 21, 0)
    assert row["session_end"] == datetime(2025, 3, 14, 21, 30)
    assert (row["local_hour"], row["bytes_down"], row["dwell_minutes"]) == (18, 1234, 30.0)


def test_crlf_files_in_a_batch_keep_exact_lines(lake):
    # Given a CRLF file with a malformed row, next to an LF file of the same header
    lake, settings = lake
    header = "customer_id,session_start,mall_id"
    crlf = "\r\n".join(
        [header, "aa:01,2025-05-02T10:00:00-05:00,PE02", "bad", "aa:02,2025-05-02T11:00:00-05:00,PE02"]
    )
    lf = "\n".join([header, "aa:03,2025-05-02T12:00:00-05:00,PE02"])
    lake.write_bytes("raw/sessions/mall_id=PE02/date=2025-05-02/a.csv", (crlf + "\r\n").encode())
    lake.write_bytes("raw/sessions/mall_id=PE02/date=2025-05-02/b.csv", (lf + "\n").encode())
    # When the batch runs
    summary = run_elt(lake, settings, now=NOW)
    # Then both files are read, the bad row is quarantined with its own line number
    assert (summary.rows_in, summary.rows_accepted, summary.rejected_by_reason) == (4, 3, {"malformed": 1})
    rejected = read_quarantine_rows(lake).to_pylist()
    assert [(r["source_file"].rsplit("/", 1)[-1], r["line_no"]) for r in rejected] == [("a.csv", 3)]
    lines = (
        connect(lake)
        .execute("SELECT customer_id, session_start FROM sessions ORDER BY session_start")
        .fetchall()
    )
    assert [t.hour for _, t in lines] == [15, 16, 17]


def test_generated_lake_quarantine_matches_the_generator_exactly(tmp_path):
    # Given a generated raw zone with every kind of dirt, stuck clocks included
    settings = Settings(lake=str(tmp_path / "gen"), pseudonym_key="lake-test-key-0123456789")
    lake = open_lake(settings)
    cfg = GeneratorConfig(
        customers=1500, months=3, seed=3, malls=2, workers=1, dirt=DirtConfig.preset("high")
    )
    generated = generate(lake, cfg)
    assert generated.expected_rejects["future_timestamp"] > 0
    # When the ELT runs at the real processing time (no knowledge of the generator's window)
    summary = run_elt(lake, settings)
    # Then every expected reject is quarantined with its reason, and nothing else is
    assert summary.rejected_by_reason == {k: v for k, v in generated.expected_rejects.items() if v}
    assert summary.rows_in == generated.rows


def test_ingest_into_a_busy_day_recomputes_only_the_guests_it_touches(lake, tmp_path):
    # Given an upload curated for a day: guest aa:01 with two visits, guest aa:02 with one
    lake, settings = lake
    header = b"session_id,customer_id,mall_id,session_start,dwell_minutes\n"
    first = [
        b"s1,aa:01,CL01,2025-05-01T12:00:00-04:00,5\n",
        b"s2,aa:01,CL01,2025-05-01T13:00:00-04:00,5\n",
        b"s3,aa:02,CL01,2025-05-01T12:00:00-04:00,5\n",
    ]
    bridge = b"s4,aa:01,CL01,2025-05-01T12:30:00-04:00,5\n"  # 25 min after s1 ends, 25 min before s2
    lake.write_bytes("raw/uploads/a.csv", header + b"".join(first))
    ingest_file(lake, settings, "raw/uploads/a.csv", now=NOW)
    a_file = f"curated/sessions/dt=2025-05-01/{file_id('raw/uploads/a.csv')}.parquet"
    before = {r["session_id"]: r["visit_id"] for r in lake.read_parquet(a_file).to_pylist()}
    assert len({before["s1"], before["s2"], before["s3"]}) == 3
    # When another upload of the same day bridges aa:01's two visits
    lake.write_bytes("raw/uploads/b.csv", header + bridge)
    assert ingest_file(lake, settings, "raw/uploads/b.csv", now=NOW).rows_accepted == 1
    # Then aa:01's sessions share one visit (the first upload's file rewritten), aa:02 keeps its own
    after = {r["session_id"]: r["visit_id"] for r in lake.read_parquet("curated/sessions").to_pylist()}
    assert after["s1"] == after["s2"] == after["s4"] != after["s3"] == before["s3"]
    # And the visits equal one pass over all the sessions at once
    one = Settings(lake=str(tmp_path / "one"), pseudonym_key=settings.pseudonym_key)
    one_lake = open_lake(one)
    one_lake.write_bytes("raw/uploads/ab.csv", header + b"".join(first) + bridge)
    ingest_file(one_lake, one, "raw/uploads/ab.csv", now=NOW)
    rows = one_lake.read_parquet("curated/sessions").to_pylist()
    assert {r["session_id"]: r["visit_id"] for r in rows} == after
