"""Short answers in the user's language, built only from a query's rows.

Every number in an answer is a value of the result table (or of a bound parameter),
formatted for the language; nothing is computed that the table does not show.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from c4.chat import fmt
from c4.chat.entities import Dimensions, Scope
from c4.malls import COUNTRIES

Row = dict[str, Any]
_BAND = {
    "es": {"alto": "alto", "medio": "medio", "bajo": "bajo"},
    "en": {"alto": "high", "medio": "medium", "bajo": "low"},
}


def scope_label(scope: Scope, lang: str, dims: Dimensions) -> str:
    """Plain words for a scope: a mall's name, a city, a country, or the whole chain."""
    if scope.mall_id:
        return dims.mall_label(scope.mall_id)
    if scope.city:
        return scope.city
    if scope.country:
        return COUNTRIES[scope.country]["name_es" if lang == "es" else "name_en"]
    return "toda la cadena" if lang == "es" else "the whole chain"


def _t(lang: str, es: str, en: str) -> str:
    return es if lang == "es" else en


def _guest_list(rows: list[Row], lang: str, n: int = 3) -> str:
    parts = []
    for r in rows[:n]:
        band = _BAND[lang][str(r["risk_band"])]
        risk = f"riesgo {band}" if lang == "es" else f"{band} risk"
        parts.append(
            f"{r['risk_rank']}) {fmt.short_id(r['customer_id'])} ({r['mall_name']}): "
            f"{fmt.pct(r['churn_probability'], lang)}, {risk}"
        )
    return "; ".join(parts)


def top_risk_guests(rows: list[Row], ctx: dict[str, Any], lang: str) -> str:
    """The riskiest guests."""
    where, dt = ctx["scope_label"], ctx["params"]["dt"]
    if not rows:
        return _t(
            lang,
            f"No hay predicciones para {where} el {dt}.",
            f"There are no predictions for {where} on {dt}.",
        )
    head = _t(
        lang,
        f"Los {len(rows)} clientes con más riesgo en {where} al {dt}: ",
        f"The {len(rows)} guests most at risk in {where} as of {dt}: ",
    )
    reason = _t(
        lang,
        f" Razones del primero: {rows[0]['reasons']}.",
        f" Reasons for the first one (in Spanish, as scored): {rows[0]['reasons']}.",
    )
    return head + _guest_list(rows, lang) + "." + reason


def risk_counts(rows: list[Row], ctx: dict[str, Any], lang: str) -> str:
    """Guests per risk band, per country or per mall."""
    dt = ctx["params"]["dt"]
    if not rows:
        return _t(
            lang,
            f"No hay predicciones para {ctx['scope_label']} el {dt}.",
            f"There are no predictions for {ctx['scope_label']} on {dt}.",
        )
    parts = []
    for r in rows[:6]:
        label = r.get("mall_name") or COUNTRIES[r["country"]]["name_es" if lang == "es" else "name_en"]
        parts.append(
            _t(
                lang,
                f"{label}: {fmt.integer(r['alto'], lang)} de {fmt.integer(r['guests'], lang)} "
                f"({fmt.pct(r['share_alto'], lang)})",
                f"{label}: {fmt.integer(r['alto'], lang)} of {fmt.integer(r['guests'], lang)} "
                f"({fmt.pct(r['share_alto'], lang)})",
            )
        )
    more = _t(
        lang, f" (y {len(rows) - 6} malls más en la tabla)", f" (and {len(rows) - 6} more malls in the table)"
    )
    return (
        _t(lang, f"Clientes en riesgo alto al {dt}: ", f"High-risk guests as of {dt}: ")
        + "; ".join(parts)
        + (more if len(rows) > 6 else "")
        + "."
    )


