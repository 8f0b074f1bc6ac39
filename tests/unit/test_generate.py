"""Tests of the synthetic WiFi generator (c4.generate): calibration, determinism, truth, dirt, oracle."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter
from dataclasses import replace
from datetime import date, datetime
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from c4.exceptions import C4Error, ConfigurationError
from c4.generate import (
    REJECT_REASONS,
    DirtConfig,
    GeneratorConfig,
    generate,
    load_truth,
    oracle_churn_probability,
)
from c4.generate.mallgen import month_chunks
from c4.generate.render import FIELDS, FastRenderer, render_rows
from c4.malls import MALLS_BY_ID
from c4.storage import Lake

NO_DIRT = DirtConfig.preset("none")


# -- helpers ----------------------------------------------------------------------------------
def raw_sessions(root: Path) -> pd.DataFrame:
    """Every raw session row (clean lakes only) with local date / hour parsed from the text."""
    base = root / "raw" / "sessions"
    csv_files, json_files = sorted(base.glob("*/*/*.csv")), sorted(base.glob("*/*/*.jsonl"))
    frames = []
    if csv_files:
        body = b"".join(f.read_bytes().split(b"\n", 1)[1] for f in csv_files)
        frames.append(
            pacsv.read_csv(
                io.BytesIO(body),
                read_options=pacsv.ReadOptions(column_names=list(FIELDS)),
                convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(FIELDS, pa.string())),
            ).to_pandas()
        )
    if json_files:
        body = b"".join(f.read_bytes() for f in json_files)
        frames.append(pd.DataFrame([json.loads(line) for line in body.splitlines()]).astype(str))
    df = pd.concat(frames, ignore_index=True)
    df["date"] = pd.to_datetime(df["session_start"].str[:10])
    df["start_sec"] = (
        df["session_start"].str[11:13].astype(int) * 3600
        + df["session_start"].str[14:16].astype(int) * 60
        + df["session_start"].str[17:19].astype(int)
    )
    df["end_sec"] = (
        df["session_end"].str[11:13].astype(int) * 3600
        + df["session_end"].str[14:16].astype(int) * 60
        + df["session_end"].str[17:19].astype(int)
    )
    df["dwell"] = df["dwell_minutes"].astype(float)
    return df


def visits_of(df: pd.DataFrame) -> pd.DataFrame:
    return df.groupby(["customer_id", "mall_id", "date"]).size().rename("sessions").reset_index()


def file_hashes(root: Path, mall: str | None = None) -> dict[str, str]:
    base = root / "raw" / "sessions"
    pattern = f"mall_id={mall}/*/*" if mall else "*/*/*"
    return {
        str(p.relative_to(base)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(base.glob(pattern))
    }


def reference_reasons(root: Path) -> tuple[Counter[str], int]:
    """A minimal independent ELT: the reject reason of every raw line, and the line count."""
    reasons: Counter[str] = Counter()
    seen: set[str] = set()
    lines_total = 0
    for path in sorted((root / "raw" / "sessions").glob("*/*/*")):
        if path.name.startswith("_"):
            continue
        folder = date.fromisoformat(path.parent.name.split("=", 1)[1])
        text = path.read_text(encoding="utf-8").splitlines(keepends=True)
        if path.suffix == ".csv":
            assert text[0].rstrip("\n") == ",".join(FIELDS)
            text = text[1:]
        for line in text:
            lines_total += 1
            reason = _classify(line, path.suffix, folder)
            if reason is None and line in seen:
                reason = "duplicate"
            if reason is None:
                seen.add(line)
            else:
                reasons[reason] += 1
    return reasons, lines_total


def _classify(line: str, suffix: str, folder: date) -> str | None:
    if suffix == ".csv":
        values = next(csv.reader(io.StringIO(line)))
        if len(values) != len(FIELDS):
            return "malformed"
        row: dict[str, object] = {k: (v if v != "" else None) for k, v in zip(FIELDS, values, strict=True)}
    else:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            return "malformed"
        if not isinstance(row, dict) or set(row) != set(FIELDS):
            return "malformed"
    if not row["customer_id"] or not row["session_start"]:
        return "missing_required"
    try:
        start = datetime.fromisoformat(str(row["session_start"]))
    except ValueError:
        return "bad_timestamp"
    if start.date() > folder:
        return "future_timestamp"
    end = datetime.fromisoformat(str(row["session_end"])) if row["session_end"] else None
    dwell = float(str(row["dwell_minutes"])) if row["dwell_minutes"] is not None else None
    signal = float(str(row["signal_dbm"])) if row["signal_dbm"] is not None else None
    if (
        (dwell is not None and dwell < 0)
        or (end is not None and end < start)
        or (signal is not None and not -120 <= signal <= 0)
    ):
        return "bad_value"
    return None


# -- fixtures ---------------------------------------------------------------------------------
CALIBRATION = GeneratorConfig(customers=4000, months=13, seed=7, malls=3, dirt=NO_DIRT, workers=2)


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object, pd.DataFrame]:
    root = tmp_path_factory.mktemp("calibrated")
    summary = generate(Lake(str(root)), CALIBRATION)
    return root, summary, raw_sessions(root)


SMALL = GeneratorConfig(customers=1500, months=3, seed=11, malls=3, workers=1)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    root = tmp_path_factory.mktemp("small")
    return root, generate(Lake(str(root)), SMALL)


# -- calibration ------------------------------------------------------------------------------
def test_weekend_share_of_visits(calibrated) -> None:
    _, _, df = calibrated
    visits = visits_of(df)
    share = (visits["date"].dt.day_of_week >= 5).mean()
    assert 0.30 <= share <= 0.35


def test_sessions_inside_opening_hours(calibrated) -> None:
    _, _, df = calibrated
    opens = df["mall_id"].map(lambda m: MALLS_BY_ID[m].opens_hour * 3600)
    closes = df["mall_id"].map(lambda m: MALLS_BY_ID[m].closes_hour * 3600)
    assert (df["start_sec"] >= opens).all()
    assert (df["start_sec"] < closes).all()
    assert (df["end_sec"] <= closes).all()
    assert (df["end_sec"] > df["start_sec"]).all()


def test_dwell_is_lognormal_in_published_range(calibrated) -> None:
    _, _, df = calibrated
    assert 3 <= df["dwell"].median() <= 17
    assert 1.4 <= np.log(df["dwell"]).std() <= 1.8
    consistent = (df["end_sec"] - df["start_sec"]) / 60 - df["dwell"]
    assert consistent.abs().max() < 0.01


def test_four_to_six_zone_sessions_per_visit(calibrated) -> None:
    _, _, df = calibrated
    assert 4.0 <= visits_of(df)["sessions"].mean() <= 6.0


def test_most_guests_come_once_in_six_months(calibrated) -> None:
    _, _, df = calibrated
    visits = visits_of(df)
    for first in ("2024-06-01", "2024-12-01"):
        a = pd.Timestamp(first)
        window = visits[(visits["date"] >= a) & (visits["date"] < a + pd.DateOffset(months=6))]
        per_guest = window.groupby("customer_id").size()
        assert 0.72 <= (per_guest == 1).mean() <= 0.85


def test_december_peak_and_closed_days(calibrated) -> None:
    _, _, df = calibrated
    per_day = visits_of(df).groupby("date").size()
    month = per_day.groupby(per_day.index.to_period("M")).mean()
    around = (month[pd.Period("2024-11")] + month[pd.Period("2025-01")]) / 2  # centred: removes trends
    assert month[pd.Period("2024-12")] > 1.1 * around
    days = set(per_day.index.strftime("%m-%d"))
    assert "12-25" not in days and "01-01" not in days


def test_national_holidays_are_busier_than_weekdays(calibrated) -> None:
    import holidays as hol

    _, _, df = calibrated
    visits = visits_of(df)
    visits["country"] = visits["mall_id"].str[:2]
    ratios = []
    for country, grp in visits.groupby("country"):
        national = hol.country_holidays(country, years=[2024, 2025])
        per_day = grp.groupby("date").size()
        weekday = per_day[per_day.index.day_of_week < 5]
        is_hol = np.array([d.date() in national for d in weekday.index])
        ratios.append(weekday[is_hol].mean() / weekday[~is_hol].mean())
    assert np.mean(ratios) > 1.15


def test_utc_offsets_follow_each_country_and_chile_dst(calibrated) -> None:
    _, _, df = calibrated
    offsets = df.assign(offset=df["session_start"].str[19:]).groupby(["mall_id", "date"])["offset"].unique()
    assert all(len(v) == 1 for v in offsets)
    for (mall_id, day), values in offsets.items():
        tz = ZoneInfo(MALLS_BY_ID[mall_id].timezone)
        expected = datetime(day.year, day.month, day.day, 12, tzinfo=tz).strftime("%z")
        assert values[0] == expected[:3] + ":" + expected[3:]
    cl = offsets.loc["CL01"]
    assert cl.loc[pd.Timestamp("2025-01-15")][0] == "-03:00"
    assert cl.loc[pd.Timestamp("2024-07-15")][0] == "-04:00"
    assert offsets.loc["PE01"].map(lambda v: v[0]).eq("-05:00").all()
    assert offsets.loc["CO01"].map(lambda v: v[0]).eq("-05:00").all()


def test_raw_layout_formats_and_mac_addresses(calibrated) -> None:
    root, summary, df = calibrated
    base = root / "raw" / "sessions"
    assert (base / "mall_id=CL01" / "date=2024-06-01" / "CL01_2024-06-01.csv").exists()
    assert (base / "mall_id=PE01" / "date=2024-06-01" / "PE01_2024-06-01.jsonl").exists()
    assert df["customer_id"].str.fullmatch(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}").all()
    assert df["session_id"].is_unique
    assert len(df) == summary.sessions == summary.rows


# -- truth ------------------------------------------------------------------------------------
def test_truth_is_complete_and_consistent_with_raw(calibrated) -> None:
    root, summary, df = calibrated
    truth = load_truth(Lake(str(root)))
    assert len(truth) == CALIBRATION.customers == summary.guests
    assert truth["mac"].is_unique
    assert set(df["customer_id"]) <= set(truth["mac"])
    t = truth.set_index("mac")
    seen = df.groupby("customer_id").agg(
        first=("date", "min"), last=("date", "max"), sessions=("date", "size")
    )
    seen = seen.join(t[["arrival_date", "dropout_date", "sessions", "visits"]].add_suffix("_truth"))
    assert (seen["first"] >= pd.to_datetime(seen["arrival_date_truth"])).all()
    dropout = pd.to_datetime(seen["dropout_date_truth"])
    assert ((seen["last"] < dropout) | dropout.isna()).all()
    assert (seen["sessions"] == seen["sessions_truth"]).all()
    visits = visits_of(df).groupby("customer_id").size()
    assert (visits == t.loc[visits.index, "visits"]).all()
    assert (t.loc[~t.index.isin(df["customer_id"]), "visits"] == 0).all()
    assert truth.attrs["c4_generator"]["seed"] == CALIBRATION.seed


# -- oracle -----------------------------------------------------------------------------------
def test_oracle_probabilities_are_sensible(calibrated) -> None:
    from sklearn.metrics import roc_auc_score

    root, _, df = calibrated
    truth = load_truth(Lake(str(root)))
    as_of, horizon = date(2025, 3, 31), 60
    p = oracle_churn_probability(truth, as_of, horizon)
    assert p.between(0, 1).all() and p.index.equals(pd.Index(truth["mac"]))
    t = truth.set_index("mac")
    dropped = pd.to_datetime(t["dropout_date"]) <= pd.Timestamp(as_of)
    assert (p[dropped.to_numpy()] == 1.0).all()
    arriving = pd.to_datetime(t["arrival_date"]).between(
        pd.Timestamp(as_of) + pd.Timedelta(days=1), pd.Timestamp(as_of) + pd.Timedelta(days=horizon)
    )
    assert (p[arriving.to_numpy()] == 0.0).all()
    visits = visits_of(df)
    active = visits[
        (visits["date"] <= pd.Timestamp(as_of))
        & (visits["date"] > pd.Timestamp(as_of) - pd.Timedelta(days=180))
    ]["customer_id"].unique()
    future = visits[
        (visits["date"] > pd.Timestamp(as_of))
        & (visits["date"] <= pd.Timestamp(as_of) + pd.Timedelta(days=horizon))
    ]["customer_id"].unique()
    label = pd.Series(~pd.Index(active).isin(future), index=active)
    prob = p.loc[active]
    assert roc_auc_score(label, prob) > 0.95
    assert abs(prob.mean() - label.mean()) < 0.02  # calibrated: the oracle is the generating process
    alive = ~dropped.loc[active].to_numpy()
    assert prob[alive].mean() < prob[~alive].mean()


def _fading_rows(df: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Session rows of guests who drop out, with their position in the disengagement phase
    (``lag``: days to the dropout over the phase's length; <= 1 inside it)."""
    t = truth.set_index("mac")[["dropout_date", "disengage_days", "one_timer"]]
    d = df.join(t, on="customer_id")
    d = d[d["dropout_date"].notna() & ~d["one_timer"].astype(bool)].copy()
    d["lag"] = (pd.to_datetime(d["dropout_date"]) - d["date"]).dt.days / d["disengage_days"]
    return d


