"""The decision threshold: offer retention where it maximises expected profit.

The realised profit of offering to every guest with ``p >= t`` on labelled out-of-time rows
is ``sum(churned * success_rate * guest_value - offer_cost)`` over the offered guests (each
with their country's parameters).  The chosen threshold maximises it over a grid; with
``min_recall`` (the original roadmap's "recall >= 0.75") only thresholds meeting the recall
constraint are eligible.  For a calibrated model the optimum sits near the analytic
break-even ``offer_cost / (success_rate * guest_value)``, which is reported next to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from c4.exceptions import ModelError
from c4.modeling.metrics import profit_curve

GRID = np.round(np.arange(0.01, 1.0, 0.01), 2)


@dataclass(frozen=True)
class ThresholdChoice:
    """The chosen threshold and the curve it came from."""

    threshold: float
    expected_profit: float
    recall: float
    constrained: bool
    grid: np.ndarray
    profits: np.ndarray


def recall_curve(y: np.ndarray, p: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Recall of ``p >= t`` for each threshold."""
    y = np.asarray(y, dtype=int)
    pos = np.sort(np.asarray(p, dtype=float)[y == 1])
    if len(pos) == 0:
        return np.zeros(len(thresholds))
    below = np.searchsorted(pos, thresholds, side="left")
    return np.asarray(1.0 - below / len(pos))


def choose_threshold(
    y: np.ndarray,
    p: np.ndarray,
    cost: np.ndarray,
    gain: np.ndarray,
    *,
    min_recall: float | None = None,
    grid: np.ndarray = GRID,
) -> ThresholdChoice:
    """Threshold maximising realised expected profit, optionally under a recall floor.

    Parameters
    ----------
    y : array of 0/1
    p : array
        Calibrated churn probabilities.
    cost, gain : array
        Per-row offer cost and value of a successful save (``success_rate * guest_value``).
    min_recall : float, optional
        Only thresholds with recall >= this are eligible.
    grid : array
        Candidate thresholds (ascending).

    Returns
    -------
    ThresholdChoice
        Ties go to the highest threshold (fewer offers for the same profit).

    Raises
    ------
    ModelError
        If no threshold meets ``min_recall`` (cannot happen for a grid starting near 0
        unless the rows have no churner).
    """
    profits = profit_curve(y, p, cost, gain, grid)
    recalls = recall_curve(y, p, grid)
    eligible = np.ones(len(grid), dtype=bool) if min_recall is None else recalls >= min_recall - 1e-12
    if not eligible.any():
        raise ModelError(f"no threshold reaches recall >= {min_recall}")
    masked = np.where(eligible, profits, -np.inf)
    best = float(masked.max())
    idx = int(np.flatnonzero(np.isclose(masked, best, rtol=0, atol=1e-9))[-1])
    return ThresholdChoice(
        threshold=float(grid[idx]),
        expected_profit=float(profits[idx]),
        recall=float(recalls[idx]),
        constrained=min_recall is not None,
        grid=np.asarray(grid),
        profits=profits,
    )
