"""Churn labels and the data-derived default horizon.

Label: a guest active at as-of date *T* (a visit in ``(T - 180, T]``, the same population as
:func:`~c4.features.compute_features`) has *churned* when they have no visit in ``(T, T + H]``.
The label reads sessions after *T* only to decide ``churned``; which guests get a label depends
on sessions on or before *T* only.  Labels exist only for dates whose horizon has fully elapsed
in the data: ``T + H <= last day`` (see :func:`data_date_range`: stray days from skewed clocks
do not count).

Default horizon: the :data:`~c4.features.params.HORIZON_GAP_PERCENTILE`-th percentile of the
gaps (days) between consecutive visit days of returning guests, rounded up to whole weeks and
clamped to :data:`~c4.features.params.HORIZON_BOUNDS_DAYS`.  Reading: an active guest comes back
within H days 90% of the time, so "no visit in H days" is rarely just a long pause.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from datetime import date, timedelta

import duckdb
import pandas as pd

from c4.exceptions import ContractError
from c4.features.params import (
    ACTIVE_WINDOW_DAYS,
    HORIZON_BOUNDS_DAYS,
    HORIZON_GAP_PERCENTILE,
    MIN_DAY_VOLUME_SHARE,
)
from c4.features.source import Scratch, fetch_row, normalised_sessions_sql

logger = logging.getLogger(__name__)


def data_date_range(con: duckdb.DuckDBPyConnection, *, sessions: str = "sessions") -> tuple[date, date]:
    """First and last day of the data, ignoring stray days from skewed clocks.

    WiFi controllers with a wrong clock produce a few sessions dated weeks or months outside the
    real collection period.  Taking ``max(local_date)`` at face value would make every guest look
    churned after the real end, so the range is the first and last day whose session count is at
    least :data:`~c4.features.params.MIN_DAY_VOLUME_SHARE` of the median daily count.

    Raises
    ------
    ContractError
        If the relation holds no sessions.
    """
    src = normalised_sessions_sql(con, sessions)
    row = fetch_row(
        con,
        f"""
        WITH d AS (SELECT local_date, count(*) AS n FROM ({src}) GROUP BY 1)
        SELECT min(local_date), max(local_date) FROM d
        WHERE n >= {MIN_DAY_VOLUME_SHARE} * (SELECT median(n) FROM d)""",
    )
    if not row or row[0] is None:
        raise ContractError(f"no sessions in {sessions!r}")
    return row[0], row[1]


def gap_sql(con: duckdb.DuckDBPyConnection, sessions: str = "sessions") -> str:
    """SQL of all gaps (days) between consecutive visit days of each guest (``gap_days``)."""
    src = normalised_sessions_sql(con, sessions)
    return f"""
        SELECT customer_id, visit_date,
               visit_date - lag(visit_date) OVER (PARTITION BY customer_id ORDER BY visit_date) AS gap_days
        FROM (SELECT DISTINCT customer_id, local_date AS visit_date FROM ({src}))
        QUALIFY gap_days IS NOT NULL
    """


def gap_percentile(con: duckdb.DuckDBPyConnection, q: float, *, sessions: str = "sessions") -> float | None:
    """The ``q``-th percentile (0-100) of inter-visit gaps in days (None when no guest returns)."""
    row = fetch_row(con, f"SELECT quantile_cont(gap_days, {q / 100.0}) FROM ({gap_sql(con, sessions)})")
    return None if not row or row[0] is None else float(row[0])


def horizon_from_gap(gap_days: float | None) -> int:
    """Round a gap percentile up to whole weeks and clamp it to the allowed range."""
    lo, hi = HORIZON_BOUNDS_DAYS
    if gap_days is None:
        return hi
    return int(min(max(math.ceil(gap_days / 7.0) * 7, lo), hi))


def default_horizon_days(con: duckdb.DuckDBPyConnection, *, sessions: str = "sessions") -> int:
    """The default churn horizon H (days), derived from the gaps between visits.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Connection on which ``sessions`` can be read.
    sessions : str
        Relation with the curated sessions schema.

    Returns
    -------
    int
        The 90th percentile of gaps between consecutive visit days of returning guests, rounded
        up to whole weeks, within [28, 182] days.
    """
    gap = gap_percentile(con, HORIZON_GAP_PERCENTILE, sessions=sessions)
    h = horizon_from_gap(gap)
    logger.info("default horizon: P%d gap = %s days -> H = %d days", HORIZON_GAP_PERCENTILE, gap, h)
    return h


def labelable_dates(as_of_dates: Sequence[date], horizon_days: int, last_date: date) -> list[date]:
    """The dates whose horizon has fully elapsed: ``T + H <= last_date``."""
    return sorted({d for d in as_of_dates if d + timedelta(days=horizon_days) <= last_date})


def compute_labels(
    con: duckdb.DuckDBPyConnection,
    as_of_dates: Sequence[date],
    horizon_days: int,
    *,
    sessions: str = "sessions",
) -> pd.DataFrame:
    """Churn labels: no visit in ``(T, T + H]`` for guests active at T.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Connection on which ``sessions`` can be read.
    as_of_dates : sequence of datetime.date
        Candidate as-of dates; dates with ``T + H`` after the last date in the data are dropped.
    horizon_days : int
        Horizon H in days (>= 1).
    sessions : str
        Relation with the curated sessions schema.

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``as_of_date`` (``datetime.date``), ``churned`` (int8, 1 = churned),
        sorted by guest then date.

    Raises
    ------
    ValueError
        If ``horizon_days`` < 1.
    """
    if horizon_days < 1:
        raise ValueError(f"horizon_days must be >= 1, got {horizon_days}")
    _, last = data_date_range(con, sessions=sessions)
    dates = labelable_dates([pd.Timestamp(d).date() for d in as_of_dates], horizon_days, last)
    if not dates:
        logger.info("no as-of date has a fully elapsed %d-day horizon (data ends %s)", horizon_days, last)
        return _empty()
    src = normalised_sessions_sql(con, sessions)
    with Scratch(con) as scratch:
        asof = scratch.dates("label_asof", dates)
        frame = con.execute(f"""
            WITH days AS (
                SELECT DISTINCT customer_id, local_date AS visit_date FROM ({src})
                WHERE local_date > DATE '{dates[0].isoformat()}' - {ACTIVE_WINDOW_DAYS}
                  AND local_date <= DATE '{dates[-1].isoformat()}' + {int(horizon_days)}
            )
            SELECT d.customer_id, a.as_of_date,
                   CAST(count(*) FILTER (WHERE d.visit_date > a.as_of_date) = 0 AS TINYINT) AS churned
            FROM days d JOIN {asof} a
              ON d.visit_date > a.as_of_date - {ACTIVE_WINDOW_DAYS}
             AND d.visit_date <= a.as_of_date + {int(horizon_days)}
            GROUP BY d.customer_id, a.as_of_date
            HAVING count(*) FILTER (WHERE d.visit_date <= a.as_of_date) > 0
        """).df()
    frame["as_of_date"] = pd.to_datetime(frame["as_of_date"]).dt.date
    frame["churned"] = frame["churned"].astype("int8")
    frame["customer_id"] = frame["customer_id"].astype(object)
    return frame.sort_values(["customer_id", "as_of_date"], kind="mergesort").reset_index(drop=True)


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.Series([], dtype=object),
            "as_of_date": pd.Series([], dtype=object),
            "churned": pd.Series([], dtype="int8"),
        }
    )
