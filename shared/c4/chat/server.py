"""``c4 serve``: a small local web page for analysts (standard library only).

The page (``web/index.html``) shows the chat beside the key views: risk by mall over time,
the riskiest guests with reasons and messages, and the champion model card.  A JSON API
serves it:

``POST /api/ask``            ``{"question": ..., "conversation_id": ...}`` -> the chat response
``GET /api/views/risk``      risk per mall and day (``risk_by_mall_over_time``, last 30 days)
``GET /api/views/riskiest``  riskiest guests today (``top_risk_guests``)
``GET /api/views/model``     the champion model card
``GET /api/health``          scoring days known to the server

Binds to 127.0.0.1 by default.  Conversations are kept in memory (the most recent 500).
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections import OrderedDict
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

from c4.chat.data import NoDataError
from c4.chat.session import Chat, json_value
from c4.chat.understand import Conversation
from c4.exceptions import QueryError

log = logging.getLogger(__name__)
MAX_BODY = 16_384
MAX_CONVERSATIONS = 500
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class ChatServer:
    """The web server of ``c4 serve``.

    Parameters
    ----------
    chat : Chat
        The chat (its :class:`~c4.chat.data.LakeData` is shared by all requests).
    host : str
        Address to bind (``127.0.0.1`` by default: local analysts only).
    port : int
        Port (0 picks a free one; see :attr:`port`).
    """

    def __init__(self, chat: Chat, host: str = "127.0.0.1", port: int = 8501) -> None:
        self.chat = chat
        self.conversations: OrderedDict[str, Conversation] = OrderedDict()
        self._lock = threading.Lock()
        self.page = resources.files("c4.chat").joinpath("web/index.html").read_bytes()
        self.httpd = ThreadingHTTPServer((host, port), _handler(self))
        self.httpd.daemon_threads = True

    @property
    def port(self) -> int:
        """The port actually bound."""
        return int(self.httpd.server_address[1])

    def serve_forever(self) -> None:
        """Serve until :meth:`shutdown`."""
        self.httpd.serve_forever(poll_interval=0.2)

    def shutdown(self) -> None:
        """Stop serving and close the socket."""
        self.httpd.shutdown()
        self.httpd.server_close()

    def conversation(self, cid: str) -> tuple[str, Conversation]:
        """The conversation with id ``cid`` (a new one for an unknown or malformed id)."""
        try:
            cid = str(uuid.UUID(cid))
        except (ValueError, TypeError, AttributeError):
            cid = str(uuid.uuid4())
        with self._lock:
            conv = self.conversations.pop(cid, None) or Conversation()
            self.conversations[cid] = conv
            while len(self.conversations) > MAX_CONVERSATIONS:
                self.conversations.popitem(last=False)
        return cid, conv

    def ask(self, body: dict[str, Any]) -> dict[str, Any]:
        """Answer ``POST /api/ask``."""
        question = body.get("question")
        if not isinstance(question, str) or not question.strip():
            raise ValueError("question must be a non-empty string")
        cid, conv = self.conversation(body.get("conversation_id"))  # type: ignore[arg-type]
        return self.chat.ask(question, conv).to_dict() | {"conversation_id": cid}

    def view(self, name: str) -> dict[str, Any]:
        """Answer ``GET /api/views/<name>``."""
        data = self.chat.data
        if name == "model":
            card, source = data.model_card()
            return {"card": card, "source": source}
        if not data.has_predictions:
            raise NoDataError("no predictions yet")
        if name == "risk":
            result = data.run("risk_by_mall_over_time", {"start_dt": "latest-30", "end_dt": "latest"})
        elif name == "riskiest":
            result = data.run("top_risk_guests", {"limit": 15})
        else:
            raise KeyError(name)
        return {
            "query": result.name,
            "parameters": result.parameters,
            "sql": result.sql,
            "columns": result.columns,
            "rows": [[json_value(v) for v in r] for r in result.rows],
        }

    def health(self) -> dict[str, Any]:
        """Answer ``GET /api/health``."""
        return {"ok": True, "scoring_days": self.chat.data.anchors, "malls": len(self.chat.data.dims.malls)}


def _handler(server: ChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "C4Chat/1"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s " + format, self.address_string(), *args)

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for k, v in _SECURITY_HEADERS.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, obj: Any) -> None:
            data = json.dumps(obj, ensure_ascii=False, default=str).encode("utf-8")
            self._send(status, data, "application/json; charset=utf-8")

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            try:
                if path in ("/", "/index.html"):
                    self._send(HTTPStatus.OK, server.page, "text/html; charset=utf-8")
                elif path == "/api/health":
                    self._json(HTTPStatus.OK, server.health())
                elif path.startswith("/api/views/"):
                    self._json(HTTPStatus.OK, server.view(path.rsplit("/", 1)[1]))
                else:
                    self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})
            except KeyError:
                self._json(HTTPStatus.NOT_FOUND, {"error": "unknown view"})
            except (NoDataError, QueryError) as exc:
                self._json(HTTPStatus.CONFLICT, {"error": str(exc)})

        def do_POST(self) -> None:
            if self.path.split("?", 1)[0] != "/api/ask":
                self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 < length <= MAX_BODY:
                self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "body too large or empty"})
                return
            try:
                body = json.loads(self.rfile.read(length).decode("utf-8"))
                if not isinstance(body, dict):
                    raise ValueError("expected a JSON object")
                self._json(HTTPStatus.OK, server.ask(body))
            except (ValueError, UnicodeDecodeError) as exc:
                self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})

    return Handler
