"""Engine-independent orchestration of the transform over a set of staged raw files.

An engine adapter (:class:`c4.elt.duck.DuckEngine`, :class:`c4.elt.spark.SparkEngine`) provides
``staging`` and a few primitives; this module runs the statements of :mod:`c4.elt.sql` in
order, pseudonymises the distinct ids in between and turns the counts into file reports.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import pyarrow as pa

from c4.elt.contract import curated_key, file_id
from c4.elt.outputs import FileReport
from c4.elt.sql import SqlParams, render
from c4.elt.timezones import mall_dim_table, offset_tables
from c4.elt.timing import StageTimes

logger = logging.getLogger(__name__)


class Engine(Protocol):
    """What the pipeline needs from an engine adapter."""

    name: str

    def register(self, name: str, table: pa.Table) -> None: ...

    def materialize(self, name: str, sql: str) -> None: ...

    def fetch(self, sql: str) -> pa.Table: ...

    def drop(self, *names: str) -> None: ...

    def pseudonymise(self, key: bytes | None, ids_sql: str) -> None: ...


@dataclass
class TransformOutcome:
    """What a transform run produced (``curated_out``/``rejected_out`` stay in the engine, once made)."""

    reports: dict[str, FileReport] = field(default_factory=dict)

    @property
    def unreadable(self) -> dict[str, str]:
        """Files found unreadable by the transform (path -> error)."""
        return {p: r.error or "" for p, r in self.reports.items() if r.status != "ok"}


def run_transform(
    engine: Engine,
    files: list[str],
    params: SqlParams,
    key: bytes | None,
    *,
    read_errors: dict[str, str] | None = None,
    load_existing: Callable[[list[str]], None],
    times: StageTimes | None = None,
    outputs: bool = True,
) -> TransformOutcome:
    """Run the transform on the engine's ``staging`` relation.

    Parameters
    ----------
    engine : Engine
        Adapter holding ``staging``.
    files : list of str
        The raw files staged (lake-relative), all passed the probe.
    params : SqlParams
        Run-level constants.
    key : bytes or None
        HMAC key; ``None`` keeps raw customer ids (``pseudonymise=False``).
    read_errors : dict, optional
        Files the reader found unreadable (path -> error).
    load_existing : callable
        ``load_existing(dts)`` must create ``existing_all``: the curated rows already in those
        dt partitions, with ``dt``, ``_key`` (their file's name) and a row key ``_rk``.  It may
        leave out files holding only rows of ``files`` (they are replaced, never compared).
    times : StageTimes, optional
        Where to add the wall and CPU time of each stage (``validate``, ``existing``,
        ``pseudonymise``, ``dedupe``, ``visits``, ``outcomes``).
    outputs : bool
        Make ``curated_out`` and ``rejected_out`` (:func:`make_outputs`).  ``False`` leaves
        the transform's relations (``visited`` holds the accepted rows, ``_is_new``) for the
        caller to make them later, e.g. in the background job that writes them.

    Returns
    -------
    TransformOutcome
        One report per file (counts included either way); ``curated_out`` and
        ``rejected_out`` exist in the engine when ``outputs``.
    """
    sql = _Renderer(params, engine.name)
    clock = times if times is not None else StageTimes()
    with clock.stage("validate"):
        reports = _file_checks(engine, files, read_errors or {}, sql)
        _register_batch(engine, files, {p for p, r in reports.items() if r.status != "ok"})
        _register_dimensions(engine, sql)
        engine.materialize("validated", sql("validated"))
        engine.drop("staging")
    with clock.stage("existing"):
        dts = sorted(str(v) for v in engine.fetch(sql("affected_dts")).column("dt").to_pylist())
        load_existing(dts)
        engine.materialize("existing", sql("existing_rows"))
        engine.drop("existing_all")
    with clock.stage("pseudonymise"):
        engine.pseudonymise(key, sql("distinct_ids"))
    with clock.stage("dedupe"):
        for name in ("candidates", "duplicates"):
            engine.materialize(name, sql(name))
    with clock.stage("visits"):
        engine.materialize("visited", sql("visits"))
    with clock.stage("outcomes"):
        _count_outcomes(engine, reports, sql)
        if outputs:
            make_outputs(engine, params)
    return TransformOutcome(reports)


def make_outputs(engine: Engine, params: SqlParams) -> None:
    """Create ``curated_out`` and ``rejected_out`` from a transform's relations, then drop those.

    :func:`run_transform` calls it, unless told to leave it to the caller (``outputs=False``).
    """
    sql = _Renderer(params, engine.name)
    engine.materialize("curated_out", sql("curated_out"))
    engine.materialize("rejected_out", sql("rejected_out"))
    # only the outputs stay: they may be kept a while (written in the background)
    engine.drop("candidates", "duplicates", "visited", "pseudonyms", "validated", "existing")


def _register_batch(engine: Engine, files: list[str], bad: set[str]) -> None:
    """``unreadable_files`` and ``batch_files`` (path, file id, curated file key)."""
    engine.register("unreadable_files", pa.table({"source_file": pa.array(sorted(bad), pa.string())}))
    engine.register(
        "batch_files",
        pa.table(
            {
                "source_file": pa.array(files, pa.string()),
                "fid": pa.array([file_id(f) for f in files], pa.string()),
                "fkey": pa.array([curated_key(f) for f in files], pa.string()),
            }
        ),
    )


class _Renderer:
    def __init__(self, params: SqlParams, engine: str) -> None:
        self.params, self.engine = params, engine

    def __call__(self, name: str) -> str:
        return render(name, self.params, self.engine)


def _file_checks(
    engine: Engine, files: list[str], read_errors: dict[str, str], sql: _Renderer
) -> dict[str, FileReport]:
    checks = {r["source_file"]: r for r in engine.fetch(sql("file_checks")).to_pylist()}
    reports = {}
    for path in files:
        report = FileReport(source_file=path)
        row = checks.get(path)
        missing = (
            []
            if row is None
            else [
                c
                for c, flag in (("customer_id", "any_customer_id"), ("session_start", "any_session_start"))
                if not row[flag]
            ]
        )
        if path in read_errors:
            report.error = read_errors[path]
        elif row is None or row["rows_in"] == 0:
            report.error = "no data rows"
        elif missing:
            report.error = f"missing required column(s) {', '.join(missing)} in every row"
        else:
            report.rows_in = int(row["rows_in"])
        if report.error:
            report.status = "unreadable"
        reports[path] = report
    return reports


def _register_dimensions(engine: Engine, sql: _Renderer) -> None:
    malls = mall_dim_table()
    pairs = engine.fetch(sql("dates"))
    texts = {*pairs.column("s").to_pylist(), *pairs.column("e").to_pylist()}
    days = [d for d in map(_as_date, texts) if d is not None]
    utc_hours, local_hours = offset_tables(set(malls.column("timezone").to_pylist()), days)
    engine.register("mall_dim", malls)
    engine.register("tz_utc_hours", utc_hours)
    engine.register("tz_local_hours", local_hours)


def _as_date(text: str | None) -> date | None:
    """A ``YYYY-MM-DD`` day (the only form the validation accepts), else ``None``."""
    if not text or len(text) != 10 or text[4] != "-" or text[7] != "-":
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _count_outcomes(engine: Engine, reports: dict[str, FileReport], sql: _Renderer) -> None:
    for row in engine.fetch(sql("outcome_counts")).to_pylist():
        report = reports[row["source_file"]]
        n = int(row["n"])
        if row["outcome"] == "accepted":
            report.rows_accepted += n
        else:
            report.rows_rejected += n
            report.rejected_by_reason[row["outcome"]] = report.rejected_by_reason.get(row["outcome"], 0) + n
    for report in reports.values():
        report.check()
