"""Public entry points of the ELT on DuckDB: batch, single file, and pure in-memory curation."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from c4.elt.batch import (
    Progress,
    finish_unreadable,
    naive_utc,
    run_batch,
    transform_sources,
    write_reports,
)
from c4.elt.contract import CONTRACT_COLUMNS, STATUS_UNREADABLE, resolve_columns, validate_mapping
from c4.elt.duck import DuckEngine
from c4.elt.outputs import FileReport, manifest_path
from c4.elt.parse import STAGING_SCHEMA, parse_bytes
from c4.elt.pipeline import make_outputs, run_transform
from c4.elt.probe import SourceFile, probe_data, probe_file
from c4.elt.results import CurateResult, EltSummary, IngestResult
from c4.elt.schema import CURATED_SCHEMA, EXISTING_SCHEMA
from c4.elt.sql import SqlParams
from c4.elt.timing import StageTimes
from c4.exceptions import ConfigurationError, UnreadableFileError
from c4.settings import Settings
from c4.storage import Lake

logger = logging.getLogger(__name__)

#: Raw bytes per DuckDB chunk: bounds memory on large batches (about 1.5 million sessions).
CHUNK_BYTES = 320 * 1024 * 1024
#: A single file up to this size is transformed with its relations in Arrow (``DuckEngine(arrow=True)``:
#: faster; a larger one in DuckDB tables, which stay within DuckDB's memory limit).
ARROW_MAX_BYTES = 64 * 1024 * 1024


def run_elt(
    lake: Lake,
    settings: Settings,
    *,
    progress: Progress | None = None,
    mapping: Mapping[str, str] | None = None,
    now: datetime | None = None,
    threads: int | None = None,
    memory_limit: str = "2GB",
    chunk_bytes: int = CHUNK_BYTES,
) -> EltSummary:
    """Curate every new raw file under ``raw/sessions/`` with DuckDB (incremental, idempotent).

    Parameters
    ----------
    lake : Lake
        The lake (local folder or S3).
    settings : Settings
        Gives the pseudonymisation key.
    progress : callable, optional
        ``progress(files_done, files_total)``, called after each chunk of files.
    mapping : mapping, optional
        Contract column -> source column, for files with other column names.
    now : datetime, optional
        Processing / reference time (default: now); a session starting more than a day after it
        is rejected as ``future_timestamp``.
    threads : int, optional
        DuckDB threads (default: all cores).
    memory_limit : str
        DuckDB memory limit (it spills to disk beyond it).
    chunk_bytes : int
        Raw bytes processed per DuckDB chunk (bounds memory).

    Returns
    -------
    EltSummary
    """
    key = settings.resolve_pseudonym_key()
    engine = DuckEngine(threads=threads, memory_limit=memory_limit)
    try:
        return run_batch(
            engine,
            lake,
            key,
            now=now,
            mapping=validate_mapping(mapping),
            progress=progress,
            chunk_bytes=chunk_bytes,
        )
    finally:
        engine.close()


def ingest_file(
    lake: Lake,
    settings: Settings,
    rel_path: str,
    *,
    mapping: Mapping[str, str] | None = None,
    now: datetime | None = None,
    reject_unknown_malls: bool = False,
    executor: Executor | None = None,
    data: bytes | None = None,
) -> IngestResult:
    """Curate one raw file end to end: validate, pseudonymise, append to curated, quarantine, manifest.

    Re-ingesting a file overwrites its earlier output (deterministic file names).

    Parameters
    ----------
    lake : Lake
        The lake.
    settings : Settings
        Gives the pseudonymisation key.
    rel_path : str
        Lake-relative path of the raw file (e.g. ``raw/uploads/visits.csv``).
    mapping : mapping, optional
        Contract column -> source column.
    now : datetime, optional
        Processing/reference time (default: now).
    reject_unknown_malls : bool
        Reject rows whose ``mall_id`` is not in the mall dimension (default: accept them, as
        external data may come from other venues).
    executor : concurrent.futures.Executor, optional
        Write the outputs and the manifest in this executor: the result (counts, accepted
        rows) is back as soon as the rows are transformed, and the caller must call
        :meth:`IngestResult.wait` before it relies on the file being curated (scoring
        computes features meanwhile).  Default: written before returning.
    data : bytes, optional
        The file's content, when the caller has read it already (the lake is not read again).

    Returns
    -------
    IngestResult
        Counts and the accepted curated rows (in no particular order).
    """
    key = settings.resolve_pseudonym_key()
    at = naive_utc(now)
    params = SqlParams(reference=at, ingested_at=at, reject_unknown_malls=reject_unknown_malls)
    clock = StageTimes()
    with clock.stage("probe"):
        if data is None:
            source = probe_file(lake, rel_path, validate_mapping(mapping))
        else:
            source = probe_data(rel_path, data, validate_mapping(mapping))
    if not source.readable:
        report = FileReport(rel_path, STATUS_UNREADABLE, source.error)
        finish_unreadable(lake, [report], at, "duckdb")
        return IngestResult(report, _empty_accepted(), manifest_path(rel_path), clock)
    engine = DuckEngine(
        threads=2, arrow=source.size <= ARROW_MAX_BYTES, files=None if data is None else {rel_path: data}
    )
    # Arrow mode with an executor: curated_out and rejected_out are made by the background job
    # too (the counts and accepted rows come from the transform's own relations).  A DuckDB-table
    # engine (a large file) makes them here: its intermediates go before the caller goes on.
    deferred = executor is not None and engine.arrow
    try:
        reports = transform_sources(engine, lake, [source], params, key, clock, outputs=not deferred)
        if executor is None:
            with clock.stage("write"):
                write = engine.prepare_outputs(lake)
            _finish(lake, write, reports, at, clock)
        with clock.stage("result"):
            accepted = engine.new_rows(ordered=False) if reports[0].status == "ok" else _empty_accepted()
    except BaseException:
        engine.close()
        raise
    result = IngestResult(reports[0], accepted, manifest_path(rel_path), clock)
    if executor is None:
        engine.close()
    else:  # the engine is the background job's from here on: it takes the outputs out and closes it
        try:
            job = partial(_write_and_close, engine, lake, reports, at, params if deferred else None)
            result.defer(executor.submit(job))
        except BaseException:  # e.g. the executor is shut down
            engine.close()
            raise
    return result


def _write_and_close(
    engine: DuckEngine, lake: Lake, reports: list[FileReport], at: datetime, make: SqlParams | None = None
) -> StageTimes:
    """Take a file's outputs out of the engine, close it, then write them and the manifest.

    ``make``: the outputs are not made yet (:func:`c4.elt.pipeline.make_outputs` with these
    parameters, first).
    """
    clock = StageTimes()
    try:
        if make is not None:
            with clock.stage("outcomes"):
                make_outputs(engine, make)
        with clock.stage("write"):
            write = engine.prepare_outputs(lake)
    finally:
        engine.close()
    return _finish(lake, write, reports, at, clock)


def _finish(
    lake: Lake, write: Callable[[], list[str]], reports: list[FileReport], at: datetime, clock: StageTimes
) -> StageTimes:
    """Write a file's outputs, then its manifest (last: a crash before it leaves the file unprocessed)."""
    with clock.stage("write"):
        write()
    write_reports(lake, reports, at, "duckdb", clock)
    return clock


