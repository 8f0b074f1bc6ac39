"""``generate``: the generator's entry point (population, malls in parallel, truth, summary)."""

from __future__ import annotations

import logging
import multiprocessing as mp
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from c4.generate.calendar import Grid, MallCalendar, mall_calendar
from c4.generate.config import GeneratorConfig, mall_index
from c4.generate.dirt import INFO_COUNTS, REJECT_REASONS
from c4.generate.guests import PopulationPlan, assemble_population, home_block, plan_population
from c4.generate.mallgen import MallResult, RunContext, run_mall
from c4.generate.truth import TRUTH_PATH, truth_table, write_activity, write_truth
from c4.generate.world import draw_world
from c4.storage import Lake

logger = logging.getLogger(__name__)

GENERATION_PATH = "raw/_generation.json"
Progress = Callable[[int, int], None]
T = TypeVar("T")

_STATE: Any = None


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


def _init_worker(state: Any) -> None:
    global _STATE
    _STATE = state


def _call(task: tuple[Callable[[Any, int], Any], int]) -> Any:
    fn, item = task
    return fn(_STATE, item)


def _pool_map(
    fn: Callable[[Any, int], T],
    state: Any,
    items: list[int],
    workers: int,
    progress: Progress | None = None,
    counted: set[int] | None = None,
) -> dict[int, T]:
    """``{item: fn(state, item)}`` over a process pool (forked, so ``state`` is shared, not copied).

    Runs in-process with one worker.  Results do not depend on the number of workers: every
    item draws from its own random stream.  ``progress(done, total)`` counts the items of
    ``counted`` (all items when None).
    """
    tracked = set(items) if counted is None else counted
    total, done = len(tracked), 0

    def finished(item: int) -> None:
        nonlocal done
        if item in tracked:
            done += 1
            if progress:
                progress(done, total)

    out: dict[int, T] = {}
    if workers <= 1 or len(items) <= 1:
        for item in items:
            out[item] = fn(state, item)
            finished(item)
        return out
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    context = mp.get_context(method)
    size = min(workers, len(items))
    with ProcessPoolExecutor(size, mp_context=context, initializer=_init_worker, initargs=(state,)) as pool:
        futures = {pool.submit(_call, (fn, item)): item for item in items}
        for fut in as_completed(futures):
            out[futures[fut]] = fut.result()
            finished(futures[fut])
    return out


TRUTH_TASK = -1


def _phase_two(ctx: RunContext, item: int) -> MallResult | None:
    """One mall, or (``TRUTH_TASK``) the truth table."""
    if item == TRUTH_TASK:
        t0 = time.perf_counter()
        meta = {k: v for k, v in ctx.config.as_dict().items() if k != "only_malls"}
        write_truth(ctx.lake, truth_table(ctx.pop, ctx.grid, meta))
        logger.info("truth table written in %.2fs", time.perf_counter() - t0)
        return None
    return run_mall(ctx, item)


def _guest_task(state: tuple[PopulationPlan, list[MallCalendar]], h: int) -> dict[str, np.ndarray]:
    plan, calendars = state
    return home_block(plan, h, calendars[h])


def _context(lake: Lake, config: GeneratorConfig) -> RunContext:
    """World, calendars and the population (home malls' guests drawn in parallel)."""
    malls = config.selected_malls
    keys = [mall_index(m) for m in malls]
    grid = Grid(start=config.start, n_days=config.n_days)
    world = draw_world(config.seed, config.n_days)
    calendars = [mall_calendar(m, grid, world) for m in malls]
    plan = plan_population(config.seed, config.customers, malls, keys)
    order = sorted(range(len(malls)), key=lambda h: -int(plan.counts[h]))
    blocks = _pool_map(_guest_task, (plan, calendars), order, config.effective_workers)
    pop = assemble_population(plan, [blocks[h] for h in range(len(malls))])
    return RunContext(
        config=config, grid=grid, world=world, pop=pop, calendars=calendars, keys=keys, lake=lake
    )


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
    t1 = time.perf_counter()
    full = config.only_malls is None
    # The truth is written alongside the malls: by a full run, or by the partial run that holds
    # the first selected mall (so a per-mall fan-out writes it exactly once, identical bytes).
    truth = full or config.selected_malls[0].mall_id in set(config.only_malls or ())
    items = ([TRUTH_TASK] if truth else []) + positions
    done = _pool_map(_phase_two, ctx, items, config.effective_workers, progress, counted=set(positions))
    results = [r for r in done.values() if isinstance(r, MallResult)]
    t2 = time.perf_counter()
    logger.info("%d malls generated in %.2fs", len(results), t2 - t1)
    order = [m.mall_id for m in ctx.pop.malls]
    results.sort(key=lambda r: order.index(r.mall_id))
    visits, sessions = _per_guest(ctx.pop.n, results)
    if full:
        write_activity(lake, ctx.pop, visits, sessions)
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
    logger.info(
        "generated %d sessions in %d files in %.1fs", summary.sessions, summary.files, summary.seconds
    )
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
