"""``c4 models list|promote VERSION|rollback``: the model registry."""

from __future__ import annotations

from typing import Annotated

import typer

from c4.cli.common import LakeOption, console, err_console, lake_for, settings_for
from c4.exceptions import C4Error

models_app = typer.Typer(
    help="The model registry: list versions, promote one, roll back.", no_args_is_help=True
)


@models_app.command("list")
def list_models(lake: LakeOption = None) -> None:
    """List registered model versions (the champion is marked)."""
    from c4.modeling import champion_version, list_versions, read_card

    lk = lake_for(settings_for(lake))
    try:
        current = champion_version(lk)
        versions = list_versions(lk)
    except C4Error as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    if not versions:
        console.print("no models yet: run `c4 train`")
        return
    header = "  version                   trained at (UTC)           family  H   ROC-AUC  Brier   threshold"
    console.print(header + "  oracle")
    for v in versions:
        card = read_card(lk, v)
        m = card.get("metrics", {})
        share = card.get("oracle_share")
        console.print(
            f"{'*' if v == current else ' '} {v:25s} {str(card.get('trained_at', ''))[:25]:26s} "
            f"{card.get('family', ''):7s} {card.get('horizon_days', '')!s:3s} "
            f"{m.get('roc_auc', float('nan')):.4f}   {m.get('brier', float('nan')):.4f}  "
            f"{card.get('threshold', float('nan')):.2f}       {'-' if share is None else f'{share:.1%}'}",
            soft_wrap=True,
        )
    console.print("[dim]* = champion[/dim]")


@models_app.command("promote")
def promote_model(
    version: Annotated[str, typer.Argument(help="Version to make the champion.")], lake: LakeOption = None
) -> None:
    """Make VERSION the champion (manual override of the champion/challenger rule)."""
    from c4.modeling import promote

    try:
        doc = promote(lake_for(settings_for(lake)), version, reason="manual promotion (c4 models promote)")
    except C4Error as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"champion is now {doc['version']}")


@models_app.command("rollback")
def rollback_model(lake: LakeOption = None) -> None:
    """Return to the previous champion."""
    from c4.modeling import rollback

    try:
        doc = rollback(lake_for(settings_for(lake)))
    except C4Error as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"champion is now {doc['version']} ({doc['reason']})")
