"""Monitoring: feature drift and the realised performance of past predictions.

Two checks, both computed from the lake with DuckDB and published as metrics:

* **Feature drift** — the population stability index (PSI) of every numeric feature between
  a reference as-of date (the champion's last training date, else the earliest one) and the
  latest as-of date in ``customer_features``.  Bins are the reference deciles.  PSI < 0.1 is
  stable, 0.1–0.25 moderate, > 0.25 a shift worth a retraining.
* **Realised performance** — predictions whose horizon has fully passed (``as_of + H`` on or
  before the last session date in ``sessions``) are joined with what really happened (a
  visit in ``(as_of, as_of + H]`` or not) and scored with ROC-AUC, Brier score and the
  realised churn rate against the mean predicted probability.

The result is written to ``reports/monitoring/<run date>.json`` and, in AWS, published to
CloudWatch with a client passed in by the caller.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np
from sklearn.metrics import brier_score_loss, roc_auc_score

from c4.engine import available_tables, connect
from c4.storage import Lake

log = logging.getLogger(__name__)

PSI_BINS = 10
NAMESPACE = "C4/Monitoring"


@dataclass(frozen=True)
class MonitoringReport:
    """What one monitoring run found."""

    run_at: str
    reference_as_of: str | None = None
    current_as_of: str | None = None
    psi: dict[str, float] = field(default_factory=dict)
    max_psi: float | None = None
    drifted_features: list[str] = field(default_factory=list)
    realised_rows: int = 0
    realised_auc: float | None = None
    realised_brier: float | None = None
    realised_churn_rate: float | None = None
    mean_predicted: float | None = None

    def metrics(self) -> dict[str, float]:
        """The numbers published as CloudWatch metrics (missing values left out)."""
        values = {
            "MaxFeaturePSI": self.max_psi,
            "DriftedFeatures": float(len(self.drifted_features)),
            "RealisedRows": float(self.realised_rows),
            "RealisedAUC": self.realised_auc,
            "RealisedBrier": self.realised_brier,
            "RealisedChurnRate": self.realised_churn_rate,
            "MeanPredictedProbability": self.mean_predicted,
        }
        return {k: float(v) for k, v in values.items() if v is not None}


def population_stability_index(reference: np.ndarray, current: np.ndarray, bins: int = PSI_BINS) -> float:
    """PSI of ``current`` against ``reference`` on the reference's quantile bins.

    Parameters
    ----------
    reference, current : numpy.ndarray
        Values of one feature (NaNs are dropped).
    bins : int
        Number of quantile bins of the reference.

    Returns
    -------
    float
        ``sum((c - r) * ln(c / r))`` over bins, with shares floored at 1e-4.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> round(population_stability_index(rng.normal(size=5000), rng.normal(size=5000)), 2)
    0.0
    """
    ref = reference[~np.isnan(reference)]
    cur = current[~np.isnan(current)]
    if ref.size == 0 or cur.size == 0:
        return float("nan")
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    r = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=edges.size + 1) / ref.size
    c = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=edges.size + 1) / cur.size
    r = np.clip(r, 1e-4, None)
    c = np.clip(c, 1e-4, None)
    return float(np.sum((c - r) * np.log(c / r)))


def _feature_drift(
    con: duckdb.DuckDBPyConnection, reference_as_of: str | None, threshold: float
) -> dict[str, Any]:
    dates = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT CAST(as_of_date AS VARCHAR) FROM customer_features ORDER BY 1"
        ).fetchall()
    ]
    if len(dates) < 2 and reference_as_of is None:
        return {}
    current = dates[-1]
    reference = reference_as_of if reference_as_of in dates and reference_as_of != current else dates[0]
    if reference == current:
        return {}
    frame = con.execute(
        "SELECT * FROM customer_features WHERE CAST(as_of_date AS VARCHAR) IN ($1, $2)",
        [reference, current],
    ).df()
    is_ref = frame["as_of_date"].astype(str) == reference
    numeric = [
        c for c in frame.columns if c not in ("customer_id", "as_of_date") and frame[c].dtype.kind in "fiub"
    ]
    psi = {}
    for col in numeric:
        values = frame[col].to_numpy(dtype=float, na_value=np.nan)
        value = population_stability_index(values[is_ref.to_numpy()], values[~is_ref.to_numpy()])
        if not np.isnan(value):
            psi[col] = round(value, 5)
    return {
        "reference_as_of": reference,
        "current_as_of": current,
        "psi": psi,
        "max_psi": max(psi.values()) if psi else None,
        "drifted_features": sorted(k for k, v in psi.items() if v > threshold),
    }


_REALISED_SQL = """
WITH last_day AS (SELECT max(local_date) AS d FROM sessions),
due AS (
    SELECT p.customer_id, CAST(p.as_of AS DATE) AS as_of_date, p.churn_probability
    FROM churn_predictions p, last_day
    WHERE CAST(p.as_of AS DATE) + CAST($1 AS INTEGER) <= last_day.d
),
visits AS (SELECT DISTINCT customer_id, local_date FROM sessions)
SELECT d.churn_probability,
       CASE WHEN EXISTS (
           SELECT 1 FROM visits v
           WHERE v.customer_id = d.customer_id
             AND v.local_date > d.as_of_date
             AND v.local_date <= d.as_of_date + CAST($1 AS INTEGER)
       ) THEN 0 ELSE 1 END AS churned
