"""Output hygiene: no spreadsheet formula and no unsafe partition value leaves scoring.

Predictions are read by people through Athena, CSV exports and spreadsheets.  A text cell
that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a formula
by spreadsheet programs (CSV / formula injection), so such a cell, and each part of a cell
that follows ``"; "``, ``": "`` or ``"("`` (a reasons cell is split on these by people and
tools), is prefixed with an apostrophe (the OWASP recommendation).  A plain negative number
(``-75``) is left alone.  Partition values (``mall_id`` folders) are restricted to a safe
alphabet.
"""

from __future__ import annotations

import re

#: First characters that make a spreadsheet cell a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

#: The partition value used for guests without a (valid) mall.
UNKNOWN_MALL = "unknown"

_SEPARATORS = re.compile(r"(; |: |\()")
_RISK = r"(?:[=+@\t\r]|-(?!\d+(?:\.\d+)?(?:[\s);]|$)))"  # a formula start; "-75" is a number
_DANGER = re.compile("^" + _RISK)
# Fast path: a dangerous part starts the text or follows a separator, so a text where no such
# position matches is returned unchanged (most cells: reasons with plain negative numbers).
_MAYBE = re.compile(r"(?:^|; |: |\()" + _RISK)
_SAFE_PARTITION = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def neutralise(text: str | None) -> str | None:
    """Make a text cell inert in spreadsheets.

    Parameters
    ----------
    text : str or None
        A text value of an output table.

    Returns
    -------
    str or None
        The text, with ``'`` inserted before any part (the cell's start, or what follows
        ``"; "``, ``": "`` or ``"("``) that starts with a formula character (a plain
        negative number excepted).

    Examples
    --------
    >>> neutralise("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> neutralise("zona favorita: =1+1 (habitual: cine)")
    "zona favorita: '=1+1 (habitual: cine)"
    >>> neutralise("calidad de la señal WiFi (dBm): -75 (habitual: -60)")
    'calidad de la señal WiFi (dBm): -75 (habitual: -60)'
    """
    if text is None or not _MAYBE.search(text):
        return text
    parts = _SEPARATORS.split(text)
    out = [("'" + p) if _DANGER.match(p) else p for p in parts]
    return "".join(out)


def partition_value(mall_id: object) -> str:
    """A safe ``mall_id`` partition value: the id itself, or ``"unknown"``.

    Examples
    --------
    >>> partition_value("CL01"), partition_value(None), partition_value("../x")
    ('CL01', 'unknown', 'unknown')
    """
    if mall_id is None or not isinstance(mall_id, str) or not _SAFE_PARTITION.match(mall_id):
        return UNKNOWN_MALL
    return mall_id
