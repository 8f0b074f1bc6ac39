"""The named-query catalogue: one ``.sql`` file per analyst or chat query.

The files are the single definition of each query: run locally on DuckDB
(:func:`run_query`, ``c4 queries run``), rendered for Athena with positional parameters
(:func:`render_athena`, :func:`athena_execution_parameters`) and registered as Athena named
queries by the deployment, and used by the chat (:mod:`c4.chat`).
"""

from c4.queries.catalogue import (
    NamedQuery,
    QueryResult,
    athena_execution_parameters,
    catalogue,
    date_anchors,
    describe,
    get_query,
    names,
    placeholders,
    render_athena,
    run_query,
)
from c4.queries.params import ParamSpec, validate_value

__all__ = [
    "NamedQuery",
    "ParamSpec",
    "QueryResult",
    "athena_execution_parameters",
    "catalogue",
    "date_anchors",
    "describe",
    "get_query",
    "names",
    "placeholders",
    "render_athena",
    "run_query",
    "validate_value",
]
