"""``c4 backtest``: a two-column file, one row per guest, invariance to post-as-of sessions."""

from __future__ import annotations

import itertools
import sys
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from c4.exceptions import ModelError
from c4.features import FEATURE_SPECS
from c4.modeling.backtest import backtest, training_dates

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from model_fixtures import START, quick_config, sessions_frame, simulate_visits

AS_OF = START + timedelta(days=240)
H = 56


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, pd.DataFrame]:
    sessions = sessions_frame(simulate_visits(1500, days=320, seed=11), seed=11)
    sessions["customer_id"] = "AA:" + sessions["customer_id"]  # ids must come back exactly as given
    folder = tmp_path_factory.mktemp("bt")
    full = folder / "sessions.csv"
    sessions.to_csv(full, index=False)
    dates = pd.to_datetime(sessions["session_start"].str[:10]).dt.date
    cut = folder / "sessions_until_as_of.csv"
    sessions[dates <= AS_OF].to_csv(cut, index=False)
    return full, cut, sessions[dates <= AS_OF]


def test_two_column_file_scores_every_guest_and_ignores_the_future(files) -> None:  # type: ignore[no-untyped-def]
    full, cut, past = files
    config = quick_config(trials=2)
    # When backtesting the full file and the file cut at the as-of date
    a = backtest(full, as_of=AS_OF, horizon_days=H, config=config, trials=2)
    b = backtest(cut, as_of=AS_OF, horizon_days=H, config=config, trials=2)
    # Then every guest seen on or before the as-of date gets exactly one row, with their own id
    assert list(a.scores.columns) == ["customer_id", "churn_probability", "risk_band", "reasons"]
    assert sorted(a.scores["customer_id"]) == sorted(past["customer_id"].unique())
    assert a.scores["churn_probability"].between(0, 1).all()
    assert set(a.scores["risk_band"]) <= {"alto", "medio", "bajo"}
    explained = a.scores.loc[a.scores["reasons"] != "", "reasons"]
    assert len(explained) > len(a.scores) // 5
    descriptions = tuple(s.description_es.lower() for s in FEATURE_SPECS)
    assert all(r.lower().startswith(descriptions) for r in explained)
    assert a.scores["churn_probability"].nunique() > 5
    # and the scores do not depend on sessions after the as-of date
    pd.testing.assert_frame_equal(a.scores, b.scores)
    assert a.rows["rows_after_as_of"] > 0 and b.rows["rows_after_as_of"] == 0
    # only the full file can be evaluated, against the baselines on the same guests
    assert b.evaluation is None
    assert a.evaluation is not None
    assert a.evaluation["model"]["n"] == len(a.scores)
    assert "baseline:days_since_last_visit" in a.evaluation
    assert a.evaluation["model"]["roc_auc"] > 0.75


def test_training_dates_end_a_horizon_before_the_as_of_date() -> None:
    dates = training_dates(START, AS_OF, H)
    assert dates[-1] == AS_OF - timedelta(days=H)
    assert all(b - a == timedelta(days=28) for a, b in itertools.pairwise(dates))
    assert dates[0] >= START + timedelta(days=28)


def test_too_short_history_is_a_clear_error(files) -> None:  # type: ignore[no-untyped-def]
    full, _, _ = files
    with pytest.raises(ModelError, match="needs sessions from at least"):
        backtest(full, as_of=START + timedelta(days=150), horizon_days=H, trials=3)