def _empty_accepted() -> pa.Table:
    return pa.schema([*CURATED_SCHEMA, ("dt", pa.string())]).empty_table()


def read_sessions_file(
    path: str | Path, *, mapping: Mapping[str, str] | None = None, name: str | None = None
) -> pa.Table:
    """Read a sessions file (CSV, JSON lines or Parquet) into the staging form, no lake needed.

    Parameters
    ----------
    path : str or Path
        A local file.
    mapping : mapping, optional
        Contract column -> source column.
    name : str, optional
        The ``source_file`` recorded on each row (default: the path as given).

    Returns
    -------
    pyarrow.Table
        All values as strings, one row per data line, with ``line_no`` and parse errors.

    Raises
    ------
    UnreadableFileError
        If the file cannot be read at all (empty, binary, compressed, not UTF-8, missing columns).
    """
    data = Path(path).read_bytes()
    rel = name or str(path)
    source = probe_data(rel, data, validate_mapping(mapping))
    if not source.readable:
        raise UnreadableFileError(f"{rel}: {source.error}")
    return parse_bytes(data, source)


def as_staging(
    table: pa.Table, *, mapping: Mapping[str, str] | None = None, source_file: str = "<memory>"
) -> pa.Table:
    """Turn any table with contract columns (any types, any names via ``mapping``) into staging form."""
    if table.schema.names == STAGING_SCHEMA.names:
        return table.cast(STAGING_SCHEMA)
    resolved = resolve_columns(table.column_names, validate_mapping(mapping))
    n = table.num_rows
    cols: dict[str, Any] = {
        "source_file": pa.array([source_file] * n, pa.string()),
        "line_no": pa.array(range(1, n + 1), pa.int64()),
        "raw_line": pa.nulls(n, pa.string()),
        "parse_error": pa.nulls(n, pa.string()),
        "has_customer_id": pa.array(["customer_id" in resolved] * n, pa.bool_()),
        "has_session_start": pa.array(["session_start" in resolved] * n, pa.bool_()),
    }
    source = SourceFile(source_file, "parquet", 0, ",", tuple(table.column_names), tuple(resolved.items()))
    buf = io.BytesIO()
    pq.write_table(table.select(list(resolved.values())), buf)
    parsed = parse_bytes(buf.getvalue(), source) if resolved else None
    for c in CONTRACT_COLUMNS:
        cols[c] = parsed.column(c) if parsed is not None else pa.nulls(n, pa.string())
    return pa.table(cols, schema=STAGING_SCHEMA)


