"""How a mall's session rows become text: lookup tables, row slots, dirty rows apart.

The fast path (:class:`c4.generate.render.FastRenderer`) renders every clean row with one
Arrow join; the few rows with dirt are rendered in Python (spoiled or broken) and spliced in
when a file is written (:class:`Rendered`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from c4.generate import params as P
from c4.generate.calendar import Grid, local_offsets, years_ahead
from c4.generate.dirt import MALFORMED, NONE, STUCK_CLOCK_YEARS, DirtPlan, malform, spoil_rows
from c4.generate.guests import Population
from c4.generate.render import (
    FORMATS,
    Digits,
    FastRenderer,
    Lookup,
    Part,
    clock_table,
    decimal_table,
    format_macs,
    line_bounds,
    render_rows,
    string_table,
    subset,
    zero_padded,
)
from c4.generate.sessions import FAILED_CAP, GuestAttrs, MallLayout, mall_layout
from c4.generate.visits import MallVisits
from c4.malls import Mall


def mall_format(mall_key: int) -> str:
    """The export format of a mall's controller vendor (fixed per mall)."""
    return FORMATS[mall_key % 2]


class MallTables:
    """Lookup tables and the renderer of one mall.

    Parameters
    ----------
    mall : Mall
        The mall.
    mall_key : int
        Index of the mall in :data:`c4.malls.MALLS` (chooses the vendor's file format).
    grid : Grid
        The run's day grid (dates, UTC offsets, stuck-clock dates years ahead).
    pop : Population
        The guest population.
    visits : MallVisits
        The mall's visits: its local guests (MAC table) and busiest day (sequence table).
    """

    def __init__(self, mall: Mall, mall_key: int, grid: Grid, pop: Population, visits: MallVisits) -> None:
        self.mall = mall
        self.fmt = mall_format(mall_key)
        self.n_days = grid.n_days
        days = [grid.start + timedelta(days=i) for i in range(grid.n_days)]
        stamped = days + [years_ahead(d, STUCK_CLOCK_YEARS) for d in days]
        compact = [d.strftime("%Y%m%d") for d in stamped]
        self.guests = GuestAttrs(
            os=pop["os"][visits.guests],
            login=pop["login"][visits.guests],
            signal_offset=pop["signal_offset"][visits.guests],
            friction=pop["friction"][visits.guests],
            bytes_rate=pop["bytes_rate"][visits.guests],
        )
        per_day = np.bincount(visits.day, minlength=1).max(initial=0) if visits.n else 0
        seq = zero_padded(int(per_day) * P.MAX_ZONE_SESSIONS + 2)
        layout = mall_layout(mall)
        self.layout: MallLayout = layout
        stamp = string_table([d.isoformat() + "T" for d in stamped])
        offsets = local_offsets(mall, stamped)
        variants = sorted(set(offsets))
        self.offset_variant = np.array([variants.index(o) for o in offsets], dtype=np.int64)
        clock = pa.concat_arrays([_clock_with_offset(o) for o in variants])
        signal_names = [str(v) for v in range(-128, 1)]
        aps = [f"{mall.mall_id}-AP{i + 1:03d}" for i in range(layout.n_aps)]
        zone_of_ap = np.repeat(np.arange(len(mall.zones)), layout.ap_count)
        n_login = len(P.LOGIN_NAMES)
        os_names = string_table([o for o in P.OS_NAMES for _ in P.LOGIN_NAMES])
        login_names = string_table([lg for _ in P.OS_NAMES for lg in P.LOGIN_NAMES])
        self.os_login = self.guests.os.astype(np.int64) * n_login + self.guests.login
        self.fields: dict[str, list[Part]] = {
            "session_id": [
                Lookup(string_table([f"{mall.mall_id}-{c}-" for c in compact]), "di"),
                Lookup(seq, "seq"),
            ],
            "customer_id": [Lookup(format_macs(pop["mac"][visits.guests]), "guest")],
            "mall_id": [mall.mall_id],
            "zone": [Lookup(string_table(mall.zones).take(pa.array(zone_of_ap)), "ap")],
            "ap_id": [Lookup(string_table(aps), "ap")],
            "session_start": [Lookup(stamp, "di"), Lookup(clock, "start")],
            "session_end": [Lookup(stamp, "di"), Lookup(clock, "end")],
            "dwell_minutes": [Lookup(decimal_table(int(P.DWELL_MAX_MIN * 100) + 2), "dwell")],
            "bytes_down": [Digits("bytes_down")],
            "bytes_up": [Digits("bytes_up")],
            "device_os": [Lookup(os_names, "os_login")],
            "login_method": [Lookup(login_names, "os_login")],
            "signal_dbm": [
                Lookup(string_table([v for v in signal_names for _ in range(FAILED_CAP + 1)]), "sigfail")
            ],
            "failed_logins": [
                Lookup(string_table([str(f) for _ in signal_names for f in range(FAILED_CAP + 1)]), "sigfail")
            ],
        }
        self.renderer = FastRenderer(self.fmt, self.fields)
        self.dates = days