def test_visits_fade_before_dropout(calibrated) -> None:
    root, _, df = calibrated
    truth = load_truth(Lake(str(root)))
    t = truth.set_index("mac")
    drop, arrival = pd.to_datetime(t["dropout_date"]), pd.to_datetime(t["arrival_date"])
    span = pd.to_timedelta(t["disengage_days"], unit="D")
    # Given guests seen over two whole phase lengths before their dropout
    whole = (
        ~t["one_timer"]
        & drop.notna()
        & (arrival <= drop - 2 * span)
        & (drop - 2 * span >= pd.Timestamp(CALIBRATION.start))
        & (drop <= df["date"].max())
    )
    assert whole.sum() > 200
    visits = visits_of(df[df["customer_id"].isin(t.index[whole])])
    lag = _fading_rows(visits, truth)["lag"]
    # Then they visit about half as often in the phase as in the same number of days before it
    ratio = (lag <= 1).sum() / ((lag > 1) & (lag <= 2)).sum()
    assert 0.35 < ratio < 0.75


def test_visits_shorten_before_dropout(calibrated) -> None:
    root, _, df = calibrated
    d = _fading_rows(df, load_truth(Lake(str(root))))
    # Given the sessions of dropping repeat guests, by position in their disengagement phase
    d["phase"] = np.where(d["lag"] <= 0.5, "late", np.where(d["lag"] <= 1, "early", "before"))
    visits = visits_of(d).merge(
        d[["customer_id", "date", "phase"]].drop_duplicates(), on=["customer_id", "date"]
    )
    dwell = d.groupby("phase")["dwell"].median()
    zones = visits.groupby("phase")["sessions"].mean()
    # Then dwell and zone sessions per visit shrink towards the dropout
    assert (visits["phase"] == "late").sum() > 200
    assert dwell["late"] < 0.6 * dwell["before"] and dwell["early"] < dwell["before"]
    assert zones["late"] < 0.8 * zones["before"]


