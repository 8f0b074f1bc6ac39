"""The curated ``sessions`` history, read once per process and refreshed incrementally.

Memory: only the columns the features read are kept (plus ``source_file``), low-cardinality
text dictionary-encoded; a Lambda container holds the whole history of its lake.

``compute_features`` scans its sessions relation several times (visits, zones, population
sample, BTYD fit).  Scanning the lake's many small curated files each time dominated scoring
(one Parquet file per raw file and day), and a Lambda container scores file after file.  So the
history is kept in memory as Arrow tables, one per curated file: every call lists
``curated/sessions/`` (one LIST on S3), reads only the files that are new or changed (size or
modification time), drops the deleted ones, and hands DuckDB one in-memory table.
"""

from __future__ import annotations

import logging
import posixpath
import threading
import weakref
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from c4.storage import Lake
from c4.tables import SESSIONS

logger = logging.getLogger(__name__)

_ARROW = {
    "string": pa.string(),
    "timestamp": pa.timestamp("us"),
    "date": pa.date32(),
    "int": pa.int32(),
    "bigint": pa.int64(),
    "double": pa.float64(),
}

#: Arrow schema of the curated ``sessions`` columns (partition ``dt`` excluded).
SESSIONS_SCHEMA = pa.schema([(name, _ARROW[typ]) for name, typ in SESSIONS.columns])

#: Curated columns that no feature reads: the in-memory history does not keep them.
UNCACHED = ("session_id", "ingested_at")
#: Low-cardinality text columns, kept dictionary-encoded (a small fraction of plain strings).
DICTIONARY = ("mall_id", "zone", "device_os", "login_method", "source_file")

#: Arrow schema of the cached history: the curated columns the features read, plus
#: ``source_file`` (a re-delivered file's old rows are left out of its own scoring).
HISTORY_SCHEMA = pa.schema(
    [
        (f.name, pa.dictionary(pa.int32(), f.type) if f.name in DICTIONARY else f.type)
        for f in SESSIONS_SCHEMA
        if f.name not in UNCACHED
    ]
)

#: Threads reading curated files (I/O bound on S3).
READ_THREADS = 16

Stamp = tuple[int, int]  # (size, mtime in ns)


def _conform(table: pa.Table) -> pa.Table:
    """The table with exactly the :data:`HISTORY_SCHEMA` columns and types (missing ones null)."""
    cols = []
    for f in HISTORY_SCHEMA:
        plain = f.type.value_type if pa.types.is_dictionary(f.type) else f.type
        if f.name not in table.column_names:
            col = pa.chunked_array([pa.nulls(table.num_rows, plain)])
        else:
            col = table.column(f.name)
            if col.type != f.type:  # read_dictionary already gave most columns their type
                col = col.cast(plain)
        if pa.types.is_dictionary(f.type) and not pa.types.is_dictionary(col.type):
            col = col.dictionary_encode()
        cols.append(col.cast(f.type) if col.type != f.type else col)
    return pa.Table.from_arrays(cols, schema=HISTORY_SCHEMA)


@dataclass
class _LakeHistory:
    stamps: dict[str, Stamp] = field(default_factory=dict)
    tables: dict[str, pa.Table] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_LOCK = threading.Lock()
_HISTORIES: dict[str, _LakeHistory] = {}


def _listing(lake: Lake) -> dict[str, Stamp]:
    base = lake.path(SESSIONS.location)
    if lake.fs.get_file_info(base).type == pafs.FileType.NotFound:
        return {}
    out: dict[str, Stamp] = {}
    for info in lake.fs.get_file_info(pafs.FileSelector(base, recursive=True)):
        name = info.base_name
        if info.type != pafs.FileType.File or not name.endswith(".parquet") or name.startswith((".", "_")):
            continue
        mtime = info.mtime_ns if info.mtime_ns is not None else 0
        out[info.path] = (int(info.size or 0), int(mtime))
    return out


def history_parts(lake: Lake, *, skip: str | None = None) -> list[pa.Table]:
    """The curated history of the lake in memory, one table per curated file (path order).

    Parameters
    ----------
    lake : Lake
        The lake.
    skip : str, optional
        Leave out the curated files of this name (without ``.parquet``): an upload's own
        files (:func:`c4.elt.contract.curated_key`) when it is scored again, whose rows
        scoring leaves out anyway; they are neither read nor kept.

    Returns
    -------
    list of pyarrow.Table
        Schema :data:`HISTORY_SCHEMA`.  Only files that changed since the previous call of
        this process are read.
    """
    with _LOCK:
        history = _HISTORIES.setdefault(lake.uri, _LakeHistory())
    with history.lock:
        listing = _listing(lake)
        if skip is not None:
            listing = {p: v for p, v in listing.items() if posixpath.basename(p) != f"{skip}.parquet"}
        stale = [p for p in history.stamps if p not in listing]
        fresh = [p for p, stamp in listing.items() if history.stamps.get(p) != stamp]
        for path in stale:
            history.stamps.pop(path, None)
            history.tables.pop(path, None)

        def read(path: str) -> tuple[str, pa.Table]:
            pf = pq.ParquetFile(path, filesystem=lake.fs, read_dictionary=list(DICTIONARY))
            names = [n for n in HISTORY_SCHEMA.names if n in pf.schema_arrow.names]
            return path, _conform(pf.read(columns=names))

        with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
            for path, table in pool.map(read, fresh):
                history.tables[path] = table
                history.stamps[path] = listing[path]
        if fresh or stale:
            logger.info(
                "history of %s: %d file(s) read, %d dropped, %d cached",
                lake.uri,
                len(fresh),
                len(stale),
                len(history.tables),
            )
        return [history.tables[p] for p in sorted(history.tables)]