@lru_cache(maxsize=8)
def _clock_with_offset(offset: str) -> pa.Array:
    """``HH:MM:SS<offset>`` for every second of a day (shared by the malls of a time zone)."""
    return pc.binary_join_element_wise(clock_table(), offset, "")


def row_slots(s: dict[str, np.ndarray], plan: DirtPlan, tables: MallTables) -> dict[str, np.ndarray]:
    """Lookup indices and numbers of every row (clock skew and stuck clocks applied).

    Parameters
    ----------
    s : dict of numpy.ndarray
        Session columns from :func:`c4.generate.sessions.build_sessions`.
    plan : DirtPlan
        The chunk's dirt.
    tables : MallTables
        The mall's tables.

    Returns
    -------
    dict of numpy.ndarray
        One array per slot used by the renderer's lookups.
    """
    skew = plan.skew_sec[plan.row_day]
    di = s["day"] + tables.n_days * plan.future[plan.row_day]
    clock = tables.offset_variant[di] * 86_400
    return {
        "di": di,
        "seq": s["seq"],
        "guest": s["guest"],
        "ap": s["ap"],
        "start": clock + s["start"] + skew,
        "end": clock + s["end"] + skew,
        "dwell": (s["dwell"] * 100 + 30) // 60,
        "bytes_down": s["bytes_down"],
        "bytes_up": s["bytes_up"],
        "sigfail": (s["signal"] + 128) * (FAILED_CAP + 1) + s["failed"],
        "os_login": tables.os_login[s["guest"]],
    }


@dataclass
class Rendered:
    """A chunk's lines in output order: clean lines in one Arrow array, dirty lines apart."""

    clean: pa.Buffer
    clean_starts: np.ndarray
    dirty_at: np.ndarray
    dirty_text: list[bytes]

    def body(self, a: int, b: int, head: bytes = b"") -> bytes:
        """Text of output lines ``a`` .. ``b - 1`` after ``head`` (one copy)."""
        view = memoryview(self.clean)
        starts = self.clean_starts
        d0, d1 = (int(x) for x in np.searchsorted(self.dirty_at, (a, b)))
        parts: list[bytes | memoryview] = [head]
        pos = a
        for dirt in range(d0, d1):
            at = int(self.dirty_at[dirt])
            parts.append(view[int(starts[pos - dirt]) : int(starts[at - dirt])])
            parts.append(self.dirty_text[dirt])
            pos = at + 1
        parts.append(view[int(starts[pos - d1]) : int(starts[b - d1])])
        return b"".join(parts)


def render_lines(
    tables: MallTables, slots: dict[str, np.ndarray], plan: DirtPlan, line_rows: np.ndarray
) -> Rendered:
    """Render the output lines; rows with dirt are rendered apart (spoiled or broken).

    Parameters
    ----------
    tables : MallTables
        The mall's tables.
    slots : dict of numpy.ndarray
        Row slots from :func:`row_slots`.
    plan : DirtPlan
        The chunk's dirt (kinds and variants per row).
    line_rows : numpy.ndarray
        Row of each output line, in file order (duplicates repeat rows).

    Returns
    -------
    Rendered
    """
    renderer = tables.renderer
    kind = plan.kind[line_rows]
    dirty = kind != NONE
    clean_rows = line_rows[~dirty]
    data, starts = line_bounds(renderer.lines(subset(slots, clean_rows), clean_rows.size))
    at = np.flatnonzero(dirty)
    if not at.size:
        return Rendered(data, starts, at, [])
    rows = line_rows[at]
    values = renderer.values(subset(slots, rows), rows.size)
    broken = np.flatnonzero(kind[at] == MALFORMED)
    intact = render_rows(tables.fmt, [values[i] for i in broken.tolist()])
    text = render_rows(tables.fmt, spoil_rows(values, kind[at], plan.variant[rows]))
    for i, line in zip(broken.tolist(), malform(intact, plan.variant[rows[broken]], tables.fmt), strict=True):
        text[i] = line
    return Rendered(data, starts, at, [t.encode("utf-8") for t in text])
