"""``c4 score FILE``: land a session file in ``raw/uploads/`` and score it end to end."""

from __future__ import annotations

import hashlib
import json
import posixpath
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from c4.cli.common import LakeOption, console, err_console, lake_for, settings_for
from c4.exceptions import C4Error
from c4.storage import Lake


def land_file(lake: Lake, file: str) -> str:
    """Lake-relative path of ``file`` in ``raw/uploads/``, copying it there when needed.

    ``file`` may be a path already inside the lake's ``raw/uploads/`` (local lake) or a
    lake-relative ``raw/uploads/...`` path; anything else is copied to ``raw/uploads/<name>``.  When
    another file with that name is already there, the copy gets the content's hash in its name,
    so a landed (immutable) raw file is never replaced.

    Raises
    ------
    C4Error
        If the file does not exist.
    """
    from c4.scoring import UPLOADS_PREFIX

    local = Path(file)
    if not local.exists():
        if file.startswith(UPLOADS_PREFIX) and lake.exists(file):
            return file
        raise C4Error(f"no such file: {file}")
    if not lake.is_s3:
        try:
            rel = lake.relative(str(local.resolve()).replace("\\", "/"))
        except C4Error:
            rel = ""
        if rel.startswith(UPLOADS_PREFIX):
            return rel
    data = local.read_bytes()
    rel = f"{UPLOADS_PREFIX}{local.name}"
    if lake.exists(rel) and lake.read_bytes(rel) != data:
        stem, ext = posixpath.splitext(local.name)
        rel = f"{UPLOADS_PREFIX}{stem}-{hashlib.sha256(data).hexdigest()[:8]}{ext}"
    if not lake.exists(rel):
        lake.write_bytes(rel, data)
    return rel


def _summary_table(doc: dict) -> Table:
    table = Table("", "", title=f"scored {doc['source_file']}", show_header=False)
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(doc["rejected_by_reason"].items())) or "—"
    for label, value in (
        ("rows in", doc["rows_in"]),
        ("rows scored", doc["rows_accepted"]),
        ("rows rejected (quarantined)", f"{doc['rows_rejected']} ({reasons})"),
        ("guests scored", doc["guests_scored"]),
        ("guests at risk (message)", doc["guests_at_risk"]),
        ("as of", doc["as_of"] or "—"),
        ("model", doc["model_version"]),
        ("predictions files", len(doc["predictions"])),
        ("time", f"{doc['latency_ms'] / 1000:.2f} s"),
    ):
        table.add_row(label, str(value))
    return table


def _riskiest_table(rows: list[dict], top: int) -> Table:
    table = Table("guest", "mall", "p(churn)", "band", "main reasons", "message", title="riskiest guests")
    for r in rows[:top]:
        table.add_row(
            str(r["customer_id"])[:12] + "…",
            str(r["mall_id"]),
            f"{r['churn_probability']:.3f}",
            str(r["risk_band"]),
            str(r["reasons"] or "—"),
            str(r["message"] or "—"),
        )
    return table


def score(
    file: Annotated[str, typer.Argument(help="Session file to score (CSV, JSON lines or Parquet).")],
    lake: LakeOption = None,
    top: Annotated[int, typer.Option("--top", min=0, max=10, help="Riskiest guests shown.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Land FILE in raw/uploads/ and score its guests (the same path as the scoring Lambda)."""
    from c4.scoring import score_file

    settings = settings_for(lake)
    the_lake = lake_for(settings)
    try:
        rel = land_file(the_lake, file)
        result = score_file(the_lake, settings, rel)
    except C4Error as exc:
        err_console.print(f"[red]scoring failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    doc = result.summary()
    if as_json:
        console.print_json(json.dumps(doc, default=str, ensure_ascii=False))
    if result.status != "ok":
        err_console.print(
            f"[red]unreadable file[/red] {rel}: {result.error}\n"
            f"[dim]quarantined in {the_lake.uri}/quarantine/files/ (nothing scored)[/dim]"
        )
        raise typer.Exit(2)
    if not as_json:
        console.print(_summary_table(doc))
        if doc["riskiest"] and top:
            console.print(_riskiest_table(doc["riskiest"], top))