def curate_table(
    raw: pa.Table,
    *,
    key: bytes | None = None,
    pseudonymise: bool = True,
    mapping: Mapping[str, str] | None = None,
    source_file: str = "<memory>",
    now: datetime | None = None,
    reject_unknown_malls: bool = False,
    existing: pa.Table | None = None,
) -> CurateResult:
    """Curate a table in memory with the same transform as the lake ELT (nothing is written).

    Parameters
    ----------
    raw : pyarrow.Table
        Output of :func:`read_sessions_file`, or any table with contract columns.
    key : bytes, optional
        HMAC key (required when ``pseudonymise`` is true).
    pseudonymise : bool
        Hash ``customer_id``; ``False`` keeps the operator's own ids (e.g. for a backtest).
    mapping : mapping, optional
        Contract column -> source column (when ``raw`` is not in staging form).
    source_file : str
        ``source_file`` for rows of a non-staging table.
    now : datetime, optional
        Reference time for the future-timestamp check (default: now).
    reject_unknown_malls : bool
        Reject rows of malls outside the mall dimension.
    existing : pyarrow.Table, optional
        Already-curated rows to de-duplicate against (curated ``sessions`` columns plus ``dt``).

    Returns
    -------
    CurateResult
        Accepted rows, rejected rows with reasons, and counts.

    Raises
    ------
    ConfigurationError
        If ``pseudonymise`` is true and no key is given.
    """
    if pseudonymise and not key:
        raise ConfigurationError("curate_table needs a key to pseudonymise (or pseudonymise=False)")
    staging = as_staging(raw, mapping=mapping, source_file=source_file)
    at = naive_utc(now)
    params = SqlParams(reference=at, ingested_at=at, reject_unknown_malls=reject_unknown_malls)
    files = sorted(set(staging.column("source_file").to_pylist())) or [source_file]
    engine = DuckEngine(threads=2, arrow=True)  # the input is in memory already
    try:
        engine.load_staging_table(staging)
        outcome = run_transform(
            engine,
            files,
            params,
            key if pseudonymise else None,
            load_existing=lambda _dts: engine.register("existing_all", _existing_table(existing)),
        )
        accepted, rejected = engine.new_rows(), engine.rejected_rows()
    finally:
        engine.close()
    report = _merge_reports(list(outcome.reports.values()), source_file)
    return CurateResult(accepted, rejected, report)


def _existing_table(existing: pa.Table | None) -> pa.Table:
    if existing is None or existing.num_rows == 0:
        return EXISTING_SCHEMA.empty_table()
    n = existing.num_rows
    table = existing.select([*CURATED_SCHEMA.names, "dt"])
    table = table.append_column("_key", pa.array(["<existing>"] * n, pa.string()))
    table = table.append_column("_rk", pa.array(range(n), pa.int64()))
    return table.cast(EXISTING_SCHEMA)


def _merge_reports(reports: list[FileReport], name: str) -> FileReport:
    if len(reports) == 1:
        return reports[0]
    out = FileReport(name)
    for r in reports:
        out.rows_in += r.rows_in
        out.rows_accepted += r.rows_accepted
        out.rows_rejected += r.rows_rejected
        for k, v in r.rejected_by_reason.items():
            out.rejected_by_reason[k] = out.rejected_by_reason.get(k, 0) + v
    return out
