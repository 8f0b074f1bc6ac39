"""The notebook benchmark's grid search: the same choice as GridSearchCV, every fit accounted."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from c4.features import FEATURE_SPECS

from bench import notebook_grid as ng


def _rows(n: int, seed: int) -> pd.DataFrame:
    """Random rows with every feature column and a label that depends on two of them."""
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    for spec in FEATURE_SPECS:
        if spec.kind == "numeric":
            data[spec.name] = rng.normal(size=n)
        else:
            data[spec.name] = rng.choice(["a", "b", "c"], size=n)
    frame = pd.DataFrame(data)
    num = [s.name for s in FEATURE_SPECS if s.kind == "numeric"]
    logit = 1.5 * frame[num[0]] - frame[num[1]] + rng.normal(scale=1.0, size=n) + 1.0
    frame["churned"] = (logit > 0).astype(int)
    return frame


def test_grid_search_chooses_what_gridsearchcv_chooses() -> None:
    # Given a notebook pipeline and random rows
    from sklearn.model_selection import GridSearchCV

    frame = _rows(400, seed=1)
    X, y = frame.drop(columns="churned"), frame["churned"].to_numpy()
    pipe, _ = ng.notebook_pipeline("logistic_regression", seed=7)
    grid = {"clf__C": [0.001, 0.1, 10.0]}
    # When both search the same grid
    ours = ng.grid_search(pipe, grid, X, y, n_jobs=1)
    ref = GridSearchCV(pipe, grid, cv=3, scoring="roc_auc", n_jobs=1).fit(X, y)
    # Then the fits, scores and choice agree
    assert len(ours["fits"]) == 9
    np.testing.assert_allclose(ours["mean_scores"], ref.cv_results_["mean_test_score"], rtol=0, atol=1e-12)
    assert ours["best_params"] == ref.best_params_
    assert ours["best_score"] == pytest.approx(ref.best_score_, abs=1e-12)
    assert all(f["cpu_seconds"] >= 0 and f["wall_seconds"] > 0 for f in ours["fits"])


def test_choose_best_takes_the_first_of_tied_candidates() -> None:
    fits = [{"candidate": c, "fold": f, "score": s} for c, f, s in [(0, 0, 0.6), (1, 0, 0.8), (2, 0, 0.8)]]
    best = ng.choose_best([{"C": 1}, {"C": 2}, {"C": 3}], fits, folds=1)
    assert best["best_index"] == 1
    assert best["best_params"] == {"C": 2}


def test_main_logs_every_fit_and_writes_predictions(tmp_path: Path) -> None:
    # Given train / test / holdout files
    for name, seed in (("train", 2), ("test", 3), ("hold", 4)):
        _rows(300, seed).to_parquet(tmp_path / f"{name}.parquet")
    # When the logistic-regression grid runs
    code = ng.main(["--data", str(tmp_path), "--models", "logistic_regression", "--n-jobs", "1"])
    # Then every fit is in the log and the result, and the refit model scored both row sets
    assert code == 0
    state = json.loads((tmp_path / "notebook_result.json").read_text())
    lr = state["models"]["logistic_regression"]
    assert state["status"] == "done" and lr["status"] == "done" and lr["fits"] == 9
    assert lr["cpu_seconds_sum"] == pytest.approx(sum(f["cpu_seconds"] for f in lr["fit_log"]), abs=0.1)
    lines = (tmp_path / "notebook_log.txt").read_text().splitlines()
    assert sum(" fit " in line for line in lines) == 9
    pred = np.load(tmp_path / "pred_logistic_regression.npz")
    assert pred["p_test"].shape == (300,) and pred["p_hold"].shape == (300,)
    assert ((pred["p_hold"] >= 0) & (pred["p_hold"] <= 1)).all()
