"""Population-level features: the home mall's context and the customer-base model scores.

These need the whole guest base, not just the guests being scored, so they are computed on a
deterministic *population sample*: the guests whose ``hash(customer_id) % 4 == 0`` (a quarter of
the base, the same guests whatever subset is scored, and independent of any data after *T*).

They are measured at the *reference date* ``S(T)``: *T* itself when *T* is a month end (every
training as-of date), else the month end before *T* (:func:`reference_date`).  So the parts
behind a month's scoring are the ones the monthly batch build computed and stored
(:class:`PopulationParts`, ``features/population/``) and scoring need not refit them; they only
read data on or before ``S(T) <= T``.  Below, *T* in the definitions stands for ``S(T)``.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

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


def reference_date(as_of: date) -> date:
    """The population reference date of an as-of date: the month end on or before it.

    Examples
    --------
    >>> reference_date(date(2025, 3, 31)), reference_date(date(2025, 3, 30))
    (datetime.date(2025, 3, 31), datetime.date(2025, 2, 28))
    """
    if (as_of + timedelta(days=1)).day == 1:
        return as_of
    return as_of.replace(day=1) - timedelta(days=1)


_MALL_COLUMNS = ("mall_id", "mall_visits_trend", "mall_base_churn_rate", "home_country", "home_mall_size")


def _plain(value: Any) -> Any:
    """A JSON-safe scalar: NULL and NaN as None, numpy scalars as Python ones."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


