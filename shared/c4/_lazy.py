"""Lazy package exports: a package names where each public name lives, and loads it on first use."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(
    package: str, locations: Mapping[str, str], aliases: Mapping[str, str] | None = None
) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` (PEP 562) that imports each export on first use.

    Parameters
    ----------
    package : str
        The package's name (``__name__``); the loaded value is cached in its namespace.
    locations : mapping of str to str
        Export name -> submodule name relative to ``package`` (``"api"`` for ``package.api``).
    aliases : mapping of str to str, optional
        Export name -> the attribute's name in its submodule, when they differ.

    Returns
    -------
    callable
        The ``__getattr__`` to assign in the package.
    """
    renamed = dict(aliases or {})

    def __getattr__(name: str) -> Any:
        if name not in locations:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(f"{package}.{locations[name]}")
        value = getattr(module, renamed.get(name, name))
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
