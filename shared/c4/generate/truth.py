"""Ground truth: the latent guest table (``truth/guests.parquet``) and the oracle.

Only the oracle evaluation reads the truth; features and models never do.
"""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from c4.exceptions import C4Error
from c4.generate import params as P
from c4.generate.calendar import Grid, MallCalendar, mall_calendar
from c4.generate.config import add_months
from c4.generate.guests import Population, away_matrix
from c4.generate.world import draw_world
from c4.malls import MALLS_BY_ID
from c4.storage import Lake

TRUTH_PATH = "truth/guests.parquet"
#: Visits and sessions generated per guest (known only once every mall is done).
ACTIVITY_PATH = "truth/guest_activity.parquet"
META_KEY = b"c4_generator"


def _dates(start: date, days: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    values = (np.datetime64(start, "D") + days.astype("timedelta64[D]")).astype("datetime64[D]")
    mask = missing if missing is not None else None
    return pa.array(values, type=pa.date32(), mask=mask)


def _names(names: tuple[str, ...] | list[str], codes: np.ndarray) -> pa.Array:
    """Category names from codes (a code >= len(names) is null), dictionary-encoded."""
    codes = np.asarray(codes, dtype=np.int32)
    return pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes >= len(names)), pa.array(list(names)))


def truth_table(pop: Population, grid: Grid, meta: dict[str, Any]) -> pa.Table:
    """The truth table of a population (without the activity counts, see :func:`write_activity`).

    Parameters
    ----------
    pop : Population
        The latent guests.
    grid : Grid
        The day grid (for converting days to dates).
    meta : dict
        Generator settings stored as Parquet metadata (the oracle needs them).

    Returns
    -------
    pyarrow.Table
    """
    from c4.generate.render import format_macs

    mall_ids = [m.mall_id for m in pop.malls]
    countries = [m.country for m in pop.malls]
    dropout = pop["dropout"].astype(np.int64)
    gone = dropout >= grid.hi
    bad = pop["bad_day"].astype(np.int64)
    cols: dict[str, pa.Array] = {
        "mac": format_macs(pop["mac"]),
        "home_mall": _names(mall_ids, pop["home"]),
        "country": _names(countries, pop["home"]),
        "first_mall": _names(mall_ids, pop["first_mall"]),
        "device_os": _names(P.OS_NAMES, pop["os"]),
        "login_method": _names(P.LOGIN_NAMES, pop["login"]),
        "age_band": _names(P.AGE_NAMES, pop["age"]),
        "gender": _names(P.GENDER_NAMES, pop["gender"]),
        "arrival_date": _dates(grid.start, pop["arrival"]),
        "pre_existing": pa.array(pop["arrival"] < 0),
        "one_timer": pa.array(pop["one_timer"]),
        "dropout_date": _dates(grid.start, np.where(gone, 0, dropout), gone),
        "bad_experience_date": _dates(grid.start, np.where(bad >= grid.hi, 0, bad), bad >= grid.hi),
        "visit_rate": pa.array(pop["rate"]),
        "away_share": pa.array(pop["away"]),
        "first_visit_dropout_p": pa.array(pop["p0"]),
        "dropout_hazard": pa.array(pop["hazard"]),
        "disengage_days": pa.array(pop["disengage_days"].astype(np.int32)),
        "disengage_floor": pa.array(pop["disengage_floor"]),
        "signal_offset_db": pa.array(pop["signal_offset"]),
        "login_friction": pa.array(pop["friction"]),
    }
    table = pa.table(cols)
    return table.replace_schema_metadata({META_KEY: json.dumps(meta, sort_keys=True).encode()})


def write_truth(lake: Lake, table: pa.Table) -> str:
    """Write the truth table (zstd Parquet) to ``truth/guests.parquet``."""
    buf = io.BytesIO()
    strings = [f.name for f in table.schema if pa.types.is_dictionary(f.type) or pa.types.is_string(f.type)]
    pq.write_table(table, buf, compression="zstd", compression_level=1, use_dictionary=strings)
    return lake.write_bytes(TRUTH_PATH, buf.getvalue())


def write_activity(lake: Lake, pop: Population, visits: np.ndarray, sessions: np.ndarray) -> str:
    """Write the visits and sessions generated per guest (guests with at least one visit)."""
    from c4.generate.render import format_macs

    seen = np.flatnonzero(visits)
    table = pa.table(
        {
            "mac": format_macs(pop["mac"][seen]),
            "visits": pa.array(visits[seen].astype(np.int64)),
            "sessions": pa.array(sessions[seen].astype(np.int64)),
        }
    )
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", compression_level=1)
    return lake.write_bytes(ACTIVITY_PATH, buf.getvalue())


def load_truth(lake: Lake) -> pd.DataFrame:
    """Read the truth table (with the activity counts ``visits`` and ``sessions`` joined in);
    generator settings land in ``DataFrame.attrs["c4_generator"]``.

    Parameters
    ----------
    lake : Lake
        The lake the generator wrote.

    Returns
    -------
    pandas.DataFrame
        One row per latent guest.

    Raises
    ------
    C4Error
        If the lake has no truth table.
    """
    if not lake.exists(TRUTH_PATH):
        raise C4Error(f"no truth table at {lake.uri_of(TRUTH_PATH)}: run c4 generate first")
    table = pq.read_table(io.BytesIO(lake.read_bytes(TRUTH_PATH)))
    meta = json.loads((table.schema.metadata or {}).get(META_KEY, b"{}"))
    plain = pa.schema(
        [pa.field(f.name, pa.string()) if pa.types.is_dictionary(f.type) else f for f in table.schema]
    )
    df = table.cast(plain).to_pandas()
    if lake.exists(ACTIVITY_PATH):
        activity = pq.read_table(io.BytesIO(lake.read_bytes(ACTIVITY_PATH))).to_pandas()
        df = df.merge(activity, on="mac", how="left")
        df[["visits", "sessions"]] = df[["visits", "sessions"]].fillna(0).astype("int64")
    df.attrs["c4_generator"] = meta
    return df


