"""The pipeline steps, one function each, shared by every place the pipeline runs.

The Glue job scripts (``glue_jobs/*.py``), the Step Functions training pipeline (one state per
step) and the local ``c4 pipeline`` command call exactly these functions, in the order of
:data:`PIPELINE_STEPS`.  Each takes a :class:`~c4.settings.Settings` built once at the edge and
returns a small JSON-able dict (what the state machine and the summary read).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, is_dataclass
from datetime import date
from typing import Any

from c4.settings import Settings
from c4.storage import Lake, open_lake

log = logging.getLogger(__name__)

#: The order of the training pipeline (Step Functions and ``c4 pipeline``).
PIPELINE_STEPS = ("generate", "elt", "features", "train", "gate", "promote", "monitor")

#: Where ``run_train`` leaves the promotion decision the gate reads.
GATE_FILE = "models/{version}/gate.json"
LATEST_GATE_FILE = "models/_latest_gate.json"


def settings_from_job_args(args: Mapping[str, str], env: Mapping[str, str] | None = None) -> Settings:
    """Settings for a job: environment first, job arguments (``--lake`` ...) winning.

    Parameters
    ----------
    args : Mapping[str, str]
        Resolved job arguments (``lake``, ``stage``, ``glue_database``, ``aws_region``).
    env : Mapping[str, str], optional
        Environment (default ``os.environ``).

    Returns
    -------
    Settings
    """
    known = ("lake", "stage", "glue_database", "aws_region")
    return Settings.from_env(os.environ if env is None else env, **{k: args.get(k) for k in known})


def _plain(obj: Any) -> Any:
    if is_dataclass(obj) and not isinstance(obj, type):
        return {k: _plain(v) for k, v in asdict(obj).items()}
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, date):
        return obj.isoformat()
    return obj


def run_generate(
    settings: Settings,
    *,
    mall_ids: Sequence[str] | None = None,
    customers: int = 20_000,
    months: int = 18,
    seed: int = 42,
    malls: int | None = None,
    start: date | None = None,
    lake: Lake | None = None,
) -> dict[str, Any]:
    """Generate synthetic raw WiFi files (optionally only some malls: the per-mall fan-out).

    Returns
    -------
    dict
        Files, rows, sessions, guests and the dirt injected.
    """
    from c4.generate import GeneratorConfig, generate

    kwargs: dict[str, Any] = {"customers": customers, "months": months, "seed": seed, "malls": malls}
    if start is not None:
        kwargs["start"] = start
    if mall_ids:
        kwargs["only_malls"] = tuple(mall_ids)
    summary = generate(lake or open_lake(settings), GeneratorConfig(**kwargs))
    out = {k: v for k, v in _plain(summary).items() if k != "per_mall"}
    return out


def run_elt(settings: Settings, *, spark: Any = None, lake: Lake | None = None) -> dict[str, Any]:
    """Curate every new raw file (DuckDB locally, Spark when a session is given)."""
    lake = lake or open_lake(settings)
    if spark is not None:
        from c4.elt.spark import run_elt_spark

        return dict(_plain(run_elt_spark(spark, lake, settings)))
    from c4.elt import run_elt as elt

    return dict(_plain(elt(lake, settings)))


def run_features(
    settings: Settings, *, horizon_days: int | None = None, lake: Lake | None = None
) -> dict[str, Any]:
    """Compute point-in-time features at the monthly as-of dates and the latest date; write them.

    Returns
    -------
    dict
        The as-of dates written, rows and the horizon used.
    """
    import duckdb

    from c4.features import (
        batch_connection,
        compute_features,
        default_horizon_days,
        monthly_as_of_dates,
        write_features,
    )

    lake = lake or open_lake(settings)
    con: duckdb.DuckDBPyConnection = batch_connection(lake)  # bounded DuckDB memory, spills
    horizon = horizon_days or default_horizon_days(con)
    last = con.execute("SELECT max(local_date) FROM sessions").fetchone()
    dates = sorted({*monthly_as_of_dates(con, horizon), *([last[0]] if last and last[0] else [])})
    frame = compute_features(con, dates)
    written = write_features(lake, frame)
    return {
        "as_of_dates": [d.isoformat() for d in dates],
        "rows": len(frame),
        "files": len(written),
        "horizon_days": int(horizon),
    }


def run_train(
    settings: Settings,
    *,
    horizon_days: int | None = None,
    trials: int | None = None,
    lake: Lake | None = None,
    progress: Any = None,
) -> dict[str, Any]:
    """Train, tune, calibrate and evaluate a challenger; record the gate's decision.

    The challenger is registered but not promoted here: the gate (a separate pipeline step)
    reads ``models/<version>/gate.json`` (also copied to ``models/_latest_gate.json``) and
    calls :func:`run_promote` when ``promote`` is true.
    """
    from c4.modeling import train

    lake = lake or open_lake(settings)
    result = train(
        lake, settings, horizon_days=horizon_days, trials=trials, auto_promote=False, progress=progress
    )
    metrics = result.card.get("metrics", {})
    gate = {
        "version": result.version,
        "promote": bool(result.decision.promote),
        "reason": result.decision.reason,
        "roc_auc": metrics.get("roc_auc"),
        "report": result.report_path,
    }
    lake.write_json(GATE_FILE.format(version=result.version), gate)
    lake.write_json(LATEST_GATE_FILE, gate)
    return gate


def run_gate(settings: Settings, *, lake: Lake | None = None) -> dict[str, Any]:
    """Read the latest gate decision (what the state machine's Choice state reads)."""
    return dict((lake or open_lake(settings)).read_json(LATEST_GATE_FILE))


def run_promote(settings: Settings, *, version: str, lake: Lake | None = None) -> dict[str, Any]:
    """Make ``version`` the champion (the registry keeps the history for rollback)."""
    from c4.modeling import promote

    lake = lake or open_lake(settings)
    gate_path = GATE_FILE.format(version=version)
    reason = lake.read_json(gate_path)["reason"] if lake.exists(gate_path) else "promoted by the pipeline"
    entry = promote(lake, version, reason=reason)
    return {"champion": version, "entry": _plain(entry)}


def run_monitor(settings: Settings, *, cloudwatch: Any = None, lake: Lake | None = None) -> dict[str, Any]:
    """Feature drift and realised performance; metrics to CloudWatch when a client is given."""
    from c4.modeling import champion_version, read_card
    from c4.monitoring import publish_metrics, run_monitoring

    lake = lake or open_lake(settings)
    version = champion_version(lake)
    card = read_card(lake, version) if version else {}
    horizon = int(card.get("horizon_days") or 60)
    reference = (card.get("data_window") or {}).get("last_as_of")
    report = run_monitoring(lake, horizon_days=horizon, reference_as_of=reference)
    sent = publish_metrics(report, cloudwatch, stage=settings.stage) if cloudwatch is not None else 0
    return {**report.metrics(), "metrics_published": sent, "drifted_features": report.drifted_features}
