"""The contextual chat: a question in, an answer from the data out (with the table and SQL).

``question -> entities and intent (local model) -> a catalogue query with bound, validated
parameters -> a short answer in the user's language``.  Free text never becomes SQL.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from c4.chat.answers import ANSWERS, scope_label
from c4.chat.data import LakeData, NoDataError
from c4.chat.plan import Plan, PlanError, plan
from c4.chat.replies import clarification
from c4.chat.text import clean
from c4.chat.understand import Clarification, Conversation, Request, interpret, remember
from c4.exceptions import QueryError

log = logging.getLogger(__name__)
MAX_QUESTION = 500


@dataclass
class ChatResponse:
    """One answer, as ``c4 ask --format json`` prints it."""

    question: str
    language: str
    intent: str
    parameters: dict[str, Any] = field(default_factory=dict)
    sql: str | None = None
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    answer: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The response as a JSON-ready dict (keys exactly as documented)."""
        return asdict(self)


def json_value(value: Any) -> Any:
    """A JSON-friendly form of a DuckDB value (dates as ISO text, decimals as floats)."""
    if isinstance(value, _dt.datetime | _dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


class Chat:
    """A chat over one lake.

    Parameters
    ----------
    data : LakeData
        The lake access (one DuckDB connection).
    llm : object, optional
        A fallback for questions the local model does not recognise, with
        ``answer(question, language) -> ChatResponse | None`` (see :mod:`c4.chat.bedrock`).
    """

    def __init__(self, data: LakeData, *, llm: Any = None) -> None:
        self.data = data
        self.llm = llm

    def ask(self, question: str, conversation: Conversation | None = None) -> ChatResponse:
        """Answer one question, in the context of (and updating) a conversation.

        Parameters
        ----------
        question : str
            The user's text.
        conversation : Conversation, optional
            The conversation; a fresh one when omitted (no context).

        Returns
        -------
        ChatResponse
        """
        conv = conversation if conversation is not None else Conversation()
        text = clean(question)[:MAX_QUESTION]
        understood = interpret(text, self.data.dims, conv)
        if isinstance(understood, Clarification):
            if understood.kind == "unsupported" and self.llm is not None:
                answered = self.llm.answer(text, understood.language)
                if answered is not None:
                    return answered
            conv.language = understood.language
            return self._reply(text, understood)
        return self._answer(text, understood, conv)

    def _reply(self, text: str, c: Clarification) -> ChatResponse:
        if c.kind in ("unsupported", "unsafe", "no_context"):
            intent = "unsupported"
        elif c.kind in ("no_data", "no_card", "no_profit_params"):
            intent = "no_data"
        else:
            intent = "clarify"
        return ChatResponse(text, c.language, intent, answer=clarification(c))

    def _answer(self, text: str, req: Request, conv: Conversation) -> ChatResponse:
        needs_predictions = req.intent not in ("model_card", "list_malls")
        if needs_predictions and not self.data.has_predictions:
            return self._reply(text, Clarification("no_data", req.language, intent=req.intent))
        card, card_sql = None, ""
        if req.intent in ("model_card", "expected_profit", "realised_vs_predicted"):
            try:
                card, card_sql = self.data.model_card()
            except NoDataError:
                return self._reply(text, Clarification("no_card", req.language, intent=req.intent))
        try:
            p = plan(req, self.data.anchors or {"first": "", "latest": ""}, card, self._city_country())
        except PlanError as exc:
            return self._reply(text, Clarification(exc.kind, req.language, intent=req.intent))
        if p.query is None:
            columns, rows, sql, params = (
                ["field", "value"],
                _card_rows(card or {}),
                card_sql,
                {"version": (card or {}).get("version")},
            )
        else:
            try:
                result = self.data.run(p.query, p.params)
            except (QueryError, NoDataError) as exc:
                log.warning("query %s failed: %s", p.query, exc)
                return self._reply(text, Clarification("no_data", req.language, intent=req.intent))
            columns, rows, sql, params = result.columns, result.rows, result.sql, result.parameters
        answer = self._phrase(req, p, columns, rows, params)
        guests = [str(r[columns.index("customer_id")]) for r in rows] if "customer_id" in columns else []
        remember(conv, req, guests)
        return ChatResponse(
            text,
            req.language,
            req.intent,
            params,
            sql,
            list(columns),
            [[json_value(v) for v in r] for r in rows],
            answer,
        )

    def _phrase(
        self, req: Request, p: Plan, columns: list[str], rows: list[Any], params: dict[str, Any]
    ) -> str:
        dict_rows = [dict(zip(columns, r, strict=True)) for r in rows]
        ctx = {"params": params, "scope_label": scope_label(req.scope, req.language, self.data.dims)}
        return ANSWERS[p.intent](dict_rows, ctx, req.language)

    def _city_country(self) -> dict[str, str]:
        return {m.city: m.country for m in self.data.dims.malls.values()}


def _card_rows(card: dict[str, Any]) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [
        (k, card.get(k)) for k in ("version", "trained_at", "horizon_days", "threshold")
    ]
    metrics = card.get("metrics") or {}
    rows += [(str(k), v) for k, v in metrics.items() if isinstance(v, int | float)]
    if isinstance(card.get("oracle_share"), int | float):
        rows.append(("oracle_share", card["oracle_share"]))
    return rows
