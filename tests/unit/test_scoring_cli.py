"""``c4 score FILE --lake PATH``: lands the file, scores it, prints; exit 2 on unreadable files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from c4.cli import app
from c4.elt import file_id
from c4.scoring.champion import clear_cache
from typer.testing import CliRunner

from tests.unit.test_scoring_support import KEY, held_bytes, scoring_lake

runner = CliRunner()


def _env() -> dict[str, str]:
    return {"C4_PSEUDONYM_KEY": KEY, "C4_LAKE": ""}


def test_score_lands_the_file_and_prints_the_riskiest_guests(tmp_path: Path) -> None:
    # Given a session file outside the lake
    lake, _, facts = scoring_lake(tmp_path)
    src = tmp_path / "PE01 export.jsonl"
    src.write_bytes(held_bytes(facts, "PE01"))
    # When it is scored from the command line
    result = runner.invoke(app, ["score", str(src), "--lake", lake.root, "--json"], env=_env())
    # Then it was landed in raw/uploads/, scored, and the summary printed
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["source_file"] == "raw/uploads/PE01 export.jsonl"
    assert doc["rows_in"] == doc["rows_accepted"] + doc["rows_rejected"] > 0
    assert lake.read_bytes("raw/uploads/PE01 export.jsonl") == src.read_bytes()
    assert doc["guests_scored"] == len(doc["riskiest"]) or len(doc["riskiest"]) == 10
    # And the table form shows the riskiest guests
    again = runner.invoke(app, ["score", "raw/uploads/PE01 export.jsonl", "--lake", lake.root], env=_env())
    assert again.exit_code == 0, again.output
    assert "riskiest guests" in again.stdout and "rows scored" in again.stdout


def test_same_name_different_content_is_landed_beside_not_over(tmp_path: Path) -> None:
    from c4.cli.score import land_file

    lake, _, _ = scoring_lake(tmp_path)
    a, b = tmp_path / "a" / "day.csv", tmp_path / "b" / "day.csv"
    for f, text in (
        (a, "customer_id,session_start\nx,2025-05-31\n"),
        (b, "customer_id,session_start\ny,2025-05-31\n"),
    ):
        f.parent.mkdir()
        f.write_text(text)
    first, second = land_file(lake, str(a)), land_file(lake, str(b))
    assert (
        first == "raw/uploads/day.csv" and second.startswith("raw/uploads/day-") and second.endswith(".csv")
    )
    assert land_file(lake, str(a)) == first  # same content: same landed file
    assert lake.read_bytes(first) == a.read_bytes() and lake.read_bytes(second) == b.read_bytes()


def test_unreadable_file_exits_2_and_is_quarantined(tmp_path: Path) -> None:
    lake, _, _ = scoring_lake(tmp_path)
    src = tmp_path / "broken.csv"
    src.write_bytes(b"\x00\x01\x02 binary garbage")
    result = runner.invoke(app, ["score", str(src), "--lake", lake.root], env=_env())
    assert result.exit_code == 2
    assert "unreadable" in result.output and "binary" in result.output
    assert lake.exists(f"quarantine/files/{file_id('raw/uploads/broken.csv')}/error.json")


def test_no_champion_exits_1_with_a_clear_message(tmp_path: Path) -> None:
    lake, _, facts = scoring_lake(tmp_path)
    shutil.rmtree(lake.path("models"))
    clear_cache()
    src = tmp_path / "CL01.csv"
    src.write_bytes(held_bytes(facts, "CL01"))
    result = runner.invoke(app, ["score", str(src), "--lake", lake.root], env=_env())
    assert result.exit_code == 1
    assert "no champion" in result.output and "c4 train" in result.output
