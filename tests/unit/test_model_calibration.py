"""Calibration on out-of-time rows improves the Brier score of a miscalibrated model."""

from __future__ import annotations

import numpy as np
import pandas as pd
from c4.modeling.calibration import choose_calibration, guest_halves
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss


def _data(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    p = 1 / (1 + np.exp(-(0.5 + 1.5 * x[:, 0] - x[:, 1])))
    return pd.DataFrame(x, columns=["a", "b"]), (rng.uniform(size=n) < p).astype(int)


def test_calibration_fixes_a_biased_model() -> None:
    # Given a model trained with positives weighted 6x: its probabilities are far too high
    X_fit, y_fit = _data(4000, 0)
    biased = LogisticRegression(class_weight={0: 1, 1: 6}).fit(X_fit, y_fit)
    X_cal, y_cal = _data(4000, 1)
    X_test, y_test = _data(4000, 2)
    ids = pd.Series([f"g{i}" for i in range(len(X_cal))])
    # When calibrating on separate rows
    choice = choose_calibration(biased, X_cal, y_cal, ids)
    # Then Brier on fresh rows improves clearly, and the chooser saw the same on its selection half
    before = brier_score_loss(y_test, biased.predict_proba(X_test)[:, 1])
    after = brier_score_loss(y_test, choice.model.predict_proba(X_test)[:, 1])
    assert after < before - 0.02
    assert choice.brier_selection[choice.method] < choice.brier_selection["uncalibrated"]
    assert choice.method in ("isotonic", "sigmoid")
    # the mean prediction now matches the observed rate
    assert abs(choice.model.predict_proba(X_test)[:, 1].mean() - y_test.mean()) < 0.02


def test_guest_halves_are_stable_and_balanced() -> None:
    ids = pd.Series([f"guest-{i}" for i in range(10_000)])
    a, b = guest_halves(ids), guest_halves(ids)
    assert (a == b).all()
    assert 0.47 < a.mean() < 0.53
    # the same guest always falls in the same half
    twice = pd.Series(["x", "y", "x", "y"])
    h = guest_halves(twice)
    assert h[0] == h[2] and h[1] == h[3]
