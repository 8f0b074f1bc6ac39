"""Point-in-time features: exact values, no look-ahead, one definition for batch and scoring."""

from __future__ import annotations

import datetime as dt
import math
import subprocess
import sys
import tempfile

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from c4.engine import connect
from c4.features import FEATURE_COLUMNS, FEATURE_SPECS, batch_connection, compute_features, write_features
from c4.features.calendar import holiday_table, is_payday, payday_sql
from c4.features.schema import FEATURE_NAMES
from c4.features.training import BATCH_MEMORY_LIMIT
from c4.storage import Lake
from c4.tables import glue_columns

from tests.fixtures_curated import SyntheticConfig, make_lake, tiny_sessions

T1 = dt.date(2025, 7, 31)
T2 = dt.date(2025, 9, 30)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    root = tmp_path_factory.mktemp("lake")
    make_lake(root, SyntheticConfig(customers=800, days=330, malls=3, seed=7))
    return Lake(str(root))


@pytest.fixture(scope="module")
def batch(lake: Lake) -> pd.DataFrame:
    return compute_features(connect(lake), [T1, T2])


def _with_table(con: duckdb.DuckDBPyConnection, name: str, sql: str) -> str:
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")
    return name


# -- the declaration --------------------------------------------------------------------------


def test_feature_columns_derive_from_the_specs() -> None:
    assert FEATURE_COLUMNS[0] == ("customer_id", "string")
    assert [n for n, _ in FEATURE_COLUMNS[1:]] == [s.name for s in FEATURE_SPECS]
    assert glue_columns("customer_features") == FEATURE_COLUMNS
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    for s in FEATURE_SPECS:
        assert s.kind in ("numeric", "categorical") and s.risk_direction in (-1, 0, 1)
        assert s.description_es and s.description_en
        assert (s.athena_type == "string") == (s.kind == "categorical")


def test_schema_import_is_light() -> None:
    code = (
        "import sys, c4.tables; c4.tables.glue_columns('customer_features'); "
        "import c4.features; bad = {'duckdb', 'pandas'} & set(sys.modules); "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- exact values on hand-written sessions -----------------------------------------------------


def test_hand_computed_values() -> None:
    rows = [
        ("a", "2025-01-01", "cine", 19),
        ("a", "2025-01-05", "cine", 11),
        ("a", "2025-01-05", "entrada", 20),  # second visit the same day
        ("a", "2025-01-15", "patio_comidas", 12),
        ("a", "2025-02-01", "terraza", 12),  # after T: invisible
        ("b", "2024-06-01", "entrada", 10),  # last visit more than 180 days before T: inactive
    ]
    con = duckdb.connect()
    con.register("s", tiny_sessions(rows))
    f = compute_features(con, [dt.date(2025, 1, 20)], sessions="s", malls=None)
    assert list(f["customer_id"]) == ["a"]
    r = f.iloc[0]
    assert r["days_since_last_visit"] == 5 and r["tenure_days"] == 19
    assert r["visits_total"] == 4 and r["visits_7d"] == 1 and r["visits_30d"] == 4
    assert r["gap_mean_days"] == 7.0 and r["gap_last_days"] == 10.0
    assert math.isclose(r["gap_std_days"], math.sqrt(18.0))
    assert math.isclose(r["overdue_ratio"], 5 / 7)
    assert r["n_zones"] == 3 and r["favourite_zone"] == "cine"
    assert r["home_mall_id"] == "CL01" and r["home_mall_share"] == 1.0
    assert math.isclose(r["evening_share"], 2 / 4) and math.isclose(r["mean_visit_hour"], 15.5)
    assert r["dwell_mean_min"] == 10.0 and r["signal_mean_dbm"] == -60.0
    assert math.isclose(r["mb_per_visit"], 1.1)
    assert r["weekend_share"] == 0.5  # the two visits of Sunday 5 Jan 2025
    # malls=None: no holiday calendar, no mall facts
    assert pd.isna(r["holiday_visit_share"]) and r["home_country"] is None


def test_weekend_holiday_and_payday_flags() -> None:
    rows = [
        ("a", "2025-09-18", "cine", 12),
        ("a", "2025-09-20", "cine", 12),
        ("a", "2025-09-30", "cine", 12),
        ("a", "2025-09-10", "cine", 12),
    ]
    con = duckdb.connect()
    con.register("s", tiny_sessions(rows, mall_id="CL01"))
    con.register("m", pa.table({"mall_id": ["CL01"], "country": ["CL"], "size_class": ["XL"]}))
    r = compute_features(con, [dt.date(2025, 9, 30)], sessions="s", malls="m").iloc[0]
    assert r["holiday_visit_share"] == 0.25  # 18 Sep: Fiestas Patrias
    assert r["payday_visit_share"] == 0.25  # 30 Sep = last day of the month
    assert r["weekend_share"] == 0.25  # 20 Sep 2025 is a Saturday
    assert r["home_country"] == "CL" and r["home_mall_size"] == "XL"


def test_payday_sql_matches_python() -> None:
    con = duckdb.connect()
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(800)]
    got = [
        r[0]
        for r in con.execute(
            f"SELECT {payday_sql('d')} FROM (SELECT unnest($d::DATE[]) AS d)", {"d": days}
        ).fetchall()
    ]
    assert got == [is_payday(d) for d in days]
    assert (
        is_payday(dt.date(2025, 2, 28))
        and is_payday(dt.date(2025, 3, 2))
        and not is_payday(dt.date(2025, 3, 3))
    )


