"""The bad-file corpus: every kind of bad file gets the right outcome, and nothing is lost."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
from c4.elt import file_id
from c4.elt.outputs import quarantine_rows_path
from c4.engine import connect
from c4.scoring import score_file
from c4.scoring.safety import FORMULA_START

from tests.data.bad_files.corpus import NOW, Case, cases
from tests.unit.test_scoring_support import scoring_lake

CASES = cases()

#: Corpus cases the ELT (``c4.elt.ingest_file``) does not handle yet, reported to its owner.
#: Strict: once fixed, the XPASS fails the run and the entry must be removed.
ELT_BUGS: dict[str, str] = {}
PARAMS = [
    pytest.param(c, id=c.name, marks=pytest.mark.xfail(strict=True, reason=ELT_BUGS[c.name]))
    if c.name in ELT_BUGS
    else pytest.param(c, id=c.name)
    for c in CASES
]


def test_the_corpus_has_more_than_twenty_kinds_of_bad_file() -> None:
    bad = [c for c in CASES if c.status == "unreadable" or c.rejected]
    assert len(bad) >= 20
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.fixture(scope="module")
def corpus_lake(tmp_path_factory):
    # One lake for the whole corpus: every case lands under its own name.
    return scoring_lake(tmp_path_factory.mktemp("corpus"))


@pytest.mark.parametrize("case", PARAMS)
def test_bad_file_outcome(case: Case, corpus_lake) -> None:
    lake, settings, _ = corpus_lake
    rel = f"raw/uploads/{case.name}/{case.filename}"
    lake.write_bytes(rel, case.data)
    # When the file is scored
    result = score_file(lake, settings, rel, now=NOW)
    # Then it gets the documented outcome, and the counts add up
    assert result.status == case.status, result.error
    assert result.rows_in == result.rows_accepted + result.rows_rejected
    assert (result.rows_accepted, result.rejected_by_reason) == (case.accepted, case.rejected)
    manifest = lake.read_json(f"manifests/elt/{file_id(rel)}.json")
    assert manifest["status"] == case.status and manifest["rows_in"] == case.rows_in
    con = connect(lake)
    scored = (
        con.execute("SELECT * FROM churn_predictions WHERE source_file = ?", [rel]).df()
        if lake.has_data("predictions")
        else None
    )
    if case.status == "unreadable":
        # quarantined whole with an error record, acknowledged (no exception), nothing scored
        error = lake.read_json(f"quarantine/files/{file_id(rel)}/error.json")
        assert error["source_file"] == rel and error["error"]
        assert result.error and result.predictions == [] and result.guests_scored == 0
        assert scored is None or scored.empty
        return
    if case.rejected:  # rejected rows are kept, with their reason
        lines = lake.read_bytes(quarantine_rows_path(file_id(rel))).decode("utf-8").splitlines()
        codes = [json.loads(line)["reason_code"] for line in lines if line.strip()]
        assert Counter(codes) == Counter(case.rejected)
    guests = con.execute(
        "SELECT count(DISTINCT customer_id) FROM sessions WHERE source_file = ?", [rel]
    ).fetchone()[0]
    assert result.guests_scored == guests == (0 if scored is None else len(scored))
    if case.name == "only_two_columns":
        assert set(scored["mall_id"]) == {"unknown"}
    if case.name == "formula_injection_text":
        _assert_inert(scored)


def _assert_inert(scored) -> None:
    """No text cell, nor any "; "/": "/"(" part of one, starts a spreadsheet formula."""
    for col in ("reasons", "message", "source_file", "risk_band", "mall_id", "customer_id"):
        for value in scored[col].dropna():
            for part in re.split(r"; |: |\(", value):
                assert not part.startswith(("=", "+", "@", "\t", "\r")), (col, value)
                assert not re.match(r"-(?!\d)", part), (col, value)
    messages = " ".join(scored["message"].dropna())
    assert "HYPERLINK" not in messages and "cmd" not in messages
    assert FORMULA_START[0] == "="
