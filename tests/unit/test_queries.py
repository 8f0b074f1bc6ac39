"""The named-query catalogue: parsing, validation, DuckDB runs on a real lake, Athena rendering."""

from __future__ import annotations

import json
from typing import Any

import duckdb
import pandas as pd
import pytest
import sqlglot
from c4.cli import app
from c4.engine import connect
from c4.exceptions import QueryError
from c4.queries import (
    athena_execution_parameters,
    catalogue,
    date_anchors,
    get_query,
    placeholders,
    render_athena,
    run_query,
)
from c4.queries.catalogue import parse_query
from typer.testing import CliRunner

from tests.chat_fixtures import PROFIT_PARAMS, ChatLake, shared_chat_lake

ANALYST_QUERIES = (
    "riskiest_guests_by_mall",
    "risk_by_mall_over_time",
    "risk_risers",
    "realised_vs_predicted",
    "realised_vs_predicted_by_day",
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> ChatLake:
    return shared_chat_lake(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def con(built: ChatLake) -> duckdb.DuckDBPyConnection:
    c = connect(built.lake)
    c.execute("SET enable_progress_bar = false")
    return c


@pytest.fixture(scope="module")
def preds(built: ChatLake) -> pd.DataFrame:
    df = built.lake.read_parquet("predictions/churn_predictions").to_pandas()
    df["dt"] = df["dt"].astype(str)
    df["mall_id"] = df["mall_id"].astype(str)
    malls = built.lake.read_parquet("curated/malls").to_pandas()[["mall_id", "country", "city"]]
    return df.merge(malls, on="mall_id")


def required_params(name: str, built: ChatLake) -> dict[str, Any]:
    q = get_query(name)
    values: dict[str, Any] = {}
    for p in q.params:
        if not p.required:
            continue
        if p.name == "customer_id":
            values[p.name] = built.customer_ids[0]
        elif p.name == "prefix":
            values[p.name] = built.customer_ids[0][:6]
        elif p.name == "horizon_days":
            values[p.name] = 14
        elif p.name.endswith(("offer_cost", "success_rate", "guest_value")):
            code, key = p.name[:2].upper(), p.name[3:]
            values[p.name] = PROFIT_PARAMS[code][key]
    return values


def test_catalogue_has_the_analyst_and_chat_queries() -> None:
    names = set(catalogue())
    assert set(ANALYST_QUERIES) <= names
    assert {
        "top_risk_guests",
        "risk_trend",
        "mall_risk_change",
        "risk_counts_by_country",
        "risk_counts_by_mall",
        "guest_latest_prediction",
        "expected_profit",
        "mall_dimension",
        "guest_ids",
    } <= names
    for q in catalogue().values():
        assert q.description and not q.description.startswith("@param"), q.name
        assert set(placeholders(q.sql)) == set(q.param_names), q.name
        assert "raw/" not in q.sql and "truth" not in q.sql and "source_file" not in q.sql, q.name


@pytest.mark.parametrize("name", sorted(catalogue()))
def test_each_query_runs_on_duckdb_and_parses_as_trino(
    name: str, built: ChatLake, con: duckdb.DuckDBPyConnection
) -> None:
    result = run_query(con, name, required_params(name, built))
    assert result.columns
    sql, order = render_athena(get_query(name))
    assert "$" not in sql.replace("'$'", "")
    assert sql.count("?") == len(order)
    parsed = sqlglot.parse_one(sql, read="trino")
    assert parsed.find(sqlglot.exp.Select) is not None
    if name not in ("guest_lookup",):
        assert result.rows, f"{name} returned nothing on the fixture lake"


def test_athena_parameters_are_positional_literals_in_order() -> None:
    values = athena_execution_parameters(
        "top_risk_guests", {"dt": "2025-06-30", "country": "pe", "limit": "5"}
    )
    _sql, order = render_athena("top_risk_guests")
    assert order[0] == "dt" and order.count("mall_id") == 2
    expected = {"dt": "'2025-06-30'", "mall_id": "NULL", "city": "NULL", "country": "'PE'", "limit": "5"}
    assert values == [expected[n] for n in order]


def test_relative_dates_resolve_against_the_data(built: ChatLake, con: duckdb.DuckDBPyConnection) -> None:
    anchors = date_anchors(con)
    assert anchors == {"first": built.first_dt, "latest": built.last_dt}
    result = run_query(con, "risk_risers", {"start_dt": "latest-7"})
    assert result.parameters["start_dt"] == "2025-06-23" and result.parameters["end_dt"] == "2025-06-30"
    with pytest.raises(QueryError, match="relative date"):
        get_query("top_risk_guests").bind({"dt": "latest"})


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"mall_id": "CL01'; DROP TABLE malls; --"}, "not a valid mall_id"),
        ({"country": "' OR 1=1 --"}, "not a valid country"),
        ({"limit": "10; DROP TABLE malls"}, "integer"),
        ({"limit": 0}, "between"),
        ({"dt": "2025-02-30"}, "date"),
        ({"city": "Lima') OR ('1'='1"}, "not a valid city"),
        ({"mall_id": "CL\u200b01"}, "invisible"),
        ({"nope": 1}, "no parameter"),
    ],
)
def test_invalid_parameters_are_rejected(params: dict[str, Any], message: str) -> None:
    with pytest.raises(QueryError, match=message):
        get_query("top_risk_guests").bind(params, {"first": "2025-06-01", "latest": "2025-06-30"})


