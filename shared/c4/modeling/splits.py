"""Out-of-time splits: which as-of dates fit, calibrate/validate and hold out.

With horizon ``H`` the label of a row at as-of date ``T`` looks at visits in ``(T, T+H]``.
A row may only be used to judge a model fitted on rows whose labels were already complete
at its own as-of date: ``T_fit + H <= T_valid``.  The chain is

``fit dates  --(>= H)-->  calibration date  --(>= H)-->  holdout date(s)``

* holdout: the latest ``n`` as-of dates (final, untouched until the end);
* calibration/validation: the latest date whose labels end by the first holdout date; it
  picks hyper-parameters, calibrates, picks the calibration method and the threshold;
* fit: every date whose labels end by the calibration date.

The same guest appears at several as-of dates.  That is not leakage: a row only carries
what was known at its own date, and every validation row is later than the end of every
training label, so no outcome used in training is visible in validation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from c4.exceptions import ModelError


@dataclass(frozen=True)
class TimePlan:
    """The as-of dates of each role in a training run."""

    horizon_days: int
    fit_dates: tuple[date, ...]
    calibration_dates: tuple[date, ...]
    holdout_dates: tuple[date, ...]

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form for the model card."""
        return {
            "horizon_days": self.horizon_days,
            "fit_dates": [d.isoformat() for d in self.fit_dates],
            "calibration_dates": [d.isoformat() for d in self.calibration_dates],
            "holdout_dates": [d.isoformat() for d in self.holdout_dates],
        }


def _as_dates(values: Iterable[object]) -> list[date]:
    out = set()
    for v in values:
        if hasattr(v, "date") and callable(v.date):  # pandas.Timestamp / datetime
            out.add(v.date())
        elif isinstance(v, date):
            out.add(v)
        else:
            out.add(date.fromisoformat(str(v)[:10]))
    return sorted(out)


def plan_time_split(as_of_dates: Iterable[object], horizon_days: int, *, holdout_dates: int = 1) -> TimePlan:
    """Assign as-of dates to fit / calibration / holdout roles.

    Parameters
    ----------
    as_of_dates : iterable of date-like
        Every as-of date with complete labels.
    horizon_days : int
        Label horizon ``H`` in days.
    holdout_dates : int
        Number of latest dates held out.

    Returns
    -------
    TimePlan

    Raises
    ------
    ModelError
        If there are too few dates, or they are too close together, to build the chain.
    """
    if horizon_days < 1:
        raise ModelError("horizon_days must be >= 1")
    dates = _as_dates(as_of_dates)
    if len(dates) < holdout_dates + 2:
        raise ModelError(
            f"need at least {holdout_dates + 2} as-of dates (fit, calibration, holdout); got {len(dates)}"
        )
    horizon = timedelta(days=horizon_days)
    holdout = dates[-holdout_dates:]
    calib_pool = [d for d in dates if d + horizon <= holdout[0]]
    if not calib_pool:
        raise ModelError(
            f"no as-of date is at least {horizon_days} days before the holdout {holdout[0]}: "
            "more history is needed (or a shorter horizon)"
        )
    calibration = calib_pool[-1]
    fit = [d for d in dates if d + horizon <= calibration]
    if not fit:
        raise ModelError(
            f"no as-of date is at least {horizon_days} days before the calibration date {calibration}: "
            f"the data must span at least 2 x {horizon_days} days of labelled as-of dates"
        )
    return TimePlan(horizon_days, tuple(fit), (calibration,), tuple(holdout))


def check_plan(plan: TimePlan) -> None:
    """Assert the out-of-time invariants of a plan (used by training and tests).

    Raises
    ------
    ModelError
        If a validation or holdout date is earlier than the end of a label it must not see.
    """
    h = timedelta(days=plan.horizon_days)
    if not plan.fit_dates or not plan.calibration_dates or not plan.holdout_dates:
        raise ModelError("every role of the time plan needs at least one as-of date")
    if max(plan.fit_dates) + h > min(plan.calibration_dates):
        raise ModelError("a fit label ends after the calibration date")
    if max(plan.calibration_dates) + h > min(plan.holdout_dates):
        raise ModelError("a calibration label ends after the holdout date")
