"""``c4 elt``: curate the new raw session files of the lake (raw -> curated)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from c4.cli.common import LakeOption, console, err_console, lake_for, settings_for
from c4.elt import REASONS, EltSummary, parse_mapping, run_elt
from c4.exceptions import C4Error


def elt(
    lake: LakeOption = None,
    mapping: Annotated[
        str | None,
        typer.Option(
            "--map", help="Column mapping for other column names: customer_id=client_mac,session_start=ts"
        ),
    ] = None,
    now: Annotated[
        datetime | None,
        typer.Option("--now", help="Reference time (UTC) for the future-timestamp check. Default: now."),
    ] = None,
    threads: Annotated[int | None, typer.Option(help="DuckDB threads (default: all cores).")] = None,
) -> None:
    """Validate, pseudonymise and curate every new file under raw/sessions/ (incremental)."""
    try:
        columns = parse_mapping(mapping)
        settings = settings_for(lake)
        target = lake_for(settings)
        with Progress(
            TextColumn("[bold]elt[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("files"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task("elt", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            summary = run_elt(target, settings, progress=progress, mapping=columns, now=now, threads=threads)
    except C4Error as exc:
        err_console.print(f"[red]elt failed:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(summary_table(summary))
    for path, error in summary.unreadable.items():
        console.print(f"[yellow]unreadable[/yellow] {path}: {error}")


def summary_table(summary: EltSummary) -> Table:
    """The run's counts as a rich table."""
    table = Table("", "count", title=f"ELT summary ({summary.engine}, {summary.elapsed_seconds:.1f} s)")
    rows = [
        ("files processed", summary.files_processed),
        ("files skipped (already processed)", summary.files_skipped),
        ("files unreadable (quarantined whole)", summary.files_unreadable),
        ("rows in", summary.rows_in),
        ("rows accepted", summary.rows_accepted),
        ("rows rejected", summary.rows_rejected),
    ]
    rows += [(f"  rejected: {code}", n) for code, n in summary.rejected_by_reason.items() if code in REASONS]
    for label, value in rows:
        table.add_row(label, f"{value:,}")
    return table
