"""Reasons per guest are consistent with the model."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from c4.exceptions import ModelError
from c4.modeling.model import FeatureInfo
from c4.modeling.reasons import (
    _paths,
    contributions,
    forest_apply,
    forest_proba,
    forest_proba_from_leaves,
    rank_reasons,
    raw_proba,
    reason_matrix,
    reason_text,
    top_reason_indices,
)
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
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


def test_reason_texts_word_each_reason_as_reason_text_does(outcome) -> None:  # type: ignore[no-untyped-def]
    # Given 400 guests, their reason indices and the column-wise texts
    model = outcome.model
    rows = outcome.holdout.sample(400, random_state=3).reset_index(drop=True)
    top = model.reason_matrix(rows, 3)
    texts = model.reason_texts(rows, top, "es")
    # Then each cell is the one-reason wording of that guest's value (None where no reason)
    assert texts.shape == top.shape and (top >= 0).sum() > 400
    for i, j in zip(*np.nonzero(top >= -1), strict=True):
        f = top[i, j]
        if f < 0:
            assert texts[i, j] is None
            continue
        spec, name = model.feature_specs[f], model.features[f]
        assert texts[i, j] == reason_text(spec, rows.loc[i, name], model.references.get(name), "es")
    assert model.reason_words(rows, top, "es") == [[t for t in r if t is not None] for r in texts.tolist()]


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


def test_screened_reasons_match_the_exhaustive_occlusion(outcome) -> None:  # type: ignore[no-untyped-def]
    # Given 400 guests, their exhaustive occlusion drops and the exhaustive top 3
    model = outcome.model
    rows = outcome.holdout.sample(400, random_state=2).reset_index(drop=True)
    cal, raw = contributions(model.estimator, rows, model.features, model.references)
    exhaustive = top_reason_indices(cal, raw, 3)
    # When scoring ranks them (screen, then verify 6 candidates per guest)
    fast = model.reason_indices(rows, k=3)
    # Then verifying every feature gives exactly the exhaustive answer
    every = reason_matrix(model.estimator, rows, model.features, model.references, 3, len(model.features))
    assert [[int(j) for j in r if j >= 0] for r in every] == exhaustive
    # and the screened top reason is the exhaustive one for nearly every guest
    same_top = [f[:1] == e[:1] for f, e in zip(fast, exhaustive, strict=True)]
    assert np.mean(same_top) > 0.9
    # and every screened reason is one of the guest's positive exhaustive drops
    for i, idx in enumerate(fast):
        assert all(cal[i, j] > 0 or (cal[i, j] == 0 and raw[i, j] > 0) for j in idx)


def test_explain_gives_the_models_probability(outcome) -> None:  # type: ignore[no-untyped-def]
    rows = outcome.holdout.iloc[:500]
    proba, top = outcome.model.explain(rows, k=2)
    assert top.shape == (500, 2)
    np.testing.assert_allclose(proba, outcome.model.predict_proba(rows), rtol=0, atol=1e-12)
    empty_p, empty_top = outcome.model.explain(rows.iloc[:0], k=2)
    assert empty_p.shape == (0,) and empty_top.shape == (0, 2)


def test_rank_keeps_positive_drops_best_first_and_breaks_ties_by_raw() -> None:
    candidates = np.array([[4, 7, 2, -1], [1, 3, 5, 6]])
    cal = np.array([[0.02, 0.0, 0.05, 0.9], [-0.01, 0.0, 0.0, 0.03]])
    raw = np.array([[0.01, 0.02, 0.04, 0.9], [0.5, 0.01, 0.02, 0.01]])
    ranked = rank_reasons(candidates, cal, raw, 3)
    # row 0: 2 (0.05) > 4 (0.02) > 7 (flat calibration, raw up); -1 is no candidate
    # row 1: 6 (0.03), then the calibration ties 5 and 3 broken by raw; 1 lowers the risk
    assert ranked.tolist() == [[2, 4, 7], [6, 5, 3]]
    assert rank_reasons(candidates[:, :1], cal[:, :1], raw[:, :1], 3).tolist() == [[4, -1, -1], [-1, -1, -1]]


def test_forest_path_contributions_add_up_to_the_probability() -> None:
    from sklearn.ensemble import ExtraTreesClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 5))
    y = (X[:, 0] + 0.5 * X[:, 3] + rng.normal(scale=0.5, size=400) > 0).astype(int)
    forest = ExtraTreesClassifier(n_estimators=15, min_samples_leaf=5, random_state=0).fit(X, y)
    table, offsets = _paths(forest, 5)
    leaves = forest.apply(X) + offsets
    parts = table[leaves].sum(axis=1)
    roots = np.mean([t.tree_.value[0, 0, 1] / t.tree_.value[0, 0].sum() for t in forest.estimators_])
    np.testing.assert_allclose(roots + parts.sum(axis=1), forest.predict_proba(X)[:, 1], atol=1e-12)
    assert np.abs(parts[:, 0]).mean() > np.abs(parts[:, 1]).mean()  # the signal, not the noise


def test_missing_values_read_as_what_their_absence_means() -> None:
    gap = FeatureInfo(
        "gap_mean_days", "numeric", "días promedio entre visitas", "average days between visits"
    )
    signal = FeatureInfo("signal_mean_dbm", "numeric", "calidad de la señal WiFi (dBm)", "WiFi signal (dBm)")
    other = FeatureInfo("weekend_share", "numeric", "parte de las visitas en fin de semana", "weekend share")
    assert reason_text(gap, float("nan"), 21.0, "es") == (
        "Días promedio entre visitas: aún sin una segunda visita (habitual: 21)"
    )
    assert (
        reason_text(gap, None, 21.0, "en") == "Average days between visits: no second visit yet (typical: 21)"
    )
    assert reason_text(signal, None, -62.14, "es") == (
        "Calidad de la señal WiFi (dBm): sin datos de señal WiFi (habitual: -62.14)"
    )
    assert (
        reason_text(other, np.nan, None, "es")
        == "Parte de las visitas en fin de semana: sin datos (habitual: sin datos)"
    )
    assert reason_text(other, 0.25, 0.0, "es") == "Parte de las visitas en fin de semana: 0.25 (habitual: 0)"
    assert "—" not in reason_text(signal, None, None, "es")


@pytest.mark.parametrize("family", ["random", "extra"])
def test_forest_proba_and_apply_equal_scikit_learns(family):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(600, 5))
    y = (X[:, 0] + rng.normal(scale=0.5, size=600) > 0).astype(int)
    cls = RandomForestClassifier if family == "random" else ExtraTreesClassifier
    forest = cls(n_estimators=13, max_depth=4, n_jobs=2, random_state=0).fit(X, y)
    rows = rng.normal(size=(257, 5))
    np.testing.assert_allclose(forest_proba(forest, rows), forest.predict_proba(rows), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(forest_apply(forest, rows), forest.apply(rows))
    once = forest_proba(forest, rows, threads=3)
    np.testing.assert_array_equal(forest_proba(forest, rows, threads=3), once)  # no thread-timing noise
    np.testing.assert_array_equal(forest_apply(forest, rows, threads=20), forest.apply(rows))  # > trees
    # from the leaves: the same sums in the same order, bit for bit (3 classes too)
    leaves = forest_apply(forest, rows)
    for threads in (1, 2, 3, 20):
        np.testing.assert_array_equal(
            forest_proba_from_leaves(forest, leaves, threads), forest_proba(forest, rows, threads)
        )
    three = cls(n_estimators=7, max_depth=3, random_state=0).fit(X, y + (X[:, 1] > 1))
    np.testing.assert_array_equal(
        forest_proba_from_leaves(three, forest_apply(three, rows)), forest_proba(three, rows)
    )
