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
from c4.features.state import read_state, state_dates, write_state
from c4.features.store import population_path, read_population
from c4.scoring import history
from c4.scoring.cache import SESSIONS_SCHEMA, clear_history_cache
from c4.scoring.history import SCORING_SESSIONS, clear_state_cache, online_features, scoring_connection
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


# -- the guests' running state stored by the batch build ------------------------------------------
STATE_DAY = dt.date(2025, 7, 31)


@pytest.fixture(scope="module")
def state_lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """A lake whose batch build (month ends + a mid-month last date) stored its running state."""
    root = tmp_path_factory.mktemp("state_lake")
    make_lake(root, SyntheticConfig(customers=900, days=330, malls=3, seed=11))
    lake = Lake(str(root))
    frame = compute_features(connect(lake), [dt.date(2025, 6, 30), dt.date(2025, 8, 12)])
    write_features(lake, frame)
    return lake


def test_scoring_connections_share_a_database_but_not_their_relations(
    lake: Lake, scored_file: tuple[pa.Table, str]
) -> None:
    # Given two scoring connections open at once on the process's database, one per file
    accepted, source = scored_file
    first = scoring_connection(lake, accepted, source, threads=1)
    second = scoring_connection(lake, accepted.slice(0, 5), "raw/other.parquet", threads=1)
    try:
        # When one of them adds a temp table
        first.execute("CREATE TEMP TABLE __probe AS SELECT 1 AS x")
        # Then each sees its own sessions (the second keeps the file's curated rows as history
        # and adds its 5) and only its own temp tables
        count = f"SELECT count(*) FROM {SCORING_SESSIONS} WHERE source_file = ?"
        assert first.execute(count, [source]).fetchall()[0][0] == accepted.num_rows
        assert second.execute(count, [source]).fetchall()[0][0] == accepted.num_rows + 5
        probe = "SELECT count(*) FROM duckdb_tables() WHERE table_name = '__probe'"
        assert first.execute(probe).fetchall()[0][0] == 1
        assert second.execute(probe).fetchall()[0][0] == 0
    finally:
        first.close()
    # And a new connection after the first closed starts clean
    third = scoring_connection(lake, accepted, source, threads=1)
    try:
        assert third.execute(probe).fetchall()[0][0] == 0
    finally:
        third.close()
        second.close()


def test_repeated_scoring_calls_give_the_same_rows(state_lake: Lake) -> None:
    # Given a file served from the running state (one shared database, one thread)
    day = dt.date(2025, 9, 17)
    accepted, source = _day_file(state_lake, day)
    clear_history_cache()
    clear_state_cache()
    # When it is scored twice, then with two threads (another database)
    once, _ = online_features(state_lake, accepted, source)
    twice, _ = online_features(state_lake, accepted, source)
    wide, _ = online_features(state_lake, accepted, source, threads=2)
    # Then every call gives the same rows bit for bit
    assert len(once) > 10
    pd.testing.assert_frame_equal(once, twice, check_exact=True)
    pd.testing.assert_frame_equal(once, wide, check_exact=True)


def test_the_state_path_in_parallel_parts_gives_the_same_rows(state_lake: Lake, monkeypatch) -> None:
    # Given a file served from the running state, computed whole
    day = dt.date(2025, 9, 17)
    accepted, source = _day_file(state_lake, day)
    guests = sorted(pc.unique(accepted.column("customer_id")).to_pylist())
    population = _parts(compute_features(connect(state_lake), [day], customers=guests), day)
    whole, _ = online_features(state_lake, accepted, source, population=population)
    # When its guests are split in three parts computed at once (few guests per part allowed)
    monkeypatch.setattr(history, "MIN_PART_GUESTS", 1)
    monkeypatch.setattr(history, "STATE_PATH_PARTS", 3)
    calls: list[int] = []
    compute = history._compute
    monkeypatch.setattr(history, "_compute", lambda *a, **k: calls.append(1) or compute(*a, **k))
    parts, _ = online_features(state_lake, accepted, source, population=population)
    # Then the rows are the same bit for bit, in guest order
    assert len(calls) == 3 and len(whole) > 10
    assert _served(state_lake, accepted, source, day) == (len(guests), 0)
    pd.testing.assert_frame_equal(parts, whole, check_exact=True)


def _day_file(lake: Lake, day: dt.date) -> tuple[pa.Table, str]:
    """A day's curated rows as the ELT would hand them to scoring."""
    rows = lake.dataset("curated/sessions").to_table(filter=pc.field("local_date") == day)
    accepted = pa.Table.from_arrays([rows.column(f.name) for f in SESSIONS_SCHEMA], schema=SESSIONS_SCHEMA)
    return accepted, pc.unique(accepted.column("source_file")).to_pylist()[0]


