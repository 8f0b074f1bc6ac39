"""Threshold by expected profit, checked against a hand-computed case."""

from __future__ import annotations

import numpy as np
import pytest
from c4.modeling.config import ProfitParams, profit_params_from
from c4.modeling.metrics import binary_metrics, expected_calibration_error, profit_curve, row_profit_params
from c4.modeling.threshold import choose_threshold

Y = np.array([1, 1, 0, 1, 0])
P = np.array([0.9, 0.8, 0.7, 0.4, 0.2])


def test_hand_computed_profit_curve() -> None:
    # offer cost 1, success 0.3, value 10 -> a saved churner is worth 3, each offer costs 1
    cost, gain = np.ones(5), np.full(5, 3.0)
    # offered sets: {.9}: 2, {.9,.8}: 4, +{.7} (non-churner): 3, +{.4}: 5, +{.2}: 4
    curve = profit_curve(Y, P, cost, gain, np.array([0.95, 0.9, 0.8, 0.7, 0.4, 0.2]))
    np.testing.assert_allclose(curve, [0, 2, 4, 3, 5, 4])


def test_threshold_maximises_profit_ties_to_the_highest() -> None:
    cost, gain = np.ones(5), np.full(5, 3.0)
    choice = choose_threshold(Y, P, cost, gain)
    # profit 5 for any t in (0.2, 0.4]: the highest grid point wins
    assert choice.threshold == pytest.approx(0.40)
    assert choice.expected_profit == pytest.approx(5.0)
    assert choice.recall == pytest.approx(1.0)


def test_expensive_offers_raise_the_threshold() -> None:
    # a saved churner worth 1.5, offers cost 1: only the top two guests pay (0.5 each)
    choice = choose_threshold(Y, P, np.ones(5), np.full(5, 1.5))
    assert choice.threshold == pytest.approx(0.80)
    assert choice.expected_profit == pytest.approx(1.0)


def test_recall_floor_overrides_profit() -> None:
    # with the same economics, recall >= 0.75 forces offering down to the 0.4 guest
    choice = choose_threshold(Y, P, np.ones(5), np.full(5, 1.5), min_recall=0.75)
    assert choice.threshold == pytest.approx(0.40)
    assert choice.recall >= 0.75
    assert choice.expected_profit == pytest.approx(1.5 * 3 - 4)


def test_country_parameters_apply_per_row() -> None:
    params = profit_params_from({"PE": {"offer_cost": 5.0}})
    cost, gain = row_profit_params(["CL", "PE", None, "XX"], 4, params)
    cl = params["CL"]
    assert cost.tolist() == [cl.offer_cost, 5.0, cl.offer_cost, cl.offer_cost]
    assert gain[1] == pytest.approx(params["PE"].success_rate * params["PE"].guest_value)
    assert ProfitParams(2.0, 0.2, 20.0).break_even == pytest.approx(0.5)


def test_metrics_on_a_small_case() -> None:
    m = binary_metrics(Y, P, threshold=0.5, cost=np.ones(5), gain=np.full(5, 3.0))
    assert m["roc_auc"] == pytest.approx(5 / 6)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["expected_profit"] == pytest.approx(3.0)
    assert m["capture_top20"] == pytest.approx(1 / 3)  # top 1 of 5 guests holds 1 of 3 churners
    # ECE: bins .9 (y=1), .8 (1), .7 (0), .4 (1), .2 (0) -> |1-.9|+|1-.8|+|0-.7|+|1-.4|+|0-.2| over 5
    assert expected_calibration_error(Y, P) == pytest.approx((0.1 + 0.2 + 0.7 + 0.6 + 0.2) / 5)
