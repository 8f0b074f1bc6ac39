"""DuckDB bulk reader: many small raw files -> one ``staging`` relation, fast.

DuckDB's CSV reader costs a few milliseconds per file, too much for thousands of daily files.
So the files of a group (same format, delimiter, header) are concatenated into one temporary
file, each preceded by a *boundary line* — a record whose first field is :data:`BOUNDARY` —
and read in one parallel scan.  In scan order (kept with ``preserve_insertion_order``), the
rows after the j-th boundary belong to the j-th file, so attribution is exact: the boundary
rows' positions are fetched (one per file), numpy computes each row's file and line
(:func:`attribution`) and a ``POSITIONAL JOIN`` attaches them, with no sort or range join over
the rows.  Lines DuckDB rejects (malformed, invalid UTF-8) are attributed by their byte
position.

Line numbers: ``line_no`` is the line in the original file (header = line 1).  For CSV they are
exact unless the file has blank lines or quoted line breaks before the row (DuckDB skips or
joins those lines); for JSON lines they are exact.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from c4.elt.contract import CONTRACT_COLUMNS
from c4.elt.probe import SourceFile
from c4.exceptions import C4Error

BOUNDARY = "\x02c4-file-boundary"
JSON_DELIM = "\x01"  # never valid inside a JSON line, so each line is one field
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class ConcatFile:
    """A group's concatenated file and where each source file starts in it."""

    path: str
    files: pa.Table  # rel_path, j, byte_start, line_start, local_offset


def _body(data: bytes, fmt: str) -> tuple[bytes, int, int]:
    """A file's content, where its data lines start, and how many lines precede them.

    Those are the header and the blank lines before it (CSV).  The data lines are
    ``content[start:]``: returned as an offset, so a large file is not copied to drop them.
    """
    data = data.removeprefix(_BOM)
    if b"\r" in data:  # one line ending for the whole concatenated file (DuckDB needs that)
        data = data.replace(b"\r\n", b"\n")
    if fmt != "csv":
        return data, 0, 0
    pos, skipped = 0, 0
    while True:
        end = data.find(b"\n", pos)
        if end < 0:
            return data, len(data), skipped + 1
        skipped += 1
        if data[pos:end].strip(b"\r"):
            return data, end + 1, skipped
        pos = end + 1


def concatenate(
    group: list[SourceFile], read: Callable[[str], bytes], target: str, *, header: bytes, boundary: bytes
) -> ConcatFile:
    """Write the group's files into ``target``, each after a boundary line.

    Parameters
    ----------
    group : list of SourceFile
        Files of one format, delimiter and header.
    read : callable
        ``read(rel_path) -> bytes``.
    target : str
        Local path of the concatenated file.
    header : bytes
        First line of the concatenated file (CSV header, or empty for JSON lines).
    boundary : bytes
        The boundary line (with its line break).

    Returns
    -------
    ConcatFile
    """
    rows: dict[str, list] = {"rel_path": [], "j": [], "byte_start": [], "line_start": [], "local_offset": []}
    offset, line = len(header), header.count(b"\n") + 1  # global line number of the next line
    with open(target, "wb") as out:
        out.write(header)
        for j, src in enumerate(group):
            data, start, local_offset = _body(read(src.rel_path), src.fmt or "csv")
            size = len(data) - start
            ending = b"\n" if size and data[-1] != ord("\n") else b""
            for name, value in zip(rows, (src.rel_path, j, offset, line, local_offset), strict=True):
                rows[name].append(value)
            out.write(boundary)
            out.write(memoryview(data)[start:])
            out.write(ending)
            offset += len(boundary) + size + len(ending)
            line += 1 + data.count(b"\n", start) + len(ending)
    schema = pa.schema(
        [("rel_path", pa.string()), ("j", pa.int64()), ("byte_start", pa.int64()),
         ("line_start", pa.int64()), ("local_offset", pa.int64())]
    )  # fmt: skip
    return ConcatFile(target, pa.table(rows, schema=schema))


def csv_header(src: SourceFile) -> tuple[bytes, bytes]:
    """Header line and boundary line of a CSV group."""
    width = len(src.columns)
    header = src.delimiter.join(f"c{k}" for k in range(width)) + "\n"
    boundary = BOUNDARY + src.delimiter * (width - 1) + "\n"
    return header.encode(), boundary.encode()


