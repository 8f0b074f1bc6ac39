"""Optional Amazon Bedrock fallback (``--llm bedrock``) for questions the local model misses.

The model gets one tool per named query of the catalogue (its parameters as a JSON schema)
and nothing else: it can only *choose* a catalogue query and its parameters, which are
validated and bound exactly as for the local chat.  A request for any other tool is refused
without running anything, and an answer that used no tool is discarded (no number may come
from anywhere but the data).  The boto3 ``bedrock-runtime`` client is passed in.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from c4.chat.data import LakeData, NoDataError
from c4.chat.replies import capabilities
from c4.chat.session import ChatResponse, json_value
from c4.exceptions import QueryError
from c4.queries import QueryResult, catalogue

log = logging.getLogger(__name__)
#: Catalogue queries the model may call (internal lookups such as ``guest_ids`` are left out).
TOOL_QUERIES = (
    "top_risk_guests",
    "riskiest_guests_by_mall",
    "risk_by_mall_over_time",
    "risk_trend",
    "risk_risers",
    "mall_risk_change",
    "risk_counts_by_country",
    "risk_counts_by_mall",
    "guest_latest_prediction",
    "guest_risk_history",
    "realised_vs_predicted",
    "mall_dimension",
    "prediction_dates",
)
_SYSTEM = (
    "You are C4, an analyst assistant for a chain of shopping malls in Chile, Peru and Colombia. "
    "Answer questions about guest churn ONLY with the results of the provided tools, which run fixed, "
    "reviewed SQL queries on the data. Never invent numbers. Dates are YYYY-MM-DD, or 'latest' / "
    "'latest-N' (N days before the latest scoring day). Mall ids look like CL01, PE02, CO03; countries are "
    "CL, PE, CO. Answer briefly in {language}."
)
MAX_ROWS_TO_MODEL = 50


def tool_specs(names: tuple[str, ...] = TOOL_QUERIES) -> list[dict[str, Any]]:
    """Converse ``toolConfig.tools``: one tool per named query, parameters as a JSON schema."""
    queries = catalogue()
    specs = []
    for name in names:
        q = queries[name]
        props = {p.name: p.json_schema() for p in q.params}
        for p in q.params:
            if p.type == "date":
                props[p.name].pop("pattern", None)
        schema = {"type": "object", "properties": props, "required": [p.name for p in q.params if p.required]}
        specs.append(
            {"toolSpec": {"name": name, "description": q.description[:500], "inputSchema": {"json": schema}}}
        )
    return specs


class BedrockFallback:
    """Answer open questions with Bedrock's Converse API restricted to the query catalogue.

    Parameters
    ----------
    client : botocore client
        A ``bedrock-runtime`` client (created by the caller).
    data : LakeData
        Where the tools run.
    model_id : str
        The Bedrock model id.
    max_turns : int
        Model calls allowed per question.
    """

    def __init__(self, client: Any, data: LakeData, *, model_id: str, max_turns: int = 4) -> None:
        self.client = client
        self.data = data
        self.model_id = model_id
        self.max_turns = max_turns
        self.tools = tool_specs()
        self.allowed = {t["toolSpec"]["name"] for t in self.tools}

    def answer(self, question: str, language: str) -> ChatResponse | None:
        """Answer with tool use, refuse an unknown tool, or ``None`` (no tool used / service error)."""
        lang_name = "Spanish" if language == "es" else "English"
        messages: list[dict[str, Any]] = [{"role": "user", "content": [{"text": question}]}]
        last: QueryResult | None = None
        for _ in range(self.max_turns):
            try:
                resp = self.client.converse(
                    modelId=self.model_id,
                    messages=messages,
                    system=[{"text": _SYSTEM.format(language=lang_name)}],
                    toolConfig={"tools": self.tools, "toolChoice": {"auto": {}}},
                    inferenceConfig={"maxTokens": 800, "temperature": 0.0},
                )
            except Exception as exc:  # botocore ClientError / connection errors: fall back to local help
                log.warning("bedrock converse failed: %s", exc)
                return None
            message = resp["output"]["message"]
            messages.append(message)
            uses = [b["toolUse"] for b in message.get("content", []) if "toolUse" in b]
            if resp.get("stopReason") != "tool_use" or not uses:
                text = " ".join(b["text"] for b in message.get("content", []) if "text" in b).strip()
                return self._final(question, language, text, last)
            unknown = [u["name"] for u in uses if u.get("name") not in self.allowed]
            if unknown:
                log.warning("bedrock asked for unknown tool(s) %s: refused", unknown)
                return self._refusal(question, language)
            results = []
            for use in uses:
                content, status, last = self._run_tool(use, last)
                results.append(
                    {"toolResult": {"toolUseId": use["toolUseId"], "content": content, "status": status}}
                )
            messages.append({"role": "user", "content": results})
        return self._refusal(question, language)

    def _run_tool(
        self, use: dict[str, Any], last: QueryResult | None
    ) -> tuple[list[dict[str, Any]], str, QueryResult | None]:
        raw = use.get("input")
        params: dict[str, Any] = raw if isinstance(raw, dict) else {}
        try:
            result = self.data.run(use["name"], params)
        except (QueryError, NoDataError) as exc:
            return [{"text": f"error: {exc}"}], "error", last
        rows = [[json_value(v) for v in r] for r in result.rows[:MAX_ROWS_TO_MODEL]]
        payload = {
            "columns": result.columns,
            "rows": rows,
            "row_count": len(result.rows),
            "parameters": result.parameters,
        }
        return [{"json": json.loads(json.dumps(payload, default=str))}], "success", result

    def _final(
        self, question: str, language: str, text: str, last: QueryResult | None
    ) -> ChatResponse | None:
        if last is None or not text:
            return None  # an answer that used no data is not an answer
        return ChatResponse(
            question,
            language,
            f"llm:{last.name}",
            last.parameters,
            last.sql,
            list(last.columns),
            [[json_value(v) for v in r] for r in last.rows],
            text,
        )

    def _refusal(self, question: str, language: str) -> ChatResponse:
        lead = (
            "No puedo responder eso: solo uso las consultas del catálogo."
            if language == "es"
            else "I can't answer that: I only use the query catalogue."
        )
        return ChatResponse(question, language, "unsupported", answer=lead + "\n" + capabilities(language))
