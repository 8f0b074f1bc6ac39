"""Every guest's running feature state at a month end: what scoring starts from.

The batch build cuts each guest's history into buckets and keeps running totals
(:mod:`c4.features.pointintime`).  At the build's last reference date *S* (the month end on or
before its last as-of date) it also keeps those running values, so that features at a later
*T* need only the sessions of ``(S, T]``: scoring adds them to the state with the same bucket
arithmetic, which gives bit for bit the batch rows.

Stored per state (``features/state/reference_date=S/``):

* ``guests.parquet``: per guest with history on or before *S*, the running sums, first and
  last visit day, last gap and latest device / login keys at *S* (``gid`` numbers the rows);
* ``malls.parquet`` / ``zones.parquet``: per (``gid``, value) the running weight ``n`` (visits
  per mall, sessions per zone) and the latest day ``last``, for the home mall / favourite zone;
* ``days.parquet``: per (``gid``, visit day) of ``(S - 180, S]`` the visits and their dwell, for
  the rolling windows;
* ``state.json``: the reference date and, per ``source_file``, how many sessions on or before *S*
  the build read (counted before the build's scan), so scoring can tell whether the curated
  history still holds exactly what the state was built from (:func:`stale_sources`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from c4.features.params import ACTIVE_WINDOW_DAYS
from c4.features.source import Scratch, relation_columns
from c4.storage import Lake

logger = logging.getLogger(__name__)

#: Lake folder of the stored states.
STATE_LOCATION = "features/state"
#: Layout version of a stored state (a state of another version is not used).
STATE_VERSION = 1

#: Running sums of a guest state (all integers).
STATE_SUMS = (
    "n_visits", "dwell_sum", "dwell_n", "sess_sum", "weekend_n", "evening_n", "evening_d",
    "hour_sum", "hour_n", "holiday_n", "holiday_d", "payday_n", "signal_sum", "signal_n",
    "failed_sum", "failed_n", "bytes_sum", "bytes_n", "n_days", "n_gaps", "gap_sum",
    "gap_sum_sq", "new_malls", "new_zones",
)  # fmt: skip
#: The other running values of a guest state.
STATE_VALUES = ("first_date", "last_date", "gap_last_days", "os_key", "login_key")

_PARTS = ("guests", "malls", "zones", "days")


@dataclass(frozen=True)
class Seed:
    """Temp tables of a state, keyed by the running build's ``gid`` (bucket ``k = 0``)."""

    guests: str
    malls: str
    zones: str
    days: str


@dataclass(frozen=True)
class GuestState:
    """The guests' running feature state at one reference date.

    Attributes
    ----------
    reference_date : datetime.date
        The state holds every session on or before this date (a month end).
    guests, malls, zones, days : pyarrow.Table
        The state's tables (see the module docstring), keyed by ``gid``.
    sources : dict
        ``source_file`` -> sessions on or before ``reference_date`` the build read.
    """

    reference_date: date
    guests: pa.Table
    malls: pa.Table
    zones: pa.Table
    days: pa.Table
    sources: dict[str, int] = field(default_factory=dict)

    def __deepcopy__(self, memo: dict[int, Any]) -> GuestState:
        # Immutable: pandas deep-copies a frame's attrs on every operation; share, never copy.
        return self

    @property
    def size(self) -> int:
        """Guests in the state."""
        return int(self.guests.num_rows)

    def for_guests(self, customers: Sequence[str]) -> GuestState:
        """The state of these guests only (those without a state are left out)."""
        index = self._index
        rows = np.array(sorted(i for i in map(index.get, customers) if i is not None), dtype=np.int64)
        guests = self.guests.take(rows)
        gids = np.asarray(guests.column("gid").to_numpy(), dtype=np.int64)
        return GuestState(
            self.reference_date,
            guests,
            self._rows_of("malls", gids),
            self._rows_of("zones", gids),
            self._rows_of("days", gids),
            self.sources,
        )

    @cached_property
    def _index(self) -> dict[str, int]:
        """Row of each guest in :attr:`guests` (built once per state)."""
        return {c: i for i, c in enumerate(self.guests.column("customer_id").to_pylist())}

    @cached_property
    def _gid_columns(self) -> dict[str, np.ndarray]:
        """The ``gid`` column of each per-guest table as a sorted array (built once per state)."""
        out = {}
        for part in ("malls", "zones", "days"):
            gids = np.asarray(getattr(self, part).column("gid").to_numpy(), dtype=np.int64)
            if len(gids) > 1 and bool((np.diff(gids) < 0).any()):
                raise ValueError(f"state {part} table is not ordered by gid")
            out[part] = gids
        return out

    def _rows_of(self, part: str, gids: np.ndarray) -> pa.Table:
        """Rows of a ``gid``-ordered table whose ``gid`` is in ``gids`` (sorted)."""
        table: pa.Table = getattr(self, part)
        column = self._gid_columns[part]
        starts = np.searchsorted(column, gids, side="left")
        stops = np.searchsorted(column, gids, side="right")
        sizes = stops - starts
        if not sizes.sum():
            return table.slice(0, 0)
        offsets = np.repeat(starts - np.cumsum(sizes) + sizes, sizes)
        return table.take(offsets + np.arange(int(sizes.sum())))

    def to_json(self) -> dict[str, Any]:
        """The state's document (``state.json``)."""
        return {
            "version": STATE_VERSION,
            "reference_date": self.reference_date.isoformat(),
            "guests": self.size,
            "sources": dict(sorted(self.sources.items())),
        }


