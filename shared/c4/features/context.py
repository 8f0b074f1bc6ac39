"""Population-level features: the home mall's context and the customer-base model scores.

These need the whole guest base, not just the guests being scored, so they are computed on a
deterministic *population sample*: the guests whose ``hash(customer_id) % 4 == 0`` (a quarter of
the base, the same guests whatever subset is scored, and independent of any data after *T*).

* ``mall_visits_trend``: the mall's guest-days in ``(T-30, T]`` per day over those in
  ``(T-90, T-30]`` per day, minus 1 (``+0.1`` = 10% busier lately).
* ``mall_base_churn_rate``: with reference date ``R = T - 60``
  (:data:`~c4.features.params.CONTEXT_HORIZON_DAYS`), the share of the guests seen at the mall
  in ``(R-180, R]`` with no visit anywhere in ``(R, T]``: a churn rate whose horizon has fully
  ended by *T* (no label after *T* is ever used).
* ``pnbd_p_alive``, ``pnbd_expected_visits``, ``bgnbd_expected_visits``: Pareto/NBD and BG/NBD
  fitted at each *T* on up to :data:`~c4.features.params.BTYD_SAMPLE_SIZE` sampled guests with
  history on or before *T* (the smallest hashes), then applied to every output guest.  A
  transaction is a visit day; expected visits are for the next 60 days.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from c4.features.btyd import BtydData, bgnbd_expected, fit_btyd, pnbd_expected, pnbd_p_alive
from c4.features.params import ACTIVE_WINDOW_DAYS, BTYD_SAMPLE_SIZE, CONTEXT_HORIZON_DAYS
from c4.features.source import Scratch

logger = logging.getLogger(__name__)

#: One guest in POPULATION_SAMPLE_MOD is in the population sample.
POPULATION_SAMPLE_MOD = 4
#: Fewer sampled guests than this at a date: no Pareto/NBD / BG/NBD fit (features NULL).
MIN_BTYD_SAMPLE = 30
#: Fewer sampled guests than this behind a mall's churn rate: NULL.
MIN_MALL_GUESTS = 10

_EPOCH = np.datetime64("1970-01-01", "D")


def population_condition(column: str = "customer_id") -> str:
    """SQL condition selecting the population sample."""
    return f"hash({column}) % {POPULATION_SAMPLE_MOD} = 0"


def population_visits(scratch: Scratch, visits: str) -> str:
    """Visit days (guest, date, mall) of the population sample, from a visits table."""
    return scratch.table(
        "population",
        f"SELECT DISTINCT customer_id, visit_date, mall_id FROM {visits} WHERE {population_condition()}",
    )


def mall_context(scratch: Scratch, pop: str, asof: str, malls: str | None) -> pd.DataFrame:
    """Per (mall, T): visit trend, base churn rate, and the mall's country and size class."""
    h = CONTEXT_HORIZON_DAYS
    facts = (
        f"LEFT JOIN (SELECT DISTINCT mall_id, country, size_class FROM {malls}) f ON f.mall_id = m.mall_id"
        if malls
        else ""
    )
    fact_cols = (
        "f.country AS home_country, f.size_class AS home_mall_size"
        if malls
        else ("CAST(NULL AS VARCHAR) AS home_country, CAST(NULL AS VARCHAR) AS home_mall_size")
    )
    mall_list = f"SELECT DISTINCT mall_id FROM {pop} WHERE mall_id IS NOT NULL"
    if malls:
        mall_list += f" UNION SELECT DISTINCT CAST(mall_id AS VARCHAR) FROM {malls}"
    return scratch.con.execute(f"""
        WITH trend AS (
            SELECT p.mall_id, a.as_of_date,
                   count(*) FILTER (WHERE p.visit_date > a.as_of_date - 30) / 30.0 AS recent,
                   count(*) FILTER (WHERE p.visit_date <= a.as_of_date - 30) / 60.0 AS before
            FROM {pop} p JOIN {asof} a
              ON p.visit_date > a.as_of_date - 90 AND p.visit_date <= a.as_of_date
            WHERE p.mall_id IS NOT NULL
            GROUP BY ALL
        ),
        seen AS (
            SELECT DISTINCT a.as_of_date, p.customer_id, p.mall_id
            FROM {pop} p JOIN {asof} a
              ON p.visit_date > a.as_of_date - {h + ACTIVE_WINDOW_DAYS} AND p.visit_date <= a.as_of_date - {h}
            WHERE p.mall_id IS NOT NULL
        ),
        back AS (
            SELECT DISTINCT a.as_of_date, p.customer_id
            FROM {pop} p JOIN {asof} a
              ON p.visit_date > a.as_of_date - {h} AND p.visit_date <= a.as_of_date
        ),
        churn AS (
            SELECT s.mall_id, s.as_of_date, count(*) AS n,
                   avg(CASE WHEN b.customer_id IS NULL THEN 1.0 ELSE 0.0 END) AS rate
            FROM seen s LEFT JOIN back b USING (as_of_date, customer_id)
            GROUP BY ALL
        )
        SELECT m.mall_id, a.as_of_date,
               CASE WHEN t.before > 0 THEN t.recent / t.before - 1 END AS mall_visits_trend,
               CASE WHEN c.n >= {MIN_MALL_GUESTS} THEN c.rate END AS mall_base_churn_rate,
               {fact_cols}
        FROM ({mall_list}) m CROSS JOIN {asof} a
        LEFT JOIN trend t ON t.mall_id = m.mall_id AND t.as_of_date = a.as_of_date
        LEFT JOIN churn c ON c.mall_id = m.mall_id AND c.as_of_date = a.as_of_date
        {facts}
    """).df()


