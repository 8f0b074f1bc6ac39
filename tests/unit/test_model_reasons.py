"""Reasons per guest are consistent with the model."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from c4.exceptions import ModelError
from c4.modeling.reasons import raw_proba
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from model_fixtures import fitted_outcome


@pytest.fixture(scope="module")
def outcome():  # type: ignore[no-untyped-def]
    return fitted_outcome(1200, families=("hgb",), trials=1)


def test_resetting_the_top_reason_lowers_the_probability(outcome) -> None:  # type: ignore[no-untyped-def]
    # Given 300 guests and their top reason
    model = outcome.model
    rows = outcome.holdout.sample(300, random_state=1).reset_index(drop=True)
    tops = model.reason_indices(rows, k=3)
    keep = [i for i, idx in enumerate(tops) if idx]
    assert len(keep) > 150
    # When each guest's top-reason feature is set to its reference (typical) value
    changed = rows.copy()
    for i in keep:
        feature = model.features[tops[i][0]]
        changed.loc[i, feature] = model.references[feature]
    # Then the calibrated probability never rises, and the model's score falls
    with threadpool_limits(limits=1):
        before, after = model.predict_proba(rows)[keep], model.predict_proba(changed)[keep]
        raw_before = raw_proba(model.estimator, rows)[keep]
        raw_after = raw_proba(model.estimator, changed)[keep]
    assert (after <= before + 1e-12).all()
    assert ((after < before) | (raw_after < raw_before)).all()
    assert (after < before).mean() > 0.8


def test_risky_guests_get_plain_word_reasons(outcome) -> None:  # type: ignore[no-untyped-def]
    model = outcome.model
    rows = outcome.holdout
    p = model.predict_proba(rows)
    risky = rows.iloc[np.argsort(-p)[:20]]
    es = model.reasons(risky, k=3, lang="es")
    en = model.reasons(risky, k=2, lang="en")
    assert all(1 <= len(r) <= 3 for r in es)
    assert all(len(r) <= 2 for r in en)
    # the riskiest guests in this world have not come for a long time
    assert sum("Días desde la última visita" in r[0] for r in es) >= 10
    assert any("typical" in r for rs in en for r in rs)
    with pytest.raises(ModelError):
        model.reasons(risky, lang="fr")


def test_missing_feature_column_is_a_clear_error(outcome) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ModelError, match="needs feature columns"):
        outcome.model.predict_proba(outcome.holdout.drop(columns=["days_since_last_visit"]))


def test_risk_bands_follow_the_threshold(outcome) -> None:  # type: ignore[no-untyped-def]
    model = outcome.model
    t = model.threshold
    assert model.risk_band(t) == "alto"
    assert model.risk_band(t - 1e-6) == "medio"
    assert model.risk_band(t / 2) == "medio"
    assert model.risk_band(t / 2 - 1e-6) == "bajo"
    assert model.risk_bands([1.0, 0.0]) == ["alto", "bajo"]
