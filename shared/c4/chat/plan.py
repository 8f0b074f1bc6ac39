"""From a request to a catalogue query and its parameters (relative dates resolved).

Every intent maps to exactly one named query of :mod:`c4.queries` (the model-card intent
reads the registry JSON instead).  Parameters are built from resolved slots only: mall ids
from the ``malls`` table, guest ids from the predictions, dates from the data's own scoring
days, numbers as ``int``/``float``; the query's validators check them again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from c4.chat.dates import point_day, window
from c4.chat.understand import Request
from c4.malls import COUNTRIES

DEFAULT_LIMIT = 10
DEFAULT_SHARE = 0.1
TREND_DAYS = 30
CHANGE_DAYS = 7


class PlanError(Exception):
    """A request that cannot be turned into a query (e.g. no model card for profit)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class Plan:
    """What to run: a named query (or the model card) and its parameters."""

    intent: str
    query: str | None
    params: dict[str, Any]


def _profit_params(card: dict[str, Any] | None) -> dict[str, float]:
    params = (card or {}).get("profit_params") or {}
    out: dict[str, float] = {}
    for code in COUNTRIES:
        country = params.get(code) or {}
        for key in ("offer_cost", "success_rate", "guest_value"):
            if key not in country:
                raise PlanError("no_profit_params")
            out[f"{code.lower()}_{key}"] = float(country[key])
    return out


def plan(
    req: Request,
    anchors: dict[str, str],
    card: dict[str, Any] | None = None,
    city_country: dict[str, str] | None = None,
) -> Plan:
    """Choose the query and build its parameters.

    Parameters
    ----------
    req : Request
        The understood question.
    anchors : dict
        ``first`` and ``latest`` scoring days of the data.
    card : dict, optional
        The champion model card (needed for profit and realised-versus-predicted).
    city_country : dict, optional
        Country of each city, for queries that filter by country but not by city.

    Raises
    ------
    PlanError
        When a needed input (model card, profit parameters) is missing.
    """
    first, latest = anchors["first"], anchors["latest"]
    scope = req.scope.params()
    country_of_city = city_country.get(scope["city"]) if scope["city"] and city_country else None
    intent = req.intent
    if intent == "top_risk_guests":
        return Plan(
            intent,
            "top_risk_guests",
            {"dt": point_day(req.time, first, latest), **scope, "limit": req.limit or DEFAULT_LIMIT},
        )
    if intent == "risk_counts":
        dt = point_day(req.time, first, latest)
        if req.by_mall or scope["mall_id"] or scope["city"]:
            return Plan(intent, "risk_counts_by_mall", {"dt": dt, **scope})
        return Plan(intent, "risk_counts_by_country", {"dt": dt, "country": scope["country"]})
    if intent == "risk_trend":
        start, end = window(req.time, first, latest, TREND_DAYS)
        return Plan(intent, "risk_trend", {"start_dt": start, "end_dt": end, **scope})
    if intent == "risk_risers":
        start, end = window(req.time, first, latest, CHANGE_DAYS)
        return Plan(
            intent,
            "risk_risers",
            {"start_dt": start, "end_dt": end, **scope, "limit": req.limit or DEFAULT_LIMIT},
        )
    if intent == "mall_change":
        start, end = window(req.time, first, latest, CHANGE_DAYS)
        country = scope["country"] or country_of_city
        return Plan(
            intent,
            "mall_risk_change",
            {"start_dt": start, "end_dt": end, "country": country, "worst_first": req.worst_first},
        )
    if intent in ("guest_explanation", "guest_message"):
        return Plan(
            intent,
            "guest_latest_prediction",
            {"customer_id": req.customer_id, "dt": point_day(req.time, first, latest)},
        )
    if intent == "guest_history":
        start, end = window(req.time, first, latest, 10_000) if not req.time.is_empty else (first, latest)
        return Plan(
            intent, "guest_risk_history", {"customer_id": req.customer_id, "start_dt": start, "end_dt": end}
        )
    if intent == "expected_profit":
        return Plan(
            intent,
            "expected_profit",
            {
                "share": req.share or DEFAULT_SHARE,
                "dt": point_day(req.time, first, latest),
                **scope,
                **_profit_params(card),
            },
        )
    if intent == "realised_vs_predicted":
        if not card or not isinstance(card.get("horizon_days"), int):
            raise PlanError("no_card")
        start, end = (first, latest) if req.time.is_empty else window(req.time, first, latest, 10_000)
        return Plan(
            intent,
            "realised_vs_predicted",
            {
                "horizon_days": card["horizon_days"],
                "start_dt": start,
                "end_dt": end,
                "mall_id": scope["mall_id"],
                "country": scope["country"] or country_of_city,
            },
        )
    if intent == "model_card":
        return Plan(intent, None, {})
    if intent == "list_malls":
        return Plan(intent, "mall_dimension", {})
    raise PlanError("unsupported")
