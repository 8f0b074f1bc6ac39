"""Day grid and per-mall calendars: seasonality, hazard factors, UTC offsets.

Days are integers relative to the window start (day 0 = ``config.start``).  The grid runs
from ``-PRE_WINDOW_DAYS`` (pre-existing guests arrive there) to ``n_days + EXTRA_DAYS``
(dropouts and oracle horizons after the window).
"""

from __future__ import annotations

import calendar as _cal
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
import numpy as np

from c4.generate import params as P
from c4.generate.world import World
from c4.malls import Mall


@dataclass(frozen=True)
class Grid:
    """The day grid of a run."""

    start: date
    n_days: int
    lo: int = -P.PRE_WINDOW_DAYS
    extra: int = P.EXTRA_DAYS

    @property
    def hi(self) -> int:
        """One past the last grid day."""
        return self.n_days + self.extra

    @property
    def size(self) -> int:
        """Days on the grid."""
        return self.hi - self.lo

    def dates(self) -> list[date]:
        """Calendar date of every grid day."""
        first = self.start + timedelta(days=self.lo)
        return [first + timedelta(days=i) for i in range(self.size)]


@dataclass(frozen=True)
class MallCalendar:
    """Daily factors of one mall over the grid (index ``day - grid.lo``).

    Attributes
    ----------
    visit : numpy.ndarray
        Visit intensity multiplier (0 on closed days).
    visit_cum : numpy.ndarray
        ``visit_cum[i] = visit[:i].sum()`` (length ``size + 1``).
    arrival : numpy.ndarray
        Intensity of new guests' first visits.
    hazard : numpy.ndarray
        Dropout hazard multiplier for guests whose home is this mall.
    hazard_cum : numpy.ndarray
        Cumulative ``hazard`` (length ``size + 1``).
    signal_shift : numpy.ndarray
        dB added to every session's signal (WiFi trouble episodes).
    failed_mult : numpy.ndarray
        Multiplier of failed logins.
    weekend : numpy.ndarray
        Saturday or Sunday.
    holiday : numpy.ndarray
        Open national holiday.
    closed : numpy.ndarray
        Mall closed.
    """

    mall: Mall
    grid: Grid
    visit: np.ndarray
    visit_cum: np.ndarray
    arrival: np.ndarray
    hazard: np.ndarray
    hazard_cum: np.ndarray
    signal_shift: np.ndarray
    failed_mult: np.ndarray
    weekend: np.ndarray
    holiday: np.ndarray
    closed: np.ndarray


def _cum(values: np.ndarray) -> np.ndarray:
    out = np.zeros(values.size + 1)
    np.cumsum(values, out=out[1:])
    return out


@lru_cache(maxsize=64)
def _calendar_flags(country: str, start: date, lo: int, size: int) -> tuple[np.ndarray, ...]:
    """Weekday, holiday, closed, payday and December factors (shared by malls of a country)."""
    days = [start + timedelta(days=lo + i) for i in range(size)]
    years = range(days[0].year, days[-1].year + 1)
    hol = holidays.country_holidays(country, years=years)
    closed_md = set(P.CLOSED_ALL) | set(P.CLOSED_BY_COUNTRY[country])
    dow = np.array([d.weekday() for d in days])
    closed = np.array([(d.month, d.day) in closed_md for d in days])
    holiday = np.array([d in hol for d in days]) & ~closed
    pay_days = P.PAYDAY_DAYS[country]
    payday = np.zeros(size, dtype=bool)
    december = np.ones(size)
    for i, d in enumerate(days):
        last = _cal.monthrange(d.year, d.month)[1]
        payday[i] = any((k > 0 and d.day == k) or (k <= 0 and d.day == last + k) for k in pay_days)
        if d.month == 12:
            if d.day <= 23:
                december[i] = 1.0 + (P.DECEMBER_PEAK - 1.0) * (d.day - 1) / 22
            elif d.day == 24:
                december[i] = P.CHRISTMAS_EVE
            elif d.day >= 26:
                december[i] = P.DECEMBER_AFTER
    return dow, holiday, closed, payday, december


