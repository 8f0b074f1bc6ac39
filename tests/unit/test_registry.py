"""Registry: save/load with skops, safe loading, list / promote / rollback."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from c4.exceptions import ModelError
from c4.modeling.model import ChurnModel
from c4.modeling.registry import (
    CHAMPION,
    champion_version,
    list_versions,
    load_champion,
    load_estimator,
    load_model,
    promote,
    read_champion,
    rollback,
    save_model,
)
from c4.storage import Lake
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from model_fixtures import fitted_outcome


@pytest.fixture(scope="module")
def outcome():  # type: ignore[no-untyped-def]
    return fitted_outcome(1200, families=("hgb",), trials=1)


def _register(lake: Lake, outcome, version: str) -> ChurnModel:  # type: ignore[no-untyped-def]
    model = ChurnModel(version, outcome.model.estimator, dict(outcome.card), outcome.model.feature_specs)
    save_model(lake, model, trials=outcome.trials, report_html="<html></html>")
    return model


def test_round_trip_gives_identical_predictions(tmp_path: Path, outcome) -> None:  # type: ignore[no-untyped-def]
    lake = Lake(str(tmp_path))
    _register(lake, outcome, "v20260101-000000-aaaaaaa")
    loaded = load_model(lake, "v20260101-000000-aaaaaaa")
    rows = outcome.holdout.head(300)
    np.testing.assert_allclose(loaded.predict_proba(rows), outcome.model.predict_proba(rows))
    assert loaded.threshold == outcome.model.threshold
    assert loaded.reasons(rows.head(3), lang="en") == outcome.model.reasons(rows.head(3), lang="en")
    folder = tmp_path / "models" / "v20260101-000000-aaaaaaa"
    assert {p.name for p in folder.iterdir()} == {"model.skops", "card.json", "trials.jsonl", "report.html"}
    assert len((folder / "trials.jsonl").read_text().splitlines()) == len(outcome.trials)


def test_tampered_file_is_refused(tmp_path: Path, outcome) -> None:  # type: ignore[no-untyped-def]
    lake = Lake(str(tmp_path))
    _register(lake, outcome, "v20260101-000000-bbbbbbb")
    path = tmp_path / "models" / "v20260101-000000-bbbbbbb" / "model.skops"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="SHA-256"):
        load_model(lake, "v20260101-000000-bbbbbbb")


def test_untrusted_type_is_refused_even_with_a_matching_hash() -> None:
    # A pipeline smuggling an arbitrary callable (here: eval) must never be loaded.
    evil = Pipeline([("f", FunctionTransformer(func=eval))])
    data = sio.dumps(evil, compression=zipfile.ZIP_DEFLATED)
    with pytest.raises(ModelError, match=r"untrusted types.*builtins\.eval"):
        load_estimator(data)


def test_garbage_file_is_refused() -> None:
    with pytest.raises(ModelError, match="not a readable skops file"):
        load_estimator(b"this is not a zip")


def test_list_promote_rollback(tmp_path: Path, outcome) -> None:  # type: ignore[no-untyped-def]
    lake = Lake(str(tmp_path))
    versions = [f"v2026010{i}-000000-ccccccc" for i in (1, 2, 3)]
    for v in versions:
        _register(lake, outcome, v)
    assert list_versions(lake) == versions
    with pytest.raises(ModelError, match="no champion"):
        load_champion(lake)
    with pytest.raises(ModelError, match="not found"):
        promote(lake, "v20990101-000000-none000")
    for v in versions:
        promote(lake, v, reason="test")
    assert load_champion(lake).version == versions[2]
    assert rollback(lake)["version"] == versions[1]
    assert rollback(lake)["version"] == versions[0]
    with pytest.raises(ModelError, match="nothing to roll back"):
        rollback(lake)
    promote(lake, versions[2])
    assert champion_version(lake) == versions[2]
    doc = read_champion(lake)
    assert doc is not None
    assert [e["action"] for e in doc["history"]] == ["promote"] * 3 + ["rollback"] * 2 + ["promote"]
    assert lake.exists(CHAMPION)


def test_existing_version_is_not_overwritten(tmp_path: Path, outcome) -> None:  # type: ignore[no-untyped-def]
    lake = Lake(str(tmp_path))
    _register(lake, outcome, "v20260101-000000-ddddddd")
    with pytest.raises(ModelError, match="already exists"):
        _register(lake, outcome, "v20260101-000000-ddddddd")


def test_models_cli_list_promote_rollback(tmp_path: Path, outcome) -> None:  # type: ignore[no-untyped-def]
    from c4.cli import app
    from typer.testing import CliRunner

    lake = Lake(str(tmp_path))
    a, b = "v20260101-000000-eeeeeee", "v20260102-000000-fffffff"
    for v in (a, b):
        _register(lake, outcome, v)
    runner = CliRunner()
    assert runner.invoke(app, ["models", "promote", a, "--lake", str(tmp_path)]).exit_code == 0
    assert runner.invoke(app, ["models", "promote", b, "--lake", str(tmp_path)]).exit_code == 0
    listed = runner.invoke(app, ["models", "list", "--lake", str(tmp_path)])
    assert listed.exit_code == 0 and a in listed.output and b in listed.output and f"* {b}" in listed.output
    back = runner.invoke(app, ["models", "rollback", "--lake", str(tmp_path)])
    assert back.exit_code == 0 and f"champion is now {a}" in back.output
    again = runner.invoke(app, ["models", "rollback", "--lake", str(tmp_path)])
    assert again.exit_code == 1 and "nothing to roll back" in again.output
    missing = runner.invoke(app, ["models", "promote", "v20990101-000000-0000000", "--lake", str(tmp_path)])
    assert missing.exit_code == 1
