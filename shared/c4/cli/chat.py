"""``c4 chat``: a terminal conversation about churn, with context across questions."""

from __future__ import annotations

from typing import Annotated

import typer

from c4.cli.ask import DEFAULT_MODEL, Llm, LlmOption, ModelOption, build_llm, print_response
from c4.cli.common import LakeOption, console, lake_for, settings_for

_QUIT = {"salir", "exit", "quit", "adios", "adiós", "bye", ":q"}


def chat(
    lake: LakeOption = None,
    snapshot: Annotated[bool, typer.Option(help="Load the predictions into memory for fast answers.")] = True,
    show_sql: Annotated[bool, typer.Option("--sql/--no-sql", help="Show the SQL of each answer.")] = True,
    llm: LlmOption = Llm.none,
    bedrock_model_id: ModelOption = DEFAULT_MODEL,
) -> None:
    """Talk to C4 about churn in Spanish or English (empty line, 'salir' or 'exit' ends)."""
    from c4.chat import Chat, Conversation, LakeData

    data = LakeData(lake_for(settings_for(lake)), snapshot=snapshot)
    bot = Chat(data, llm=build_llm(llm, bedrock_model_id, data))
    conv = Conversation()
    console.print("C4 chat · pregunta sobre la fuga de clientes / ask about churn ('salir' / 'exit' to end)")
    while True:
        try:
            question = input("> ").strip()
        except EOFError:
            break
        if not question or question.lower() in _QUIT:
            break
        print_response(bot.ask(question, conv), show_sql=show_sql)
    console.print("¡Hasta luego! / Bye!")
