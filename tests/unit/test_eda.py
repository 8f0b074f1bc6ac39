"""The EDA report and notebook on a small synthetic lake: built end to end, numbers from the data."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import nbformat
import pytest
from c4.eda import analyse, build_report, findings
from c4.storage import Lake
from nbclient import NotebookClient

from tests.fixtures_curated import SyntheticConfig, make_lake

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    root = tmp_path_factory.mktemp("eda-lake")
    make_lake(root, SyntheticConfig(customers=700, days=300, malls=4, seed=5))
    lake = Lake(str(root))
    lake.write_json(
        "manifests/elt/a.json",
        {
            "source_file": "raw/a.csv",
            "status": "ok",
            "rows_in": 100,
            "rows_accepted": 90,
            "rows_rejected": 10,
            "rejected_by_reason": {"duplicate": 7, "bad_timestamp": 3},
            "mall_id": "CL01",
        },
    )
    lake.write_json(
        "manifests/elt/b.json",
        {
            "source_file": "raw/b.csv",
            "status": "unreadable",
            "rows_in": 5,
            "rows_accepted": 0,
            "rows_rejected": 5,
            "rejected_by_reason": {"malformed": 5},
            "mall_id": "PE01",
        },
    )
    return lake


def test_report_is_self_contained_and_numbers_come_from_the_data(lake: Lake) -> None:
    where = build_report(lake)
    assert where.endswith("reports/eda.html")
    page = lake.read_bytes("reports/eda.html").decode("utf-8")
    assert page.count("data:image/png;base64,") >= 10
    assert not re.search(r"<img[^>]+src=\"(?!data:)", page) and "<script" not in page
    a = analyse(lake)
    assert f"{a.overview.guests:,}" in page and f"{a.horizon_days} days" in page
    assert "105 rows in, 90 accepted" in page.replace("\n", " ").replace("  ", " ")
    for f in findings(a):
        assert f.split(".")[0].replace("'", "&#39;") in page
    # the ranking is on the held-out latest date and the strongest signal beats chance clearly
    assert str(a.ranking.test_date) == str(max(a.training.as_of_dates))
    assert a.ranking.table["auc"].iloc[0] > 0.7


def test_report_without_manifests_or_malls(tmp_path) -> None:
    make_lake(tmp_path, SyntheticConfig(customers=400, days=260, malls=2, seed=9))
    (tmp_path / "curated" / "malls" / "malls.parquet").unlink()
    out = tmp_path / "r.html"
    build_report(Lake(str(tmp_path)), out=out)
    page = out.read_text(encoding="utf-8")
    assert "No ELT manifests" in page and "holiday effects are not available" in page


def test_notebook_runs_top_to_bottom(lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = nbformat.read(ROOT / "notebooks" / "C4_EDA.ipynb", as_version=4)
    monkeypatch.setenv("C4_LAKE", lake.uri)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(ROOT / "shared"), os.environ.get("PYTHONPATH", "")])
    )
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 8
    text = json.dumps([o.get("data", {}).get("text/markdown", "") for o in outputs])
    assert "guests" in text
