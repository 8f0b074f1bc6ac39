"""The champion/challenger rule."""

from __future__ import annotations

from c4.modeling.promotion import decide_promotion


def test_first_model_is_promoted() -> None:
    d = decide_promotion({"roc_auc": 0.7, "brier": 0.2}, None)
    assert d.promote and "no champion" in d.reason


def test_better_ranking_and_no_worse_calibration_promotes() -> None:
    d = decide_promotion({"roc_auc": 0.82, "brier": 0.150}, {"roc_auc": 0.80, "brier": 0.151})
    assert d.promote and "+0.0200" in d.reason


def test_equal_auc_is_not_enough() -> None:
    assert not decide_promotion({"roc_auc": 0.80, "brier": 0.1}, {"roc_auc": 0.80, "brier": 0.2}).promote


def test_worse_auc_is_rejected() -> None:
    d = decide_promotion({"roc_auc": 0.79, "brier": 0.1}, {"roc_auc": 0.80, "brier": 0.2})
    assert not d.promote and "does not beat" in d.reason


def test_much_worse_calibration_blocks_promotion() -> None:
    d = decide_promotion({"roc_auc": 0.85, "brier": 0.20}, {"roc_auc": 0.80, "brier": 0.15})
    assert not d.promote and "Brier" in d.reason


def test_min_gain_is_respected() -> None:
    champ = {"roc_auc": 0.80, "brier": 0.15}
    assert not decide_promotion({"roc_auc": 0.805, "brier": 0.15}, champ, min_auc_gain=0.01).promote
    assert decide_promotion({"roc_auc": 0.815, "brier": 0.15}, champ, min_auc_gain=0.01).promote


def test_unusable_champion_is_replaced() -> None:
    d = decide_promotion({"roc_auc": 0.7, "brier": 0.2}, None, champion_error="needs feature columns ['x']")
    assert d.promote and "cannot score" in d.reason


def test_a_challenger_must_beat_the_best_baseline() -> None:
    champ = {"roc_auc": 0.80, "brier": 0.15}
    d = decide_promotion({"roc_auc": 0.85, "brier": 0.14}, champ, baseline_margin=-0.01)
    assert not d.promote and "best baseline" in d.reason
    assert decide_promotion({"roc_auc": 0.85, "brier": 0.14}, champ, baseline_margin=0.02).promote
    # with no champion something must score: promoted, but the reason carries the warning
    first = decide_promotion({"roc_auc": 0.85, "brier": 0.14}, None, baseline_margin=-0.01)
    assert first.promote and "WARNING" in first.reason
