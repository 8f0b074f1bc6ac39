"""The latent guest population: traits, home mall, visit rate, arrival and dropout.

Guests of each home mall are drawn from that mall's own random stream, so the population
of a mall depends only on the seed, the mall and its share of ``customers``.  The table is
small (one row per guest) and is built once per run; every mall's visit generator reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from c4.generate import params as P
from c4.generate.calendar import Grid, MallCalendar
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


def _traits(rng: np.random.Generator, n: int, mall: Mall, availability: float) -> dict[str, np.ndarray]:
    os_ = rng.choice(len(P.OS_NAMES), size=n, p=P.OS_SHARE[mall.country])
    login = rng.choice(len(P.LOGIN_NAMES), size=n, p=P.LOGIN_SHARE)
    profile = rng.random(n) < np.asarray(P.PROFILE_SHARE)[login]
    age = np.where(profile, rng.choice(len(P.AGE_NAMES), size=n, p=P.AGE_SHARE), UNKNOWN_AGE)
    gender = np.where(profile, rng.choice(len(P.GENDER_NAMES), size=n, p=P.GENDER_SHARE), UNKNOWN_GENDER)
    signal_offset = rng.normal(0.0, P.SIGNAL_OFFSET_SD, n)
    friction = rng.gamma(P.FRICTION_SHAPE, 1.0 / P.FRICTION_SHAPE, n)
    rate_log = np.asarray(P.RATE_LOGIN)[login] + np.asarray(P.RATE_OS)[os_] + np.asarray(P.RATE_AGE)[age]
    rate = rng.gamma(P.RATE_SHAPE, P.RATE_MEAN / P.RATE_SHAPE, n) * np.exp(rate_log)
    lin = (
        np.asarray(P.LOGIN_EFFECT)[login]
        + np.asarray(P.OS_EFFECT)[os_]
        + np.asarray(P.AGE_EFFECT)[age]
        + P.SIGNAL_EFFECT_PER_DB * signal_offset
        + P.FRICTION_EFFECT * np.log(friction)
    )
    hazard = P.HAZARD_BASE * rng.gamma(P.HAZARD_SHAPE, 1.0 / P.HAZARD_SHAPE, n) * np.exp(lin)
    p0_raw = np.clip(rng.beta(P.P0_A, P.P0_B, n), 1e-6, 1 - 1e-6)
    p0 = 1.0 / (1.0 + np.exp(-(np.log(p0_raw / (1 - p0_raw)) + P.P0_TRAIT_SCALE * lin)))
    bad_log = (
        np.asarray(P.BAD_EPISODE_OS)[os_]
        + np.asarray(P.BAD_EPISODE_LOGIN)[login]
        + P.BAD_EPISODE_PER_DB * (mall.wifi_signal_dbm + 62.0)
    )
    bad_rate = P.BAD_EPISODE_RATE * np.exp(bad_log)
    bytes_median = np.asarray([P.BYTES_RATE_MEDIAN[o] for o in P.OS_NAMES])[os_]
    return {
        "os": os_.astype(np.int8),
        "login": login.astype(np.int8),
        "age": age.astype(np.int8),
        "gender": gender.astype(np.int8),
        "signal_offset": signal_offset,
        "friction": friction,
        "rate": rate,
        "hazard": hazard,
        "hazard_lin": lin,
        "p0": p0,
        "bad_rate": bad_rate,
        "away": rng.beta(P.AWAY_A, P.AWAY_B, n) * availability,
        "bytes_rate": bytes_median * np.exp(rng.normal(0.0, P.BYTES_RATE_SIGMA_GUEST, n)),
        "disengage_days": rng.integers(P.DISENGAGE_DAYS[0], P.DISENGAGE_DAYS[1] + 1, n).astype(np.int32),
        "disengage_floor": rng.uniform(*P.DISENGAGE_FLOOR, n),
    }


def _sample_days(rng: np.random.Generator, cum: np.ndarray, first: int, last: int, n: int) -> np.ndarray:
    """Grid indices in [first, last) drawn with weights ``diff(cum)`` (inverse CDF)."""
    u = cum[first] + rng.random(n) * (cum[last] - cum[first])
    return np.clip(np.searchsorted(cum, u, side="right") - 1, first, last - 1)


def _dropout(rng: np.random.Generator, t: dict[str, np.ndarray], arrival: np.ndarray,
             cal: MallCalendar) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    idx = np.searchsorted(cum, target, side="left")  # cum[idx] >= target: gone from day idx-1+1
    dropout = np.where(idx > grid.size, NO_DROPOUT, idx - 1 + grid.lo).astype(np.int64)
    dropout = np.maximum(dropout, arrival + 1)
    dropout = np.where(one_timer, arrival + 1, dropout)
    bad = np.where(bad < dropout, bad, NO_DROPOUT)
    return one_timer, bad, dropout


def home_guests(seed: int, mall_key: int, mall: Mall, n_guests: int, cal: MallCalendar,
                availability: float) -> dict[str, np.ndarray]:
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
        t = _traits(rng, batch, mall, availability)
        arrival = _sample_days(rng, arrival_cum, 0, grid.n_days - grid.lo, batch) + grid.lo
        one_timer, bad, dropout = _dropout(rng, t, arrival, cal)
        t.update(arrival=arrival, one_timer=one_timer, bad_day=bad, dropout=dropout)
        t["disengage_days"] = np.where(one_timer, 0, t["disengage_days"]).astype(np.int32)
        keep = dropout > 0
        kept.append({k: v[keep] for k, v in t.items()})
        have += int(keep.sum())
    out = {k: np.concatenate([b[k] for b in kept])[:n_guests] for k in kept[0]}
    out["first_away"] = rng.random(n_guests) < out["away"]
    out["first_pick"] = rng.random(n_guests)
    out["mac"] = _macs(rng, out["os"])
    return out


def _macs(rng: np.random.Generator, os_: np.ndarray) -> np.ndarray:
    """48-bit MAC addresses as int64: vendor OUI + serial, or randomised (private) ones."""
    n = os_.size
    private = rng.random(n) < np.asarray(_PRIVATE_MAC)[os_]
    serial = rng.integers(0, 1 << 24, n, dtype=np.int64)
    pick = rng.random(n)
    oui = np.zeros(n, dtype=np.int64)
    for k, pool in enumerate(_OUIS):
        sel = os_ == k
        oui[sel] = np.asarray(pool, dtype=np.int64)[(pick[sel] * len(pool)).astype(np.int64)]
    rand = rng.integers(0, 1 << 48, n, dtype=np.int64)
    first_octet = ((rand >> 40) & 0xFC) | 0x02  # locally administered, unicast
    private_mac = (first_octet << 40) | (rand & ((1 << 40) - 1))
    return np.where(private, private_mac, (oui << 24) | serial)


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


def build_population(seed: int, customers: int, malls: tuple[Mall, ...], keys: list[int],
                     calendars: list[MallCalendar]) -> Population:
    """The whole population: every home mall's guests, concatenated in mall order.

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
    matrix, avail = away_matrix(malls)
    counts = allocate(customers, np.array([m.popularity for m in malls]))
    parts = []
    for h, mall in enumerate(malls):
        block = home_guests(seed, keys[h], mall, int(counts[h]), calendars[h], float(avail[h]))
        block["home"] = np.full(int(counts[h]), h, dtype=np.int16)
        cum = np.cumsum(matrix[h])
        pick, first_away = block.pop("first_pick"), block.pop("first_away")
        if cum[-1] > 0:
            away_to = np.minimum(np.searchsorted(cum, pick * cum[-1], side="right"), len(malls) - 1)
            block["first_mall"] = np.where(first_away, away_to, h).astype(np.int16)
        else:
            block["first_mall"] = np.full(int(counts[h]), h, dtype=np.int16)
        parts.append(block)
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    cols["mac"] = dedupe_macs(seed, cols["mac"])
    return Population(cols=cols, malls=malls, away_matrix=matrix)
