"""The batch ELT over new raw files, for any engine adapter (DuckDB locally, Spark on Glue).

Per chunk of files: stage -> transform -> write curated and quarantined rows -> copy unreadable
files to the quarantine -> write manifests (last, so a crash leaves the files unprocessed).
"""

from __future__ import annotations

import io
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

import pyarrow.parquet as pq

from c4.elt.contract import STATUS_UNREADABLE
from c4.elt.outputs import (
    MANIFEST_PREFIX,
    FileReport,
    manifest_path,
    quarantine_file,
    replaced_outputs,
    write_manifests,
)
from c4.elt.pipeline import Engine, run_transform
from c4.elt.probe import SourceFile, probe_files
from c4.elt.results import EltSummary
from c4.elt.sql import SqlParams
from c4.elt.timing import StageTimes
from c4.malls import malls_table
from c4.storage import Lake
from c4.tables import MALLS

logger = logging.getLogger(__name__)

RAW_SESSIONS = "raw/sessions"
Progress = Callable[[int, int], None]


class BatchEngine(Engine, Protocol):
    """An engine adapter able to read raw files and write the outputs."""

    def reset(self) -> None: ...

    def load_staging(self, lake: Lake, sources: list[SourceFile]) -> dict[str, str]: ...

    def load_existing(self, lake: Lake, dts: list[str], replaced: frozenset[str] = ...) -> None: ...

    def write_outputs(self, lake: Lake) -> list[str]: ...


def utc_now() -> datetime:
    """The current time in UTC, naive (the lake's timestamp convention)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def naive_utc(value: datetime | None) -> datetime:
    """``value`` as naive UTC (now when ``None``)."""
    if value is None:
        return utc_now()
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def new_raw_files(lake: Lake, prefix: str = RAW_SESSIONS) -> tuple[list[str], int]:
    """Raw files under ``prefix`` without a manifest (in processing order), and how many were skipped."""
    done = {p.rsplit("/", 1)[-1] for p in lake.list_files(MANIFEST_PREFIX, suffixes=(".json",))}
    files = lake.list_files(prefix)
    new = [f for f in files if manifest_path(f).rsplit("/", 1)[-1] not in done]
    return sorted(new, key=_batch_order), len(files) - len(new)


def _batch_order(rel_path: str) -> tuple[str, str]:
    """Landing day first, so a chunk holds all malls of a few days (late files come after)."""
    match = re.search(r"(?:^|/)date=([^/]+)/", rel_path)
    return (match.group(1) if match else "", rel_path)


def write_malls(lake: Lake) -> str:
    """Write the mall dimension to ``curated/malls/malls.parquet`` (only when it changed)."""
    rel = f"{MALLS.location}/malls.parquet"
    buf = io.BytesIO()
    pq.write_table(malls_table(), buf, compression="zstd")
    data = buf.getvalue()
    if not lake.exists(rel) or lake.read_bytes(rel) != data:
        lake.write_bytes(rel, data)
    return rel


def chunked(sources: list[SourceFile], limit: int | None) -> list[list[SourceFile]]:
    """Consecutive chunks of at most ``limit`` raw bytes (one chunk when ``limit`` is None)."""
    if limit is None:
        return [sources] if sources else []
    chunks: list[list[SourceFile]] = [[]]
    size = 0
    for src in sources:
        if chunks[-1] and size + src.size > limit:
            chunks.append([])
            size = 0
        chunks[-1].append(src)
        size += src.size
    return [c for c in chunks if c]


def process_sources(
    engine: BatchEngine,
    lake: Lake,
    sources: list[SourceFile],
    params: SqlParams,
    key: bytes | None,
    times: StageTimes | None = None,
) -> list[FileReport]:
    """Run one chunk of probed, readable files end to end (outputs and manifests written).

    ``times`` (optional) gets the wall and CPU time of each stage added.
    """
    clock = times if times is not None else StageTimes()
    reports = transform_sources(engine, lake, sources, params, key, clock)
    with clock.stage("write"):
        engine.write_outputs(lake)
    write_reports(lake, reports, params.ingested_at, engine.name, clock)
    return reports


def transform_sources(
    engine: BatchEngine,
    lake: Lake,
    sources: list[SourceFile],
    params: SqlParams,
    key: bytes | None,
    clock: StageTimes,
    *,
    outputs: bool = True,
) -> list[FileReport]:
    """Stage and transform one chunk of files: ``curated_out`` and ``rejected_out`` exist after.

    Nothing is written: :func:`process_sources` writes the outputs, then :func:`write_reports`.
    ``outputs=False``: the outputs are left to make (:func:`c4.elt.pipeline.make_outputs`).
    """
    engine.reset()
    with clock.stage("read"):
        read_errors = engine.load_staging(lake, sources)
    replaced = replaced_outputs(s.rel_path for s in sources)
    outcome = run_transform(
        engine,
        [s.rel_path for s in sources],
        params,
        key,
        read_errors=read_errors,
        load_existing=lambda dts: engine.load_existing(lake, dts, replaced),
        times=clock,
        outputs=outputs,
    )
    return list(outcome.reports.values())


def write_reports(
    lake: Lake, reports: list[FileReport], at: datetime, engine: str, clock: StageTimes
) -> None:
    """Quarantine the files found unreadable, then write every file's manifest (after its outputs)."""
    with clock.stage("manifests"):
        finish_unreadable(lake, [r for r in reports if r.status != "ok"], at, engine, manifests=False)
        write_manifests(lake, reports, at, engine)


