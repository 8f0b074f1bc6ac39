"""Zone/AP sessions of visits: the rows a WiFi controller logs.

A visit becomes several zone sessions (4-6 on average, fewer while a guest disengages), one
after the other with short walks in between; each has a lognormal dwell, bytes that grow
with dwell, a signal level and, on the first session, the captive-portal failed logins.
Everything is vectorised over the visits of a chunk of days.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from c4.generate import params as P
from c4.generate.calendar import MallCalendar
from c4.malls import Mall

#: Stream key of session attributes under a mall's index (then the chunk number).
SESSION_STREAM = 2
#: Captive portals lock a device out after this many failed logins.
FAILED_CAP = 20


@dataclass(frozen=True)
class MallLayout:
    """Zones and access points of a mall."""

    zone_median: np.ndarray
    zone_weight_cum: np.ndarray
    zone_signal: np.ndarray
    ap_first: np.ndarray
    ap_count: np.ndarray
    n_aps: int
    mean_zones: float


def mall_layout(mall: Mall) -> MallLayout:
    """Zones (a prefix of the catalogue) and the mall's access points spread over them."""
    zones = mall.zones
    weight = np.array([P.ZONE_WEIGHT[z] for z in zones])
    share = weight / weight.sum()
    extra = mall.access_points - len(zones)
    counts = 1 + np.floor(share * extra).astype(np.int64)
    counts[
        np.argsort(-(share * extra - np.floor(share * extra)), kind="stable")[
            : mall.access_points - counts.sum()
        ]
    ] += 1
    return MallLayout(
        zone_median=np.array([P.ZONE_MEDIAN_MIN[z] for z in zones]),
        zone_weight_cum=np.cumsum(share),
        zone_signal=np.array([P.ZONE_SIGNAL_DB[z] for z in zones]),
        ap_first=np.concatenate([[0], np.cumsum(counts)[:-1]]),
        ap_count=counts,
        n_aps=int(counts.sum()),
        mean_zones=P.ZONES_PER_VISIT[mall.size_class],
    )


@dataclass
class GuestAttrs:
    """Per-guest attributes used by session generation (local guest index)."""

    os: np.ndarray
    login: np.ndarray
    signal_offset: np.ndarray
    friction: np.ndarray
    bytes_rate: np.ndarray


def _hour_cum(profile: tuple[float, ...], mall: Mall) -> np.ndarray:
    w = np.asarray(profile, dtype=float)[mall.opens_hour : mall.closes_hour]
    w = np.where(w > 0, w, 0.05)
    return np.cumsum(w) / w.sum()


def _visit_starts(rng: np.random.Generator, mall: Mall, weekend: np.ndarray) -> np.ndarray:
    u = rng.random(weekend.size)
    hour = np.where(
        weekend,
        np.searchsorted(_hour_cum(P.HOUR_WEEKEND, mall), u, side="right"),
        np.searchsorted(_hour_cum(P.HOUR_WEEKDAY, mall), u, side="right"),
    )
    sec = (mall.opens_hour + hour) * 3600 + rng.integers(0, 3600, weekend.size)
    return np.minimum(sec, mall.closes_hour * 3600 - 600)


def _segment_offsets(step: np.ndarray, visit_first: np.ndarray, visit_of: np.ndarray) -> np.ndarray:
    """Start offset of each session within its visit (exclusive cumulative sum per visit)."""
    cs = np.cumsum(step)
    excl = cs - step
    return excl - excl[visit_first][visit_of]