def test_oracle_knows_the_fade(calibrated) -> None:
    root, _, df = calibrated
    truth = load_truth(Lake(str(root)))
    t = truth.set_index("mac")
    visits, horizon = visits_of(df), 42
    predicted, realised = [], []
    for as_of in (date(2024, 10, 31), date(2024, 12, 31), date(2025, 2, 28), date(2025, 4, 30)):
        now = pd.Timestamp(as_of)
        p = oracle_churn_probability(truth, as_of, horizon)
        recent = visits[(visits["date"] <= now) & (visits["date"] > now - pd.Timedelta(days=180))]
        later = visits[(visits["date"] > now) & (visits["date"] <= now + pd.Timedelta(days=horizon))]
        seen = recent["customer_id"].unique()
        to_drop = (pd.to_datetime(t.loc[seen, "dropout_date"]) - now).dt.days.to_numpy()
        fading = seen[(to_drop >= 1) & (to_drop < t.loc[seen, "disengage_days"].to_numpy())]
        predicted.append(p.loc[fading].to_numpy())
        realised.append(~pd.Index(fading).isin(later["customer_id"].unique()))
    # Given the active guests inside their disengagement phase at the as-of dates
    pred, real = np.concatenate(predicted), np.concatenate(realised)
    assert pred.size > 300
    # Then the oracle's churn probability matches the realised churn (ignoring the fade: -0.13)
    assert abs(pred.mean() - real.mean()) < 0.05


