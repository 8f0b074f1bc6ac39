"""Hour-level UTC offset tables, so the transform SQL needs no engine time-zone functions.

Both SQL engines only join on these small tables and add seconds; the IANA rules (Chile's
daylight saving time included) are applied here, in Python, with :mod:`zoneinfo`.

``tz_utc_hours``   (tz, utc_hour, offset_seconds): the offset in force during a UTC hour.
``tz_local_hours`` (tz, local_hour, offset_seconds): the offset to read a naive local wall-clock
hour with.  An ambiguous hour (clocks going back) resolves to the earlier instant and a
non-existent hour (clocks going forward) to the offset before the change, as Python's
``fold=0`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa

from c4.malls import MALLS

TZ_SCHEMA_UTC = pa.schema(
    [("tz", pa.string()), ("utc_hour", pa.timestamp("us")), ("offset_seconds", pa.int64())]
)
TZ_SCHEMA_LOCAL = pa.schema(
    [("tz", pa.string()), ("local_hour", pa.timestamp("us")), ("offset_seconds", pa.int64())]
)


def mall_dim_table() -> pa.Table:
    """``(mall_id, timezone)`` of every mall of the dimension."""
    return pa.table(
        {"mall_id": [m.mall_id for m in MALLS], "timezone": [m.timezone for m in MALLS]},
        schema=pa.schema([("mall_id", pa.string()), ("timezone", pa.string())]),
    )


def _days_around(days: Iterable[date]) -> list[date]:
    """Every day in ``days`` plus its neighbours (UTC is within +-14 h of local time)."""
    out: set[date] = set()
    for d in days:
        out.update(d + timedelta(days=k) for k in (-1, 0, 1))
    return sorted(out)


def offset_tables(timezones: Iterable[str], days: Iterable[date]) -> tuple[pa.Table, pa.Table]:
    """Build ``tz_utc_hours`` and ``tz_local_hours`` for the given zones and days.

    Parameters
    ----------
    timezones : iterable of str
        IANA zone names.
    days : iterable of datetime.date
        Calendar days present in the data (neighbouring days are added).

    Returns
    -------
    (pyarrow.Table, pyarrow.Table)
        The UTC-hour table and the local-hour table.
    """
    all_days = _days_around(days)
    utc_rows: dict[str, list[Any]] = {"tz": [], "utc_hour": [], "offset_seconds": []}
    local_rows: dict[str, list[Any]] = {"tz": [], "local_hour": [], "offset_seconds": []}
    for name in sorted(set(timezones)):
        for day in all_days:
            base = datetime(day.year, day.month, day.day)
            hours = [base + timedelta(hours=h) for h in range(24)]
            utc_off, local_off = _day_offsets(name, day)
            for rows, offsets, col in (
                (utc_rows, utc_off, "utc_hour"),
                (local_rows, local_off, "local_hour"),
            ):
                rows["tz"].extend([name] * 24)
                rows[col].extend(hours)
                rows["offset_seconds"].extend(offsets)
    return (
        pa.table(utc_rows, schema=TZ_SCHEMA_UTC),
        pa.table(local_rows, schema=TZ_SCHEMA_LOCAL),
    )


@lru_cache(maxsize=100_000)
def _day_offsets(name: str, day: date) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Offsets (seconds) of the 24 UTC hours and the 24 local wall-clock hours of a day."""
    zone = ZoneInfo(name)
    base = datetime(day.year, day.month, day.day)

    def utc(h: int) -> int:
        return _seconds((base + timedelta(hours=h)).replace(tzinfo=UTC).astimezone(zone).utcoffset())

    def local(h: int) -> int:
        return _seconds((base + timedelta(hours=h)).replace(tzinfo=zone, fold=0).utcoffset())

    return _hours(utc), _hours(local)


def _hours(offset_at: Callable[[int], int]) -> tuple[int, ...]:
    """24 hourly offsets; a day whose first and last hours agree has no change in between."""
    first, last = offset_at(0), offset_at(23)
    if first == last:
        return (first,) * 24
    return tuple(offset_at(h) for h in range(24))


def _seconds(delta: timedelta | None) -> int:
    return int(delta.total_seconds()) if delta is not None else 0
