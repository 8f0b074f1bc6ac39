"""Configuration of training: the profit model per country and the training budget.

Money is in US dollars so that the three countries add up in one expected profit; the
defaults are documented in ``docs/modeling.md`` and can be overridden per country.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from c4.exceptions import ConfigurationError

#: Model families trained and compared on every run.
FAMILIES: tuple[str, ...] = ("logreg", "forest", "hgb")


@dataclass(frozen=True)
class ProfitParams:
    """The economics of one retention offer in one country (US dollars).

    Parameters
    ----------
    offer_cost : float
        What one offer costs (discount redeemed, message, handling), paid for every guest
        offered, churner or not.
    success_rate : float
        Chance that the offer keeps a guest who would otherwise have churned.
    guest_value : float
        Value to the mall of keeping one guest for the horizon (margin on the guest's
        visits: tenants' rent share, parking, media).
    """

    offer_cost: float
    success_rate: float
    guest_value: float

    def __post_init__(self) -> None:
        if self.offer_cost < 0 or self.guest_value <= 0 or not 0 < self.success_rate <= 1:
            raise ConfigurationError(
                "profit parameters need offer_cost >= 0, guest_value > 0 and 0 < success_rate <= 1"
            )

    @property
    def break_even(self) -> float:
        """Churn probability above which an offer pays for itself: cost / (success * value)."""
        return self.offer_cost / (self.success_rate * self.guest_value)

    def as_dict(self) -> dict[str, float]:
        """Plain-dict form (the card's ``profit_params`` entries)."""
        return {
            "offer_cost": self.offer_cost,
            "success_rate": self.success_rate,
            "guest_value": self.guest_value,
        }


#: Defaults per country (USD). A retained regular guest is worth more in Chile (higher
#: spend per visit) than in Peru or Colombia; offers cost a little more where prices are higher.
DEFAULT_PROFIT_PARAMS: Mapping[str, ProfitParams] = MappingProxyType(
    {
        "CL": ProfitParams(offer_cost=3.0, success_rate=0.20, guest_value=30.0),
        "PE": ProfitParams(offer_cost=2.0, success_rate=0.20, guest_value=22.0),
        "CO": ProfitParams(offer_cost=2.0, success_rate=0.18, guest_value=20.0),
    }
)

#: Country used for guests whose country is unknown (e.g. a backtest file without mall ids).
DEFAULT_COUNTRY = "CL"


def profit_params_from(mapping: Mapping[str, Any] | None) -> dict[str, ProfitParams]:
    """Merge user overrides (``{"CL": {"offer_cost": 2.5}, ...}``) into the defaults.

    Parameters
    ----------
    mapping : Mapping, optional
        Per-country overrides; missing countries and fields keep their defaults.

    Returns
    -------
    dict[str, ProfitParams]
    """
    out = dict(DEFAULT_PROFIT_PARAMS)
    for country, values in (mapping or {}).items():
        base = out.get(country, DEFAULT_PROFIT_PARAMS[DEFAULT_COUNTRY]).as_dict()
        if isinstance(values, ProfitParams):
            out[country] = values
            continue
        unknown = set(values) - set(base)
        if unknown:
            raise ConfigurationError(f"unknown profit parameter(s) for {country}: {sorted(unknown)}")
        base.update({k: float(v) for k, v in values.items()})
        out[country] = ProfitParams(**base)
    return out


@dataclass(frozen=True)
class TrainConfig:
    """How much work a training run does and how it decides.

    Parameters
    ----------
    trials : int
        Tuning budget: Optuna trials shared among the model families (the first trial of
        each family is its hand-picked default).
    families : tuple[str, ...]
        Model families to tune and compare (subset of :data:`FAMILIES`).
    max_tune_rows : int
        Tuning trials fit on at most this many (randomly sampled) training rows; the winners
        are refitted on all training rows.
    random_state : int
        Seed of sampling, Optuna's TPE sampler and every estimator.
    min_recall : float, optional
        The original roadmap's constraint: the threshold maximises profit among thresholds
        whose recall on the selection slice is at least this.
    profit_params : Mapping[str, ProfitParams]
        Offer economics per country.
    holdout_dates : int
        How many of the latest as-of dates form the final holdout.
    n_jobs : int
        Worker threads for the tree ensembles (joblib).
    threads : int
        OpenMP / BLAS threads while training (HistGradientBoosting, BLAS); 1 by default
        because OpenMP busy-waits badly on a shared 2-core machine.
    timeout_seconds : float, optional
        Optional wall-clock cap on tuning (makes runs machine-dependent; off by default).
    importance : bool
        Compute permutation importance on the holdout (for the card and report).
    """

    trials: int = 16
    families: tuple[str, ...] = FAMILIES
    max_tune_rows: int = 25_000
    random_state: int = 7
    min_recall: float | None = None
    profit_params: Mapping[str, ProfitParams] = field(default_factory=lambda: dict(DEFAULT_PROFIT_PARAMS))
    holdout_dates: int = 1
    n_jobs: int = 2
    threads: int = 1
    timeout_seconds: float | None = None
    importance: bool = True

    def __post_init__(self) -> None:
        bad = [f for f in self.families if f not in FAMILIES]
        if bad or not self.families:
            raise ConfigurationError(f"unknown model families {bad}; choose among {list(FAMILIES)}")
        if self.trials < len(self.families):
            raise ConfigurationError(
                f"--trials must be at least {len(self.families)} (one default trial per family)"
            )
        if self.min_recall is not None and not 0 < self.min_recall <= 1:
            raise ConfigurationError("min_recall must be in (0, 1]")
        if self.holdout_dates < 1:
            raise ConfigurationError("holdout_dates must be >= 1")
