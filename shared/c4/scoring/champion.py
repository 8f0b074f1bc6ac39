"""The champion model, loaded once per process (Lambda container) and per champion version.

Every call reads the small ``models/champion.json`` to learn the version in use; the model
itself is loaded (hash-checked, skops allow-listed types only, by
:func:`c4.modeling.registry.load_champion`) only when that version is not cached yet, so a
promotion or a rollback takes effect on the next file without a redeploy.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from c4.exceptions import ModelError
from c4.modeling import champion_version, load_champion
from c4.storage import Lake

logger = logging.getLogger(__name__)

_LOCK = threading.Lock()
_CACHE: dict[tuple[str, str], Any] = {}


def cached_champion(lake: Lake) -> Any:
    """The lake's champion model, from the process cache when its version is cached.

    Parameters
    ----------
    lake : Lake
        The lake holding ``models/``.

    Returns
    -------
    c4.modeling.model.ChurnModel

    Raises
    ------
    ModelError
        When there is no champion, or its file is missing, tampered or holds untrusted types.
    """
    try:
        version = champion_version(lake)
    except Exception as exc:  # unreadable champion.json (bad JSON, storage error)
        raise ModelError(f"cannot read the champion pointer in {lake.uri}/models: {exc}") from exc
    if version is None:
        raise ModelError(f"no champion model in {lake.uri}/models: run `c4 train` first")
    key = (lake.uri, version)
    with _LOCK:
        model = _CACHE.get(key)
        if model is None:
            model = load_champion(lake)
            if model.version != version:  # promoted while loading: cache what was loaded
                key = (lake.uri, model.version)
            for old in [k for k in _CACHE if k[0] == lake.uri]:  # drop superseded versions
                del _CACHE[old]
            _CACHE[key] = model
            logger.info("loaded champion %s from %s", model.version, lake.uri)
    return model


def clear_cache() -> None:
    """Forget the cached models (tests, or to force a reload)."""
    with _LOCK:
        _CACHE.clear()
