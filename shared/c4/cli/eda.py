"""``c4 eda``: the exploratory data analysis report (one self-contained HTML page)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from c4.cli.common import LakeOption, console, err_console, lake_for, settings_for
from c4.exceptions import C4Error


def eda(
    lake: LakeOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output HTML file. Default: reports/eda.html in the lake."),
    ] = None,
    horizon_days: Annotated[
        int | None,
        typer.Option("--horizon-days", help="Churn horizon H in days (default: derived from gaps)."),
    ] = None,
) -> None:
    """Build the EDA report: data quality, visit patterns, churn, features, holidays and paydays."""
    from c4.eda import build_report

    try:
        target = lake_for(settings_for(lake))
        where = build_report(target, out=out, horizon_days=horizon_days)
    except C4Error as exc:
        err_console.print(f"[red]eda failed:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"EDA report written to [bold]{where}[/bold]")
