"""Out-of-time split: no validation row before a training label's end; holdout is the latest."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from c4.exceptions import ModelError
from c4.modeling.splits import check_plan, plan_time_split


def _monthly(n: int, start: date = date(2025, 3, 1), step: int = 30) -> list[date]:
    return [start + timedelta(days=step * i) for i in range(n)]


def test_monthly_dates_60_day_horizon() -> None:
    # Given 12 monthly as-of dates and a 60-day horizon
    dates = _monthly(12)
    # When planning
    plan = plan_time_split(dates, 60)
    # Then the holdout is the latest date, calibration is the latest date >= 60 days before it,
    # and every fit date's label ends by the calibration date
    assert plan.holdout_dates == (dates[-1],)
    assert plan.calibration_dates == (dates[-3],)
    assert plan.fit_dates == tuple(dates[:-4])
    check_plan(plan)


def test_invariants_hold_for_random_calendars() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        n = int(rng.integers(4, 30))
        offsets = np.sort(rng.choice(600, size=n, replace=False))
        dates = [date(2025, 1, 1) + timedelta(days=int(o)) for o in offsets]
        horizon = int(rng.integers(7, 120))
        holdout = int(rng.integers(1, 3))
        try:
            plan = plan_time_split(dates, horizon, holdout_dates=holdout)
        except ModelError:
            continue
        h = timedelta(days=horizon)
        assert plan.holdout_dates == tuple(dates[-holdout:])
        for v in plan.calibration_dates + plan.holdout_dates:
            assert all(t + h <= v for t in plan.fit_dates)
        for v in plan.holdout_dates:
            assert all(t + h <= v for t in plan.calibration_dates)
        assert set(plan.fit_dates).isdisjoint(plan.calibration_dates + plan.holdout_dates)


def test_duplicates_and_strings_are_normalised() -> None:
    dates = ["2025-01-01", "2025-03-01", "2025-03-01", "2025-05-01", "2025-07-01"]
    plan = plan_time_split(dates, 59)
    assert plan.holdout_dates == (date(2025, 7, 1),)
    assert plan.calibration_dates == (date(2025, 5, 1),)
    assert plan.fit_dates == (date(2025, 1, 1), date(2025, 3, 1))


@pytest.mark.parametrize(
    ("dates", "horizon", "message"),
    [
        (_monthly(2), 30, "at least 3"),
        (_monthly(6, step=10), 90, "before the holdout"),
        (_monthly(4, step=40), 50, "before the calibration"),
    ],
)
def test_too_little_history_is_a_clear_error(dates: list[date], horizon: int, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        plan_time_split(dates, horizon)


def test_check_plan_rejects_leaky_plan() -> None:
    from c4.modeling.splits import TimePlan

    leaky = TimePlan(60, (date(2025, 1, 1),), (date(2025, 2, 1),), (date(2025, 5, 1),))
    with pytest.raises(ModelError, match="fit label ends after"):
        check_plan(leaky)
