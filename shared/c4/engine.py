"""DuckDB, the local SQL engine, with the lake's tables exposed under their Athena names."""

from __future__ import annotations

import duckdb

from c4.storage import Lake
from c4.tables import TABLES, TableSpec


def _register(con: duckdb.DuckDBPyConnection, lake: Lake, spec: TableSpec) -> bool:
    if not lake.has_data(spec.location):
        return False
    if lake.is_s3:
        # httpfs is not available offline: read S3 through a pyarrow dataset.
        con.register(f"__{spec.name}_ds", lake.dataset(spec.location))
        con.execute(f'CREATE OR REPLACE VIEW "{spec.name}" AS SELECT * FROM "__{spec.name}_ds"')
        return True
    glob = lake.path(spec.location).replace("'", "''") + "/**/*.parquet"
    con.execute(
        f"""CREATE OR REPLACE VIEW "{spec.name}" AS SELECT * FROM read_parquet('{glob}',
            hive_partitioning = {str(bool(spec.partitions)).lower()},
            hive_types_autocast = false, union_by_name = true)"""
    )
    return True


def _setting(value: str) -> str:
    """A value for a quoted ``SET`` literal."""
    return str(value).replace("'", "''")


def connect(
    lake: Lake,
    *,
    threads: int | None = None,
    memory_limit: str | None = None,
    temp_directory: str | None = None,
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with a view per lake table that has data.

    Parameters
    ----------
    lake : Lake
        The lake to expose.
    threads : int, optional
        DuckDB worker threads (default: DuckDB's choice, all cores).
    memory_limit : str, optional
        DuckDB's ``memory_limit`` (e.g. ``"2GB"``): beyond it, joins, aggregates, sorts and
        temp tables spill to ``temp_directory`` (default: DuckDB's, 80% of the RAM).  It bounds
        DuckDB's buffer memory only, not what Python makes of the results.
    temp_directory : str, optional
        Where DuckDB spills (default: DuckDB's, ``.tmp`` in the working directory for an
        in-memory database).  DuckDB creates the folder on its first spill and removes what it
        created when the connection closes.

    Returns
    -------
    duckdb.DuckDBPyConnection
        Views ``sessions``, ``malls``, ``customer_features`` and ``churn_predictions``
        exist for the tables that hold data.
    """
    con = duckdb.connect(database=":memory:")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if memory_limit:
        con.execute(f"SET memory_limit = '{_setting(memory_limit)}'")
    if temp_directory:
        con.execute(f"SET temp_directory = '{_setting(temp_directory)}'")
    for spec in TABLES.values():
        _register(con, lake, spec)
    return con


def available_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Names of the lake tables registered on a connection."""
    rows = con.execute(
        "SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY view_name"
    ).fetchall()
    return [r[0] for r in rows if r[0] in TABLES]
