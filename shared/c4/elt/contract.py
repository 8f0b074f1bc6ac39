"""The sessions data contract: column names, reason codes, column mappings and file ids.

The human-readable version of this module is ``docs/data-contract.md``.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Iterable, Mapping

from c4.exceptions import ContractError

#: Columns a sessions file must have (after the column mapping).
REQUIRED = ("customer_id", "session_start")

#: Columns a sessions file may have; anything else is ignored.
OPTIONAL = (
    "session_id",
    "mall_id",
    "zone",
    "ap_id",
    "session_end",
    "dwell_minutes",
    "bytes_down",
    "bytes_up",
    "device_os",
    "login_method",
    "signal_dbm",
    "failed_logins",
)

#: Every contract column, in the order of the generator's files.
CONTRACT_COLUMNS = (
    "session_id",
    "customer_id",
    "mall_id",
    "zone",
    "ap_id",
    "session_start",
    "session_end",
    "dwell_minutes",
    "bytes_down",
    "bytes_up",
    "device_os",
    "login_method",
    "signal_dbm",
    "failed_logins",
)

#: Reason codes of rejected rows, in the order the checks run (the first failing check wins).
REASONS: dict[str, str] = {
    "malformed": "the line cannot be parsed (wrong field count, invalid JSON, garbage)",
    "missing_required": "customer_id or session_start is empty",
    "bad_timestamp": "session_start or session_end is not an ISO 8601 date/time",
    "bad_value": "a value is out of range or not a number",
    "future_timestamp": "session_start is more than one day after the reference time",
    "unknown_mall": "mall_id is not in the mall dimension",
    "duplicate": "exact duplicate of a row already seen (same session_id and content)",
}

#: Whole-file status values written to the manifest.
STATUS_OK = "ok"
STATUS_UNREADABLE = "unreadable"

#: Formats a sessions file may have.
FORMATS = ("csv", "jsonl", "parquet")

_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}

Mapping_ = Mapping[str, str]


def format_from_name(name: str) -> str | None:
    """The format implied by a file name's extension, or ``None`` when unknown."""
    return _EXTENSIONS.get(posixpath.splitext(name.lower())[1])


def parse_mapping(text: str | None) -> dict[str, str]:
    """Parse a CLI column mapping ``"customer_id=client_mac,session_start=ts"``.

    Parameters
    ----------
    text : str or None
        Comma-separated ``contract_name=source_name`` pairs.

    Returns
    -------
    dict[str, str]
        Contract column -> source column.

    Raises
    ------
    ContractError
        If a pair is malformed or names a column that is not in the contract.

    Examples
    --------
    >>> parse_mapping("customer_id=client_mac, session_start=ts")
    {'customer_id': 'client_mac', 'session_start': 'ts'}
    """
    if not text or not text.strip():
        return {}
    pairs = {}
    for item in text.split(","):
        if not item.strip():
            continue
        if "=" not in item:
            raise ContractError(f"bad mapping {item.strip()!r}: use contract_name=source_name")
        target, source = (part.strip() for part in item.split("=", 1))
        pairs[target] = source
    return validate_mapping(pairs)


def validate_mapping(mapping: Mapping_ | None) -> dict[str, str]:
    """Check a mapping (contract column -> source column) and return it as a plain dict.

    Raises
    ------
    ContractError
        If a key is not a contract column or a value is empty.
    """
    out: dict[str, str] = {}
    for target, source in (mapping or {}).items():
        if target not in CONTRACT_COLUMNS:
            raise ContractError(
                f"mapping names {target!r}, which is not a contract column ({', '.join(CONTRACT_COLUMNS)})"
            )
        if not source:
            raise ContractError(f"mapping for {target!r} has an empty source column name")
        out[target] = source
    return out


def resolve_columns(names: Iterable[str], mapping: Mapping_ | None = None) -> dict[str, str]:
    """Which source column feeds each contract column.

    Names are matched case-insensitively and ignoring surrounding blanks; a mapping entry wins
    over a source column that happens to carry the contract name.

    Parameters
    ----------
    names : iterable of str
        The source file's column names (CSV header, JSON keys, Parquet schema).
    mapping : mapping, optional
        Contract column -> source column.

    Returns
    -------
    dict[str, str]
        Contract column -> the source column's exact name, for the columns present.
    """
    by_key: dict[str, str] = {}
    for name in names:
        by_key.setdefault(name.strip().lower(), name)
    mapping = validate_mapping(mapping)
    out: dict[str, str] = {}
    for col in CONTRACT_COLUMNS:
        wanted = mapping.get(col, col).strip().lower()
        if wanted in by_key:
            out[col] = by_key[wanted]
    return out


def missing_required(resolved: Mapping_) -> list[str]:
    """The required contract columns absent from a resolved column map."""
    return [c for c in REQUIRED if c not in resolved]


def file_id(rel_path: str) -> str:
    """Deterministic, file-name-safe id of a raw file (names its manifest and outputs).

    The id is the file name made safe plus a short hash of the full lake-relative path, so two
    files with the same name in different folders get different ids.

    Examples
    --------
    >>> file_id("raw/sessions/mall_id=CL01/date=2025-03-14/CL01_2025-03-14.csv")
    'CL01_2025-03-14_csv-f446584215'
    """
    digest = hashlib.sha1(rel_path.encode("utf-8")).hexdigest()[:10]
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", posixpath.basename(rel_path)).strip("_")[:80]
    return f"{stem or 'file'}-{digest}"


#: Output-file key of every raw file of the batch zone (one curated file per day for all of them).
BATCH_KEY = "raw-sessions"
BATCH_PREFIX = "raw/sessions/"


def curated_key(rel_path: str) -> str:
    """Name (without ``.parquet``) of the curated file a raw file's rows go to, per ``dt``.

    Raw files of the batch zone (``raw/sessions/``) share one file per day, ``raw-sessions``:
    writing one Parquet file per raw file and day costs milliseconds each, too much for
    thousands of daily controller exports.  Any other file (uploads) gets its own, named by
    its file id.  Either way the name is deterministic, so processing a raw file again
    replaces its rows instead of duplicating them.
    """
    return BATCH_KEY if rel_path.startswith(BATCH_PREFIX) else file_id(rel_path)


def mall_from_path(rel_path: str) -> str | None:
    """The ``mall_id=<M>`` folder of a raw path, if any."""
    match = re.search(r"(?:^|/)mall_id=([^/]+)/", rel_path)
    return match.group(1) if match else None
