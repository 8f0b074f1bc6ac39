"""The transform (validation, UTC, dedupe, visits, pseudonyms) through the pure curate_table."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pytest
from c4.elt import curate_table, read_sessions_file
from c4.elt.api import as_staging
from c4.exceptions import ConfigurationError, UnreadableFileError

KEY = b"unit-test-key-0123456789"
NOW = datetime(2026, 11, 30)
COLS = (
    "session_id,customer_id,mall_id,zone,session_start,session_end,dwell_minutes,bytes_down,bytes_up,"
    "signal_dbm,failed_logins"
)
GOOD = "s1,a4:5e:60:00:00:01,CL01,cine,2025-03-14T18:00:00-03:00,2025-03-14T18:20:00-03:00,20,100,50,-60,0"


def _curate(tmp_path, lines, *, header=COLS, name="f.csv", **kwargs):
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    kwargs.setdefault("key", KEY)
    kwargs.setdefault("now", NOW)
    return curate_table(read_sessions_file(path, mapping=kwargs.pop("mapping", None)), **kwargs)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("s2,a4:5e:60:00:00:01,CL01,cine", "malformed"),
        ("s2,,CL01,cine,2025-03-14T18:00:00-03:00,,,,,,", "missing_required"),
        ("s2,a4:5e:60:00:00:01,CL01,cine,,,,,,,", "missing_required"),
        ("s2,a4:5e:60:00:00:01,CL01,cine,2025-02-30T18:00:00-03:00,,,,,,", "bad_timestamp"),
        ("s2,a4:5e:60:00:00:01,CL01,cine,2025-03-14T18:00:00+99:00,,,,,,", "bad_timestamp"),
        ("s2,a4:5e:60:00:00:01,CL01,cine,2025-03-14T18:00:00-03:00,soon,,,,,", "bad_timestamp"),
        ("s2,a4:5e:60:00:00:01,CL01,cine,2025-03-14T18:00:00-03:00,,-1,,,,", "bad_value"),
        ("s2,a4:5e:60:00:00:01,CL01,cine,2025-03-14T18:00:00-03:00,,abc,,,,", "bad_value"),
        (
            "s2,a4:5e:60:00:00:01,CL01,cine,2025-03-14T18:00:00-03:00,2025-03-14T17:00:00-03:00,,,,,",
            "bad_value",
        ),
        ("s2,a4:5e:60:00:00:01,CL01,cine,2025-03-14T18:00:00-03:00,,,-5,,,", "bad_value"),
        ("s2,a4:5e:60:00:00:01,CL01,cine,2025-03-14T18:00:00-03:00,,,1.5,,,", "bad_value"),
        ("s2,a4:5e:60:00:00:01,CL01,cine,2025-03-14T18:00:00-03:00,,,,,-121,", "bad_value"),
        ("s2,a4:5e:60:00:00:01,CL01,cine,2025-03-14T18:00:00-03:00,,,,,1,", "bad_value"),
        ("s2,a4:5e:60:00:00:01,CL01,cine,2026-12-01T18:00:00-03:00,,,,,,", "future_timestamp"),
        (GOOD, "duplicate"),
    ],
)
def test_each_dirt_kind_gets_its_reason(tmp_path, line, reason):
    result = _curate(tmp_path, [GOOD, line])
    assert result.report.rows_in == 2
    assert result.report.rows_accepted == 1
    assert result.report.rejected_by_reason == {reason: 1}
    rejected = result.rejected.to_pylist()
    assert rejected[0]["reason_code"] == reason and rejected[0]["line_no"] == 3 and rejected[0]["reason"]
    assert rejected[0]["source_file"].endswith("f.csv")


def test_future_is_relative_to_the_reference_time(tmp_path):
    line = "s2,a4:5e:60:00:00:02,CL01,cine,2026-12-01T18:00:00-03:00,,,,,,"
    assert _curate(tmp_path, [line], now=datetime(2026, 12, 1)).report.rows_accepted == 1
    assert _curate(tmp_path, [line], now=datetime(2026, 11, 29)).report.rejected_by_reason == {
        "future_timestamp": 1
    }


def test_unknown_mall_accepted_for_external_data_or_rejected_on_request(tmp_path):
    line = "s9,a4:5e:60:00:00:09,XX01,,2025-03-14T18:00:00-05:00,,,,,,"
    accepted = _curate(tmp_path, [line]).accepted.to_pylist()[0]
    assert accepted["mall_id"] == "XX01"
    assert accepted["session_start"] == datetime(2025, 3, 14, 23, 0)
    assert accepted["local_hour"] == 18  # the offset given is the only local time known
    rejected = _curate(tmp_path, [line], reject_unknown_malls=True)
    assert rejected.report.rejected_by_reason == {"unknown_mall": 1}


def test_utc_normalisation_offsets_naive_local_and_chile_dst(tmp_path):
    lines = [
        "a,m1,CL01,,2025-03-14T18:22:05-03:00,,,,,,",  # offset given
        "b,m1,CL01,,2025-06-14 18:22:05,,,,,,",  # naive, Chile winter (-04)
        "c,m1,CL01,,2025-04-05 23:30:00,,,,,,",  # ambiguous (clocks back) -> earlier instant
        "d,m1,CL01,,2025-09-07 00:30:00,,,,,,",  # non-existent (clocks forward)
        "e,m1,PE01,,2025-06-14T23:30:00.123456Z,,,,,,",  # UTC given, Lima local date is the 14th
        "f,m1,,,2025-06-14 10:00,,,,,,",  # no mall: naive = UTC
        "g,m1,CO01,,2025-06-14,,,,,,",  # a date alone: local midnight, no local hour
    ]
    rows = {r["session_id"]: r for r in _curate(tmp_path, lines).accepted.to_pylist()}
    assert rows["a"]["session_start"] == datetime(2025, 3, 14, 21, 22, 5) and rows["a"]["local_hour"] == 18
    assert rows["b"]["session_start"] == datetime(2025, 6, 14, 22, 22, 5) and rows["b"]["local_hour"] == 18
    assert rows["c"]["session_start"] == datetime(2025, 4, 6, 2, 30)
    assert str(rows["c"]["local_date"]) == "2025-04-05" and rows["c"]["local_hour"] == 23
    assert rows["d"]["session_start"] == datetime(2025, 9, 7, 4, 30) and rows["d"]["local_hour"] == 1
    assert rows["e"]["session_start"] == datetime(2025, 6, 14, 23, 30, 0, 123456)
    assert str(rows["e"]["local_date"]) == "2025-06-14" and rows["e"]["local_hour"] == 18
    assert rows["f"]["session_start"] == datetime(2025, 6, 14, 10, 0) and rows["f"]["mall_id"] is None
    assert rows["g"]["session_start"] == datetime(2025, 6, 14, 5, 0) and rows["g"]["local_hour"] is None
    assert {r["dt"] for r in rows.values()} == {"2025-03-14", "2025-06-14", "2025-04-05", "2025-09-07"}


def test_visits_split_on_gaps_over_30_minutes_per_mall_and_day(tmp_path):
    lines = [
        "v1,m1,CL01,,2025-03-14T10:00:00-03:00,2025-03-14T10:20:00-03:00,,,,,",
        "v2,m1,CL01,,2025-03-14T10:05:00-03:00,2025-03-14T11:00:00-03:00,,,,,",  # overlaps v1
        "v3,m1,CL01,,2025-03-14T11:30:00-03:00,,5,,,,",  # exactly 30 min after v2 ends
        "v4,m1,CL01,,2025-03-14T12:06:00-03:00,,,,,,",  # 31 min after v3 (ends 11:35)
        "v5,m1,CL02,,2025-03-14T12:10:00-03:00,,,,,,",  # other mall
        "v6,m2,CL01,,2025-03-14T12:10:00-03:00,,,,,,",  # other guest
        "v7,m1,CL01,,2025-03-15T00:10:00-03:00,,,,,,",  # next local day
    ]
    rows = {r["session_id"]: r for r in _curate(tmp_path, lines).accepted.to_pylist()}
    visit = {k: v["visit_id"] for k, v in rows.items()}
    assert visit["v1"] == visit["v2"] == visit["v3"]
    assert len({visit["v3"], visit["v4"], visit["v5"], visit["v6"], visit["v7"]}) == 5
    again = {
        r["session_id"]: r["visit_id"] for r in _curate(tmp_path, list(reversed(lines))).accepted.to_pylist()
    }
    assert again == visit  # deterministic, independent of row order
    assert rows["v3"]["session_end"] == datetime(2025, 3, 14, 14, 35)  # derived from dwell
    assert rows["v1"]["dwell_minutes"] == 20.0  # derived from start and end


def test_pseudonymisation_and_the_backtest_option(tmp_path):
    hashed = _curate(tmp_path, [GOOD]).accepted.column("customer_id").to_pylist()[0]
    assert len(hashed) == 64 and ":" not in hashed
    kept = _curate(tmp_path, [GOOD], key=None, pseudonymise=False).accepted.column("customer_id").to_pylist()
    assert kept == ["a4:5e:60:00:00:01"]
    with pytest.raises(ConfigurationError):
        _curate(tmp_path, [GOOD], key=None)


def test_missing_session_id_gets_a_content_hash_and_duplicates_still_caught(tmp_path):
    header = "customer_id,session_start,zone"
    result = _curate(
        tmp_path,
        [
            "m1,2025-03-14T10:00:00-03:00,cine",
            "m1,2025-03-14T10:00:00-03:00,cine",
            "m1,2025-03-14T10:00:00-03:00,patio",
        ],
        header=header,
    )
    ids = result.accepted.column("session_id").to_pylist()
    assert len(ids) == 2 and len(set(ids)) == 2 and all(len(i) == 32 for i in ids)
    assert result.report.rejected_by_reason == {"duplicate": 1}


def test_duplicates_against_existing_curated_rows(tmp_path):
    first = _curate(tmp_path, [GOOD])
    second = _curate(tmp_path, [GOOD, GOOD.replace("s1,", "s3,")], existing=first.accepted)
    assert second.report.rejected_by_reason == {"duplicate": 1}
    assert second.rejected.column("reason").to_pylist() == [
        "same session_id and content as a row already curated"
    ]


def test_two_column_file_with_dates_only_and_a_mapping(tmp_path):
    result = _curate(
        tmp_path,
        ["aa:bb,2025-03-14", "cc:dd,2025-03-15"],
        header="Client_MAC,Fecha",
        mapping={"customer_id": "client_mac", "session_start": "fecha"},
    )
    rows = result.accepted.to_pylist()
    assert result.report.rows_accepted == 2
    assert [r["session_start"] for r in rows] == [datetime(2025, 3, 14), datetime(2025, 3, 15)]
    assert all(r["local_hour"] is None and r["mall_id"] is None and r["dwell_minutes"] is None for r in rows)


def test_curate_table_accepts_any_arrow_table():
    table = pa.table({"mac": ["x1"], "ts": [datetime(2025, 3, 14, 12)], "mall_id": ["PE01"]})
    result = curate_table(table, key=KEY, mapping={"customer_id": "mac", "session_start": "ts"}, now=NOW)
    row = result.accepted.to_pylist()[0]
    assert row["session_start"] == datetime(2025, 3, 14, 17)  # naive = Lima local time
    assert as_staging(table, mapping={"customer_id": "mac", "session_start": "ts"}).num_rows == 1


def test_read_sessions_file_raises_on_unreadable(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"")
    with pytest.raises(UnreadableFileError, match="empty"):
        read_sessions_file(path)
