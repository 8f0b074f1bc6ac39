"""Churn labels and the default horizon: exact cases, and labels never read the past."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest
from c4.engine import connect
from c4.features import build_training_set, compute_labels, default_horizon_days
from c4.features.labels import horizon_from_gap
from c4.features.schema import CATEGORICAL_FEATURES, FEATURE_NAMES
from c4.storage import Lake
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from tests.fixtures_curated import SyntheticConfig, make_lake, tiny_sessions

T = dt.date(2025, 6, 30)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    root = tmp_path_factory.mktemp("lake")
    make_lake(root, SyntheticConfig(customers=1500, days=420, malls=3, seed=11))
    return Lake(str(root))


def _tiny(rows: list[tuple[str, str]]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.register("sessions", tiny_sessions([(c, d, "cine", 12) for c, d in rows]))
    return con


def test_label_boundaries() -> None:
    con = _tiny(
        [
            ("back_on_last_day", "2025-01-10"),
            ("back_on_last_day", "2025-02-09"),  # T + 30: not churned
            ("back_too_late", "2025-01-10"),
            ("back_too_late", "2025-02-10"),  # T + 31: churned
            ("same_day_only", "2025-01-10"),  # churned
            ("inactive", "2024-06-01"),
            ("inactive", "2025-01-20"),  # not active at T: no label
            ("newcomer", "2025-01-15"),  # first seen after T: no label
            ("end", "2025-03-31"),
        ]
    )
    lab = compute_labels(con, [dt.date(2025, 1, 10), dt.date(2025, 3, 15)], 30)
    got = dict(zip(lab["customer_id"], lab["churned"], strict=True))
    assert got == {"back_on_last_day": 0, "back_too_late": 1, "same_day_only": 1}
    assert set(lab["as_of_date"]) == {dt.date(2025, 1, 10)}  # 15 Mar + 30 > 31 Mar: no labels


def test_labels_ignore_the_past_and_the_far_future(lake: Lake) -> None:
    con = connect(lake)
    base = compute_labels(con, [T], 42)
    con.execute(f"""CREATE TEMP TABLE changed AS
        SELECT * REPLACE (dwell_minutes * 7 AS dwell_minutes, 'cine' AS zone, 'PE01' AS mall_id,
                          3 AS local_hour)
        FROM sessions WHERE local_date <= DATE '{T}'
        UNION ALL SELECT * REPLACE (session_id || 'dup' AS session_id, visit_id || 'dup' AS visit_id)
        FROM sessions WHERE local_date <= DATE '{T}' AND local_date > DATE '{T}' - 180
        UNION ALL SELECT * FROM sessions WHERE local_date > DATE '{T}' AND local_date <= DATE '{T}' + 42
        UNION ALL SELECT * FROM sessions WHERE local_date > DATE '{T}' + 42 AND hash(session_id) % 3 = 0""")
    pd.testing.assert_frame_equal(compute_labels(con, [T], 42, sessions="changed"), base, check_exact=True)
    # ... while removing visits inside the horizon does change labels
    con.execute(f"""CREATE TEMP TABLE fewer AS SELECT * FROM sessions
        WHERE NOT (local_date > DATE '{T}' AND local_date <= DATE '{T}' + 42
                   AND hash(customer_id) % 2 = 0)""")
    assert compute_labels(con, [T], 42, sessions="fewer")["churned"].sum() > base["churned"].sum()


def test_default_horizon_from_gaps() -> None:
    rows = []
    for i in range(50):  # gaps of 1..50 days between consecutive visits
        start = dt.date(2025, 1, 1)
        rows += [(f"g{i}", start.isoformat()), (f"g{i}", (start + dt.timedelta(days=i + 1)).isoformat())]
    h = default_horizon_days(_tiny(rows))
    # P90 of 1..50 = 45.1 -> 7 weeks
    assert h == 49
    assert horizon_from_gap(3.0) == 28 and horizon_from_gap(1000.0) == 182 and horizon_from_gap(None) == 182


def _auc_out_of_time(frame: pd.DataFrame, y: np.ndarray) -> float:
    dates = sorted(frame["as_of_date"].unique())
    train = (frame["as_of_date"] < dates[-2]).to_numpy()
    test = (frame["as_of_date"] == dates[-1]).to_numpy()
    x = frame[list(FEATURE_NAMES)].copy()
    for c in CATEGORICAL_FEATURES:
        x[c] = x[c].astype("category")
    model = HistGradientBoostingClassifier(max_iter=60, categorical_features="from_dtype", random_state=0)
    with threadpool_limits(1):  # OpenMP on a shared 2-core box is far slower than one thread
        model.fit(x[train], y[train])
        return float(roc_auc_score(y[test], model.predict_proba(x[test])[:, 1]))


def test_training_set_and_a_quick_model(lake: Lake) -> None:
    ts = build_training_set(lake)
    con = connect(lake)
    last = con.execute("SELECT max(local_date) FROM sessions").fetchall()[0][0]
    assert ts.horizon_days == default_horizon_days(con)
    assert all(d + dt.timedelta(days=ts.horizon_days) <= last for d in ts.as_of_dates)
    assert len(ts.as_of_dates) >= 6 and all(
        d.month != (d + dt.timedelta(days=1)).month for d in ts.as_of_dates
    )
    f = ts.frame
    assert set(f["churned"].unique()) == {0, 1} and 0.2 < f["churned"].mean() < 0.9
    y = f["churned"].to_numpy()
    real = _auc_out_of_time(f, y)
    shuffled = _auc_out_of_time(f, np.random.default_rng(0).permutation(y))
    assert real > 0.7, real
    assert abs(shuffled - 0.5) < 0.06, shuffled
