"""From a question (and the conversation so far) to a request: intent + resolved slots.

Nothing here touches data: entities are resolved against :class:`Dimensions` (the lake's
malls and guest ids), the intent comes from :mod:`c4.chat.intents`, and context carries
across turns ("¿y en Colombia?" after a question about Peru re-asks it for Colombia).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from c4.chat.dates import TimeSpec, parse_time
from c4.chat.entities import COUNTRY_WORDS, Dimensions, Entities, Scope, extract
from c4.chat.intents import FOLLOWUP, UNSUPPORTED, intent_model
from c4.chat.text import ascii_fold, clean, detect_language

GUEST_INTENTS = ("guest_explanation", "guest_message", "guest_history")
_SQLISH = re.compile(
    r"(;\s*(drop|delete|insert|update|select|create|alter|attach|copy|pragma|truncate|grant|exec|call|set|"
    r"install|load)\b|--|/\*|\*/|\bdrop\s+(table|database|view|schema)\b|\bdelete\s+from\b|\binsert\s+into\b|"
    r"\bupdate\s+\w+\s+set\b|\btruncate\s+table\b|\balter\s+table\b|\bunion\s+(all\s+)?select\b|"
    r"\bselect\s+(\*|[\w.]+\s*(,|\bfrom\b))|\bor\s+\d+\s*=\s*\d+|\bor\s+'[^']*'\s*=\s*'|\bexec(ute)?\s*\(|"
    r"\bsleep\s*\(|\bcopy\s+\w+\s+(to|from)\b|\battach\s+'|\bread_(csv|parquet|json)\w*\s*\(|"
    r"\binstall\s+\w+\s*;|\bpragma\s+\w+|\{\{|\}\}|\$[a-z_]\w*|%[sd]\b|'\s*;|\"\s*;)",
    re.IGNORECASE,
)
_MESSAGE = re.compile(
    r"\b(mensaje|mensajes|message|messages|texto|text|sms|enviar|enviamos|mandar|mandamos|send|"
    r"decirle|decimos|tell (him|her|them)|oferta|offer|contactamos|win back)\b"
)
_PRONOUN = re.compile(
    r"\b(su|sus|le|este cliente|esta clienta|ese cliente|esa clienta|this guest|that guest|"
    r"this customer|that customer|his|her|their|them|him)\b"
)
_HISTORY = re.compile(
    r"\b(historial|history|evolucion|evolved|changed|cambiado|cambio|over time|en el tiempo|"
    r"trend|tendencia|dia a dia|day by day|subiendo|going up)\b"
)
_WORSE = re.compile(
    r"\b(empeor\w*|peor(es)?|worse\w*|worst|worsen\w*|deteriorat\w*|subi\w*|aument\w*|increas\w*|"
    r"rose|rise|up)\b"
)
_BETTER = re.compile(r"\b(mejor\w*|improv\w*|better|best|baj\w*|cay\w*|drop\w*|fell|fall|decreas\w*|down)\b")
_BY_MALL = re.compile(
    r"\b(por mall|por centro|per mall|by mall|each mall|cada mall|que mall|which mall|"
    r"cual mall|malls con|mall has|mall tiene|por malls|per malls|by malls)\b"
)
_WHOLE = re.compile(
    r"\b(toda la cadena|todos los malls|whole chain|all malls|en total|overall|in total|"
    r"la cadena|the chain|everywhere|en todas partes|global)\b"
)
_ORDINAL = {
    0: r"\b(el primero|la primera|primer cliente|the first( one)?|first guest|top one|numero 1|number 1|"
    r"#1|n[°º] ?1)\b",
    1: r"\b(el segundo|la segunda|the second( one)?|second guest|numero 2|number 2|#2)\b",
    2: r"\b(el tercero|la tercera|the third( one)?|third guest|numero 3|number 3|#3)\b",
}
_MIN_CONFIDENCE = 0.3
_FOLLOWUP_WORDS = 7


@dataclass
class Conversation:
    """What a conversation has established so far (the context of the next question)."""

    language: str | None = None
    intent: str | None = None
    scope: Scope = field(default_factory=Scope)
    time: TimeSpec = field(default_factory=TimeSpec)
    customer_id: str | None = None
    limit: int | None = None
    share: float | None = None
    worst_first: int = 0
    by_mall: bool = False
    guests_shown: list[str] = field(default_factory=list)
    turns: int = 0


@dataclass(frozen=True)
class Request:
    """A recognised question with every slot resolved."""

    intent: str
    language: str
    scope: Scope
    time: TimeSpec
    customer_id: str | None = None
    limit: int | None = None
    share: float | None = None
    worst_first: int = 0
    by_mall: bool = False
    followup: bool = False


@dataclass(frozen=True)
class Clarification:
    """A question the chat will not run a query for, and why.

    ``kind`` is one of ``unsupported``, ``unsafe``, ``need_guest``, ``unknown_guest``,
    ``ambiguous_guest`` and ``no_context``.
    """

    kind: str
    language: str
    intent: str | None = None
    detail: str = ""
    candidates: tuple[str, ...] = ()


def _language(question: str, ents: Entities, default: str) -> str:
    named = set(" ".join(ents.spans).split()) | {w for ws in COUNTRY_WORDS.values() for w in ws}
    kept = [w for w in clean(question).split() if ascii_fold(w).strip("¿?¡!.,;:") not in named]
    return detect_language(" ".join(kept), default=default)


def _ordinal_guest(folded: str, conv: Conversation) -> str | None:
    for index, pattern in _ORDINAL.items():
        if re.search(pattern, folded) and index < len(conv.guests_shown):
            return conv.guests_shown[index]
    return None


def _direction(folded: str, default: int) -> int:
    worse, better = _WORSE.search(folded), _BETTER.search(folded)
    if worse and not better:
        return 1
    if better and not worse:
        return 0
    return default


def interpret(question: str, dims: Dimensions, conv: Conversation) -> Request | Clarification:
    """Understand one question in the context of a conversation.

    Parameters
    ----------
    question : str
        The user's text (any language; only Spanish and English are understood).
    dims : Dimensions
        The lake's malls and guest ids.
    conv : Conversation
        The conversation so far (not modified).

    Returns
    -------
    Request or Clarification
    """
    folded = ascii_fold(question)
    ents = extract(question, dims)
    lang = _language(question, ents, conv.language or "es")
    if _SQLISH.search(clean(question)):
        return Clarification("unsafe", lang)
    time = parse_time(folded)
    if ents.unknown_mall:
        return Clarification("unknown_mall", lang, detail=ents.unknown_mall[:60])
    ranked = intent_model().rank(ents.masked)
    intent, confidence = ranked[0]
    customer_id = None
    if ents.guest is not None:
        if ents.guest.customer_id is None:
            kind = "ambiguous_guest" if ents.guest.matches else "unknown_guest"
            return Clarification(kind, lang, detail=ents.guest.text, candidates=tuple(ents.guest.matches))
        customer_id = ents.guest.customer_id
    else:
        customer_id = _ordinal_guest(folded, conv)
        if (
            customer_id is None
            and conv.customer_id
            and _PRONOUN.search(folded)
            and conv.intent in GUEST_INTENTS
        ):
            customer_id = conv.customer_id
    if customer_id is not None:
        if _MESSAGE.search(folded):
            intent = "guest_message"
        elif _HISTORY.search(folded):
            intent = "guest_history"
        elif intent not in GUEST_INTENTS:
            intent = "guest_explanation"
        confidence = max(confidence, 0.9)
    short = len(ents.masked.split()) <= _FOLLOWUP_WORDS
    has_slots = (
        not ents.scope.is_empty or not time.is_empty or ents.limit is not None or bool(_WHOLE.search(folded))
    )
    followup = intent == FOLLOWUP or (conv.intent is not None and short and has_slots and confidence < 0.5)
    if followup:
        if conv.intent is None:
            return Clarification("no_context", lang)
        return _merge(conv, ents, time, folded, lang, customer_id)
    if intent == UNSUPPORTED or confidence < _MIN_CONFIDENCE:
        return Clarification("unsupported", lang)
    if intent in GUEST_INTENTS and customer_id is None:
        customer_id = conv.customer_id
        if customer_id is None:
            return Clarification("need_guest", lang, intent=intent)
    return Request(
        intent=intent,
        language=lang,
        scope=ents.scope,
        time=time,
        customer_id=customer_id,
        limit=ents.limit,
        share=ents.share,
        worst_first=_direction(folded, 0),
        by_mall=bool(_BY_MALL.search(folded)),
    )


def _merge(
    conv: Conversation, ents: Entities, time: TimeSpec, folded: str, lang: str, customer_id: str | None
) -> Request:
    """A follow-up: the previous question with whatever this one changes."""
    assert conv.intent is not None
    scope = ents.scope if not ents.scope.is_empty else (Scope() if _WHOLE.search(folded) else conv.scope)
    return Request(
        intent=conv.intent,
        language=lang,
        scope=scope,
        time=time if not time.is_empty else conv.time,
        customer_id=customer_id or conv.customer_id,
        limit=ents.limit if ents.limit is not None else conv.limit,
        share=ents.share if ents.share is not None else conv.share,
        worst_first=_direction(folded, conv.worst_first),
        by_mall=conv.by_mall or bool(_BY_MALL.search(folded)),
        followup=True,
    )


def remember(conv: Conversation, request: Request, guests_shown: list[str]) -> None:
    """Update the conversation after a request was answered."""
    conv.language = request.language
    conv.intent = request.intent
    conv.scope = request.scope
    conv.time = request.time
    conv.customer_id = request.customer_id or conv.customer_id
    conv.limit = request.limit
    conv.share = request.share
    conv.worst_first = request.worst_first
    conv.by_mall = request.by_mall
    conv.guests_shown = guests_shown or conv.guests_shown
    conv.turns += 1


def with_language(conv: Conversation, language: str) -> Conversation:
    """A copy of a conversation in another language (for replies that ran no query)."""
    return replace(conv, language=language)
