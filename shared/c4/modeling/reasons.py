"""Reasons per guest: the features that push a guest's churn probability up the most.

Method (consistent with the saved model by construction): for each feature ``j`` the
guest's value is replaced by a reference value — the training median (numeric) or the most
frequent value (categorical) — and the calibrated model is scored again.  The contribution
of ``j`` is the drop ``p(guest) - p(guest with j at its reference)``.  A reason is a
feature with a positive contribution; the top ``k`` are reported, in plain words from the
feature's description.  Because isotonic calibration is flat in places, ties in the
calibrated drop are broken by the drop of the uncalibrated score (same direction, finer).
Cost: one batch prediction per feature (vectorised over guests).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from c4.exceptions import ModelError


def reference_values(
    frame: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str]
) -> dict[str, Any]:
    """Training medians (numeric) and modes (categorical): the "typical guest"."""
    refs: dict[str, Any] = {}
    for col in numeric:
        x = pd.to_numeric(frame[col], errors="coerce")
        refs[col] = float(x.median()) if x.notna().any() else None
    for col in categorical:
        mode = frame[col].dropna().astype(str).mode()
        refs[col] = str(mode.iloc[0]) if len(mode) else None
    return refs


def raw_proba(model: Any, X: pd.DataFrame) -> np.ndarray:
    inner = getattr(model, "calibrated_classifiers_", None)
    est = inner[0].estimator if inner else model
    return np.asarray(est.predict_proba(X)[:, 1])


def contributions(
    model: Any, frame: pd.DataFrame, features: Sequence[str], references: Mapping[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Drop of the calibrated and of the raw probability when each feature is set to its reference.

    Returns
    -------
    (calibrated_drop, raw_drop) : arrays of shape (n_guests, n_features)
    """
    X = frame.reset_index(drop=True)
    base = model.predict_proba(X)[:, 1]
    base_raw = raw_proba(model, X)
    cal = np.zeros((len(X), len(features)))
    raw = np.zeros((len(X), len(features)))
    for j, col in enumerate(features):
        if col not in X.columns:
            raise ModelError(f"feature column {col!r} missing from the frame to explain")
        ref = references.get(col)
        changed = X.copy()
        changed[col] = np.nan if ref is None else ref
        cal[:, j] = base - model.predict_proba(changed)[:, 1]
        raw[:, j] = base_raw - raw_proba(model, changed)
    return cal, raw


def top_reason_indices(cal_drop: np.ndarray, raw_drop: np.ndarray, k: int) -> list[list[int]]:
    """Per guest, the column indices of the ``k`` largest positive contributions."""
    out: list[list[int]] = []
    for c_row, r_row in zip(cal_drop, raw_drop, strict=True):
        order = np.lexsort((-r_row, -c_row))  # primary: calibrated drop, then raw drop
        keep = [int(j) for j in order if c_row[j] > 1e-12 or (abs(c_row[j]) <= 1e-12 and r_row[j] > 1e-12)]
        out.append(keep[:k])
    return out


_NO_DATA = {"es": "sin dato", "en": "no data"}


def _fmt(value: Any, lang: str = "es") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return _NO_DATA[lang]
    if isinstance(value, int | float | np.integer | np.floating):
        v = float(value)
        return f"{v:.0f}" if abs(v - round(v)) < 1e-9 or abs(v) >= 100 else f"{v:.2f}".rstrip("0").rstrip(".")
    return str(value)


def reason_text(spec: Any, value: Any, reference: Any, lang: str) -> str:
    """One reason in plain words, e.g. ``"Días desde la última visita: 45 (habitual: 12)"``.

    A missing value (e.g. the gap between visits of a guest seen once) reads "sin dato" /
    "no data".
    """
    if lang not in ("es", "en"):
        raise ModelError("lang must be 'es' or 'en'")
    desc = spec.description_es if lang == "es" else spec.description_en
    desc = desc[:1].upper() + desc[1:]
    typical = "habitual" if lang == "es" else "typical"
    return f"{desc}: {_fmt(value, lang)} ({typical}: {_fmt(reference, lang)})"
