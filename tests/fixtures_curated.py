"""Synthetic *curated* sessions (the ``sessions`` table contract), for feature tests and benches.

This is not the product's generator (``c4.generate``): it writes the curated layout directly so
module 2 can be built and tested without the generator and the ELT.  Behaviour follows the
published facts in ``NOTES.md`` closely enough to be learnable:

* each guest has a home mall (weighted by popularity), a weekly visit rate drawn from a gamma
  distribution (NBD heterogeneity) and a dropout probability after each visit drawn from a beta
  distribution (BG/NBD);
* a guest with a weak WiFi signal at the home mall or many failed logins drops out faster, so
  features beyond recency carry some signal;
* each visit has 1-8 zone sessions, lognormal dwell (capped at 90 minutes per session) and an
  arrival hour between 10 and 21; weekends, holidays and paydays are not modelled.

Everything is vectorised with numpy/pyarrow so ~10M sessions take seconds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from c4.malls import MALLS, Mall, malls_table

SCHEMA = pa.schema(
    [
        ("session_id", pa.string()),
        ("customer_id", pa.string()),
        ("mall_id", pa.string()),
        ("zone", pa.string()),
        ("session_start", pa.timestamp("us")),
        ("session_end", pa.timestamp("us")),
        ("local_date", pa.date32()),
        ("local_hour", pa.int32()),
        ("dwell_minutes", pa.float64()),
        ("bytes_down", pa.int64()),
        ("bytes_up", pa.int64()),
        ("device_os", pa.string()),
        ("login_method", pa.string()),
        ("signal_dbm", pa.float64()),
        ("failed_logins", pa.int32()),
        ("visit_id", pa.string()),
        ("source_file", pa.string()),
        ("ingested_at", pa.timestamp("us")),
    ]
)

_UTC_OFFSET_H = {"CL": 3, "PE": 5, "CO": 5}  # local + offset = UTC (DST ignored)
_OS = np.array(["android", "ios", "other"])
_LOGIN = np.array(["captive_portal", "social", "email", "sms"])


@dataclass(frozen=True)
class SyntheticConfig:
    """Knobs of the synthetic curated data.

    Parameters
    ----------
    customers : int
        Number of guests.
    start : datetime.date
        First day of data.
    days : int
        Number of days of data.
    malls : int
        Number of malls (the first ``malls`` of :data:`c4.malls.MALLS`).
    seed : int
        Random seed (the output is deterministic per seed).
    rate_shape, rate_scale : float
        Gamma distribution of the weekly visit rate.
    dropout_a, dropout_b : float
        Beta distribution of the dropout probability after each visit.
    """

    customers: int = 500
    start: dt.date = dt.date(2025, 1, 1)
    days: int = 365
    malls: int = 3
    seed: int = 0
    rate_shape: float = 0.8
    rate_scale: float = 0.6
    dropout_a: float = 0.6
    dropout_b: float = 3.0


def _dict(indices: np.ndarray, values: list[str] | np.ndarray) -> pa.Array:
    """A string array built from integer codes (fast for millions of rows)."""
    return pa.DictionaryArray.from_arrays(pa.array(indices, pa.int32()), pa.array(list(values))).cast(
        pa.string()
    )


def _simulate_visits(cfg: SyntheticConfig, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Visit days per guest: BG/NBD-like process, vectorised over guests."""
    n = cfg.customers
    rate = rng.gamma(cfg.rate_shape, cfg.rate_scale, n) / 7.0 + 0.002  # visits per day
    p_drop = rng.beta(cfg.dropout_a, cfg.dropout_b, n)
    bad_wifi = rng.random(n) < 0.2
    p_drop = np.where(bad_wifi, np.minimum(1.0, p_drop * 1.8 + 0.05), p_drop)
    # Guests join over the whole period (a third already known on day 0).
    join = np.where(rng.random(n) < 0.33, rng.exponential(1.0 / rate), rng.uniform(0, cfg.days, n))
    cust, day = [], []
    t = join.copy()
    alive = np.ones(n, dtype=bool)
    first = True
    while alive.any():
        idx = np.flatnonzero(alive)
        if not first:
            t[idx] += rng.exponential(1.0 / rate[idx])
        first = False
        inside = t[idx] < cfg.days
        alive[idx[~inside]] = False
        idx = idx[inside]
        cust.append(idx)
        day.append(np.floor(t[idx]).astype(np.int64))
        drop = rng.random(idx.size) < p_drop[idx]
        alive[idx[drop]] = False
    c = np.concatenate(cust)
    d = np.concatenate(day)
    return {"cust": c, "day": d, "bad_wifi": bad_wifi}


