"""Reading a sessions relation with the curated schema, tolerating missing optional columns.

``compute_features`` and ``compute_labels`` accept any relation name with the curated
``sessions`` schema (the lake view, a temp table, or scoring's "history UNION new file").  A
source may lack optional columns (a file with only a guest id and a start time): those read as
NULL and the features built on them are NULL, never an error.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import date
from types import TracebackType

import duckdb
import pyarrow as pa

from c4.exceptions import ContractError

logger = logging.getLogger(__name__)

#: Optional curated columns and the SQL type they read as when absent.
OPTIONAL_COLUMNS: dict[str, str] = {
    "mall_id": "VARCHAR",
    "zone": "VARCHAR",
    "session_end": "TIMESTAMP",
    "local_hour": "INTEGER",
    "dwell_minutes": "DOUBLE",
    "bytes_down": "BIGINT",
    "bytes_up": "BIGINT",
    "device_os": "VARCHAR",
    "login_method": "VARCHAR",
    "signal_dbm": "DOUBLE",
    "failed_logins": "INTEGER",
    "visit_id": "VARCHAR",
}


def relation_columns(con: duckdb.DuckDBPyConnection, relation: str) -> set[str]:
    """Column names of a relation (lower case).

    Catalogued tables and views are looked up in the catalogue (binding a view over thousands of
    Parquet files would read every file footer); anything else is probed with ``LIMIT 0``.

    Raises
    ------
    ContractError
        If the relation does not exist or cannot be read.
    """
    rows = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = $name", {"name": relation}
    ).fetchall()
    if rows and '"' not in relation and "." not in relation:
        return {r[0].lower() for r in rows}
    try:
        cur = con.execute(f"SELECT * FROM {relation} LIMIT 0")
        names = {d[0].lower() for d in cur.description}
        cur.fetchall()
    except duckdb.Error as exc:
        raise ContractError(f"cannot read sessions relation {relation!r}: {exc}") from exc
    return names


def relation_exists(con: duckdb.DuckDBPyConnection, relation: str) -> bool:
    """Whether a relation (table, view, registered frame) can be read."""
    try:
        con.execute(f"SELECT * FROM {relation} LIMIT 0").fetchall()
    except duckdb.Error:
        return False
    return True


def quiet(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Turn off DuckDB's terminal progress bar on a connection this module created."""
    try:
        con.execute("SET enable_progress_bar = false")
    except duckdb.Error:  # e.g. in Jupyter without ipywidgets: nothing is printed anyway
        logger.debug("progress bar setting unavailable")
    return con