def source_counts(con: Any, sessions: str, until: date) -> dict[str, int] | None:
    """Sessions on or before ``until`` per ``source_file`` (None without those columns)."""
    cols = relation_columns(con, sessions)
    if "source_file" not in cols or "local_date" not in cols:
        return None
    rows = con.execute(
        f"""SELECT CAST(source_file AS VARCHAR), count(*) FROM {sessions}
            WHERE CAST(local_date AS DATE) <= DATE '{until.isoformat()}' GROUP BY ALL"""
    ).fetchall()
    return {str(src): int(n) for src, n in rows}


def window_days(scratch: Scratch, visits: str, day: date) -> str:
    """Temp table: per (guest, visit day) of ``(day - 180, day]``, the visits and their dwell."""
    start = day - timedelta(days=ACTIVE_WINDOW_DAYS)
    return scratch.table(
        "state_window_days",
        f"""SELECT gid, visit_date, count(*) AS n_visits, CAST(sum(dwell_mmin) AS BIGINT) AS dwell_sum,
                   count(dwell_mmin) AS dwell_n
            FROM {visits}
            WHERE visit_date > DATE '{start.isoformat()}' AND visit_date <= DATE '{day.isoformat()}'
            GROUP BY gid, visit_date""",
    )


def capture_state(
    scratch: Scratch,
    *,
    running: str,
    malls: str,
    zones: str,
    days: str,
    guests: str,
    k: int,
    day: date,
    sources: Mapping[str, int],
) -> GuestState:
    """The running values in force at bucket ``k`` (as of ``day``) of a batch build.

    Parameters
    ----------
    scratch : Scratch
        The running build's temp tables.
    running, malls, zones, days, guests : str
        Its running totals, (guest, bucket, mall) and (guest, bucket, zone) weights, the visit
        days of the rolling windows (:func:`window_days`) and the guest dictionary.
    k : int
        The bucket ending on ``day``.
    day : datetime.date
        The state's reference date.
    sources : mapping
        Sessions read per source file up to ``day`` (:func:`source_counts`).

    Returns
    -------
    GuestState
    """
    sums = ", ".join(f"CAST(r.{c} AS BIGINT) AS {c}" for c in STATE_SUMS)
    values = ", ".join(f"r.{c}" for c in STATE_VALUES)
    con = scratch.con
    state_guests = con.sql(f"""
        SELECT r.gid, g.customer_id, {sums}, {values}
        FROM {running} r JOIN {guests} g ON g.gid = r.gid
        WHERE r.k <= {k} AND {k} < r.k_to ORDER BY r.gid""").to_arrow_table()

    def weights(table: str) -> pa.Table:
        return con.sql(f"""
            SELECT gid, value, CAST(sum(n) AS BIGINT) AS n, max(last) AS last
            FROM {table} WHERE k <= {k} GROUP BY gid, value ORDER BY gid, value""").to_arrow_table()

    window = con.sql(f"SELECT * FROM {days} ORDER BY gid, visit_date").to_arrow_table()
    return GuestState(day, state_guests, weights(malls), weights(zones), window, dict(sources))