def test_customer_id_must_be_hex() -> None:
    q = get_query("guest_latest_prediction")
    with pytest.raises(QueryError):
        q.bind({"customer_id": "abc' OR '1'='1"}, {"first": "2025-06-01", "latest": "2025-06-30"})
    assert (
        q.bind({"customer_id": "ABCDEF12"}, {"first": "2025-06-01", "latest": "2025-06-30"})["customer_id"]
        == "abcdef12"
    )


def test_malformed_query_files_are_refused() -> None:
    with pytest.raises(QueryError, match="describing"):
        parse_query("x", "SELECT 1")
    with pytest.raises(QueryError, match="differ"):
        parse_query("x", "-- d\n-- @param a: int\nSELECT $b")
    with pytest.raises(QueryError, match="unknown parameter type"):
        parse_query("x", "-- d\n-- @param a: sql\nSELECT $a")


def test_top_risk_guests_matches_pandas(
    built: ChatLake, con: duckdb.DuckDBPyConnection, preds: pd.DataFrame
) -> None:
    result = run_query(con, "top_risk_guests", {"country": "PE", "limit": 7})
    day = preds[(preds.dt == built.last_dt) & (preds.country == "PE")]
    expected = day.sort_values(["churn_probability", "customer_id"], ascending=[False, True]).head(7)
    assert [r[1] for r in result.rows] == list(expected.customer_id)
    assert [r[6] for r in result.rows] == [round(p, 4) for p in expected.churn_probability]
    assert [r[0] for r in result.rows] == list(range(1, 8))


def test_risk_counts_add_up(built: ChatLake, con: duckdb.DuckDBPyConnection, preds: pd.DataFrame) -> None:
    result = run_query(con, "risk_counts_by_country", {})
    rows = [dict(zip(result.columns, r, strict=True)) for r in result.rows]
    day = preds[preds.dt == built.last_dt]
    assert sum(r["guests"] for r in rows) == len(day)
    for r in rows:
        sub = day[day.country == r["country"]]
        assert r["alto"] == int((sub.risk_band == "alto").sum())
        assert r["alto"] + r["medio"] + r["bajo"] == r["guests"]


