"""The model registry on the lake: ``models/<version>/`` and ``models/champion.json``.

A version folder holds ``model.skops`` (the fitted pipeline + calibrator, saved with skops,
never pickle), ``card.json``, ``trials.jsonl`` and ``report.html``.  Loading checks the
file's SHA-256 against the card and refuses any type outside :data:`TRUSTED_TYPES`.
``champion.json`` names the version in use and keeps a history for rollback.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import skops.io as sio

from c4.exceptions import ModelError, StorageError
from c4.modeling.model import ChurnModel, FeatureInfo
from c4.storage import Lake

logger = logging.getLogger(__name__)

MODELS = "models"
CHAMPION = f"{MODELS}/champion.json"
MODEL_FILE = "model.skops"

#: Types outside skops' default trust that C4's own models legitimately contain (reviewed:
#: scikit-learn internals of the calibrated pipelines built in ``candidates.py``; the
#: ``functools.partial`` wraps ``check_array`` inside HistGradientBoosting and skops still
#: checks the wrapped function against this list).  Anything else is refused.
TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        "functools.partial",
        "numpy.dtype",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.tree._tree.Tree",
        "sklearn.utils.validation.check_array",
    }
)


def new_version(data_sha256: str, now: datetime | None = None) -> str:
    """``v<YYYYMMDD>-<HHMMSS>-<first 7 hex of the training data hash>`` (UTC)."""
    now = now or datetime.now(UTC)
    return f"v{now:%Y%m%d-%H%M%S}-{data_sha256[:7]}"


def version_dir(version: str) -> str:
    """Lake-relative folder of a version."""
    if not version or "/" in version or version.startswith("."):
        raise ModelError(f"invalid model version {version!r}")
    return f"{MODELS}/{version}"


def dump_model(estimator: Any) -> bytes:
    """Serialise an estimator with skops (compressed zip)."""
    import zipfile

    return sio.dumps(estimator, compression=zipfile.ZIP_DEFLATED)


def load_estimator(
    data: bytes, *, expected_sha256: str | None = None, trusted: Iterable[str] = TRUSTED_TYPES
) -> Any:
    """Safely load a skops file.

    Parameters
    ----------
    data : bytes
        The ``model.skops`` bytes.
    expected_sha256 : str, optional
        Hash recorded in the card; a mismatch means the file was altered or truncated.
    trusted : iterable of str
        Allow-list of type names beyond skops' own defaults.

    Raises
    ------
    ModelError
        On a hash mismatch, an unreadable file, or any type outside the allow-list.
    """
    if expected_sha256 is not None and hashlib.sha256(data).hexdigest() != expected_sha256:
        raise ModelError("model file does not match the SHA-256 in its card: refusing to load (tampered?)")
    allowed = set(trusted)
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:  # skops raises various errors on broken zips / schemas
        raise ModelError(f"model file is not a readable skops file: {exc}") from exc
    refused = sorted(set(untrusted) - allowed)
    if refused:
        raise ModelError(f"model file contains untrusted types {refused}: refusing to load")
    try:
        return sio.loads(data, trusted=list(untrusted))
    except Exception as exc:
        raise ModelError(f"model file could not be loaded: {exc}") from exc


def save_model(
    lake: Lake,
    model: ChurnModel,
    *,
    trials: list[dict[str, Any]] | None = None,
    report_html: str | None = None,
) -> str:
    """Write a version folder; returns its lake-relative path.

    The card gets ``model_sha256`` (of ``model.skops``) before it is written.
    """
    folder = version_dir(model.version)
    if lake.exists(f"{folder}/card.json"):
        raise ModelError(f"model version {model.version} already exists")
    data = dump_model(model.estimator)
    model.card["model_sha256"] = hashlib.sha256(data).hexdigest()
    model.card["model_file"] = MODEL_FILE
    lake.write_bytes(f"{folder}/{MODEL_FILE}", data)
    if trials is not None:
        lines = "".join(json.dumps(t, sort_keys=True, default=str) + "\n" for t in trials)
        lake.write_bytes(f"{folder}/trials.jsonl", lines.encode("utf-8"))
    if report_html is not None:
        lake.write_bytes(f"{folder}/report.html", report_html.encode("utf-8"))
    lake.write_json(f"{folder}/card.json", model.card)  # last: its presence marks a complete version
    logger.info("saved model %s", model.version)
    return folder


def read_card(lake: Lake, version: str) -> dict[str, Any]:
    """The card of a version."""
    try:
        card = lake.read_json(f"{version_dir(version)}/card.json")
    except StorageError as exc:
        raise ModelError(f"model version {version} not found in {lake.uri}/{MODELS}") from exc
    return dict(card)


def load_model(lake: Lake, version: str) -> ChurnModel:
    """Load one registered version (hash-checked, allow-listed types only).

    Raises
    ------
    ModelError
        Unknown version, tampered file or untrusted content.
    """
    card = read_card(lake, version)
    try:
        data = lake.read_bytes(f"{version_dir(version)}/{card.get('model_file', MODEL_FILE)}")
    except StorageError as exc:
        raise ModelError(f"model file of {version} is missing") from exc
    estimator = load_estimator(data, expected_sha256=card.get("model_sha256"))
    specs = [FeatureInfo.from_spec(s) for s in card.get("features", [])]
    return ChurnModel(version=version, estimator=estimator, card=card, feature_specs=specs)


def list_versions(lake: Lake) -> list[str]:
    """Versions with a complete folder (a card), oldest first."""
    versions = {
        p.split("/")[1] for p in lake.list_files(MODELS, suffixes=("card.json",)) if p.count("/") == 2
    }
    return sorted(versions)


def read_champion(lake: Lake) -> dict[str, Any] | None:
    """``champion.json`` (``{"version", "promoted_at", "reason", "history": [...]}``) or None."""
    doc = lake.read_json_if_exists(CHAMPION)
    return None if doc is None else dict(doc)


def champion_version(lake: Lake) -> str | None:
    """The version in use, or None when no champion exists."""
    doc = read_champion(lake)
    return None if doc is None else str(doc["version"])


def load_champion(lake: Lake) -> ChurnModel:
    """The model in use.

    Raises
    ------
    ModelError
        When no champion exists yet (run ``c4 train``).
    """
    version = champion_version(lake)
    if version is None:
        raise ModelError(f"no champion model in {lake.uri}/{MODELS}: run `c4 train` first")
    return load_model(lake, version)


def _stack(history: list[dict[str, Any]]) -> list[str]:
    """Replay the history: promotions push a version, rollbacks pop one."""
    stack: list[str] = []
    for entry in history:
        if entry.get("action") == "rollback":
            if stack:
                stack.pop()
        else:
            stack.append(entry["version"])
    return stack


def _write_entry(lake: Lake, entry: dict[str, Any]) -> dict[str, Any]:
    doc = read_champion(lake) or {"history": []}
    history = [*doc.get("history", []), entry]
    stack = _stack(history)
    new = {"version": stack[-1], "promoted_at": entry["at"], "reason": entry["reason"], "history": history}
    lake.write_json(CHAMPION, new)
    return new


def promote(
    lake: Lake, version: str, *, reason: str = "manual promotion", now: datetime | None = None
) -> dict[str, Any]:
    """Make ``version`` the champion, appending to the history.

    Returns
    -------
    dict
        The new ``champion.json`` content.
    """
    read_card(lake, version)  # must exist
    when = (now or datetime.now(UTC)).isoformat()
    new = _write_entry(lake, {"action": "promote", "version": version, "at": when, "reason": reason})
    logger.info("champion is now %s (%s)", version, reason)
    return new


def rollback(lake: Lake, *, now: datetime | None = None) -> dict[str, Any]:
    """Return to the champion that preceded the current one.

    The history is a stack: each promotion pushes a version, each rollback pops one, so
    repeated rollbacks walk back through earlier champions.

    Raises
    ------
    ModelError
        When there is no earlier champion to return to.
    """
    doc = read_champion(lake)
    if doc is None:
        raise ModelError("no champion to roll back")
    stack = _stack(doc.get("history", []))
    if len(stack) < 2:
        raise ModelError(f"{doc['version']} is the only champion so far: nothing to roll back to")
    when = (now or datetime.now(UTC)).isoformat()
    new = _write_entry(
        lake, {"action": "rollback", "version": stack[-2], "at": when, "reason": f"rollback from {stack[-1]}"}
    )
    logger.info("rolled back from %s to %s", stack[-1], new["version"])
    return new