def seed_tables(scratch: Scratch, state: GuestState, guests: str) -> Seed:
    """The state's tables as temp tables keyed by the running build's ``gid`` (via ``customer_id``)."""
    names = {part: scratch.view(f"state_{part}", getattr(state, part)) for part in _PARTS}
    mapping = scratch.table(
        "state_gid",
        f"""SELECT s.gid AS sgid, g.gid FROM {names["guests"]} s JOIN {guests} g USING (customer_id)""",
    )

    def keyed(part: str, columns: str) -> str:
        return scratch.table(
            f"seed_{part}",
            f"SELECT m.gid, {columns} FROM {names[part]} t JOIN {mapping} m ON m.sgid = t.gid",
        )

    return Seed(
        guests=keyed("guests", "t.* EXCLUDE (gid, customer_id)"),
        malls=keyed("malls", "t.value, t.n, t.last"),
        zones=keyed("zones", "t.value, t.n, t.last"),
        days=keyed("days", "t.visit_date, t.n_visits, t.dwell_sum, t.dwell_n"),
    )


# -- the lake -------------------------------------------------------------------------------------
def state_folder(reference: date) -> str:
    """Lake-relative folder of the state at a reference date."""
    return f"{STATE_LOCATION}/reference_date={reference.isoformat()}"


def write_state(lake: Lake, state: GuestState) -> list[str]:
    """Store a state (replacing the one of the same date); ``state.json`` is written last.

    Returns
    -------
    list of str
        Lake-relative paths written.
    """
    folder = state_folder(state.reference_date)
    lake.delete(folder)
    written = [lake.write_parquet(f"{folder}/{part}.parquet", getattr(state, part)) for part in _PARTS]
    written.append(lake.write_json(f"{folder}/state.json", state.to_json()))
    logger.info("wrote the running state of %d guests at %s", state.size, state.reference_date)
    return written


def state_dates(lake: Lake) -> list[date]:
    """Reference dates of the states stored in the lake (ascending)."""
    out = set()
    for rel in lake.list_files(STATE_LOCATION, suffixes=("state.json",)):
        part = rel.split("reference_date=")[-1][:10]
        try:
            out.add(date.fromisoformat(part))
        except ValueError:
            continue
    return sorted(out)


def read_state_document(lake: Lake, reference: date) -> dict[str, Any] | None:
    """A state's ``state.json`` (None when absent or of another layout version)."""
    doc = lake.read_json_if_exists(f"{state_folder(reference)}/state.json")
    return dict(doc) if doc is not None and doc.get("version") == STATE_VERSION else None


def read_state(lake: Lake, reference: date) -> GuestState | None:
    """The stored state at a reference date, or None."""
    doc = read_state_document(lake, reference)
    if doc is None:
        return None
    folder = state_folder(reference)
    tables = {  # one chunk per column: scoring takes a few guests' rows of it on every call
        part: pq.read_table(lake.path(f"{folder}/{part}.parquet"), filesystem=lake.fs).combine_chunks()
        for part in _PARTS
    }
    return GuestState(
        reference_date=reference, sources={str(k): int(v) for k, v in doc["sources"].items()}, **tables
    )


def stale_sources(state: GuestState, current: Mapping[str, int]) -> tuple[bool, set[str]]:
    """Compare a state's source counts with the history's now.

    Parameters
    ----------
    state : GuestState
    current : mapping
        ``source_file`` -> sessions on or before the state's date in the history now.

    Returns
    -------
    (bool, set of str)
        Whether the state is still usable (every file it read holds the same sessions up to its
        date), and the files with sessions up to its date that it never read (their guests'
        states are incomplete).
    """
    usable = all(current.get(src) == n for src, n in state.sources.items())
    return usable, {src for src in current if src not in state.sources}
