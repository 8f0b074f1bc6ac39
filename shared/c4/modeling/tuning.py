"""Hyper-parameter tuning with a budget: Optuna TPE (fixed seed), one study per family.

Each family gets a share of the trial budget (:func:`split_budget`); its first trial is the hand-picked
default (so a tiny budget still yields a sensible model).  A trial fits on (a random sample
of) the fit rows and is scored by ROC-AUC on the out-of-time validation rows.  Every trial
is recorded (family, number, parameters, validation ROC-AUC and log-loss, rows, seconds).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.metrics import log_loss, roc_auc_score

from c4.modeling.candidates import DEFAULT_PARAMS, build_pipeline, suggest_params

logger = logging.getLogger(__name__)


@dataclass
class TuningResult:
    """Best parameters per family and the full trial log."""

    best_params: dict[str, dict[str, Any]]
    best_scores: dict[str, float]
    trials: list[dict[str, Any]] = field(default_factory=list)


def _sample_rows(n: int, max_rows: int, seed: int) -> np.ndarray:
    if n <= max_rows:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=max_rows, replace=False))


#: Relative share of the trial budget per family: boosting has the richest search space
#: and usually wins; the forest is the slowest to fit; the linear model has one knob.
BUDGET_WEIGHTS = {"logreg": 1.0, "forest": 1.0, "hgb": 2.0}


def split_budget(trials: int, families: Sequence[str]) -> dict[str, int]:
    """Trials per family, proportional to :data:`BUDGET_WEIGHTS`, at least one each, summing to ``trials``."""
    weights = np.array([BUDGET_WEIGHTS.get(f, 1.0) for f in families])
    raw = weights / weights.sum() * max(trials, len(families))
    counts = np.maximum(1, np.floor(raw)).astype(int)
    order = np.argsort(-(raw - np.floor(raw)), kind="stable")
    i = 0
    while counts.sum() < trials:
        counts[order[i % len(order)]] += 1
        i += 1
    return {f: int(c) for f, c in zip(families, counts, strict=True)}


def tune(
    X_fit: pd.DataFrame,
    y_fit: np.ndarray,
    X_val: pd.DataFrame,
    y_val: np.ndarray,
    *,
    numeric: Sequence[str],
    categorical: Sequence[str],
    families: Sequence[str],
    trials: int,
    max_rows: int = 40_000,
    random_state: int = 7,
    n_jobs: int = 1,
    timeout_seconds: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> TuningResult:
    """Tune every family within the trial budget.

    Parameters
    ----------
    X_fit, y_fit : training rows (earlier as-of dates)
    X_val, y_val : validation rows (an as-of date at or after every training label's end)
    numeric, categorical : feature columns by kind
    families : family names
    trials : int
        Total trials, split among families by :func:`split_budget` (at least one each).
    max_rows : int
        Trials fit on at most this many sampled training rows.
    random_state : int
        Seed of the row sample, the TPE sampler and the estimators.
    n_jobs : int
        Workers for tree ensembles.
    timeout_seconds : float, optional
        Wall-clock cap for all tuning (split among families).
    progress : callable, optional
        Receives one line per finished trial.

    Returns
    -------
    TuningResult
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    idx = _sample_rows(len(X_fit), max_rows, random_state)
    Xs, ys = X_fit.iloc[idx], np.asarray(y_fit)[idx]
    y_val = np.asarray(y_val)
    budgets = split_budget(trials, families)
    result = TuningResult({}, {})
    for family in families:
        budget = budgets[family]
        # The preprocessing step does not depend on the hyper-parameters: fit it once per
        # family and tune only the estimator on the transformed matrices.
        pre = build_pipeline(family, DEFAULT_PARAMS[family], numeric, categorical).named_steps["features"]
        Zs = pre.fit_transform(Xs, ys)
        Zv = pre.transform(X_val)

        def objective(
            trial: optuna.Trial, family: str = family, budget: int = budget, Zs: Any = Zs, Zv: Any = Zv
        ) -> float:
            params = suggest_params(trial, family)
            start = time.perf_counter()
            pipe = build_pipeline(
                family, params, numeric, categorical, random_state=random_state, n_jobs=n_jobs
            )
            model = pipe.named_steps["model"].fit(Zs, ys)
            p = model.predict_proba(Zv)[:, 1]
            seconds = time.perf_counter() - start
            auc = float(roc_auc_score(y_val, p))
            record = {
                "family": family,
                "number": trial.number,
                "params": params,
                "val_roc_auc": auc,
                "val_log_loss": float(log_loss(y_val, np.clip(p, 1e-6, 1 - 1e-6))),
                "n_train": len(ys),
                "n_val": len(y_val),
                "seconds": round(seconds, 3),
            }
            result.trials.append(record)
            logger.info("trial %s #%d auc=%.4f (%.1fs) %s", family, trial.number, auc, seconds, params)
            if progress:
                progress(f"tuning {family} trial {trial.number + 1}/{budget}: ROC-AUC {auc:.4f}")
            return auc

        sampler = optuna.samplers.TPESampler(seed=random_state, n_startup_trials=min(4, budget))
        study = optuna.create_study(direction="maximize", sampler=sampler)
        study.enqueue_trial(DEFAULT_PARAMS[family])
        timeout = None if timeout_seconds is None else timeout_seconds / len(families)
        study.optimize(objective, n_trials=budget, timeout=timeout)
        best = study.best_trial
        result.best_params[family] = next(
            t["params"] for t in result.trials if t["family"] == family and t["number"] == best.number
        )
        result.best_scores[family] = float(best.value) if best.value is not None else float("nan")
    return result
