"""Evaluation metrics: ranking, calibration, targeting (lift / capture) and expected profit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from c4.modeling.config import DEFAULT_COUNTRY, ProfitParams


def expected_calibration_error(y: np.ndarray, p: np.ndarray, *, bins: int = 10) -> float:
    """Expected calibration error over equal-width probability bins.

    ``sum_b (n_b / n) * |mean(y_b) - mean(p_b)|`` with ``bins`` bins on [0, 1].
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    idx = np.clip((p * bins).astype(int), 0, bins - 1)
    sum_y = np.bincount(idx, weights=y, minlength=bins)
    sum_p = np.bincount(idx, weights=p, minlength=bins)
    return float(np.abs(sum_y - sum_p).sum() / max(len(y), 1))


def top_share_stats(y: np.ndarray, score: np.ndarray, share: float) -> tuple[float, float]:
    """Lift and capture of the ``share`` highest scores.

    Returns
    -------
    (lift, capture)
        ``lift`` = churn rate in the top share / overall churn rate; ``capture`` = share of
        all churners found in the top share.  Ties are broken by a stable sort.
    """
    y = np.asarray(y, dtype=float)
    n_top = max(1, round(len(y) * share))
    order = np.argsort(-np.asarray(score, dtype=float), kind="stable")[:n_top]
    total = y.sum()
    if total == 0:
        return float("nan"), float("nan")
    return float(y[order].mean() / y.mean()), float(y[order].sum() / total)


def row_profit_params(
    countries: Sequence[Any] | np.ndarray | None, n: int, params: Mapping[str, ProfitParams]
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row offer cost and per-row gain of a successful save (``success_rate * guest_value``).

    Guests of an unknown country use :data:`~c4.modeling.config.DEFAULT_COUNTRY`.
    """
    default = params.get(DEFAULT_COUNTRY) or next(iter(params.values()))
    if countries is None:
        return np.full(n, default.offer_cost), np.full(n, default.success_rate * default.guest_value)
    cost = np.empty(n)
    gain = np.empty(n)
    for i, c in enumerate(countries):
        pp = params.get(str(c), default) if c is not None else default
        cost[i] = pp.offer_cost
        gain[i] = pp.success_rate * pp.guest_value
    return cost, gain


def profit_curve(
    y: np.ndarray, p: np.ndarray, cost: np.ndarray, gain: np.ndarray, thresholds: np.ndarray
) -> np.ndarray:
    """Realised expected profit of offering to every guest with ``p >= t``, for each ``t``.

    The profit of one offered guest is ``churned * success_rate * guest_value - offer_cost``.
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    unit = y * gain - cost
    order = np.argsort(-p, kind="stable")
    p_sorted = p[order]
    cum = np.concatenate([[0.0], np.cumsum(unit[order])])
    # number of rows with p >= t  ==  index of first p_sorted < t
    counts = np.searchsorted(-p_sorted, -np.asarray(thresholds, dtype=float), side="right")
    return np.asarray(cum[counts])


def binary_metrics(
    y: np.ndarray,
    p: np.ndarray,
    *,
    threshold: float | None = None,
    cost: np.ndarray | None = None,
    gain: np.ndarray | None = None,
) -> dict[str, float]:
    """Every headline metric of a probability (or score) on labelled rows.

    Parameters
    ----------
    y : array of 0/1
        Labels (1 = churned).
    p : array
        Calibrated probabilities (Brier, ECE and profit only make sense for probabilities).
    threshold : float, optional
        Decision threshold for precision / recall / profit.
    cost, gain : arrays, optional
        Per-row offer cost and saved value (see :func:`row_profit_params`).

    Returns
    -------
    dict
        ``roc_auc, pr_auc, brier, ece, lift_top10, lift_top20, capture_top10, capture_top20,
        churn_rate, n`` and, with a threshold, ``precision, recall, flagged_share,
        expected_profit, expected_profit_per_guest``.
    """
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    out: dict[str, float] = {"n": float(len(y)), "churn_rate": float(y.mean()) if len(y) else float("nan")}
    both = 0 < y.sum() < len(y)
    out["roc_auc"] = float(roc_auc_score(y, p)) if both else float("nan")
    out["pr_auc"] = float(average_precision_score(y, p)) if both else float("nan")
    out["brier"] = float(brier_score_loss(y, np.clip(p, 0, 1)))
    out["ece"] = expected_calibration_error(y, np.clip(p, 0, 1))
    for share in (0.1, 0.2):
        lift, capture = top_share_stats(y, p, share)
        out[f"lift_top{int(share * 100)}"] = lift
        out[f"capture_top{int(share * 100)}"] = capture
    if threshold is not None:
        flagged = p >= threshold
        tp = float((flagged & (y == 1)).sum())
        out["threshold"] = float(threshold)
        out["flagged_share"] = float(flagged.mean())
        out["precision"] = tp / flagged.sum() if flagged.any() else float("nan")
        out["recall"] = tp / y.sum() if y.sum() else float("nan")
        if cost is not None and gain is not None:
            profit = float(profit_curve(y, p, cost, gain, np.array([threshold]))[0])
            out["expected_profit"] = profit
            out["expected_profit_per_guest"] = profit / max(len(y), 1)
    return out


def auc_difference_ci(
    y: np.ndarray, p_a: np.ndarray, p_b: np.ndarray, *, n_boot: int = 200, seed: int = 0
) -> tuple[float, float]:
    """95% paired-bootstrap interval of ``ROC-AUC(p_a) - ROC-AUC(p_b)`` on the same rows."""
    y = np.asarray(y, dtype=int)
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(y), size=len(y))
        if 0 < y[idx].sum() < len(idx):
            diffs.append(roc_auc_score(y[idx], p_a[idx]) - roc_auc_score(y[idx], p_b[idx]))
    if not diffs:
        return float("nan"), float("nan")
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return float(lo), float(hi)
