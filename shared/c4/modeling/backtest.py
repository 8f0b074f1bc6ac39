"""Backtest on anyone's sessions file: train on the past, score every guest at an as-of date.

Only sessions on or before the as-of date are used for training and scoring: the file is
read and curated by the ELT's own contract code (``c4.elt.read_sessions_file`` and
``curate_table`` with ``pseudonymise=False``, so ``customer_id`` stays as in the file), the
rows after the as-of date are set aside, and a temporary local lake is built from the rest.
Training as-of dates step back from ``as_of - H`` every :data:`STEP_DAYS` days, so the
latest training labels end exactly at the as-of date.  The scores therefore cannot depend
on sessions after the as-of date; those, when present, only serve to evaluate the scores
against the baselines.
"""

from __future__ import annotations

import logging
import math
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from c4.exceptions import ContractError, ModelError
from c4.modeling.baselines import resolve_baselines
from c4.modeling.config import TrainConfig
from c4.modeling.evaluation import evaluate_baselines, profit_arrays
from c4.modeling.fitting import FitOutcome, Progress, fit_and_evaluate
from c4.modeling.metrics import binary_metrics
from c4.modeling.splits import plan_time_split
from c4.storage import Lake

logger = logging.getLogger(__name__)

#: Spacing of the training as-of dates.
STEP_DAYS = 28
#: Minimum history before the first training as-of date.
MIN_HISTORY_DAYS = 28
#: A smaller default budget than ``c4 train``: backtests are run ad hoc.
DEFAULT_TRIALS = 9


@dataclass
class BacktestResult:
    """Scores at the as-of date and, when the file reaches past it, their evaluation."""

    scores: pd.DataFrame
    card: dict[str, Any]
    evaluation: dict[str, dict[str, Any]] | None = None
    evaluation_note: str | None = None
    rows: dict[str, int] = field(default_factory=dict)


def training_dates(first_day: date, as_of: date, horizon_days: int, *, step: int = STEP_DAYS) -> list[date]:
    """As-of dates ``as_of - H - k*step`` (k >= 0) with at least :data:`MIN_HISTORY_DAYS` of history."""
    out = []
    t = as_of - timedelta(days=horizon_days)
    while t >= first_day + timedelta(days=MIN_HISTORY_DAYS):
        out.append(t)
        t -= timedelta(days=step)
    return sorted(out)


def _curate(path: str | Path, mapping: Mapping[str, str] | None) -> tuple[pa.Table, dict[str, int]]:
    from c4.elt import curate_table, read_sessions_file

    raw = read_sessions_file(path, mapping=mapping, name=Path(path).name)
    result = curate_table(raw, pseudonymise=False, source_file=Path(path).name)
    counts = {
        "rows_in": result.report.rows_in,
        "rows_accepted": result.report.rows_accepted,
        "rows_rejected": result.report.rows_rejected,
    }
    if result.accepted.num_rows == 0:
        raise ContractError(f"{path}: no valid session rows ({result.report.rejected_by_reason})")
    return result.accepted, counts


def _write_lake(root: Path, table: pa.Table) -> Lake:
    from c4.elt.batch import write_malls

    lake = Lake(str(root))
    ds.write_dataset(
        table,
        lake.path("curated/sessions"),
        format="parquet",
        partitioning=ds.partitioning(pa.schema([("dt", pa.string())]), flavor="hive"),
        existing_data_behavior="overwrite_or_ignore",
    )
    write_malls(lake)
    return lake


