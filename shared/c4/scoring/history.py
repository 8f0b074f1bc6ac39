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
from collections.abc import Sequence
from datetime import date

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from c4.features import compute_features
from c4.features.context import PopulationParts, reference_date
from c4.features.store import read_population
from c4.malls import malls_table
from c4.scoring.cache import HISTORY_SCHEMA, curated_history
from c4.storage import Lake
from c4.tables import MALLS

logger = logging.getLogger(__name__)

#: Relation names on the scoring connection.
SCORING_SESSIONS = "scoring_sessions"
_HISTORY, _NEW, _MALLS = "__c4s_history", "__c4s_new_rows", "malls"

_COLUMNS = list(HISTORY_SCHEMA.names)  # what the features read (and source_file)


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


def scoring_connection(
    lake: Lake,
    accepted: pa.Table,
    source_file: str,
    *,
    threads: int | None = None,
    customers: Sequence[str] | None = None,
    history: pa.Table | None = None,
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
        DuckDB threads.
    customers : sequence of str, optional
        Keep only these guests' history (enough when the population parts are given).
    history : pyarrow.Table, optional
        The curated history (default: :func:`c4.scoring.cache.curated_history`).

    Returns
    -------
    duckdb.DuckDBPyConnection
    """
    con = duckdb.connect(database=":memory:")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
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
    malls = lake.dataset(MALLS.location).to_table() if lake.has_data(MALLS.location) else malls_table()
    con.register(_MALLS, malls)
    return con


def online_features(
    lake: Lake,
    accepted: pa.Table,
    source_file: str,
    *,
    threads: int | None = None,
    history: pa.Table | None = None,
    population: PopulationParts | None = None,
) -> tuple[pd.DataFrame, date]:
    """Features of every guest of the file, as of the file's latest session date.

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

    Returns
    -------
    (pandas.DataFrame, datetime.date)
        ``compute_features`` output (one row per guest of the file) and the as-of date.
    """
    as_of = as_of_date(accepted)
    ref = reference_date(as_of)
    customers = pc.unique(accepted.column("customer_id")).drop_null().to_pylist()
    if population is None or population.reference_date != ref:
        population = read_population(lake, ref)
    con = scoring_connection(
        lake,
        accepted,
        source_file,
        threads=threads,
        customers=customers if population is not None else None,
        history=history,
    )
    try:
        frame = compute_features(
            con,
            [as_of],
            customers=customers,
            sessions=SCORING_SESSIONS,
            malls=_MALLS,
            population={ref: population} if population is not None else None,
        )
    finally:
        con.close()
    frame.attrs = {}  # the population parts stay in the lake; predictions need not carry them
    logger.info(
        "features of %d guests of %s as of %s (population parts %s)",
        len(frame),
        source_file,
        as_of,
        "stored" if population is not None else "computed",
    )
    return frame, as_of