def test_holidays_of_the_three_countries() -> None:
    t = holiday_table(dt.date(2025, 1, 1), dt.date(2025, 12, 31)).to_pandas()
    have = set(zip(t["country"], t["holiday_date"], strict=True))
    assert ("CL", dt.date(2025, 9, 18)) in have and ("PE", dt.date(2025, 7, 28)) in have
    assert ("CO", dt.date(2025, 7, 20)) in have and ("CL", dt.date(2025, 7, 28)) not in have


def test_minimal_source_gives_nulls_not_errors() -> None:
    con = duckdb.connect()
    con.execute("""CREATE TABLE thin AS SELECT * FROM (VALUES
        ('g1', TIMESTAMP '2025-03-01 15:00:00'), ('g1', TIMESTAMP '2025-03-08 11:00:00'),
        ('g2', TIMESTAMP '2025-03-09 18:00:00')) t(customer_id, session_start)""")
    f = compute_features(con, [dt.date(2025, 3, 10)], sessions="thin", malls="malls")  # no malls table
    assert list(f["customer_id"]) == ["g1", "g2"]
    assert list(f["visits_total"]) == [2, 1] and list(f["days_since_last_visit"]) == [2, 1]
    for col in (
        "dwell_mean_min",
        "signal_mean_dbm",
        "mb_per_visit",
        "mean_visit_hour",
        "holiday_visit_share",
    ):
        assert f[col].isna().all(), col
    assert f["device_os"].isna().all() and f["home_mall_id"].isna().all()


# -- no look-ahead -----------------------------------------------------------------------------


def test_features_identical_with_and_without_the_future(lake: Lake, batch: pd.DataFrame) -> None:
    con = connect(lake)
    _with_table(con, "upto_t1", f"SELECT * FROM sessions WHERE local_date <= DATE '{T1}'")
    truncated = compute_features(con, [T1], sessions="upto_t1")
    full = batch[batch["as_of_date"] == T1].reset_index(drop=True)
    assert len(full) > 200
    pd.testing.assert_frame_equal(truncated, full, check_exact=True)


def test_mid_month_date_with_month_end_parts_ignores_the_future(lake: Lake) -> None:
    """Population parts of a mid-month T come from the month end before it; still no look-ahead."""
    t = dt.date(2025, 8, 20)
    con = connect(lake)
    _with_table(con, "upto_t", f"SELECT * FROM sessions WHERE local_date <= DATE '{t}'")
    full = compute_features(con, [t])
    truncated = compute_features(con, [t], sessions="upto_t")
    assert len(full) > 200 and full["pnbd_expected_visits"].notna().all()
    assert list(full.attrs["c4_population"]) == [dt.date(2025, 7, 31)]
    pd.testing.assert_frame_equal(truncated, full, check_exact=True)


def test_perturbing_the_future_changes_no_feature(lake: Lake, batch: pd.DataFrame) -> None:
    con = connect(lake)
    _with_table(
        con,
        "perturbed",
        f"""
        SELECT * REPLACE (dwell_minutes * 3 AS dwell_minutes, 'tecnologia' AS zone, 'CO01' AS mall_id)
        FROM sessions WHERE local_date > DATE '{T1}' AND hash(session_id) % 2 = 0
        UNION ALL SELECT * FROM sessions WHERE local_date <= DATE '{T1}'
        UNION ALL SELECT * REPLACE ('newguest' || customer_id AS customer_id) FROM sessions
                  WHERE local_date > DATE '{T1}'""",
    )
    got = compute_features(con, [T1], sessions="perturbed")
    pd.testing.assert_frame_equal(
        got, batch[batch["as_of_date"] == T1].reset_index(drop=True), check_exact=True
    )