def _day_numbers(values: pd.Series) -> np.ndarray:
    return (pd.to_datetime(values).to_numpy().astype("datetime64[D]") - _EPOCH).astype(np.int64)


def btyd_features(con, pop: str, frame: pd.DataFrame, dates: Sequence[date]) -> pd.DataFrame:
    """Add Pareto/NBD P(alive) and expected visits, and BG/NBD expected visits, per as-of date."""
    sample = con.execute(
        f"""
        SELECT as_of_date, n_days, first_date, last_date FROM (
            SELECT a.as_of_date, p.customer_id,
                   count(DISTINCT p.visit_date) AS n_days,
                   min(p.visit_date) AS first_date, max(p.visit_date) AS last_date,
                   row_number() OVER (PARTITION BY a.as_of_date
                                      ORDER BY hash(p.customer_id), p.customer_id) AS rn
            FROM {pop} p JOIN (SELECT unnest($dates::DATE[]) AS as_of_date) a ON p.visit_date <= a.as_of_date
            GROUP BY a.as_of_date, p.customer_id
        ) WHERE rn <= {BTYD_SAMPLE_SIZE}
    """,
        {"dates": list(dates)},
    ).df()
    sample["as_of_date"] = pd.to_datetime(sample["as_of_date"]).dt.date
    out_cols = ("pnbd_p_alive", "pnbd_expected_visits", "bgnbd_expected_visits")
    for c in out_cols:
        frame[c] = np.nan
    horizon_weeks = CONTEXT_HORIZON_DAYS / 7.0
    for t in dates:
        s = sample[sample["as_of_date"] == t]
        rows = np.flatnonzero((frame["as_of_date"] == t).to_numpy())
        if len(s) < MIN_BTYD_SAMPLE or rows.size == 0:
            if rows.size:
                logger.info("as of %s: %d sampled guests, too few for Pareto/NBD; left NULL", t, len(s))
            continue
        t_day = (np.datetime64(t, "D") - _EPOCH).astype(np.int64)
        fit = fit_btyd(
            BtydData.from_days(
                s["n_days"].to_numpy(),
                _day_numbers(s["first_date"]),
                _day_numbers(s["last_date"]),
                np.full(len(s), t_day),
            )
        )
        sub = frame.iloc[rows]
        d = BtydData.from_days(
            sub["n_days"].to_numpy(),
            _day_numbers(sub["first_date"]),
            _day_numbers(sub["last_date"]),
            np.full(rows.size, t_day),
        )
        with np.errstate(all="ignore"):
            frame.loc[frame.index[rows], "pnbd_p_alive"] = pnbd_p_alive(fit.pnbd, d)
            frame.loc[frame.index[rows], "pnbd_expected_visits"] = pnbd_expected(fit.pnbd, d, horizon_weeks)
            frame.loc[frame.index[rows], "bgnbd_expected_visits"] = bgnbd_expected(
                fit.bgnbd, d, horizon_weeks
            )
    for c in out_cols:
        frame[c] = frame[c].where(np.isfinite(frame[c].astype(float)))
    return frame
