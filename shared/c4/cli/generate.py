"""``c4 generate``: synthetic WiFi session exports for the whole mall chain."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from c4.cli.common import LakeOption, console, err_console, lake_for, settings_for
from c4.exceptions import C4Error
from c4.generate import DirtConfig, GenerationSummary, GeneratorConfig
from c4.generate import generate as run_generator


class DirtLevel(StrEnum):
    """Dirt presets of ``c4 generate --dirt``."""

    none = "none"
    low = "low"
    high = "high"


def _parse_date(value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as exc:
        raise typer.BadParameter(f"expected YYYY-MM-DD, got {value!r}") from exc


def _summary_table(summary: GenerationSummary) -> Table:
    table = Table(title="Generated raw WiFi exports", show_header=False)
    table.add_row("lake", summary.lake)
    table.add_row("malls", f"{len(summary.malls)}  ({', '.join(summary.malls)})")
    table.add_row("files", f"{summary.files:,}  (late files: {summary.dirt.get('late_files', 0):,})")
    table.add_row("rows written", f"{summary.rows:,}")
    table.add_row("sessions", f"{summary.sessions:,}")
    table.add_row("visits", f"{summary.visits:,}")
    table.add_row("guests", f"{summary.guests:,} latent, {summary.guests_seen:,} seen in the window")
    rejects = ", ".join(f"{k} {v:,}" for k, v in summary.expected_rejects.items())
    table.add_row("expected ELT rejects", f"{sum(summary.expected_rejects.values()):,}  ({rejects})")
    info = ("missing_optional", "late_new_rows", "skewed_files", "future_files")
    table.add_row("other dirt", ", ".join(f"{k} {summary.dirt.get(k, 0):,}" for k in info))
    table.add_row("time", f"{summary.seconds:.1f} s")
    return table


def generate(
    lake: LakeOption = None,
    customers: Annotated[int, typer.Option(help="Guests in the latent population.")] = 20_000,
    months: Annotated[int, typer.Option(help="Months of data from --start.")] = 18,
    seed: Annotated[int, typer.Option(help="Master seed (same seed, same bytes).")] = 42,
    malls: Annotated[int | None, typer.Option(help="Use the first K malls (default: all 20).")] = None,
    start: Annotated[str, typer.Option(help="First day, YYYY-MM-DD.")] = "2024-06-01",
    dirt: Annotated[DirtLevel, typer.Option(help="Dirt preset injected into the raw files.")] = DirtLevel.low,
    workers: Annotated[int | None, typer.Option(help="Processes (default: all cores).")] = None,
) -> None:
    """Generate synthetic WiFi session exports (raw files, one per mall and day) and the truth table."""
    try:
        config = GeneratorConfig(
            customers=customers,
            months=months,
            seed=seed,
            malls=malls,
            start=_parse_date(start),
            dirt=DirtConfig.preset(dirt.value),
            workers=workers,
        )
        target = lake_for(settings_for(lake))
        with Progress(
            TextColumn("[bold]generating[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("malls"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as bar:
            task = bar.add_task("malls", total=len(config.written_malls))

            def advance(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            summary = run_generator(target, config, progress=advance)
    except C4Error as exc:
        err_console.print(f"[red]generate failed:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(_summary_table(summary))