def _score(
    lake: Lake, outcome: FitOutcome, as_of: date, customers: list[str], *, k: int, lang: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    from c4.engine import connect
    from c4.features import compute_features

    con = connect(lake)
    try:
        frame = compute_features(con, [as_of], customers=customers)
    finally:
        con.close()
    model = outcome.model
    p = model.predict_proba(frame)
    reasons = model.reasons(frame, k=k, lang=lang)
    return pd.DataFrame(
        {
            "customer_id": frame["customer_id"].astype(str).to_numpy(),
            "churn_probability": np.round(p, 6),
            "risk_band": model.risk_bands(p),
            "reasons": ["; ".join(r) for r in reasons],
        }
    ), frame


def _evaluate(
    future: pa.Table, outcome: FitOutcome, frame: pd.DataFrame, as_of: date, horizon: int, config: TrainConfig
) -> tuple[dict[str, dict[str, Any]] | None, str]:
    local = pc.cast(future.column("local_date"), pa.date32()).to_numpy(zero_copy_only=False)
    end = as_of + timedelta(days=horizon)
    last = max(local) if len(local) else as_of
    in_horizon = (local > np.datetime64(as_of)) & (local <= np.datetime64(end))
    returned = set(future.column("customer_id").filter(pa.array(in_horizon)).to_pylist())
    y = (~frame["customer_id"].isin(returned)).to_numpy(dtype=int)
    note = f"labels: no visit in ({as_of}, {end}]"
    if last < end:
        note += f"; the file ends {last}, so the horizon is only partly observed (churn overstated)"
    if not 0 < y.sum() < len(y):
        return None, note + "; a single class: no evaluation"
    p = outcome.model.predict_proba(frame)
    cost, gain = profit_arrays(frame, config.profit_params)
    out: dict[str, dict[str, Any]] = {
        "model": binary_metrics(y, p, threshold=outcome.model.threshold, cost=cost, gain=gain)
    }
    baselines, _ = resolve_baselines(frame.columns)
    if outcome.calibration is not None and outcome.y_calibration is not None:
        base, _ = evaluate_baselines(
            baselines,
            outcome.calibration,
            outcome.y_calibration,
            frame,
            y,
            threshold=outcome.model.threshold,
            cost=cost,
            gain=gain,
        )
        out.update({f"baseline:{k}": v for k, v in base.items()})
    return out, note


def backtest(
    sessions_file: str | Path,
    *,
    as_of: date,
    horizon_days: int,
    mapping: Mapping[str, str] | None = None,
    trials: int = DEFAULT_TRIALS,
    config: TrainConfig | None = None,
    k: int = 3,
    lang: str = "es",
    work_dir: str | Path | None = None,
    progress: Progress | None = None,
) -> BacktestResult:
    """Train on the file's past and score every guest seen on or before ``as_of``.

    Parameters
    ----------
    sessions_file : str or Path
        CSV, JSON lines or Parquet meeting the data contract (``customer_id`` and
        ``session_start`` at least).
    as_of : datetime.date
        Scoring date; only sessions with a local date on or before it are used.
    horizon_days : int
        Churn horizon H.
    mapping : mapping, optional
        Contract column -> column in the file.
    trials : int
        Tuning budget.
    config : TrainConfig, optional
        Overrides the training configuration (``trials`` still applies).
    k, lang : reasons per guest and their language.
    work_dir : path, optional
        Where the temporary lake goes (default: a fresh temporary folder, removed after).
    progress : callable, optional

    Returns
    -------
    BacktestResult
        ``scores`` has ``customer_id, churn_probability, risk_band, reasons``, one row per guest.

    Raises
    ------
    ContractError
        Unreadable file, no valid rows, or no session on or before the as-of date.
    ModelError
        Too little history before the as-of date for the out-of-time chain.
    """
    say = progress or (lambda _m: None)
    config = replace(config or TrainConfig(), trials=trials, importance=False)
    curated, counts = _curate(sessions_file, mapping)
    local = pc.cast(curated.column("local_date"), pa.date32())
    past_mask = pc.less_equal(local, pa.scalar(as_of, pa.date32()))
    past, future = curated.filter(past_mask), curated.filter(pc.invert(past_mask))
    if past.num_rows == 0:
        raise ContractError(f"no session on or before {as_of} in {sessions_file}")
    counts.update(rows_until_as_of=past.num_rows, rows_after_as_of=future.num_rows)
    first_day = pc.min(pc.cast(past.column("local_date"), pa.date32())).as_py()
    dates = training_dates(first_day, as_of, horizon_days)
    try:
        plan_time_split(dates, horizon_days)
    except ModelError as exc:
        span = horizon_days + 2 * STEP_DAYS * math.ceil(horizon_days / STEP_DAYS) + MIN_HISTORY_DAYS
        raise ModelError(
            f"the file starts {first_day}: a {horizon_days}-day backtest at {as_of} needs sessions from at "
            f"least {as_of - timedelta(days=span)} (fit, calibration and holdout dates each a horizon apart)"
        ) from exc
    tmp = Path(tempfile.mkdtemp(prefix="c4-backtest-", dir=work_dir))
    try:
        lake = _write_lake(tmp, past)
        from c4.features import build_training_set

        say(f"building features at {len(dates)} training as-of dates ({dates[0]} .. {dates[-1]})")
        ts = build_training_set(lake, horizon_days=horizon_days, as_of_dates=dates)
        outcome = fit_and_evaluate(ts, config, progress=say)
        customers = sorted(set(past.column("customer_id").to_pylist()))
        say(f"scoring {len(customers)} guests at {as_of}")
        scores, frame = _score(lake, outcome, as_of, customers, k=k, lang=lang)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    evaluation, note = (None, "the file has no session after the as-of date")
    if future.num_rows:
        evaluation, note = _evaluate(future, outcome, frame, as_of, horizon_days, config)
    return BacktestResult(scores, outcome.card, evaluation, note, counts)
