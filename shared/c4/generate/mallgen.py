"""One mall end to end: visits -> sessions -> dirt -> text -> one file per local day.

Works month by month (memory bounded); every month has its own session and dirt stream,
so the output of a mall is a pure function of (seed, population, mall).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

import numpy as np

from c4.generate.calendar import Grid, MallCalendar
from c4.generate.config import GeneratorConfig, add_months
from c4.generate.dirt import (
    DIRT_STREAM,
    DirtPlan,
    clean_plan,
    plan_dirt,
)
from c4.generate.guests import Population
from c4.generate.render import (
    header,
)
from c4.generate.sessions import (
    SESSION_STREAM,
    build_sessions,
)
from c4.generate.text import MallTables, Rendered, render_lines, row_slots
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
    write = _writer(lake)
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
        write(rel, lines.body(int(a), int(b), head))
        result.files += 1
        result.rows += int(b - a)


def _writer(lake: Lake) -> Callable[[str, bytes], object]:
    """Write a raw file atomically: plain ``os`` calls on a local lake (the storage seam's
    pyarrow calls cost about a millisecond each, thousands of times), the seam on S3."""
    if lake.is_s3:
        return lake.write_bytes
    made: set[str] = set()

    def write(rel: str, data: bytes) -> str:
        target = lake.path(rel)
        parent = os.path.dirname(target)
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        tmp = os.path.join(parent, f".tmp-{os.getpid()}-{uuid.uuid4().hex}")
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
        return rel

    return write


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
    lines = render_lines(tables, row_slots(s, plan, tables), plan, line_rows)
    _write_files(ctx.lake, tables, plan, lines, files, result)
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
    tables = MallTables(mall, ctx.keys[pos], ctx.grid, ctx.pop, visits)
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
