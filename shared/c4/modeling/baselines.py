"""Baseline scores a churn model must beat, computed from the same feature rows.

* ``days_since_last_visit`` — recency: the longer since the last visit, the higher the risk;
* ``visits_last_90d`` — frequency: fewer recent visits, higher risk;
* ``bgnbd_expected_visits`` / ``pnbd_expected_visits`` — a buy-till-you-die model's
  expected visits in the horizon (fewer, higher risk); P(alive) is used when that is all
  the features module offers.

Column names are looked up among known aliases; a baseline whose column is missing is
skipped (and listed as such in the card).  Each baseline is a *score* (higher = more risk);
for Brier / ECE / profit it is calibrated with isotonic regression on the calibration rows,
exactly like the models, so the comparison is like for like.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression


@dataclass(frozen=True)
class Baseline:
    """A one-column rule: ``score = sign * column`` (higher = more churn risk)."""

    name: str
    label: str
    column: str
    sign: float

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        """The risk score of each row (missing values rank as the least informative: median)."""
        x = pd.to_numeric(frame[self.column], errors="coerce").astype(float)
        x = x.fillna(x.median() if x.notna().any() else 0.0)
        return np.asarray(self.sign * x.to_numpy())


#: (baseline name, label, aliases in order of preference, sign).
_CANDIDATES: tuple[tuple[str, str, tuple[str, ...], float], ...] = (
    (
        "days_since_last_visit",
        "Days since last visit",
        ("days_since_last_visit", "recency_days", "days_since_last_session", "recency"),
        1.0,
    ),
    (
        "visits_last_90d",
        "Visits in the last 90 days",
        ("visits_last_90d", "visits_90d", "n_visits_90d", "visit_count_90d", "visits_l90d"),
        -1.0,
    ),
    (
        "bgnbd_expected_visits",
        "BG/NBD or Pareto/NBD expected visits",
        (
            "pnbd_expected_visits",
            "bgnbd_expected_visits",
            "expected_visits_horizon",
            "bgnbd_expected_visits_horizon",
            "pnbd_expected_visits_horizon",
        ),
        -1.0,
    ),
    ("p_alive", "Pareto/NBD or BG/NBD P(alive)", ("pnbd_p_alive", "bgnbd_p_alive", "p_alive"), -1.0),
)


def resolve_baselines(columns: Iterable[str]) -> tuple[list[Baseline], list[str]]:
    """The baselines available for a set of feature columns.

    Returns
    -------
    (baselines, missing)
        ``missing`` names the baselines for which no column was found.  P(alive) is only
        used when no expected-visits column exists.
    """
    cols = set(columns)
    found: list[Baseline] = []
    missing: list[str] = []
    for name, label, aliases, sign in _CANDIDATES:
        if name == "p_alive" and any(b.name == "bgnbd_expected_visits" for b in found):
            continue
        col = next((a for a in aliases if a in cols), None)
        if col is None:
            missing.append(name)
        else:
            found.append(Baseline(name, f"{label} ({col})", col, sign))
    return found, missing


def calibrate_score(score_cal: np.ndarray, y_cal: np.ndarray) -> IsotonicRegression:
    """Isotonic map from a baseline score to a probability, fitted on calibration rows."""
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
    iso.fit(np.asarray(score_cal, dtype=float), np.asarray(y_cal, dtype=float))
    return iso
