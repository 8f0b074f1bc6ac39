"""Monitoring: drift and realised performance computed from the lake, published to CloudWatch."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import boto3
import numpy as np
import pyarrow as pa
import pytest
from c4.monitoring import population_stability_index, publish_metrics, run_monitoring
from c4.storage import Lake
from moto import mock_aws


def _write_features(lake: Lake, as_of: str, values: np.ndarray) -> None:
    table = pa.table({"customer_id": [f"c{i}" for i in range(values.size)], "recency_days": values})
    lake.write_parquet(f"features/customer_features/as_of_date={as_of}/part.parquet", table)


def _write_sessions(lake: Lake, visits: list[tuple[str, date]]) -> None:
    table = pa.table(
        {
            "customer_id": [c for c, _ in visits],
            "local_date": pa.array([d for _, d in visits], pa.date32()),
        }
    )
    lake.write_parquet("curated/sessions/dt=all/part.parquet", table)


def _write_predictions(lake: Lake, rows: list[tuple[str, float]], as_of: datetime) -> None:
    table = pa.table(
        {
            "customer_id": [c for c, _ in rows],
            "churn_probability": [p for _, p in rows],
            "as_of": pa.array([as_of] * len(rows), pa.timestamp("us")),
        }
    )
    lake.write_parquet(f"predictions/churn_predictions/dt={as_of.date()}/mall_id=CL01/p.parquet", table)


def test_psi_is_zero_for_same_distribution_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(1)
    ref = rng.normal(size=20_000)
    assert population_stability_index(ref, rng.normal(size=20_000)) < 0.01
    assert population_stability_index(ref, rng.normal(loc=1.0, size=20_000)) > 0.25


def test_drift_flags_the_shifted_feature(tmp_path) -> None:
    lake = Lake(str(tmp_path))
    rng = np.random.default_rng(2)
    _write_features(lake, "2025-01-31", rng.exponential(10, 3000))
    _write_features(lake, "2025-02-28", rng.exponential(30, 3000))
    report = run_monitoring(lake, horizon_days=30, now=datetime(2025, 3, 1))
    assert (report.reference_as_of, report.current_as_of) == ("2025-01-31", "2025-02-28")
    assert report.drifted_features == ["recency_days"]
    assert lake.read_json("reports/monitoring/2025-03-01.json")["max_psi"] == report.max_psi


def test_realised_performance_only_uses_predictions_whose_horizon_passed(tmp_path) -> None:
    # Given predictions at 2025-01-01 with a 10-day horizon and sessions up to 2025-01-20
    lake = Lake(str(tmp_path))
    as_of = datetime(2025, 1, 1)
    _write_predictions(lake, [("stay", 0.1), ("leave", 0.9), ("late", 0.2)], as_of)
    visits = [("stay", date(2025, 1, 5)), ("late", date(2025, 1, 15)), ("x", date(2025, 1, 20))]
    # "leave" never comes back; "late" comes back after the horizon (churned within H)
    _write_sessions(lake, visits)
    report = run_monitoring(lake, horizon_days=10, now=datetime(2025, 1, 21))
    assert report.realised_rows == 3
    assert report.realised_churn_rate == pytest.approx(2 / 3, abs=1e-4)
    assert report.realised_auc == 1.0  # both churners rank above the one who stayed
    assert report.mean_predicted == pytest.approx(0.4, abs=1e-4)
    # And predictions whose horizon has not passed are left out
    later = run_monitoring(lake, horizon_days=30, now=datetime(2025, 1, 21))
    assert later.realised_rows == 0 and later.realised_auc is None


@mock_aws
def test_metrics_are_published_to_cloudwatch(tmp_path) -> None:
    lake = Lake(str(tmp_path))
    rng = np.random.default_rng(3)
    _write_features(lake, "2025-01-31", rng.normal(size=500))
    _write_features(lake, "2025-02-28", rng.normal(size=500))
    report = run_monitoring(lake, horizon_days=30, now=datetime(2025, 3, 1))
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    sent = publish_metrics(report, cw, stage="dev")
    assert sent == len(report.metrics()) >= 2
    names = {m["MetricName"] for m in cw.list_metrics(Namespace="C4/Monitoring")["Metrics"]}
    assert {"MaxFeaturePSI", "DriftedFeatures"} <= names
    stats = cw.get_metric_statistics(
        Namespace="C4/Monitoring",
        MetricName="MaxFeaturePSI",
        Dimensions=[{"Name": "Stage", "Value": "dev"}],
        StartTime=datetime.now() - timedelta(hours=1),
        EndTime=datetime.now() + timedelta(hours=1),
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    assert stats and stats[0]["Maximum"] == pytest.approx(report.max_psi)
