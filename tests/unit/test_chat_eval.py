"""The chat's evaluation set: intent and parameter accuracy, and answers that match their SQL."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from c4.chat import Chat, ChatResponse, Conversation, LakeData
from c4.engine import connect
from c4.queries.params import RELATIVE_DATE, resolve_relative_date

from tests.chat_fixtures import ChatLake, shared_chat_lake

EVAL = Path(__file__).resolve().parents[1] / "data" / "chat_eval.yaml"
_NUMBER = re.compile(r"(?<![\w.,-])\d[\d.,]*(?![\w-])")
_HEX_ID = re.compile(r"\b[0-9a-f]{8,}…?")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> ChatLake:
    return shared_chat_lake(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def chat(built: ChatLake) -> Chat:
    return Chat(LakeData(built.lake))


def _expand(value: Any, built: ChatLake, previous: list[str], anchors: dict[str, str]) -> Any:
    if not isinstance(value, str):
        return value
    m = re.fullmatch(r"\{guest:(\d+)\}", value)
    if m:
        return built.customer_ids[int(m.group(1))]
    m = re.fullmatch(r"\{previous:(\d+)\}", value)
    if m:
        return previous[int(m.group(1))]
    if RELATIVE_DATE.match(value):
        return resolve_relative_date(value, anchors)
    return value


def _question(text: str, built: ChatLake) -> str:
    return re.sub(r"\{guest:(\d+)\}", lambda m: built.customer_ids[int(m.group(1))][:8], text)


def run_eval(chat: Chat, built: ChatLake) -> list[dict[str, Any]]:
    """Ask every conversation of the evaluation set; one record per turn."""
    groups = yaml.safe_load(EVAL.read_text(encoding="utf-8"))
    anchors = chat.data.anchors
    records = []
    for group in groups:
        conv = Conversation()
        previous: list[str] = []
        for turn in group["turns"]:
            resp = chat.ask(_question(turn["q"], built), conv)
            expected = {
                k: _expand(v, built, previous, anchors) for k, v in (turn.get("params") or {}).items()
            }
            wrong = {
                k: (v, resp.parameters.get(k))
                for k, v in expected.items()
                if k not in resp.parameters or resp.parameters[k] != v
            }
            records.append(
                {
                    "group": group["group"],
                    "q": turn["q"],
                    "resp": resp,
                    "intent_ok": resp.intent == turn["intent"],
                    "expected_intent": turn["intent"],
                    "params_ok": resp.intent == turn["intent"] and not wrong,
                    "wrong": wrong,
                    "has_params": bool(expected),
                    "lang": turn.get("lang"),
                }
            )
            if "customer_id" in resp.columns:
                previous = [str(r[resp.columns.index("customer_id")]) for r in resp.rows]
    return records


@pytest.fixture(scope="module")
def records(chat: Chat, built: ChatLake) -> list[dict[str, Any]]:
    return run_eval(chat, built)


def test_eval_set_is_big_and_bilingual(records: list[dict[str, Any]]) -> None:
    assert len(records) >= 80
    langs = [r["lang"] for r in records if r["lang"]]
    assert langs.count("es") >= len(records) * 0.45
    assert sum(1 for r in records if r["expected_intent"] == "unsupported") >= 8


def test_intent_accuracy(records: list[dict[str, Any]]) -> None:
    misses = [(r["q"], r["expected_intent"], r["resp"].intent) for r in records if not r["intent_ok"]]
    accuracy = 1 - len(misses) / len(records)
    assert accuracy >= 0.95, f"intent accuracy {accuracy:.3f}; misses: {misses}"


def test_parameter_accuracy(records: list[dict[str, Any]]) -> None:
    with_params = [r for r in records if r["has_params"]]
    misses = [(r["q"], r["wrong"], r["resp"].intent) for r in with_params if not r["params_ok"]]
    accuracy = 1 - len(misses) / len(with_params)
    assert len(with_params) >= 60
    assert accuracy >= 0.95, f"parameter accuracy {accuracy:.3f}; misses: {misses}"


def test_language_detection_on_eval(records: list[dict[str, Any]]) -> None:
    labelled = [r for r in records if r["lang"]]
    wrong = [(r["q"], r["resp"].language) for r in labelled if r["resp"].language != r["lang"]]
    assert len(wrong) <= len(labelled) * 0.03, wrong


def _numbers(text: str, lang: str) -> list[float]:
    text = _HEX_ID.sub(" ", text)
    out = []
    for token in _NUMBER.findall(text):
        token = token.rstrip(".,")
        token = token.replace(".", "").replace(",", ".") if lang == "es" else token.replace(",", "")
        out.append(float(token))
    return out


def _candidates(resp: ChatResponse) -> set[float]:
    values: list[float] = [float(len(resp.rows))]
    for row in resp.rows:
        values += [float(v) for v in row if isinstance(v, int | float) and not isinstance(v, bool)]
    values += [
        float(v) for v in resp.parameters.values() if isinstance(v, int | float) and not isinstance(v, bool)
    ]
    for row in resp.rows:  # numbers inside text cells (reasons, messages) are data too
        values += [n for v in row if isinstance(v, str) for n in _numbers(v, resp.language)]
    out: set[float] = set()
    for v in values:
        for scale in (1.0, 100.0):
            for digits in range(5):
                out.add(round(abs(v) * scale, digits))
    return out


def test_numbers_in_answers_come_from_their_sql(records: list[dict[str, Any]], built: ChatLake) -> None:
    con = connect(built.lake)
    checked = 0
    for r in records:
        resp: ChatResponse = r["resp"]
        if not resp.rows or not resp.sql or resp.intent == "model_card":
            continue
        direct = con.execute(resp.sql, resp.parameters).fetchall()
        assert [list(map(_plain, row)) for row in direct] == resp.rows, r["q"]
        candidates = _candidates(resp)
        for number in _numbers(resp.answer, resp.language):
            assert round(number, 4) in candidates, (r["q"], number, resp.answer)
            checked += 1
    assert checked >= 150


def test_model_card_answer_matches_card(records: list[dict[str, Any]], built: ChatLake) -> None:
    card = built.lake.read_json(
        built.lake.read_json("models/champion.json")["version"].join(("models/", "/card.json"))
    )
    resp = next(r["resp"] for r in records if r["resp"].intent == "model_card")
    fields = dict((row[0], row[1]) for row in resp.rows)
    assert fields["version"] == card["version"]
    assert fields["roc_auc"] == card["metrics"]["roc_auc"]
    assert "models/champion.json" in (resp.sql or "")
    for number in _numbers(resp.answer, resp.language):
        assert round(number, 4) in _candidates(resp), number


def _plain(v: Any) -> Any:
    from c4.chat.session import json_value

    return json_value(v)