def test_the_past_does_change_features(lake: Lake, batch: pd.DataFrame) -> None:
    """The counterpart: the same comparison detects a change on or before T."""
    con = connect(lake)
    _with_table(
        con,
        "past_changed",
        f"""
        SELECT * REPLACE (CASE WHEN local_date = DATE '{T1}' THEN dwell_minutes * 3 ELSE dwell_minutes END
                          AS dwell_minutes) FROM sessions""",
    )
    got = compute_features(con, [T1], sessions="past_changed")
    base = batch[batch["as_of_date"] == T1].reset_index(drop=True)
    assert (got["dwell_mean_min"] != base["dwell_mean_min"]).sum() > 0


def test_customers_alone_equal_the_batch(lake: Lake, batch: pd.DataFrame) -> None:
    some = sorted(batch.loc[batch["as_of_date"] == T2, "customer_id"].unique())[::97][:8]
    alone = compute_features(connect(lake), [T1, T2], customers=some)
    want = batch[batch["customer_id"].isin(some)].reset_index(drop=True)
    pd.testing.assert_frame_equal(alone, want, check_exact=True)


def test_given_customers_include_inactive_and_skip_unknown(lake: Lake, batch: pd.DataFrame) -> None:
    con = connect(lake)
    last = con.execute(f"""SELECT customer_id FROM sessions GROUP BY 1
                           HAVING max(local_date) <= DATE '{T2}' - 200 LIMIT 1""").fetchall()[0][0]
    got = compute_features(con, [T2], customers=[last, "nobody"])
    assert list(got["customer_id"]) == [last] and got["days_since_last_visit"].iloc[0] >= 200
    assert last not in set(batch.loc[batch["as_of_date"] == T2, "customer_id"])


def test_batch_population_and_shapes(batch: pd.DataFrame) -> None:
    assert list(batch.columns) == ["customer_id", "as_of_date", *FEATURE_NAMES]
    assert not batch.duplicated(["customer_id", "as_of_date"]).any()
    assert (batch["days_since_last_visit"] < 180).all() and (batch["days_since_last_visit"] >= 0).all()
    assert (batch["visits_7d"] <= batch["visits_30d"]).all() and (
        batch["visits_90d"] <= batch["visits_180d"]
    ).all()
    assert (batch["visits_180d"] <= batch["visits_total"]).all()
    assert batch["pnbd_p_alive"].between(0, 1).all() and batch["pnbd_expected_visits"].ge(0).all()
    assert batch["mall_base_churn_rate"].between(0, 1).all()
    assert set(batch["home_country"]) <= {"CL", "PE", "CO"}
    # recency and the model scores agree in direction
    rho = batch[["days_since_last_visit", "pnbd_p_alive"]].corr(method="spearman").iloc[0, 1]
    assert rho < -0.5


def _memory_settings(con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    row = con.execute("SELECT current_setting('memory_limit'), current_setting('temp_directory')").fetchone()
    assert row is not None
    return str(row[0]), str(row[1])


def test_connect_applies_a_memory_limit_and_spill_folder(lake: Lake, tmp_path) -> None:
    spill = str(tmp_path / "spill")
    assert _memory_settings(connect(lake, memory_limit="512MiB", temp_directory=spill)) == (
        "512.0 MiB",
        spill,
    )
    assert _memory_settings(connect(lake)) == _memory_settings(duckdb.connect())  # DuckDB's defaults


def test_batch_connection_is_bounded_and_gives_the_same_features(lake: Lake, batch: pd.DataFrame) -> None:
    reference = duckdb.connect()
    reference.execute(f"SET memory_limit = '{BATCH_MEMORY_LIMIT}'")
    con = batch_connection(lake)
    limit, spill = _memory_settings(con)
    assert limit == _memory_settings(reference)[0]
    assert spill.startswith(tempfile.gettempdir()) and "c4-duckdb-" in spill
    pd.testing.assert_frame_equal(compute_features(con, [T1, T2]), batch, check_exact=True)
    assert _memory_settings(batch_connection(lake, memory_limit=None)) == _memory_settings(connect(lake))


def test_write_features_is_idempotent(tmp_path, batch: pd.DataFrame) -> None:
    lake = Lake(str(tmp_path))
    write_features(lake, batch)
    write_features(lake, batch)
    files = lake.list_files("features/customer_features")
    assert files == [f"features/customer_features/as_of_date={d}/part.parquet" for d in (T1, T2)]
    con = connect(lake)
    n, cols = con.execute("SELECT count(*), count(DISTINCT as_of_date) FROM customer_features").fetchall()[0]
    assert (n, cols) == (len(batch), 2)
    back = con.execute("SELECT * FROM customer_features").df()
    assert set(back.columns) == {c for c, _ in FEATURE_COLUMNS} | {"as_of_date"}
    assert np.isclose(back["pnbd_p_alive"].sum(), batch["pnbd_p_alive"].sum())
