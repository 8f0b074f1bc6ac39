"""DuckDB engine adapter: reads raw files in bulk and runs the transform SQL as written.

Only reading differs from Spark: the files of a group (same format and header) are
concatenated and read in one scan by DuckDB's CSV reader (malformed lines come from its
rejects table; see :mod:`c4.elt.duck_read`), JSON lines as one text column parsed with
DuckDB's JSON functions, Parquet through the Python reader.  Large batches are processed in
chunks of files (bounded memory); each chunk is a complete incremental run.

Relations live in DuckDB tables (the batch: they count against the memory limit and spill
to disk) or, for a small input such as one uploaded file, in Arrow tables registered with
DuckDB (``arrow=True``).  Writing an in-memory DuckDB table costs more than the query that
fills it at that size (a 100,000-row upload: the CSV scan 0.10 s into a table against 0.04 s
into Arrow), and a table under DuckDB's 122,880-row group is scanned by one thread, while an
Arrow table's record batches are scanned in parallel.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import tempfile
import threading
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from c4.elt import duck_read as dr
from c4.elt.outputs import (
    curated_path,
    existing_curated_files,
    quarantine_rows_path,
    write_groups,
    write_text_groups,
)
from c4.elt.parse import STAGING_SCHEMA, parse_bytes
from c4.elt.probe import SourceFile
from c4.elt.pseudonym import PSEUDONYM_SCHEMA, pseudonym_table, pseudonymise_values
from c4.elt.schema import CURATED_COLUMNS, CURATED_SCHEMA, EXISTING_SCHEMA, QUARANTINE_SCHEMA
from c4.exceptions import C4Error
from c4.storage import Lake

logger = logging.getLogger(__name__)

#: Rows per record batch of a relation kept in Arrow (DuckDB scans the batches in parallel).
ARROW_BATCH_ROWS = 16_384


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _list(values: Iterable[str]) -> str:
    return "[" + ", ".join(_quote(v) for v in values) + "]"


_THREAD = threading.local()


def _thread_database(threads: int | None) -> duckdb.DuckDBPyConnection:
    """The calling thread's in-memory DuckDB database with this many threads, opened once.

    One per thread, not per process: the ELT sets ``preserve_insertion_order`` (a database-wide
    setting) around its reads, so two ingests at once must not share a database.  Its spill
    folder is a temporary folder of its own (DuckDB's default is ``.tmp`` in the working
    directory, read-only in Lambda).
    """
    databases: dict[int | None, duckdb.DuckDBPyConnection] = _THREAD.__dict__.setdefault("databases", {})
    db = databases.get(threads)
    if db is None:
        spill = tempfile.mkdtemp(prefix="c4-elt-duckdb-spill-")
        config: dict[str, str | bool | int | float | list[str]] = {"temp_directory": spill}
        if threads:
            config["threads"] = int(threads)
        db = databases[threads] = duckdb.connect(database=":memory:", config=config)
        weakref.finalize(db, shutil.rmtree, spill, True)  # with the thread's database
    return db


class DuckEngine:
    """Runs the transform on an in-memory DuckDB connection.

    Parameters
    ----------
    threads : int, optional
        Worker threads (DuckDB's default when ``None``).
    memory_limit : str, optional
        DuckDB memory limit, e.g. ``"2GB"`` (it spills to a temporary folder beyond it).
    arrow : bool
        Keep every relation in an Arrow table registered with DuckDB instead of a DuckDB table
        (faster for a small input; the memory is outside DuckDB's limit and cannot spill, so
        not for batch chunks).  Without ``memory_limit``, the connection is then a cursor on
        the calling thread's own in-memory database (:func:`_thread_database`): opening a
        database costs about 13 ms, a cursor nothing, and a cursor's registered relations are
        its own.
    files : mapping, optional
        Raw files already read (lake-relative path -> content): read from here, not the lake.
    """

    name = "duckdb"

    def __init__(
        self,
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
        arrow: bool = False,
        files: Mapping[str, bytes] | None = None,
    ) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="c4-elt-duckdb-")
        if arrow and not memory_limit:  # nothing is stored in the database: share this thread's
            self.con = _thread_database(threads).cursor()
        else:
            self.con = duckdb.connect(database=":memory:")
            self.con.execute(f"SET temp_directory = {_quote(self._tmp.name)}")
            if threads:
                self.con.execute(f"SET threads = {int(threads)}")
            if memory_limit:
                self.con.execute(f"SET memory_limit = {_quote(memory_limit)}")
        self._tables: set[str] = set()
        self._arrow: dict[str, pa.Table] | None = {} if arrow else None
        self._staged: list[pa.Table] = []  # staging pieces, arrow mode
        self._pseudonyms: dict[bytes, dict[str, str]] = {}
        self._files = dict(files or {})

    @property
    def arrow(self) -> bool:
        """Whether relations are kept in Arrow (see the ``arrow`` parameter)."""
        return self._arrow is not None

    def _live(self, name: str) -> bool:
        """Whether relation ``name`` exists (made by this adapter and not dropped)."""
        return name in (self._arrow if self._arrow is not None else self._tables)

    def close(self) -> None:
        """Close the connection and remove its temporary folder."""
        self.con.close()
        self._tmp.cleanup()

    # -- generic relations ------------------------------------------------------------------
    def register(self, name: str, table: pa.Table) -> None:
        """Create (or replace) relation ``name`` from an Arrow table."""
        if self._arrow is not None:
            self._keep(name, table)
            return
        view = f"__arrow_{name}"
        self.con.register(view, table)
        try:
            self.con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM "{view}"')
        finally:
            self.con.unregister(view)
        self._tables.add(name)

    def materialize(self, name: str, sql: str) -> None:
        """Create (or replace) relation ``name`` from a SELECT."""
        if self._arrow is not None:
            self._keep(name, self._to_arrow(sql))
            return
        self.con.execute(f'CREATE OR REPLACE TABLE "{name}" AS {sql}')
        self._tables.add(name)

    def _to_arrow(self, sql: str) -> pa.Table:
        """A SELECT's result in record batches of :data:`ARROW_BATCH_ROWS` rows."""
        return self.con.sql(sql).to_arrow_reader(ARROW_BATCH_ROWS).read_all()

    def _keep(self, name: str, table: pa.Table) -> None:
        """Hold ``table`` as relation ``name`` (arrow mode): registered with DuckDB, no copy."""
        assert self._arrow is not None
        self.drop(name)
        self.con.register(name, table)
        self._arrow[name] = table

    def fetch(self, sql: str) -> pa.Table:
        """Run a SELECT and return its result as Arrow."""
        return self.con.sql(sql).to_arrow_table()

    def drop(self, *names: str) -> None:
        """Drop relations."""
        for name in names:
            if self._arrow is not None and name in self._arrow:
                self.con.unregister(name)
                del self._arrow[name]
                continue
            self.con.execute(f'DROP TABLE IF EXISTS "{name}"')
            self._tables.discard(name)

    def reset(self) -> None:
        """Drop every relation this adapter created (between chunks of a batch)."""
        self.drop(*sorted(self._tables), *sorted(self._arrow or ()))
        self._staged = []
        for row in self.con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall():
            self.con.execute(f'DROP TABLE IF EXISTS "{row[0]}"')

    # -- reading ------------------------------------------------------------------------------
    def load_staging(self, lake: Lake, sources: list[SourceFile]) -> dict[str, str]:
        """Create ``staging`` from readable raw files (see :mod:`c4.elt.duck_read`).

        Returns
        -------
        dict[str, str]
            Files found unreadable while reading (path -> error), e.g. invalid UTF-8 further in.
        """
        self.drop("staging")
        self._staged = []
        if self._arrow is None:
            self.register("staging", STAGING_SCHEMA.empty_table())
        self.con.execute("SET preserve_insertion_order = true")  # rows are attributed by scan order
        errors: dict[str, str] = {}
        groups: dict[tuple[Any, ...], list[SourceFile]] = {}
        reader = self._reader(lake)
        for src in sources:
            if src.fmt == "parquet":
                self._insert_arrow(parse_bytes(reader(src.rel_path), src))
                continue
            key = (src.fmt, src.delimiter, src.columns if src.fmt == "csv" else (), src.resolved)
            groups.setdefault(key, []).append(src)
        for i, group in enumerate(groups.values()):
            errors.update(self._read_group(i, group, reader))
        self.con.execute("SET preserve_insertion_order = false")
        if self._arrow is not None:
            pieces, self._staged = self._staged, []
            self._keep("staging", pa.concat_tables(pieces) if pieces else STAGING_SCHEMA.empty_table())
        return errors

    def _reader(self, lake: Lake) -> Callable[[str], bytes]:
        """Read a raw file: the content given at construction, else from the lake."""
        from_lake = _lake_reader(lake)
        return lambda rel: self._files[rel] if rel in self._files else from_lake(rel)

    def _read_group(self, i: int, group: list[SourceFile], read: Callable[[str], bytes]) -> dict[str, str]:
        src = group[0]
        header, boundary = dr.csv_header(src) if src.fmt == "csv" else (b"", (dr.BOUNDARY + "\n").encode())
        target = dr.temp_path(self._tmp.name, i)
        concat = dr.concatenate(group, read, target, header=header, boundary=boundary)
        try:
            self.register(f"files_{i}", concat.files)
            raw = self._scan(i, src, target)
        finally:
            os.remove(target)
        test, prepare, select, row_filter = dr.values_sql(src)
        self.materialize(f"rejects_{i}", dr.rejects_sql(i))
        rowid = "rowid" if raw is None else dr.ARROW_ROWID
        bounds = self.fetch(dr.boundaries_sql(i, test, rowid)).column("rid").to_numpy()
        n_rows = self._count(f"raw_{i}") if raw is None else raw.num_rows
        attr = dr.attribution(
            bounds, n_rows, concat.files, self.fetch(f"SELECT j, local_line FROM rejects_{i}")
        )
        if raw is None:
            self.con.register(f"attr_{i}", attr)
            try:
                self.con.execute(dr.insert_sql(i, test, prepare, select, row_filter))
            finally:
                self.con.unregister(f"attr_{i}")
        else:  # the attribution becomes two more columns of the scan: no positional join
            self._keep(
                f"raw_{i}",
                raw.append_column("fj", attr.column("fj")).append_column("line_no", attr.column("line_no")),
            )
            rows = self._to_arrow(dr.staged_rows_sql(i, test, prepare, select, row_filter, attributed=True))
            self._staged.append(rows.rename_columns(STAGING_SCHEMA.names).cast(STAGING_SCHEMA))
        bad = self.con.execute(dr.encoding_errors_sql(i)).fetchall()
        self.drop(f"raw_{i}", f"rej_{i}", f"scan_{i}", f"files_{i}", f"rejects_{i}")
        return {path: f"not UTF-8 text (invalid byte sequence on line {line})" for path, line in bad}

    def _scan(self, i: int, src: SourceFile, target: str) -> pa.Table | None:
        """Scan a group's concatenated file into ``raw_<i>`` (returned too in arrow mode)."""
        if self._arrow is None:
            self.materialize(f"raw_{i}", dr.read_sql(i, src, target))
            return None
        raw = self._to_arrow(dr.read_sql(i, src, target))
        raw = raw.append_column(dr.ARROW_ROWID, pa.array(np.arange(raw.num_rows, dtype=np.int64)))
        self._keep(f"raw_{i}", raw)
        return raw

    def _count(self, name: str) -> int:
        return int(self.fetch(f'SELECT COUNT(*) AS n FROM "{name}"').column("n")[0].as_py())

    def load_staging_table(self, table: pa.Table) -> None:
        """Create ``staging`` from an Arrow table (already in the staging schema)."""
        self.register("staging", table.cast(STAGING_SCHEMA))

    def _insert_arrow(self, table: pa.Table) -> None:
        if self._arrow is not None:
            self._staged.append(table.cast(STAGING_SCHEMA))
            return
        self.con.register("__arrow_insert", table)
        try:
            self.con.execute("INSERT INTO staging SELECT * FROM __arrow_insert")
        finally:
            self.con.unregister("__arrow_insert")

    # -- writing ------------------------------------------------------------------------------
    def new_rows(self, *, ordered: bool = True) -> pa.Table:
        """The accepted rows of the processed files (curated schema plus ``dt``).

        From ``curated_out``, or from ``visited`` while the outputs are not made yet
        (:func:`c4.elt.pipeline.make_outputs`): the same rows.

        Parameters
        ----------
        ordered : bool
            Order them by ``source_file``, ``dt``, ``session_start``; otherwise in no particular
            order (saves a sort).
        """
        cols = ", ".join(CURATED_COLUMNS)
        order = " ORDER BY source_file, dt, session_start" if ordered else ""
        source = "curated_out" if self._live("curated_out") else "visited"  # outputs not made yet
        return self.fetch(f"SELECT {cols}, dt FROM {source} WHERE _is_new{order}")

    def rejected_rows(self) -> pa.Table:
        """The rejected rows (quarantine schema)."""
        cols = ", ".join(QUARANTINE_SCHEMA.names)
        return self.fetch(f"SELECT {cols} FROM rejected_out ORDER BY source_file, line_no")

    def write_outputs(self, lake: Lake) -> list[str]:
        """Write ``curated_out`` (one Parquet file per dt and key) and ``rejected_out`` (JSON lines)."""
        return self.prepare_outputs(lake)()

    def prepare_outputs(self, lake: Lake) -> Callable[[], list[str]]:
        """Take the outputs out of DuckDB now; the returned call writes them (no connection needed).

        On S3 the rows are fetched as Arrow here and the call encodes and uploads them, so it
        can run after :meth:`close`, in another thread.  On a local lake DuckDB's own parallel
        writer writes the curated files here (it needs the connection) and the call writes the
        quarantined rows.
        """
        if lake.is_s3:  # grouped by output file; rows not sorted within a file, as DuckDB's writer
            curated = self.fetch("SELECT * FROM curated_out ORDER BY _key, dt")
            written: list[str] = []
        else:
            curated, written = None, self._copy_curated(lake)
        cols = ", ".join(QUARANTINE_SCHEMA.names)
        rejected = self.fetch(
            f"SELECT _fid, to_json(struct_pack({cols})) AS line FROM rejected_out ORDER BY _fid, line_no"
        )

        def write() -> list[str]:
            out = list(written)
            if curated is not None:
                out += write_groups(
                    lake, curated, ["_key", "dt"], lambda key, dt: curated_path(dt, key), CURATED_SCHEMA
                )
            return out + write_text_groups(lake, rejected, "_fid", "line", quarantine_rows_path)

        return write

    def _copy_curated(self, lake: Lake) -> list[str]:
        """Write ``curated_out`` with DuckDB's own parallel Parquet writer (local lake).

        DuckDB writes one file per (``_key``, ``dt``) into a folder of the lake's ``.c4``
        area; each is then renamed into place (atomic, same file system).  Rows are not sorted
        within a file (a day's file is one row group; sorting cost more than the whole write).
        zstd level 1: about 10% less CPU than the default level 3, files 3% larger.
        """
        staging = lake.path(f".c4/elt-write-{uuid.uuid4().hex}")
        types = {pa.string(): "VARCHAR", pa.timestamp("us"): "TIMESTAMP", pa.date32(): "DATE",
                 pa.int32(): "INTEGER", pa.int64(): "BIGINT", pa.float64(): "DOUBLE"}  # fmt: skip
        cols = ", ".join(f"CAST({f.name} AS {types[f.type]}) AS {f.name}" for f in CURATED_SCHEMA)
        os.makedirs(os.path.dirname(staging), exist_ok=True)
        try:
            self.con.execute(
                f"COPY (SELECT {cols}, _key, dt FROM curated_out) TO {_quote(staging)} "
                "(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, PARTITION_BY (_key, dt), "
                "FILENAME_PATTERN 'part', "
                "OVERWRITE_OR_IGNORE true)"
            )
            written = []
            for path in sorted(glob.glob(os.path.join(staging, "_key=*", "dt=*", "*.parquet"))):
                key, dt = (p.split("=", 1)[1] for p in path.split(os.sep)[-3:-1])
                rel = curated_path(dt, key)
                if rel in written:
                    raise C4Error(f"DuckDB split the curated file {rel} in several parts")
                os.makedirs(os.path.dirname(lake.path(rel)), exist_ok=True)
                os.replace(path, lake.path(rel))
                written.append(rel)
            return written
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def pseudonymise(self, key: bytes | None, ids_sql: str) -> None:
        """Create ``pseudonyms`` (raw_id, pseudo_id) for the distinct ids ``ids_sql`` selects.

        Digests are kept for the adapter's lifetime, so an id seen in an earlier chunk of the
        batch is not hashed again.
        """
        ids = [v for v in self.fetch(ids_sql).column("raw_id").to_pylist() if v is not None]
        if key is None:
            self.register("pseudonyms", pseudonym_table(ids, None))
            return
        cache = self._pseudonyms.setdefault(key, {})
        new = [v for v in ids if v not in cache]
        cache.update(zip(new, pseudonymise_values(new, key), strict=True))
        table = pa.table({"raw_id": ids, "pseudo_id": [cache[v] for v in ids]}, schema=PSEUDONYM_SCHEMA)
        self.register("pseudonyms", table)

    def load_existing(self, lake: Lake, dts: list[str], replaced: frozenset[str] = frozenset()) -> None:
        """Create ``existing_all``: the curated rows of the given dt partitions.

        Files named in ``replaced`` (:func:`c4.elt.outputs.replaced_outputs`) are not read: all
        their rows belong to raw files being processed again, so they would only be excluded.
        """
        files = existing_curated_files(lake, dts, replaced)
        if not files:
            self.register("existing_all", EXISTING_SCHEMA.empty_table())
            return
        if lake.is_s3:
            self.register("existing_all", _read_existing_arrow(lake, files))
            return
        cols = ", ".join(CURATED_COLUMNS)
        self.materialize(
            "existing_all",
            f"""SELECT {cols}, regexp_extract(filename, 'dt=([^/]+)/', 1) AS dt,
                regexp_extract(filename, '([^/]+)\\.parquet$', 1) AS _key,
                CAST(ROW_NUMBER() OVER () AS BIGINT) AS _rk
            FROM read_parquet({_list(lake.path(f) for f in files)}, filename = true,
                hive_partitioning = false, union_by_name = true)""",
        )


def _read_existing_arrow(lake: Lake, files: list[str]) -> pa.Table:
    def one(rel: str) -> pa.Table:
        table = lake.read_parquet(rel).select(list(CURATED_COLUMNS))
        n = table.num_rows
        dt = rel.split("dt=", 1)[1].split("/", 1)[0]
        key = os.path.splitext(os.path.basename(rel))[0]
        return table.append_column("dt", pa.array([dt] * n, pa.string())).append_column(
            "_key", pa.array([key] * n, pa.string())
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        parts = list(pool.map(one, files))
    table = pa.concat_tables(parts, promote_options="permissive")
    table = table.append_column("_rk", pa.array(range(table.num_rows), pa.int64()))
    return table.cast(EXISTING_SCHEMA)


def _lake_reader(lake: Lake) -> Callable[[str], bytes]:
    """Read raw files: straight from disk on a local lake, through the lake (S3) otherwise."""
    if lake.is_s3:
        return lake.read_bytes

    def read(rel: str) -> bytes:
        with open(lake.path(rel), "rb") as fh:
            return fh.read()

    return read
