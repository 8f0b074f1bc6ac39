"""The one definition of the transform: SQL in DuckDB dialect, rendered for DuckDB or Spark.

The statements live in ``c4/elt/sql/*.sql``.  Each reads named relations (tables or views the
engine adapter provides) and yields one relation.  For Spark they are transpiled with sqlglot
at run time; the only construct sqlglot does not translate, DuckDB's ``TO_SECONDS(x)``
(an interval of x seconds), is rewritten to Spark's ``MAKE_DT_INTERVAL(0, 0, 0, x)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlglot import exp

#: A decimal number (optionally signed, optional exponent).
NUM_RE = (
    r"^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?$"  # no backslashes: same text in every dialect
)
#: Largest gap between sessions of one visit.
VISIT_GAP = timedelta(minutes=30)
#: How far after the reference time a session may start before it is a future timestamp.
FUTURE_TOLERANCE = timedelta(days=1)

#: The statements, in the order the pipeline runs them.
STATEMENTS = (
    "file_checks",
    "dates",
    "validated",
    "affected_dts",
    "existing_rows",
    "distinct_ids",
    "candidates",
    "duplicates",
    "visits",
    "curated_out",
    "rejected_out",
    "outcome_counts",
)


@dataclass(frozen=True)
class SqlParams:
    """Run-level constants substituted into the statements.

    Parameters
    ----------
    reference : datetime
        Reference time (UTC, naive) for the future-timestamp check.
    ingested_at : datetime
        Ingestion time (UTC, naive) stamped on the rows written.
    reject_unknown_malls : bool
        Reject rows whose ``mall_id`` is not in the mall dimension (``unknown_mall``).
    """

    reference: datetime
    ingested_at: datetime
    reject_unknown_malls: bool

    def values(self) -> dict[str, str]:
        """Placeholder -> SQL text."""
        return {
            "num_re": NUM_RE,
            "future_limit": _ts_literal(self.reference + FUTURE_TOLERANCE),
            "reference": self.reference.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ingested_at": _ts_literal(self.ingested_at),
            "reject_unknown_malls": "TRUE" if self.reject_unknown_malls else "FALSE",
            "gap_us": str(int(VISIT_GAP.total_seconds() * 1_000_000)),
        }


def _ts_literal(value: datetime) -> str:
    return f"TIMESTAMP '{value.strftime('%Y-%m-%d %H:%M:%S.%f')}'"


@cache
def _template(name: str) -> str:
    return resources.files("c4.elt").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")


def render(name: str, params: SqlParams, engine: str = "duckdb") -> str:
    """The SQL of one statement for an engine.

    Parameters
    ----------
    name : str
        One of :data:`STATEMENTS`.
    params : SqlParams
        Run-level constants.
    engine : {"duckdb", "spark"}
        Target engine.

    Returns
    -------
    str
        A single SELECT statement.
    """
    text = _template(name)
    for key, value in params.values().items():
        text = text.replace("{{" + key + "}}", value)
    if engine == "duckdb":
        return text
    if engine == "spark":
        return to_spark(text)
    raise ValueError(f"unknown engine {engine!r}")


@cache
def to_spark(duckdb_sql: str) -> str:
    """Transpile a DuckDB statement to Spark SQL (sqlglot plus the ``TO_SECONDS`` rewrite).

    sqlglot is imported here, not at module level: the DuckDB path (scoring's single-file
    ingest in a Lambda) never needs it, and importing it costs a noticeable part of a cold start.
    """
    import sqlglot

    tree = sqlglot.parse_one(duckdb_sql, read="duckdb")
    tree = tree.transform(_rewrite_for_spark)
    return tree.sql(dialect="spark")


def _rewrite_for_spark(node: exp.Expression) -> exp.Expression:
    from sqlglot import exp

    if isinstance(node, exp.Anonymous) and str(node.this).upper() == "TO_SECONDS":
        zero = exp.Literal.number(0)
        return exp.Anonymous(
            this="MAKE_DT_INTERVAL", expressions=[zero, zero.copy(), zero.copy(), node.expressions[0]]
        )
    return node
