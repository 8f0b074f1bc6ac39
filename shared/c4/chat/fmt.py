"""Number formatting in the user's language (Spanish: ``1.234,5``; English: ``1,234.5``)."""

from __future__ import annotations

from typing import Any


def number(value: Any, lang: str, decimals: int = 0) -> str:
    """A number with thousands separators and ``decimals`` decimals."""
    text = f"{float(value):,.{decimals}f}"
    if lang == "es":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def integer(value: Any, lang: str) -> str:
    """A whole number with thousands separators."""
    return number(int(value), lang, 0)


def pct(value: Any, lang: str, decimals: int = 1) -> str:
    """A share (0..1) as a percentage, e.g. ``0.8183 -> "81,8%"`` in Spanish."""
    return number(float(value) * 100.0, lang, decimals) + "%"


def points(value: Any, lang: str) -> str:
    """A change of a share (0..1) in percentage points with a sign, e.g. ``+72,0 pts``."""
    v = float(value) * 100.0
    sign = "+" if v > 0 else ("−" if v < 0 else "±")
    return f"{sign}{number(abs(v), lang, 1)} pts"


def money(value: Any, currency: str, lang: str) -> str:
    """An amount in a local currency (no decimals for CLP and COP)."""
    decimals = 2 if currency == "PEN" else 0
    return f"{currency} {number(value, lang, decimals)}"


def short_id(customer_id: str) -> str:
    """The first ten characters of a pseudonymous id, for prose (tables show it whole)."""
    return customer_id[:10] + "…"
