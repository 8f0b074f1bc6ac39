"""Module 3: training, tuning, calibration, out-of-time evaluation, reasons, registry, backtest.

Public API::

    from c4.modeling import train, TrainResult, TrainConfig, ProfitParams
    from c4.modeling import load_champion, load_model, ChampionModel
    from c4.modeling import list_versions, promote, rollback, decide_promotion
    from c4.modeling import backtest, BacktestResult

``load_champion(lake)`` returns a :class:`ChampionModel` with ``version``, ``threshold``,
``card``, ``feature_specs``, ``predict_proba(frame)`` (1-D calibrated churn probability),
``reasons(frame, k=3, lang="es")`` and ``risk_band(p)``.  See ``docs/modeling.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from c4._lazy import lazy_getattr

if TYPE_CHECKING:  # the real imports, for type checkers; at run time they are lazy
    from c4.modeling.backtest import BacktestResult, backtest
    from c4.modeling.config import DEFAULT_PROFIT_PARAMS, ProfitParams, TrainConfig, profit_params_from
    from c4.modeling.model import ChurnModel, FeatureInfo, risk_band
    from c4.modeling.promotion import PromotionDecision, decide_promotion
    from c4.modeling.registry import (
        champion_version,
        list_versions,
        load_champion,
        load_model,
        promote,
        read_card,
        read_champion,
        rollback,
    )
    from c4.modeling.training import TrainResult, train

    ChampionModel = ChurnModel

#: Where each public name lives.  Imports are lazy so that loading a model for scoring
#: (registry, model) does not import Optuna, matplotlib or the training code.
_LOCATIONS = {
    "BacktestResult": "backtest",
    "backtest": "backtest",
    "DEFAULT_PROFIT_PARAMS": "config",
    "ProfitParams": "config",
    "TrainConfig": "config",
    "profit_params_from": "config",
    "ChurnModel": "model",
    "ChampionModel": "model",
    "FeatureInfo": "model",
    "risk_band": "model",
    "PromotionDecision": "promotion",
    "decide_promotion": "promotion",
    "champion_version": "registry",
    "list_versions": "registry",
    "load_champion": "registry",
    "load_model": "registry",
    "promote": "registry",
    "read_card": "registry",
    "read_champion": "registry",
    "rollback": "registry",
    "TrainResult": "training",
    "train": "training",
}


__getattr__ = lazy_getattr(__name__, _LOCATIONS, aliases={"ChampionModel": "ChurnModel"})


__all__ = [
    "DEFAULT_PROFIT_PARAMS",
    "BacktestResult",
    "ChampionModel",
    "ChurnModel",
    "FeatureInfo",
    "ProfitParams",
    "PromotionDecision",
    "TrainConfig",
    "TrainResult",
    "backtest",
    "champion_version",
    "decide_promotion",
    "list_versions",
    "load_champion",
    "load_model",
    "profit_params_from",
    "promote",
    "read_card",
    "read_champion",
    "risk_band",
    "rollback",
    "train",
]