def curated_history(lake: Lake) -> pa.Table:
    """Every curated session of the lake (the ``sessions`` table without ``dt``), in memory.

    Parameters
    ----------
    lake : Lake
        The lake.

    Returns
    -------
    pyarrow.Table
        Schema :data:`HISTORY_SCHEMA` (:func:`history_parts` concatenated).
    """
    return concat_history(history_parts(lake))


def concat_history(parts: Sequence[pa.Table]) -> pa.Table:
    """History tables as one (an empty :data:`HISTORY_SCHEMA` table when there are none)."""
    return pa.concat_tables(parts) if parts else HISTORY_SCHEMA.empty_table()


# -- summaries of history tables (what a stored running state is checked against) -------------
@dataclass
class _Summary:
    first: date | None
    last: date | None
    counts: dict[date, dict[str, int]] = field(default_factory=dict)
    after: dict[date, pa.Table] = field(default_factory=dict)


_SUMMARY_LOCK = threading.Lock()
_SUMMARIES: dict[int, tuple[weakref.ref[pa.Table], _Summary]] = {}


def _as_date(value: Any) -> date | None:
    return value if isinstance(value, date) or value is None else date.fromisoformat(str(value)[:10])


def _summary(table: pa.Table) -> _Summary:
    """First and last local date of a history table, computed once per table object."""
    with _SUMMARY_LOCK:
        hit = _SUMMARIES.get(id(table))
        if hit is not None and hit[0]() is table:
            return hit[1]
        for key in [k for k, (ref, _) in _SUMMARIES.items() if ref() is None]:
            del _SUMMARIES[key]
        bounds = pc.min_max(table.column("local_date")).as_py() if table.num_rows else {}
        summary = _Summary(_as_date(bounds.get("min")), _as_date(bounds.get("max")))
        _SUMMARIES[id(table)] = (weakref.ref(table), summary)
        return summary


def _until(table: pa.Table, day: date) -> pa.Table:
    return table.filter(pc.less_equal(table.column("local_date"), pa.scalar(day, pa.date32())))


def counts_until(parts: Sequence[pa.Table], day: date) -> dict[str, int]:
    """Sessions on or before ``day`` per ``source_file`` over history tables (cached per table)."""
    total: dict[str, int] = {}
    for table in parts:
        summary = _summary(table)
        if summary.first is None or summary.first > day:
            continue
        counts = summary.counts.get(day)
        if counts is None:
            counts = summary.counts[day] = _source_counts(table, day)
        for src, n in counts.items():
            total[src] = total.get(src, 0) + n
    return total


def _source_counts(table: pa.Table, day: date) -> dict[str, int]:
    """Rows on or before ``day`` per ``source_file``: dictionary codes counted per batch."""
    out: dict[str, int] = {}
    limit = np.datetime64(day, "D")
    for batch in table.select(["local_date", "source_file"]).to_batches():
        dates = batch.column(0).to_numpy(zero_copy_only=False).astype("datetime64[D]")
        sources = batch.column(1)
        keep = dates <= limit
        if pa.types.is_dictionary(sources.type):
            keep &= np.asarray(sources.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
            codes = np.asarray(sources.indices.fill_null(0).to_numpy(zero_copy_only=False))[keep]
            names = sources.dictionary.to_pylist()
            pairs: Iterable[tuple[Any, Any]] = zip(
                names, np.bincount(codes, minlength=len(names)).tolist(), strict=True
            )
        else:
            values = pc.value_counts(sources.filter(pa.array(keep))).to_pylist()
            pairs = ((v["values"], v["counts"]) for v in values if v["values"] is not None)
        for name, n in pairs:
            if n:
                out[str(name)] = out.get(str(name), 0) + int(n)
    return out


def rows_after(parts: Sequence[pa.Table], day: date) -> pa.Table:
    """The history's sessions dated after ``day`` (tables holding any; each filtered once per date)."""
    keep = []
    for table in parts:
        summary = _summary(table)
        if summary.last is None or summary.last <= day:
            continue
        if summary.first is not None and summary.first > day:
            keep.append(table)
            continue
        part = summary.after.get(day)  # a table is immutable: filter it once per date
        if part is None:
            part = summary.after[day] = table.filter(
                pc.greater(table.column("local_date"), pa.scalar(day, pa.date32()))
            )
        keep.append(part)
    return concat_history(keep)


def guests_until(parts: Sequence[pa.Table], day: date, sources: set[str]) -> set[str]:
    """Guests with sessions on or before ``day`` from the given source files."""
    if not sources:
        return set()
    out: set[str] = set()
    for table in parts:
        summary = _summary(table)
        if summary.first is None or summary.first > day:
            continue
        rows = _until(table, day)
        mask = pc.is_in(rows.column("source_file").cast(pa.string()), value_set=pa.array(sorted(sources)))
        out.update(pc.unique(rows.filter(mask).column("customer_id")).drop_null().to_pylist())
    return out


def clear_history_cache() -> None:
    """Forget every cached history (tests)."""
    with _LOCK:
        _HISTORIES.clear()
