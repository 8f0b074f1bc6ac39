"""Entities in a question, resolved against the lake's own dimensions.

Malls (names, short names, ids, cities as people write them: with or without accents,
small typos), countries, guest ids (pseudonymous hex ids or unique prefixes), counts and
percentages.  Free text never leaves this module as text: a mall becomes a ``mall_id`` from
the ``malls`` table, a guest a ``customer_id`` from the predictions, a number an ``int``.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from c4.chat.text import ascii_fold, clean, tokens
from c4.malls import MALLS

COUNTRY_WORDS = {
    "CL": ("chile", "chilean", "chileans", "chileno", "chilenos", "chilena", "chilenas"),
    "PE": ("peru", "peruvian", "peruvians", "peruano", "peruanos", "peruana", "peruanas"),
    "CO": ("colombia", "colombian", "colombians", "colombiano", "colombianos", "colombiana", "colombianas"),
}
_NAME_PREFIXES = ("centro comercial ", "mall plaza ", "mall ", "plaza ", "cc ")
_GENERIC = {"center", "centro", "comercial", "plaza", "norte", "real", "mall", "del", "san", "la", "el"}
_NUMBER_WORDS = {
    "un": 1,
    "uno": 1,
    "one": 1,
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
    "ocho": 8,
    "eight": 8,
    "nueve": 9,
    "nine": 9,
    "diez": 10,
    "ten": 10,
    "quince": 15,
    "fifteen": 15,
    "veinte": 20,
    "twenty": 20,
    "treinta": 30,
    "thirty": 30,
    "cincuenta": 50,
    "fifty": 50,
    "cien": 100,
    "hundred": 100,
    "doce": 12,
    "twelve": 12,
}
_HEX = re.compile(r"(?<![0-9a-z])([0-9a-f]{6,128})(?![0-9a-z])")
_PERCENT = re.compile(r"(\d{1,3}(?:[.,]\d{1,2})?)\s*(?:%|por\s*ciento|percent|pct)")
_WORD_PERCENT = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\s*(?:%|por\s*ciento|percent)")
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_NAMED_MALL = re.compile(
    r"\b(?:[Mm]all|[Pp]laza|[Cc]entro [Cc]omercial|CC)\s+((?:[A-ZÁÉÍÓÚÑ][\w'áéíóúñü]+\s?){1,3})"
)


@dataclass(frozen=True)
class MallRef:
    """A mall of the ``malls`` table."""

    mall_id: str
    name: str
    short_name: str
    country: str
    country_name: str
    city: str


@dataclass(frozen=True)
class Scope:
    """Where a question applies: one mall, one city, one country, or the whole chain."""

    mall_id: str | None = None
    city: str | None = None
    country: str | None = None

    @property
    def is_empty(self) -> bool:
        """Whether no scope was given (the whole chain)."""
        return not (self.mall_id or self.city or self.country)

    def params(self) -> dict[str, str | None]:
        """The scope as query parameters."""
        return {"mall_id": self.mall_id, "city": self.city, "country": self.country}


@dataclass
class GuestMatch:
    """A guest id (or prefix) found in a question and what it resolved to."""

    text: str
    matches: list[str] = field(default_factory=list)

    @property
    def customer_id(self) -> str | None:
        """The one guest it names, or ``None`` when unknown or ambiguous."""
        return self.matches[0] if len(self.matches) == 1 else None


@dataclass
class Entities:
    """What a question names, resolved."""

    scope: Scope = field(default_factory=Scope)
    guest: GuestMatch | None = None
    limit: int | None = None
    share: float | None = None
    masked: str = ""
    spans: list[str] = field(default_factory=list)
    unknown_mall: str | None = None


class Dimensions:
    """The lake's dimensions the chat resolves names against.

    Parameters
    ----------
    malls : sequence of MallRef
        Rows of the ``malls`` table.
    guest_ids : sequence of str
        Every pseudonymous guest id with a prediction.
    """

    def __init__(self, malls: list[MallRef], guest_ids: list[str]) -> None:
        self.malls = {m.mall_id: m for m in malls}
        self.guest_ids = sorted(guest_ids)
        self.aliases = _build_aliases(malls)
        self.max_alias_tokens = max((len(a.split()) for a in self.aliases), default=1)
        known = {m.mall_id for m in malls}
        others = [
            MallRef(m.mall_id, m.name, m.short_name, m.country, "", m.city)
            for m in MALLS
            if m.mall_id not in known
        ]
        self.absent_aliases = {a: t for a, t in _build_aliases(others).items() if a not in self.aliases}

    def guests_with_prefix(self, prefix: str, limit: int = 6) -> list[str]:
        """Guest ids starting with ``prefix`` (at most ``limit``)."""
        i = bisect.bisect_left(self.guest_ids, prefix)
        out: list[str] = []
        while i < len(self.guest_ids) and self.guest_ids[i].startswith(prefix) and len(out) < limit:
            out.append(self.guest_ids[i])
            i += 1
        return out

    def mall_label(self, mall_id: str) -> str:
        """A mall's display name."""
        m = self.malls.get(mall_id)
        return m.name if m else mall_id


