"""The named-query catalogue: ``.sql`` files of this package, loaded, validated and run.

Each file ``<name>.sql`` starts with a one-line comment that describes it, then one
``-- @param`` line per parameter (see :mod:`c4.queries.params`).  The SQL uses DuckDB's named
prepared parameters (``$name``) and is written in the common subset of DuckDB and Trino, so
that :func:`render_athena` can turn it into Athena SQL with positional ``?`` parameters.
Values are always bound by the engine, never formatted into the SQL text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import duckdb

from c4.exceptions import QueryError
from c4.queries.params import ParamSpec, parse_declaration, validate_value

# Strings, quoted identifiers and comments are skipped; what is left is scanned for $name.
_TOKENS = re.compile(
    r"(?P<skip>'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/)|\$(?P<param>[a-z_][a-z0-9_]*)",
    re.DOTALL,
)


@dataclass(frozen=True)
class NamedQuery:
    """One query of the catalogue.

    Parameters
    ----------
    name : str
        File name without ``.sql``; also the Athena named-query name.
    description : str
        The first comment line.
    sql : str
        The whole file (DuckDB form, ``$name`` parameters).
    params : tuple of ParamSpec
        Declared parameters, in declaration order.
    """

    name: str
    description: str
    sql: str
    params: tuple[ParamSpec, ...]

    @property
    def param_names(self) -> tuple[str, ...]:
        """Declared parameter names in declaration order."""
        return tuple(p.name for p in self.params)

    @property
    def needs_anchors(self) -> bool:
        """Whether a parameter is a date (whose value or default may be relative)."""
        return any(p.type == "date" for p in self.params)

    def bind(
        self, values: Mapping[str, Any] | None = None, anchors: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """Validate values for every declared parameter (defaults filled in).

        Parameters
        ----------
        values : Mapping[str, Any], optional
            Parameter values.
        anchors : Mapping[str, str], optional
            First and latest scoring day, to resolve relative dates such as ``latest-7``.

        Raises
        ------
        QueryError
            On an unknown parameter, a missing required one, or an invalid value.
        """
        values = dict(values or {})
        unknown = sorted(set(values) - set(self.param_names))
        if unknown:
            raise QueryError(
                f"query {self.name!r} has no parameter {', '.join(unknown)}; "
                f"parameters: {', '.join(self.param_names) or 'none'}"
            )
        return {p.name: validate_value(p, values.get(p.name), anchors) for p in self.params}


@dataclass(frozen=True)
class QueryResult:
    """The result of running a named query."""

    name: str
    sql: str
    parameters: dict[str, Any]
    columns: list[str] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)


def placeholders(sql: str) -> list[str]:
    """Parameter names in order of occurrence (repeats kept), outside strings and comments."""
    return [m["param"] for m in _TOKENS.finditer(sql) if m["param"]]


def parse_query(name: str, text: str) -> NamedQuery:
    """Build a :class:`NamedQuery` from a file's text.

    Raises
    ------
    QueryError
        If the description line is missing, a declaration is malformed, or the declared and
        used parameters differ.
    """
    lines = text.strip().splitlines()
    if not lines or not lines[0].startswith("--") or "@param" in lines[0]:
        raise QueryError(f"query {name!r} must start with a comment line describing it")
    description = lines[0].lstrip("-").strip()
    specs = [s for s in (parse_declaration(line) for line in lines if line.startswith("--")) if s]
    declared = [s.name for s in specs]
    used = set(placeholders(text))
    if len(set(declared)) != len(declared) or set(declared) != used:
        raise QueryError(
            f"query {name!r}: declared parameters {sorted(declared)} differ from used {sorted(used)}"
        )
    return NamedQuery(name, description, text.strip() + "\n", tuple(specs))


@lru_cache(maxsize=1)
def _load() -> dict[str, NamedQuery]:
    folder = resources.files("c4.queries")
    out: dict[str, NamedQuery] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            name = entry.name[: -len(".sql")]
            out[name] = parse_query(name, entry.read_text(encoding="utf-8"))
    return out


def catalogue() -> dict[str, NamedQuery]:
    """All named queries by name (loaded once from the package's ``.sql`` files)."""
    return dict(_load())


def get_query(name: str) -> NamedQuery:
    """The named query ``name``.

    Raises
    ------
    QueryError
        If there is no such query.
    """
    queries = _load()
    if name not in queries:
        raise QueryError(f"unknown named query {name!r}; known: {', '.join(sorted(queries))}")
    return queries[name]


def date_anchors(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """First and latest scoring day of ``churn_predictions`` (empty when there is none).

    Relative dates (``latest``, ``latest-7``, ``first``) resolve against these, never against
    the wall clock: the data's own last day is "today".
    """
    try:
        row = con.execute(get_query("prediction_dates").sql).fetchone()
    except duckdb.Error:
        return {}
    if not row or row[1] is None:
        return {}
    return {"first": str(row[0]), "latest": str(row[1])}


def run_query(
    con: duckdb.DuckDBPyConnection,
    name: str,
    values: Mapping[str, Any] | None = None,
    *,
    anchors: Mapping[str, str] | None = None,
) -> QueryResult:
    """Run a named query on DuckDB with validated, bound parameters.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A connection from :func:`c4.engine.connect`.
    name : str
        The query name.
    values : Mapping[str, Any], optional
        Parameter values (validated; defaults filled in).
    anchors : Mapping[str, str], optional
        First and latest scoring day (see :func:`date_anchors`); looked up when a date
        parameter needs them and none are given.

    Returns
    -------
    QueryResult

    Raises
    ------
    QueryError
        On an unknown query or invalid parameters, or when the engine fails (e.g. a table
        has no data yet).
    """
    query = get_query(name)
    if anchors is None and query.needs_anchors:
        anchors = date_anchors(con)
    bound = query.bind(values, anchors)
    try:
        cur = con.execute(query.sql, bound) if bound else con.execute(query.sql)
        columns = [d[0] for d in cur.description] if cur.description else []
        rows = cur.fetchall()
    except duckdb.Error as exc:
        raise QueryError(f"query {name!r} failed: {exc}") from exc
    return QueryResult(name, query.sql, bound, columns, rows)


def render_athena(query: NamedQuery | str) -> tuple[str, list[str]]:
    """Athena (Trino) form of a query: ``$name`` replaced by positional ``?``.

    Parameters
    ----------
    query : NamedQuery or str
        The query or its name.

    Returns
    -------
    tuple of (str, list of str)
        The SQL and the parameter names in the order of the ``?`` marks (a name appears
        once per use), which is the order of Athena's ``ExecutionParameters``.
    """
    q = get_query(query) if isinstance(query, str) else query
    order = placeholders(q.sql)

    def repl(m: re.Match[str]) -> str:
        return "?" if m["param"] else m[0]

    # The parameter declarations are for the DuckDB side; Athena gets the description only
    # (so that no "?" appears anywhere but at the parameter positions).
    body = "\n".join(line for line in q.sql.splitlines() if not line.lstrip().startswith("-- @param"))
    return _TOKENS.sub(repl, body) + "\n", order


def athena_execution_parameters(
    query: NamedQuery | str,
    values: Mapping[str, Any] | None = None,
    anchors: Mapping[str, str] | None = None,
) -> list[str]:
    """Athena ``ExecutionParameters`` for a query: validated values as SQL literals, in order.

    Strings are single-quoted with quotes doubled, numbers are plain, null is ``NULL``.
    Relative dates need ``anchors`` (the first and latest scoring day).
    """
    q = get_query(query) if isinstance(query, str) else query
    bound = q.bind(values, anchors)
    _, order = render_athena(q)
    return [_literal(bound[name]) for name in order]


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def describe(query: NamedQuery) -> list[dict[str, Any]]:
    """The parameters of a query as plain dicts (for listings)."""
    return [
        {"name": p.name, "type": p.type, "required": p.required, "default": p.default, "doc": p.doc}
        for p in query.params
    ]


def names() -> Sequence[str]:
    """Sorted names of the catalogue."""
    return sorted(_load())