FROM due d
"""


def _realised_performance(con: duckdb.DuckDBPyConnection, horizon_days: int) -> dict[str, Any]:
    rows = con.execute(_REALISED_SQL, [int(horizon_days)]).fetchnumpy()
    p = np.asarray(rows["churn_probability"], dtype=float)
    y = np.asarray(rows["churned"], dtype=int)
    out: dict[str, Any] = {"realised_rows": int(p.size)}
    if p.size == 0:
        return out
    out["realised_churn_rate"] = round(float(y.mean()), 5)
    out["mean_predicted"] = round(float(p.mean()), 5)
    out["realised_brier"] = round(float(brier_score_loss(y, p)), 5)
    if 0 < y.sum() < y.size:
        out["realised_auc"] = round(float(roc_auc_score(y, p)), 5)
    return out


def run_monitoring(
    lake: Lake,
    *,
    horizon_days: int,
    reference_as_of: str | None = None,
    psi_threshold: float = 0.25,
    now: datetime | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> MonitoringReport:
    """Compute feature drift and realised performance and write the report to the lake.

    Parameters
    ----------
    lake : Lake
        The lake (``customer_features``, ``churn_predictions`` and ``sessions`` are read).
    horizon_days : int
        The churn horizon of the predictions (the champion's ``horizon_days``).
    reference_as_of : str, optional
        Reference as-of date for drift (the champion's last training date).
    psi_threshold : float
        PSI above which a feature counts as drifted.
    now : datetime, optional
        Run time (for the report name; default: now, UTC).
    con : duckdb.DuckDBPyConnection, optional
        A connection with the lake's tables (default: :func:`c4.engine.connect`).

    Returns
    -------
    MonitoringReport
        Also written to ``reports/monitoring/<YYYY-MM-DD>.json``.
    """
    con = con or connect(lake)
    tables = set(available_tables(con))
    run_at = (now or datetime.now(UTC)).replace(microsecond=0)
    values: dict[str, Any] = {"run_at": run_at.isoformat()}
    if "customer_features" in tables:
        values.update(_feature_drift(con, reference_as_of, psi_threshold))
    if {"churn_predictions", "sessions"} <= tables:
        values.update(_realised_performance(con, horizon_days))
    report = MonitoringReport(**values)
    lake.write_json(f"reports/monitoring/{run_at.date().isoformat()}.json", asdict(report))
    log.info(
        "monitoring: max PSI %s, realised AUC %s on %d rows",
        report.max_psi,
        report.realised_auc,
        report.realised_rows,
    )
    return report


def publish_metrics(report: MonitoringReport, cloudwatch: Any, *, stage: str) -> int:
    """Publish the report's numbers to CloudWatch (namespace ``C4/Monitoring``).

    Parameters
    ----------
    report : MonitoringReport
    cloudwatch : botocore client
        A CloudWatch client created by the caller.
    stage : str
        Stage name, sent as the ``Stage`` dimension.

    Returns
    -------
    int
        Number of metrics sent.
    """
    data = [
        {
            "MetricName": name,
            "Value": value,
            "Unit": "None",
            "Dimensions": [{"Name": "Stage", "Value": stage}],
        }
        for name, value in report.metrics().items()
    ]
    if data:
        cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data)
    return len(data)
