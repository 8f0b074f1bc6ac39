"""The world scenario of one seed: declining and growing malls, a competitor, WiFi trouble.

Drawn once per seed over the whole chain (:data:`c4.malls.MALLS`), so it does not depend on
which malls a run selects.  Recorded in ``raw/_generation.json`` and documented in
``docs/generator.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from c4.generate import params as P
from c4.malls import MALLS

#: Spawn keys of the random streams (mall streams use the mall's index as first key).
WORLD_KEY = 10_000


@dataclass(frozen=True)
class World:
    """Chain-level events of one seed.

    Attributes
    ----------
    declining : tuple of str
        Malls losing guests: rising dropout hazard, fewer visits and arrivals.
    growing : tuple of str
        Malls gaining new guests.
    competitor_city : str
        City where a competing mall opens.
    competitor_day : int
        Window day index of the opening.
    wifi_episodes : dict
        ``mall_id -> ((first_day, last_day_exclusive), ...)`` periods of degraded WiFi.
    """

    declining: tuple[str, ...]
    growing: tuple[str, ...]
    competitor_city: str
    competitor_day: int
    wifi_episodes: dict[str, tuple[tuple[int, int], ...]]

    def as_dict(self, start: Any) -> dict[str, Any]:
        """JSON-friendly form with ISO dates (``start`` is the window's first day)."""
        from datetime import timedelta

        def iso(day: int) -> str:
            return (start + timedelta(days=int(day))).isoformat()

        return {
            "declining_malls": list(self.declining),
            "growing_malls": list(self.growing),
            "competitor": {"city": self.competitor_city, "opens": iso(self.competitor_day)},
            "wifi_episodes": {
                m: [{"from": iso(a), "to_exclusive": iso(b)} for a, b in eps]
                for m, eps in self.wifi_episodes.items()
                if eps
            },
        }


def draw_world(seed: int, n_days: int) -> World:
    """Draw the scenario of a seed for a window of ``n_days`` days.

    Parameters
    ----------
    seed : int
        Master seed.
    n_days : int
        Window length in days.

    Returns
    -------
    World
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(WORLD_KEY,)))
    ids = [m.mall_id for m in MALLS]
    order = rng.permutation(len(ids))
    declining = tuple(sorted(ids[i] for i in order[: P.N_DECLINING]))
    growing = tuple(sorted(ids[i] for i in order[P.N_DECLINING : P.N_DECLINING + P.N_GROWING]))
    city = str(P.COMPETITOR_CITIES[int(rng.integers(len(P.COMPETITOR_CITIES)))])
    lo, hi = P.COMPETITOR_WINDOW
    comp_day = int(rng.integers(int(lo * n_days), max(int(lo * n_days) + 1, int(hi * n_days))))
    episodes: dict[str, tuple[tuple[int, int], ...]] = {}
    for mid in ids:
        count = int(rng.poisson(P.WIFI_EPISODES_PER_YEAR * n_days / 365.25))
        firsts = np.sort(rng.integers(0, n_days, size=count))
        lengths = rng.integers(P.WIFI_EPISODE_DAYS[0], P.WIFI_EPISODE_DAYS[1] + 1, size=count)
        episodes[mid] = tuple((int(a), int(a + n)) for a, n in zip(firsts, lengths, strict=True))
    return World(declining, growing, city, comp_day, episodes)
