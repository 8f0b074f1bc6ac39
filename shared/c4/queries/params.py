"""Typed parameters of the named queries: declaration syntax and strict validation.

Every parameter of a ``.sql`` file is declared in its header comment::

    -- @param mall_id: mall_id? | Only this mall (e.g. CL01)
    -- @param limit: int(1..1000) = 10 | How many guests

``name: type`` then ``?`` when the parameter may be null (its default is then null),
``= value`` for a default, ``| text`` for a description.  Values are always *bound* as
parameters (DuckDB ``$name``, Athena ``?``); validation here is a second fence that rejects
anything that is not a well-formed value of the declared type before it reaches an engine.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from c4.exceptions import QueryError

_DECL = re.compile(
    r"^--\s*@param\s+(?P<name>[a-z_][a-z0-9_]*)\s*:\s*(?P<type>[a-z_]+)"
    r"(?:\((?P<lo>-?[0-9.]+)\.\.(?P<hi>-?[0-9.]+)\))?(?P<nullable>\?)?"
    r"\s*(?:=\s*(?P<default>[^|\s]+))?\s*(?:\|\s*(?P<doc>.*))?$"
)

#: A date relative to the scoring days in the data: ``latest``, ``first``, ``latest-7``.
RELATIVE_DATE = re.compile(r"^(latest|first)(?:([+-])([0-9]{1,4}))?$")

_PATTERNS = {
    "mall_id": re.compile(r"^[A-Z]{2}[0-9]{2}$"),
    "country": re.compile(r"^(CL|PE|CO)$"),
    "customer_id": re.compile(r"^[0-9a-f]{8,128}$"),
    "customer_prefix": re.compile(r"^[0-9a-f]{4,128}$"),
    "risk_band": re.compile(r"^(alto|medio|bajo)$"),
    "city": re.compile(r"^[^\W\d_]+(?:[ .'-][^\W\d_]+)*$"),
}

#: Parameter types and the JSON-schema type each maps to (used by the Bedrock tools).
TYPES: dict[str, str] = {
    "mall_id": "string",
    "country": "string",
    "customer_id": "string",
    "customer_prefix": "string",
    "risk_band": "string",
    "city": "string",
    "date": "string",
    "int": "integer",
    "float": "number",
}


@dataclass(frozen=True)
class ParamSpec:
    """One declared parameter of a named query.

    Parameters
    ----------
    name : str
        Parameter name (``$name`` in the SQL).
    type : str
        One of :data:`TYPES`.
    nullable : bool
        Whether null is allowed (null means "no filter" / "use the default in SQL").
    default : Any
        Default value (already converted), ``None`` when absent.
    required : bool
        Whether a caller must give a value (no default and not nullable).
    low, high : float or None
        Inclusive bounds of numeric parameters.
    doc : str
        Plain-words description.
    """

    name: str
    type: str
    nullable: bool = False
    default: Any = None
    required: bool = True
    low: float | None = None
    high: float | None = None
    doc: str = ""

    def json_schema(self) -> dict[str, Any]:
        """JSON schema of this parameter (for tool definitions)."""
        schema: dict[str, Any] = {"type": TYPES[self.type], "description": self.doc or self.name}
        if self.type == "mall_id":
            schema["pattern"] = _PATTERNS["mall_id"].pattern
        elif self.type in ("country", "risk_band"):
            schema["enum"] = _PATTERNS[self.type].pattern[2:-2].split("|")
        elif self.type == "date":
            schema["pattern"] = r"^\d{4}-\d{2}-\d{2}$"
        elif self.type in ("customer_id", "customer_prefix"):
            schema["pattern"] = _PATTERNS[self.type].pattern
        if self.low is not None:
            schema["minimum"] = self.low
        if self.high is not None:
            schema["maximum"] = self.high
        if self.default is not None:
            schema["default"] = self.default
        return schema


def parse_declaration(line: str) -> ParamSpec | None:
    """Parse one ``-- @param`` header line (``None`` for any other line).

    Raises
    ------
    QueryError
        If the line is a malformed declaration or names an unknown type.
    """
    if "@param" not in line:
        return None
    match = _DECL.match(line.strip())
    if not match:
        raise QueryError(f"malformed parameter declaration: {line.strip()!r}")
    ptype = match["type"]
    if ptype not in TYPES:
        raise QueryError(f"unknown parameter type {ptype!r} in {line.strip()!r}")
    nullable = bool(match["nullable"])
    low = float(match["lo"]) if match["lo"] is not None else None
    high = float(match["hi"]) if match["hi"] is not None else None
    spec = ParamSpec(match["name"], ptype, nullable, None, False, low, high, (match["doc"] or "").strip())
    raw_default = match["default"]
    if raw_default is not None and ptype == "date" and RELATIVE_DATE.match(raw_default):
        default: Any = raw_default  # resolved against the data when the query runs
    else:
        default = validate_value(spec, raw_default) if raw_default is not None else None
    required = default is None and not nullable
    return ParamSpec(spec.name, ptype, nullable, default, required, low, high, spec.doc)


def _clean_text(value: Any) -> str:
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if any(unicodedata.category(ch)[0] == "C" for ch in text):
        raise QueryError("parameter values may not contain control or invisible characters")
    return text


def _number(spec: ParamSpec, value: Any) -> int | float:
    if isinstance(value, bool):
        raise QueryError(f"parameter {spec.name!r} must be a number, got a boolean")
    try:
        if spec.type == "int":
            text = _clean_text(value)
            if not re.fullmatch(r"[+-]?[0-9]{1,9}", text) and not isinstance(value, int):
                raise ValueError(text)
            number: int | float = int(value) if isinstance(value, int) else int(text)
        else:
            number = float(_clean_text(value))
            if number != number or number in (float("inf"), float("-inf")):
                raise ValueError(value)
    except ValueError as exc:
        raise QueryError(
            f"parameter {spec.name!r} must be {'an integer' if spec.type == 'int' else 'a number'}, "
            f"got {value!r}"
        ) from exc
    if (spec.low is not None and number < spec.low) or (spec.high is not None and number > spec.high):
        raise QueryError(
            f"parameter {spec.name!r} must be between {spec.low:g} and {spec.high:g}, got {number}"
        )
    return number


def resolve_relative_date(token: str, anchors: Mapping[str, str]) -> str:
    """Resolve ``latest``, ``first``, ``latest-7`` ... against the data's scoring days.

    Parameters
    ----------
    token : str
        A value matching :data:`RELATIVE_DATE`.
    anchors : Mapping[str, str]
        ``{"first": "YYYY-MM-DD", "latest": "YYYY-MM-DD"}``.

    Raises
    ------
    QueryError
        If the anchor is unknown (e.g. no predictions yet).
    """
    match = RELATIVE_DATE.match(token)
    if not match:
        raise QueryError(f"not a relative date: {token!r}")
    base = anchors.get(match[1])
    if not base:
        raise QueryError(f"cannot resolve {token!r}: there are no scoring days in the data yet")
    days = int(match[3] or 0) * (-1 if match[2] == "-" else 1)
    return (date.fromisoformat(base) + timedelta(days=days)).isoformat()


def validate_value(spec: ParamSpec, value: Any, anchors: Mapping[str, str] | None = None) -> Any:
    """Convert and validate one value for a parameter.

    Parameters
    ----------
    spec : ParamSpec
        The declaration.
    value : Any
        The value (strings from the command line are converted).
    anchors : Mapping[str, str], optional
        First and latest scoring day, to resolve relative dates (``latest-7``).

    Returns
    -------
    Any
        The clean value (``None`` only for nullable parameters).

    Raises
    ------
    QueryError
        If the value is not a well-formed value of the declared type.
    """
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "null", "none")):
        if spec.nullable or not spec.required:
            if spec.default is not None and spec.type == "date":
                return validate_value(spec, spec.default, anchors)
            return spec.default
        raise QueryError(f"parameter {spec.name!r} is required")
    if spec.type in ("int", "float"):
        return _number(spec, value)
    text = _clean_text(value)
    if spec.type == "date":
        if RELATIVE_DATE.match(text.lower()):
            if anchors is None:
                raise QueryError(
                    f"parameter {spec.name!r}: relative date {text!r} needs the data's scoring days"
                )
            return resolve_relative_date(text.lower(), anchors)
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            _bad(spec, value)
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError as exc:
            raise QueryError(f"parameter {spec.name!r} must be a date YYYY-MM-DD, got {value!r}") from exc
    if spec.type in ("mall_id", "country"):
        text = text.upper()
    elif spec.type in ("customer_id", "customer_prefix", "risk_band"):
        text = text.lower()
    if len(text) > 128 or not _PATTERNS[spec.type].match(text):
        _bad(spec, value)
    return text


def _bad(spec: ParamSpec, value: Any) -> Any:
    shown = str(value) if len(str(value)) <= 40 else str(value)[:40] + "..."
    raise QueryError(f"parameter {spec.name!r} is not a valid {spec.type}: {shown!r}")
