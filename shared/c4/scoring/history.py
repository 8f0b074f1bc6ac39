"""Online features: a guest's full history up to the scored file, through the one feature definition.

The sessions relation handed to :func:`c4.features.compute_features` is the curated history
(kept in memory by :mod:`c4.scoring.cache`) *without* the scored file's own rows, ``UNION
ALL`` the file's accepted rows as the ELT returned them.  So no session of the file is missed
(even if the curated write is not visible yet) and none is counted twice (the ELT has already
appended them to ``curated/``).  The as-of date is the latest local date of the file's
sessions.

Population parts (mall context, Pareto/NBD and BG/NBD fits) are measured at the as-of date's
reference date (the month end on or before it, :func:`c4.features.context.reference_date`).
When the batch feature build has stored them (``features/population/``), they are reused and
only the file's guests' history is read; otherwise they are computed from the whole history,
exactly as the batch build would.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from functools import partial

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from c4.elt.contract import curated_key
from c4.features import compute_features
from c4.features.context import PopulationParts, reference_date
from c4.features.state import GuestState, read_state, stale_sources, state_dates, state_folder
from c4.features.store import read_population
from c4.malls import malls_table
from c4.scoring.cache import (
    HISTORY_SCHEMA,
    concat_history,
    counts_until,
    curated_history,
    guests_until,
    history_parts,
    rows_after,
)
from c4.storage import Lake
from c4.tables import MALLS

logger = logging.getLogger(__name__)

#: Relation names on the scoring connection.
SCORING_SESSIONS = "scoring_sessions"
_HISTORY, _NEW, _MALLS = "__c4s_history", "__c4s_new_rows", "malls"

_COLUMNS = list(HISTORY_SCHEMA.names)  # what the features read (and source_file)

#: DuckDB threads for the running-state path when the caller gives none.  It reads only the
#: file's guests' sessions after the state's date (tens of thousands of rows): there a second
#: thread costs more in scheduling than it saves (measured: 0.94 s wall / 0.94 s CPU with one
#: thread against 1.23 s wall / 1.49 s CPU with two, 100k-session file, load 1.3).
STATE_PATH_THREADS = 1
#: The running-state path's guests are computed in this many parts at once, each on its own
#: connection and thread: two independent queries keep two cores busy where one query with two
#: DuckDB threads does not (measured with the other core idle: 0.51 s against 0.38 s for 20,000
#: guests, same rows).  Two parts cost ~30% more CPU on this 2-vCPU machine; inside a warm call
#: they win now that the ELT's background write yields the CPU (1.81 s against 1.93 s a call,
#: 10 paired rounds; before it ran at a lower priority, the two were even).
STATE_PATH_PARTS = 2
#: Fewest guests per part: below it the fixed cost of a part outweighs the parallelism.
MIN_PART_GUESTS = 2_500


def as_of_date(accepted: pa.Table) -> date:
    """The as-of date of a scored file: the latest local date of its accepted sessions."""
    value = pc.max(accepted.column("local_date")).as_py()
    if value is None:
        raise ValueError("no accepted sessions to take an as-of date from")
    return value if isinstance(value, date) else pd.Timestamp(value).date()


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def guests_history(history: pa.Table, customers: Sequence[str]) -> pa.Table:
    """The rows of ``history`` whose ``customer_id`` is one of ``customers``."""
    mask = pc.is_in(history.column("customer_id"), value_set=pa.array(list(customers), pa.string()))
    return history.filter(mask)


@dataclass(frozen=True)
class LakeSnapshot:
    """What scoring reads of the lake besides the file itself.

    Attributes
    ----------
    parts : list of pyarrow.Table
        The curated history, one table per curated file (:func:`c4.scoring.cache.history_parts`).
    malls : pyarrow.Table
        The mall dimension (``curated/malls``, or the built-in one when the lake has none).
    """

    parts: list[pa.Table]
    malls: pa.Table


def lake_malls(lake: Lake) -> pa.Table:
    """The lake's mall dimension (``curated/malls``), or the built-in one when it has none."""
    files = lake.list_files(MALLS.location, suffixes=(".parquet",))  # one listing, then the reads
    if not files:
        return malls_table()
    return pa.concat_tables([lake.read_parquet(f) for f in files], promote_options="permissive")


