"""Athena workgroup, named queries from the c4.queries catalogue, and the dashboard."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]


def test_workgroup_enforces_encrypted_results(dev: Any) -> None:
    _, wg = dev.one("AWS::Athena::WorkGroup")
    props = wg["Properties"]
    conf = props["WorkGroupConfiguration"]
    assert props["Name"] == "c4-dev"
    assert conf["EnforceWorkGroupConfiguration"] is True
    assert conf["PublishCloudWatchMetricsEnabled"] is True
    result = conf["ResultConfiguration"]
    assert result["EncryptionConfiguration"]["EncryptionOption"] == "SSE_KMS"
    assert result["OutputLocation"] == {
        "Fn::Join": ["", ["s3://", {"Ref": dev.logical_id(dev.stack.lake.results_bucket)}, "/athena/"]]
    }


def test_one_named_query_per_catalogue_query_in_its_athena_form(dev: Any, repo_root: Path) -> None:
    from c4.queries import catalogue, render_athena

    files = sorted((repo_root / "shared" / "c4" / "queries").glob("*.sql"))
    queries = {
        q["Properties"]["Name"]: q["Properties"] for q in dev.resources("AWS::Athena::NamedQuery").values()
    }
    assert sorted(queries) == [f.stem for f in files]
    for name, query in catalogue().items():
        props = queries[name]
        sql, order = render_athena(query)
        assert props["QueryString"] == sql
        assert "$" not in sql  # no DuckDB placeholders reach Athena
        assert props["Description"].startswith(query.description)
        for param in order:
            assert param in props["Description"]
        assert props["Database"] == {"Ref": dev.logical_id(dev.stack.catalog.database)}
        assert props["WorkGroup"] == "c4-dev"


def test_dashboard_covers_pipeline_monitoring_and_scoring(dev: Any) -> None:
    _, dashboard = dev.one("AWS::CloudWatch::Dashboard")
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for title in ("Training pipeline runs", "Model monitoring", "Scoring Lambda", "Scoring queue"):
        assert title in body
    assert "ExecutionsFailed" in body and "ApproximateAgeOfOldestMessage" in body
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    widgets = json.loads("".join(p if isinstance(p, str) else "token" for p in parts))["widgets"]
    expressions = [
        m[0]["expression"]
        for w in widgets
        for m in w["properties"].get("metrics", [])
        if "expression" in m[0]
    ]
    assert expressions == ["SEARCH('{C4/Monitoring,Stage} Stage=\"dev\"', 'Average', 86400)"]