@dataclass(frozen=True)
class PopulationParts:
    """The population-level parts of the features at one reference date.

    Attributes
    ----------
    reference_date : datetime.date
        Month end the parts are measured at (data on or before it only).
    malls : tuple of dict
        Per mall: ``mall_id, mall_visits_trend, mall_base_churn_rate, home_country,
        home_mall_size`` (None when undefined).
    pnbd, bgnbd : tuple of float, optional
        Fitted Pareto/NBD ``(r, alpha, s, beta)`` and BG/NBD ``(r, alpha, a, b)`` (weeks); None
        when the population sample was too small to fit.
    sample_size : int
        Sampled guests behind the fits.
    """

    reference_date: date
    malls: tuple[dict[str, Any], ...]
    pnbd: tuple[float, ...] | None
    bgnbd: tuple[float, ...] | None
    sample_size: int

    def to_json(self) -> dict[str, Any]:
        """A JSON document (floats round-trip exactly through Python's ``json``)."""
        return {
            "reference_date": self.reference_date.isoformat(),
            "malls": [dict(m) for m in self.malls],
            "pnbd": list(self.pnbd) if self.pnbd is not None else None,
            "bgnbd": list(self.bgnbd) if self.bgnbd is not None else None,
            "sample_size": self.sample_size,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> PopulationParts:
        """Inverse of :meth:`to_json`."""
        return cls(
            reference_date=date.fromisoformat(doc["reference_date"]),
            malls=tuple({c: m.get(c) for c in _MALL_COLUMNS} for m in doc["malls"]),
            pnbd=tuple(float(v) for v in doc["pnbd"]) if doc.get("pnbd") is not None else None,
            bgnbd=tuple(float(v) for v in doc["bgnbd"]) if doc.get("bgnbd") is not None else None,
            sample_size=int(doc.get("sample_size", 0)),
        )


def _day_number(day: date) -> int:
    return int((np.datetime64(day, "D") - _EPOCH).astype(np.int64))


def _day_numbers(values: pd.Series) -> np.ndarray:
    return (pd.to_datetime(values).to_numpy().astype("datetime64[D]") - _EPOCH).astype(np.int64)


def _btyd_samples(scratch: Scratch, pop: str, refs: str) -> pd.DataFrame:
    """Per reference date, the sampled guests' visit-day count, first and last visit day."""
    sample = scratch.con.execute(f"""
        SELECT as_of_date, n_days, first_date, last_date FROM (
            SELECT a.as_of_date, p.customer_id,
                   count(DISTINCT p.visit_date) AS n_days,
                   min(p.visit_date) AS first_date, max(p.visit_date) AS last_date,
                   row_number() OVER (PARTITION BY a.as_of_date
                                      ORDER BY hash(p.customer_id), p.customer_id) AS rn
            FROM {pop} p JOIN {refs} a ON p.visit_date <= a.as_of_date
            GROUP BY a.as_of_date, p.customer_id
        ) WHERE rn <= {BTYD_SAMPLE_SIZE}
    """).df()
    sample["as_of_date"] = pd.to_datetime(sample["as_of_date"]).dt.date
    return sample


def _fit_at(ref: date, s: pd.DataFrame) -> tuple[tuple[float, ...] | None, tuple[float, ...] | None]:
    if len(s) < MIN_BTYD_SAMPLE:
        logger.info("reference %s: %d sampled guests, too few for Pareto/NBD; left NULL", ref, len(s))
        return None, None
    t_day = _day_number(ref)
    fit = fit_btyd(
        BtydData.from_days(
            s["n_days"].to_numpy(),
            _day_numbers(s["first_date"]),
            _day_numbers(s["last_date"]),
            np.full(len(s), t_day),
        )
    )
    return tuple(float(v) for v in fit.pnbd), tuple(float(v) for v in fit.bgnbd)


def compute_population(
    scratch: Scratch, pop: str, refs: Sequence[date], malls: str | None
) -> dict[date, PopulationParts]:
    """Mall context and Pareto/NBD / BG/NBD fits at each reference date.

    Parameters
    ----------
    scratch : Scratch
        Temp tables of the running feature build.
    pop : str
        Population visit days (:func:`population_visits`).
    refs : sequence of datetime.date
        Reference dates (each uses visits on or before itself only).
    malls : str, optional
        Malls relation for the malls' country and size class.

    Returns
    -------
    dict
        :class:`PopulationParts` by reference date.
    """
    table = scratch.dates("refs", refs)
    ctx = mall_context(scratch, pop, table, malls)
    ctx["as_of_date"] = pd.to_datetime(ctx["as_of_date"]).dt.date
    sample = _btyd_samples(scratch, pop, table)
    out = {}
    for ref in sorted(set(refs)):
        rows = ctx[ctx["as_of_date"] == ref].sort_values("mall_id", kind="mergesort")
        pnbd, bgnbd = _fit_at(ref, sample[sample["as_of_date"] == ref])
        out[ref] = PopulationParts(
            reference_date=ref,
            malls=tuple({c: _plain(r[c]) for c in _MALL_COLUMNS} for r in rows.to_dict(orient="records")),
            pnbd=pnbd,
            bgnbd=bgnbd,
            sample_size=int((sample["as_of_date"] == ref).sum()),
        )
    return out


def mall_context_table(parts: Mapping[date, PopulationParts]) -> pa.Table:
    """The mall context rows of every reference date, for a SQL join on (mall, reference date)."""
    rows = [(ref, m) for ref, p in sorted(parts.items()) for m in p.malls]
    return pa.table(
        {
            "mall_id": pa.array([m["mall_id"] for _, m in rows], pa.string()),
            "reference_date": pa.array([ref for ref, _ in rows], pa.date32()),
            "mall_visits_trend": pa.array([m["mall_visits_trend"] for _, m in rows], pa.float64()),
            "mall_base_churn_rate": pa.array([m["mall_base_churn_rate"] for _, m in rows], pa.float64()),
            "home_country": pa.array([m["home_country"] for _, m in rows], pa.string()),
            "home_mall_size": pa.array([m["home_mall_size"] for _, m in rows], pa.string()),
        }
    )


def apply_btyd(frame: pd.DataFrame, parts: Mapping[date, PopulationParts]) -> pd.DataFrame:
    """Add the customer-base model scores (Pareto/NBD P(alive) and expected visits, BG/NBD).

    Parameters
    ----------
    frame : pandas.DataFrame
        Guest rows with ``as_of_date``, ``n_days``, ``first_date``, ``last_date``.
    parts : mapping
        :class:`PopulationParts` for every reference date of the rows' as-of dates: the models
        fitted at ``S(T)`` score each guest's own history up to *T*.

    Returns
    -------
    pandas.DataFrame
        ``frame`` with ``pnbd_p_alive``, ``pnbd_expected_visits``, ``bgnbd_expected_visits``.
    """
    out_cols = ("pnbd_p_alive", "pnbd_expected_visits", "bgnbd_expected_visits")
    values = {c: np.full(len(frame), np.nan) for c in out_cols}
    as_of = frame["as_of_date"].to_numpy()
    n_days = frame["n_days"].to_numpy()
    first, last = _day_numbers(frame["first_date"]), _day_numbers(frame["last_date"])
    horizon_weeks = CONTEXT_HORIZON_DAYS / 7.0
    for t in sorted(set(as_of)):
        p = parts[reference_date(t)]
        if p.pnbd is None or p.bgnbd is None:
            continue
        rows = np.flatnonzero(as_of == t)
        t_day = _day_number(t)
        d = BtydData.from_days(n_days[rows], first[rows], last[rows], np.full(rows.size, t_day))
        pnbd, bgnbd = np.asarray(p.pnbd), np.asarray(p.bgnbd)
        with np.errstate(all="ignore"):
            alive = pnbd_p_alive(pnbd, d)
            values["pnbd_p_alive"][rows] = alive
            values["pnbd_expected_visits"][rows] = pnbd_expected(pnbd, d, horizon_weeks, p_alive=alive)
            values["bgnbd_expected_visits"][rows] = bgnbd_expected(bgnbd, d, horizon_weeks)
    for c in out_cols:
        v = values[c]
        v[~np.isfinite(v)] = np.nan
        frame[c] = v
    return frame
