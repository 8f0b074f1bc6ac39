"""``score_file`` on a real local lake: predictions, replays, concurrency, model errors."""

from __future__ import annotations

import os
import re
import shutil
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from c4.elt import file_id
from c4.engine import connect
from c4.exceptions import ConfigurationError, ModelError
from c4.scoring import score_file, service
from c4.scoring.champion import cached_champion, clear_cache
from c4.scoring.history import lake_snapshot
from c4.scoring.writer import PREDICTIONS_SCHEMA

from tests.unit.test_scoring_support import held_bytes, scoring_lake

HEX64 = re.compile(r"^[0-9a-f]{64}$")
MAC = re.compile(r"(?:[0-9a-f]{2}:){5}[0-9a-f]{2}", re.IGNORECASE)


def _predictions(lake) -> pd.DataFrame:
    con = connect(lake)
    return con.execute("SELECT * FROM churn_predictions").df()


def _upload(lake, name: str, data: bytes) -> str:
    rel = f"raw/uploads/{name}"
    lake.write_bytes(rel, data)
    return rel


def test_score_file_end_to_end(tmp_path: Path) -> None:
    # Given a lake with history and a champion, and a day's export landed in raw/uploads/
    lake, settings, facts = scoring_lake(tmp_path)
    raw = held_bytes(facts, "CL01")
    rel = _upload(lake, "CL01 último día.csv", raw)
    # When the file is scored
    result = score_file(lake, settings, rel, now=facts["now"])
    # Then every row is scored or quarantined, and each guest of the file has one prediction
    assert result.status == "ok"
    assert result.rows_in == result.rows_accepted + result.rows_rejected > 0
    assert result.rows_in == len(raw.decode().strip().splitlines()) - 1
    curated = (
        connect(lake)
        .execute("SELECT count(*), count(DISTINCT customer_id) FROM sessions WHERE source_file = ?", [rel])
        .fetchone()
    )
    assert curated[0] == result.rows_accepted
    preds = _predictions(lake)
    assert len(preds) == result.guests_scored == curated[1]
    assert set(preds.columns) == {*PREDICTIONS_SCHEMA.names, "mall_id", "dt"}
    assert preds["customer_id"].map(lambda c: bool(HEX64.match(c))).all()
    assert (preds["dt"] == facts["last_day"].isoformat()).all()
    assert (preds["as_of"] == pd.Timestamp(facts["last_day"] + timedelta(days=1))).all()
    assert (preds["model_version"] == facts["version"]).all()
    assert preds["churn_probability"].between(0, 1).all()
    assert set(preds["mall_id"]) <= {"CL01", "PE01", "CO01", "unknown"}
    assert (preds["source_file"] == rel).all()
    # files live at deterministic keys named after the source file and the model version
    for path in result.predictions:
        assert path.startswith(f"predictions/churn_predictions/dt={facts['last_day']}/mall_id=")
        assert path.endswith(f"/{file_id(rel)}__{facts['version']}.parquet")
        assert pq.read_schema(lake.path(path)).names == PREDICTIONS_SCHEMA.names
    # a message exactly for the guests in the top band, reasons in Spanish for most guests
    model = cached_champion(lake)
    assert ((preds["risk_band"] == "alto") == preds["message"].notna()).all()
    assert result.guests_at_risk == int(preds["message"].notna().sum())
    assert preds["reasons"].notna().mean() > 0.5
    # no raw MAC anywhere in what mall staff can read
    raw_macs = set(MAC.findall(raw.decode()))
    flat = preds.astype(str).to_csv()
    assert raw_macs and not any(m in flat for m in raw_macs) and not MAC.search(flat)
    assert result.model_version == model.version
    assert result.riskiest and result.riskiest[0]["churn_probability"] == preds["churn_probability"].max()


def test_replaying_a_file_overwrites_instead_of_duplicating(tmp_path: Path) -> None:
    # Given a file scored once
    lake, settings, facts = scoring_lake(tmp_path)
    rel = _upload(lake, "PE01.jsonl", held_bytes(facts, "PE01"))
    first = score_file(lake, settings, rel, now=facts["now"])
    before = _predictions(lake)
    sessions_before = connect(lake).execute("SELECT count(*) FROM sessions").fetchone()[0]
    # When the same object is scored again (an SQS redelivery)
    second = score_file(lake, settings, rel, now=facts["now"] + timedelta(minutes=5))
    # Then the same files are rewritten: no duplicate prediction or curated row
    after = _predictions(lake)
    assert second.predictions == first.predictions
    assert len(after) == len(before) == first.guests_scored
    assert connect(lake).execute("SELECT count(*) FROM sessions").fetchone()[0] == sessions_before
    assert second.rows_accepted == first.rows_accepted
    # And the same predictions: the file's own earlier rows are left out of its history
    keys = ["customer_id", "mall_id", "churn_probability", "risk_band", "reasons", "message"]
    pd.testing.assert_frame_equal(
        after.sort_values("customer_id")[keys].reset_index(drop=True),
        before.sort_values("customer_id")[keys].reset_index(drop=True),
    )
    # (the history snapshot does not even read them: they are in no part it returns)
    own = {
        r["source_file"]
        for t in lake_snapshot(lake, rel).parts
        for r in t.select(["source_file"]).to_pylist()
    }
    assert rel not in own and rel in {
        r["source_file"] for t in lake_snapshot(lake).parts for r in t.select(["source_file"]).to_pylist()
    }


