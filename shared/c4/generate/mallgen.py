"""One mall end to end: visits -> sessions -> dirt -> text -> one file per local day.

Works month by month (memory bounded); every month has its own session and dirt stream,
so the output of a mall is a pure function of (seed, population, mall).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from c4.generate import params as P
from c4.generate.calendar import Grid, MallCalendar, local_offsets, next_year
from c4.generate.config import GeneratorConfig, add_months
from c4.generate.dirt import (
    DIRT_STREAM,
    MALFORMED,
    NONE,
    DirtPlan,
    clean_plan,
    malform,
    plan_dirt,
    spoil_rows,
)
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
    header,
    line_bounds,
    render_rows,
    string_table,
    subset,
    zero_padded,
)
from c4.generate.sessions import (
    FAILED_CAP,
    SESSION_STREAM,
    GuestAttrs,
    MallLayout,
    build_sessions,
    mall_layout,
)
from c4.generate.visits import MallVisits, mall_visits
from c4.generate.world import World
from c4.malls import Mall
from c4.storage import Lake

logger = logging.getLogger(__name__)

RAW_SESSIONS = "raw/sessions"


@dataclass
class RunContext:
    """Everything a worker needs, built once per run (read-only)."""

    config: GeneratorConfig
    grid: Grid
    world: World
    pop: Population
    calendars: list[MallCalendar]
    keys: list[int]
    lake: Lake


@dataclass
class MallResult:
    """What one mall produced."""

    mall_id: str
    fmt: str
    files: int = 0
    rows: int = 0
    sessions: int = 0
    visits: int = 0
    dirt: Counter[str] = field(default_factory=Counter)
    late_files: list[str] = field(default_factory=list)
    guest_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    guest_visits: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    guest_sessions: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (per-mall part of ``_generation.json``)."""
        return {
            "mall_id": self.mall_id,
            "format": self.fmt,
            "files": self.files,
            "rows": self.rows,
            "sessions": self.sessions,
            "visits": self.visits,
            "dirt": dict(sorted(self.dirt.items())),
            "late_files": self.late_files,
        }


def mall_format(mall_key: int) -> str:
    """The export format of a mall's controller vendor (fixed per mall)."""
    return FORMATS[mall_key % 2]


def mall_dir(mall: Mall) -> str:
    """Lake-relative folder of a mall's raw files."""
    return f"{RAW_SESSIONS}/mall_id={mall.mall_id}"


def month_chunks(start: date, n_days: int) -> list[tuple[int, int]]:
    """Window days split into calendar months ``[(first, last_exclusive), ...]``."""
    out, k = [], 0
    first = 0
    while first < n_days:
        k += 1
        nxt = min(n_days, (add_months(date(start.year, start.month, 1), k) - start).days)
        out.append((first, nxt))
        first = nxt
    return out


class MallTables:
    """Lookup tables and the renderer of one mall."""

    def __init__(self, ctx: RunContext, pos: int, visits: MallVisits) -> None:
        mall = ctx.pop.malls[pos]
        grid = ctx.grid
        self.mall = mall
        self.fmt = mall_format(ctx.keys[pos])
        self.n_days = grid.n_days
        days = [grid.start + timedelta(days=i) for i in range(grid.n_days)]
        stamped = days + [next_year(d) for d in days]
        compact = [d.strftime("%Y%m%d") for d in stamped]
        pop = ctx.pop
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
        clock = pa.concat_arrays([pc.binary_join_element_wise(clock_table(), o, "") for o in variants])
        signal_names = [str(v) for v in range(-128, 1)]
        aps = [f"{mall.mall_id}-AP{i + 1:03d}" for i in range(layout.n_aps)]
        zone_of_ap = np.repeat(np.arange(len(mall.zones)), layout.ap_count)
        os_names, login_names = string_table(P.OS_NAMES), string_table(P.LOGIN_NAMES)
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
            "device_os": [Lookup(os_names.take(pa.array(self.guests.os)), "guest")],
            "login_method": [Lookup(login_names.take(pa.array(self.guests.login)), "guest")],
            "signal_dbm": [
                Lookup(string_table([v for v in signal_names for _ in range(FAILED_CAP + 1)]), "sigfail")
            ],
            "failed_logins": [
                Lookup(string_table([str(f) for _ in signal_names for f in range(FAILED_CAP + 1)]), "sigfail")
            ],
        }
        self.renderer = FastRenderer(self.fmt, self.fields)
        self.dates = days


def _slots(s: dict[str, np.ndarray], plan: DirtPlan, tables: MallTables) -> dict[str, np.ndarray]:
    """Lookup indices / numbers of every row (clock skew and stuck clocks applied)."""
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


def _render(
    tables: MallTables, slots: dict[str, np.ndarray], plan: DirtPlan, line_rows: np.ndarray
) -> Rendered:
    """Render the output lines; rows with dirt are rendered apart (spoiled or broken)."""
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


