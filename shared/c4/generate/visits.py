"""Visits of one mall: every guest's visit process, thinned to this mall (Poisson splitting).

A guest's visits form an inhomogeneous Poisson process with intensity
``rate * share(mall) * seasonality(mall, day) * ramp(day)`` between the first visit and the
dropout day, where ``share`` is ``1 - away`` at home and ``away * matrix[home, mall]``
elsewhere.  Splitting a Poisson process by mall gives independent per-mall processes, so each
mall draws its own visits (home guests and visitors from other malls) from its own stream:
a mall's output depends only on the seed, the population and the mall.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from c4.generate.calendar import MallCalendar
from c4.generate.guests import Population

#: Stream key of the visit process under a mall's index.
VISIT_STREAM = 1


@dataclass
class MallVisits:
    """Visits to one mall, sorted by (day, guest).

    Attributes
    ----------
    guests : numpy.ndarray
        Global index of every guest who may visit the mall ("local" guests).
    guest : numpy.ndarray
        Local guest index of each visit.
    day : numpy.ndarray
        Window day of each visit.
    progress : numpy.ndarray
        Disengagement progress (1 = normal, towards 0 just before dropout).
    bad : numpy.ndarray
        The guest's bad-experience episode is under way.
    """

    guests: np.ndarray
    guest: np.ndarray
    day: np.ndarray
    progress: np.ndarray
    bad: np.ndarray

    @property
    def n(self) -> int:
        """Number of visits."""
        return int(self.day.size)


def visit_share(pop: Population, mall_pos: int) -> np.ndarray:
    """Share of each guest's visits made in the mall at position ``mall_pos``."""
    home = pop["home"].astype(np.int64)
    away = pop["away"]
    return np.where(home == mall_pos, 1.0 - away, away * pop.away_matrix[home, mall_pos])


def ramp(
    day: np.ndarray, dropout: np.ndarray, span: np.ndarray, floor: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Disengagement progress and visit-rate multiplier on ``day``.

    Returns
    -------
    progress : numpy.ndarray
        ``(dropout - day) / span`` clipped to [0, 1] (1 outside the disengagement phase).
    multiplier : numpy.ndarray
        ``floor + (1 - floor) * progress``.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        progress = np.where(span > 0, np.clip((dropout - day) / np.maximum(span, 1), 0.0, 1.0), 1.0)
    return progress, floor + (1.0 - floor) * progress


def mall_visits(pop: Population, mall_pos: int, cal: MallCalendar, seed: int, mall_key: int) -> MallVisits:
    """Draw the visits to one mall over the window.

    Parameters
    ----------
    pop : Population
        The guest population.
    mall_pos : int
        Position of the mall among the selected malls.
    cal : MallCalendar
        The mall's calendar.
    seed : int
        Master seed.
    mall_key : int
        Index of the mall in :data:`c4.malls.MALLS` (stream key).

    Returns
    -------
    MallVisits
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(mall_key, VISIT_STREAM)))
    grid = cal.grid
    share = visit_share(pop, mall_pos)
    guests = np.flatnonzero((share > 0) | (pop["first_mall"] == mall_pos))
    arrival = pop["arrival"][guests]
    dropout = np.minimum(pop["dropout"][guests], grid.hi)
    first = np.maximum(arrival + 1, 0)
    last = np.minimum(dropout, grid.n_days)
    cum = cal.visit_cum
    span = np.where(last > first, cum[np.maximum(last, first) - grid.lo] - cum[first - grid.lo], 0.0)
    counts = rng.poisson(pop["rate"][guests] * share[guests] * span)
    g = np.repeat(np.arange(guests.size), counts)
    u = cum[first - grid.lo][g] + rng.random(g.size) * span[g]
    day = np.searchsorted(cum, u, side="right") - 1 + grid.lo
    day = np.clip(day, first[g], last[g] - 1)
    _, mult = ramp(day, dropout[g], pop["disengage_days"][guests][g], pop["disengage_floor"][guests][g])
    keep = rng.random(g.size) < mult
    g, day = g[keep], day[keep]
    newcomers = np.flatnonzero(
        (pop["first_mall"][guests] == mall_pos) & (arrival >= 0) & (arrival < grid.n_days)
    )
    g = np.concatenate([g, newcomers])
    day = np.concatenate([day, arrival[newcomers]])
    key = np.unique(day.astype(np.int64) * (guests.size + 1) + g)
    day, g = key // (guests.size + 1), key % (guests.size + 1)
    progress, _ = ramp(day, dropout[g], pop["disengage_days"][guests][g], pop["disengage_floor"][guests][g])
    bad = day >= pop["bad_day"][guests][g]
    return MallVisits(
        guests=guests, guest=g.astype(np.int64), day=day.astype(np.int64), progress=progress, bad=bad
    )