def risk_trend(rows: list[Row], ctx: dict[str, Any], lang: str) -> str:
    """How mean risk moved over a period."""
    where = ctx["scope_label"]
    if not rows:
        return _t(
            lang,
            f"No hay predicciones para {where} en ese período.",
            f"There are no predictions for {where} in that period.",
        )
    first, last = rows[0], rows[-1]
    up = float(last["avg_probability"]) > float(first["avg_probability"])
    verb = _t(lang, "subió" if up else "bajó", "rose" if up else "fell")
    if first["avg_probability"] == last["avg_probability"]:
        verb = _t(lang, "se mantuvo", "held steady")
    peak = max(rows, key=lambda r: float(r["avg_probability"]))
    return _t(
        lang,
        f"En {where}, el riesgo promedio {verb}: de {fmt.pct(first['avg_probability'], lang)} "
        f"el {first['dt']} a "
        f"{fmt.pct(last['avg_probability'], lang)} el {last['dt']}; los clientes en riesgo alto pasaron de "
        f"{fmt.integer(first['alto'], lang)} a {fmt.integer(last['alto'], lang)}. Máximo: "
        f"{fmt.pct(peak['avg_probability'], lang)} el {peak['dt']}.",
        f"In {where}, mean churn risk {verb}: from {fmt.pct(first['avg_probability'], lang)} "
        f"on {first['dt']} to "
        f"{fmt.pct(last['avg_probability'], lang)} on {last['dt']}; high-risk guests went from "
        f"{fmt.integer(first['alto'], lang)} to {fmt.integer(last['alto'], lang)}. Peak: "
        f"{fmt.pct(peak['avg_probability'], lang)} on {peak['dt']}.",
    )


def risk_risers(rows: list[Row], ctx: dict[str, Any], lang: str) -> str:
    """Guests whose risk rose most."""
    p, where = ctx["params"], ctx["scope_label"]
    if not rows:
        return _t(
            lang,
            f"Ningún cliente de {where} subió su riesgo entre el {p['start_dt']} y el {p['end_dt']}.",
            f"No guest in {where} rose in risk between {p['start_dt']} and {p['end_dt']}.",
        )
    parts = [
        f"{r['rise_rank']}) {fmt.short_id(r['customer_id'])} ({r['mall_name']}): "
        f"{fmt.pct(r['probability_before'], lang)} → {fmt.pct(r['probability_now'], lang)} "
        f"({fmt.points(r['rise'], lang)})"
        for r in rows[:3]
    ]
    return (
        _t(
            lang,
            f"Clientes de {where} cuyo riesgo más subió entre el {p['start_dt']} y el {p['end_dt']}: ",
            f"Guests in {where} whose risk rose most between {p['start_dt']} and {p['end_dt']}: ",
        )
        + "; ".join(parts)
        + "."
    )


def mall_change(rows: list[Row], ctx: dict[str, Any], lang: str) -> str:
    """Malls that improved (or worsened) most."""
    p = ctx["params"]
    if not rows:
        return _t(
            lang,
            f"No hay malls con predicciones el {p['start_dt']} y el {p['end_dt']}.",
            f"No mall has predictions on both {p['start_dt']} and {p['end_dt']}.",
        )
    worst = bool(p["worst_first"])
    moved = [r for r in rows if (float(r["change"]) > 0 if worst else float(r["change"]) < 0)]
    parts = [
        f"{r['mall_name']} ({fmt.pct(r['avg_probability_before'], lang)} → "
        f"{fmt.pct(r['avg_probability_now'], lang)}, {fmt.points(r['change'], lang)})"
        for r in (moved or rows)[:3]
    ]
    best_change = float(rows[0]["change"])
    if not worst and best_change >= 0:
        lead = _t(
            lang, "Ningún mall mejoró; los que menos empeoraron", "No mall improved; the least worsened were"
        )
    elif worst and best_change <= 0:
        lead = _t(
            lang, "Ningún mall empeoró; los que menos mejoraron", "No mall worsened; the least improved were"
        )
    else:
        lead = _t(
            lang,
            "Los malls que más " + ("empeoraron" if worst else "mejoraron"),
            "The malls that " + ("worsened" if worst else "improved") + " most",
        )
    return (
        _t(
            lang,
            f"{lead} entre el {p['start_dt']} y el {p['end_dt']} (riesgo promedio): ",
            f"{lead} between {p['start_dt']} and {p['end_dt']} (mean risk): ",
        )
        + "; ".join(parts)
        + "."
    )


