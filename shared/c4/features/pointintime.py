"""Point-in-time guest features: the one feature definition used by training and scoring.

Cut-off: the features of guest *g* at as-of date *T* use only sessions whose ``local_date`` is
on or before *T* (the as-of date is a whole local day; a session on *T* counts).  Nothing after
*T* is read: visits are built from sessions ``<= max(T)`` and every aggregate only sees visits
with ``visit_date <= T``; population-level parts (mall context, Pareto/NBD and BG/NBD fits) are
measured at a reference date on or before *T* (:mod:`c4.features.context`).  Rolling windows of
*N* days are ``(T - N, T]``.

Population: a guest is returned at *T* when they had at least one visit in the look-back window
``(T - 180, T]`` (:data:`~c4.features.params.ACTIVE_WINDOW_DAYS`); when ``customers`` is given,
every one of those guests with any history on or before *T* is returned.

How all as-of dates are computed in one pass: the sorted dates ``T1 < ... < TK`` cut the history
into buckets ``(T[k-1], T[k]]``.  Each guest's visits are aggregated once per bucket into counts,
integer sums, minima, maxima and "latest" keys; the value as of ``T[k]`` is then the running
total over buckets ``1..k`` (a window over the guest's non-empty buckets, joined to the output
(guest, k) rows by bucket interval).  Being exact integer arithmetic, the result does not depend
on how the dates split the history: one date alone (scoring) gives bit-for-bit the same row as
that date within a batch of many.  Only the rolling-window counts join visits to the dates whose
window covers them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from c4.features.context import (
    PopulationParts,
    apply_btyd,
    compute_population,
    mall_context_table,
    population_condition,
    population_visits,
    reference_date,
)
from c4.features.params import ACTIVE_WINDOW_DAYS, COUNT_WINDOWS_DAYS
from c4.features.schema import FEATURE_NAMES, SPECS_BY_NAME
from c4.features.source import Scratch, normalised_sessions_sql, relation_exists
from c4.features.state import (
    STATE_SUMS,
    GuestState,
    Seed,
    capture_state,
    seed_tables,
    source_counts,
    window_days,
)
from c4.features.visits import build_days, build_visits, build_zone_counts

logger = logging.getLogger(__name__)

KEYS = ("customer_id", "as_of_date")

#: Rows per Arrow record batch of the final query.
_BATCH_ROWS = 1 << 17

#: Beyond the last bucket (open end of a running value's interval).
_NO_BUCKET = 2_147_483_647


def _per_bucket_sql(visits: str, days: str, zones: str, seed: Seed | None = None) -> str:
    """Aggregates of each guest's visits, visit days and places per non-empty bucket.

    With a ``seed`` (a stored running state, :mod:`c4.features.state`), its guests' values at
    the state's date form bucket ``k = 0``: their malls and zones count as seen there, and the
    seed's own row is that bucket's aggregate.
    """
    mall_values = f"SELECT gid, k, mall_id AS value FROM {visits} WHERE mall_id IS NOT NULL"
    zone_values = f"SELECT gid, k, value FROM {zones}"
    seeded = ""
    if seed is not None:
        mall_values += f" UNION ALL SELECT gid, 0, value FROM {seed.malls}"
        zone_values += f" UNION ALL SELECT gid, 0, value FROM {seed.zones}"
        seeded = f"UNION ALL BY NAME SELECT gid, 0 AS k, * EXCLUDE (gid) FROM {seed.guests}"
    return f"""
        WITH pv AS (
            SELECT gid, k,
                   count(*) AS n_visits,
                   sum(dwell_mmin) AS dwell_sum, count(dwell_mmin) AS dwell_n,
                   sum(n_sessions) AS sess_sum,
                   count(*) FILTER (WHERE is_weekend) AS weekend_n,
                   count(*) FILTER (WHERE is_evening) AS evening_n, count(is_evening) AS evening_d,
                   sum(start_hour) AS hour_sum, count(start_hour) AS hour_n,
                   count(*) FILTER (WHERE is_holiday) AS holiday_n, count(is_holiday) AS holiday_d,
                   count(*) FILTER (WHERE is_payday) AS payday_n,
                   sum(signal_mdbm_sum) AS signal_sum, sum(signal_n) AS signal_n,
                   sum(failed_logins) AS failed_sum, count(failed_logins) AS failed_n,
                   sum(bytes_total) AS bytes_sum, count(bytes_total) AS bytes_n,
                   max(strftime(visit_date, '%Y-%m-%d') || device_os) AS os_key,
                   max(strftime(visit_date, '%Y-%m-%d') || login_method) AS login_key
            FROM {visits} GROUP BY gid, k
        ),
        pd_ AS (
            SELECT gid, k, count(*) AS n_days,
                   min(visit_date) AS first_date, max(visit_date) AS last_date,
                   count(gap_days) AS n_gaps, sum(gap_days) AS gap_sum,
                   sum(gap_days * gap_days) AS gap_sum_sq,
                   arg_max(gap_days, visit_date) AS gap_last_days
            FROM {days} WHERE k > 0 GROUP BY gid, k
        ),
        new_malls AS (
            SELECT gid, k, count(*) AS new_malls
            FROM (SELECT gid, min(k) AS k FROM ({mall_values}) GROUP BY gid, value)
            GROUP BY gid, k
        ),
        new_zones AS (
            SELECT gid, k, count(*) AS new_zones
            FROM (SELECT gid, min(k) AS k FROM ({zone_values}) GROUP BY gid, value)
            GROUP BY gid, k
        )
        SELECT * FROM pv JOIN pd_ USING (gid, k)
        LEFT JOIN new_malls USING (gid, k) LEFT JOIN new_zones USING (gid, k)
        {seeded}
    """


#: The running sums (one list, shared with the stored state).
_RUNNING_SUMS = STATE_SUMS


def _running_sql(buckets: str, *, one_date: bool = False) -> str:
    """Running totals over each guest's non-empty buckets, valid for buckets ``[k, k_to)``.

    With ``one_date`` (a single as-of date: every bucket is <= 1), the only value needed is
    the total over all buckets, so one group per guest replaces the window (same values).
    The sums are kept as BIGINT (DuckDB sums BIGINT into HUGEINT, twice the memory; a sum
    beyond BIGINT would raise, never wrap).
    """
    if one_date:
        sums = ",\n".join(f"CAST(sum({c}) AS BIGINT) AS {c}" for c in _RUNNING_SUMS)
        return f"""
            SELECT gid, min(k) AS k, {_NO_BUCKET} AS k_to,
                   {sums},
                   min(first_date) AS first_date, max(last_date) AS last_date,
                   arg_max(gap_last_days, k) FILTER (WHERE gap_last_days IS NOT NULL) AS gap_last_days,
                   max(os_key) AS os_key, max(login_key) AS login_key
            FROM {buckets} GROUP BY gid
        """
    sums = ",\n".join(f"CAST(sum({c}) OVER w AS BIGINT) AS {c}" for c in _RUNNING_SUMS)
    return f"""
        SELECT gid, k, coalesce(lead(k) OVER w, {_NO_BUCKET}) AS k_to,
               {sums},
               min(first_date) OVER w AS first_date, max(last_date) OVER w AS last_date,
               last_value(gap_last_days IGNORE NULLS) OVER w AS gap_last_days,
               max(os_key) OVER w AS os_key, max(login_key) OVER w AS login_key
        FROM {buckets}
        WINDOW w AS (PARTITION BY gid ORDER BY k)
    """


def _windows_sql(visits: str, asof: str, seed: Seed | None = None) -> str:
    """Visit counts and the dwell in the rolling windows ``(T - N, T]`` (the active guests).

    With a ``seed``, its visit days (count and dwell of each day before the state's date) are
    counted with the visits.
    """
    if seed is None:
        return _plain_windows_sql(visits, asof)
    source = (
        f"SELECT gid, visit_date, 1 AS n, dwell_mmin AS dwell_sum, "
        f"CAST(dwell_mmin IS NOT NULL AS INTEGER) AS dwell_n FROM {visits} "
        f"UNION ALL SELECT gid, visit_date, n_visits, dwell_sum, dwell_n FROM {seed.days}"
    )
    counts = ",\n".join(
        f"CAST(coalesce(sum(v.n) FILTER (WHERE v.visit_date > a.as_of_date - {n}), 0) AS BIGINT)"
        f" AS visits_{n}d"
        for n in COUNT_WINDOWS_DAYS
    )
    return f"""
        SELECT v.gid, a.k, {counts},
               sum(v.dwell_sum) FILTER (WHERE v.visit_date > a.as_of_date - 90) AS dwell90_sum,
               CAST(coalesce(sum(v.dwell_n) FILTER (WHERE v.visit_date > a.as_of_date - 90), 0) AS BIGINT)
                   AS dwell90_n
        FROM ({source}) v JOIN {asof} a
          ON v.visit_date <= a.as_of_date AND v.visit_date > a.as_of_date - {ACTIVE_WINDOW_DAYS}
        GROUP BY v.gid, a.k
    """


def _plain_windows_sql(visits: str, asof: str) -> str:
    counts = ",\n".join(
        f"count(*) FILTER (WHERE v.visit_date > a.as_of_date - {n}) AS visits_{n}d"
        for n in COUNT_WINDOWS_DAYS
    )
    return f"""
        SELECT v.gid, a.k, {counts},
               sum(v.dwell_mmin) FILTER (WHERE v.visit_date > a.as_of_date - 90) AS dwell90_sum,
               count(v.dwell_mmin) FILTER (WHERE v.visit_date > a.as_of_date - 90) AS dwell90_n
        FROM {visits} v JOIN {asof} a
          ON v.visit_date <= a.as_of_date AND v.visit_date > a.as_of_date - {ACTIVE_WINDOW_DAYS}
        GROUP BY v.gid, a.k
    """


def _keys_sql(running: str, windows: str, asof: str, *, active_only: bool) -> str:
    """Output (guest, k): the active guests, or every guest from their first bucket on."""
    if active_only:
        return f"SELECT gid, k FROM {windows}"
    return f"""SELECT f.gid, a.k FROM (SELECT gid, min(k) AS k0 FROM {running} GROUP BY gid) f
               JOIN {asof} a ON a.k >= f.k0"""


def _at_keys_sql(running: str, keys: str) -> str:
    """The running values in force at each output (guest, k)."""
    return f"""SELECT o.k AS k_out, r.* FROM {keys} o JOIN {running} r
               ON r.gid = o.gid AND o.k >= r.k AND o.k < r.k_to"""


def _mode_sql(per: str, keys: str, *, one_date: bool = False) -> str:
    """Most frequent value per output (guest, k) over the history up to ``T[k]``.

    ``per`` holds ``gid, k, value, n, last`` per non-empty bucket.  Ties go to the value seen
    most recently, then the smallest value; the order is packed into one integer key
    (weight, latest day, inverse value rank) so the big aggregation moves no strings.
    ``total`` is the summed weight of all values.  ``one_date``: a single as-of date, whose
    running weights are plain totals (one group per guest and value instead of a window).
    """
    running = (
        f"""SELECT p.gid, min(p.k) AS k, {_NO_BUCKET} AS k_to, q.idx, sum(p.n) AS n, max(p.last) AS last
            FROM {per} p JOIN ranks q ON q.value = p.value GROUP BY p.gid, q.idx"""
        if one_date
        else f"""SELECT p.gid, p.k, coalesce(lead(p.k) OVER w, {_NO_BUCKET}) AS k_to, q.idx,
                   sum(p.n) OVER w AS n, max(p.last) OVER w AS last
            FROM {per} p JOIN ranks q ON q.value = p.value
            WINDOW w AS (PARTITION BY p.gid, q.idx ORDER BY p.k)"""
    )
    return f"""
        WITH ranks AS (
            SELECT value, CAST(row_number() OVER (ORDER BY value DESC) AS INTEGER) AS idx
            FROM (SELECT DISTINCT value FROM {per})
        ),
        running AS ({running}),
        best AS (
            SELECT o.gid, o.k,
                   arg_max(r.idx, CAST(r.n AS HUGEINT) * 18446744073709551616
                                  + CAST(r.last - DATE '1970-01-01' AS HUGEINT) * 4294967296 + r.idx) AS idx,
                   max(r.n) AS n, sum(r.n) AS total
            FROM {keys} o JOIN running r ON r.gid = o.gid AND o.k >= r.k AND o.k < r.k_to
            GROUP BY o.gid, o.k
        )
        SELECT b.gid, b.k, q.value, b.n, b.total FROM best b JOIN ranks q ON q.idx = b.idx
    """


def _mall_counts_sql(visits: str, seed: Seed | None = None) -> str:
    sql = f"""SELECT gid, k, mall_id AS value, count(*) AS n, max(visit_date) AS last
              FROM {visits} WHERE mall_id IS NOT NULL GROUP BY gid, k, mall_id"""
    return sql if seed is None else f"{sql} UNION ALL SELECT gid, 0, value, n, last FROM {seed.malls}"


#: The final query's columns.  The guest and the as-of date come as their integer keys
#: (``gid``, ``k``): :func:`_result_frame` turns them into shared Python objects.
_FINAL_COLUMNS = """
    r.gid, r.k_out AS k,
    a.as_of_date - r.last_date AS days_since_last_visit,
    a.as_of_date - r.first_date AS tenure_days,
    r.n_visits AS visits_total,
    coalesce(w.visits_7d, 0) AS visits_7d, coalesce(w.visits_30d, 0) AS visits_30d,
    coalesce(w.visits_90d, 0) AS visits_90d, coalesce(w.visits_180d, 0) AS visits_180d,
    r.dwell_sum / nullif(r.dwell_n, 0) / 1000.0 AS dwell_mean_min,
    w.dwell90_sum / nullif(w.dwell90_n, 0) / 1000.0 AS dwell_mean_90d,
    r.sess_sum / r.n_visits AS sessions_per_visit,
    coalesce(r.new_malls, 0) AS n_malls,
    r.weekend_n / r.n_visits AS weekend_share,
    r.evening_n / nullif(r.evening_d, 0) AS evening_share,
    r.hour_sum / nullif(r.hour_n, 0) AS mean_visit_hour,
    r.holiday_n / nullif(r.holiday_d, 0) AS holiday_visit_share,
    r.payday_n / r.n_visits AS payday_visit_share,
    r.signal_sum / nullif(r.signal_n, 0) / 1000.0 AS signal_mean_dbm,
    r.failed_sum / nullif(r.failed_n, 0) AS failed_logins_per_visit,
    r.bytes_sum / nullif(r.bytes_n, 0) / 1e6 AS mb_per_visit,
    substr(r.os_key, 11) AS device_os, substr(r.login_key, 11) AS login_method,
    r.n_days, r.first_date, r.last_date, r.n_gaps, r.gap_sum, r.gap_sum_sq, r.gap_last_days,
    hm.value AS home_mall_id, hm.n / hm.total AS home_mall_share,
    fz.value AS favourite_zone, coalesce(r.new_zones, 0) AS n_zones,
    c.home_country, c.home_mall_size, c.mall_visits_trend, c.mall_base_churn_rate
"""


@dataclass(frozen=True)
class _Capture:
    """Where a batch build keeps the running state: bucket ``k`` ending on ``day``."""

    k: int
    day: date
    sources: Mapping[str, int]


def _guest_frame(
    scratch: Scratch,
    visits: str,
    zones: str,
    guests: str,
    asof: str,
    context: str,
    *,
    active_only: bool,
    seed: Seed | None = None,
    capture: _Capture | None = None,
) -> tuple[pd.DataFrame, GuestState | None]:
    """Every guest-level aggregate per output (guest, as-of date), all dates in one pass.

    ``context`` is the mall context by (``mall_id``, ``reference_date``), joined on the home
    mall.  Rows come ordered by guest, then as-of date.  ``seed``: a stored state to start
    from (bucket 0); ``capture``: the bucket whose running state to return.
    """
    days = build_days(scratch, visits, seed.guests if seed else None)
    buckets = scratch.table("buckets", _per_bucket_sql(visits, days, zones, seed))
    one_date = scratch.con.execute(f"SELECT count(*) FROM {asof}").fetchall()[0][0] == 1
    running = scratch.table("running", _running_sql(buckets, one_date=one_date))
    windows = scratch.table("windows", _windows_sql(visits, asof, seed))
    keys = scratch.table("keys", _keys_sql(running, windows, asof, active_only=active_only))
    malls = scratch.table("mall_counts", _mall_counts_sql(visits, seed))
    if seed is not None:
        zones = scratch.table(
            "zone_all", f"SELECT * FROM {zones} UNION ALL SELECT gid, 0, value, n, last FROM {seed.zones}"
        )
    kept_days = window_days(scratch, visits, capture.day) if capture is not None else None
    scratch.drop(visits, days, buckets)
    state = None
    if capture is not None and kept_days is not None:
        state = capture_state(
            scratch,
            running=running,
            malls=malls,
            zones=zones,
            days=kept_days,
            guests=guests,
            k=capture.k,
            day=capture.day,
            sources=capture.sources,
        )
        scratch.drop(kept_days)
    customer_ids = _by_key(scratch.con, f"SELECT gid, customer_id FROM {guests}")
    as_of_dates = _by_key(scratch.con, f"SELECT k, as_of_date FROM {asof}")
    reader = scratch.con.sql(f"""
        SELECT {_FINAL_COLUMNS}
        FROM ({_at_keys_sql(running, keys)}) r
        JOIN {asof} a ON a.k = r.k_out
        LEFT JOIN {windows} w ON w.gid = r.gid AND w.k = r.k_out
        LEFT JOIN ({_mode_sql(malls, keys, one_date=one_date)}) hm ON hm.gid = r.gid AND hm.k = r.k_out
        LEFT JOIN ({_mode_sql(zones, keys, one_date=one_date)}) fz ON fz.gid = r.gid AND fz.k = r.k_out
        LEFT JOIN {context} c ON c.mall_id = hm.value AND c.reference_date = a.reference_date
    """).to_arrow_reader(_BATCH_ROWS)
    parts = _numpy_batches(reader)
    scratch.drop_all()  # DuckDB's tables go before the parts are joined into columns
    return _result_frame(parts, customer_ids, as_of_dates), state


def _by_key(con: duckdb.DuckDBPyConnection, sql: str) -> np.ndarray:
    """Values of a (dense integer key, value) query as an object array indexed by the key."""
    table = con.sql(sql).to_arrow_table()
    keys = np.asarray(table.column(0).to_numpy(), dtype=np.int64)
    out = np.empty(int(keys.max()) + 1 if len(keys) else 1, dtype=object)
    values = table.column(1)
    out[keys] = _column(values) if pa.types.is_string(values.type) else values.to_pylist()
    return out


def _objects(values: pa.Array) -> np.ndarray:
    """Strings as an object array, each distinct value one shared ``str`` (NULL: None)."""
    encoded = values.dictionary_encode()
    distinct = np.array([*encoded.dictionary.to_pylist(), None], dtype=object)
    index = encoded.indices.fill_null(len(encoded.dictionary)).to_numpy(zero_copy_only=False)
    return distinct[index]


def _column(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A result column as a numpy array of its own (no view on Arrow memory).

    Strings become object arrays of shared ``str`` (None for NULL); integers int64 / int32, or
    float64 with NaN when NULLs occur; HUGEINT (an Arrow decimal) float64, as DuckDB's own
    ``df()`` gives it; dates ``datetime64[s]``.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    typ = values.type
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return _objects(values)
    if pa.types.is_decimal(typ):
        values = values.cast(pa.float64())
    array = np.array(values.to_numpy(zero_copy_only=False), copy=True)
    return array.astype("datetime64[s]") if pa.types.is_date(typ) else array


def _numpy_batches(reader: pa.RecordBatchReader) -> dict[str, list[np.ndarray]]:
    """The columns of a streamed result as numpy parts, one per record batch.

    Each batch is copied out of Arrow as it arrives (:func:`_column`), so Arrow's copy of the
    result never exists whole next to numpy's.
    """
    parts: dict[str, list[np.ndarray]] = {name: [] for name in reader.schema.names}
    for batch in reader:
        for name, values in zip(batch.schema.names, batch.columns, strict=True):
            parts[name].append(_column(values))
        del batch
    for field in reader.schema:  # no rows: one empty part of each column's type
        if not parts[field.name]:
            parts[field.name].append(_column(pa.array([], type=field.type)))
    return parts


def _result_frame(
    parts: dict[str, list[np.ndarray]], customer_ids: np.ndarray, as_of_dates: np.ndarray
) -> pd.DataFrame:
    """The final query's rows as a frame, ordered by guest then as-of date.

    The query yields the keys ``gid`` and ``k`` instead of the guest's id and the as-of date
    (so the 64-character ids never travel through DuckDB's joins) and has no ORDER BY: the
    rows are ordered here by (``gid``, ``k``) (``gid`` follows ``customer_id`` order, see
    :func:`~c4.features.visits.build_visits`) and the keys mapped through ``customer_ids`` and
    ``as_of_dates`` (object arrays indexed by key, so the rows share those objects).  Each
    column is joined from its parts and ordered one at a time (its parts released as it goes).
    """
    gid = np.concatenate(parts.pop("gid")).astype(np.int64, copy=False)
    k = np.concatenate(parts.pop("k")).astype(np.int64, copy=False)
    order = np.lexsort((k, gid))
    columns = {"customer_id": customer_ids[gid[order]], "as_of_date": as_of_dates[k[order]]}
    del gid, k
    for name in list(parts):
        columns[name] = np.concatenate(parts.pop(name))[order]
    # Series of the arrays' own dtypes: pandas would otherwise turn object strings into ``str``.
    return pd.DataFrame({n: _series(v) for n, v in columns.items()}, copy=False)


def _series(values: np.ndarray) -> pd.Series:
    """A Series on an array without copying it (object arrays stay object, not ``str``)."""
    return pd.Series(values, dtype=object if values.dtype == object else None, copy=False)


def _empty_frame() -> pd.DataFrame:
    frame = pd.DataFrame(
        {"customer_id": pd.Series([], dtype=object), "as_of_date": pd.Series([], dtype=object)}
    )
    for name in FEATURE_NAMES:
        frame[name] = pd.Series([], dtype=object if SPECS_BY_NAME[name].kind == "categorical" else float)
    return _finish(frame)


def _finish(frame: pd.DataFrame) -> pd.DataFrame:
    """Column order and dtypes (ints for counts, floats, strings); rows keep their order.

    The output shares every column that already has its dtype with ``frame`` (no copy).
    """
    columns: dict[str, pd.Series] = {}
    for name in (*KEYS, *FEATURE_NAMES):
        col = frame[name] if name in frame.columns else pd.Series(np.nan, index=frame.index)
        spec = SPECS_BY_NAME.get(name)
        if spec is None:
            col = col.astype(object)
            if name == "as_of_date" and len(col) and frame[name].dtype != object:
                col = pd.to_datetime(col).dt.date  # _result_frame gives datetime.date objects already
        elif spec.kind == "categorical":
            col = col.astype(object).where(col.notna(), None)
        elif spec.athena_type in ("int", "bigint"):
            col = col.astype("int64")
        else:
            col = col.astype("float64")
        columns[name] = col
    return pd.DataFrame(columns, copy=False)


def compute_features(
    con: duckdb.DuckDBPyConnection,
    as_of_dates: Sequence[date],
    *,
    customers: Sequence[str] | None = None,
    sessions: str = "sessions",
    malls: str | None = "malls",
    population: Mapping[date, PopulationParts] | None = None,
    state: GuestState | None = None,
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
    population : mapping of datetime.date to PopulationParts, optional
        Population parts already computed (e.g. stored by the last batch build), by reference
        date (:func:`~c4.features.context.reference_date`).  Those missing are computed from
        ``sessions``; when all are given, only the ``customers``' sessions are read.
    state : GuestState, optional
        The guests' running state at a date *S* before every as-of date (scoring; see
        :mod:`c4.features.state`).  Only the sessions after *S* are read and added to it; the
        caller guarantees that the state holds every session on or before *S* of the
        ``customers``, which gives bit for bit the rows computed from the whole history.  Used
        only with ``customers`` and every population part given (else ignored).

    Returns
    -------
    pandas.DataFrame
        One row per (``customer_id``, ``as_of_date``), columns ``customer_id``, ``as_of_date``
        (``datetime.date``) and every name of :data:`c4.features.FEATURE_SPECS`, sorted by
        guest then date.  ``attrs["c4_population"]`` holds the :class:`PopulationParts` used,
        by reference date, and a batch build (no ``customers``) also gives
        ``attrs["c4_state"]``: the :class:`~c4.features.state.GuestState` at the reference
        date of its last as-of date (:func:`~c4.features.write_features` stores both).
    """
    dates = sorted({pd.Timestamp(d).date() for d in as_of_dates})
    if not dates or (customers is not None and len(customers) == 0):
        return _empty_frame()
    if malls is not None and not relation_exists(con, malls):
        logger.info("malls relation %r not found: mall enrichment skipped", malls)
        malls = None
    refs = sorted({reference_date(t) for t in dates})
    parts = {r: p for r, p in (population or {}).items() if r in refs}
    missing = [r for r in refs if r not in parts]
    if state is not None and (customers is None or missing or state.reference_date >= dates[0]):
        logger.info("running state at %s not usable here: whole history read", state.reference_date)
        state = None
    capture = _capture_plan(con, sessions, dates) if customers is None else None
    internal = sorted({*dates, capture.day}) if capture is not None else dates
    src = normalised_sessions_sql(con, sessions)
    if state is not None:
        src = f"SELECT * FROM ({src}) WHERE local_date > DATE '{state.reference_date.isoformat()}'"
    with Scratch(con) as scratch:
        asof = _asof_table(scratch, internal)
        cust = scratch.strings("customers", "customer_id", customers) if customers is not None else None
        visits, read, guests = build_visits(
            scratch,
            src,
            dates=internal,
            customers=cust,
            malls=malls,
            population=population_condition() if missing else None,
        )
        zones = build_zone_counts(scratch, src, guests, dates=internal, customers=cust)
        if missing:
            sample = population_visits(scratch, read)
            parts.update(compute_population(scratch, sample, missing, malls))
            scratch.drop(sample)
        scratch.drop(read)
        context = scratch.arrow("mall_context", mall_context_table(parts))
        seed = seed_tables(scratch, state, guests) if state is not None else None
        if capture is not None:
            capture = _Capture(internal.index(capture.day) + 1, capture.day, capture.sources)
        frame, kept = _guest_frame(
            scratch,
            visits,
            zones,
            guests,
            asof,
            context,
            active_only=customers is None,
            seed=seed,
            capture=capture,
        )
    if len(internal) > len(dates):  # the state's date was only a bucket boundary
        frame = frame[frame["as_of_date"].isin(set(dates))].reset_index(drop=True)
    if frame.empty:
        return _empty_frame()
    out = _finish(apply_btyd(_derive(frame), parts))
    out.attrs["c4_population"] = dict(sorted(parts.items()))
    if kept is not None:
        out.attrs["c4_state"] = kept
    return out


def _capture_plan(con: duckdb.DuckDBPyConnection, sessions: str, dates: Sequence[date]) -> _Capture | None:
    """Where a batch build keeps the running state: the reference date of its last as-of date.

    The sessions read per source file up to that date are counted *before* the build reads
    them, so a file that appears in between is seen as unread by scoring (never the reverse).
    None when the sessions have no ``source_file`` / ``local_date`` columns.
    """
    day = reference_date(dates[-1])
    sources = source_counts(con, sessions, day)
    return None if sources is None else _Capture(0, day, sources)


def _asof_table(scratch: Scratch, dates: Sequence[date]) -> str:
    """As-of dates with their bucket number ``k`` (1..K) and population reference date."""
    table = pa.table(
        {
            "k": pa.array(range(1, len(dates) + 1), pa.int32()),
            "as_of_date": pa.array(dates, pa.date32()),
            "reference_date": pa.array([reference_date(t) for t in dates], pa.date32()),
        }
    )
    return scratch.arrow("asof", table)


def _derive(frame: pd.DataFrame) -> pd.DataFrame:
    """Ratios and trends computed from the aggregates (NULL when undefined)."""
    f = frame
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
