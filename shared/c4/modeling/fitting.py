"""The training core, free of I/O: a labelled training set in, a calibrated model and its
out-of-time evaluation out.  ``c4 train`` and ``c4 backtest`` both run it.

Steps: time plan -> tune each family on the fit dates (validated on the calibration date)
-> refit the best of each family on all fit rows -> pick the family by calibration-date
ROC-AUC -> measure class weighting (none vs balanced) -> calibrate (isotonic vs sigmoid by
Brier) -> threshold by expected profit -> evaluate every candidate and baseline on the
holdout -> permutation importance.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score
from threadpoolctl import threadpool_limits

from c4.exceptions import ModelError
from c4.modeling.baselines import resolve_baselines
from c4.modeling.calibration import CalibrationChoice, choose_calibration
from c4.modeling.candidates import FAMILY_LABELS, build_pipeline
from c4.modeling.config import TrainConfig
from c4.modeling.evaluation import evaluate_baselines, importance_table, profit_arrays, row_countries
from c4.modeling.metrics import auc_difference_ci, binary_metrics
from c4.modeling.model import MEDIUM_FLOOR_FACTOR, ChurnModel, FeatureInfo
from c4.modeling.reasons import reference_values
from c4.modeling.splits import TimePlan, check_plan, plan_time_split
from c4.modeling.threshold import ThresholdChoice, choose_threshold
from c4.modeling.tuning import tune

logger = logging.getLogger(__name__)
Progress = Callable[[str], None]


@dataclass
class FitOutcome:
    """Everything a training run produced before registration."""

    model: ChurnModel
    card: dict[str, Any]
    plan: TimePlan
    trials: list[dict[str, Any]]
    holdout: pd.DataFrame
    y_holdout: np.ndarray
    holdout_proba: dict[str, np.ndarray] = field(default_factory=dict)
    threshold_choice: ThresholdChoice | None = None
    calibration: pd.DataFrame | None = None
    y_calibration: np.ndarray | None = None


def _split(frame: pd.DataFrame, dates: Sequence[Any]) -> pd.DataFrame:
    wanted = {pd.Timestamp(d).date() for d in dates}
    mask = pd.to_datetime(frame["as_of_date"]).dt.date.isin(wanted)
    return frame.loc[mask].reset_index(drop=True)


def _specs(training_set: Any, fit_rows: pd.DataFrame) -> tuple[list[FeatureInfo], list[str]]:
    """Feature specs with a column that holds at least one value in the fit rows.

    Features that are entirely missing (e.g. WiFi features of a file with only a guest id and
    a start time) carry no information and break binning; they are dropped and listed.
    """
    specs = [FeatureInfo.from_spec(s) for s in training_set.feature_specs]
    cols = set(training_set.frame.columns)
    absent = [s.name for s in specs if s.name not in cols]
    if absent:
        logger.warning("feature specs without a column are ignored: %s", absent)
    empty = [s.name for s in specs if s.name in cols and fit_rows[s.name].notna().sum() == 0]
    if empty:
        logger.info("features without any value in the fit rows are dropped: %s", empty)
    kept = [s for s in specs if s.name in cols and s.name not in empty]
    if not kept:
        raise ModelError("the training set has no usable feature columns")
    return kept, absent + empty


def _thresholds(
    y: np.ndarray, p: np.ndarray, frame: pd.DataFrame, config: TrainConfig
) -> tuple[ThresholdChoice, dict[str, float]]:
    cost, gain = profit_arrays(frame, config.profit_params)
    choice = choose_threshold(y, p, cost, gain, min_recall=config.min_recall)
    by_country: dict[str, float] = {}
    countries = row_countries(frame)
    if countries is not None:
        for c in config.profit_params:
            m = countries == c
            if m.sum() >= 200 and 0 < y[m].sum() < m.sum():
                by_country[c] = choose_threshold(
                    y[m], p[m], cost[m], gain[m], min_recall=config.min_recall
                ).threshold
    return choice, by_country


def fit_and_evaluate(
    training_set: Any, config: TrainConfig, *, progress: Progress | None = None
) -> FitOutcome:
    """Train, tune, calibrate and evaluate with OpenMP/BLAS limited to ``config.threads``.

    See :func:`_fit_and_evaluate` (OpenMP busy-waiting on a shared 2-core machine made
    HistGradientBoosting 20x slower with 2 threads than with 1: measured, see docs/modeling.md).
    """
    with threadpool_limits(limits=config.threads):
        return _fit_and_evaluate(training_set, config, progress=progress)


def _fit_and_evaluate(
    training_set: Any, config: TrainConfig, *, progress: Progress | None = None
) -> FitOutcome:
    """Train, tune, calibrate and evaluate out of time (no I/O).

    Parameters
    ----------
    training_set : TrainingSet-like
        ``.frame`` (``customer_id``, ``as_of_date``, features, ``churned``),
        ``.feature_specs``, ``.horizon_days``.
    config : TrainConfig
    progress : callable, optional
        Receives human-readable progress lines.

    Returns
    -------
    FitOutcome
        The model (unregistered, ``version == ""``) and its card without registry fields.
    """
    say = progress or (lambda _m: None)
    t0 = time.perf_counter()
    frame = training_set.frame
    horizon = int(training_set.horizon_days)
    plan = plan_time_split(frame["as_of_date"].unique(), horizon, holdout_dates=config.holdout_dates)
    check_plan(plan)
    fit_df, cal_df, hold_df = (
        _split(frame, d) for d in (plan.fit_dates, plan.calibration_dates, plan.holdout_dates)
    )
    specs, dropped = _specs(training_set, fit_df)
    features = [s.name for s in specs]
    numeric = [s.name for s in specs if s.kind != "categorical"]
    categorical = [s.name for s in specs if s.kind == "categorical"]
    for name, part in (("fit", fit_df), ("calibration", cal_df), ("holdout", hold_df)):
        if part["churned"].nunique() < 2:
            raise ModelError(f"the {name} rows hold a single class: cannot train or evaluate")
    y_fit, y_cal, y_hold = (p["churned"].to_numpy(dtype=int) for p in (fit_df, cal_df, hold_df))
    say(
        f"time plan: fit {len(plan.fit_dates)} dates ({len(fit_df)} rows), calibration "
        f"{plan.calibration_dates[0]} ({len(cal_df)}), holdout {plan.holdout_dates[-1]} ({len(hold_df)})"
    )

    tuning = tune(
        fit_df,
        y_fit,
        cal_df,
        y_cal,
        numeric=numeric,
        categorical=categorical,
        families=config.families,
        trials=config.trials,
        max_rows=config.max_tune_rows,
        random_state=config.random_state,
        n_jobs=config.n_jobs,
        timeout_seconds=config.timeout_seconds,
        progress=say,
    )

    def fit(family: str, class_weight: str | None) -> Any:
        pipe = build_pipeline(
            family,
            tuning.best_params[family],
            numeric,
            categorical,
            class_weight=class_weight,
            random_state=config.random_state,
            n_jobs=config.n_jobs,
        )
        return pipe.fit(fit_df, y_fit)

    refits: dict[str, Any] = {}
    val_auc: dict[str, float] = {}
    for family in config.families:
        say(f"refitting {FAMILY_LABELS[family]} on {len(fit_df)} rows")
        refits[family] = fit(family, None)
        val_auc[family] = float(roc_auc_score(y_cal, refits[family].predict_proba(cal_df)[:, 1]))
    best = max(config.families, key=lambda f: val_auc[f])
    say(f"best family on the calibration date: {best} (ROC-AUC {val_auc[best]:.4f})")

    # Class imbalance: measured, not assumed.
    cal_ids = cal_df["customer_id"]
    variants: dict[str, CalibrationChoice] = {
        "none": choose_calibration(refits[best], cal_df, y_cal, cal_ids)
    }
    balanced = fit(best, "balanced")
    variants["balanced"] = choose_calibration(balanced, cal_df, y_cal, cal_ids)
    imbalance = {
        "positive_rate_fit": float(y_fit.mean()),
        "measured_on": "calibration date, selection half of guests",
        "variants": {
            k: {
                "calibrated_brier": v.brier_selection[v.method],
                "roc_auc": float(
                    roc_auc_score(
                        y_cal, (refits[best] if k == "none" else balanced).predict_proba(cal_df)[:, 1]
                    )
                ),
            }
            for k, v in variants.items()
        },
    }
    choice_key = min(variants, key=lambda k: (variants[k].brier_selection[variants[k].method], k != "none"))
    imbalance["choice"] = "class_weight=None" if choice_key == "none" else "class_weight='balanced'"
    chosen = variants[choice_key]
    say(f"class imbalance: {imbalance['choice']}; calibration: {chosen.method}")

    sel = chosen.selection_mask if chosen.selection_mask is not None else np.ones(len(cal_df), bool)
    sel_proba = (
        chosen.selection_proba
        if chosen.selection_proba is not None
        else chosen.model.predict_proba(cal_df)[:, 1]
    )
    thr, thr_by_country = _thresholds(
        y_cal[sel], np.asarray(sel_proba), cal_df.loc[sel].reset_index(drop=True), config
    )
    say(f"threshold by expected profit: {thr.threshold:.2f}")

    cost_h, gain_h = profit_arrays(hold_df, config.profit_params)
    holdout_proba: dict[str, np.ndarray] = {}
    candidates: dict[str, dict[str, Any]] = {}
    for family in config.families:
        if family == best:
            cal_model = chosen.model
        else:
            cal_model = choose_calibration(refits[family], cal_df, y_cal, cal_ids).model
        p = cal_model.predict_proba(hold_df)[:, 1]
        holdout_proba[family] = p
        candidates[family] = {
            "label": FAMILY_LABELS[family],
            "params": tuning.best_params[family],
            "tuning_val_roc_auc": tuning.best_scores[family],
            "calibration_date_roc_auc": val_auc[family],
            "holdout": binary_metrics(y_hold, p, threshold=thr.threshold, cost=cost_h, gain=gain_h),
        }
    metrics = candidates[best]["holdout"]

    baselines, missing = resolve_baselines(frame.columns)
    base_metrics, base_proba = evaluate_baselines(
        baselines, cal_df, y_cal, hold_df, y_hold, threshold=thr.threshold, cost=cost_h, gain=gain_h
    )
    holdout_proba.update({f"baseline:{k}": v for k, v in base_proba.items()})
    best_baseline = max(base_metrics, key=lambda k: base_metrics[k]["roc_auc"]) if base_metrics else None
    margin = (
        None
        if best_baseline is None
        else {
            "baseline": best_baseline,
            "roc_auc": metrics["roc_auc"] - base_metrics[best_baseline]["roc_auc"],
            "pr_auc": metrics["pr_auc"] - base_metrics[best_baseline]["pr_auc"],
            "brier": metrics["brier"] - base_metrics[best_baseline]["brier"],
            "expected_profit": metrics.get("expected_profit", 0.0)
            - base_metrics[best_baseline].get("expected_profit", 0.0),
        }
    )
    if margin is not None:
        raw_best = next(b for b in baselines if b.name == best_baseline).score(hold_df)
        margin["roc_auc_ci95"] = list(
            auc_difference_ci(y_hold, holdout_proba[best], raw_best, seed=config.random_state)
        )
    importance: list[dict[str, float | str]] = []
    if config.importance:
        say("permutation importance on the holdout")
        importance = importance_table(
            chosen.model, hold_df, y_hold, features, random_state=config.random_state
        )

    refs = reference_values(fit_df, numeric, categorical)
    card: dict[str, Any] = {
        "horizon_days": horizon,
        "family": best,
        "family_label": FAMILY_LABELS[best],
        "params": tuning.best_params[best],
        "threshold": thr.threshold,
        "threshold_by_country": thr_by_country,
        "threshold_method": {
            "objective": "max realised expected profit",
            "chosen_on": "calibration date, selection half of guests",
            "min_recall": config.min_recall,
            "recall_at_threshold_selection": thr.recall,
            "break_even_by_country": {c: p.break_even for c, p in config.profit_params.items()},
        },
        "risk_bands": {
            "alto": [thr.threshold, 1.0],
            "medio": [thr.threshold * MEDIUM_FLOOR_FACTOR, thr.threshold],
            "bajo": [0.0, thr.threshold * MEDIUM_FLOOR_FACTOR],
        },
        "profit_params": {c: p.as_dict() for c, p in config.profit_params.items()},
        "profit_currency": "USD",
        "metrics": metrics,
        "candidates": candidates,
        "baselines": base_metrics,
        "baselines_missing": missing,
        "best_baseline": best_baseline,
        "margin_over_best_baseline": margin,
        "class_imbalance": imbalance,
        "calibration": {"method": chosen.method, "brier_selection_half": chosen.brier_selection},
        "time_plan": plan.as_dict(),
        "as_of_dates": sorted({pd.Timestamp(d).date().isoformat() for d in frame["as_of_date"].unique()}),
        "rows": {"fit": len(fit_df), "calibration": len(cal_df), "holdout": len(hold_df)},
        "features": [s.as_dict() for s in specs],
        "features_dropped": dropped,
        "reference_values": refs,
        "importance": importance,
        "tuning": {
            "trials": len(tuning.trials),
            "budget": config.trials,
            "max_tune_rows": config.max_tune_rows,
            "sampler": f"optuna TPE seed={config.random_state}",
            "best_val_roc_auc": tuning.best_scores,
        },
        "calibration_date_brier": float(brier_score_loss(y_cal[sel], sel_proba)),
        "fit_seconds": round(time.perf_counter() - t0, 1),
    }
    model = ChurnModel(version="", estimator=chosen.model, card=card, feature_specs=specs)
    return FitOutcome(model, card, plan, tuning.trials, hold_df, y_hold, holdout_proba, thr, cal_df, y_cal)
