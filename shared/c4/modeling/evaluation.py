"""Side-by-side evaluation on out-of-time rows: models, baselines, permutation importance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance

from c4.malls import MALLS
from c4.modeling.baselines import Baseline, calibrate_score
from c4.modeling.config import ProfitParams
from c4.modeling.metrics import binary_metrics, row_profit_params

_COUNTRY_COLUMNS = ("home_country", "country", "main_country", "usual_country")
_MALL_COLUMNS = ("home_mall_id", "main_mall_id", "usual_mall_id", "top_mall_id", "mall_id")
_RANKING_KEYS = ("roc_auc", "pr_auc", "lift_top10", "lift_top20", "capture_top10", "capture_top20")
_MALL_COUNTRY = {m.mall_id: m.country for m in MALLS}


def row_countries(frame: pd.DataFrame) -> np.ndarray | None:
    """Country of each guest (from a country column, else from the usual mall), or None."""
    for col in _COUNTRY_COLUMNS:
        if col in frame.columns:
            return np.asarray(frame[col].astype(object).where(frame[col].notna(), None))
    for col in _MALL_COLUMNS:
        if col in frame.columns:
            return np.asarray(frame[col].map(lambda m: _MALL_COUNTRY.get(str(m)) if pd.notna(m) else None))
    return None


def profit_arrays(frame: pd.DataFrame, params: Mapping[str, ProfitParams]) -> tuple[np.ndarray, np.ndarray]:
    """Per-row offer cost and saved value for a feature frame."""
    return row_profit_params(row_countries(frame), len(frame), params)


def evaluate_baselines(
    baselines: Sequence[Baseline],
    cal_frame: pd.DataFrame,
    y_cal: np.ndarray,
    hold_frame: pd.DataFrame,
    y_hold: np.ndarray,
    *,
    threshold: float,
    cost: np.ndarray,
    gain: np.ndarray,
) -> tuple[dict[str, dict[str, Any]], dict[str, np.ndarray]]:
    """Metrics of each baseline on the holdout rows, calibrated on the calibration rows.

    Returns
    -------
    (metrics, probabilities)
        Per baseline name: its metrics (plus ``column`` and ``label``) and its calibrated
        holdout probabilities.
    """
    metrics: dict[str, dict[str, Any]] = {}
    probas: dict[str, np.ndarray] = {}
    for b in baselines:
        iso = calibrate_score(b.score(cal_frame), y_cal)
        score = b.score(hold_frame)
        p = iso.predict(score)
        m: dict[str, Any] = binary_metrics(y_hold, p, threshold=threshold, cost=cost, gain=gain)
        # Ranking metrics from the raw score (isotonic ties would understate them).
        ranking = binary_metrics(y_hold, score)
        m.update({k: ranking[k] for k in _RANKING_KEYS})
        m.update(column=b.column, label=b.label)
        metrics[b.name] = m
        probas[b.name] = p
    return metrics, probas


def importance_table(
    estimator: Any,
    X: pd.DataFrame,
    y: np.ndarray,
    features: Sequence[str],
    *,
    max_rows: int = 4000,
    repeats: int = 3,
    random_state: int = 0,
) -> list[dict[str, float | str]]:
    """Permutation importance (drop in ROC-AUC) on out-of-time rows, largest first."""
    n = len(X)
    rng = np.random.default_rng(random_state)
    idx = np.sort(rng.choice(n, size=min(n, max_rows), replace=False))
    Xs = X[list(features)].iloc[idx].reset_index(drop=True)
    res = permutation_importance(
        estimator, Xs, np.asarray(y)[idx], scoring="roc_auc", n_repeats=repeats, random_state=random_state
    )
    rows: list[dict[str, float | str]] = [
        {"feature": f, "importance": float(m), "std": float(s)}
        for f, m, s in zip(features, res.importances_mean, res.importances_std, strict=True)
    ]
    return sorted(rows, key=lambda r: -float(r["importance"]))
