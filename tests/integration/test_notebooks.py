"""The data-creation and training notebooks run top to bottom on a small synthetic lake.

The data-creation notebook generates and curates a fresh lake (its parameters come from
``C4_LAKE`` and ``C4_NB_*`` environment variables); the training notebook then trains and
registers a model on that lake.  Assertions read the executed notebooks' outputs and the lake.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import nbformat
import pytest
from c4.modeling import list_versions, read_champion
from c4.storage import Lake
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
SMALL = {"C4_NB_CUSTOMERS": "1200", "C4_NB_MONTHS": "14", "C4_NB_MALLS": "2", "C4_NB_SEED": "3"}

pytestmark = pytest.mark.xdist_group("notebooks")


def _run(name: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch, cwd: Path) -> Any:
    """Execute one notebook with ``env`` set; return it with its outputs."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(ROOT / "shared"), os.environ.get("PYTHONPATH", "")])
    )
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(
        nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    ).execute()
    return nb


def _outputs(nb: Any) -> list[dict[str, Any]]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def _text(nb: Any) -> str:
    parts = []
    for o in _outputs(nb):
        parts.append("".join(o.get("text", "")))
        for kind in ("text/plain", "text/markdown", "text/html"):
            parts.append("".join(o.get("data", {}).get(kind, "")))
    return "\n".join(parts)


@pytest.fixture(scope="module")
def created(tmp_path_factory: pytest.TempPathFactory) -> tuple[Lake, Any]:
    """The data-creation notebook, executed into a fresh lake."""
    root = tmp_path_factory.mktemp("nb-lake")
    with pytest.MonkeyPatch.context() as mp:
        nb = _run("DSMarketWiFi_DataCreation.ipynb", {"C4_LAKE": str(root), **SMALL}, mp, root)
    return Lake(str(root)), nb


def test_first_cell_holds_the_parameters() -> None:
    for name in ("DSMarketWiFi_DataCreation.ipynb", "C4ML_train.ipynb"):
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        first = next(c for c in nb.cells if c.cell_type == "code")
        assert "parameters" in first.metadata.get("tags", []) and 'os.environ.get("C4_LAKE"' in first.source


def test_data_creation_notebook(created: tuple[Lake, Any]) -> None:
    lake, nb = created
    outputs = _outputs(nb)
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 5
    # the lake holds what the notebook says it built: raw, curated per day, quarantine, truth
    assert lake.list_files("raw/sessions", suffixes=(".csv",)) and lake.exists("truth/guests.parquet")
    assert all("/dt=" in p for p in lake.list_files("curated/sessions", suffixes=(".parquet",)))
    manifests = [lake.read_json(p) for p in lake.list_files("manifests/elt", suffixes=(".json",))]
    rows_in = sum(m["rows_in"] for m in manifests)
    accepted = sum(m["rows_accepted"] for m in manifests)
    text = _text(nb)
    assert f"{rows_in:,} rows in = {accepted:,} accepted + {rows_in - accepted:,} rejected" in text
    assert "rejected by the ELT" in text and "injected by the generator" in text
    assert lake.list_files("quarantine/rows", suffixes=(".jsonl",))


def test_training_notebook(created: tuple[Lake, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    lake, _ = created
    nb = _run("C4ML_train.ipynb", {"C4_LAKE": lake.uri, "C4_NB_TRIALS": "3"}, monkeypatch, Path(lake.uri))
    outputs = _outputs(nb)
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 5
    versions = list_versions(lake)
    champion = read_champion(lake)
    assert len(versions) == 1 and champion is not None and champion["version"] == versions[0]
    card = json.loads(lake.read_bytes(f"models/{versions[0]}/card.json"))
    text = _text(nb)
    assert f"version: {versions[0]}" in text and f"threshold {card['threshold']:.2f}" in text
    assert lake.exists(f"reports/model-{versions[0]}.html")
