"""``generate``: the generator's entry point (population, malls in parallel, truth, summary)."""

from __future__ import annotations

import logging
import multiprocessing as mp
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from c4.generate.calendar import Grid, mall_calendar
from c4.generate.config import GeneratorConfig, mall_index
from c4.generate.dirt import INFO_COUNTS, REJECT_REASONS
from c4.generate.guests import build_population
from c4.generate.mallgen import MallResult, RunContext, run_mall
from c4.generate.truth import TRUTH_PATH, truth_table, write_truth
from c4.generate.world import draw_world
from c4.storage import Lake

logger = logging.getLogger(__name__)

GENERATION_PATH = "raw/_generation.json"
Progress = Callable[[int, int], None]

_CONTEXT: RunContext | None = None


@dataclass(frozen=True)
class GenerationSummary:
    """What a generator run wrote.

    Attributes
    ----------
    lake : str
        Lake URI.
    malls : list of str
        Malls whose raw files were written.
    files : int
        Raw files written (late files included).
    rows : int
        Data lines written (headers excluded; duplicates and broken lines included).
    sessions : int
        Distinct sessions generated (before dirt).
    visits : int
        Visits generated.
    guests : int
        Guests in the latent population (truth table rows).
    guests_seen : int
        Guests with at least one visit in the window.
    expected_rejects : dict
        Rows the ELT must reject, by reason code (see :data:`c4.generate.dirt.REJECT_REASONS`).
    dirt : dict
        Every dirt count: the reject reasons plus informational counts (late files, skew...).
    seconds : float
        Wall time.
    per_mall : dict
        Per-mall details (format, files, rows, sessions, dirt).
    """

    lake: str
    malls: list[str]
    files: int
    rows: int
    sessions: int
    visits: int
    guests: int
    guests_seen: int
    expected_rejects: dict[str, int]
    dirt: dict[str, int]
    seconds: float
    per_mall: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def expected_accepted(self) -> int:
        """Rows the ELT should accept (``rows - sum(expected_rejects)``)."""
        return self.rows - sum(self.expected_rejects.values())


def _init_worker(ctx: RunContext) -> None:
    global _CONTEXT
    _CONTEXT = ctx


def _mall_task(pos: int) -> MallResult:
    assert _CONTEXT is not None, "worker not initialised"
    return run_mall(_CONTEXT, pos)


def _context(lake: Lake, config: GeneratorConfig) -> RunContext:
    malls = config.selected_malls
    keys = [mall_index(m) for m in malls]
    grid = Grid(start=config.start, n_days=config.n_days)
    world = draw_world(config.seed, config.n_days)
    calendars = [mall_calendar(m, grid, world) for m in malls]
    pop = build_population(config.seed, config.customers, malls, keys, calendars)
    return RunContext(config=config, grid=grid, world=world, pop=pop, calendars=calendars, keys=keys, lake=lake)


def _run_all(ctx: RunContext, positions: list[int], workers: int, progress: Progress | None) -> list[MallResult]:
    total = len(positions)
    results: list[MallResult] = []
    if workers <= 1 or total <= 1:
        for done, pos in enumerate(positions, start=1):
            results.append(run_mall(ctx, pos))
            if progress:
                progress(done, total)
        return results
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(max_workers=min(workers, total), mp_context=mp.get_context(method),
                             initializer=_init_worker, initargs=(ctx,)) as pool:
        futures = [pool.submit(_mall_task, pos) for pos in positions]
        for done, fut in enumerate(as_completed(futures), start=1):
            results.append(fut.result())
            if progress:
                progress(done, total)
    return results


def _per_guest(n: int, results: list[MallResult]) -> tuple[np.ndarray, np.ndarray]:
    visits = np.zeros(n, dtype=np.int64)
    sessions = np.zeros(n, dtype=np.int64)
    for r in results:
        np.add.at(visits, r.guest_index, r.guest_visits)
        np.add.at(sessions, r.guest_index, r.guest_sessions)
    return visits, sessions


def generate(lake: Lake, config: GeneratorConfig, *, progress: Progress | None = None) -> GenerationSummary:
    """Generate synthetic WiFi session exports into ``lake``.

    Writes one raw file per mall and local day (``raw/sessions/mall_id=<M>/date=<D>/``),
    late files, ``raw/_generation.json`` (settings, world scenario, dirt counts) and the
    ground truth ``truth/guests.parquet``.  A mall's previous raw files are replaced.

    Parameters
    ----------
    lake : Lake
        Destination lake.
    config : GeneratorConfig
        What to generate.
    progress : callable, optional
        Called as ``progress(malls_done, malls_total)`` after each mall.

    Returns
    -------
    GenerationSummary
    """
    t0 = time.perf_counter()
    ctx = _context(lake, config)
    logger.info("population of %d guests built in %.2fs", ctx.pop.n, time.perf_counter() - t0)
    written = {m.mall_id for m in config.written_malls}
    positions = [i for i, m in enumerate(ctx.pop.malls) if m.mall_id in written]
    positions.sort(key=lambda i: -ctx.pop.malls[i].popularity)
    results = _run_all(ctx, positions, config.effective_workers, progress)
    order = [m.mall_id for m in ctx.pop.malls]
    results.sort(key=lambda r: order.index(r.mall_id))
    visits, sessions = _per_guest(ctx.pop.n, results)
    meta = config.as_dict()
    if config.only_malls is None:
        write_truth(lake, truth_table(ctx.pop, ctx.grid, visits, sessions, meta))
    dirt: Counter[str] = Counter({k: 0 for k in (*REJECT_REASONS, *INFO_COUNTS)})
    for r in results:
        dirt.update(r.dirt)
    rejects = {k: int(dirt[k]) for k in REJECT_REASONS}
    summary = GenerationSummary(
        lake=lake.uri,
        malls=[r.mall_id for r in results],
        files=sum(r.files for r in results),
        rows=sum(r.rows for r in results),
        sessions=sum(r.sessions for r in results),
        visits=sum(r.visits for r in results),
        guests=ctx.pop.n,
        guests_seen=int((visits > 0).sum()),
        expected_rejects=rejects,
        dirt={k: int(v) for k, v in dirt.items()},
        seconds=time.perf_counter() - t0,
        per_mall={r.mall_id: r.as_dict() for r in results},
    )
    if config.only_malls is None:
        lake.write_json(GENERATION_PATH, _manifest(ctx, summary))
    logger.info("generated %d sessions in %d files in %.1fs", summary.sessions, summary.files, summary.seconds)
    return summary


def _manifest(ctx: RunContext, summary: GenerationSummary) -> dict[str, Any]:
    """Content of ``raw/_generation.json`` (deterministic: no timings)."""
    world = ctx.world
    return {
        "generator": "c4.generate",
        "config": ctx.config.as_dict(),
        "world": world.as_dict(ctx.config.start),
        "window": {"start": ctx.config.start.isoformat(), "end_exclusive": ctx.config.end.isoformat()},
        "totals": {
            "files": summary.files,
            "rows": summary.rows,
            "sessions": summary.sessions,
            "visits": summary.visits,
            "guests": summary.guests,
            "guests_seen": summary.guests_seen,
            "expected_accepted": summary.expected_accepted,
        },
        "expected_rejects": summary.expected_rejects,
        "dirt": summary.dirt,
        "malls": summary.per_mall,
        "truth": TRUTH_PATH,
    }
