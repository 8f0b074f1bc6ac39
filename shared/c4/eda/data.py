"""The numbers behind the EDA report, each computed from the lake (never typed in)."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from c4.features.calendar import holiday_table, payday_sql
from c4.features.labels import gap_sql
from c4.features.source import fetch_row, normalised_sessions_sql, relation_exists
from c4.storage import Lake

logger = logging.getLogger(__name__)

MANIFESTS = "manifests/elt"
#: Days at each end of the data left out of the holiday and payday comparison.
EDGE_DAYS = 14


@dataclass
class Quality:
    """ELT manifest totals (``manifests/elt/*.json``)."""

    files: int = 0
    unreadable: int = 0
    rows_in: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    by_mall: pd.DataFrame = field(default_factory=pd.DataFrame)
    consistent: bool = True


def quality(lake: Lake) -> Quality | None:
    """Sum the ELT manifests; None when there are none."""
    files = lake.list_files(MANIFESTS, suffixes=(".json",))
    if not files:
        return None
    q = Quality()
    reasons: Counter[str] = Counter()
    per_mall: dict[str, list[int]] = {}
    for path in files:
        try:
            m = lake.read_json(path)
        except (ValueError, OSError) as exc:  # a broken manifest is reported, not fatal
            logger.warning("unreadable manifest %s: %s", path, exc)
            continue
        q.files += 1
        q.unreadable += int(m.get("status") == "unreadable")
        rin, acc, rej = (int(m.get(k) or 0) for k in ("rows_in", "rows_accepted", "rows_rejected"))
        q.rows_in += rin
        q.rows_accepted += acc
        q.rows_rejected += rej
        q.consistent &= rin == acc + rej
        reasons.update({str(k): int(v) for k, v in (m.get("rejected_by_reason") or {}).items()})
        row = per_mall.setdefault(str(m.get("mall_id") or "?"), [0, 0, 0])
        row[0] += rin
        row[1] += acc
        row[2] += rej
    q.by_reason = dict(reasons.most_common())
    q.by_mall = pd.DataFrame(
        [(k, *v) for k, v in sorted(per_mall.items())],
        columns=["mall_id", "rows_in", "rows_accepted", "rows_rejected"],
    )
    return q


@dataclass
class Overview:
    """Size of the curated data."""

    sessions: int
    guests: int
    visits: int
    malls: int
    first: date
    last: date
    single_visit_share: float  # guests seen on one day only
    weekend_visit_share: float
    sessions_per_visit: float
    outside_sessions: int = 0  # sessions dated outside [first, last] (skewed clocks)


def _src(con: duckdb.DuckDBPyConnection) -> str:
    return normalised_sessions_sql(con, "sessions")


def _visits_sql(con: duckdb.DuckDBPyConnection) -> str:
    return f"""
        SELECT customer_id, visit_key, local_date, min(mall_id) AS mall_id, min(local_hour) AS hour,
               sum(dwell_min) AS dwell_min, count(*) AS n_sessions
        FROM ({_src(con)}) GROUP BY customer_id, visit_key, local_date
    """


def overview(con: duckdb.DuckDBPyConnection, first: date, last: date) -> Overview:
    """Counts and headline shares within the data's date range (see ``data_date_range``)."""
    inside = f"local_date BETWEEN DATE '{first.isoformat()}' AND DATE '{last.isoformat()}'"
    outside = fetch_row(con, f"SELECT count(*) FROM ({_src(con)}) WHERE NOT ({inside})")[0]
    r = fetch_row(
        con,
        f"""
        WITH v AS (SELECT * FROM ({_visits_sql(con)}) WHERE {inside}),
             g AS (SELECT customer_id, count(DISTINCT local_date) AS days FROM v GROUP BY 1)
        SELECT (SELECT sum(n_sessions) FROM v), (SELECT count(*) FROM g), (SELECT count(*) FROM v),
               (SELECT count(DISTINCT mall_id) FROM v), (SELECT min(local_date) FROM v),
               (SELECT max(local_date) FROM v), (SELECT avg(CAST(days = 1 AS DOUBLE)) FROM g),
               (SELECT avg(CAST(dayofweek(local_date) IN (0, 6) AS DOUBLE)) FROM v),
               (SELECT avg(n_sessions) FROM v)
    """,
    )
    return Overview(
        int(r[0]),
        int(r[1]),
        int(r[2]),
        int(r[3]),
        r[4],
        r[5],
        float(r[6]),
        float(r[7]),
        float(r[8]),
        int(outside),
    )


def daily_visits(con: duckdb.DuckDBPyConnection, first: date, last: date) -> pd.DataFrame:
    """Visits and guests per local date (within the data range) and mall, with the mall's country."""
    join = "LEFT JOIN malls m USING (mall_id)" if relation_exists(con, "malls") else ""
    country = "m.country" if join else "CAST(NULL AS VARCHAR)"
    frame = con.execute(f"""
        SELECT v.local_date, v.mall_id, {country} AS country, count(*) AS visits,
               count(DISTINCT v.customer_id) AS guests
        FROM ({_visits_sql(con)}) v {join}
        WHERE v.mall_id IS NOT NULL
          AND v.local_date BETWEEN DATE '{first.isoformat()}' AND DATE '{last.isoformat()}'
        GROUP BY ALL ORDER BY 1, 2
    """).df()
    frame["local_date"] = pd.to_datetime(frame["local_date"])
    return frame


def weekday_hour(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Visits by weekday (0 = Monday) and arrival hour: a 7 x 24 matrix."""
    frame = con.execute(f"""
        SELECT (dayofweek(local_date) + 6) % 7 AS weekday, hour, count(*) AS visits
        FROM ({_visits_sql(con)}) WHERE hour IS NOT NULL GROUP BY ALL
    """).df()
    grid = np.zeros((7, 24))
    for wd, h, n in frame.itertuples(index=False):
        grid[int(wd), int(h)] = n
    return pd.DataFrame(grid, index=["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], columns=range(24))


def dwell_minutes(con: duckdb.DuckDBPyConnection, sample: int = 200_000) -> np.ndarray:
    """Minutes per visit (a reproducible sample)."""
    frame = con.execute(f"""
        SELECT dwell_min FROM ({_visits_sql(con)}) WHERE dwell_min IS NOT NULL AND dwell_min > 0
        USING SAMPLE reservoir({int(sample)} ROWS) REPEATABLE (42)
    """).df()
    return frame["dwell_min"].to_numpy(dtype=float)


def gap_distribution(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, dict[int, float]]:
    """Counts of inter-visit gaps by length (days) and the main percentiles."""
    sql = gap_sql(con, "sessions")
    counts = con.execute(f"SELECT gap_days, count(*) AS n FROM ({sql}) GROUP BY 1 ORDER BY 1").df()
    qs = (50, 75, 90, 95)
    row = fetch_row(
        con, "SELECT " + ", ".join(f"quantile_cont(gap_days, {q / 100})" for q in qs) + f" FROM ({sql})"
    )
    pct = {q: float(v) for q, v in zip(qs, row, strict=True)} if row and row[0] is not None else {}
    return counts, pct


def holidays_for(first: date, last: date) -> pd.DataFrame:
    """Public holidays of CL, PE and CO in the data's date range."""
    frame = holiday_table(first, last).to_pandas()
    frame["holiday_date"] = pd.to_datetime(frame["holiday_date"])
    return frame


def calendar_effects(con: duckdb.DuckDBPyConnection, daily: pd.DataFrame) -> pd.DataFrame:
    """Daily visits per country with a weekday-and-month adjusted index and day flags.

    ``index`` = the day's visits over the mean of the ordinary (non-holiday) days of the same
    country, weekday and calendar month; 1.0 is a usual day.  The first and last
    :data:`EDGE_DAYS` days are left out (ramp-up and cut-off of the collection).
    """
    if daily.empty or daily["country"].isna().all():
        return pd.DataFrame()
    lo = daily["local_date"].min() + pd.Timedelta(days=EDGE_DAYS)
    hi = daily["local_date"].max() - pd.Timedelta(days=EDGE_DAYS)
    daily = daily[(daily["local_date"] >= lo) & (daily["local_date"] <= hi)]
    if daily.empty:
        return pd.DataFrame()
    by_c = daily.dropna(subset=["country"]).groupby(["country", "local_date"], as_index=False)["visits"].sum()
    first, last = by_c["local_date"].min().date(), by_c["local_date"].max().date()
    hol = holidays_for(first, last)
    keys = set(zip(hol["country"], hol["holiday_date"], strict=True))
    by_c["is_holiday"] = [(c, d) in keys for c, d in zip(by_c["country"], by_c["local_date"], strict=True)]
    flags = con.execute(
        f"SELECT d, {payday_sql('d')} AS p FROM (SELECT unnest($d::DATE[]) AS d)",
        {"d": sorted({x.date() for x in by_c["local_date"]})},
    ).df()
    pay = dict(zip(pd.to_datetime(flags["d"]), flags["p"], strict=True))
    by_c["is_payday"] = by_c["local_date"].map(pay).astype(bool)
    by_c["weekday"] = by_c["local_date"].dt.day_of_week
    by_c["month"] = by_c["local_date"].dt.to_period("M")
    ordinary = by_c[~by_c["is_holiday"]]
    base = ordinary.groupby(["country", "weekday", "month"])["visits"].mean().rename("baseline")
    by_c = by_c.join(base, on=["country", "weekday", "month"])
    by_c["index"] = by_c["visits"] / by_c["baseline"]
    by_c["day"] = by_c["local_date"].dt.day
    return by_c
