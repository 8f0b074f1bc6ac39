"""The whole local pipeline (what `make run` runs) on a tiny configuration, twice."""

from __future__ import annotations

import pytest
from c4.engine import connect
from c4.pipeline import STATE_FILE, PipelineOptions, run_pipeline
from c4.settings import Settings
from c4.storage import Lake


@pytest.mark.slow
def test_pipeline_runs_end_to_end_and_reuses_on_second_run(tmp_path) -> None:
    # Given a fresh local lake and a tiny configuration
    settings = Settings(lake=str(tmp_path / "lake"))
    opts = PipelineOptions(
        customers=1500, months=14, malls=3, seed=11, upload_days=1, trials=3, horizon_days=35
    )
    # When the pipeline runs
    first = run_pipeline(settings, opts)
    lake = Lake(settings.lake)
    # Then every step ran in the Step Functions order and left its outputs in the lake
    assert list(first.steps)[:5] == ["generate", "elt", "features", "eda", "train"]
    assert first.steps["generate"]["held_back_files"] > 0
    elt = first.steps["elt"]
    assert elt["rows_in"] == elt["rows_accepted"] + elt["rows_rejected"] > 0
    assert lake.exists("reports/eda.html") and lake.exists("models/champion.json")
    score = first.steps["score"]
    assert score["files"] == first.steps["generate"]["held_back_files"]
    assert score["rows_in"] == score["rows_accepted"] + score["rows_rejected"]
    con = connect(lake)
    predicted = con.execute("SELECT count(*) FROM churn_predictions").fetchone()[0]
    assert predicted == score["guests_scored"] > 0
    assert first.queries["riskiest_guests_by_mall"]["rows"]
    assert [a["question"] for a in first.answers] == list(opts.questions)
    assert all(a["answer"] for a in first.answers)
    # When it runs again with nothing new
    second = run_pipeline(settings, opts)
    # Then the expensive steps are reused and no prediction is duplicated
    assert {"generate", "features", "eda", "train", "score"} <= set(second.skipped)
    assert connect(lake).execute("SELECT count(*) FROM churn_predictions").fetchone()[0] == predicted
    assert lake.exists(STATE_FILE)
