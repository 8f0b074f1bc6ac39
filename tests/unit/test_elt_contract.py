"""Contract helpers, the file probe, the Python reader and the offset tables."""

from __future__ import annotations

import gzip
from datetime import date, datetime

import pytest
from c4.elt.contract import file_id, mall_from_path, parse_mapping, resolve_columns
from c4.elt.parse import parse_bytes
from c4.elt.probe import probe_bytes
from c4.elt.pseudonym import pseudonym_table, pseudonymise_values
from c4.elt.samples import HEADER
from c4.elt.sql import STATEMENTS, SqlParams, render
from c4.elt.timezones import offset_tables
from c4.exceptions import ContractError


def test_parse_mapping_and_errors():
    assert parse_mapping("customer_id=client_mac, session_start=ts") == {
        "customer_id": "client_mac",
        "session_start": "ts",
    }
    assert parse_mapping("") == {}
    with pytest.raises(ContractError, match="not a contract column"):
        parse_mapping("client=x")
    with pytest.raises(ContractError, match="contract_name=source_name"):
        parse_mapping("customer_id")


def test_resolve_columns_is_case_insensitive_and_mapping_wins():
    resolved = resolve_columns(
        ["Client_MAC", " TS ", "customer_id", "junk"], {"customer_id": "client_mac", "session_start": "ts"}
    )
    assert resolved == {"customer_id": "Client_MAC", "session_start": " TS "}


def test_file_id_is_stable_and_distinguishes_folders():
    a = file_id("raw/sessions/mall_id=CL01/date=2025-03-14/x.csv")
    b = file_id("raw/sessions/mall_id=CL02/date=2025-03-14/x.csv")
    assert a == file_id("raw/sessions/mall_id=CL01/date=2025-03-14/x.csv")
    assert a != b and a.startswith("x_csv-")
    assert mall_from_path("raw/sessions/mall_id=CL01/date=2025-03-14/x.csv") == "CL01"
    assert mall_from_path("raw/uploads/x.csv") is None


@pytest.mark.parametrize(
    ("name", "data", "error"),
    [
        ("e.csv", b"", "empty file"),
        ("e.csv", b"  \n\n", "empty file"),
        ("h.csv", (HEADER + "\n").encode(), "header only"),
        ("b.csv", b"\x00\x01binary", "binary"),
        ("g.csv", gzip.compress(b"a,b\n1,2\n", mtime=0), "gzip"),
        ("l.csv", "customer_id,session_start,zone\nx,2025-01-01,Ñuñoa\n".encode("latin-1"), "not UTF-8"),
        ("m.csv", b"mac,session_start\nx,2025-01-01\n", "missing required column(s) customer_id"),
        ("d.csv", b"customer_id,CUSTOMER_ID,session_start\n1,2,3\n", "duplicate column names"),
        ("a.json", b'[{"customer_id": "x"}]', "JSON array"),
        ("p.parquet", b"not parquet", "no PAR1"),
    ],
)
def test_probe_rejects_unreadable_files(name, data, error):
    probe = probe_bytes(name, data[:65536], len(data))
    assert not probe.readable
    assert error in (probe.error or "")


def test_probe_detects_delimiter_and_format_from_content():
    probe = probe_bytes("export.txt", b"Customer_ID;Session_Start\nx;2025-01-01\n", 40)
    assert probe.readable and probe.fmt == "csv" and probe.delimiter == ";"
    assert probe.source_of == {"customer_id": "Customer_ID", "session_start": "Session_Start"}
    assert probe_bytes("noext", b'{"customer_id": "x", "session_start": "2025-01-01"}\n', 52).fmt == "jsonl"


def test_python_reader_numbers_lines_and_flags_malformed():
    data = b'customer_id,session_start,zone\na,2025-01-01,x\n\nb,2025-01-02\nc,"2025-01-03",y\n'
    table = parse_bytes(data, probe_bytes("f.csv", data, len(data)))
    rows = table.to_pylist()
    assert [r["line_no"] for r in rows] == [2, 4, 5]
    assert rows[1]["parse_error"] == "expected 3 fields, found 2" and rows[1]["raw_line"] == "b,2025-01-02"
    assert rows[2]["session_start"] == "2025-01-03" and rows[2]["zone"] == "y"


def test_python_reader_json_lines_keeps_types_as_text():
    data = (
        b'{"customer_id": "a", "session_start": "2025-01-01", "dwell_minutes": 12.5, "bytes_down": 7}\n'
        b"{oops\n"
    )
    rows = parse_bytes(data, probe_bytes("f.jsonl", data, len(data))).to_pylist()
    assert (
        rows[0]["dwell_minutes"] == "12.5" and rows[0]["bytes_down"] == "7" and rows[0]["has_session_start"]
    )
    assert rows[1]["parse_error"].startswith("invalid JSON") and rows[1]["raw_line"] == "{oops"


def test_hmac_pseudonyms_are_keyed_and_deterministic():
    a = pseudonymise_values(["a4:5e:60:00:00:01"], b"k" * 16)
    assert a == pseudonymise_values(["a4:5e:60:00:00:01"], b"k" * 16)
    assert a != pseudonymise_values(["a4:5e:60:00:00:01"], b"j" * 16)
    assert len(a[0]) == 64 and "a4:5e" not in a[0]
    assert pseudonym_table(["x", None], None).to_pylist() == [{"raw_id": "x", "pseudo_id": "x"}]


def test_offset_tables_follow_chile_dst():
    utc, local = offset_tables(["America/Santiago"], [date(2025, 4, 5), date(2025, 9, 7)])
    utc_off = {r["utc_hour"]: r["offset_seconds"] for r in utc.to_pylist()}
    local_off = {r["local_hour"]: r["offset_seconds"] for r in local.to_pylist()}
    assert utc_off[datetime(2025, 4, 6, 2)] == -3 * 3600
    assert utc_off[datetime(2025, 4, 6, 3)] == -4 * 3600
    assert local_off[datetime(2025, 4, 5, 23)] == -3 * 3600  # ambiguous: the earlier instant
    assert local_off[datetime(2025, 9, 7, 0)] == -4 * 3600  # non-existent: offset before the change
    assert local_off[datetime(2025, 9, 7, 1)] == -3 * 3600


def test_every_statement_transpiles_to_spark():
    params = SqlParams(datetime(2026, 1, 1), datetime(2026, 1, 1), True)
    for name in STATEMENTS:
        assert "TO_SECONDS" not in render(name, params, "spark").upper()
    validated = render("validated", params, "spark")
    assert "MAKE_DT_INTERVAL(0, 0, 0, " in validated
    assert "AS TIMESTAMP_NTZ)" in validated and "AS TIMESTAMP)" not in validated