def test_oracle_needs_generator_settings(calibrated) -> None:
    root, _, _ = calibrated
    truth = load_truth(Lake(str(root)))
    truth.attrs.clear()
    with pytest.raises(C4Error):
        oracle_churn_probability(truth, date(2025, 1, 1), 30)


# -- determinism ------------------------------------------------------------------------------
def test_same_seed_same_bytes(small, tmp_path: Path) -> None:
    root, _ = small
    generate(Lake(str(tmp_path)), SMALL)
    assert file_hashes(tmp_path) == file_hashes(root)
    assert (tmp_path / "raw" / "_generation.json").read_bytes() == (
        root / "raw" / "_generation.json"
    ).read_bytes()
    assert (tmp_path / "truth" / "guests.parquet").read_bytes() == (
        root / "truth" / "guests.parquet"
    ).read_bytes()


def test_other_seed_other_data(small, tmp_path: Path) -> None:
    root, _ = small
    generate(Lake(str(tmp_path)), GeneratorConfig(customers=1500, months=3, seed=12, malls=3, workers=1))
    a, b = file_hashes(tmp_path), file_hashes(root)
    common = set(a) & set(b)
    assert common and sum(a[k] == b[k] for k in common) == 0


def test_a_mall_alone_or_in_parallel_gives_the_same_files(small, tmp_path: Path) -> None:
    root, _ = small
    alone = tmp_path / "alone"
    generate(
        Lake(str(alone)),
        GeneratorConfig(customers=1500, months=3, seed=11, malls=3, workers=1, only_malls=("PE01",)),
    )
    assert file_hashes(alone) == file_hashes(root, "PE01")
    assert not (alone / "truth").exists()
    leader = tmp_path / "leader"  # the partition holding the first mall also writes the truth
    generate(Lake(str(leader)), replace(SMALL, only_malls=("CL01",)))
    assert file_hashes(leader) == file_hashes(root, "CL01")
    truth = (leader / "truth" / "guests.parquet").read_bytes()
    assert truth == (root / "truth" / "guests.parquet").read_bytes()
    assert not (leader / "truth" / "guest_activity.parquet").exists()
    parallel = tmp_path / "parallel"
    generate(Lake(str(parallel)), GeneratorConfig(customers=1500, months=3, seed=11, malls=3, workers=2))
    assert file_hashes(parallel) == file_hashes(root)


