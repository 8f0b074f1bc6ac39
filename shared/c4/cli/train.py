"""``c4 train``: build features and labels, tune, calibrate, evaluate out of time, register."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from c4.cli.common import LakeOption, console, err_console, lake_for, settings_for
from c4.exceptions import C4Error


def _fmt(v: object, digits: int = 4) -> str:
    return "—" if v is None else f"{float(v):.{digits}f}"  # type: ignore[arg-type]


def train(
    lake: LakeOption = None,
    horizon_days: Annotated[
        int | None,
        typer.Option(
            "--horizon-days", min=7, help="Churn horizon H: no visit in the H days after the as-of date."
        ),
    ] = None,
    trials: Annotated[
        int, typer.Option("--trials", min=3, help="Tuning budget (Optuna trials, all families).")
    ] = 16,
    min_recall: Annotated[
        float | None,
        typer.Option(
            "--min-recall", min=0.01, max=1.0, help="Threshold must keep recall >= this (roadmap: 0.75)."
        ),
    ] = None,
    profit_params: Annotated[
        Path | None,
        typer.Option(
            "--profit-params",
            exists=True,
            dir_okay=False,
            help='JSON with per-country overrides, e.g. {"CL": {"offer_cost": 2.5}}.',
        ),
    ] = None,
    no_promote: Annotated[bool, typer.Option("--no-promote", help="Register only; never promote.")] = False,
) -> None:
    """Train and evaluate a churn model; the first model becomes the champion."""
    from c4.modeling import TrainConfig, profit_params_from
    from c4.modeling import train as run_train

    settings = settings_for(lake)
    try:
        overrides = json.loads(profit_params.read_text(encoding="utf-8")) if profit_params else None
        config = TrainConfig(
            trials=trials, min_recall=min_recall, profit_params=profit_params_from(overrides)
        )
        result = run_train(
            lake_for(settings),
            settings,
            horizon_days=horizon_days,
            config=config,
            progress=lambda m: err_console.print(f"[dim]{m}[/dim]"),
            auto_promote=not no_promote,
        )
    except (C4Error, ValueError) as exc:
        err_console.print(f"[red]training failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    card = result.card
    table = Table(
        "score (holdout)", "ROC-AUC", "PR-AUC", "Brier", "ECE", "lift@10%", title=f"model {result.version}"
    )
    m = card["metrics"]
    table.add_row(
        f"C4 ({card['family']})",
        _fmt(m["roc_auc"]),
        _fmt(m["pr_auc"]),
        _fmt(m["brier"]),
        _fmt(m["ece"]),
        _fmt(m["lift_top10"], 2),
    )
    for b in card["baselines"].values():
        table.add_row(
            b["label"],
            _fmt(b["roc_auc"]),
            _fmt(b["pr_auc"]),
            _fmt(b["brier"]),
            _fmt(b["ece"]),
            _fmt(b["lift_top10"], 2),
        )
    if card["oracle"].get("available"):
        table.add_row("oracle (generator truth)", _fmt(card["oracle"]["roc_auc"]), "", "", "", "")
    console.print(table)
    if card.get("oracle_share"):
        console.print(f"oracle share (ROC-AUC ratio): {card['oracle_share']:.1%}")
    console.print(
        f"threshold {card['threshold']:.2f} (max expected profit) · "
        f"{'[green]promoted to champion[/green]' if result.promoted else '[yellow]not promoted[/yellow]'}"
        f": {result.decision.reason}"
    )
    console.print(f"model folder: {result.model_dir}   report: {result.report_path}")
