"""The ``c4`` command line.  Each command lives in its own module and is registered here."""

from __future__ import annotations

import logging

import typer

from c4.cli.query import query

app = typer.Typer(
    name="c4",
    help="C4 - Customer Churn and Contextual Chat: churn prediction from mall WiFi sessions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)



@app.callback()
def _root() -> None:
    """C4 - Customer Churn and Contextual Chat: churn prediction from mall WiFi sessions."""


app.command("query", help="Run SQL on the lake (sessions, malls, customer_features, churn_predictions).")(query)
# Commands of later modules register below, one line each.


def main() -> None:
    """Entry point of the ``c4`` console script."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
