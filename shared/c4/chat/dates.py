"""Relative dates ("hoy", "esta semana", "last month", "since last week") in a question.

They resolve against the *data*: "today" is the latest scoring day (``dt``) in
``churn_predictions``, never the wall clock, so answers are reproducible and a lake scored
up to some past day still answers "this week" sensibly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from c4.chat.text import ascii_fold

_UNITS = {
    "dia": 1,
    "dias": 1,
    "day": 1,
    "days": 1,
    "semana": 7,
    "semanas": 7,
    "week": 7,
    "weeks": 7,
    "mes": 30,
    "meses": 30,
    "month": 30,
    "months": 30,
}
_NUM = {
    "un": 1,
    "una": 1,
    "one": 1,
    "a": 1,
    "dos": 2,
    "two": 2,
    "tres": 3,
    "three": 3,
    "cuatro": 4,
    "four": 4,
    "cinco": 5,
    "five": 5,
    "seis": 6,
    "six": 6,
    "siete": 7,
    "seven": 7,
    "diez": 10,
    "ten": 10,
    "catorce": 14,
    "fourteen": 14,
    "quince": 15,
    "fifteen": 15,
    "treinta": 30,
    "thirty": 30,
}
_N = r"(\d{1,3}|" + "|".join(_NUM) + r")"
_UNIT = r"(dias?|days?|semanas?|weeks?|mes(?:es)?|months?)"

_RULES: tuple[tuple[re.Pattern[str], str, int], ...] = tuple(
    (re.compile(p), kind, days)
    for p, kind, days in (
        (r"\b(ultim[oa]s|last|past|previous|pasad[oa]s)\s+" + _N + r"\s+" + _UNIT + r"\b", "window_n", 0),
        (r"\bhace\s+" + _N + r"\s+" + _UNIT + r"\b|\b" + _N + r"\s+" + _UNIT + r"\s+ago\b", "ago_n", 0),
        (r"\b(anteayer|antier|day before yesterday)\b", "point", 2),
        (r"\b(ayer|yesterday)\b", "point", 1),
        (r"\b(quincena|fortnight|two weeks|dos semanas)\b", "window", 14),
        (
            r"\b(el mes pasado|mes pasado|last month|past month|previous month|mes anterior|"
            r"ultimo mes|"
            r"this month|este mes|en el mes|over the month|un mes|a month|monthly|mensual)\b",
            "window",
            30,
        ),
        (
            r"\b(la semana pasada|semana pasada|last week|past week|previous week|semana anterior|"
            r"ultima semana|"
            r"a week ago|hace una semana|week over week|wow|semana a semana)\b",
            "window",
            7,
        ),
        (r"\b(esta semana|this week|en la semana|la semana|semanal|weekly)\b", "this_week", 7),
        (
            r"\b(hoy|today|now|ahora|actual|actualmente|currently|right now|al dia de hoy|latest|"
            r"ultimo dia)\b",
            "point",
            0,
        ),
    )
)
_ISO = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")


@dataclass(frozen=True)
class TimeSpec:
    """What a question says about time.

    Parameters
    ----------
    point_offset : int or None
        Days before the latest scoring day for questions about one day ("ayer" -> 1).
    window_days : int or None
        Length of a period for questions about change or trends ("last month" -> 30).
    dates : tuple of str
        Explicit ISO dates, in the order written.
    this_week : bool
        Whether the period is "this week" (the point is still the latest day).
    """

    point_offset: int | None = None
    window_days: int | None = None
    dates: tuple[str, ...] = ()
    this_week: bool = False

    @property
    def is_empty(self) -> bool:
        """Whether the question says nothing about time."""
        return self.point_offset is None and self.window_days is None and not self.dates


def _n(text: str) -> int:
    return int(text) if text.isdigit() else _NUM[text]


def parse_time(text: str) -> TimeSpec:
    """Find the time expression of a question.

    Parameters
    ----------
    text : str
        The question (accents and case do not matter).

    Returns
    -------
    TimeSpec
    """
    folded = ascii_fold(text)
    dates = tuple(_ISO.findall(folded))
    for pattern, kind, days in _RULES:
        m = pattern.search(folded)
        if not m:
            continue
        groups = [g for g in m.groups() if g]
        if kind == "window_n":
            return TimeSpec(window_days=_n(groups[1]) * _UNITS[groups[2]], dates=dates)
        if kind == "ago_n":
            return TimeSpec(point_offset=_n(groups[0]) * _UNITS[groups[1]], dates=dates)
        if kind == "point":
            return TimeSpec(point_offset=days, dates=dates)
        return TimeSpec(window_days=days, dates=dates, this_week=kind == "this_week")
    return TimeSpec(dates=dates)


def shift(day: str, days: int) -> str:
    """``day`` (ISO) moved by ``days``."""
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


def point_day(spec: TimeSpec, first: str, latest: str) -> str:
    """The scoring day a point-in-time question is about (latest by default).

    "last week" / "last month" on a point question mean the day that long ago; explicit dates
    win; the result is never after the latest day.
    """
    if spec.dates:
        return min(spec.dates[-1], latest)
    if spec.point_offset is not None:
        return shift(latest, -spec.point_offset)
    if spec.window_days is not None and not spec.this_week:
        return max(first, shift(latest, -spec.window_days))
    return latest


def window(spec: TimeSpec, first: str, latest: str, default_days: int) -> tuple[str, str]:
    """The (start, end) scoring days of a change or trend question.

    Start defaults to ``default_days`` before the latest day and is clamped to the first
    scoring day, so "last month" on a lake with three weeks of predictions uses all of them.
    """
    if len(spec.dates) >= 2:
        start, end = sorted(spec.dates[:2])
        return max(start, first), min(end, latest)
    if len(spec.dates) == 1:
        return max(min(spec.dates[0], latest), first), latest
    days = spec.window_days or spec.point_offset or default_days
    return max(first, shift(latest, -days)), latest
