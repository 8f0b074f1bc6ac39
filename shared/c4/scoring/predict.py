"""From a feature frame to ``churn_predictions`` rows: probability, band, reasons, message.

The model (``c4.modeling``) gives the calibrated probability, the risk band (against the
guest's country threshold when the card has one) and the indices of each guest's top reasons;
the reasons are put in plain words by ``c4.modeling.reasons.reason_text`` and the main one
picks the retention message template (:mod:`c4.scoring.messages`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from c4.modeling.reasons import reason_text
from c4.scoring.messages import CONTEXT_FEATURES, retention_message
from c4.scoring.safety import neutralise, partition_value

logger = logging.getLogger(__name__)

#: Reasons kept per guest.
TOP_REASONS = 3
#: Separator of the reasons in the ``reasons`` column.
REASON_SEPARATOR = "; "


def _column(frame: pd.DataFrame, name: str) -> list[Any]:
    if name not in frame.columns:
        return [None] * len(frame)
    return [None if pd.isna(v) else v for v in frame[name].tolist()]


def explain(
    model: Any, features: pd.DataFrame, k: int = TOP_REASONS
) -> tuple[list[str | None], list[str | None]]:
    """Each guest's reasons in Spanish plain words and the feature of the main reason.

    One call to the model's reason attribution serves both outputs (it is the costly part
    of scoring: one batch prediction per feature).

    Returns
    -------
    (reasons, main_reason)
        ``"; "``-joined reason texts (``None`` when the model finds none) and the top
        reason's feature name (``None`` likewise).
    """
    names, specs = list(model.features), list(model.feature_specs)  # properties: read them once
    X = features[names].reset_index(drop=True)
    refs = model.references
    columns = [X[name].tolist() for name in names]  # row-wise .iloc is slow at 10^5 guests
    texts: list[str | None] = []
    mains: list[str | None] = []
    for i, idx in enumerate(model.reason_indices(X, k)):
        parts = [reason_text(specs[j], columns[j][i], refs.get(names[j]), "es") for j in idx]
        texts.append(neutralise(REASON_SEPARATOR.join(parts)) if parts else None)
        mains.append(names[idx[0]] if idx else None)
    return texts, mains


def predictions_frame(
    model: Any,
    features: pd.DataFrame,
    *,
    as_of_date: date,
    as_of: datetime,
    source_file: str,
    scored_at: datetime,
    seen_at: Mapping[str, str | None] | None = None,
) -> pd.DataFrame:
    """The ``churn_predictions`` rows of one scored file.

    Parameters
    ----------
    model : c4.modeling.model.ChurnModel
        The champion.
    features : pandas.DataFrame
        ``compute_features`` output: one row per guest (``customer_id`` + feature columns).
    as_of_date : date
        The as-of date of the features (the ``dt`` partition).
    as_of : datetime
        The feature cut-off as a timestamp: the end of the as-of day (midnight after it),
        since features use every session whose local date is on or before ``as_of_date``.
    source_file : str
        Lake-relative path of the scored raw file.
    scored_at : datetime
        Scoring time (UTC, naive).
    seen_at : mapping, optional
        ``customer_id`` -> the mall the guest was seen at in this file, used as the guest's
        ``mall_id`` when the features know no home mall.

    Returns
    -------
    pandas.DataFrame
        Columns ``customer_id, mall_id, as_of, churn_probability, risk_band, model_version,
        reasons, message, source_file, scored_at, dt``; sorted by decreasing probability.
    """
    n = len(features)
    proba = np.asarray(model.predict_proba(features), dtype=float)
    countries = _column(features, "home_country")
    bands = [model.risk_band(p, c) for p, c in zip(proba, countries, strict=True)]
    at_risk = [p >= model.threshold_for(c) for p, c in zip(proba, countries, strict=True)]
    reasons, mains = explain(model, features)
    context = {name: _column(features, name) for name in CONTEXT_FEATURES}
    messages = [
        retention_message({name: context[name][i] for name in CONTEXT_FEATURES}, mains[i])
        if at_risk[i]
        else None
        for i in range(n)
    ]
    seen = seen_at or {}
    ids = [str(c) for c in features["customer_id"]]
    homes = _column(features, "home_mall_id")
    malls = [partition_value(h if h is not None else seen.get(c)) for c, h in zip(ids, homes, strict=True)]
    out = pd.DataFrame(
        {
            "customer_id": ids,
            "mall_id": malls,
            "as_of": pd.Series([as_of] * n, dtype="datetime64[us]"),
            "churn_probability": proba,
            "risk_band": bands,
            "model_version": model.version,
            "reasons": reasons,
            "message": messages,
            "source_file": neutralise(source_file),
            "scored_at": pd.Series([scored_at] * n, dtype="datetime64[us]"),
            "dt": as_of_date.isoformat() if n else [],
        }
    )
    logger.info("scored %d guests of %s: %d at or above the threshold", n, source_file, sum(at_risk))
    return out.sort_values(["churn_probability", "customer_id"], ascending=[False, True], ignore_index=True)
