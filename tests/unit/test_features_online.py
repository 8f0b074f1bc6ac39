"""Scoring-time features: stored population parts reused, and still equal to the batch rows."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from c4.engine import connect
from c4.features import compute_features, write_features
from c4.features.context import PopulationParts, reference_date
from c4.features.store import population_path, read_population
from c4.scoring.cache import SESSIONS_SCHEMA, clear_history_cache
from c4.scoring.history import online_features
from c4.storage import Lake

from tests.fixtures_curated import SyntheticConfig, make_lake

FILE_DAY = dt.date(2025, 9, 17)  # mid-month: population parts come from 31 Aug


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    root = tmp_path_factory.mktemp("lake")
    make_lake(root, SyntheticConfig(customers=800, days=330, malls=3, seed=7))
    return Lake(str(root))


@pytest.fixture(scope="module")
def scored_file(lake: Lake) -> tuple[pa.Table, str]:
    """One day's curated file, as the ELT would hand it to scoring."""
    day = lake.dataset("curated/sessions").to_table(filter=pc.field("local_date") == FILE_DAY)
    accepted = pa.Table.from_arrays([day.column(f.name) for f in SESSIONS_SCHEMA], schema=SESSIONS_SCHEMA)
    (source,) = pc.unique(accepted.column("source_file")).to_pylist()
    return accepted, source


def test_reference_date_is_the_month_end_on_or_before() -> None:
    assert reference_date(dt.date(2025, 9, 30)) == dt.date(2025, 9, 30)
    assert reference_date(dt.date(2025, 9, 17)) == dt.date(2025, 8, 31)
    assert reference_date(dt.date(2024, 3, 1)) == dt.date(2024, 2, 29)


def test_online_features_use_stored_parts_and_equal_the_batch(
    lake: Lake, scored_file: tuple[pa.Table, str]
) -> None:
    # Given the batch definition for the file's guests at the file's day (parts computed)
    accepted, source = scored_file
    clear_history_cache()
    guests = sorted(pc.unique(accepted.column("customer_id")).to_pylist())
    batch = compute_features(connect(lake), [FILE_DAY], customers=guests)
    assert len(batch) == len(guests) >= 10
    assert batch["pnbd_p_alive"].notna().all() and batch["mall_visits_trend"].notna().any()
    # When scoring runs without stored parts, then with the parts stored by a batch build
    computed, as_of = online_features(lake, accepted, source)
    write_features(lake, batch)
    assert lake.exists(population_path(dt.date(2025, 8, 31)))
    stored, _ = online_features(lake, accepted, source)
    # Then both are bit-for-bit the batch rows
    assert as_of == FILE_DAY
    pd.testing.assert_frame_equal(computed, batch, check_exact=True)
    pd.testing.assert_frame_equal(stored, batch, check_exact=True)


def test_stored_parts_are_what_scoring_reads(lake: Lake, scored_file: tuple[pa.Table, str]) -> None:
    # Given stored parts whose Pareto/NBD fit was changed
    accepted, source = scored_file
    ref = reference_date(FILE_DAY)
    parts = read_population(lake, ref) or _store(lake, accepted)
    changed = dataclasses.replace(parts, pnbd=tuple(v * 1.5 for v in parts.pnbd or ()))
    lake.write_json(population_path(ref), changed.to_json())
    try:
        # When scoring runs
        got, _ = online_features(lake, accepted, source)
        want, _ = online_features(lake, accepted, source, population=parts)
    finally:
        lake.write_json(population_path(ref), parts.to_json())
    # Then the model scores follow the stored fit; guest-level features do not move
    assert (got["pnbd_expected_visits"] != want["pnbd_expected_visits"]).sum() > 0
    pd.testing.assert_series_equal(got["visits_total"], want["visits_total"])


def test_parts_round_trip_exactly(lake: Lake, scored_file: tuple[pa.Table, str]) -> None:
    parts = _store(lake, scored_file[0])
    again = PopulationParts.from_json(parts.to_json())
    assert again == parts and parts.pnbd is not None and len(parts.malls) == 3


def _store(lake: Lake, accepted: pa.Table) -> PopulationParts:
    guests = sorted(pc.unique(accepted.column("customer_id")).to_pylist())[:5]
    frame = compute_features(connect(lake), [FILE_DAY], customers=guests)
    write_features(lake, frame)
    parts = read_population(lake, reference_date(FILE_DAY))
    assert parts is not None
    return parts