def lake_snapshot(lake: Lake, source_file: str | None = None) -> LakeSnapshot:
    """The curated history and the mall dimension as they are now (S3 reads; see :class:`LakeSnapshot`).

    Scoring takes it in a background thread while the ELT curates the file: it does not depend
    on the file (the file's own rows come from the ELT and its earlier curated rows are left
    out), so the listing and the reads overlap the ELT instead of following it.

    Parameters
    ----------
    lake : Lake
        The lake.
    source_file : str, optional
        The upload being scored: its own curated files (from an earlier delivery) are left out
        (:func:`c4.scoring.cache.history_parts`); scoring leaves their rows out anyway.

    Returns
    -------
    LakeSnapshot
    """
    skip = curated_key(source_file) if source_file is not None else None
    return LakeSnapshot(history_parts(lake, skip=skip), lake_malls(lake))


_DATABASE_LOCK = threading.Lock()
_DATABASES: dict[int | None, duckdb.DuckDBPyConnection] = {}


def _database(threads: int | None) -> duckdb.DuckDBPyConnection:
    """The process's in-memory DuckDB database with this many threads (None: DuckDB's default).

    Each scoring call opens its own connection on it (:meth:`~duckdb.DuckDBPyConnection.cursor`:
    its own temp tables and registered views, dropped when it closes), so the database's
    memory is reused from call to call instead of being allocated afresh (measured: about a
    third fewer page faults and 0.94 s against 1.08 s a warm call, 100k-session file).
    """
    with _DATABASE_LOCK:
        db = _DATABASES.get(threads)
        if db is None:
            db = duckdb.connect(":memory:", config={"threads": threads} if threads else {})
            _DATABASES[threads] = db
        return db


