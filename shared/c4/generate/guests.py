"""The latent guest population: traits, home mall, visit rate, arrival and dropout.

Guests of each home mall are drawn from that mall's own random stream, so the population
of a mall depends only on the seed, the mall and its share of ``customers``.  The table is
small (one row per guest) and is built once per run; every mall's visit generator reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from c4.generate import params as P
from c4.generate.calendar import MallCalendar
from c4.malls import Mall

#: Sentinel dropout day of guests still active at the end of the grid.
NO_DROPOUT = np.iinfo(np.int32).max
#: Index of the "unknown" age band / gender.
UNKNOWN_AGE = len(P.AGE_NAMES)
UNKNOWN_GENDER = len(P.GENDER_NAMES)
#: Stream keys under a mall's index.
GUEST_STREAM = 0

_APPLE = (0xA45E60, 0xF01898, 0x3C22FB, 0xBCD074, 0x88665A)
_ANDROID = (0x8CF5A3, 0x5CE8EB, 0x64CC2E, 0x286C07, 0xCCC3EA, 0x00E0FC, 0x482CA0)
_PC = (0x3C6AA7, 0x00E04C, 0xF8E4E3)
#: OUI pools by OS (index of OS_NAMES) and the share of randomised (private) MACs.
_OUIS = (_ANDROID, _APPLE, _PC, _APPLE, _ANDROID + _PC)
_PRIVATE_MAC = (0.6, 0.75, 0.2, 0.5, 0.1)


@dataclass
class Population:
    """Struct of arrays, one row per guest (global index = row)."""

    cols: dict[str, np.ndarray]
    malls: tuple[Mall, ...]
    away_matrix: np.ndarray = field(repr=False)

    @property
    def n(self) -> int:
        """Number of guests."""
        return int(self.cols["home"].size)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.cols[name]


def allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder)."""
    raw = total * weights / weights.sum()
    out = np.floor(raw).astype(np.int64)
    rest = total - int(out.sum())
    out[np.argsort(-(raw - out), kind="stable")[:rest]] += 1
    return out


