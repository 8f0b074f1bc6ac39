"""``c4 backtest``: train on a sessions file's past, score every guest at an as-of date."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from c4.cli.common import console, err_console
from c4.exceptions import C4Error


def _fmt(v: object, digits: int = 4) -> str:
    try:
        return f"{float(v):.{digits}f}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "—"


def backtest(
    sessions: Annotated[
        Path,
        typer.Option(
            "--sessions", exists=True, dir_okay=False, help="Sessions file (CSV, JSON lines or Parquet)."
        ),
    ],
    as_of: Annotated[
        datetime,
        typer.Option(
            "--as-of", formats=["%Y-%m-%d"], help="Score date: only sessions on or before it are used."
        ),
    ],
    horizon_days: Annotated[int, typer.Option("--horizon-days", min=7, help="Churn horizon H in days.")],
    out: Annotated[Path, typer.Option("--out", dir_okay=False, help="Where to write the scores (CSV).")],
    mapping: Annotated[
        str | None, typer.Option("--map", help="Column mapping, e.g. customer_id=device,session_start=ts.")
    ] = None,
    trials: Annotated[int, typer.Option("--trials", min=3, help="Tuning budget.")] = 9,
    lang: Annotated[str, typer.Option("--lang", help="Language of the reasons: es or en.")] = "es",
) -> None:
    """Backtest on any sessions file: scores, risk bands and reasons per guest at --as-of."""
    from c4.elt.contract import parse_mapping
    from c4.modeling.backtest import backtest as run_backtest

    as_of_day: date = as_of.date()
    try:
        result = run_backtest(
            sessions,
            as_of=as_of_day,
            horizon_days=horizon_days,
            mapping=parse_mapping(mapping),
            trials=trials,
            lang=lang,
            progress=lambda m: err_console.print(f"[dim]{m}[/dim]"),
        )
    except C4Error as exc:
        err_console.print(f"[red]backtest failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    out.parent.mkdir(parents=True, exist_ok=True)
    result.scores.to_csv(out, index=False)
    bands = result.scores["risk_band"].value_counts().to_dict()
    console.print(
        f"{len(result.scores)} guests scored at {as_of_day} -> {out}  "
        f"(alto {bands.get('alto', 0)}, medio {bands.get('medio', 0)}, bajo {bands.get('bajo', 0)}; "
        f"threshold {result.card['threshold']:.2f})"
    )
    if result.evaluation is None:
        console.print(f"[dim]no evaluation: {result.evaluation_note}[/dim]")
        return
    table = Table(
        "score",
        "ROC-AUC",
        "PR-AUC",
        "Brier",
        "ECE",
        "lift@10%",
        "recall",
        "precision",
        title=f"evaluation against what happened after {as_of_day}",
    )
    for name, m in result.evaluation.items():
        label = m.get("label", name) if name != "model" else f"C4 ({result.card['family']})"
        table.add_row(
            str(label),
            _fmt(m.get("roc_auc")),
            _fmt(m.get("pr_auc")),
            _fmt(m.get("brier")),
            _fmt(m.get("ece")),
            _fmt(m.get("lift_top10"), 2),
            _fmt(m.get("recall"), 3),
            _fmt(m.get("precision"), 3),
        )
    console.print(table)
    console.print(f"[dim]{result.evaluation_note}[/dim]")