def scoring_connection(
    lake: Lake,
    accepted: pa.Table,
    source_file: str,
    *,
    threads: int | None = None,
    customers: Sequence[str] | None = None,
    history: pa.Table | None = None,
    malls: pa.Table | None = None,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with ``scoring_sessions`` (history + the file) and ``malls``.

    Parameters
    ----------
    lake : Lake
        The lake (its curated ``sessions`` and ``malls``).
    accepted : pyarrow.Table
        The file's accepted curated rows (``IngestResult.accepted``).
    source_file : str
        The file's lake-relative path; its rows already in ``curated/`` are left out of the
        history (they come from ``accepted``).
    threads : int, optional
        DuckDB threads (one process-wide database per thread count, :func:`_database`).
    customers : sequence of str, optional
        Keep only these guests' history (enough when the population parts are given).
    history : pyarrow.Table, optional
        The curated history (default: :func:`c4.scoring.cache.curated_history`).
    malls : pyarrow.Table, optional
        The mall dimension (default: read from the lake).

    Returns
    -------
    duckdb.DuckDBPyConnection
    """
    con = _database(int(threads) if threads else None).cursor()
    past = curated_history(lake) if history is None else history
    if customers is not None:
        past = guests_history(past, customers)
    cols = ", ".join(f'"{c}"' for c in _COLUMNS)
    con.register(_NEW, accepted.select(_COLUMNS))
    con.register(_HISTORY, past)
    con.execute(
        f"CREATE TEMP VIEW {SCORING_SESSIONS} AS "
        f"SELECT {cols} FROM {_HISTORY} WHERE source_file IS DISTINCT FROM {_quote(source_file)} "
        f"UNION ALL SELECT {cols} FROM {_NEW}"
    )
    if malls is None:
        malls = lake_malls(lake)
    con.register(_MALLS, malls)
    return con


@dataclass(frozen=True)
class _Plan:
    """How a file's guests get their features: from a stored state (clean) or the whole history.

    ``state`` is the whole stored state (every guest it holds), or ``None``.
    """

    state: GuestState | None
    clean: list[str]
    dirty: list[str]
    why: str


_STATE_LOCK = threading.Lock()
_STATES: dict[str, tuple[str, GuestState]] = {}


def stored_state(lake: Lake, before: date) -> GuestState | None:
    """The latest running state stored in the lake at a date before ``before`` (cached per process).

    Every call lists the stored states and looks at the chosen one's ``state.json`` (size and
    modification time); the state is read only when that file changed (a new batch build).
    """
    try:
        dates = [d for d in state_dates(lake) if d < before]
        if not dates:
            return None
        info = lake.fs.get_file_info(lake.path(f"{state_folder(dates[-1])}/state.json"))
    except OSError as exc:  # e.g. no read permission on features/state/: the exact path serves
        logger.warning("stored running states not readable (%s): whole-history features", exc)
        return None
    stamp = f"{info.size}|{info.mtime_ns}"
    key = f"{lake.uri}|{dates[-1].isoformat()}"
    with _STATE_LOCK:
        hit = _STATES.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
    try:
        state = read_state(lake, dates[-1])
    except OSError as exc:
        logger.warning("running state at %s not readable (%s): whole-history features", dates[-1], exc)
        return None
    if state is not None:
        with _STATE_LOCK:
            for old in [k for k in _STATES if k.startswith(f"{lake.uri}|")]:
                del _STATES[old]
            _STATES[key] = (stamp, state)
        logger.info("running state of %d guests at %s loaded", state.size, state.reference_date)
    return state


def clear_state_cache() -> None:
    """Forget the cached running states (tests)."""
    with _STATE_LOCK:
        _STATES.clear()


def _plan(
    lake: Lake,
    parts: Sequence[pa.Table],
    accepted: pa.Table,
    source_file: str,
    as_of: date,
    customers: list[str],
) -> _Plan:
    """Which guests can start from the stored state: those whose sessions up to its date it holds.

    The state is used only when every source file it read still holds the same sessions up to
    its date (else nobody starts from it).  Guests with sessions up to that date in the scored
    file, or in a file the state never read (late data), are computed from their whole history.
    """
    state = stored_state(lake, as_of)
    if state is None:
        return _Plan(None, [], customers, "no stored state")
    day = state.reference_date
    current = counts_until(parts, day)
    current.pop(source_file, None)  # the file's earlier rows are not part of its scoring
    usable, late = stale_sources(state, current)
    if not usable or source_file in state.sources:
        return _Plan(None, [], customers, f"state at {day} is stale")
    early = accepted.filter(pc.less_equal(accepted.column("local_date"), pa.scalar(day, pa.date32())))
    dirty = set(pc.unique(early.column("customer_id")).drop_null().to_pylist()) | guests_until(
        parts, day, late
    )
    clean = [c for c in customers if c not in dirty]
    return _Plan(state, clean, [c for c in customers if c in dirty], f"state at {day}")


def _compute(
    lake: Lake,
    accepted: pa.Table,
    source_file: str,
    as_of: date,
    customers: list[str],
    *,
    threads: int | None,
    history: pa.Table | None,
    population: PopulationParts | None,
    state: GuestState | None = None,
    malls: pa.Table | None = None,
) -> pd.DataFrame:
    """``compute_features`` of some of the file's guests on a scoring connection."""
    ref = reference_date(as_of)
    if state is not None:
        who = pa.array(customers, pa.string())
        accepted = accepted.filter(pc.is_in(accepted.column("customer_id"), value_set=who))
    con = scoring_connection(
        lake,
        accepted,
        source_file,
        threads=threads,
        customers=customers if population is not None else None,
        history=history,
        malls=malls,
    )
    try:
        frame = compute_features(
            con,
            [as_of],
            customers=customers,
            sessions=SCORING_SESSIONS,
            malls=_MALLS,
            population={ref: population} if population is not None else None,
            state=state,
        )
    finally:
        con.close()
    frame.attrs = {}  # the population parts stay in the lake; predictions need not carry them
    return frame


