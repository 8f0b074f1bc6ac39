"""``c4 ask``: one question about churn, answered from the lake's data."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from c4.cli.common import LakeOption, console, lake_for, settings_for

if TYPE_CHECKING:  # c4.chat loads scikit-learn: import it only when a chat command runs
    from c4.chat import ChatResponse, LakeData


class AskFormat(StrEnum):
    """Output formats of ``c4 ask``."""

    text = "text"
    json = "json"


class Llm(StrEnum):
    """Optional language model for questions the local matcher does not recognise."""

    none = "none"
    bedrock = "bedrock"


LlmOption = Annotated[Llm, typer.Option("--llm", help="Fallback for open questions (off by default).")]
ModelOption = Annotated[
    str, typer.Option("--bedrock-model-id", help="Bedrock model id used with --llm bedrock.")
]
DEFAULT_MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"


def build_llm(llm: Llm, model_id: str, data: LakeData) -> Any:
    """The Bedrock fallback (boto3 client created here, at the edge) or ``None``."""
    if llm is Llm.none:
        return None
    import boto3

    from c4.chat.bedrock import BedrockFallback

    settings = settings_for(None)
    client = boto3.client("bedrock-runtime", region_name=settings.aws_region)
    return BedrockFallback(client, data, model_id=model_id)


def print_response(resp: ChatResponse, *, show_sql: bool = True) -> None:
    """Print an answer, its table and its SQL in the terminal."""
    from rich.table import Table

    console.print(resp.answer, markup=False, highlight=False)
    if resp.rows:
        table = Table(*resp.columns, show_lines=False)
        for r in resp.rows[:15]:
            table.add_row(*["" if v is None else str(v) for v in r])
        console.print(table)
        if len(resp.rows) > 15:
            console.print(f"[dim]… {len(resp.rows) - 15} more rows[/dim]")
    if show_sql and resp.sql:
        # markup=False: parameters and SQL hold brackets that are text, not Rich markup.
        console.print(
            f"intent {resp.intent} · parameters {resp.parameters}", markup=False, highlight=False, style="dim"
        )
        console.print(resp.sql, markup=False, highlight=False, style="dim")


def ask(
    question: Annotated[str, typer.Argument(help="A question in Spanish or English.")],
    lake: LakeOption = None,
    fmt: Annotated[AskFormat, typer.Option("--format", help="text or json.")] = AskFormat.text,
    llm: LlmOption = Llm.none,
    bedrock_model_id: ModelOption = DEFAULT_MODEL,
) -> None:
    """Answer one question about churn from the data (with the table and the SQL used)."""
    from c4.chat import Chat, LakeData

    data = LakeData(lake_for(settings_for(lake)))
    chat = Chat(data, llm=build_llm(llm, bedrock_model_id, data))
    resp = chat.ask(question)
    if fmt is AskFormat.json:
        sys.stdout.write(json.dumps(resp.to_dict(), ensure_ascii=False, default=str) + "\n")
    else:
        print_response(resp)
