"""Options and helpers shared by the CLI commands."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from c4.settings import Settings
from c4.storage import Lake, open_lake

console = Console()
err_console = Console(stderr=True)

LakeOption = Annotated[
    str | None,
    typer.Option(
        "--lake",
        help="Lake root: a folder or s3://bucket/prefix. Default: $C4_LAKE or ./lake.",
        show_default=False,
    ),
]


def settings_for(lake: str | None) -> Settings:
    """Settings from the environment, with the ``--lake`` option winning."""
    return Settings.from_env(lake=lake)


def lake_for(settings: Settings) -> Lake:
    """Open the lake named by the settings (default AWS credential chain for S3)."""
    return open_lake(settings)