def away_matrix(malls: tuple[Mall, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Where away visits go and how common they are, per home mall.

    Returns
    -------
    matrix : numpy.ndarray
        ``matrix[h, m]``: share of home mall ``h``'s away visits made in mall ``m``
        (rows sum to 1, or 0 when the country has no other mall).
    availability : numpy.ndarray
        Multiplier of the away share per home mall (1 with a same-city neighbour,
        ``AWAY_NO_NEIGHBOUR`` with only other cities, 0 alone in the country).
    """
    k = len(malls)
    matrix = np.zeros((k, k))
    avail = np.zeros(k)
    for h, home in enumerate(malls):
        for m, other in enumerate(malls):
            if m == h or other.country != home.country:
                continue
            same_city = other.city == home.city
            matrix[h, m] = other.popularity * (1.0 if same_city else P.AWAY_OTHER_CITY)
            avail[h] = max(avail[h], 1.0 if same_city else P.AWAY_NO_NEIGHBOUR)
        total = matrix[h].sum()
        if total > 0:
            matrix[h] /= total
    return matrix, avail


def _choice(rng: np.random.Generator, shares: tuple[float, ...], n: int) -> np.ndarray:
    """Category codes drawn with the given shares (inverse CDF, faster than ``Generator.choice``)."""
    cum = np.cumsum(shares)
    return np.minimum(np.searchsorted(cum / cum[-1], rng.random(n), side="right"), len(shares) - 1)


def _core_traits(rng: np.random.Generator, n: int, mall: Mall) -> dict[str, np.ndarray]:
    """The traits the dropout process needs (drawn for every candidate)."""
    os_ = _choice(rng, P.OS_SHARE[mall.country], n)
    login = _choice(rng, P.LOGIN_SHARE, n)
    profile = rng.random(n) < np.asarray(P.PROFILE_SHARE)[login]
    age = np.where(profile, _choice(rng, P.AGE_SHARE, n), UNKNOWN_AGE)
    signal_offset = rng.normal(0.0, P.SIGNAL_OFFSET_SD, n)
    friction = rng.gamma(P.FRICTION_SHAPE, 1.0 / P.FRICTION_SHAPE, n)
    rate_log = np.asarray(P.RATE_LOGIN)[login] + np.asarray(P.RATE_OS)[os_] + np.asarray(P.RATE_AGE)[age]
    rate = rng.gamma(P.RATE_SHAPE, P.RATE_MEAN / P.RATE_SHAPE, n) * np.exp(rate_log)
    trait = np.asarray(P.LOGIN_EFFECT)[login] + np.asarray(P.OS_EFFECT)[os_] + np.asarray(P.AGE_EFFECT)[age]
    experience = P.SIGNAL_EFFECT_PER_DB * signal_offset + P.FRICTION_EFFECT * np.log(friction)
    p_raw = np.clip(rng.beta(P.BG_A, P.BG_B, n), 1e-6, 1 - 1e-6)
    p0 = 1.0 / (1.0 + np.exp(-(np.log(p_raw / (1 - p_raw)) + trait)))
    hazard = p0 * rate * np.exp(experience) + P.HAZARD_FLOOR * np.exp(trait + experience)
    bad_log = (
        np.asarray(P.BAD_EPISODE_OS)[os_]
        + np.asarray(P.BAD_EPISODE_LOGIN)[login]
        + P.BAD_EPISODE_PER_DB * (mall.wifi_signal_dbm + 62.0)
    )
    return {
        "os": os_.astype(np.int8),
        "login": login.astype(np.int8),
        "profile": profile,
        "age": age.astype(np.int8),
        "signal_offset": signal_offset,
        "friction": friction,
        "rate": rate,
        "hazard": hazard,
        "p0": p0,
        "bad_rate": P.BAD_EPISODE_RATE * np.exp(bad_log),
    }


def _other_traits(
    rng: np.random.Generator, core: dict[str, np.ndarray], availability: float
) -> dict[str, np.ndarray]:
    """Traits drawn for kept guests only."""
    n = core["os"].size
    bytes_median = np.asarray([P.BYTES_RATE_MEDIAN[o] for o in P.OS_NAMES])[core["os"]]
    gender = np.where(core["profile"], _choice(rng, P.GENDER_SHARE, n), UNKNOWN_GENDER)
    span = rng.integers(P.DISENGAGE_DAYS[0], P.DISENGAGE_DAYS[1] + 1, n)
    return {
        "gender": gender.astype(np.int8),
        "away": rng.beta(P.AWAY_A, P.AWAY_B, n) * availability,
        "bytes_rate": bytes_median * np.exp(rng.normal(0.0, P.BYTES_RATE_SIGMA_GUEST, n)),
        "disengage_days": np.where(core["one_timer"], 0, span).astype(np.int32),
        "disengage_floor": rng.uniform(*P.DISENGAGE_FLOOR, n),
    }


def _sample_days(rng: np.random.Generator, cum: np.ndarray, first: int, last: int, n: int) -> np.ndarray:
    """Grid indices in [first, last) drawn with weights ``diff(cum)`` (inverse CDF)."""
    u = cum[first] + rng.random(n) * (cum[last] - cum[first])
    return np.clip(np.searchsorted(cum, u, side="right") - 1, first, last - 1)


def _dropout(
    rng: np.random.Generator, t: dict[str, np.ndarray], arrival: np.ndarray, cal: MallCalendar
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-timers, bad-episode day and dropout day (grid days, ``NO_DROPOUT`` if none)."""
    grid = cal.grid
    n = arrival.size
    one_timer = rng.random(n) < t["p0"]
    energy = rng.exponential(1.0, n)
    gap = np.ceil(rng.exponential(1.0, n) / t["bad_rate"])
    bad = np.where(gap < grid.size, arrival + np.minimum(gap, grid.size), NO_DROPOUT).astype(np.int64)
    cum = cal.hazard_cum
    i0 = arrival - grid.lo + 1  # first day after the first visit, as a cum index
    ib = np.clip(np.maximum(bad, arrival + 1) - grid.lo, i0, grid.size)
    mu = t["hazard"]
    before = mu * (cum[ib] - cum[i0])
    target = np.where(
        energy <= before,
        cum[i0] + energy / mu,
        cum[ib] + (energy - before) / (mu * P.BAD_EPISODE_HAZARD),
    )
    idx = np.searchsorted(cum, target, side="left")  # the cumulative hazard crosses during grid day idx-1
    dropout = np.where(idx > grid.size, NO_DROPOUT, idx - 1 + grid.lo).astype(np.int64)
    dropout = np.maximum(dropout, arrival + 1)
    dropout = np.where(one_timer, arrival + 1, dropout)
    bad = np.where(bad < dropout, bad, NO_DROPOUT)
    return one_timer, bad, dropout


def home_guests(
    seed: int, mall_key: int, mall: Mall, n_guests: int, cal: MallCalendar, availability: float
) -> dict[str, np.ndarray]:
    """Draw the guests whose home is ``mall``.

    Candidates arrive (first visit ever) over the whole pre-window and window with the
    mall's arrival intensity; their dropout is simulated; candidates already gone before the
    window starts are discarded, until ``n_guests`` are kept.  Survivors of the pre-window
    are therefore biased towards loyal guests, as a real existing customer base is.

    Parameters
    ----------
    seed : int
        Master seed.
    mall_key : int
        Index of the mall in :data:`c4.malls.MALLS` (its stream key).
    mall : Mall
        The home mall.
    n_guests : int
        Guests to keep.
    cal : MallCalendar
        The mall's calendar.
    availability : float
        Away-share multiplier (see :func:`away_matrix`).

    Returns
    -------
    dict of numpy.ndarray
        Trait and lifecycle columns, ``n_guests`` rows.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(mall_key, GUEST_STREAM)))
    grid = cal.grid
    arrival_cum = np.zeros(grid.size + 1)
    arrival_cum[1:] = np.cumsum(cal.arrival)
    kept: list[dict[str, np.ndarray]] = []
    have = 0
    batch = max(256, n_guests)
    while have < n_guests or not kept:
        arrival = _sample_days(rng, arrival_cum, 0, grid.n_days - grid.lo, batch) + grid.lo
        t = _core_traits(rng, batch, mall)
        one_timer, bad, dropout = _dropout(rng, t, arrival, cal)
        t.update(arrival=arrival, one_timer=one_timer, bad_day=bad, dropout=dropout)
        keep = np.flatnonzero(dropout > 0)[: n_guests - have]
        kept.append({k: v[keep] for k, v in t.items()})
        have += keep.size
    out = {k: np.concatenate([b[k] for b in kept]) for k in kept[0]}
    out.update(_other_traits(rng, out, availability))
    del out["profile"]
    out["first_away"] = rng.random(n_guests) < out["away"]
    out["first_pick"] = rng.random(n_guests)
    out["mac"] = _macs(rng, out["os"], mall_key)
    return out


#: Guests per home mall whose MAC addresses are unique by construction.
MAC_UNIQUE_PER_MALL = 1 << 19


def _serials(mall_key: int, n: int) -> np.ndarray:
    """Distinct 24-bit serials for guests ``0..n-1`` of a mall (a bijective scramble of
    ``mall_key * 2**19 + index``), so MACs never collide across guests and malls."""
    x = ((mall_key % 32) << 19) + (np.arange(n, dtype=np.int64) % MAC_UNIQUE_PER_MALL)
    mask = (1 << 24) - 1
    for mult in (0x9E3779, 0x85EBCB):
        x = (x * mult) & mask
        x ^= x >> 12
    return x


def _macs(rng: np.random.Generator, os_: np.ndarray, mall_key: int) -> np.ndarray:
    """48-bit MAC addresses as int64: vendor OUI + serial, or randomised (private) ones.

    The low 24 bits are a per-guest distinct serial, so addresses are unique (up to
    :data:`MAC_UNIQUE_PER_MALL` guests per home mall; beyond, :func:`dedupe_macs` fixes the rest).
    """
    n = os_.size
    private = rng.random(n) < np.asarray(_PRIVATE_MAC)[os_]
    serial = _serials(mall_key, n)
    pick = rng.random(n)
    oui = np.zeros(n, dtype=np.int64)
    for k, pool in enumerate(_OUIS):
        sel = os_ == k
        oui[sel] = np.asarray(pool, dtype=np.int64)[(pick[sel] * len(pool)).astype(np.int64)]
    high = rng.integers(0, 1 << 24, n, dtype=np.int64)
    private_high = (((high >> 16) & 0xFC) | 0x02) << 16 | (high & 0xFFFF)  # locally administered, unicast
    return np.where(private, private_high, oui) << 24 | serial


def dedupe_macs(seed: int, macs: np.ndarray) -> np.ndarray:
    """Replace the rare colliding MACs (later occurrences) by fresh private ones."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(10_001,)))
    macs = macs.copy()
    while True:
        _, first = np.unique(macs, return_index=True)
        dup = np.ones(macs.size, dtype=bool)
        dup[first] = False
        if not dup.any():
            return macs
        rand = rng.integers(0, 1 << 48, int(dup.sum()), dtype=np.int64)
        macs[dup] = ((((rand >> 40) & 0xFC) | 0x02) << 40) | (rand & ((1 << 40) - 1))


@dataclass(frozen=True)
class PopulationPlan:
    """How the population is split across home malls (cheap; built in the parent process)."""

    seed: int
    malls: tuple[Mall, ...]
    keys: list[int]
    counts: np.ndarray
    matrix: np.ndarray
    availability: np.ndarray


def plan_population(seed: int, customers: int, malls: tuple[Mall, ...], keys: list[int]) -> PopulationPlan:
    """Split ``customers`` across home malls by popularity and compute the away-visit matrix.

    Parameters
    ----------
    seed : int
        Master seed.
    customers : int
        Total guests.
    malls : tuple of Mall
        Selected malls.
    keys : list of int
        Stream key (index in ``MALLS``) of each selected mall.

    Returns
    -------
    PopulationPlan
    """
    matrix, avail = away_matrix(malls)
    counts = allocate(customers, np.array([m.popularity for m in malls]))
    return PopulationPlan(seed, malls, keys, counts, matrix, avail)


def home_block(plan: PopulationPlan, h: int, cal: MallCalendar) -> dict[str, np.ndarray]:
    """Guests of home mall ``h`` with their home and first-visit mall (one task of the pool)."""
    n = int(plan.counts[h])
    block = home_guests(plan.seed, plan.keys[h], plan.malls[h], n, cal, float(plan.availability[h]))
    block["home"] = np.full(n, h, dtype=np.int16)
    cum = np.cumsum(plan.matrix[h])
    pick, first_away = block.pop("first_pick"), block.pop("first_away")
    if cum[-1] > 0:
        away_to = np.minimum(np.searchsorted(cum, pick * cum[-1], side="right"), len(plan.malls) - 1)
        block["first_mall"] = np.where(first_away, away_to, h).astype(np.int16)
    else:
        block["first_mall"] = np.full(n, h, dtype=np.int16)
    return block


def assemble_population(plan: PopulationPlan, blocks: list[dict[str, np.ndarray]]) -> Population:
    """Concatenate the home malls' blocks (in mall order) and make MAC addresses unique."""
    cols = {k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]}
    if int(plan.counts.max(initial=0)) > MAC_UNIQUE_PER_MALL:
        cols["mac"] = dedupe_macs(plan.seed, cols["mac"])
    return Population(cols=cols, malls=plan.malls, away_matrix=plan.matrix)


def build_population(
    seed: int, customers: int, malls: tuple[Mall, ...], keys: list[int], calendars: list[MallCalendar]
) -> Population:
    """The whole population in one process (see :func:`home_block` for the parallel path).

    Parameters
    ----------
    seed : int
        Master seed.
    customers : int
        Total guests, split across home malls by popularity.
    malls : tuple of Mall
        Selected malls.
    keys : list of int
        Stream key (index in ``MALLS``) of each selected mall.
    calendars : list of MallCalendar
        Calendar of each selected mall.

    Returns
    -------
    Population
    """
    plan = plan_population(seed, customers, malls, keys)
    return assemble_population(plan, [home_block(plan, h, calendars[h]) for h in range(len(malls))])