def test_same_content_uploaded_twice_under_two_names_scores_nothing_twice(tmp_path: Path) -> None:
    # Given a file scored once, then the same bytes uploaded again under another name
    lake, settings, facts = scoring_lake(tmp_path)
    data = held_bytes(facts, "CO01")
    first = score_file(lake, settings, _upload(lake, "CO01.csv", data), now=facts["now"])
    again = score_file(lake, settings, _upload(lake, "CO01 (copia).csv", data), now=facts["now"])
    # Then the copy's rows are all duplicates of curated rows: quarantined, nothing scored twice
    assert again.rows_accepted == 0 and again.rows_in == first.rows_in
    assert again.rejected_by_reason.get("duplicate", 0) == first.rows_accepted
    assert len(_predictions(lake)) == first.guests_scored


def test_two_files_of_the_same_mall_and_day_scored_concurrently_lose_nothing(tmp_path: Path) -> None:
    # Given one mall-day export split into two files with different sessions
    lake, settings, facts = scoring_lake(tmp_path)
    header, *lines = held_bytes(facts, "CL01").decode().strip().split("\n")
    halves = [lines[0::2], lines[1::2]]
    rels = [
        _upload(lake, f"CL01_part{i}.csv", ("\n".join([header, *h]) + "\n").encode())
        for i, h in enumerate(halves)
    ]
    results: dict[str, object] = {}
    errors: list[BaseException] = []

    def run(rel: str) -> None:
        try:
            results[rel] = score_file(lake, settings, rel, now=facts["now"])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    # When both are scored at the same time
    threads = [threading.Thread(target=run, args=(r,)) for r in rels]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then both files' rows are curated and both files' guests have predictions
    assert not errors
    con = connect(lake)
    for rel in rels:
        res = results[rel]
        n = con.execute("SELECT count(*) FROM sessions WHERE source_file = ?", [rel]).fetchone()[0]
        assert n == res.rows_accepted > 0  # type: ignore[attr-defined]
        guests = con.execute(
            "SELECT count(DISTINCT customer_id) FROM sessions WHERE source_file = ?", [rel]
        ).fetchone()[0]
        scored = con.execute(
            "SELECT count(*) FROM churn_predictions WHERE source_file = ?", [rel]
        ).fetchone()[0]
        assert scored == guests == res.guests_scored  # type: ignore[attr-defined]


def test_online_features_equal_batch_features(tmp_path: Path) -> None:
    # Given a file ingested and its guests' online features (history UNION ALL the file)
    from c4.elt import ingest_file
    from c4.features import compute_features
    from c4.scoring.history import online_features

    lake, settings, facts = scoring_lake(tmp_path)
    # the busiest mall's held-back export, so that several guests are compared
    busiest = max(("CL01", "PE01", "CO01"), key=lambda m: len(held_bytes(facts, m)))
    name = next(n for n in facts["held"] if n.startswith(busiest) and "_late" not in n)  # type: ignore[attr-defined]
    rel = _upload(lake, f"{busiest}.{name.rsplit('.', 1)[-1]}", held_bytes(facts, busiest))
    ingest = ingest_file(lake, settings, rel, now=facts["now"], reject_unknown_malls=True)
    online, as_of = online_features(lake, ingest.accepted, rel)
    # When the batch definition runs on the full curated data for the same guests and date
    guests = sorted(online["customer_id"])
    batch = compute_features(connect(lake), [as_of], customers=guests)
    # Then they are identical
    assert len(online) == len(guests) >= 5
    pd.testing.assert_frame_equal(online.reset_index(drop=True), batch.reset_index(drop=True))


def test_missing_champion_is_a_clear_error_and_nothing_is_ingested(tmp_path: Path) -> None:
    lake, settings, facts = scoring_lake(tmp_path)
    shutil.rmtree(lake.path("models"))
    clear_cache()
    rel = _upload(lake, "CL01.csv", held_bytes(facts, "CL01"))
    with pytest.raises(ModelError, match="no champion"):
        score_file(lake, settings, rel, now=facts["now"])
    assert not lake.exists(f"manifests/elt/{file_id(rel)}.json")


