"""The oracle: the generator's exact churn probability, for evaluation only.

On synthetic data the generator knows each guest's latent visit process, so
``oracle_churn_probability`` is the best any model could do.  Its ROC-AUC on the holdout
rows is the ceiling; the champion's ``oracle_share`` is its ROC-AUC divided by the
oracle's on the same rows.  Truth keys are raw MACs, joined to the curated pseudonyms with
the ELT's own HMAC (``c4.elt.pseudonym``).  Nothing here ever feeds features or training.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from c4.storage import Lake

logger = logging.getLogger(__name__)


def oracle_probabilities(
    lake: Lake, settings: Any, rows: pd.DataFrame, horizon_days: int
) -> np.ndarray | None:
    """Oracle churn probability for each ``(customer_id, as_of_date)`` row, NaN when unknown.

    Returns
    -------
    numpy.ndarray or None
        None when the lake holds no generator truth (real data).
    """
    try:
        from c4.elt.pseudonym import pseudonymise_values
        from c4.generate import load_truth, oracle_churn_probability
    except ImportError:  # pragma: no cover - modules absent
        return None
    if not lake.exists("truth/guests.parquet"):
        return None
    truth = load_truth(lake)
    key = settings.resolve_pseudonym_key()
    pseudo = pd.Series(pseudonymise_values([str(m).strip() for m in truth["mac"]], key), index=truth["mac"])
    out = np.full(len(rows), np.nan)
    as_of = pd.to_datetime(rows["as_of_date"]).dt.date.to_numpy()
    for d in sorted(set(as_of)):
        probs = oracle_churn_probability(truth, d, horizon_days)
        by_pseudo = pd.Series(probs.to_numpy(), index=pseudo.reindex(probs.index).to_numpy())
        by_pseudo = by_pseudo[~by_pseudo.index.duplicated()]
        mask = as_of == d
        out[mask] = by_pseudo.reindex(rows.loc[mask, "customer_id"].to_numpy()).to_numpy()
    matched = float(np.isfinite(out).mean()) if len(out) else 0.0
    logger.info("oracle matched %.1f%% of the rows", 100 * matched)
    return out


def oracle_summary(y: np.ndarray, p_model: np.ndarray, p_oracle: np.ndarray | None) -> dict[str, Any]:
    """Oracle ROC-AUC, the model's ROC-AUC on the same rows, and their ratio (``oracle_share``)."""
    if p_oracle is None:
        return {"available": False, "note": "no generator truth in this lake (real data)"}
    ok = np.isfinite(p_oracle)
    y_ok = np.asarray(y)[ok]
    if ok.sum() < 50 or not 0 < y_ok.sum() < len(y_ok):
        return {"available": False, "note": f"only {int(ok.sum())} holdout rows matched the truth table"}
    oracle_auc = float(roc_auc_score(y_ok, p_oracle[ok]))
    model_auc = float(roc_auc_score(y_ok, np.asarray(p_model)[ok]))
    return {
        "available": True,
        "roc_auc": oracle_auc,
        "model_roc_auc_same_rows": model_auc,
        "oracle_share": model_auc / oracle_auc,
        "matched_rows": int(ok.sum()),
        "matched_share": float(ok.mean()),
        "brier": float(np.mean((p_oracle[ok] - y_ok) ** 2)),
    }
