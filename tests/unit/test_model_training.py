"""``train`` end to end on synthetic data: registry, card, report, champion rule."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from c4.exceptions import ModelError
from c4.modeling import load_champion, train
from c4.settings import Settings
from c4.storage import Lake

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from model_fixtures import make_training_set, quick_config

CARD_KEYS = {
    "version",
    "trained_at",
    "horizon_days",
    "threshold",
    "metrics",
    "baselines",
    "oracle_share",
    "profit_params",
    "data_window",
    "class_imbalance",
    "calibration",
    "time_plan",
    "features",
    "library_versions",
    "training_data_sha256",
    "training_seconds",
    "threshold_by_country",
}


def test_train_registers_evaluates_and_applies_the_champion_rule(tmp_path: Path) -> None:
    # Given a lake with no model and a labelled synthetic training set
    lake = Lake(str(tmp_path))
    settings = Settings(lake=str(tmp_path))
    ts = make_training_set(1000, seed=5)
    lines: list[str] = []
    # When training a model, then a weaker challenger (logistic regression only) on the same data
    first = train(lake, settings, training_set=ts, config=quick_config(), progress=lines.append)
    second = train(lake, settings, training_set=ts, config=quick_config(families=("logreg",), trials=1))
    # Then the first becomes the champion and the weaker challenger does not replace it
    assert first.promoted and first.decision.reason == "no champion yet"
    assert not second.promoted and "does not beat" in second.decision.reason
    assert load_champion(lake).version == first.version
    card = json.loads((tmp_path / "models" / first.version / "card.json").read_text())
    assert set(card) >= CARD_KEYS
    m = card["metrics"]
    assert {
        "roc_auc",
        "pr_auc",
        "brier",
        "ece",
        "lift_top10",
        "capture_top20",
        "recall",
        "precision",
        "expected_profit",
    } <= set(m)
    assert 0.85 < m["roc_auc"] < 1.0
    assert m["ece"] < 0.08
    # the model is compared with baselines on the same rows and beats the visits-only rule
    assert card["baselines"]["visits_last_90d"]["n"] == m["n"]
    assert m["roc_auc"] > card["baselines"]["visits_last_90d"]["roc_auc"]
    # holdout is the latest as-of date; calibration labels end by it
    assert card["time_plan"]["holdout_dates"] == [max(card["as_of_dates"])]
    assert card["oracle"]["available"] is False  # no generator truth in this lake
    assert set(card["profit_params"]) == {"CL", "PE", "CO"}
    assert card["class_imbalance"]["choice"] in ("class_weight=None", "class_weight='balanced'")
    # the champion was re-scored on the challenger's holdout rows (the same rows here)
    assert second.card["promotion"]["champion_metrics_same_rows"]["roc_auc"] == pytest.approx(m["roc_auc"])
    assert second.card["promotion"]["champion_before"] == first.version
    assert (tmp_path / first.report_path).read_text().startswith("<!DOCTYPE html>")
    assert any("threshold" in line for line in lines)


def test_horizon_mismatch_is_refused(tmp_path: Path) -> None:
    ts = make_training_set(300, seed=1)
    with pytest.raises(ModelError, match="horizon"):
        train(
            Lake(str(tmp_path)),
            Settings(lake=str(tmp_path)),
            training_set=ts,
            horizon_days=30,
            config=quick_config(),
        )


def test_robust_data_end_ignores_stray_future_rows() -> None:
    import duckdb
    from c4.modeling.training import robust_data_end

    con = duckdb.connect()
    con.execute("""CREATE TABLE sessions AS
        SELECT DATE '2025-01-01' + CAST(i // 50 AS INTEGER) AS local_date FROM range(50 * 120) t(i)
        UNION ALL SELECT DATE '2026-06-01' UNION ALL SELECT DATE '2026-09-09'""")
    # 120 dense days from 2025-01-01 end on 2025-04-30; two stray far-future rows are ignored
    assert str(robust_data_end(con)) == "2025-04-30"
