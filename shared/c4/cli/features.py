"""``c4 features``: compute point-in-time guest features and write them to the lake."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from c4.cli.common import LakeOption, console, err_console, lake_for, settings_for
from c4.exceptions import C4Error


def features(
    lake: LakeOption = None,
    as_of: Annotated[
        list[datetime] | None,
        typer.Option(
            "--as-of",
            formats=["%Y-%m-%d"],
            help="As-of date (repeatable). Default: every month end with 90 days of "
            "history, plus the last date in the data.",
        ),
    ] = None,
) -> None:
    """Compute guest features as of each date (sessions up to that date only) and write them."""
    from c4.features import batch_connection, compute_features, monthly_as_of_dates, write_features
    from c4.features.labels import data_date_range
    from c4.features.source import relation_exists

    try:
        target = lake_for(settings_for(lake))
        con = batch_connection(target)  # bounded DuckDB memory, progress bar off
        if not relation_exists(con, "sessions"):
            err_console.print("[red]no curated sessions in the lake:[/red] run c4 generate and c4 elt first")
            raise typer.Exit(2)
        if as_of:
            dates = sorted({d.date() for d in as_of})
        else:
            _, last = data_date_range(con)
            dates = sorted({*monthly_as_of_dates(con), last})
        frame = compute_features(con, dates, malls="malls" if relation_exists(con, "malls") else None)
        written = write_features(target, frame)
    except C4Error as exc:
        err_console.print(f"[red]features failed:[/red] {exc}")
        raise typer.Exit(2) from exc
    counts = frame.groupby("as_of_date").size()
    table = Table("as-of date", "guests", title=f"customer_features: {len(written)} partitions written")
    for d in dates:
        table.add_row(d.isoformat(), str(int(counts.get(d, 0))))
    console.print(table)