def guest_explanation(rows: list[Row], ctx: dict[str, Any], lang: str) -> str:
    """Why one guest is at risk."""
    if not rows:
        return _t(
            lang,
            "Ese cliente no tiene predicciones hasta esa fecha.",
            "That guest has no prediction up to that day.",
        )
    r = rows[0]
    band = _BAND[lang][str(r["risk_band"])]
    return _t(
        lang,
        f"El cliente {fmt.short_id(r['customer_id'])} ({r['mall_name']}) tiene una probabilidad de fuga de "
        f"{fmt.pct(r['churn_probability'], lang)} (riesgo {band}) al {r['dt']}. Razones: {r['reasons']}.",
        f"Guest {fmt.short_id(r['customer_id'])} ({r['mall_name']}) has a churn probability of "
        f"{fmt.pct(r['churn_probability'], lang)} ({band} risk) as of {r['dt']}. Reasons (in Spanish, as "
        f"scored): {r['reasons']}.",
    )


def guest_message(rows: list[Row], ctx: dict[str, Any], lang: str) -> str:
    """The retention message for one guest."""
    if not rows:
        return _t(
            lang,
            "Ese cliente no tiene predicciones hasta esa fecha.",
            "That guest has no prediction up to that day.",
        )
    r = rows[0]
    who = fmt.short_id(r["customer_id"])
    if not r.get("message"):
        return _t(
            lang,
            f"{who} está en riesgo {_BAND['es'][str(r['risk_band'])]} "
            f"({fmt.pct(r['churn_probability'], lang)}): no tiene mensaje de retención, no hace falta "
            "contactarlo.",
            f"{who} is at {_BAND['en'][str(r['risk_band'])]} risk ({fmt.pct(r['churn_probability'], lang)}): "
            "there is no retention message, no need to contact them.",
        )
    return _t(
        lang,
        f"Mensaje sugerido para {who} (riesgo {_BAND['es'][str(r['risk_band'])]}, "
        f"{fmt.pct(r['churn_probability'], lang)}): «{r['message']}»",
        f"Suggested message for {who} ({_BAND['en'][str(r['risk_band'])]} risk, "
        f"{fmt.pct(r['churn_probability'], lang)}), in Spanish as sent: «{r['message']}»",
    )


def guest_history(rows: list[Row], ctx: dict[str, Any], lang: str) -> str:
    """One guest's risk over time."""
    if not rows:
        return _t(
            lang,
            "Ese cliente no tiene predicciones en ese período.",
            "That guest has no predictions in that period.",
        )
    first, last = rows[0], rows[-1]
    peak = max(rows, key=lambda r: float(r["churn_probability"]))
    who = fmt.short_id(ctx["params"]["customer_id"])
    return _t(
        lang,
        f"El riesgo de {who} pasó de {fmt.pct(first['churn_probability'], lang)} el {first['dt']} a "
        f"{fmt.pct(last['churn_probability'], lang)} el {last['dt']} (máximo "
        f"{fmt.pct(peak['churn_probability'], lang)} el {peak['dt']}).",
        f"The risk of {who} went from {fmt.pct(first['churn_probability'], lang)} on {first['dt']} to "
        f"{fmt.pct(last['churn_probability'], lang)} on {last['dt']} (peak "
        f"{fmt.pct(peak['churn_probability'], lang)} on {peak['dt']}).",
    )


def expected_profit(rows: list[Row], ctx: dict[str, Any], lang: str) -> str:
    """Expected profit of a campaign, per country and currency."""
    p = ctx["params"]
    if not rows:
        return _t(
            lang,
            f"No hay predicciones para {ctx['scope_label']} el {p['dt']}.",
            f"There are no predictions for {ctx['scope_label']} on {p['dt']}.",
        )
    parts = []
    for r in rows:
        name = COUNTRIES[r["country"]]["name_es" if lang == "es" else "name_en"]
        parts.append(
            _t(
                lang,
                f"{name}: {fmt.integer(r['contacted'], lang)} contactados, ganancia esperada "
                f"{fmt.money(r['expected_profit'], r['currency'], lang)} (valor "
                f"{fmt.money(r['expected_value'], r['currency'], lang)} menos costo "
                f"{fmt.money(r['contact_cost'], r['currency'], lang)})",
                f"{name}: {fmt.integer(r['contacted'], lang)} contacted, expected profit "
                f"{fmt.money(r['expected_profit'], r['currency'], lang)} (value "
                f"{fmt.money(r['expected_value'], r['currency'], lang)} minus cost "
                f"{fmt.money(r['contact_cost'], r['currency'], lang)})",
            )
        )
    return (
        _t(
            lang,
            f"Si contactamos al {fmt.pct(p['share'], lang, 0)} más riesgoso de {ctx['scope_label']} "
            f"(al {p['dt']}), por país y en moneda local: ",
            f"Contacting the riskiest {fmt.pct(p['share'], lang, 0)} of {ctx['scope_label']} "
            f"(as of {p['dt']}), per country in local currency: ",
        )
        + "; ".join(parts)
        + "."
    )


