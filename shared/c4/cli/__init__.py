"""The ``c4`` command line.  Each command lives in its own module and is registered here."""

from __future__ import annotations

import logging

import typer

from c4.cli.ask import ask
from c4.cli.backtest import backtest
from c4.cli.chat import chat
from c4.cli.eda import eda
from c4.cli.elt import elt
from c4.cli.features import features
from c4.cli.generate import generate
from c4.cli.models import models_app
from c4.cli.pipeline import pipeline
from c4.cli.queries import app as queries_app
from c4.cli.query import query
from c4.cli.score import score
from c4.cli.serve import serve
from c4.cli.train import train

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


app.command("query", help="Run SQL on the lake (sessions, malls, customer_features, churn_predictions).")(
    query
)
# Commands of later modules register below, one line each.
app.command("generate", help="Generate synthetic WiFi session exports per mall and day, and the truth.")(
    generate
)
app.add_typer(queries_app, name="queries", help="Named queries: list, run on DuckDB, show for Athena.")
app.command("elt", help="Curate new raw session files: validate, pseudonymise, quarantine, manifests.")(elt)
app.command("ask", help="Ask one question about churn (Spanish or English), answered from the data.")(ask)
app.command("chat", help="A terminal conversation about churn, with context across questions.")(chat)
app.command("score", help="Land a session file in raw/uploads/ and score its guests end to end.")(score)
app.command("serve", help="Local web page: the chat beside risk by mall, riskiest guests, model card.")(serve)
app.command("train", help="Train, tune, calibrate, evaluate and register a churn model.")(train)
app.add_typer(models_app, name="models", help="The model registry: list, promote VERSION, rollback.")
app.command(
    "pipeline", help="Run the whole pipeline (generate, ELT, features, EDA, train, score, queries, chat)."
)(pipeline)
app.command("backtest", help="Train on a sessions file's past and score every guest at --as-of.")(backtest)

app.command("features", help="Compute point-in-time guest features and write them to the lake.")(features)
app.command("eda", help="Build the exploratory data analysis report (self-contained HTML).")(eda)


def main() -> None:
    """Entry point of the ``c4`` console script."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
