"""From sessions to visits: the unit every feature is built on.

One visit = the sessions sharing a ``visit_id`` on one local date (the ELT's visit rule: a
guest's sessions in one mall and local day with gaps <= 30 minutes).  Grouping by local date as
well keeps a visit strictly on one calendar day, so cutting at a date never splits information
across the cut-off.  A *visit day* is a (guest, local date) with at least one visit; gaps are
measured between consecutive visit days.
"""

from __future__ import annotations

from datetime import date

from c4.features.calendar import holiday_table, payday_sql
from c4.features.params import EVENING_HOUR
from c4.features.source import Scratch, fetch_row


def build_visits(
    scratch: Scratch,
    src_sql: str,
    *,
    max_date: date,
    customers: str | None,
    malls: str | None,
    population: str,
) -> tuple[str, str]:
    """Create the visits temp tables (one scan of the sessions, up to ``max_date``).

    Parameters
    ----------
    scratch : Scratch
        Where temp tables go.
    src_sql : str
        Normalised sessions SELECT (:func:`c4.features.source.normalised_sessions_sql`).
    max_date : datetime.date
        Latest local date read (the latest as-of date).
    customers : str, optional
        Temp table with a ``customer_id`` column restricting the output guests.
    malls : str, optional
        Malls relation (``mall_id``, ``country``); None skips the holiday calendar.
    population : str
        SQL condition on ``customer_id`` selecting the population sample (also read when
        ``customers`` is given).

    Returns
    -------
    (str, str)
        Temp tables: the output guests' visits (``customer_id, visit_date, mall_id, start_hour,
        n_sessions, dwell_mmin`` (milli-minutes), ``bytes_total, signal_mdbm_sum`` (milli-dBm),
        ``signal_n, failed_logins, device_os, login_method, zones`` (zone -> sessions),
        ``is_weekend, is_evening, is_holiday, is_payday, country``), and every visit read,
        sample included (same columns before enrichment).

    Notes
    -----
    Quantities are kept as integers (milli-minutes, milli-dBm, bytes) so that every later sum is
    exact: results are then bit-for-bit identical whatever the order DuckDB's parallel
    aggregation adds rows in.
    """
    who = f"AND (customer_id IN (SELECT customer_id FROM {customers}) OR {population})" if customers else ""
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
               min(login_method) AS login_method,
               histogram(zone) FILTER (WHERE zone IS NOT NULL) AS zones
        FROM ({src_sql}) s
        WHERE local_date <= DATE '{max_date.isoformat()}' {who}
        GROUP BY customer_id, visit_key, local_date
        """,
    )
    target = f"WHERE v.customer_id IN (SELECT customer_id FROM {customers})" if customers else ""
    if malls:
        first, last = fetch_row(scratch.con, f"SELECT min(visit_date), max(visit_date) FROM {raw}")
        hol = scratch.arrow("holidays", holiday_table(first or max_date, last or max_date))
        country = "m.country"
        holiday = f"""CASE WHEN m.country IS NULL THEN NULL
                           ELSE EXISTS (SELECT 1 FROM {hol} h
                                        WHERE h.holiday_date = v.visit_date AND h.country = m.country) END"""
        join = f"LEFT JOIN (SELECT DISTINCT mall_id, country FROM {malls}) m ON m.mall_id = v.mall_id"
    else:
        country, holiday, join = "CAST(NULL AS VARCHAR)", "CAST(NULL AS BOOLEAN)", ""
    return scratch.table(
        "visits",
        f"""
        SELECT v.*,
               dayofweek(v.visit_date) IN (0, 6) AS is_weekend,
               CASE WHEN v.start_hour IS NULL THEN NULL ELSE v.start_hour >= {EVENING_HOUR} END AS is_evening,
               {holiday} AS is_holiday,
               {payday_sql("v.visit_date")} AS is_payday,
               {country} AS country
        FROM {raw} v {join} {target}
        """,
    ), raw


def build_days(scratch: Scratch, visits: str) -> str:
    """Visit days with the gap (days) since the guest's previous visit day (NULL for the first).

    The gap of a day depends only on that day and earlier days, so it is point-in-time safe.
    """
    return scratch.table(
        "days",
        f"""
        SELECT customer_id, visit_date,
               visit_date - lag(visit_date) OVER (PARTITION BY customer_id ORDER BY visit_date) AS gap_days
        FROM (SELECT DISTINCT customer_id, visit_date FROM {visits})
        """,
    )


def build_zone_days(scratch: Scratch, visits: str) -> str:
    """Sessions per (guest, visit day, zone), for zone diversity and the favourite zone."""
    return scratch.table(
        "zone_days",
        f"""
        SELECT customer_id, visit_date, zone, sum(n) AS n FROM (
            SELECT customer_id, visit_date, unnest(map_keys(zones)) AS zone, unnest(map_values(zones)) AS n
            FROM {visits} WHERE zones IS NOT NULL
        ) GROUP BY ALL
        """,
    )
