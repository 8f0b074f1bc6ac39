"""Champion / challenger: a pure rule deciding whether a new model replaces the one in use.

Both models are scored on the *same* rows: the challenger's holdout (the latest as-of date),
which neither has trained or calibrated on.  The challenger is promoted when there is no
champion, when the champion cannot score today's features, or when it ranks better
(ROC-AUC higher by more than ``min_auc_gain``) without being worse calibrated (Brier no more
than ``max_brier_loss`` above the champion's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class PromotionDecision:
    """Whether to promote, and why (written to the card and shown by the CLI)."""

    promote: bool
    reason: str


def decide_promotion(
    challenger: Mapping[str, float],
    champion: Mapping[str, float] | None,
    *,
    champion_error: str | None = None,
    baseline_margin: float | None = None,
    min_auc_gain: float = 0.0,
    max_brier_loss: float = 0.002,
) -> PromotionDecision:
    """Decide champion vs challenger on metrics computed on the same out-of-time rows.

    Parameters
    ----------
    challenger : mapping
        Challenger metrics (``roc_auc``, ``brier``).
    champion : mapping or None
        Champion metrics on the same rows; ``None`` when there is no champion.
    champion_error : str, optional
        Why the champion could not be scored on these rows (e.g. missing features).
    baseline_margin : float, optional
        Challenger ROC-AUC minus the best baseline's on the same rows.  A challenger that
        does not beat the best baseline never replaces a champion; when there is no champion
        it is still promoted (something must score) with a warning in the reason.
    min_auc_gain : float
        Required ROC-AUC improvement (strictly greater).
    max_brier_loss : float
        Tolerated Brier deterioration.

    Returns
    -------
    PromotionDecision
    """
    weak = baseline_margin is not None and baseline_margin <= 0
    warning = f"; WARNING: does not beat the best baseline (ROC-AUC {baseline_margin:+.4f})" if weak else ""
    if champion_error is not None:
        return PromotionDecision(True, f"champion cannot score the current rows ({champion_error}){warning}")
    if champion is None:
        return PromotionDecision(True, f"no champion yet{warning}")
    if weak:
        return PromotionDecision(False, f"does not beat the best baseline (ROC-AUC {baseline_margin:+.4f})")
    gain = challenger["roc_auc"] - champion["roc_auc"]
    brier_delta = challenger["brier"] - champion["brier"]
    if gain <= min_auc_gain:
        return PromotionDecision(
            False,
            f"ROC-AUC {challenger['roc_auc']:.4f} does not beat the champion's {champion['roc_auc']:.4f}",
        )
    if brier_delta > max_brier_loss:
        return PromotionDecision(
            False, f"Brier {challenger['brier']:.4f} is worse than the champion's {champion['brier']:.4f}"
        )
    return PromotionDecision(
        True, f"ROC-AUC +{gain:.4f} over the champion on the same rows (Brier {brier_delta:+.4f})"
    )
