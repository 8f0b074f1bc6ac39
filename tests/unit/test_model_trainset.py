"""``c4 train`` reuses the feature partitions the features step stored, and only fresh ones."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import pytest
from c4.features import build_training_set, write_features
from c4.modeling.training import training_set_from_lake
from c4.modeling.trainset import fresh_feature_dates
from c4.storage import Lake

from tests.fixtures_curated import SyntheticConfig, make_lake

H = 30


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    root = tmp_path_factory.mktemp("lake")
    make_lake(root, SyntheticConfig(customers=400, days=330, malls=2, seed=3))
    return Lake(str(root))


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["as_of_date", "customer_id"]).reset_index(drop=True)


def test_reused_features_equal_rebuilt_ones_and_stale_ones_are_rebuilt(lake: Lake) -> None:
    # Given a training set built from scratch (nothing stored yet)
    built = training_set_from_lake(lake, H)
    dates = list(built.as_of_dates)
    assert len(dates) >= 3 and fresh_feature_dates(lake) == {}
    # When the features step stores two of the dates (after the curated data was written)
    full = build_training_set(lake, horizon_days=H, as_of_dates=dates)
    stored = full.frame[full.frame["as_of_date"].isin(dates[:2])].drop(columns="churned")
    write_features(lake, stored)
    # Then training reuses exactly those dates and the frame is the same as a full rebuild
    assert sorted(fresh_feature_dates(lake)) == dates[:2]
    reused = training_set_from_lake(lake, H)
    pd.testing.assert_frame_equal(_sorted(reused.frame), _sorted(built.frame), check_like=True)
    # When a later ELT run writes curated data after the features were stored
    curated = next(Path(lake.root, "curated", "sessions").rglob("*.parquet"))
    later = time.time() + 60
    os.utime(curated, (later, later))
    # Then the stored partitions count as stale and nothing is reused
    assert fresh_feature_dates(lake) == {}
    pd.testing.assert_frame_equal(
        _sorted(training_set_from_lake(lake, H).frame), _sorted(built.frame), check_like=True
    )
