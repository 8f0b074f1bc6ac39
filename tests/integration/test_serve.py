"""``c4 serve``: the JSON API, and the page driven in a real headless Chromium.

The browser test drives Debian's chromium through chromedriver's W3C WebDriver HTTP API
(no Python browser library, nothing downloaded), types a question into the page, waits for
the answer and takes a screenshot (into the test's temporary folder; set
``C4_UPDATE_SCREENSHOTS=1`` to refresh the committed ``docs/img/serve.png`` on purpose).
Without chromedriver it falls back to ``chromium --headless --dump-dom`` on ``/?q=...`` (the
page asks on load).  Skipped only when ``/usr/bin/chromium`` is absent.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from c4.chat import Chat, LakeData
from c4.chat.server import ChatServer

from tests.chat_fixtures import ChatLake, shared_chat_lake

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: The committed screenshot in the README; rewritten only when C4_UPDATE_SCREENSHOTS=1.
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "serve.png"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1440,1000",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatServer]:
    built: ChatLake = shared_chat_lake(tmp_path_factory.getbasetemp())
    srv = ChatServer(Chat(LakeData(built.lake, snapshot=True)), port=0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    thread.join(timeout=5)


def _url(srv: ChatServer, path: str) -> str:
    return f"http://127.0.0.1:{srv.port}{path}"


def _post(url: str, body: Any, raw: bytes | None = None) -> tuple[int, Any]:
    data = raw if raw is not None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=120) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_api_answers_with_context(server: ChatServer) -> None:
    status, first = _post(_url(server, "/api/ask"), {"question": "Top 5 at-risk guests in Peru"})
    assert status == 200 and first["intent"] == "top_risk_guests" and len(first["rows"]) == 5
    cid = first["conversation_id"]
    status, second = _post(_url(server, "/api/ask"), {"question": "¿y en Colombia?", "conversation_id": cid})
    assert status == 200 and second["parameters"]["country"] == "CO" and second["parameters"]["limit"] == 5
    status, fresh = _post(_url(server, "/api/ask"), {"question": "¿y en Colombia?"})
    assert fresh["intent"] == "unsupported"


def test_api_rejects_bad_requests(server: ChatServer) -> None:
    assert _post(_url(server, "/api/ask"), {"question": ""})[0] == 400
    assert _post(_url(server, "/api/ask"), None, raw=b"not json")[0] == 400
    assert _post(_url(server, "/api/ask"), None, raw=b"x" * 20_000)[0] == 413
    assert _get(_url(server, "/api/nope"))[0] == 404
    assert _get(_url(server, "/api/views/../../etc/passwd"))[0] == 404


def test_views(server: ChatServer) -> None:
    status, risk = _get(_url(server, "/api/views/risk"))
    assert status == 200 and risk["query"] == "risk_by_mall_over_time" and len(risk["rows"]) == 6 * 31
    status, riskiest = _get(_url(server, "/api/views/riskiest"))
    assert status == 200 and len(riskiest["rows"]) == 15 and "reasons" in riskiest["columns"]
    status, model = _get(_url(server, "/api/views/model"))
    assert status == 200 and model["card"]["horizon_days"] == 14


# -- the page in a real browser ------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class WebDriver:
    """The few W3C WebDriver commands the test needs, over HTTP to a local chromedriver."""

    def __init__(self, port: int, profile: str) -> None:
        self.base = f"http://127.0.0.1:{port}"
        caps = {
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": str(CHROMIUM),
                        "args": [*FLAGS, f"--user-data-dir={profile}"],
                    },
                }
            }
        }
        self.session = self.call("POST", "/session", caps)["sessionId"]

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.loads(r.read())["value"]

    def s(self, method: str, path: str, body: Any = None) -> Any:
        return self.call(method, f"/session/{self.session}{path}", body)

    def element(self, css: str) -> str:
        found = self.s("POST", "/element", {"using": "css selector", "value": css})
        return str(next(iter(found.values())))

    def script(self, code: str) -> Any:
        return self.s("POST", "/execute/sync", {"script": code, "args": []})

    def wait_for(self, code: str, timeout: float = 60.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.script(code)
            if value:
                return value
            time.sleep(0.25)
        raise AssertionError(f"timed out waiting for {code}")

    def quit(self) -> None:
        self.call("DELETE", f"/session/{self.session}")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is absent (apt-get install chromium)")
def test_page_in_headless_chromium(server: ChatServer, tmp_path: Path) -> None:
    profile = tempfile.mkdtemp(prefix="c4-chromium-")
    try:
        if CHROMEDRIVER.exists():
            shot = tmp_path / "serve.png"
            _drive_with_webdriver(server, profile, shot)
            if os.environ.get("C4_UPDATE_SCREENSHOTS") == "1":
                shutil.copyfile(shot, DOCS_SCREENSHOT)
        else:
            _dump_dom(server, profile)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def _drive_with_webdriver(server: ChatServer, profile: str, screenshot: Path) -> None:
    port = _free_port()
    driver_proc = subprocess.Popen(
        [str(CHROMEDRIVER), f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        wd = WebDriver(port, profile)
        try:
            wd.s("POST", "/window/rect", {"width": 1440, "height": 1000})
            wd.s("POST", "/url", {"url": _url(server, "/")})
            wd.wait_for("return document.querySelectorAll('#riskiest table tr').length > 10")
            wd.wait_for("return document.querySelector('#risk svg polyline') !== null")
            for question in ("¿Qué clientes de Miraflores tienen más riesgo esta semana?", "¿y en Colombia?"):
                box = wd.element("#question")
                wd.s("POST", f"/element/{box}/value", {"text": question})
                wd.s("POST", f"/element/{wd.element('#send')}/click", {})
            answers = wd.wait_for(
                "const a = [...document.querySelectorAll('.answer')]; return a.length >= 2 ? "
                "a.map(e => [e.dataset.intent, e.firstChild.textContent]) : null"
            )
            assert answers[0][0] == "top_risk_guests" and "Plaza Miraflores" in answers[0][1]
            assert answers[1][0] == "top_risk_guests" and "Colombia" in answers[1][1]
            assert wd.script("return document.getElementById('model').textContent").count("v20250601") == 1
            png = base64.b64decode(wd.s("GET", "/screenshot"))
            screenshot.write_bytes(png)
            assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
        finally:
            wd.quit()
    finally:
        driver_proc.terminate()
        driver_proc.wait(timeout=10)


def _dump_dom(server: ChatServer, profile: str) -> None:
    q = urllib.parse.quote("¿Qué clientes de Miraflores tienen más riesgo esta semana?")
    cmd = [
        str(CHROMIUM),
        *FLAGS,
        f"--user-data-dir={profile}",
        "--virtual-time-budget=20000",
        "--dump-dom",
        _url(server, f"/?q={q}"),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=os.environ | {"HOME": profile})
    assert 'data-intent="top_risk_guests"' in out.stdout and "Plaza Miraflores" in out.stdout