def test_broken_champion_is_refused(tmp_path: Path) -> None:
    lake, settings, facts = scoring_lake(tmp_path)
    clear_cache()
    model_file = Path(lake.path(f"models/{facts['version']}/model.skops"))
    model_file.write_bytes(model_file.read_bytes()[:-100])  # truncated: hash mismatch
    with pytest.raises(ModelError, match="SHA-256"):
        score_file(lake, settings, _upload(lake, "x.csv", held_bytes(facts, "CL01")), now=facts["now"])


def test_model_is_cached_per_champion_version(tmp_path: Path) -> None:
    from c4.modeling import promote

    lake, _, facts = scoring_lake(tmp_path)
    clear_cache()
    first = cached_champion(lake)
    assert cached_champion(lake) is first  # loaded once
    # When another version is promoted, the next call loads it
    v2 = f"{facts['version']}-b"
    shutil.copytree(lake.path(f"models/{facts['version']}"), lake.path(f"models/{v2}"))
    promote(lake, v2, reason="test", now=datetime(2026, 1, 1))
    second = cached_champion(lake)
    assert second is not first and second.version == v2
    assert cached_champion(lake) is second


def test_only_uploads_are_scored(tmp_path: Path) -> None:
    lake, settings, _ = scoring_lake(tmp_path)
    bad_paths = (
        "curated/sessions/x.parquet",
        "raw/uploads/../../models/champion.json",
        "raw/sessions/mall_id=CL01/date=2025-05-30/CL01_2025-05-30.csv",
    )
    for bad in bad_paths:
        with pytest.raises(ConfigurationError):
            score_file(lake, settings, bad)


def test_reasons_are_the_models_own_reasons(tmp_path: Path) -> None:
    # Given the features of a file's guests
    from c4.elt import ingest_file
    from c4.scoring.history import online_features
    from c4.scoring.predict import explain

    lake, settings, facts = scoring_lake(tmp_path)
    rel = _upload(lake, "PE01.jsonl", held_bytes(facts, "PE01"))
    ingest = ingest_file(lake, settings, rel, now=facts["now"])
    features, _ = online_features(lake, ingest.accepted, rel)
    model = cached_champion(lake)
    # When scoring explains them (one attribution pass for texts and main reasons)
    texts, mains = explain(model, features)
    # Then the texts are exactly ChurnModel.reasons(frame, k=3, lang="es"), joined
    expected = model.reasons(features, k=3, lang="es")
    assert texts == [("; ".join(r) if r else None) for r in expected]
    assert mains == [model.features[i[0]] if i else None for i in model.reason_indices(features, 3)]


def test_a_failed_curated_write_fails_the_call_and_writes_no_predictions(tmp_path: Path, monkeypatch) -> None:
    # Given an upload, and a lake whose manifest write fails (the ELT's outputs are written in
    # the background while the features are computed)
    lake, settings, facts = scoring_lake(tmp_path)
    rel = _upload(lake, "CL01.csv", held_bytes(facts, "CL01"))
    import c4.elt.api as elt_api

    def broken(*_args, **_kwargs):
        raise OSError("S3 is down")

    monkeypatch.setattr(elt_api, "write_reports", broken)
    # When it is scored, the write's error is the call's error (the message is retried)
    with pytest.raises(OSError, match="S3 is down"):
        score_file(lake, settings, rel, now=facts["now"])
    # And no prediction was written for sessions that are not curated
    assert not lake.list_files("predictions")
    # Then, once the lake is back, the retry scores the file
    monkeypatch.undo()
    result = score_file(lake, settings, rel, now=facts["now"])
    assert result.guests_scored == len(_predictions(lake)) > 0
    assert "curated" in result.timings_ms


@pytest.mark.skipif(sys.platform != "linux", reason="thread priorities are set on Linux only")
def test_the_background_write_runs_below_the_calls_priority(tmp_path: Path, monkeypatch) -> None:
    # Given an upload (the ELT's outputs are written in the background while features are computed)
    lake, settings, facts = scoring_lake(tmp_path)
    rel = _upload(lake, "CL01.csv", held_bytes(facts, "CL01"))
    import c4.elt.api as elt_api

    seen: list[int] = []
    write_reports = elt_api.write_reports

    def spy(*args, **kwargs):
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return write_reports(*args, **kwargs)

    monkeypatch.setattr(elt_api, "write_reports", spy)
    # When it is scored
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    result = score_file(lake, settings, rel, now=facts["now"])
    # Then the write ran niced (it takes the CPU the scoring leaves), and the call's own
    # thread kept its priority
    assert result.guests_scored > 0
    assert seen == [min(mine + service.BACKGROUND_NICE, 19)]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine


def test_background_priority_can_be_switched_off(monkeypatch) -> None:
    monkeypatch.setattr(service, "BACKGROUND_NICE", 0)
    got: list[int] = []

    def run() -> None:
        before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) if sys.platform == "linux" else 0
        service.background_priority()
        after = os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) if sys.platform == "linux" else 0
        got.append(after - before)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    assert got == [0]
