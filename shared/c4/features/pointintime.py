"""Point-in-time guest features: the one feature definition used by training and scoring.

Cut-off: the features of guest *g* at as-of date *T* use only sessions whose ``local_date`` is
on or before *T* (the as-of date is a whole local day; a session on *T* counts).  Nothing after
*T* is read: visits are built from sessions ``<= max(T)`` and every aggregate joins visits with
``visit_date <= T``; population-level parts (mall context, Pareto/NBD and BG/NBD fits) use the
same cut-off.  Rolling windows of *N* days are ``(T - N, T]``.

Population: a guest is returned at *T* when they had at least one visit in the look-back window
``(T - 180, T]`` (:data:`~c4.features.params.ACTIVE_WINDOW_DAYS`); when ``customers`` is given,
every one of those guests with any history on or before *T* is returned.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from c4.features.context import btyd_features, mall_context, population_condition, population_visits
from c4.features.params import ACTIVE_WINDOW_DAYS, COUNT_WINDOWS_DAYS
from c4.features.schema import FEATURE_NAMES, SPECS_BY_NAME
from c4.features.source import Scratch, normalised_sessions_sql, relation_exists
from c4.features.visits import build_days, build_visits, build_zone_days

logger = logging.getLogger(__name__)

KEYS = ("customer_id", "as_of_date")


def _base_sql(visits: str, asof: str, *, active_only: bool) -> str:
    counts = ",\n".join(
        f"count(*) FILTER (WHERE v.visit_date > a.as_of_date - {n}) AS visits_{n}d"
        for n in COUNT_WINDOWS_DAYS
    )
    having = f"HAVING max(v.visit_date) > a.as_of_date - {ACTIVE_WINDOW_DAYS}" if active_only else ""
    return f"""
        SELECT v.customer_id, a.as_of_date,
               a.as_of_date - max(v.visit_date) AS days_since_last_visit,
               a.as_of_date - min(v.visit_date) AS tenure_days,
               count(*) AS visits_total,
               {counts},
               sum(v.dwell_mmin) / count(v.dwell_mmin) / 1000.0 AS dwell_mean_min,
               sum(v.dwell_mmin) FILTER (WHERE v.visit_date > a.as_of_date - 90)
                   / count(v.dwell_mmin) FILTER (WHERE v.visit_date > a.as_of_date - 90) / 1000.0
                   AS dwell_mean_90d,
               avg(v.n_sessions) AS sessions_per_visit,
               count(DISTINCT v.mall_id) AS n_malls,
               avg(CAST(v.is_weekend AS DOUBLE)) AS weekend_share,
               avg(CAST(v.is_evening AS DOUBLE)) AS evening_share,
               avg(v.start_hour) AS mean_visit_hour,
               avg(CAST(v.is_holiday AS DOUBLE)) AS holiday_visit_share,
               avg(CAST(v.is_payday AS DOUBLE)) AS payday_visit_share,
               sum(v.signal_mdbm_sum) / nullif(sum(v.signal_n), 0) / 1000.0 AS signal_mean_dbm,
               avg(v.failed_logins) AS failed_logins_per_visit,
               sum(v.bytes_total) / count(v.bytes_total) / 1e6 AS mb_per_visit,
               arg_max(v.device_os, strftime(v.visit_date, '%Y-%m-%d') || v.device_os)
                   FILTER (WHERE v.device_os IS NOT NULL) AS device_os,
               arg_max(v.login_method, strftime(v.visit_date, '%Y-%m-%d') || v.login_method)
                   FILTER (WHERE v.login_method IS NOT NULL) AS login_method
        FROM {visits} v JOIN {asof} a ON v.visit_date <= a.as_of_date
        GROUP BY v.customer_id, a.as_of_date
        {having}
    """


def _gaps_sql(days: str, keys: str) -> str:
    return f"""
        SELECT k.customer_id, k.as_of_date,
               count(*) AS n_days,
               min(d.visit_date) AS first_date,
               max(d.visit_date) AS last_date,
               count(d.gap_days) AS n_gaps,
               sum(d.gap_days) AS gap_sum,
               sum(d.gap_days * d.gap_days) AS gap_sum_sq,
               arg_max(d.gap_days, d.visit_date) AS gap_last_days
        FROM {days} d JOIN {keys} k ON d.customer_id = k.customer_id AND d.visit_date <= k.as_of_date
        GROUP BY k.customer_id, k.as_of_date
    """


def _mode_sql(table: str, column: str, keys: str, weight: str) -> str:
    """Most frequent value per (guest, T); ties go to the most recent, then the smallest value."""
    return f"""
        SELECT customer_id, as_of_date, value, n, total FROM (
            SELECT k.customer_id, k.as_of_date, t.{column} AS value, {weight} AS n,
                   sum({weight}) OVER (PARTITION BY k.customer_id, k.as_of_date) AS total,
                   count(*) OVER (PARTITION BY k.customer_id, k.as_of_date) AS n_values,
                   row_number() OVER (PARTITION BY k.customer_id, k.as_of_date
                                      ORDER BY {weight} DESC, max(t.visit_date) DESC, t.{column}) AS rn
            FROM {table} t JOIN {keys} k ON t.customer_id = k.customer_id AND t.visit_date <= k.as_of_date
            WHERE t.{column} IS NOT NULL
            GROUP BY k.customer_id, k.as_of_date, t.{column}
        ) WHERE rn = 1
    """


def _distinct_count_sql(table: str, column: str, keys: str) -> str:
    return f"""
        SELECT k.customer_id, k.as_of_date, count(DISTINCT t.{column}) AS n
        FROM {table} t JOIN {keys} k ON t.customer_id = k.customer_id AND t.visit_date <= k.as_of_date
        GROUP BY k.customer_id, k.as_of_date
    """


def _empty_frame() -> pd.DataFrame:
    frame = pd.DataFrame(
        {"customer_id": pd.Series([], dtype=object), "as_of_date": pd.Series([], dtype=object)}
    )
    for name in FEATURE_NAMES:
        frame[name] = pd.Series([], dtype=object if SPECS_BY_NAME[name].kind == "categorical" else float)
    return _finish(frame)


def _finish(frame: pd.DataFrame) -> pd.DataFrame:
    """Column order, dtypes (ints for counts, floats, strings) and a stable row order."""
    out = frame.reindex(columns=[*KEYS, *FEATURE_NAMES])
    for name in FEATURE_NAMES:
        spec = SPECS_BY_NAME[name]
        if spec.kind == "categorical":
            out[name] = out[name].astype(object).where(out[name].notna(), None)
        elif spec.athena_type in ("int", "bigint"):
            out[name] = out[name].astype("int64")
        else:
            out[name] = out[name].astype("float64")
    out["as_of_date"] = pd.to_datetime(out["as_of_date"]).dt.date if len(out) else out["as_of_date"]
    out["customer_id"] = out["customer_id"].astype(object)
    return out.sort_values(list(KEYS), kind="mergesort").reset_index(drop=True)


def compute_features(
    con: duckdb.DuckDBPyConnection,
    as_of_dates: Sequence[date],
    *,
    customers: Sequence[str] | None = None,
    sessions: str = "sessions",
    malls: str | None = "malls",
) -> pd.DataFrame:
    """Guest features as of each date, from sessions on or before that date only.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Connection on which ``sessions`` (and ``malls``) can be read.
    as_of_dates : sequence of datetime.date
        As-of dates *T*; features use sessions with ``local_date <= T``.
    customers : sequence of str, optional
        Restrict to these guests (scoring).  Then every given guest with any history on or
        before *T* gets a row, active or not; otherwise the guests active at *T* (a visit in
        ``(T - 180, T]``).
    sessions : str
        Relation with the curated ``sessions`` schema (table, view or registered frame name).
        Optional columns may be missing: their features come out NULL.
    malls : str, optional
        The malls dimension (for holidays by country and mall facts).  ``None``, or a missing
        relation, skips them (NULL features).

    Returns
    -------
    pandas.DataFrame
        One row per (``customer_id``, ``as_of_date``), columns ``customer_id``, ``as_of_date``
        (``datetime.date``) and every name of :data:`c4.features.FEATURE_SPECS`, sorted by
        guest then date.
    """
    dates = sorted({pd.Timestamp(d).date() for d in as_of_dates})
    if not dates or (customers is not None and len(customers) == 0):
        return _empty_frame()
    if malls is not None and not relation_exists(con, malls):
        logger.info("malls relation %r not found: mall enrichment skipped", malls)
        malls = None
    src = normalised_sessions_sql(con, sessions)
    with Scratch(con) as scratch:
        asof = scratch.dates("asof", dates)
        cust = scratch.strings("customers", "customer_id", customers) if customers is not None else None
        visits, read = build_visits(
            scratch, src, max_date=dates[-1], customers=cust, malls=malls, population=population_condition()
        )
        base = scratch.table("base", _base_sql(visits, asof, active_only=customers is None))
        keys = scratch.table("keys", f"SELECT customer_id, as_of_date FROM {base}")
        days = build_days(scratch, visits)
        zones = build_zone_days(scratch, visits)
        frame = con.execute(f"""
            SELECT b.*, g.n_days, g.first_date, g.last_date, g.n_gaps, g.gap_sum, g.gap_sum_sq,
                   g.gap_last_days,
                   hm.value AS home_mall_id, hm.n / hm.total AS home_mall_share,
                   fz.value AS favourite_zone, coalesce(nz.n, 0) AS n_zones
            FROM {base} b
            JOIN ({_gaps_sql(days, keys)}) g USING (customer_id, as_of_date)
            LEFT JOIN ({_mode_sql(visits, "mall_id", keys, "count(*)")}) hm USING (customer_id, as_of_date)
            LEFT JOIN ({_mode_sql(zones, "zone", keys, "sum(t.n)")}) fz USING (customer_id, as_of_date)
            LEFT JOIN ({_distinct_count_sql(zones, "zone", keys)}) nz USING (customer_id, as_of_date)
        """).df()
        if frame.empty:
            return _empty_frame()
        frame = _derive(frame)
        pop = population_visits(scratch, read)
        frame = _add_mall_context(frame, mall_context(scratch, pop, asof, malls))
        frame = btyd_features(con, pop, frame, dates)
    return _finish(frame)


def _derive(frame: pd.DataFrame) -> pd.DataFrame:
    """Ratios and trends computed from the aggregates (NULL when undefined)."""
    f = frame
    f["as_of_date"] = pd.to_datetime(f["as_of_date"]).dt.date
    v30 = f["visits_30d"].astype(float)
    v90 = f["visits_90d"].astype(float)
    f["visits_trend_30d"] = v30 - (v90 - v30) / 2.0
    months = np.maximum(f["tenure_days"].astype(float) + 1.0, 30.0) / 30.0
    f["visits_per_month"] = f["visits_total"].astype(float) / months
    n = f["n_gaps"].astype(float)
    s1 = f["gap_sum"].astype(float)
    s2 = f["gap_sum_sq"].astype(float)
    f["gap_mean_days"] = (s1 / n).where(n > 0)
    var = ((s2 - s1 * s1 / n) / (n - 1)).clip(lower=0.0)
    f["gap_std_days"] = var.pow(0.5).where(n > 1)
    gap = f["gap_mean_days"]
    f["overdue_ratio"] = f["days_since_last_visit"].astype(float) / gap.where(gap > 0)
    dwell = f["dwell_mean_min"].astype(float)
    f["dwell_trend"] = f["dwell_mean_90d"].astype(float) / dwell.where(dwell > 0)
    return f


def _add_mall_context(frame: pd.DataFrame, ctx: pd.DataFrame) -> pd.DataFrame:
    ctx = ctx.rename(columns={"mall_id": "home_mall_id"})
    ctx["as_of_date"] = pd.to_datetime(ctx["as_of_date"]).dt.date
    return frame.merge(ctx, on=["home_mall_id", "as_of_date"], how="left")