def fetch_row(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> tuple:
    """The first row of a query (all rows are fetched so the connection is free afterwards)."""
    rows = con.execute(sql, params).fetchall() if params is not None else con.execute(sql).fetchall()
    return tuple(rows[0]) if rows else ()


def normalised_sessions_sql(con: duckdb.DuckDBPyConnection, relation: str) -> str:
    """A SELECT over ``relation`` with every column the features read, typed, NULL when absent.

    Columns: ``customer_id, mall_id, zone, local_date, local_hour, dwell_min, bytes_total,
    device_os, login_method, signal_dbm, failed_logins, visit_key``.  ``local_date`` falls back to
    the date of ``session_start``; ``dwell_min`` to the session's end minus start; ``visit_key``
    to (guest, mall, local date) when ``visit_id`` is absent.

    Raises
    ------
    ContractError
        If ``customer_id`` or both ``local_date`` and ``session_start`` are missing.
    """
    cols = relation_columns(con, relation)
    if "customer_id" not in cols:
        raise ContractError(f"sessions relation {relation!r} has no customer_id column")
    if "local_date" in cols:
        local_date = "CAST(local_date AS DATE)"
    elif "session_start" in cols:
        local_date = "CAST(session_start AS DATE)"
    else:
        raise ContractError(f"sessions relation {relation!r} has neither local_date nor session_start")

    def col(name: str) -> str:
        typ = OPTIONAL_COLUMNS[name]
        return f"CAST({name} AS {typ})" if name in cols else f"CAST(NULL AS {typ})"

    if "session_start" in cols and "session_end" in cols:
        span = "date_diff('second', CAST(session_start AS TIMESTAMP), CAST(session_end AS TIMESTAMP)) / 60.0"
    else:
        span = "CAST(NULL AS DOUBLE)"
    dwell = f"coalesce({col('dwell_minutes')}, {span})"
    bytes_total = (
        f"CASE WHEN {col('bytes_down')} IS NULL AND {col('bytes_up')} IS NULL THEN NULL "
        f"ELSE coalesce({col('bytes_down')}, 0) + coalesce({col('bytes_up')}, 0) END"
    )
    visit_key = (
        f"coalesce({col('visit_id')}, CAST(customer_id AS VARCHAR) || '|' || "
        f"coalesce({col('mall_id')}, '') || '|' || CAST({local_date} AS VARCHAR))"
    )
    return f"""
        SELECT CAST(customer_id AS VARCHAR) AS customer_id,
               {col("mall_id")} AS mall_id,
               {col("zone")} AS zone,
               {local_date} AS local_date,
               {col("local_hour")} AS local_hour,
               {dwell} AS dwell_min,
               {bytes_total} AS bytes_total,
               {col("device_os")} AS device_os,
               {col("login_method")} AS login_method,
               {col("signal_dbm")} AS signal_dbm,
               {col("failed_logins")} AS failed_logins,
               {visit_key} AS visit_key
        FROM {relation}
        WHERE customer_id IS NOT NULL"""


class Scratch:
    """Unique temp-table names on a connection, dropped on exit.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The connection the temp tables live on.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.token = uuid.uuid4().hex[:8]
        self._tables: list[str] = []
        self._registered: list[str] = []

    def name(self, base: str) -> str:
        """A unique temp name for ``base`` (remembered for dropping)."""
        n = f"__c4f_{base}_{self.token}"
        self._tables.append(n)
        return n

    def table(self, base: str, sql: str) -> str:
        """Create a temp table from a query and return its name."""
        n = self.name(base)
        started, cpu = time.perf_counter(), time.process_time()
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {n} AS {sql}")
        logger.debug(
            "temp table %s built in %.2f s (%.2f s CPU)",
            base,
            time.perf_counter() - started,
            time.process_time() - cpu,
        )
        return n

    def drop(self, *names: str) -> None:
        """Drop temp tables no longer needed (frees their memory before the end)."""
        for n in names:
            self.con.execute(f"DROP TABLE IF EXISTS {n}")

    def drop_all(self) -> None:
        """Drop every temp table made so far (frees DuckDB's memory before the end)."""
        self.drop(*self._tables)

    def arrow(self, base: str, data: pa.Table) -> str:
        """Copy an Arrow table into a temp table and return its name."""
        return self.table(base, f"SELECT * FROM {self.view(base, data)}")

    def view(self, base: str, data: pa.Table) -> str:
        """Register an Arrow table (no copy; read once) and return its name."""
        view = f"__c4f_arrow_{base}_{self.token}"
        self.con.register(view, data)
        self._registered.append(view)
        return view

    def dates(self, base: str, values: Iterable[date]) -> str:
        """A temp table with one DATE column ``as_of_date``."""
        return self.arrow(base, pa.table({"as_of_date": pa.array(sorted(set(values)), pa.date32())}))

    def strings(self, base: str, column: str, values: Sequence[str]) -> str:
        """A temp table with one VARCHAR column of distinct values."""
        return self.arrow(base, pa.table({column: pa.array(sorted(set(map(str, values))), pa.string())}))

    def __enter__(self) -> Scratch:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for view in self._registered:
            try:
                self.con.unregister(view)
            except duckdb.Error:  # pragma: no cover - best effort cleanup
                logger.debug("could not unregister %s", view)
        for t in self._tables:
            try:
                self.con.execute(f"DROP TABLE IF EXISTS {t}")
            except duckdb.Error:  # pragma: no cover - best effort cleanup
                logger.debug("could not drop %s", t)