def _build_aliases(malls: list[MallRef]) -> dict[str, tuple[str, str]]:
    """Folded alias -> ("mall", mall_id) or ("city", city)."""
    by_city: dict[str, list[MallRef]] = {}
    for m in malls:
        by_city.setdefault(m.city, []).append(m)
    candidates: dict[str, set[tuple[str, str]]] = {}

    def add(alias: str, target: tuple[str, str]) -> None:
        alias = " ".join(tokens(ascii_fold(alias)))
        if alias:
            candidates.setdefault(alias, set()).add(target)

    word_owner: dict[str, set[str]] = {}
    for m in malls:
        bare = ascii_fold(m.name)
        for prefix in _NAME_PREFIXES:
            if bare.startswith(prefix):
                bare = bare[len(prefix) :]
                break
        for w in tokens(bare):
            word_owner.setdefault(w, set()).add(m.mall_id)
        for alias in (m.name, bare, m.short_name, m.mall_id):
            add(alias, ("mall", m.mall_id))
        short_words = tokens(ascii_fold(m.short_name))
        if len(short_words) > 1 and len(short_words[-1]) >= 6:
            add(short_words[-1], ("mall", m.mall_id))
    for word, owners in word_owner.items():
        if len(owners) == 1 and len(word) >= 6 and word not in _GENERIC:
            add(word, ("mall", next(iter(owners))))
    for city, members in by_city.items():
        add(city, ("mall", members[0].mall_id) if len(members) == 1 else ("city", city))
    return {alias: next(iter(t)) for alias, t in candidates.items() if len(t) == 1}


def _close(a: str, b: str) -> bool:
    """Whether a window of the question is a typo of an alias."""
    if a == b:
        return True
    if len(b) < 5 or abs(len(a) - len(b)) > 2 or a[0] != b[0]:
        return False
    ratio = SequenceMatcher(None, a, b).ratio()
    return ratio >= (0.88 if len(b) <= 7 else 0.84)


def _country(word: str) -> str | None:
    """The country a word names (exact, or a typo of a country word of 4+ letters)."""
    for code, names in COUNTRY_WORDS.items():
        if word in names:
            return code
    if len(word) < 4:
        return None
    for code, names in COUNTRY_WORDS.items():
        if any(word[0] == n[0] and SequenceMatcher(None, word, n).ratio() >= 0.85 for n in names):
            return code
    return None


def find_scope(words: list[str], dims: Dimensions) -> tuple[Scope, list[tuple[int, int]]]:
    """The first mall, city or country named in folded ``words`` and the spans used."""
    spans: list[tuple[int, int]] = []
    found: Scope | None = None
    i = 0
    while i < len(words):
        hit = None
        for n in range(min(dims.max_alias_tokens, len(words) - i), 0, -1):
            window = " ".join(words[i : i + n])
            target = dims.aliases.get(window)
            if target is None and len(window) >= 5:
                target = next(
                    (t for a, t in dims.aliases.items() if len(a.split()) == n and _close(window, a)), None
                )
            if target is not None:
                hit = (n, target)
                break
        if hit is None:
            country = _country(words[i])
            if country:
                spans.append((i, i + 1))
                found = found or Scope(country=country)
            i += 1
            continue
        n, (kind, value) = hit
        spans.append((i, i + n))
        if found is None:
            found = Scope(mall_id=value) if kind == "mall" else Scope(city=value)
        i += n
    return found or Scope(), spans


