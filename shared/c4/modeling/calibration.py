"""Calibration on out-of-time rows, method chosen by Brier score on a separate slice.

The fitted pipeline is frozen (``FrozenEstimator``) and wrapped in a
``CalibratedClassifierCV``, so the saved model is one scikit-learn object: pipeline +
calibrator.  The calibration rows (the calibration as-of date, never used for fitting) are
split by guest into a *fit* half, on which isotonic and sigmoid calibrators are fitted, and
a *selection* half, on which their Brier scores decide.  The chosen method is then refitted
on both halves.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import brier_score_loss

METHODS = ("isotonic", "sigmoid")


def guest_halves(customer_ids: pd.Series, *, salt: str = "c4-calibration") -> np.ndarray:
    """Deterministic 50/50 split of guests (True = selection half), stable across runs."""

    def bit(cid: object) -> bool:
        return hashlib.blake2b(f"{salt}:{cid}".encode(), digest_size=1).digest()[0] & 1 == 1

    return np.fromiter((bit(c) for c in customer_ids), dtype=bool, count=len(customer_ids))


def calibrate(
    estimator: BaseEstimator, X: pd.DataFrame, y: np.ndarray, *, method: str
) -> CalibratedClassifierCV:
    """Wrap a fitted estimator with a calibrator fitted on ``(X, y)``."""
    cal = CalibratedClassifierCV(FrozenEstimator(estimator), method=method)
    cal.fit(X, y)
    return cal


@dataclass
class CalibrationChoice:
    """The calibrated model and the Brier scores that chose its method."""

    model: CalibratedClassifierCV
    method: str
    brier_selection: dict[str, float] = field(default_factory=dict)
    selection_mask: np.ndarray | None = None
    selection_proba: np.ndarray | None = None


def choose_calibration(
    estimator: BaseEstimator, X: pd.DataFrame, y: np.ndarray, customer_ids: pd.Series
) -> CalibrationChoice:
    """Fit isotonic and sigmoid on one half of the guests, pick by Brier on the other half.

    Parameters
    ----------
    estimator : fitted classifier (a Pipeline)
    X : DataFrame
        Calibration rows (out of time for ``estimator``).
    y : array of 0/1
    customer_ids : Series
        Guest ids of the rows (the halves never share a guest).

    Returns
    -------
    CalibrationChoice
        ``brier_selection`` holds the selection-half Brier of ``uncalibrated``, ``isotonic``
        and ``sigmoid``; ``model`` is the chosen method refitted on every calibration row.
    """
    y = np.asarray(y, dtype=int)
    sel = guest_halves(customer_ids)
    fit = ~sel
    scores = {"uncalibrated": float(brier_score_loss(y[sel], estimator.predict_proba(X[sel])[:, 1]))}
    probas: dict[str, np.ndarray] = {}
    for method in METHODS:
        cal = calibrate(estimator, X[fit], y[fit], method=method)
        probas[method] = cal.predict_proba(X[sel])[:, 1]
        scores[method] = float(brier_score_loss(y[sel], probas[method]))
    method = min(METHODS, key=lambda m: scores[m])
    return CalibrationChoice(calibrate(estimator, X, y, method=method), method, scores, sel, probas[method])