def _file_entries(plan: DirtPlan) -> tuple[np.ndarray, np.ndarray]:
    """Rows in output order and the file id of each line (``2*day_i`` original, ``+1`` late)."""
    n = plan.kind.size
    rows = np.arange(n)
    day_first = np.searchsorted(plan.row_day, np.arange(plan.days.size))
    day_count = np.bincount(plan.row_day, minlength=plan.days.size)
    orig = np.flatnonzero(~plan.moved)
    dup = np.flatnonzero(plan.dup)
    late = np.flatnonzero(plan.moved | plan.resent)
    file_id = np.concatenate([2 * plan.row_day[orig], 2 * plan.row_day[dup], 2 * plan.row_day[late] + 1])
    key = np.concatenate(
        [
            rows[orig].astype(float),
            day_first[plan.row_day[dup]] + plan.dup_pos[dup] * day_count[plan.row_day[dup]],
            late.astype(float),
        ]
    )
    line_rows = np.concatenate([orig, dup, late])
    order = np.lexsort((key, file_id))
    return line_rows[order], file_id[order]


def _write_files(
    lake: Lake, tables: MallTables, plan: DirtPlan, lines: Rendered, files: np.ndarray, result: MallResult
) -> None:
    head = header(tables.fmt)
    mid = tables.mall.mall_id
    bounds = np.flatnonzero(np.r_[True, files[1:] != files[:-1], True])
    for a, b in pairwise(bounds.tolist()):
        fid = int(files[a])
        day = tables.dates[0] + timedelta(days=int(plan.days[fid // 2]))
        if fid % 2 == 0:
            folder, name = day, f"{mid}_{day.isoformat()}.{tables.fmt}"
        else:
            k = int(plan.late_k[fid // 2])
            folder, name = day + timedelta(days=k), f"{mid}_{day.isoformat()}_late{k}.{tables.fmt}"
            result.late_files.append(name)
        rel = f"{mall_dir(tables.mall)}/date={folder.isoformat()}/{name}"
        lake.write_bytes(rel, lines.body(int(a), int(b), head))
        result.files += 1
        result.rows += int(b - a)


def _chunk(
    ctx: RunContext,
    pos: int,
    tables: MallTables,
    visits: MallVisits,
    index: int,
    bounds: tuple[int, int],
    result: MallResult,
    guest_sessions: np.ndarray,
) -> None:
    key = ctx.keys[pos]
    seed = ctx.config.seed
    lo, hi = np.searchsorted(visits.day, bounds, side="left")
    if hi <= lo:
        return
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(key, SESSION_STREAM, index)))
    s = build_sessions(
        rng,
        tables.mall,
        tables.layout,
        ctx.calendars[pos],
        tables.guests,
        visits.guest[lo:hi],
        visits.day[lo:hi],
        visits.progress[lo:hi],
        visits.bad[lo:hi],
    )
    n = s["day"].size
    if n == 0:
        return
    guest_sessions += np.bincount(s["guest"], minlength=guest_sessions.size)
    if ctx.config.dirt.enabled:
        drng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(key, DIRT_STREAM, index)))
        plan = plan_dirt(drng, ctx.config.dirt, s["day"])
    else:
        plan = clean_plan(s["day"])
    line_rows, files = _file_entries(plan)
    _write_files(
        ctx.lake, tables, plan, _render(tables, _slots(s, plan, tables), plan, line_rows), files, result
    )
    result.sessions += n
    result.dirt.update(plan.counts())


def run_mall(ctx: RunContext, pos: int) -> MallResult:
    """Generate and write every raw file of the mall at position ``pos``.

    Parameters
    ----------
    ctx : RunContext
        The run.
    pos : int
        Position of the mall among the selected malls.

    Returns
    -------
    MallResult
    """
    mall = ctx.pop.malls[pos]
    ctx.lake.delete(mall_dir(mall))
    visits = mall_visits(ctx.pop, pos, ctx.calendars[pos], ctx.config.seed, ctx.keys[pos])
    tables = MallTables(ctx, pos, visits)
    result = MallResult(mall_id=mall.mall_id, fmt=tables.fmt, visits=visits.n)
    guest_sessions = np.zeros(visits.guests.size, dtype=np.int64)
    for index, bounds in enumerate(month_chunks(ctx.grid.start, ctx.grid.n_days)):
        _chunk(ctx, pos, tables, visits, index, bounds, result, guest_sessions)
    per_guest = np.bincount(visits.guest, minlength=visits.guests.size)
    seen = np.flatnonzero(per_guest)
    result.guest_index = visits.guests[seen]
    result.guest_visits = per_guest[seen]
    result.guest_sessions = guest_sessions[seen]
    ctx.lake.write_json(f"{mall_dir(mall)}/_generation.json", result.as_dict())
    logger.info("mall %s: %d sessions, %d files", mall.mall_id, result.sessions, result.files)
    return result
