"""Online features: a guest's full history up to the scored file, through the one feature definition.

The sessions relation handed to :func:`c4.features.compute_features` is the curated history
(kept in memory by :mod:`c4.scoring.cache`) *without* the scored file's own rows, ``UNION
ALL`` the file's accepted rows as the ELT returned them.  So no session of the file is missed
(even if the curated write is not visible yet) and none is counted twice (the ELT has already
appended them to ``curated/``).  The as-of date is the latest local date of the file's
sessions.
"""

from __future__ import annotations

import logging
from datetime import date

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from c4.features import compute_features
from c4.malls import malls_table
from c4.scoring.cache import curated_history
from c4.storage import Lake
from c4.tables import MALLS, SESSIONS

logger = logging.getLogger(__name__)

#: Relation names on the scoring connection.
SCORING_SESSIONS = "scoring_sessions"
_HISTORY, _NEW, _MALLS = "__c4s_history", "__c4s_new_rows", "malls"

_COLUMNS = [name for name, _ in SESSIONS.columns]


def as_of_date(accepted: pa.Table) -> date:
    """The as-of date of a scored file: the latest local date of its accepted sessions."""
    value = pc.max(accepted.column("local_date")).as_py()
    if value is None:
        raise ValueError("no accepted sessions to take an as-of date from")
    return value if isinstance(value, date) else pd.Timestamp(value).date()


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def scoring_connection(
    lake: Lake, accepted: pa.Table, source_file: str, *, threads: int | None = None
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

    Returns
    -------
    duckdb.DuckDBPyConnection
    """
    con = duckdb.connect(database=":memory:")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    cols = ", ".join(f'"{c}"' for c in _COLUMNS)
    con.register(_NEW, accepted.select(_COLUMNS))
    con.register(_HISTORY, curated_history(lake))
    con.execute(
        f"CREATE TEMP VIEW {SCORING_SESSIONS} AS "
        f"SELECT {cols} FROM {_HISTORY} WHERE source_file IS DISTINCT FROM {_quote(source_file)} "
        f"UNION ALL SELECT {cols} FROM {_NEW}"
    )
    malls = lake.dataset(MALLS.location).to_table() if lake.has_data(MALLS.location) else malls_table()
    con.register(_MALLS, malls)
    return con


def online_features(
    lake: Lake, accepted: pa.Table, source_file: str, *, threads: int | None = None
) -> tuple[pd.DataFrame, date]:
    """Features of every guest of the file, as of the file's latest session date.

    Returns
    -------
    (pandas.DataFrame, datetime.date)
        ``compute_features`` output (one row per guest of the file) and the as-of date.
    """
    as_of = as_of_date(accepted)
    customers = pc.unique(accepted.column("customer_id")).drop_null().to_pylist()
    con = scoring_connection(lake, accepted, source_file, threads=threads)
    try:
        frame = compute_features(con, [as_of], customers=customers, sessions=SCORING_SESSIONS, malls=_MALLS)
    finally:
        con.close()
    logger.info("features of %d guests of %s as of %s", len(frame), source_file, as_of)
    return frame, as_of
