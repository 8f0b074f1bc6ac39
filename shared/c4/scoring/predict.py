"""From a feature frame to ``churn_predictions`` rows: probability, band, reasons, message.

One pass of the model (:meth:`c4.modeling.model.ChurnModel.explain`) gives each guest's
calibrated probability and the indices of the top reasons; the risk band is set against the
guest's country threshold (when the card has one); the reasons are put in plain words column by
column (:meth:`ChurnModel.reason_words`) and the main one picks the retention message template
(:mod:`c4.scoring.messages`).  Everything is computed over all guests at once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from c4.modeling.model import MEDIUM_FLOOR_FACTOR
from c4.scoring.messages import retention_messages_frame
from c4.scoring.safety import neutralise, partition_value

logger = logging.getLogger(__name__)

#: Reasons kept per guest.
TOP_REASONS = 3
#: Separator of the reasons in the ``reasons`` column.
REASON_SEPARATOR = "; "


def _texts(model: Any, features: pd.DataFrame, top: np.ndarray) -> tuple[list[str | None], list[str | None]]:
    """``"; "``-joined reason texts and the main reason's feature, from a reason index array."""
    names = list(model.features)
    texts = model.reason_texts(features, top, "es")
    codes, uniques = pd.factorize(texts.ravel(), use_na_sentinel=True)
    # neutralise each distinct reason once (it distributes over "; ")
    safe = np.array([neutralise(u) or "" for u in uniques] + [None], dtype=object)
    texts = safe[np.where(codes >= 0, codes, len(uniques))].reshape(texts.shape)
    joined = texts[:, 0].copy() if texts.shape[1] else np.full(len(texts), None, dtype=object)
    for s in range(1, texts.shape[1]):
        more = texts[:, s] != None  # noqa: E711 (element-wise)
        first = more & (joined == None)  # noqa: E711
        joined[first] = texts[first, s]
        rest = more & ~first
        joined[rest] = joined[rest] + REASON_SEPARATOR + texts[rest, s]
    mains = [names[j] if j >= 0 else None for j in (top[:, 0] if top.shape[1] else np.full(len(top), -1))]
    return joined.tolist(), mains


def explain(
    model: Any, features: pd.DataFrame, k: int = TOP_REASONS
) -> tuple[list[str | None], list[str | None]]:
    """Each guest's reasons in Spanish plain words and the feature of the main reason.

    One call to the model's reason attribution (:meth:`ChurnModel.explain`) serves both
    outputs.

    Returns
    -------
    (reasons, main_reason)
        ``"; "``-joined reason texts (``None`` when the model finds none) and the top
        reason's feature name (``None`` likewise).
    """
    return _texts(model, features, model.reason_matrix(features, k))


def _bands(model: Any, proba: np.ndarray, countries: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Risk band and at-risk flag of each guest, against the guest's country threshold."""
    by_country = {c: model.threshold_for(c) for c in countries.dropna().unique()}
    t = countries.map(by_country).astype(float).fillna(model.threshold).to_numpy()
    bands = np.where(proba >= t, "alto", np.where(proba >= t * MEDIUM_FLOOR_FACTOR, "medio", "bajo"))
    return bands, proba >= t


def _malls(ids: list[str], homes: pd.Series, seen: Mapping[str, str | None]) -> list[str]:
    """Partition ``mall_id`` of each guest: the home mall, else where the file saw the guest."""
    values = homes.to_numpy(dtype=object, copy=True)
    missing = np.nonzero(pd.isna(values))[0]
    values[missing] = [seen.get(ids[i]) for i in missing.tolist()]
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    safe = np.array([partition_value(u) for u in uniques] + [partition_value(None)], dtype=object)
    return list(safe[np.where(codes >= 0, codes, len(uniques))])


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
    features = features.reset_index(drop=True)
    proba, top = model.explain(features, TOP_REASONS)
    proba = np.asarray(proba, dtype=float)
    countries = features["home_country"] if "home_country" in features.columns else pd.Series([None] * n)
    bands, at_risk = _bands(model, proba, countries.astype(object))
    reasons, mains = _texts(model, features, top)
    messages = retention_messages_frame(features, mains, at_risk)
    ids = list(map(str, features["customer_id"].tolist()))
    homes = features["home_mall_id"] if "home_mall_id" in features.columns else pd.Series([None] * n)
    malls = _malls(ids, homes.astype(object), seen_at or {})
    out = pd.DataFrame(
        {
            "customer_id": ids,
            "mall_id": malls,
            "as_of": np.full(n, np.datetime64(as_of, "us")),
            "churn_probability": proba,
            "risk_band": bands,
            "model_version": model.version,
            "reasons": reasons,
            "message": messages,
            "source_file": neutralise(source_file),
            "scored_at": np.full(n, np.datetime64(scored_at, "us")),
            "dt": as_of_date.isoformat() if n else [],
        }
    )
    logger.info("scored %d guests of %s: %d at or above the threshold", n, source_file, int(at_risk.sum()))
    return out.sort_values(["churn_probability", "customer_id"], ascending=[False, True], ignore_index=True)