def _episode_mask(world: World, mall: Mall, grid: Grid) -> np.ndarray:
    mask = np.zeros(grid.size, dtype=bool)
    for a, b in world.wifi_episodes.get(mall.mall_id, ()):
        mask[a - grid.lo : b - grid.lo] = True
    return mask


def mall_calendar(mall: Mall, grid: Grid, world: World) -> MallCalendar:
    """Build the daily factors of a mall.

    Parameters
    ----------
    mall : Mall
        The mall.
    grid : Grid
        The run's day grid.
    world : World
        The seed's scenario (trends, competitor, WiFi episodes).

    Returns
    -------
    MallCalendar
    """
    dow, holiday, closed, payday, december = _calendar_flags(mall.country, grid.start, grid.lo, grid.size)
    day = np.arange(grid.lo, grid.hi)
    years = np.maximum(day, 0) / 365.25
    base = np.asarray(P.DOW_FACTOR)[dow] * december
    base = (
        base * np.where(holiday, P.HOLIDAY_FACTOR, 1.0) * np.where(payday, P.PAYDAY_FACTOR[mall.country], 1.0)
    )
    base[closed] = 0.0
    visit_log = np.zeros(grid.size)
    arrival_log = np.zeros(grid.size)
    hazard = np.ones(grid.size)
    if mall.mall_id in world.declining:
        visit_log += P.DECLINE_VISITS_PER_YEAR * years
        arrival_log += P.DECLINE_ARRIVALS_PER_YEAR * years
        hazard *= 1.0 + P.DECLINE_HAZARD_PER_YEAR * years
    if mall.mall_id in world.growing:
        arrival_log += P.GROWTH_ARRIVALS_PER_YEAR * years
    if mall.city == world.competitor_city:
        after = day >= world.competitor_day
        visit_log += np.where(after, np.log(P.COMPETITOR_VISITS), 0.0)
        arrival_log += np.where(after, np.log(P.COMPETITOR_ARRIVALS), 0.0)
        hazard *= np.where(after, P.COMPETITOR_HAZARD, 1.0)
    episode = _episode_mask(world, mall, grid)
    hazard *= np.where(episode, P.WIFI_EPISODE_HAZARD, 1.0)
    visit = base * np.exp(visit_log)
    return MallCalendar(
        mall=mall,
        grid=grid,
        visit=visit,
        visit_cum=_cum(visit),
        arrival=base * np.exp(arrival_log),
        hazard=hazard,
        hazard_cum=_cum(hazard),
        signal_shift=np.where(episode, P.WIFI_EPISODE_SIGNAL_DB, 0.0),
        failed_mult=np.where(episode, P.WIFI_EPISODE_FAILED_MULT, 1.0),
        weekend=dow >= 5,
        holiday=holiday,
        closed=closed,
    )


def format_offset(delta: timedelta) -> str:
    """``-03:00`` style UTC offset."""
    minutes = int(delta.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def local_offsets(mall: Mall, days: list[date]) -> list[str]:
    """The mall's UTC offset during opening hours of each day (DST-aware via zoneinfo).

    Chile changes clocks at local midnight, so within opening hours the offset of a day is
    constant; this is checked.
    """
    tz = ZoneInfo(mall.timezone)
    out = []
    for d in days:
        first = datetime.combine(d, time(mall.opens_hour), tzinfo=tz).utcoffset()
        last = datetime.combine(d, time(mall.closes_hour - 1, 59), tzinfo=tz).utcoffset()
        if first != last or first is None:
            raise ValueError(f"UTC offset of {mall.timezone} changes during opening hours on {d}")
        out.append(format_offset(first))
    return out


def years_ahead(d: date, years: int) -> date:
    """The same calendar day ``years`` later (29 February -> 28 February)."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)
