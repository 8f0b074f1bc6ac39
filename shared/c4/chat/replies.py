"""Replies that run no query: what the chat can answer, and why it did not answer."""

from __future__ import annotations

from c4.chat import fmt
from c4.chat.intents import answerable_intents
from c4.chat.understand import Clarification

_EXAMPLES = {
    "es": (
        "¿Qué clientes de Miraflores tienen más riesgo esta semana?",
        "¿Cuántos clientes en riesgo alto hay por país?",
        "¿Por qué el cliente 3fa2c9d1 está en riesgo?",
    ),
    "en": (
        "Top 10 at-risk guests in Peru",
        "Which malls improved the most since last week?",
        "How good is the current model and when was it trained?",
    ),
}


def capabilities(lang: str) -> str:
    """The list of questions the chat can answer, in plain words."""
    items = [s.help_es if lang == "es" else s.help_en for s in answerable_intents()]
    head = (
        "Puedo responder, con los datos del lago:" if lang == "es" else "I can answer, from the lake's data:"
    )
    examples = "Por ejemplo: " if lang == "es" else "For example: "
    return f"{head}\n" + "\n".join(f"- {i}" for i in items) + "\n" + examples + " · ".join(_EXAMPLES[lang])


def clarification(c: Clarification) -> str:
    """The reply to a question the chat did not run a query for."""
    es = c.language == "es"
    if c.kind == "unsafe":
        lead = (
            "Solo consulto los datos con las consultas del catálogo; no ejecuto instrucciones "
            "ni SQL escritos en la pregunta."
            if es
            else "I only read the data through the query catalogue; I do not run instructions "
            "or SQL written in a question."
        )
    elif c.kind == "need_guest":
        lead = (
            "Necesito el id del cliente (el id seudónimo en hexadecimal, o su comienzo)."
            if es
            else "I need the guest's id (the pseudonymous hex id, or its first characters)."
        )
    elif c.kind == "unknown_guest":
        lead = (
            f"No encuentro ningún cliente cuyo id empiece por «{c.detail}»."
            if es
            else f"I find no guest whose id starts with “{c.detail}”."
        )
    elif c.kind == "ambiguous_guest":
        shown = ", ".join(fmt.short_id(x) for x in c.candidates)
        lead = (
            f"Hay varios clientes cuyo id empieza por «{c.detail}»: {shown}. Escribe más caracteres."
            if es
            else f"Several guests have ids starting with “{c.detail}”: {shown}. Please type more characters."
        )
    elif c.kind == "unknown_mall":
        lead = (
            f"No tengo datos de un mall «{c.detail}». Los malls con datos se listan con «¿qué malls hay?»."
            if es
            else f"I have no data for a mall “{c.detail}”. Ask “which malls are there?” for the list."
        )
    elif c.kind == "no_context":
        lead = (
            "No sé a qué pregunta anterior te refieres."
            if es
            else "I don't know which earlier question you mean."
        )
    elif c.kind == "no_data":
        lead = (
            "El lago todavía no tiene predicciones de fuga; ejecuta el scoring primero."
            if es
            else "The lake has no churn predictions yet; run scoring first."
        )
    elif c.kind in ("no_card", "no_profit_params"):
        lead = (
            "No hay una ficha de modelo campeón (models/champion.json) con lo necesario para responder eso."
            if es
            else "There is no champion model card (models/champion.json) with what that answer needs."
        )
    else:
        lead = "No sé responder eso con los datos de C4." if es else "I can't answer that from C4's data."
    if c.kind in (
        "unknown_guest",
        "ambiguous_guest",
        "need_guest",
        "no_data",
        "no_card",
        "no_profit_params",
        "unknown_mall",
    ):
        return lead
    return lead + "\n" + capabilities(c.language)