def make_sessions(cfg: SyntheticConfig | None = None) -> tuple[pa.Table, pa.Table]:
    """Build synthetic curated sessions and the matching malls table.

    Parameters
    ----------
    cfg : SyntheticConfig, optional
        Size, period and seed.

    Returns
    -------
    (pyarrow.Table, pyarrow.Table)
        ``sessions`` (curated schema plus the ``dt`` partition column) and ``malls``.
    """
    cfg = cfg or SyntheticConfig()
    rng = np.random.default_rng(cfg.seed)
    malls: tuple[Mall, ...] = MALLS[: cfg.malls]
    pop = np.array([m.popularity for m in malls])
    home = rng.choice(len(malls), cfg.customers, p=pop / pop.sum())
    os_c = rng.choice(3, cfg.customers, p=[0.6, 0.35, 0.05])
    login_c = rng.choice(4, cfg.customers, p=[0.5, 0.2, 0.2, 0.1])
    sim = _simulate_visits(cfg, rng)
    c, d = sim["cust"], sim["day"]
    nv = c.size
    # 10% of visits at another mall.
    other = rng.random(nv) < 0.1
    vmall = np.where(other, rng.integers(0, len(malls), nv), home[c])
    n_zone_max = np.array([m.n_zones for m in malls])
    n_sess = np.minimum(1 + rng.poisson(3.0, nv), 8)
    signal_mall = np.array([m.wifi_signal_dbm for m in malls])
    bad = sim["bad_wifi"][c]
    # sessions
    sv = np.repeat(np.arange(nv), n_sess)
    ns = sv.size
    k_in_visit = np.arange(ns) - np.repeat(np.cumsum(n_sess) - n_sess, n_sess)
    dwell = np.round(np.minimum(np.exp(rng.normal(np.log(9.0), 1.0, ns)), 90.0), 2)
    excl = np.cumsum(dwell) - dwell  # exclusive running total over all sessions
    first_idx = np.cumsum(n_sess) - n_sess
    offset_min = excl - np.repeat(excl[first_idx], n_sess) + 2.0 * k_in_visit
    # Arrival hour 10-21, early enough for the visit to end before midnight.
    visit_minutes = np.bincount(sv, weights=dwell, minlength=nv) + 2.0 * (n_sess - 1)
    latest = np.floor((23 * 60 - visit_minutes) / 60.0)
    hour = np.clip(np.round(rng.normal(16, 3, nv)), 10, np.maximum(np.minimum(latest, 21), 0)).astype(
        np.int32
    )
    local_date = np.datetime64(cfg.start, "D") + d[sv]
    start_local = (
        local_date.astype("datetime64[us]")
        + hour[sv].astype("timedelta64[h]")
        + (offset_min * 60e6).astype("timedelta64[us]")
    )
    off_h = np.array([_UTC_OFFSET_H[m.country] for m in malls], dtype=np.int64)[vmall[sv]]
    start_utc = start_local + off_h.astype("timedelta64[h]")
    end_utc = start_utc + (dwell * 60e6).astype("timedelta64[us]")
    zone_idx = rng.integers(0, n_zone_max[vmall[sv]])
    signal = np.round(signal_mall[vmall[sv]] + rng.normal(0, 4, ns) - 9.0 * bad[sv], 1)
    failed = rng.poisson(np.where(bad[sv], 0.6, 0.1)).astype(np.int32)
    bdown = (rng.lognormal(np.log(4e6), 1.2, ns)).astype(np.int64)
    bup = (bdown * rng.uniform(0.05, 0.3, ns)).astype(np.int64)
    cust_ids = np.array([f"{(i * 2654435761) % (1 << 32):08x}{i:056x}" for i in range(cfg.customers)])
    mall_ids = np.array([m.mall_id for m in malls])
    day_idx = d[sv]
    dt_dict = pa.array((np.datetime64(cfg.start, "D") + np.arange(cfg.days)).astype(str))
    dt_arr = pa.DictionaryArray.from_arrays(pa.array(day_idx, pa.int32()), dt_dict).cast(pa.string())
    src_arr = pa.DictionaryArray.from_arrays(
        pa.array(day_idx, pa.int32()), pc.binary_join_element_wise("raw/sessions/", dt_dict, "")
    ).cast(pa.string())
    cust_arr = pa.DictionaryArray.from_arrays(pa.array(c[sv], pa.int32()), pa.array(cust_ids)).cast(
        pa.string()
    )
    visit_ids = pc.cast(pa.array(sv), pa.string())
    table = pa.table(
        {
            "session_id": pc.binary_join_element_wise("s", pc.cast(pa.array(np.arange(ns)), pa.string()), ""),
            "customer_id": cust_arr,
            "mall_id": _dict(vmall[sv], mall_ids),
            "zone": _dict(zone_idx, list(MALLS[0].zones)),  # zones are a prefix of the catalogue
            "session_start": pa.array(start_utc, pa.timestamp("us")),
            "session_end": pa.array(end_utc, pa.timestamp("us")),
            "local_date": pa.array(local_date, pa.date32()),
            "local_hour": pa.array(start_local.astype("datetime64[h]").astype(np.int64) % 24, pa.int32()),
            "dwell_minutes": pa.array(dwell),
            "bytes_down": pa.array(bdown),
            "bytes_up": pa.array(bup),
            "device_os": _dict(os_c[c[sv]], _OS),
            "login_method": _dict(login_c[c[sv]], _LOGIN),
            "signal_dbm": pa.array(signal),
            "failed_logins": pa.array(failed),
            "visit_id": pc.binary_join_element_wise("v", visit_ids, ""),
            "source_file": src_arr,
            "ingested_at": pa.array(np.full(ns, np.datetime64("2026-01-01T00:00:00", "us"))),
            "dt": dt_arr,
        }
    )
    table = table.take(pc.sort_indices(table, [("local_date", "ascending")]))
    return table.cast(SCHEMA.append(pa.field("dt", pa.string()))), malls_table(malls)