# -- dirt -------------------------------------------------------------------------------------
def test_reject_counts_match_an_independent_check(small) -> None:
    root, summary = small
    reasons, lines = reference_reasons(root)
    assert lines == summary.rows
    assert {k: reasons.get(k, 0) for k in REJECT_REASONS} == summary.expected_rejects
    recorded = json.loads((root / "raw" / "_generation.json").read_text())
    assert recorded["expected_rejects"] == summary.expected_rejects
    assert recorded["totals"]["expected_accepted"] == summary.rows - sum(summary.expected_rejects.values())


def test_high_dirt_rates_as_configured(tmp_path: Path) -> None:
    cfg = GeneratorConfig(
        customers=2500, months=4, seed=5, malls=2, workers=1, dirt=DirtConfig.preset("high")
    )
    summary = generate(Lake(str(tmp_path)), cfg)
    reasons, lines = reference_reasons(tmp_path)
    assert {k: reasons.get(k, 0) for k in REJECT_REASONS} == summary.expected_rejects
    n = summary.sessions
    for kind, rate in (
        ("malformed", cfg.dirt.malformed_rate),
        ("missing_required", cfg.dirt.missing_required_rate),
        ("bad_timestamp", cfg.dirt.bad_timestamp_rate),
        ("bad_value", cfg.dirt.bad_value_rate),
        ("in_file_duplicates", cfg.dirt.duplicate_rate),
        ("missing_optional", cfg.dirt.missing_optional_rate),
    ):
        expected = rate * n
        assert abs(summary.dirt[kind] - expected) < 5 * np.sqrt(expected) + 5, kind
    assert summary.dirt["late_files"] > 0 and summary.dirt["skewed_files"] > 0
    late = sorted(tmp_path.glob("raw/sessions/*/*/*_late*"))
    assert late
    for path in late:
        day = date.fromisoformat(path.name.split("_")[1])
        k = int(path.stem.split("_late")[1])
        assert path.parent.name == f"date={date.fromordinal(day.toordinal() + k).isoformat()}"
    share = sum(summary.expected_rejects.values()) / lines
    assert 0.02 < share < 0.15