def test_batch_build_stores_the_state_at_its_last_reference_date(state_lake: Lake) -> None:
    # Given the batch build of 30 Jun and 12 Aug (not a month end)
    # Then the state is kept at 31 Jul (a bucket boundary only: no feature rows at that date)
    assert state_dates(state_lake) == [STATE_DAY]
    state = read_state(state_lake, STATE_DAY)
    assert state is not None and state.size > 500
    assert not state_lake.exists("features/customer_features/as_of_date=2025-07-31")
    # And it counts every curated session up to that date, by source file
    upto = state_lake.dataset("curated/sessions").to_table(filter=pc.field("local_date") <= STATE_DAY)
    assert sum(state.sources.values()) == upto.num_rows
    # And its days cover (S - 180, S] only
    days = state.days.column("visit_date").to_pylist()
    assert min(days) > STATE_DAY - dt.timedelta(days=180) and max(days) <= STATE_DAY


@pytest.mark.parametrize("day", [dt.date(2025, 8, 1), dt.date(2025, 9, 17), dt.date(2025, 9, 30)])
def test_scoring_from_the_state_equals_the_batch(state_lake: Lake, day: dt.date) -> None:
    # Given a file of a day after the state (first day after it, mid-month, a month end)
    accepted, source = _day_file(state_lake, day)
    guests = sorted(pc.unique(accepted.column("customer_id")).to_pylist())
    clear_history_cache()
    clear_state_cache()
    full = compute_features(connect(state_lake), [day], customers=guests)
    parts = _parts(full, day)
    state = read_state(state_lake, STATE_DAY)
    assert state is not None and len(set(guests) & set(state.guests.column("customer_id").to_pylist())) > 0
    # When scoring computes the features from the state (population parts as a build stores them)
    got, _ = online_features(state_lake, accepted, source, population=parts)
    # Then they are the whole-history rows bit for bit, every guest served by the state
    pd.testing.assert_frame_equal(got, full, check_exact=True)
    assert _served(state_lake, accepted, source, day) == (len(guests), 0)


def test_a_new_guest_and_late_data_are_exact_too(state_lake: Lake) -> None:
    # Given a file of 20 Sep with a guest never seen before and a guest whose session of
    # 10 Jul (before the state's date) arrives only now, in the same file
    day = dt.date(2025, 9, 20)
    accepted, source = _day_file(state_lake, day)
    known = sorted(pc.unique(accepted.column("customer_id")).to_pylist())
    new = _retag(accepted.slice(0, 2), customer_id="f" * 64)
    late = _retag(accepted.slice(2, 1), local_date=dt.date(2025, 7, 10))
    upload = pa.concat_tables([accepted, new, late])
    guests = sorted({*known, "f" * 64})
    # The whole-history truth: the same sessions in the curated history
    truth_lake = _with_rows(state_lake, pa.concat_tables([new, late]))
    full = compute_features(connect(truth_lake), [day], customers=guests)
    parts = _parts(full, day)
    # When scoring computes them
    clear_history_cache()
    got, _ = online_features(state_lake, upload, source, population=parts)
    # Then the rows equal the truth; the late guest alone came from the whole history
    pd.testing.assert_frame_equal(got, full, check_exact=True)
    assert _served(state_lake, upload, source, day) == (len(guests) - 1, 1)


def test_a_changed_history_before_the_state_date_is_not_served_from_it(state_lake: Lake) -> None:
    # Given a state whose counts no longer match the curated history (a file was rewritten)
    day = dt.date(2025, 9, 17)
    accepted, source = _day_file(state_lake, day)
    state = read_state(state_lake, STATE_DAY)
    assert state is not None
    src = sorted(state.sources)[0]
    changed = dataclasses.replace(state, sources={**state.sources, src: state.sources[src] + 1})
    write_state(state_lake, changed)
    try:
        clear_state_cache()
        # Then nobody is served from it
        assert _served(state_lake, accepted, source, day)[0] == 0
    finally:
        write_state(state_lake, state)
        clear_state_cache()


def _parts(frame: pd.DataFrame, day: dt.date) -> PopulationParts:
    """The population parts a whole-history build used (as a batch build would store them)."""
    parts: PopulationParts = frame.attrs["c4_population"][reference_date(day)]
    frame.attrs = {}
    return parts


def _served(lake: Lake, accepted: pa.Table, source: str, day: dt.date) -> tuple[int, int]:
    from c4.scoring.cache import history_parts
    from c4.scoring.history import _plan

    guests = sorted(pc.unique(accepted.column("customer_id")).to_pylist())
    plan = _plan(lake, history_parts(lake), accepted, source, day, guests)
    return len(plan.clean), len(plan.dirty)


def _retag(rows: pa.Table, **values: object) -> pa.Table:
    for name, value in values.items():
        i = rows.schema.get_field_index(name)
        rows = rows.set_column(
            i, rows.schema.field(i), pa.array([value] * rows.num_rows, rows.schema.field(i).type)
        )
    return rows


def _with_rows(lake: Lake, rows: pa.Table) -> Lake:
    """A copy of the lake's curated sessions and malls with extra rows (a separate folder)."""
    import shutil

    root = f"{lake.root}_truth"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(f"{lake.root}/curated", f"{root}/curated")
    out = Lake(root)
    out.write_parquet("curated/sessions/dt=2099-01-01/extra.parquet", rows)
    return out
