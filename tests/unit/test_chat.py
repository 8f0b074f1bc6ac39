"""The chat: language, entities, dates, context, safety, privacy, empty results, CLI, Bedrock."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from c4.chat import Chat, Conversation, LakeData
from c4.chat.bedrock import BedrockFallback, tool_specs
from c4.chat.dates import parse_time, point_day, window
from c4.chat.entities import Dimensions, MallRef, extract
from c4.chat.text import ascii_fold, clean, detect_language
from c4.chat.understand import Clarification, interpret
from c4.cli import app
from c4.engine import connect
from c4.malls import malls_table, select_malls
from c4.queries import run_query
from c4.storage import ZONES, Lake
from typer.testing import CliRunner

from tests.chat_fixtures import RAW_MACS, ChatLake, build_chat_lake, shared_chat_lake

KEYS = ["question", "language", "intent", "parameters", "sql", "columns", "rows", "answer"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> ChatLake:
    return shared_chat_lake(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def data(built: ChatLake) -> LakeData:
    return LakeData(built.lake)


@pytest.fixture(scope="module")
def chat(data: LakeData) -> Chat:
    return Chat(data)


# -- text, language, entities, dates -----------------------------------------------------
@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("¿Qué clientes tienen más riesgo?", "es"),
        ("cuantos clientes en riesgo alto hay por pais", "es"),
        ("Which malls improved the most since last week?", "en"),
        ("top 10 at-risk guests", "en"),
        ("y en Colombia", "es"),
        ("and for Miraflores?", "en"),
        ("what message should we send?", "en"),
        ("¿por qué?", "es"),
    ],
)
def test_language_detection(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_detection_falls_back_to_default_on_a_tie() -> None:
    assert detect_language("CL01", default="en") == "en"
    assert detect_language("CL01") == "es"


def test_clean_removes_invisible_characters_and_folds_width() -> None:
    assert clean("Mira\u200bflores\u202e") == "Miraflores"
    assert clean("ＴＯＰ　１０") == "TOP 10"
    assert ascii_fold("Ñuñoa Bogotá PERÚ") == "nunoa bogota peru"


@pytest.mark.parametrize(
    ("question", "scope"),
    [
        ("clientes en Ñuñoa", {"mall_id": "CL01"}),
        ("clientes en nunoa", {"mall_id": "CL01"}),
        ("guests at Mall Cordillera Nunoa", {"mall_id": "CL01"}),
        ("riesgo en Miraflorez", {"mall_id": "PE01"}),
        ("risk in pe01", {"mall_id": "PE01"}),
        ("risk in Bogota", {"mall_id": "CO01"}),
        ("risk in Medellín", {"mall_id": "CO02"}),
        ("riesgo en Lima", {"city": "Lima"}),
        ("riesgo en santiago", {"city": "Santiago"}),
        ("risk in Perú", {"country": "PE"}),
        ("risk in colombai", {"country": "CO"}),
        ("clientes chilenos", {"country": "CL"}),
        ("ＭＩＲＡＦＬＯＲＥＳ", {"mall_id": "PE01"}),
        ("Mira\u200bflores", {"mall_id": "PE01"}),
        ("how are things", {}),
    ],
)
def test_scopes_resolve_against_the_malls_table(data: LakeData, question: str, scope: dict[str, str]) -> None:
    ents = extract(question, data.dims)
    got = {k: v for k, v in ents.scope.params().items() if v}
    assert got == scope


def test_numbers_shares_and_guest_prefixes(data: LakeData, built: ChatLake) -> None:
    guest = built.customer_ids[42]
    ents = extract(f"top 7 guests like {guest[:9]} and the 15% riskiest", data.dims)
    assert ents.limit == 7 and ents.share == pytest.approx(0.15)
    assert ents.guest is not None and ents.guest.customer_id == guest
    assert extract("los diez clientes", data.dims).limit == 10
    assert extract("al 20 por ciento", data.dims).share == pytest.approx(0.2)
    assert extract("last 30 days", data.dims).limit is None


def test_relative_dates_resolve_against_the_data() -> None:
    first, latest = "2025-05-27", "2025-06-30"
    assert point_day(parse_time("hoy"), first, latest) == latest
    assert point_day(parse_time("ayer"), first, latest) == "2025-06-29"
    assert point_day(parse_time("esta semana"), first, latest) == latest
    assert point_day(parse_time("last week"), first, latest) == "2025-06-23"
    assert window(parse_time("since last week"), first, latest, 30) == ("2025-06-23", latest)
    assert window(parse_time("el último mes"), first, latest, 7) == ("2025-05-31", latest)
    assert window(parse_time("last 3 months"), first, latest, 7) == (first, latest)  # clamped to the data
    assert window(parse_time("últimas dos semanas"), first, latest, 7) == ("2025-06-16", latest)
    assert window(parse_time("from 2025-06-01 to 2025-06-10"), first, latest, 7) == (
        "2025-06-01",
        "2025-06-10",
    )
    assert parse_time("which malls are best").is_empty


def test_ambiguous_and_unknown_guest_prefixes() -> None:
    malls = [MallRef("CL01", "Mall Cordillera Ñuñoa", "Ñuñoa", "CL", "Chile", "Santiago")]
    ids = ["abc123" + "0" * 58, "abc123" + "1" * 58, "def456" + "2" * 58]
    dims = Dimensions(malls, ids)
    amb = interpret("¿por qué abc123 está en riesgo?", dims, Conversation())
    assert isinstance(amb, Clarification) and amb.kind == "ambiguous_guest" and len(amb.candidates) == 2
    unknown = interpret("why is 99ff88ee at risk?", dims, Conversation())
    assert isinstance(unknown, Clarification) and unknown.kind == "unknown_guest"
    ok = interpret("why is def456 at risk?", dims, Conversation())
    assert not isinstance(ok, Clarification) and ok.customer_id == ids[2]


# -- conversations -------------------------------------------------------------------------
def test_context_carries_across_turns(chat: Chat) -> None:
    conv = Conversation()
    first = chat.ask("Top 5 at-risk guests in Peru", conv)
    assert first.intent == "top_risk_guests" and first.parameters["country"] == "PE" and len(first.rows) == 5
    second = chat.ask("¿y en Colombia?", conv)
    assert second.intent == "top_risk_guests" and second.parameters["country"] == "CO"
    assert second.parameters["limit"] == 5 and second.language == "es"
    assert {r[second.columns.index("country")] for r in second.rows} == {"CO"}
    third = chat.ask("why is the first one at risk?", conv)
    assert third.intent == "guest_explanation"
    assert third.parameters["customer_id"] == second.rows[0][second.columns.index("customer_id")]
    fourth = chat.ask("¿y qué mensaje le mandamos?", conv)
    assert (
        fourth.intent == "guest_message"
        and fourth.parameters["customer_id"] == third.parameters["customer_id"]
    )


def test_followup_without_context_is_not_guessed(chat: Chat) -> None:
    resp = chat.ask("¿y en Colombia?", Conversation())
    assert resp.intent == "unsupported" and not resp.rows and resp.sql is None


def test_unknown_mall_is_said_not_guessed(chat: Chat) -> None:
    for q in ("riesgo en el Mall Temuco", "Top guests at Plaza Arequipa Cayma", "clientes de Mall Aurora"):
        resp = chat.ask(q)
        assert resp.intent == "clarify" and not resp.rows, q


def test_empty_results_get_a_plain_answer(chat: Chat) -> None:
    resp = chat.ask("top 10 guests at risk in Miraflores on 2025-01-15")
    assert resp.intent == "top_risk_guests" and resp.rows == [] and resp.parameters["dt"] == "2025-01-15"
    assert "no predictions" in resp.answer.lower()
    es = chat.ask("¿qué clientes de Miraflores tienen más riesgo el 2024-12-01?")
    assert es.rows == [] and "no hay predicciones" in es.answer.lower()


def test_lake_without_predictions(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "empty"))
    lake.write_parquet("curated/malls/malls.parquet", malls_table(select_malls(3)))
    bot = Chat(LakeData(lake))
    resp = bot.ask("Top 10 at-risk guests in Peru")
    assert resp.intent == "no_data" and not resp.rows
    assert "no churn predictions" in resp.answer
    malls = bot.ask("which malls are there?")
    assert malls.intent == "list_malls" and len(malls.rows) == 3
    card = bot.ask("how good is the model?")
    assert card.intent == "no_data"


# -- safety and privacy ----------------------------------------------------------------------
INJECTIONS = [
    "'; DROP TABLE churn_predictions; --",
    "Top 10 guests in Peru'; DROP TABLE malls; --",
    '" OR 1=1 --',
    "clientes de Miraflores' OR '1'='1",
    "¿Por qué el cliente 1234abcd'; DELETE FROM sessions; -- está en riesgo?",
    "show guests UNION SELECT * FROM read_parquet('raw/**')",
    "riesgo en Mira\u200bflores\u202e; ATTACH 'x.db'",
    "top 10 guests in ＰＥＲＵ；ＤＲＯＰ ＴＡＢＬＥ ｍａｌｌｓ",
    "riskiest guests in Mirаflores",  # Cyrillic 'а'
    "clientes en CL01 -- comentario",
    "{{mall_id}} $mall_id ? %s",
]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> ChatLake:
    return build_chat_lake(tmp_path_factory.mktemp("small") / "lake", n_malls=3, n_guests=150, n_days=10)


def _all_files(lake: Lake) -> list[tuple[str, int]]:
    files = [f for zone in ZONES for f in lake.list_files(zone)]
    return [(f, len(lake.read_bytes(f))) for f in files]


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("select the riskiest guests from Lima", "top_risk_guests"),
        ("Hola; ¿qué malls hay?", "list_malls"),
        ("which guests should we update first in Peru?", "top_risk_guests"),
    ],
)
def test_plain_words_that_look_like_sql_are_not_refused(chat: Chat, question: str, intent: str) -> None:
    assert chat.ask(question).intent == intent


@pytest.mark.parametrize("question", INJECTIONS)
def test_injection_attempts_are_answered_safely(small: ChatLake, question: str) -> None:
    built = small
    before = _all_files(built.lake)
    bot = Chat(LakeData(built.lake))
    resp = bot.ask(question)
    assert resp.intent in ("unsupported", "clarify", "top_risk_guests", "guest_explanation")
    if resp.sql:
        from c4.queries import catalogue

        assert resp.sql in {q.sql for q in catalogue().values()}
        for value in resp.parameters.values():
            assert not isinstance(value, str) or not any(bad in value for bad in ("'", '"', ";", "--", " "))
    assert _all_files(built.lake) == before
    con = connect(built.lake)
    assert con.execute("SELECT count(*) FROM churn_predictions").fetchall() == [(built.prediction_rows,)]
    assert con.execute("SELECT count(*) FROM malls").fetchall() == [(3,)]


def test_no_code_path_reads_raw_or_truth(built: ChatLake, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    for name in ("read_bytes", "open_input", "dataset", "list_files"):
        original = getattr(Lake, name)

        def spy(self: Lake, rel: str, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            opened.append(rel)
            return _original(self, rel, *args, **kwargs)

        monkeypatch.setattr(Lake, name, spy)
    bot = Chat(LakeData(built.lake))
    conv = Conversation()
    answers = [
        bot.ask(q, conv)
        for q in (
            "Top 10 at-risk guests in Peru",
            "why is the first one at risk?",
            "what message should we send them?",
            "¿Se cumplieron las predicciones?",
            "How good is the model?",
            "¿Cuál es la ganancia esperada?",
            "show me the raw MAC addresses of the guests",
            "What's in truth/guests.parquet?",
        )
    ]
    assert opened and not [p for p in opened if p.startswith(("raw", "truth"))]
    text = json.dumps([a.to_dict() for a in answers], ensure_ascii=False).lower()
    assert not any(mac in text for mac in RAW_MACS)
    assert "a4:5e:60" not in text


# -- command line ------------------------------------------------------------------------------
def test_ask_json_has_exactly_the_documented_keys(built: ChatLake) -> None:
    result = CliRunner().invoke(
        app,
        [
            "ask",
            "¿Cuántos clientes en riesgo alto hay por país?",
            "--lake",
            built.lake.uri,
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert list(out) == KEYS
    assert out["intent"] == "risk_counts" and out["language"] == "es"
    assert out["columns"][0] == "country" and len(out["rows"]) == 3
    assert "FROM churn_predictions" in out["sql"]


def test_ask_text_shows_answer_and_sql(built: ChatLake) -> None:
    result = CliRunner().invoke(
        app, ["ask", "Which malls improved the most since last week?", "--lake", built.lake.uri]
    )
    assert result.exit_code == 0, result.output
    assert "improved most" in result.stdout and "mall_risk_change" not in result.stdout
    assert "ORDER BY" in result.stdout
    # the SQL and its parameters are printed dim, not wrapped in literal Rich tags
    assert "[dim]" not in result.stdout and "[/dim]" not in result.stdout
    assert "intent " in result.stdout and " · parameters " in result.stdout


def test_chat_shows_sql_without_markup_tags(built: ChatLake) -> None:
    lines = "Top 5 at-risk guests in Peru\nsalir\n"
    result = CliRunner().invoke(
        app, ["chat", "--lake", built.lake.uri, "--sql", "--no-snapshot"], input=lines
    )
    assert result.exit_code == 0, result.output
    assert "FROM churn_predictions" in result.stdout
    assert "[dim]" not in result.stdout and "[/dim]" not in result.stdout


def test_chat_command_keeps_context(built: ChatLake) -> None:
    lines = "Top 5 at-risk guests in Peru\nand for Miraflores?\n¿y en Colombia?\nsalir\n"
    result = CliRunner().invoke(
        app, ["chat", "--lake", built.lake.uri, "--no-sql", "--no-snapshot"], input=lines
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "The 5 guests most at risk in Peru" in out
    assert "The 5 guests most at risk in Plaza Miraflores" in out
    assert "Los 5 clientes con más riesgo en Colombia" in out
    assert "Bye!" in out


# -- Bedrock (Converse tool use), stubbed ---------------------------------------------------------
def _converse(content: list[dict[str, Any]], stop: str) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop,
        "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
        "metrics": {"latencyMs": 5},
    }


def _client() -> Any:
    return boto3.client(
        "bedrock-runtime", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )


def test_tool_specs_cover_the_catalogue_queries() -> None:
    specs = {t["toolSpec"]["name"]: t["toolSpec"] for t in tool_specs()}
    assert "top_risk_guests" in specs and "guest_ids" not in specs
    schema = specs["top_risk_guests"]["inputSchema"]["json"]
    assert schema["properties"]["country"]["enum"] == ["CL", "PE", "CO"]
    assert schema["properties"]["limit"]["maximum"] == 1000
    assert specs["guest_latest_prediction"]["inputSchema"]["json"]["required"] == ["customer_id"]


def test_bedrock_tool_use_round_trip(data: LakeData) -> None:
    client = _client()
    fallback = BedrockFallback(client, data, model_id="test-model")
    with Stubber(client) as stub:
        stub.add_response(
            "converse",
            _converse(
                [
                    {
                        "toolUse": {
                            "toolUseId": "t1",
                            "name": "top_risk_guests",
                            "input": {"country": "PE", "limit": 3},
                        }
                    }
                ],
                "tool_use",
            ),
            {
                "modelId": "test-model",
                "messages": ANY,
                "system": ANY,
                "toolConfig": ANY,
                "inferenceConfig": ANY,
            },
        )
        stub.add_response(
            "converse",
            _converse([{"text": "Los 3 clientes más riesgosos de Perú son ..."}], "end_turn"),
            None,
        )
        resp = fallback.answer("dime algo sobre los peruanos más riesgosos", "es")
        stub.assert_no_pending_responses()
    assert resp is not None and resp.intent == "llm:top_risk_guests"
    direct = run_query(data.con, "top_risk_guests", {"country": "PE", "limit": 3}, anchors=data.anchors)
    assert [r[1] for r in resp.rows] == [r[1] for r in direct.rows]
    assert resp.sql == direct.sql and resp.answer.startswith("Los 3 clientes")


def test_bedrock_unknown_tool_is_refused(data: LakeData) -> None:
    client = _client()
    fallback = BedrockFallback(client, data, model_id="test-model")
    with Stubber(client) as stub:
        stub.add_response(
            "converse",
            _converse(
                [{"toolUse": {"toolUseId": "t1", "name": "run_sql", "input": {"sql": "DROP TABLE malls"}}}],
                "tool_use",
            ),
            None,
        )
        resp = fallback.answer("borra todo", "es")
        stub.assert_no_pending_responses()
    assert resp is not None and resp.intent == "unsupported" and not resp.rows and resp.sql is None
    assert "catálogo" in resp.answer


def test_bedrock_answer_without_data_is_discarded(data: LakeData) -> None:
    client = _client()
    bot = Chat(data, llm=BedrockFallback(client, data, model_id="test-model"))
    with Stubber(client) as stub:
        stub.add_response(
            "converse", _converse([{"text": "Churn will be 12.3% next month."}], "end_turn"), None
        )
        resp = bot.ask("predict next month's churn for the whole company please")
        stub.assert_no_pending_responses()
    assert resp.intent == "unsupported" and "12.3" not in resp.answer


def test_bedrock_invalid_tool_input_is_an_error_result(data: LakeData) -> None:
    client = _client()
    fallback = BedrockFallback(client, data, model_id="test-model")
    with Stubber(client) as stub:
        stub.add_response(
            "converse",
            _converse(
                [
                    {
                        "toolUse": {
                            "toolUseId": "t1",
                            "name": "top_risk_guests",
                            "input": {"mall_id": "CL01'; DROP TABLE malls; --"},
                        }
                    }
                ],
                "tool_use",
            ),
            None,
        )
        stub.add_response("converse", _converse([{"text": "No pude obtener datos."}], "end_turn"), None)
        assert fallback.answer("riesgo", "es") is None
        stub.assert_no_pending_responses()
