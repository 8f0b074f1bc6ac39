"""From sessions to visits: the unit every feature is built on.

One visit = the sessions sharing a ``visit_id`` on one local date (the ELT's visit rule: a
guest's sessions in one mall and local day with gaps <= 30 minutes).  Grouping by local date as
well keeps a visit strictly on one calendar day, so cutting at a date never splits information
across the cut-off.  A *visit day* is a (guest, local date) with at least one visit; gaps are
measured between consecutive visit days.

Guests get a dense integer id (``gid``, numbered in ``customer_id`` order) once the visits are
built: every later join, window, group and sort works on that integer instead of the
64-character pseudonym.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from c4.features.calendar import holiday_table, payday_sql
from c4.features.params import EVENING_HOUR
from c4.features.source import Scratch, fetch_row


def _who(customers: str | None, population: str | None) -> str:
    """SQL condition (``AND ...``) on the sessions read, for a restricted guest set."""
    if customers is None:
        return ""
    target = f"customer_id IN (SELECT customer_id FROM {customers})"
    return f"AND ({target} OR {population})" if population else f"AND {target}"


def bucket_sql(column: str, dates: Sequence[date]) -> str:
    """SQL: the bucket ``k`` of a date column for sorted as-of dates ``T1 < ... < TK``.

    Bucket ``k`` is ``(T[k-1], T[k]]`` (``k = 1``: everything up to ``T1``); NULL after ``TK``.
    """
    whens = " ".join(f"WHEN {column} <= DATE '{d.isoformat()}' THEN {k}" for k, d in enumerate(dates, 1))
    return f"(CASE {whens} END)"


def build_visits(
    scratch: Scratch,
    src_sql: str,
    *,
    dates: Sequence[date],
    customers: str | None,
    malls: str | None,
    population: str | None,
) -> tuple[str, str, str]:
    """Create the visits temp tables (one scan of the sessions, up to ``max_date``).

    Parameters
    ----------
    scratch : Scratch
        Where temp tables go.
    src_sql : str
        Normalised sessions SELECT (:func:`c4.features.source.normalised_sessions_sql`).
    dates : sequence of datetime.date
        Sorted as-of dates: sessions up to the last one are read, and each visit is tagged
        with its bucket ``k`` (:func:`bucket_sql`).
    customers : str, optional
        Temp table with a ``customer_id`` column restricting the output guests.
    malls : str, optional
        Malls relation (``mall_id``, ``country``); None skips the holiday calendar.
    population : str, optional
        SQL condition on ``customer_id`` selecting the population sample, also read when
        ``customers`` is given; None when the population parts are not needed.

    Returns
    -------
    (str, str, str)
        Temp tables: the output guests' visits (``gid, k, visit_date, mall_id, start_hour,
        n_sessions, dwell_mmin`` (milli-minutes), ``bytes_total, signal_mdbm_sum`` (milli-dBm),
        ``signal_n, failed_logins, device_os, login_method, is_weekend, is_evening,
        is_holiday, is_payday``); every visit read, sample included (``customer_id`` and the
        raw columns); and the guest dictionary (``gid, customer_id``) of the output guests.

    Notes
    -----
    Quantities are kept as integers (milli-minutes, milli-dBm, bytes) so that every later sum is
    exact: results are then bit-for-bit identical whatever the order DuckDB's parallel
    aggregation adds rows in, and however the as-of dates split the history.  The visit key is
    grouped on through its 64-bit hash (within one guest and day).
    """
    raw = scratch.table(
        "visits_raw",
        f"""
        SELECT customer_id, local_date AS visit_date,
               min(mall_id) AS mall_id,
               min(local_hour) AS start_hour,
               count(*) AS n_sessions,
               sum(CAST(round(dwell_min * 1000) AS BIGINT)) AS dwell_mmin,
               sum(bytes_total) AS bytes_total,
               sum(CAST(round(signal_dbm * 1000) AS BIGINT)) AS signal_mdbm_sum,
               count(signal_dbm) AS signal_n,
               sum(failed_logins) AS failed_logins,
               min(device_os) AS device_os,
               min(login_method) AS login_method
        FROM ({src_sql}) s
        WHERE local_date <= DATE '{dates[-1].isoformat()}' {_who(customers, population)}
        GROUP BY customer_id, local_date, hash(visit_key)
        """,
    )
    target = f"WHERE customer_id IN (SELECT customer_id FROM {customers})" if customers else ""
    guests = scratch.table(
        "guests",
        f"""SELECT CAST(row_number() OVER (ORDER BY customer_id) AS INTEGER) AS gid, customer_id
            FROM (SELECT DISTINCT customer_id FROM {raw} {target})""",
    )
    if malls:
        first, last = fetch_row(scratch.con, f"SELECT min(visit_date), max(visit_date) FROM {raw}")
        hol = scratch.arrow("holidays", holiday_table(first or dates[-1], last or dates[-1]))
        holiday = "CASE WHEN m.country IS NULL THEN NULL ELSE h.holiday_date IS NOT NULL END"
        join = f"""LEFT JOIN (SELECT DISTINCT mall_id, country FROM {malls}) m ON m.mall_id = v.mall_id
                   LEFT JOIN (SELECT DISTINCT holiday_date, country FROM {hol}) h
                          ON h.holiday_date = v.visit_date AND h.country = m.country"""
    else:
        holiday, join = "CAST(NULL AS BOOLEAN)", ""
    visits = scratch.table(
        "visits",
        f"""
        SELECT g.gid, {bucket_sql("v.visit_date", dates)} AS k, v.* EXCLUDE (customer_id),
               dayofweek(v.visit_date) IN (0, 6) AS is_weekend,
               CASE WHEN v.start_hour IS NULL THEN NULL ELSE v.start_hour >= {EVENING_HOUR} END AS is_evening,
               {holiday} AS is_holiday,
               {payday_sql("v.visit_date")} AS is_payday
        FROM {raw} v JOIN {guests} g ON g.customer_id = v.customer_id {join}
        """,
    )
    return visits, raw, guests


def build_zone_counts(
    scratch: Scratch, src_sql: str, guests: str, *, dates: Sequence[date], customers: str | None
) -> str:
    """Sessions and latest date per (output guest, bucket, zone): zone diversity and favourite.

    Columns ``gid, k, value`` (the zone), ``n`` (sessions), ``last`` (latest local date).
    """
    return scratch.table(
        "zone_counts",
        f"""
        SELECT g.gid, z.k, z.value, z.n, z.last FROM (
            SELECT customer_id, {bucket_sql("local_date", dates)} AS k, zone AS value,
                   count(*) AS n, max(local_date) AS last
            FROM ({src_sql}) s
            WHERE zone IS NOT NULL AND local_date <= DATE '{dates[-1].isoformat()}' {_who(customers, None)}
            GROUP BY ALL
        ) z JOIN {guests} g ON g.customer_id = z.customer_id
        """,
    )


def build_days(scratch: Scratch, visits: str, seed_guests: str | None = None) -> str:
    """Visit days with the gap (days) since the guest's previous visit day (NULL for the first).

    The gap of a day depends only on that day and earlier days, so it is point-in-time safe.
    ``seed_guests`` (a stored state's guests: ``gid, last_date``) adds each guest's last visit
    day before the visits as a row of bucket ``k = 0``, so the first new day's gap is measured
    from it.
    """
    seed = f" UNION ALL SELECT gid, 0, last_date FROM {seed_guests}" if seed_guests else ""
    return scratch.table(
        "days",
        f"""
        SELECT gid, k, visit_date,
               visit_date - lag(visit_date) OVER (PARTITION BY gid ORDER BY visit_date) AS gap_days
        FROM (SELECT DISTINCT gid, k, visit_date FROM {visits}{seed})
        """,
    )
