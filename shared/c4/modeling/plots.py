"""Report figures (matplotlib, Agg backend), returned as base64 PNG strings."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import precision_recall_curve, roc_curve

from c4.modeling.metrics import profit_curve

_STYLE: dict[Any, Any] = {
    "figure.dpi": 100,
    "savefig.dpi": 80,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def roc_pr(y: np.ndarray, curves: Mapping[str, np.ndarray]) -> str:
    """ROC and precision-recall curves side by side."""
    with plt.rc_context(_STYLE):
        fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
        for name, p in curves.items():
            ok = np.isfinite(p)
            fpr, tpr, _ = roc_curve(y[ok], p[ok])
            a.plot(fpr, tpr, label=name, lw=2 if name.startswith("C4") else 1.2)
            prec, rec, _ = precision_recall_curve(y[ok], p[ok])
            b.plot(rec, prec, label=name, lw=2 if name.startswith("C4") else 1.2)
        a.plot([0, 1], [0, 1], color="grey", ls=":", lw=1)
        a.set(title="ROC (holdout)", xlabel="False positive rate", ylabel="True positive rate")
        b.axhline(float(np.mean(y)), color="grey", ls=":", lw=1)
        b.set(title="Precision-recall (holdout)", xlabel="Recall", ylabel="Precision")
        a.legend(fontsize=8, loc="lower right")
        return _png(fig)


def calibration(y: np.ndarray, curves: Mapping[str, np.ndarray], *, bins: int = 10) -> str:
    """Reliability diagram (mean predicted vs observed churn per probability bin) + histogram."""
    with plt.rc_context(_STYLE):
        fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
        a.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label="perfect")
        edges = np.linspace(0, 1, bins + 1)
        for name, p in curves.items():
            idx = np.clip(np.digitize(p, edges) - 1, 0, bins - 1)
            xs, ys = [], []
            for k in range(bins):
                m = idx == k
                if m.sum() >= 20:
                    xs.append(p[m].mean())
                    ys.append(y[m].mean())
            a.plot(xs, ys, marker="o", label=name)
            b.hist(p, bins=edges, alpha=0.5, label=name)
        a.set(
            title="Calibration (holdout)", xlabel="Predicted churn probability", ylabel="Observed churn rate"
        )
        a.legend(fontsize=8)
        b.set(title="Predicted probabilities", xlabel="Churn probability", ylabel="Guests")
        b.legend(fontsize=8)
        return _png(fig)


def gains_lift(y: np.ndarray, curves: Mapping[str, np.ndarray]) -> str:
    """Cumulative gains (share of churners captured) and lift vs share of guests contacted."""
    with plt.rc_context(_STYLE):
        fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
        n = len(y)
        share = np.arange(1, n + 1) / n
        for name, p in curves.items():
            order = np.argsort(-p, kind="stable")
            captured = np.cumsum(y[order]) / max(y.sum(), 1)
            a.plot(share, captured, label=name)
            lift = captured / share
            b.plot(share[n // 50 :], lift[n // 50 :], label=name)
        a.plot([0, 1], [0, 1], color="grey", ls=":", lw=1)
        a.set(
            title="Cumulative gains",
            xlabel="Share of guests contacted (riskiest first)",
            ylabel="Share of churners reached",
        )
        b.axhline(1, color="grey", ls=":", lw=1)
        b.set(title="Lift", xlabel="Share of guests contacted", ylabel="Lift over random")
        a.legend(fontsize=8, loc="lower right")
        return _png(fig)


def profit(
    y: np.ndarray, curves: Mapping[str, np.ndarray], cost: np.ndarray, gain: np.ndarray, threshold: float
) -> str:
    """Realised expected profit on the holdout vs decision threshold, chosen threshold marked."""
    grid = np.linspace(0.01, 0.99, 99)
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(11, 4))
        for name, p in curves.items():
            ax.plot(grid, profit_curve(y, p, cost, gain, grid) / len(y), label=name)
        ax.axvline(threshold, color="black", ls="--", lw=1, label=f"chosen threshold {threshold:.2f}")
        ax.axhline(0, color="grey", lw=0.8)
        ax.set(
            title="Expected profit per guest scored (USD, holdout)",
            xlabel="Offer when churn probability >=",
            ylabel="USD per guest",
        )
        ax.legend(fontsize=8)
        return _png(fig)


def importance(rows: Sequence[Mapping[str, Any]], labels: Mapping[str, str], *, top: int = 15) -> str:
    """Horizontal bars of permutation importance (drop in ROC-AUC)."""
    rows = list(rows)[:top][::-1]
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(11, 0.35 * len(rows) + 1.2))
        names = [labels.get(str(r["feature"]), str(r["feature"])) for r in rows]
        ax.barh(
            names,
            [float(r["importance"]) for r in rows],
            xerr=[float(r["std"]) for r in rows],
            color="#3b6ea5",
        )
        ax.set(
            title="Permutation importance on the holdout (drop in ROC-AUC when the feature is shuffled)",
            xlabel="ROC-AUC drop",
        )
        return _png(fig)
