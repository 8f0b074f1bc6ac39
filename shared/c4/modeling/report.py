"""The self-contained HTML model report (figures embedded as base64 PNG)."""

from __future__ import annotations

import math
from importlib import resources
from typing import Any

import jinja2
import numpy as np
import pandas as pd

from c4.modeling import plots
from c4.modeling.evaluation import profit_arrays
from c4.modeling.fitting import FitOutcome
from c4.modeling.model import ChurnModel

_TABLE_KEYS = (
    "roc_auc",
    "pr_auc",
    "brier",
    "ece",
    "lift_top10",
    "capture_top10",
    "lift_top20",
    "capture_top20",
    "recall",
    "precision",
    "expected_profit",
)


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _fmt(v: Any, digits: int = 3) -> str:
    f = _num(v)
    return "—" if f is None else f"{f:.{digits}f}"


def _pct(v: Any) -> str:
    f = _num(v)
    return "—" if f is None else f"{100 * f:.0f}%"


def _money(v: Any) -> str:
    f = _num(v)
    return "—" if f is None else f"{f:,.0f}"


def _table(card: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for fam, c in card["candidates"].items():
        name = f"C4 champion — {c['label']}" if fam == card["family"] else c["label"]
        rows.append(
            {"name": name, "champion": fam == card["family"], **{k: c["holdout"].get(k) for k in _TABLE_KEYS}}
        )
    rows.sort(key=lambda r: not r["champion"])
    for b in card["baselines"].values():
        rows.append(
            {"name": f"Baseline: {b['label']}", "champion": False, **{k: b.get(k) for k in _TABLE_KEYS}}
        )
    oracle = card.get("oracle") or {}
    if oracle.get("available"):
        rows.append(
            {
                "name": "Oracle (generator truth, ceiling)",
                "champion": False,
                **dict.fromkeys(_TABLE_KEYS),
                "roc_auc": oracle["roc_auc"],
                "brier": oracle.get("brier"),
            }
        )
    return rows


def _reasons_sample(
    model: ChurnModel, holdout: pd.DataFrame, p: np.ndarray, n: int = 8
) -> list[dict[str, Any]]:
    order = np.argsort(-p, kind="stable")
    rng = np.random.default_rng(0)
    pick = list(order[: n // 2]) + list(
        rng.choice(order[n // 2 :], size=min(n - n // 2, len(order) - n // 2), replace=False)
    )
    sample = holdout.iloc[pick].reset_index(drop=True)
    es = model.reasons(sample, k=3, lang="es")
    en = model.reasons(sample, k=3, lang="en")
    return [
        {
            "customer_id": str(sample["customer_id"].iloc[i])[:12],
            "p": float(p[pick[i]]),
            "band": model.risk_band(float(p[pick[i]])),
            "es": es[i] or ["—"],
            "en": en[i] or ["—"],
        }
        for i in range(len(sample))
    ]


def render_report(
    outcome: FitOutcome, card: dict[str, Any], *, oracle_proba: np.ndarray | None = None
) -> str:
    """Render the model report for a finished training run.

    Parameters
    ----------
    outcome : FitOutcome
        Holdout rows, labels and probabilities of the run.
    card : dict
        The final model card (with ``version``, ``oracle``, ``promotion``).
    oracle_proba : array, optional
        Oracle probabilities of the holdout rows (drawn in the ROC/PR plot).

    Returns
    -------
    str
        One HTML document.
    """
    y = outcome.y_holdout
    model = outcome.model
    p = outcome.holdout_proba[card["family"]]
    curves: dict[str, np.ndarray] = {f"C4 ({card['family']})": p}
    for name, b in card["baselines"].items():
        curves[b["label"].split(" (")[0]] = outcome.holdout_proba[f"baseline:{name}"]
    ranking = dict(curves)
    if oracle_proba is not None and np.isfinite(oracle_proba).sum() > 50:
        ranking["Oracle"] = np.where(np.isfinite(oracle_proba), oracle_proba, np.nanmean(oracle_proba))
    cost, gain = profit_arrays(outcome.holdout, {c: _pp(v) for c, v in card["profit_params"].items()})
    best = card.get("best_baseline")
    calib_curves = {k: v for k, v in curves.items() if k.startswith("C4")}
    if best:
        calib_curves[card["baselines"][best]["label"].split(" (")[0]] = outcome.holdout_proba[
            f"baseline:{best}"
        ]
    labels = {s.name: s.description_en for s in model.feature_specs}
    figs = {
        "roc_pr": plots.roc_pr(y, ranking),
        "calibration": plots.calibration(y, calib_curves),
        "gains": plots.gains_lift(y, ranking),
        "profit": plots.profit(y, curves, cost, gain, card["threshold"]),
        "importance": plots.importance(card["importance"], labels),
    }
    margin = card.get("margin_over_best_baseline")
    if margin:
        margin = {**margin, "label": card["baselines"][margin["baseline"]]["label"]}
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(
        resources.files("c4.modeling").joinpath("templates/model_report.html").read_text(encoding="utf-8")
    )
    return template.render(
        card=card,
        m=card["metrics"],
        table=_table(card),
        plots=figs,
        margin=margin,
        oracle=card.get("oracle") or {"available": False, "note": "not computed"},
        reasons=_reasons_sample(model, outcome.holdout, p),
        fmt=_fmt,
        pct=_pct,
        money=_money,
    )


def _pp(values: dict[str, float]) -> Any:
    from c4.modeling.config import ProfitParams

    return ProfitParams(**values)