def build_sessions(
    rng: np.random.Generator,
    mall: Mall,
    layout: MallLayout,
    cal: MallCalendar,
    guests: GuestAttrs,
    v_guest: np.ndarray,
    v_day: np.ndarray,
    v_progress: np.ndarray,
    v_bad: np.ndarray,
) -> dict[str, np.ndarray]:
    """Expand visits into zone sessions.

    Parameters
    ----------
    rng : numpy.random.Generator
        The chunk's stream.
    mall, layout, cal : Mall, MallLayout, MallCalendar
        Where and when.
    guests : GuestAttrs
        Attributes of the mall's local guests.
    v_guest, v_day, v_progress, v_bad : numpy.ndarray
        Visits: local guest, window day, disengagement progress, bad-episode flag.

    Returns
    -------
    dict of numpy.ndarray
        Session columns sorted by (day, start): ``day, start, end, guest, zone, ap,
        dwell, bytes_down, bytes_up, signal, failed, seq`` (times in local seconds of day).
    """
    nv = v_day.size
    gi = v_day - cal.grid.lo
    v_start = _visit_starts(rng, mall, cal.weekend[gi] | cal.holiday[gi])
    zone_mean = layout.mean_zones * (1.0 - P.DISENGAGE_ZONES * (1.0 - v_progress))
    k = np.minimum(1 + rng.poisson(np.maximum(zone_mean - 1.0, 0.1)), P.MAX_ZONE_SESSIONS)
    visit_of = np.repeat(np.arange(nv), k)
    visit_first = np.cumsum(k) - k
    n = visit_of.size
    f32 = np.float32
    zone = np.searchsorted(
        layout.zone_weight_cum, rng.random(n, dtype=f32) * layout.zone_weight_cum[-1], side="right"
    )
    entrance = np.zeros(n, dtype=bool)
    entrance[visit_first] = rng.random(nv, dtype=f32) < P.FIRST_ZONE_ENTRANCE
    zone = np.where(entrance, 0, np.minimum(zone, len(mall.zones) - 1))
    ap = layout.ap_first[zone] + (rng.random(n, dtype=f32) * layout.ap_count[zone]).astype(np.int64)
    dwell_factor = (1.0 - P.DISENGAGE_DWELL * (1.0 - v_progress))[visit_of]
    log_median = np.log(layout.zone_median)[zone] + np.log(dwell_factor)
    minutes = np.exp(log_median + P.DWELL_SIGMA * rng.standard_normal(n, dtype=f32))
    dwell = np.rint(np.clip(minutes, 0.5, P.DWELL_MAX_MIN) * 60).astype(np.int64)
    gap = np.rint((0.25 + P.GAP_MEAN_MIN * rng.standard_exponential(n, dtype=f32)) * 60).astype(np.int64)
    start = v_start[visit_of] + _segment_offsets(dwell + gap, visit_first, visit_of)
    close = mall.closes_hour * 3600
    end = np.minimum(start + dwell, close)
    g = v_guest[visit_of]
    vg = v_guest
    gi_v = v_day - cal.grid.lo
    v_signal = (
        mall.wifi_signal_dbm
        + guests.signal_offset[vg]
        + np.asarray(P.SIGNAL_OS_DB)[guests.os[vg]]
        + cal.signal_shift[gi_v]
        + np.where(v_bad, P.BAD_EPISODE_SIGNAL_DB, 0.0)
    )
    signal = (
        v_signal[visit_of] + layout.zone_signal[zone] + P.SIGNAL_NOISE_DB * rng.standard_normal(n, dtype=f32)
    )
    signal = np.clip(np.rint(signal), *P.SIGNAL_CLIP).astype(np.int64)
    fail_rate = (
        np.asarray(P.FAILED_BASE)[guests.login[vg]]
        * guests.friction[vg]
        * cal.failed_mult[gi_v]
        * np.where(v_bad, P.BAD_EPISODE_FAILED_MULT, 1.0)
    )
    failed = np.zeros(n, dtype=np.int64)
    failed[visit_first] = np.minimum(rng.poisson(fail_rate), FAILED_CAP)
    noise = np.exp(P.BYTES_RATE_SIGMA_SESSION * rng.standard_normal(n, dtype=f32))
    bytes_down = np.rint((end - start) * guests.bytes_rate[g] * noise).astype(np.int64)
    up_share = (
        P.BYTES_UP_SHARE[0] + (P.BYTES_UP_SHARE[1] - P.BYTES_UP_SHARE[0]) * rng.random(n, dtype=f32) ** 2
    )
    bytes_up = np.rint(bytes_down * up_share).astype(np.int64)
    day = v_day[visit_of]
    cols = {
        "day": day,
        "start": start,
        "end": end,
        "guest": g,
        "ap": ap,
        "zone": zone,
        "dwell": end - start,
        "bytes_down": bytes_down,
        "bytes_up": bytes_up,
        "signal": signal,
        "failed": failed,
    }
    keep = np.flatnonzero(start <= close - 60)
    order = keep[np.argsort((day[keep] - day[0]) * 86_400 + start[keep], kind="stable")] if n else keep
    out = {name: col[order] for name, col in cols.items()}
    out["seq"] = _day_sequence(out["day"])
    return out


def _day_sequence(day: np.ndarray) -> np.ndarray:
    """1-based position of each row within its day (rows sorted by day)."""
    if day.size == 0:
        return day.copy()
    new_day = np.empty(day.size, dtype=bool)
    new_day[0] = True
    new_day[1:] = day[1:] != day[:-1]
    firsts = np.flatnonzero(new_day)
    counts = np.diff(np.append(firsts, day.size))
    return np.arange(day.size) - np.repeat(firsts, counts) + 1