def _days(values: pd.Series, start: date) -> tuple[np.ndarray, np.ndarray]:
    ts = pd.to_datetime(values)
    missing = ts.isna().to_numpy()
    days = ((ts - pd.Timestamp(start)).dt.days).fillna(0).to_numpy(dtype=np.int64)
    return days, missing


def _ramp_integral(
    cal: MallCalendar,
    first: np.ndarray,
    last: np.ndarray,
    dropout: np.ndarray,
    span: np.ndarray,
    floor: np.ndarray,
) -> np.ndarray:
    """``sum(visit[d] * ramp(d) for d in first..last)`` per guest (inclusive bounds)."""
    lo = cal.grid.lo
    s0 = cal.visit_cum
    days = np.arange(cal.grid.lo, cal.grid.hi, dtype=float)
    s1 = np.zeros(s0.size)
    np.cumsum(days * cal.visit, out=s1[1:])

    def total(cum: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ok = b >= a
        return np.where(
            ok, cum[np.clip(b + 1 - lo, 0, cum.size - 1)] - cum[np.clip(a - lo, 0, cum.size - 1)], 0.0
        )

    has_ramp = span > 0
    ramp_from = np.where(has_ramp, dropout - span, np.iinfo(np.int64).max // 4)
    flat = total(s0, first, np.minimum(last, ramp_from - 1))
    a, b = np.maximum(first, ramp_from), last
    safe = np.maximum(span, 1)
    slope = (1.0 - floor) / safe
    ramped = (floor + slope * dropout) * total(s0, a, b) - slope * total(s1, a, b)
    return flat + np.where(has_ramp, ramped, 0.0)


def oracle_churn_probability(truth: pd.DataFrame, as_of: date, horizon_days: int) -> pd.Series:
    """The generator's exact probability that a guest makes no visit in ``(as_of, as_of + horizon]``.

    Given the latent truth (arrival, dropout date, visit rate, away share, disengagement
    ramp), a guest's visits to each mall are a Poisson process with intensity
    ``visit_rate * share(mall) * seasonality(mall, day) * ramp(day)`` on the days between the
    first visit and the dropout date, so the probability of no visit in the horizon is
    ``exp(-sum over malls and days of that intensity)``; it is 0 for a guest whose first visit
    falls in the horizon and 1 for a guest already gone or not yet arrived.

    Parameters
    ----------
    truth : pandas.DataFrame
        The truth table from :func:`load_truth` (its ``attrs`` hold the generator settings).
    as_of : datetime.date
        Last day of the observation period.
    horizon_days : int
        Horizon length in days.

    Returns
    -------
    pandas.Series
        Probabilities in [0, 1], indexed by ``mac``.

    Raises
    ------
    C4Error
        If the generator settings are missing from ``truth.attrs``.
    """
    meta = truth.attrs.get("c4_generator")
    if not meta:
        raise C4Error("truth.attrs['c4_generator'] is missing: load the table with load_truth(lake)")
    start = date.fromisoformat(meta["start"])
    n_days = (add_months(start, int(meta["months"])) - start).days
    grid = Grid(start=start, n_days=n_days)
    world = draw_world(int(meta["seed"]), n_days)
    malls = tuple(MALLS_BY_ID[m] for m in meta["malls"])
    cals = [mall_calendar(m, grid, world) for m in malls]
    matrix, _ = away_matrix(malls)
    pos = {m.mall_id: i for i, m in enumerate(malls)}
    home = truth["home_mall"].map(pos).to_numpy(dtype=np.int64)
    arrival, _ = _days(truth["arrival_date"], start)
    dropout, gone_never = _days(truth["dropout_date"], start)
    dropout = np.where(gone_never, grid.hi, np.minimum(dropout, grid.hi))
    t = (as_of - start).days
    end = t + int(horizon_days)
    first = np.maximum(t + 1, arrival + 1)
    last = np.minimum.reduce([np.full(arrival.size, end), dropout - 1, np.full(arrival.size, grid.hi - 1)])
    span = truth["disengage_days"].to_numpy(dtype=np.int64)
    floor = truth["disengage_floor"].to_numpy(dtype=float)
    away = truth["away_share"].to_numpy(dtype=float)
    intensity = np.zeros(arrival.size)
    for m, cal in enumerate(cals):
        share = np.where(home == m, 1.0 - away, away * matrix[home, m])
        if not share.any():
            continue
        intensity += share * _ramp_integral(cal, first, last, dropout, span, floor)
    prob = np.exp(-truth["visit_rate"].to_numpy(dtype=float) * intensity)
    prob = np.where((arrival > t) & (arrival <= end), 0.0, prob)
    prob = np.where(arrival > end, 1.0, prob)
    return pd.Series(np.clip(prob, 0.0, 1.0), index=truth["mac"].to_numpy(), name="p_no_visit")


def window_end(meta: dict[str, Any]) -> date:
    """First day after the generated window."""
    start = date.fromisoformat(meta["start"])
    return add_months(start, int(meta["months"]))
