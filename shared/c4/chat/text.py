"""Text normalisation, tokens and language detection (Spanish or English) for the chat."""

from __future__ import annotations

import re
import unicodedata

_INVISIBLE = {"Cf", "Cc", "Co", "Cs", "Cn"}
_WORD = re.compile(r"[0-9a-zñ]+(?:[-'][0-9a-zñ]+)*")

_ES = {
    "que",
    "qué",
    "cual",
    "cuál",
    "cuales",
    "cuáles",
    "cuanto",
    "cuánto",
    "cuantos",
    "cuántos",
    "cuantas",
    "cuántas",
    "como",
    "cómo",
    "por",
    "para",
    "porque",
    "clientes",
    "cliente",
    "el",
    "la",
    "los",
    "las",
    "de",
    "del",
    "en",
    "hay",
    "tienen",
    "tiene",
    "esta",
    "está",
    "este",
    "semana",
    "mes",
    "ganancia",
    "mensaje",
    "debemos",
    "deberiamos",
    "deberíamos",
    "enviar",
    "mandar",
    "mejoraron",
    "mejoró",
    "cambiado",
    "cambió",
    "hoy",
    "ayer",
    "y",
    "es",
    "son",
    "al",
    "más",
    "mas",
    "menos",
    "modelo",
    "cuando",
    "cuándo",
    "fue",
    "entrenado",
    "bueno",
    "riesgo",
    "alto",
    "pais",
    "país",
    "paises",
    "países",
    "ultimo",
    "último",
    "ultima",
    "última",
    "desde",
    "pasada",
    "pasado",
    "visitantes",
    "usuarios",
    "contactamos",
    "contactar",
    "esperada",
    "quienes",
    "quiénes",
    "dame",
    "muestra",
    "muéstrame",
    "muestrame",
    "subió",
    "subio",
    "aumentó",
    "aumento",
    "ahora",
    "mejor",
    "peor",
    "centro",
    "comercial",
    "también",
    "tambien",
    "lo",
    "mismo",
    "con",
    "sobre",
    "su",
    "sus",
    "le",
    "les",
    "un",
    "una",
    "dias",
    "días",
    "meses",
    "semanas",
    "nos",
    "mi",
    "quiero",
    "saber",
    "puedes",
    "hola",
    "gracias",
    "sí",
    "si",
    "datos",
    "predicciones",
    "qúe",
    "mensajes",
    "razones",
    "motivo",
    "motivos",
    "perdiendo",
    "fuga",
    "abandono",
    "tasa",
    "bajo",
    "medio",
    "tal",
    "fueron",
    "eran",
    "entrenó",
    "entreno",
    "preciso",
    "precisión",
}
_EN = {
    "what",
    "which",
    "who",
    "whom",
    "how",
    "the",
    "guests",
    "guest",
    "customers",
    "customer",
    "is",
    "are",
    "in",
    "for",
    "of",
    "top",
    "week",
    "month",
    "message",
    "send",
    "should",
    "we",
    "why",
    "has",
    "have",
    "changed",
    "improved",
    "most",
    "since",
    "last",
    "today",
    "yesterday",
    "model",
    "good",
    "trained",
    "when",
    "expected",
    "profit",
    "contact",
    "many",
    "high",
    "per",
    "country",
    "countries",
    "and",
    "at",
    "risk",
    "risky",
    "riskiest",
    "show",
    "list",
    "give",
    "this",
    "was",
    "were",
    "did",
    "does",
    "do",
    "about",
    "with",
    "by",
    "from",
    "over",
    "past",
    "days",
    "weeks",
    "months",
    "rose",
    "increased",
    "worse",
    "better",
    "best",
    "worst",
    "current",
    "visitors",
    "users",
    "shoppers",
    "churn",
    "likely",
    "to",
    "an",
    "it",
    "they",
    "their",
    "there",
    "much",
    "now",
    "same",
    "also",
    "tell",
    "explain",
    "reasons",
    "predicted",
    "realised",
    "realized",
    "accurate",
    "accuracy",
    "hello",
    "thanks",
    "please",
    "can",
    "you",
    "would",
    "could",
    "malls",
    "our",
    "if",
    "get",
    "up",
    "down",
    "be",
    "will",
    "been",
}


def clean(text: str) -> str:
    """NFKC-normalise, drop invisible characters (zero-width, bidi marks), blank out controls.

    Full-width letters and digits become ASCII; the result is trimmed and collapsed.
    """
    text = unicodedata.normalize("NFKC", text)
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        if category == "Cf":
            continue  # zero-width and bidi marks vanish ("Mira\u200bflores" -> "Miraflores")
        out.append(" " if category in _INVISIBLE else ch)
    return re.sub(r"\s+", " ", "".join(out)).strip()


def fold(text: str) -> str:
    """Lower-case and strip accents, keeping ``ñ`` (``"Ñuñoa" -> "ñuñoa"``, ``"Perú" -> "peru"``)."""
    out = []
    for ch in clean(text).lower():
        if ch == "ñ":
            out.append(ch)
            continue
        decomposed = unicodedata.normalize("NFD", ch)
        out.append("".join(c for c in decomposed if unicodedata.category(c) != "Mn"))
    return "".join(out)


def ascii_fold(text: str) -> str:
    """Like :func:`fold` but ``ñ`` becomes ``n`` too (``"Ñuñoa" -> "nunoa"``)."""
    return fold(text).replace("ñ", "n")


def tokens(text: str) -> list[str]:
    """Word tokens of already folded text."""
    return _WORD.findall(text)


def detect_language(text: str, default: str = "es") -> str:
    """``"es"`` or ``"en"`` from function words, Spanish punctuation and accents.

    Parameters
    ----------
    text : str
        The question, preferably with entity names (malls, cities) removed.
    default : str
        Returned on a tie (e.g. the conversation's language so far).
    """
    raw = clean(text).lower()
    words = _WORD.findall(raw)
    es = sum(1 for w in words if w in _ES) + 2 * raw.count("¿") + 2 * raw.count("¡")
    es += sum(1 for ch in raw if ch in "áéíóúñ")
    en = sum(1 for w in words if w in _EN)
    en += 2 * len(re.findall(r"\b(what|which|how|why|who)\b", raw))
    en += 2 * len(re.findall(r"\b\w+'s\b|\bthe\b", raw))
    if es == en:
        return default
    return "es" if es > en else "en"