def _number_at(words: list[str], i: int) -> int | None:
    w = words[i]
    if w.isdigit() and len(w) <= 4:
        return int(w)
    return _NUMBER_WORDS.get(w)


def find_limit(words: list[str]) -> int | None:
    """A requested count ("top 10", "los 5 clientes", "ten guests"), if any."""
    units = {
        "dias",
        "dia",
        "days",
        "day",
        "semanas",
        "semana",
        "weeks",
        "week",
        "meses",
        "mes",
        "months",
        "month",
        "horas",
        "hours",
        "por",
        "percent",
        "pct",
        "ano",
        "anos",
        "years",
    }
    for i, _ in enumerate(words):
        n = _number_at(words, i)
        if n is None or not 1 <= n <= 1000:
            continue
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if nxt in units:
            continue
        if words[i] in ("un", "uno", "one") and (i == 0 or words[i - 1] not in ("top", "primer")):
            continue
        return n
    return None


def find_share(folded: str) -> float | None:
    """A share of guests ("10%", "20 por ciento", "ten percent") as a fraction."""
    m = _PERCENT.search(folded)
    if m:
        value = float(m.group(1).replace(",", "."))
        return value / 100.0 if 0 < value <= 100 else None
    m = _WORD_PERCENT.search(folded)
    if m:
        return _NUMBER_WORDS[m.group(1)] / 100.0
    if re.search(r"\b(decil|decile|tenth)\b", folded):
        return 0.1
    return None


def find_guest(folded: str, dims: Dimensions) -> GuestMatch | None:
    """A hex guest id or prefix in the question, resolved against the known guest ids."""
    for m in _HEX.finditer(folded):
        text = m.group(1)
        has_letter = any(c in "abcdef" for c in text)
        has_digit = any(c.isdigit() for c in text)
        if len(text) < 12 and not (has_letter and has_digit):
            continue
        return GuestMatch(text, dims.guests_with_prefix(text))
    return None


def extract(question: str, dims: Dimensions) -> Entities:
    """Resolve every entity of a question and build its masked form for the intent model.

    Parameters
    ----------
    question : str
        The user's text.
    dims : Dimensions
        The lake's dimensions.

    Returns
    -------
    Entities
    """
    folded = ascii_fold(question)
    guest = find_guest(folded, dims)
    share = find_share(folded)
    without_ids = _HEX.sub(" zguest ", folded) if guest else folded
    without_ids = _DATE.sub(" zdate ", without_ids)
    without_ids = _PERCENT.sub(" zpct ", without_ids)
    without_ids = _WORD_PERCENT.sub(" zpct ", without_ids)
    words = tokens(without_ids)
    scope, spans = find_scope(words, dims)
    limit = find_limit([w for w in words if not w.startswith("z")])
    masked_words = list(words)
    named = []
    for a, b in spans:
        named.append(" ".join(words[a:b]))
        is_country = b - a == 1 and _country(words[a]) is not None and words[a] not in dims.aliases
        masked_words[a] = "zcountry" if is_country else "zmall"
        for k in range(a + 1, b):
            masked_words[k] = ""
    masked = " ".join("znum" if w.isdigit() else w for w in masked_words if w)
    unknown = _unknown_mall(question, words, dims) if scope.is_empty else None
    return Entities(scope, guest, limit, share, masked, named, unknown)


def _unknown_mall(question: str, words: list[str], dims: Dimensions) -> str | None:
    """A mall the question names that is not in the lake ("Mall Temuco" on a 6-mall lake)."""
    for n in (3, 2, 1):
        for i in range(len(words) - n + 1):
            window = " ".join(words[i : i + n])
            if window in dims.absent_aliases and window not in COUNTRY_WORDS:
                return window
    m = _NAMED_MALL.search(clean(question))
    if m:
        return m.group(1).strip()
    return None