def read_sql(i: int, src: SourceFile, path: str) -> str:
    """The ``read_csv`` scan of a group's concatenated file (rejects kept in ``rej_<i>``)."""
    common = (
        f"filename = false, store_rejects = true, rejects_table = 'rej_{i}', "
        f"rejects_scan = 'scan_{i}', strict_mode = true, auto_detect = false"
    )
    target = "'" + path.replace("'", "''") + "'"
    if src.fmt == "csv":
        columns = "{" + ", ".join(f"'c{k}': 'VARCHAR'" for k in range(len(src.columns))) + "}"
        delim = src.delimiter.replace("'", "''")
        return (
            f"SELECT * FROM read_csv({target}, columns = {columns}, header = true, delim = '{delim}', "
            f"quote = '\"', escape = '\"', null_padding = false, {common})"
        )
    return (
        f"SELECT * FROM read_csv({target}, columns = {{'line': 'VARCHAR'}}, header = false, "
        f"delim = '{JSON_DELIM}', quote = '', escape = '', {common})"
    )


def values_sql(src: SourceFile) -> tuple[str, str, str, str]:
    """SQL for (boundary test, per-row preparation, staging values, row filter) of a group.

    The scanned rows are ``r``; a JSON line is parsed once, by ``json_transform`` (``r.j``: a
    struct of the resolved keys' values as text, NULL for an absent key or a JSON null; the
    whole struct NULL for invalid JSON or a line that is not an object).
    """
    if src.fmt == "csv":
        index = {name: k for k, name in enumerate(src.columns)}
        values = ", ".join(
            f"r.c{index[src.source_of[c]]}" if c in src.source_of else "NULL" for c in CONTRACT_COLUMNS
        )
        return f"r.c0 = '{BOUNDARY}'", "", f"NULL, NULL, TRUE, TRUE, {values}", "TRUE"
    keys = src.source_of
    fields = dict.fromkeys(keys.values())
    struct = _quote(json.dumps(dict.fromkeys(fields, "VARCHAR")))
    prepare = (
        f", CASE WHEN json_valid(r.line) AND starts_with(ltrim(r.line), '{{') "
        f"THEN json_transform(r.line, {struct}) END AS j"
    )
    ok = "(r.j IS NOT NULL)"

    def value(col: str) -> str:
        return f"struct_extract(r.j, {_quote(keys[col])})" if col in keys else "NULL"

    def present(col: str) -> str:  # a key with a JSON null value is present (rare: checked last)
        return (
            f"CASE WHEN NOT {ok} THEN FALSE WHEN {value(col)} IS NOT NULL THEN TRUE "
            f"ELSE json_exists(r.line, {_json_path(keys[col])}) END"
        )

    values = ", ".join(value(c) for c in CONTRACT_COLUMNS)
    select = (
        f"CASE WHEN {ok} THEN NULL ELSE r.line END, "
        f"CASE WHEN {ok} THEN NULL ELSE 'invalid JSON or not a JSON object' END, "
        f"{present('customer_id')}, {present('session_start')}, {values}"
    )
    return f"r.line = '{BOUNDARY}'", prepare, select, "r.line IS NOT NULL"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _json_path(key: str) -> str:
    return "'$.\"" + key.replace("'", "''").replace('"', '\\"') + "\"'"


def rejects_sql(i: int) -> str:
    """The lines DuckDB rejected in group ``i``, one row per line, attributed to their file.

    Columns: ``j`` (file index), ``rel_path``, ``local_line`` (line in the original file),
    ``csv_line``, ``error_type``, ``error``.  Small: only rejected lines.
    """
    return f"""SELECT f.j, f.rel_path, e.line - f.line_start + f.local_offset AS local_line,
        MIN(e.csv_line) AS csv_line, MIN(CAST(e.error_type AS VARCHAR)) AS error_type,
        MIN(CAST(e.error_type AS VARCHAR) || ': ' || e.error_message) AS error
    FROM rej_{i} AS e
    ASOF JOIN files_{i} AS f ON e.line_byte_position >= f.byte_start
    GROUP BY ALL"""


