"""``train``: from the curated zone to a registered, evaluated, possibly promoted model."""

from __future__ import annotations

import hashlib
import logging
import platform
import time
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from c4.exceptions import C4Error, ModelError
from c4.modeling.config import TrainConfig
from c4.modeling.fitting import FitOutcome, Progress, fit_and_evaluate
from c4.modeling.metrics import binary_metrics
from c4.modeling.model import ChurnModel
from c4.modeling.oracle import oracle_probabilities, oracle_summary
from c4.modeling.promotion import PromotionDecision, decide_promotion
from c4.modeling.registry import champion_version, load_model, new_version, promote, save_model
from c4.modeling.report import render_report
from c4.modeling.trainset import training_frame
from c4.storage import Lake

logger = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What a training run produced."""

    version: str
    model: ChurnModel
    card: dict[str, Any]
    promoted: bool
    decision: PromotionDecision
    model_dir: str
    report_path: str


def data_sha256(frame: pd.DataFrame) -> str:
    """SHA-256 of a training frame's content (row order independent)."""
    ordered = frame.sort_values(["as_of_date", "customer_id"]).reset_index(drop=True)
    hashes = pd.util.hash_pandas_object(ordered, index=False).to_numpy()
    h = hashlib.sha256(hashes.tobytes())
    h.update(",".join(map(str, ordered.columns)).encode())
    return h.hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of the libraries the model file and its numbers depend on."""
    import numpy
    import optuna
    import scipy
    import sklearn
    import skops

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": numpy.__version__,
        "pandas": pd.__version__,
        "scipy": scipy.__version__,
        "optuna": optuna.__version__,
        "skops": skops.__version__,
    }


#: A day counts as "in the data" when it holds at least this share of the median daily sessions.
DATA_END_MIN_SHARE = 0.1


def robust_data_end(con: Any) -> date | None:
    """Last local date whose session volume is at least 10% of the median day's.

    A handful of stray rows with far-future timestamps (clock skew that passed validation)
    would otherwise make the data look longer than it is, and labels at late as-of dates
    would count every guest as churned.
    """
    rows = con.execute(
        "SELECT local_date, count(*) AS n FROM sessions WHERE local_date IS NOT NULL GROUP BY 1 ORDER BY 1"
    ).fetchall()
    if not rows:
        return None
    counts = np.array([r[1] for r in rows], dtype=float)
    floor = DATA_END_MIN_SHARE * float(np.median(counts))
    dense = [r[0] for r in rows if r[1] >= floor]
    return pd.Timestamp(dense[-1]).date() if dense else None


def training_set_from_lake(lake: Lake, horizon_days: int | None) -> Any:
    """Features and labels at monthly as-of dates whose horizon ends by the robust data end.

    Feature partitions the features step stored after the latest curated data are reused;
    only the other dates are computed (see :mod:`c4.modeling.trainset`).

    Parameters
    ----------
    lake : Lake
        A lake with curated ``sessions``.
    horizon_days : int, optional
        Label horizon (default: the features module's default).

    Returns
    -------
    c4.features.TrainingSet
    """
    from c4.engine import connect
    from c4.features import FEATURE_SPECS, TrainingSet, default_horizon_days, monthly_as_of_dates

    con = connect(lake)
    try:
        if "sessions" not in {r[0] for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}:
            raise ModelError(f"no curated sessions in {lake.uri}: run c4 generate and c4 elt first")
        h = horizon_days or default_horizon_days(con)
        end = robust_data_end(con)
        dates = [d for d in monthly_as_of_dates(con, h) if end is None or d + timedelta(days=h) <= end]
        if not dates:
            raise ModelError(f"no as-of date has a complete {h}-day horizon before the data ends ({end})")
        logger.info("training set: H=%d, as-of dates %s..%s (data end %s)", h, dates[0], dates[-1], end)
        frame, sources = training_frame(lake, con, dates, h)
    finally:
        con.close()
    logger.info("feature dates reused: %s; computed: %s", sources["reused"], sources["computed"])
    present = tuple(sorted(set(frame["as_of_date"])))
    return TrainingSet(frame=frame, feature_specs=FEATURE_SPECS, horizon_days=h, as_of_dates=present)


def _data_window(lake: Lake, frame: pd.DataFrame, horizon: int) -> dict[str, str]:
    dates = pd.to_datetime(frame["as_of_date"])
    window = {
        "first_as_of": f"{dates.min():%Y-%m-%d}",
        "last_as_of": f"{dates.max():%Y-%m-%d}",
        "last_label_end": f"{dates.max() + pd.Timedelta(days=horizon):%Y-%m-%d}",
    }
    try:
        from c4.engine import connect

        con = connect(lake)
        try:
            lo, hi = con.execute("SELECT min(local_date), max(local_date) FROM sessions").fetchone() or (
                None,
                None,
            )
            end = robust_data_end(con) if lo is not None else None
        finally:
            con.close()
        if lo is not None:
            window.update(first_session=str(lo), last_session=str(hi))
            if end is not None and str(end) != str(hi):
                window["data_end_used"] = str(end)  # stray later rows ignored (see robust_data_end)
    except Exception as exc:  # the window is informative only
        logger.debug("no session window: %s", exc)
    return window


def _compare_with_champion(
    lake: Lake, outcome: FitOutcome
) -> tuple[str | None, dict[str, Any] | None, str | None]:
    current = champion_version(lake)
    if current is None:
        return None, None, None
    try:
        champ = load_model(lake, current)
        p = champ.predict_proba(outcome.holdout)
    except C4Error as exc:
        return current, None, str(exc)
    return current, binary_metrics(outcome.y_holdout, p, threshold=champ.threshold), None


def train(
    lake: Lake | str,
    settings: Any,
    *,
    horizon_days: int | None = None,
    trials: int | None = None,
    config: TrainConfig | None = None,
    training_set: Any = None,
    progress: Progress | None = None,
    auto_promote: bool = True,
) -> TrainResult:
    """Build the training set, train, evaluate out of time, register and (maybe) promote.

    Parameters
    ----------
    lake : Lake or str
        The lake (curated ``sessions`` must exist unless ``training_set`` is given).
    settings : c4.settings.Settings
        Needed for the pseudonym key (oracle join on synthetic data).
    horizon_days : int, optional
        Label horizon; default: the features module's default.
    trials : int, optional
        Tuning budget (overrides ``config.trials``).
    config : TrainConfig, optional
    training_set : TrainingSet-like, optional
        Use this instead of building one from the lake (tests, backtest).
    progress : callable, optional
        Receives progress lines.
    auto_promote : bool
        Apply the champion/challenger rule (the first model always becomes champion).

    Returns
    -------
    TrainResult
    """
    say = progress or (lambda _m: None)
    start = time.perf_counter()
    lake = lake if isinstance(lake, Lake) else Lake(str(lake))
    config = config or TrainConfig()
    if trials is not None:
        config = replace(config, trials=trials)
    if training_set is None:
        say("building features and labels from the curated zone")
        training_set = training_set_from_lake(lake, horizon_days)
    elif horizon_days is not None and int(training_set.horizon_days) != horizon_days:
        raise ModelError("horizon_days differs from the given training set's horizon")
    frame = training_set.frame
    if frame.empty:
        raise ModelError("the training set is empty: run c4 generate / c4 elt first")
    sha = data_sha256(frame)
    outcome = fit_and_evaluate(training_set, config, progress=say)
    horizon = int(training_set.horizon_days)
    version = new_version(sha)
    card = outcome.card
    p_hold = outcome.holdout_proba[card["family"]]

    say("oracle and champion comparison on the holdout rows")
    p_oracle = oracle_probabilities(lake, settings, outcome.holdout, horizon)
    oracle = oracle_summary(outcome.y_holdout, p_hold, p_oracle)
    previous, champ_metrics, champ_error = _compare_with_champion(lake, outcome)
    margin = card.get("margin_over_best_baseline") or {}
    decision = decide_promotion(
        card["metrics"], champ_metrics, champion_error=champ_error, baseline_margin=margin.get("roc_auc")
    )
    card.update(
        version=version,
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
        training_seconds=round(time.perf_counter() - start, 1),
        training_data_sha256=sha,
        training_rows=len(frame),
        data_window=_data_window(lake, frame, horizon),
        library_versions=library_versions(),
        oracle=oracle,
        oracle_share=oracle.get("oracle_share"),
        beats_best_baseline=None if not margin else bool(margin["roc_auc"] > 0),
        promotion={
            "promoted": bool(decision.promote and auto_promote),
            "recommended": bool(decision.promote),
            "reason": decision.reason,
            "champion_before": previous,
            "champion_metrics_same_rows": champ_metrics,
        },
    )
    outcome.model.version = version
    html = render_report(outcome, card, oracle_proba=p_oracle)
    folder = save_model(lake, outcome.model, trials=outcome.trials, report_html=html)
    report_path = lake.write_bytes(f"reports/model-{version}.html", html.encode("utf-8"))
    promoted = bool(decision.promote and auto_promote)
    if promoted:
        promote(lake, version, reason=decision.reason)
    say(
        f"model {version}: ROC-AUC {card['metrics']['roc_auc']:.4f}; "
        f"{'promoted' if promoted else 'not promoted'} ({decision.reason})"
    )
    return TrainResult(version, outcome.model, card, promoted, decision, folder, report_path)