def finish_unreadable(
    lake: Lake, reports: list[FileReport], at: datetime, engine: str, *, manifests: bool = True
) -> None:
    """Quarantine unreadable files whole (and write their manifests unless told not to)."""
    for r in reports:
        logger.warning("unreadable raw file %s: %s", r.source_file, r.error)
        quarantine_file(lake, r.source_file, r.error or "unreadable", at)
    if manifests:
        write_manifests(lake, reports, at, engine)


def run_batch(
    engine: BatchEngine,
    lake: Lake,
    key: bytes | None,
    *,
    now: datetime | None = None,
    mapping: dict[str, str] | None = None,
    progress: Progress | None = None,
    chunk_bytes: int | None = None,
) -> EltSummary:
    """Process every new raw file under ``raw/sessions/`` with ``engine``.

    Parameters
    ----------
    engine : BatchEngine
        DuckDB or Spark adapter.
    lake : Lake
        The lake.
    key : bytes or None
        HMAC key.
    now : datetime, optional
        Processing / reference time (default: now, UTC).
    mapping : dict, optional
        Contract column -> source column.
    progress : callable, optional
        ``progress(files_done, files_total)``.
    chunk_bytes : int, optional
        Raw bytes per chunk (``None``: one chunk).

    Returns
    -------
    EltSummary
    """
    started = time.perf_counter()
    at = naive_utc(now)
    params = SqlParams(reference=at, ingested_at=at, reject_unknown_malls=True)
    write_malls(lake)
    files, skipped = new_raw_files(lake)
    summary = EltSummary(files_skipped=skipped, engine=engine.name)
    clock = summary.stage_times
    report = progress or (lambda _done, _total: None)
    report(0, len(files))
    with clock.stage("probe"):
        sources = probe_files(lake, files, mapping)
        unreadable = [FileReport(s.rel_path, STATUS_UNREADABLE, s.error) for s in sources if not s.readable]
        finish_unreadable(lake, unreadable, at, engine.name)
    summary.add(unreadable)
    done = len(unreadable)
    for chunk in chunked([s for s in sources if s.readable], chunk_bytes):
        summary.add(process_sources(engine, lake, chunk, params, key, clock))
        done += len(chunk)
        report(done, len(files))
    summary.elapsed_seconds = time.perf_counter() - started
    logger.info(
        "elt (%s): %d files, %d rows in, %d accepted, %d rejected in %.1f s",
        engine.name,
        summary.files_processed,
        summary.rows_in,
        summary.rows_accepted,
        summary.rows_rejected,
        summary.elapsed_seconds,
    )
    return summary