def online_features(
    lake: Lake,
    accepted: pa.Table,
    source_file: str,
    *,
    threads: int | None = None,
    history: pa.Table | None = None,
    population: PopulationParts | None = None,
    snapshot: LakeSnapshot | None = None,
) -> tuple[pd.DataFrame, date]:
    """Features of every guest of the file, as of the file's latest session date.

    With the population parts stored, the guests start from the running state the last batch
    build stored (:mod:`c4.features.state`) and only their sessions after its date are read;
    guests the state cannot serve exactly (late data, a stale state, no state) are computed
    from their whole history.  Both give bit for bit the batch rows.

    Parameters
    ----------
    lake : Lake
        The lake.
    accepted : pyarrow.Table
        The file's accepted curated rows.
    source_file : str
        The file's lake-relative path.
    threads : int, optional
        DuckDB threads.
    history : pyarrow.Table, optional
        The curated history (default: the process's cached copy of ``curated/sessions``).
    population : PopulationParts, optional
        Population parts at the as-of date's reference date (default: the stored ones, if
        any; else they are computed from the whole history).
    snapshot : LakeSnapshot, optional
        The curated history and malls, taken beforehand (default: read now, from the
        process's cache); ``history`` wins over its history.

    Returns
    -------
    (pandas.DataFrame, datetime.date)
        ``compute_features`` output (one row per guest of the file) and the as-of date.
    """
    as_of = as_of_date(accepted)
    ref = reference_date(as_of)
    customers = sorted(pc.unique(accepted.column("customer_id")).drop_null().to_pylist())
    if population is None or population.reference_date != ref:
        population = read_population(lake, ref)
    malls = snapshot.malls if snapshot is not None else None
    job = partial(
        _compute, lake, accepted, source_file, as_of, threads=threads, population=population, malls=malls
    )
    if population is None:
        whole = history if history is not None or snapshot is None else concat_history(snapshot.parts)
        frame = job(customers, history=whole)
        why = "population parts computed"
    else:
        if history is not None:
            parts = [history]
        else:  # the cached per-file tables: their summaries are computed once per table
            parts = snapshot.parts if snapshot is not None else history_parts(lake)
        plan = _plan(lake, parts, accepted, source_file, as_of, customers)
        frames = []
        if plan.clean and plan.state is not None:
            recent = rows_after(parts, plan.state.reference_date)
            small = partial(job, threads=threads or STATE_PATH_THREADS, history=recent)
            frames.extend(_from_state(small, plan.state, plan.clean))
        if plan.dirty:
            whole = history if history is not None else concat_history(parts)
            frames.append(job(plan.dirty, history=whole))
        frame = _combine(frames)
        why = f"{len(plan.clean)} guests from the {plan.why}, {len(plan.dirty)} from their whole history"
    logger.info("features of %d guests of %s as of %s (%s)", len(frame), source_file, as_of, why)
    return frame, as_of


def _from_state(job: Callable[..., pd.DataFrame], state: GuestState, clean: list[str]) -> list[pd.DataFrame]:
    """Features of the guests the stored state serves, in :data:`STATE_PATH_PARTS` parts at once.

    Each part is every n-th guest (in order) with its own slice of the state; the parts'
    rows are put back in guest order by :func:`_combine`.
    """
    n = STATE_PATH_PARTS if len(clean) >= STATE_PATH_PARTS * MIN_PART_GUESTS else 1
    groups = [clean[i::n] for i in range(n)]

    def part(guests: list[str]) -> pd.DataFrame:
        return job(guests, state=state.for_guests(guests))

    if n == 1:
        return [part(clean)]
    with ThreadPoolExecutor(max_workers=n, thread_name_prefix="c4-features") as pool:
        return list(pool.map(part, groups))


def _combine(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Rows of both paths in the batch order (by guest)."""
    frames = [f for f in frames if len(f)] or frames[:1]
    if len(frames) == 1:
        return frames[0]
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values("customer_id", kind="mergesort", ignore_index=True)
