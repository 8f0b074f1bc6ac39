"""The Python reader: one raw file's bytes -> the ``staging`` relation (all values as strings).

Used for single files (``read_sessions_file``, ``ingest_file``), for Parquet files, and by the
Spark adapter (inside ``mapInPandas``).  The DuckDB batch reader produces the same relation
with DuckDB's own CSV reader (see :mod:`c4.elt.duck`).

``staging`` columns: ``source_file, line_no, raw_line, parse_error, has_customer_id,
has_session_start`` and every contract column (string, null when absent).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from c4.elt.contract import CONTRACT_COLUMNS
from c4.elt.probe import SourceFile
from c4.exceptions import UnreadableFileError

_ISO = "%Y-%m-%dT%H:%M:%S"  # %S carries the fraction of the timestamp's unit

STAGING_SCHEMA = pa.schema(
    [
        ("source_file", pa.string()),
        ("line_no", pa.int64()),
        ("raw_line", pa.string()),
        ("parse_error", pa.string()),
        ("has_customer_id", pa.bool_()),
        ("has_session_start", pa.bool_()),
        *[(c, pa.string()) for c in CONTRACT_COLUMNS],
    ]
)


def parse_bytes(data: bytes, source: SourceFile) -> pa.Table:
    """Parse a whole raw file into ``staging`` rows.

    Parameters
    ----------
    data : bytes
        The file's content.
    source : SourceFile
        Its probe (format, delimiter, resolved columns); must be readable.

    Returns
    -------
    pyarrow.Table
        Schema :data:`STAGING_SCHEMA`; one row per non-empty data line (or Parquet row).

    Raises
    ------
    UnreadableFileError
        If the content cannot be decoded or parsed at all.
    """
    if not source.readable:
        raise UnreadableFileError(f"{source.rel_path}: {source.error}")
    if source.fmt == "parquet":
        return _parse_parquet(data, source)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFileError(
            f"{source.rel_path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from exc
    lines = [ln.rstrip("\r") for ln in text.split("\n")]
    rows = _csv_rows(lines, source) if source.fmt == "csv" else _jsonl_rows(lines, source)
    return _to_table(rows, source.rel_path)


def _csv_rows(lines: list[str], source: SourceFile) -> list[dict[str, Any]]:
    index = {name: i for i, name in enumerate(source.columns)}
    positions = {col: index[src] for col, src in source.resolved}
    width = len(source.columns)
    rows: list[dict[str, Any]] = []
    header_seen = False
    for number, line in enumerate(lines, start=1):
        if line == "":
            continue
        if not header_seen:
            header_seen = True
            continue
        row: dict[str, Any] = {"line_no": number, "has_customer_id": True, "has_session_start": True}
        try:
            fields = next(csv.reader([line], delimiter=source.delimiter, strict=True))
        except csv.Error as exc:
            fields, row["parse_error"] = [], f"bad CSV quoting: {exc}"
        if "parse_error" not in row and len(fields) != width:
            row["parse_error"] = f"expected {width} fields, found {len(fields)}"
        if "parse_error" in row:
            row["raw_line"] = line
        else:
            row.update({col: fields[pos] for col, pos in positions.items()})
        rows.append(row)
    return rows


def _json_value(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _jsonl_rows(lines: list[str], source: SourceFile) -> list[dict[str, Any]]:
    keys = source.resolved
    customer_key, start_key = source.source_of["customer_id"], source.source_of["session_start"]
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if line == "":
            continue
        row: dict[str, Any] = {"line_no": number}
        try:
            obj = json.loads(line)
        except ValueError as exc:
            obj, row["parse_error"] = None, f"invalid JSON: {exc}"
        if obj is not None and not isinstance(obj, dict):
            row["parse_error"] = "not a JSON object"
        if "parse_error" in row or not isinstance(obj, dict):
            row.update(raw_line=line, has_customer_id=False, has_session_start=False)
        else:
            row.update({col: _json_value(obj.get(src)) for col, src in keys})
            row.update(has_customer_id=customer_key in obj, has_session_start=start_key in obj)
        rows.append(row)
    return rows


def _to_table(rows: list[dict[str, Any]], rel_path: str) -> pa.Table:
    columns: dict[str, list[Any]] = {name: [] for name in STAGING_SCHEMA.names}
    for row in rows:
        for name in STAGING_SCHEMA.names:
            columns[name].append(row.get(name))
    columns["source_file"] = [rel_path] * len(rows)
    return pa.table(columns, schema=STAGING_SCHEMA)


def _as_strings(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A typed Parquet column as contract text.

    A time-zone-aware timestamp becomes ISO 8601 in UTC with a ``Z`` (so it is normalised
    exactly); a naive one becomes ISO 8601 without offset, read like a naive text timestamp
    (the mall's local time when the mall is known, else UTC).  Other types are cast to text.
    """
    typ = column.type
    if pa.types.is_timestamp(typ):
        if typ.tz is not None:  # strftime formats in the type's own zone: make that UTC
            utc = column.cast(pa.timestamp(typ.unit, tz="UTC"))
            return pc.binary_join_element_wise(pc.strftime(utc, format=_ISO), pa.scalar("Z"), "")
        return pc.strftime(column, format=_ISO)
    return column.cast(pa.string())


def _parse_parquet(data: bytes, source: SourceFile) -> pa.Table:
    try:
        table = pq.read_table(io.BytesIO(data), columns=[src for _, src in source.resolved])
    except Exception as exc:  # corrupt pages raise several pyarrow error types
        raise UnreadableFileError(f"{source.rel_path}: corrupt Parquet file: {exc}") from exc
    n = table.num_rows
    out: dict[str, Any] = {
        "source_file": pa.array([source.rel_path] * n, pa.string()),
        "line_no": pa.array(range(1, n + 1), pa.int64()),
        "raw_line": pa.nulls(n, pa.string()),
        "parse_error": pa.nulls(n, pa.string()),
        "has_customer_id": pa.array([True] * n, pa.bool_()),
        "has_session_start": pa.array([True] * n, pa.bool_()),
    }
    resolved = source.source_of
    for col in CONTRACT_COLUMNS:
        out[col] = _as_strings(table[resolved[col]]) if col in resolved else pa.nulls(n, pa.string())
    return pa.table(out, schema=STAGING_SCHEMA)