def test_no_dirt_means_clean_files(calibrated) -> None:
    _, summary, _ = calibrated
    assert sum(summary.expected_rejects.values()) == 0
    assert summary.dirt["late_files"] == summary.dirt["skewed_files"] == 0


def test_low_dirt_touches_about_one_to_two_percent(small) -> None:
    _, summary = small
    touched = (
        sum(summary.expected_rejects.values())
        + summary.dirt["missing_optional"]
        + summary.dirt["late_new_rows"]
    )
    assert 0.008 < touched / summary.rows < 0.03


# -- rendering, config, CLI -------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_fast_and_generic_rendering_agree(fmt: str) -> None:
    from c4.generate.render import NUMERIC, Digits, Lookup, string_table

    fields = {
        name: [Lookup(string_table(["1.5", "-60", "0"] if name in NUMERIC else [f"{name}-a", "b", "x"]), "k")]
        for name in FIELDS
    }
    fields["bytes_down"] = [Digits("n")]
    fields["mall_id"] = ["CL01"]
    slots = {"k": np.array([0, 1, 2, 1]), "n": np.array([5, 123456789, 0, 42])}
    renderer = FastRenderer(fmt, fields)
    fast = renderer.lines(slots, 4).to_pylist()
    assert fast == render_rows(fmt, renderer.values(slots, 4))
    if fmt == "jsonl":
        rows = [json.loads(line) for line in fast]
        assert list(rows[1]) == list(FIELDS) and rows[1]["bytes_down"] == 123456789
    else:
        assert all(len(next(csv.reader([line]))) == len(FIELDS) for line in fast)


def test_config_validation() -> None:
    with pytest.raises(ConfigurationError):
        GeneratorConfig(customers=0)
    with pytest.raises(ConfigurationError):
        GeneratorConfig(malls=21)
    with pytest.raises(ConfigurationError):
        GeneratorConfig(malls=2, only_malls=("CO01",))
    with pytest.raises(ConfigurationError):
        DirtConfig(malformed_rate=1.5)
    with pytest.raises(ConfigurationError):
        DirtConfig.preset("filthy")
    assert not DirtConfig.preset("none").enabled and DirtConfig().enabled
    assert GeneratorConfig(months=18).end == date(2025, 12, 1)


def test_month_chunks_cover_the_window() -> None:
    chunks = month_chunks(date(2024, 6, 15), 60)
    assert chunks[0] == (0, 16) and chunks[-1][1] == 60
    assert all(a[1] == b[0] for a, b in pairwise(chunks))


def test_cli_generate(tmp_path: Path) -> None:
    from c4.cli import app
    from typer.testing import CliRunner

    result = CliRunner().invoke(
        app,
        [
            "generate",
            "--lake",
            str(tmp_path),
            "--customers",
            "300",
            "--months",
            "2",
            "--malls",
            "2",
            "--seed",
            "3",
            "--dirt",
            "none",
            "--start",
            "2025-03-01",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "sessions" in result.output
    assert list((tmp_path / "raw" / "sessions" / "mall_id=PE01").glob("date=2025-03-*/*.jsonl"))
    bad = CliRunner().invoke(app, ["generate", "--lake", str(tmp_path), "--start", "2025-13-01"])
    assert bad.exit_code != 0


def test_progress_reports_every_mall(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    cfg = GeneratorConfig(customers=300, months=1, seed=1, malls=3, workers=2, dirt=NO_DIRT)
    summary = generate(Lake(str(tmp_path)), cfg, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    assert summary.malls == ["CL01", "PE01", "CO01"]
    assert (tmp_path / "truth" / "guests.parquet").exists()