def attribution(boundaries: np.ndarray, n_rows: int, files: pa.Table, rejects: pa.Table) -> pa.Table:
    """Which file and line each scanned row comes from, in scan order (for a positional join).

    Parameters
    ----------
    boundaries : numpy.ndarray
        Row numbers (scan order) of the boundary rows, one per file, ascending.
    n_rows : int
        Rows in the scan.
    files : pyarrow.Table
        The group's files (:attr:`ConcatFile.files`).
    rejects : pyarrow.Table
        Rejected lines (:func:`rejects_sql`): ``j`` and ``local_line`` are used.

    Returns
    -------
    pyarrow.Table
        ``fj`` (file index) and ``line_no`` (line in the original file: the k-th row after file
        j's boundary is line ``local_offset + k`` plus the rejected lines before it), one row
        per scanned row (boundary rows included).

    Raises
    ------
    C4Error
        If the boundaries do not match the files (the scan lost or split a boundary line).
    """
    bounds = np.asarray(boundaries, dtype=np.int64)
    if len(bounds) != files.num_rows or (n_rows and (len(bounds) == 0 or bounds[0] != 0)):
        raise C4Error(f"found {len(bounds)} file boundaries for {files.num_rows} files")
    counts = np.diff(np.append(bounds, n_rows))
    fj = np.repeat(np.arange(len(bounds), dtype=np.int64), counts)
    k = np.arange(n_rows, dtype=np.int64) - bounds[fj]
    offsets = files.column("local_offset").to_numpy()
    line = k + offsets[fj]
    if rejects.num_rows:
        rj = rejects.column("j").to_numpy()
        rl = rejects.column("local_line").to_numpy()
        for j in np.unique(rj):
            lines = np.sort(rl[rj == j])
            steps = lines - offsets[j] - np.arange(1, len(lines) + 1)  # rows read before reject m
            rows = slice(bounds[j], bounds[j] + counts[j])
            line[rows] += np.searchsorted(steps, k[rows], side="left")
    return pa.table({"fj": pa.array(fj), "line_no": pa.array(line)})


#: Scan-position column added to a group's scan when it is kept as an Arrow table (an Arrow
#: scan has no ``rowid``).
ARROW_ROWID = "__rid"


def staged_rows_sql(
    i: int, boundary_test: str, prepare: str, select: str, row_filter: str, *, attributed: bool = False
) -> str:
    """The staging rows of group ``i``: its scanned rows and its rejected lines.

    Needs ``raw_<i>`` (the scan, in file order), ``files_<i>`` (see :class:`ConcatFile`),
    ``rejects_<i>`` (:func:`rejects_sql`) and the attribution (:func:`attribution`): either
    ``attr_<i>`` (same order as the scan, attached by a ``POSITIONAL JOIN``) or, with
    ``attributed``, the columns ``fj`` and ``line_no`` of ``raw_<i>`` itself.
    """
    rows = (
        f"SELECT r.*{prepare} FROM raw_{i} AS r"
        if attributed
        else f"SELECT a.fj, a.line_no, r.*{prepare} FROM raw_{i} AS r POSITIONAL JOIN attr_{i} AS a"
    )
    nulls = ", ".join("NULL" for _ in CONTRACT_COLUMNS)
    return f"""WITH rows_ AS ({rows})
    SELECT f.rel_path, r.line_no, {select}
    FROM rows_ AS r
    JOIN files_{i} AS f ON f.j = r.fj
    WHERE NOT COALESCE({boundary_test}, FALSE) AND {row_filter}
    UNION ALL
    SELECT rel_path, local_line, csv_line, error, TRUE, TRUE, {nulls}
    FROM rejects_{i} WHERE error_type <> 'INVALID ENCODING'"""


def insert_sql(i: int, boundary_test: str, prepare: str, select: str, row_filter: str) -> str:
    """INSERT INTO staging the rows and rejected lines of group ``i`` (:func:`staged_rows_sql`)."""
    return "INSERT INTO staging " + staged_rows_sql(i, boundary_test, prepare, select, row_filter)


def boundaries_sql(i: int, boundary_test: str, rowid: str = "rowid") -> str:
    """Scan positions of the boundary rows of group ``i`` (ascending).

    ``rowid`` names the scan-position column: DuckDB's ``rowid`` for a table,
    :data:`ARROW_ROWID` for an Arrow scan.
    """
    return f"SELECT {rowid} AS rid FROM raw_{i} AS r WHERE COALESCE({boundary_test}, FALSE) ORDER BY rid"


def encoding_errors_sql(i: int) -> str:
    """Files of group ``i`` with invalid UTF-8 (unreadable as a whole)."""
    return f"""SELECT rel_path, MIN(local_line) AS line FROM rejects_{i}
    WHERE error_type = 'INVALID ENCODING' GROUP BY rel_path"""


def temp_path(folder: str, i: int) -> str:
    """Where group ``i``'s concatenated file goes."""
    return os.path.join(folder, f"group_{i}.txt")