def test_expected_profit_matches_pandas(
    built: ChatLake, con: duckdb.DuckDBPyConnection, preds: pd.DataFrame
) -> None:
    params = required_params("expected_profit", built) | {"share": 0.1}
    result = run_query(con, "expected_profit", params)
    day = preds[preds.dt == built.last_dt].sort_values(
        ["churn_probability", "customer_id"], ascending=[False, True]
    )
    top = day.head(-(-len(day) // 10))
    for row in result.rows:
        r = dict(zip(result.columns, row, strict=True))
        sub = top[top.country == r["country"]]
        pp = PROFIT_PARAMS[r["country"]]
        expected = (sub.churn_probability * pp["success_rate"] * pp["guest_value"] - pp["offer_cost"]).sum()
        assert r["contacted"] == len(sub)
        assert r["expected_profit"] == pytest.approx(expected, abs=0.01)
    assert sum(dict(zip(result.columns, r, strict=True))["contacted"] for r in result.rows) == len(top)


def test_risers_and_mall_change_are_ordered(con: duckdb.DuckDBPyConnection) -> None:
    risers = run_query(con, "risk_risers", {"limit": 20})
    rises = [r[risers.columns.index("rise")] for r in risers.rows]
    assert rises == sorted(rises, reverse=True) and all(x > 0 for x in rises)
    improved = run_query(con, "mall_risk_change", {"worst_first": 0})
    worst = run_query(con, "mall_risk_change", {"worst_first": 1})
    changes = [r[improved.columns.index("change")] for r in improved.rows]
    assert changes == sorted(changes)
    assert [r[0] for r in worst.rows] == [r[0] for r in improved.rows][::-1]


def test_realised_vs_predicted_matches_pandas(
    built: ChatLake, con: duckdb.DuckDBPyConnection, preds: pd.DataFrame
) -> None:
    result = run_query(con, "realised_vs_predicted", {"horizon_days": 14})
    sessions = (
        built.lake.read_parquet("curated/sessions").to_pandas()[["customer_id", "dt"]].drop_duplicates()
    )
    sessions["dt"] = sessions["dt"].astype(str)
    last_visit_day = sessions["dt"].max()
    horizon_end = (pd.to_datetime(preds["dt"]) + pd.Timedelta(days=14)).map(lambda t: t.strftime("%Y-%m-%d"))
    matured = preds[horizon_end <= last_visit_day]
    alto = matured[matured.risk_band == "alto"]
    visits = sessions.groupby("customer_id")["dt"].apply(sorted).to_dict()

    def churned(customer_id: str, day: str) -> bool:
        end = (pd.Timestamp(day) + pd.Timedelta(days=14)).strftime("%Y-%m-%d")
        return not any(day < d <= end for d in visits.get(customer_id, []))

    rate = sum(churned(c, d) for c, d in zip(alto["customer_id"], alto["dt"], strict=True)) / len(alto)
    row = dict(zip(result.columns, result.rows[0], strict=True))
    assert row["risk_band"] == "alto" and row["predictions"] == len(alto)
    assert row["realised_churn_rate"] == pytest.approx(round(rate, 4), abs=1e-4)
    assert row["last_dt"] <= (pd.Timestamp(last_visit_day) - pd.Timedelta(days=14)).strftime("%Y-%m-%d")


def test_cli_queries_list_run_and_athena(built: ChatLake) -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["queries", "list", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert {q["name"] for q in json.loads(listed.stdout)} == set(catalogue())
    ran = runner.invoke(
        app,
        [
            "queries",
            "run",
            "top_risk_guests",
            "--param",
            "country=CO",
            "--param",
            "limit=3",
            "--lake",
            built.lake.uri,
            "--format",
            "json",
        ],
    )
    assert ran.exit_code == 0, ran.output
    out = json.loads(ran.stdout)
    assert len(out["rows"]) == 3 and {r["country"] for r in out["rows"]} == {"CO"}
    bad = runner.invoke(
        app, ["queries", "run", "top_risk_guests", "--param", "mall_id=x' OR 1=1", "--lake", built.lake.uri]
    )
    assert bad.exit_code == 2
    athena = runner.invoke(app, ["queries", "athena", "risk_trend"])
    assert (
        athena.exit_code == 0 and "?" in athena.stdout and "$" not in athena.stdout.split("-- Execution")[0]
    )