def write_curated(lake_root: str | Path, sessions: pa.Table, malls: pa.Table | None = None) -> None:
    """Write sessions (and malls) in the curated layout of ``docs/architecture.md``.

    Parameters
    ----------
    lake_root : str or Path
        Local lake folder.
    sessions : pyarrow.Table
        Curated sessions with a ``dt`` column (``YYYY-MM-DD``).
    malls : pyarrow.Table, optional
        The malls dimension, written to ``curated/malls/malls.parquet``.
    """
    root = Path(lake_root)
    ds.write_dataset(
        sessions,
        root / "curated" / "sessions",
        format="parquet",
        partitioning=ds.partitioning(pa.schema([("dt", pa.string())]), flavor="hive"),
        basename_template="part-{i}.parquet",
        existing_data_behavior="delete_matching",
        min_rows_per_group=1 << 17,
        max_rows_per_group=1 << 20,
    )
    if malls is not None:
        (root / "curated" / "malls").mkdir(parents=True, exist_ok=True)
        import pyarrow.parquet as pq

        pq.write_table(malls, root / "curated" / "malls" / "malls.parquet")


def make_lake(lake_root: str | Path, cfg: SyntheticConfig | None = None) -> pa.Table:
    """Create a local lake with synthetic curated sessions and malls; return the sessions."""
    sessions, malls = make_sessions(cfg)
    write_curated(lake_root, sessions, malls)
    return sessions


def tiny_sessions(rows: list[tuple[str, str, str, int]], *, mall_id: str = "CL01") -> pa.Table:
    """Hand-written sessions: ``(customer_id, YYYY-MM-DD, zone, local_hour)`` per row.

    Each row becomes one session of its own visit (10 minutes, fixed WiFi values), so tests can
    reason about exact counts.
    """
    n = len(rows)
    dates = np.array([np.datetime64(r[1], "D") for r in rows], dtype="datetime64[D]")
    hours = np.array([r[3] for r in rows], dtype=np.int64)
    start_local = dates.astype("datetime64[us]") + hours.astype("timedelta64[h]")
    start = start_local + np.timedelta64(3, "h")
    table = pa.table(
        {
            "session_id": [f"s{i}" for i in range(n)],
            "customer_id": [r[0] for r in rows],
            "mall_id": [mall_id] * n,
            "zone": [r[2] for r in rows],
            "session_start": pa.array(start, pa.timestamp("us")),
            "session_end": pa.array(start + np.timedelta64(10, "m"), pa.timestamp("us")),
            "local_date": pa.array(dates, pa.date32()),
            "local_hour": pa.array(hours, pa.int32()),
            "dwell_minutes": [10.0] * n,
            "bytes_down": [1_000_000] * n,
            "bytes_up": [100_000] * n,
            "device_os": ["android"] * n,
            "login_method": ["social"] * n,
            "signal_dbm": [-60.0] * n,
            "failed_logins": pa.array([0] * n, pa.int32()),
            "visit_id": [f"v{i}" for i in range(n)],
            "source_file": ["raw/x.csv"] * n,
            "ingested_at": pa.array(start, pa.timestamp("us")),
            "dt": [r[1] for r in rows],
        }
    )
    return table.cast(SCHEMA.append(pa.field("dt", pa.string())))