def model_card(rows: list[Row], ctx: dict[str, Any], lang: str) -> str:
    """The champion model: version, training time, horizon, metrics."""
    card = {r["field"]: r["value"] for r in rows}

    def metric(name: str, label: str, decimals: int = 3) -> str | None:
        v = card.get(name)
        return f"{label} {fmt.number(v, lang, decimals)}" if isinstance(v, int | float) else None

    metrics = [
        m
        for m in (
            metric("roc_auc", "ROC AUC"),
            metric("pr_auc", "PR AUC"),
            metric("brier", "Brier"),
            metric("ece", "ECE"),
            metric("lift_top10", _t(lang, "lift en el decil superior", "lift in the top decile"), 2),
        )
        if m
    ]
    return _t(
        lang,
        f"El modelo en producción es {card.get('version')}, entrenado el {card.get('trained_at')}, con "
        f"horizonte de {card.get('horizon_days')} días y umbral "
        f"{fmt.number(card.get('threshold', 0), lang, 2)}. "
        f"Métricas de validación: {', '.join(metrics)}.",
        f"The champion model is {card.get('version')}, trained on {card.get('trained_at')}, with a "
        f"{card.get('horizon_days')}-day horizon and threshold "
        f"{fmt.number(card.get('threshold', 0), lang, 2)}. "
        f"Validation metrics: {', '.join(metrics)}.",
    )


def realised_vs_predicted(rows: list[Row], ctx: dict[str, Any], lang: str) -> str:
    """Realised versus predicted churn per band."""
    h = ctx["params"]["horizon_days"]
    if not rows:
        return _t(
            lang,
            f"Todavía no hay predicciones cuyo horizonte de {h} días haya pasado.",
            f"No prediction's {h}-day horizon has passed yet.",
        )
    parts = [
        _t(
            lang,
            f"riesgo {_BAND['es'][str(r['risk_band'])]}: predicho "
            f"{fmt.pct(r['predicted_churn_rate'], lang)}, real {fmt.pct(r['realised_churn_rate'], lang)} "
            f"({fmt.integer(r['predictions'], lang)} predicciones)",
            f"{_BAND['en'][str(r['risk_band'])]} risk: predicted {fmt.pct(r['predicted_churn_rate'], lang)}, "
            f"realised {fmt.pct(r['realised_churn_rate'], lang)} ({fmt.integer(r['predictions'], lang)} "
            "predictions)",
        )
        for r in rows
    ]
    first = min(str(r["first_dt"]) for r in rows)
    last = max(str(r["last_dt"]) for r in rows)
    return (
        _t(
            lang,
            f"En {ctx['scope_label']}, para las predicciones del {first} al {last} (horizonte de {h} días ya "
            "cumplido): ",
            f"In {ctx['scope_label']}, for predictions from {first} to {last} (their {h}-day horizon has "
            "passed): ",
        )
        + "; ".join(parts)
        + "."
    )


def list_malls(rows: list[Row], ctx: dict[str, Any], lang: str) -> str:
    """The malls in the data, grouped by country."""
    groups = []
    for code in COUNTRIES:
        names = [f"{r['name']} ({r['city']})" for r in rows if r["country"] == code]
        if names:
            groups.append(f"{COUNTRIES[code]['name_es' if lang == 'es' else 'name_en']}: {', '.join(names)}")
    return _t(lang, f"Hay {len(rows)} malls. ", f"There are {len(rows)} malls. ") + "; ".join(groups) + "."


ANSWERS: dict[str, Callable[[list[Row], dict[str, Any], str], str]] = {
    "top_risk_guests": top_risk_guests,
    "risk_counts": risk_counts,
    "risk_trend": risk_trend,
    "risk_risers": risk_risers,
    "mall_change": mall_change,
    "guest_explanation": guest_explanation,
    "guest_message": guest_message,
    "guest_history": guest_history,
    "expected_profit": expected_profit,
    "model_card": model_card,
    "realised_vs_predicted": realised_vs_predicted,
    "list_malls": list_malls,
}
