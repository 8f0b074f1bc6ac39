"""``c4 serve``: a local web page with the chat beside the key churn views."""

from __future__ import annotations

from typing import Annotated

import typer

from c4.cli.ask import DEFAULT_MODEL, Llm, LlmOption, ModelOption, build_llm
from c4.cli.common import LakeOption, console, lake_for, settings_for


def serve(
    lake: LakeOption = None,
    port: Annotated[int, typer.Option(help="Port to listen on (0 = any free port).")] = 8501,
    host: Annotated[
        str, typer.Option(help="Address to bind; keep 127.0.0.1 unless behind a proxy.")
    ] = "127.0.0.1",
    snapshot: Annotated[bool, typer.Option(help="Load the predictions into memory for fast answers.")] = True,
    llm: LlmOption = Llm.none,
    bedrock_model_id: ModelOption = DEFAULT_MODEL,
) -> None:
    """Serve the analysts' page: chat, risk by mall over time, riskiest guests, model card."""
    from c4.chat import Chat, LakeData
    from c4.chat.server import ChatServer

    data = LakeData(lake_for(settings_for(lake)), snapshot=snapshot)
    server = ChatServer(Chat(data, llm=build_llm(llm, bedrock_model_id, data)), host=host, port=port)
    console.print(f"C4 serving on http://{host}:{server.port}/  (Ctrl+C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
