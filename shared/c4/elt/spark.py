"""Spark engine adapter (AWS Glue 5.x: Spark 3.5, Python 3.11) and the Glue entry point.

The transform is the same SQL as on DuckDB, transpiled by :func:`c4.elt.sql.to_spark`.  Only
reading differs: raw files are read as binary and parsed by the Python reader
(:mod:`c4.elt.parse`) inside ``mapInPandas``; the HMAC runs in ``mapInPandas`` over the
distinct ids.  Outputs are written partitioned to a staging folder of the lake and moved to
their deterministic names.

Glue job script::

    from c4.elt.spark import run_elt_spark
    summary = run_elt_spark(spark, settings.lake, settings)
"""

from __future__ import annotations

import logging
import posixpath
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import unquote

import pandas as pd
import pyarrow as pa

from c4.elt.batch import Progress, run_batch
from c4.elt.contract import validate_mapping
from c4.elt.outputs import curated_path, existing_curated_files, parallel, quarantine_rows_path
from c4.elt.parse import STAGING_SCHEMA, parse_bytes
from c4.elt.probe import SourceFile
from c4.elt.pseudonym import pseudonymise_values
from c4.elt.results import EltSummary
from c4.elt.schema import CURATED_COLUMNS, CURATED_SCHEMA, EXISTING_SCHEMA, QUARANTINE_SCHEMA
from c4.exceptions import UnreadableFileError
from c4.settings import Settings
from c4.storage import Lake, open_lake

logger = logging.getLogger(__name__)

_UNREADABLE = "__unreadable__"
_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "false",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.parquet.compression.codec": "zstd",
}


def _spark_type(typ: pa.DataType) -> Any:
    from pyspark.sql import types as T

    if pa.types.is_timestamp(typ):
        return T.TimestampNTZType()
    simple = {
        pa.string(): T.StringType(),
        pa.int64(): T.LongType(),
        pa.int32(): T.IntegerType(),
        pa.float64(): T.DoubleType(),
        pa.bool_(): T.BooleanType(),
        pa.date32(): T.DateType(),
    }
    return simple[typ]


def spark_schema(schema: pa.Schema) -> Any:
    """The Spark ``StructType`` of an Arrow schema (timestamps as TIMESTAMP_NTZ)."""
    from pyspark.sql import types as T

    return T.StructType([T.StructField(f.name, _spark_type(f.type), True) for f in schema])


def _parse_partitions(sources: dict[str, SourceFile]) -> Any:
    """A ``mapInPandas`` function: binary files -> staging rows."""

    def rel_of(path: str) -> str | None:
        return next((rel for rel in sources if path.endswith("/" + rel) or path == rel), None)

    def parse(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            for path, content in zip(batch["path"], batch["content"], strict=True):
                rel = rel_of(unquote(str(path)))
                if rel is None:
                    continue
                try:
                    table = parse_bytes(bytes(content), sources[rel])
                except UnreadableFileError as exc:
                    table = _unreadable_row(rel, str(exc))
                yield table.to_pandas()

    return parse


def _unreadable_row(rel: str, error: str) -> pa.Table:
    row: dict[str, Any] = dict.fromkeys(STAGING_SCHEMA.names)
    row.update(source_file=rel, line_no=0, parse_error=f"{_UNREADABLE}{error}")
    return pa.Table.from_pylist([row], schema=STAGING_SCHEMA)


def _hmac_partitions(key: bytes | None) -> Any:
    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            ids = [str(v) for v in batch["raw_id"]]
            pseudo = ids if key is None else pseudonymise_values(ids, key)
            yield pd.DataFrame({"raw_id": ids, "pseudo_id": pseudo})

    return run


class SparkEngine:
    """Runs the transform on a Spark session.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
        The session (the Glue job's, or a local one in tests).
    """

    name = "spark"

    def __init__(self, spark: Any) -> None:
        self.spark = spark
        self._views: dict[str, Any] = {}
        self._saved = {k: spark.conf.get(k, None) for k in _CONF}
        for k, v in _CONF.items():
            spark.conf.set(k, v)

    def close(self) -> None:
        """Drop the views and restore the session's settings."""
        self.reset()
        for k, v in self._saved.items():
            if v is None:
                self.spark.conf.unset(k)
            else:
                self.spark.conf.set(k, v)

    # -- generic relations ------------------------------------------------------------------
    def _view(self, name: str, df: Any, *, materialize: bool = True) -> None:
        """Expose ``df`` as view ``name``; materialized views are checkpointed eagerly.

        A local checkpoint cuts the lineage, so later plans stay small (the transform's
        statements are large; caching alone keeps every upstream plan in each new one).
        """
        self.drop(name)
        if materialize:
            df = df.localCheckpoint(eager=True)
        df.createOrReplaceTempView(name)
        self._views[name] = df

    def register(self, name: str, table: pa.Table) -> None:
        """Create a view from a (small) Arrow table."""
        rows = [tuple(r.values()) for r in table.to_pylist()]
        self._view(name, self.spark.createDataFrame(rows, spark_schema(table.schema)), materialize=False)

    def materialize(self, name: str, sql: str) -> None:
        """Create a cached view from a statement in DuckDB dialect (transpiled here)."""
        from c4.elt.sql import to_spark

        self._view(name, self.spark.sql(to_spark(sql)))

    def fetch(self, sql: str) -> pa.Table:
        """Run a statement (DuckDB dialect) and collect its (small) result as Arrow."""
        from c4.elt.sql import to_spark

        df = self.spark.sql(to_spark(sql))
        rows = [r.asDict() for r in df.collect()]
        return pa.Table.from_pylist(rows) if rows else pa.table({c: pa.array([]) for c in df.columns})

    def drop(self, *names: str) -> None:
        """Drop views (and their cached data)."""
        for name in names:
            df = self._views.pop(name, None)
            if df is not None:
                df.unpersist()  # releases a checkpoint's blocks too
            self.spark.catalog.dropTempView(name)

    def reset(self) -> None:
        """Drop every view this adapter created."""
        self.drop(*list(self._views))

    # -- reading ------------------------------------------------------------------------------
    def load_staging(self, lake: Lake, sources: list[SourceFile]) -> dict[str, str]:
        """Create ``staging`` from raw files (read as binary, parsed by the Python reader)."""
        if not sources:
            self.register("staging", STAGING_SCHEMA.empty_table())
            return {}
        by_rel = {s.rel_path: s for s in sources}
        raw = self.spark.read.format("binaryFile").load([lake.uri_of(s.rel_path) for s in sources])
        parsed = raw.select("path", "content").mapInPandas(
            _parse_partitions(by_rel), spark_schema(STAGING_SCHEMA)
        )
        self._view("staging_all", parsed)
        errors = {
            r["source_file"]: r["parse_error"][len(_UNREADABLE) :].split(": ", 1)[-1]
            for r in self.spark.sql(
                f"SELECT source_file, parse_error FROM staging_all WHERE line_no = 0 "
                f"AND parse_error LIKE '{_UNREADABLE}%'"
            ).collect()
        }
        self._view(
            "staging", self.spark.sql("SELECT * FROM staging_all WHERE line_no > 0"), materialize=False
        )
        return errors

    def load_staging_table(self, table: pa.Table) -> None:
        """Create ``staging`` from an Arrow table in the staging schema."""
        self._view(
            "staging",
            self.spark.createDataFrame(table.cast(STAGING_SCHEMA).to_pandas(), spark_schema(STAGING_SCHEMA)),
        )

    def pseudonymise(self, key: bytes | None, ids_sql: str) -> None:
        """Create ``pseudonyms`` by hashing the distinct ids on the executors."""
        from c4.elt.sql import to_spark

        ids = self.spark.sql(to_spark(ids_sql))
        schema = "raw_id string, pseudo_id string"
        self._view("pseudonyms", ids.mapInPandas(_hmac_partitions(key), schema))

    def load_existing(self, lake: Lake, dts: list[str], replaced: frozenset[str] = frozenset()) -> None:
        """Create ``existing_all``: the curated rows of the given dt partitions (not ``replaced`` files)."""
        from pyspark.sql import functions as F

        files = existing_curated_files(lake, dts, replaced)
        if not files:
            self.register("existing_all", EXISTING_SCHEMA.empty_table())
            return
        df = self.spark.read.schema(spark_schema(CURATED_SCHEMA)).parquet(*[lake.uri_of(f) for f in files])
        name = F.input_file_name()
        df = df.select(
            *CURATED_COLUMNS,
            F.regexp_extract(name, r"dt=([^/]+)/", 1).alias("dt"),
            F.regexp_extract(name, r"([^/]+)\.parquet$", 1).alias("_key"),
            F.monotonically_increasing_id().alias("_rk"),
        )
        self._view("existing_all", df)

    # -- writing ------------------------------------------------------------------------------
    def _write_partitioned(self, lake: Lake, staging: str, df: Any, keys: list[str], fmt: str) -> list[str]:
        from pyspark.sql import functions as F

        writer = df.repartition(*[F.col(k) for k in keys]).write.mode("overwrite").partitionBy(*keys)
        if fmt == "json":
            writer.option("ignoreNullFields", "false").json(lake.uri_of(staging))
        else:
            writer.parquet(lake.uri_of(staging))
        return lake.list_files(staging, suffixes=(f".{fmt}",))

    def write_outputs(self, lake: Lake) -> list[str]:
        """Write ``curated_out`` and ``rejected_out``: Spark writes a staging folder, files are moved."""
        staging = f".c4/staging/{uuid.uuid4().hex}"
        curated = self.spark.table("curated_out").select(*CURATED_COLUMNS, "_key", "dt")
        rejected = self.spark.table("rejected_out").select(*QUARANTINE_SCHEMA.names, "_fid")
        moves: list[tuple[str, str]] = []
        for f in self._write_partitioned(lake, f"{staging}/c", curated, ["_key", "dt"], "parquet"):
            parts = dict(p.split("=", 1) for p in f.split("/") if "=" in p)
            moves.append((f, curated_path(parts["dt"], parts["_key"])))
        for f in self._write_partitioned(lake, f"{staging}/q", rejected, ["_fid"], "json"):
            parts = dict(p.split("=", 1) for p in f.split("/") if "=" in p)
            moves.append((f, quarantine_rows_path(parts["_fid"])))
        _check_one_file_each(moves)

        def move(item: tuple[str, str]) -> str:
            src, dst = item
            lake.fs.create_dir(posixpath.dirname(lake.path(dst)), recursive=True)
            lake.fs.move(lake.path(src), lake.path(dst))
            return dst

        written = parallel(move, moves)
        lake.delete(staging)
        return written

    def new_rows(self) -> pa.Table:
        """The accepted rows of the processed files (curated schema plus ``dt``)."""
        rows = self.spark.table("curated_out").where("_is_new").select(*CURATED_COLUMNS, "dt").collect()
        schema = pa.schema([*CURATED_SCHEMA, ("dt", pa.string())])
        return pa.Table.from_pylist([r.asDict() for r in rows], schema=schema)

    def rejected_rows(self) -> pa.Table:
        """The rejected rows (quarantine schema)."""
        rows = self.spark.table("rejected_out").select(*QUARANTINE_SCHEMA.names).collect()
        return pa.Table.from_pylist([r.asDict() for r in rows], schema=QUARANTINE_SCHEMA)


def _check_one_file_each(moves: list[tuple[str, str]]) -> None:
    targets = [dst for _, dst in moves]
    if len(targets) != len(set(targets)):
        dupes = sorted({t for t in targets if targets.count(t) > 1})
        raise RuntimeError(f"Spark wrote several files for one output: {dupes[:5]}")


def run_elt_spark(
    spark: Any,
    lake: Lake | str,
    settings: Settings,
    *,
    progress: Progress | None = None,
    mapping: dict[str, str] | None = None,
    now: datetime | None = None,
    boto3_session: Any = None,
) -> EltSummary:
    """Curate every new raw file under ``raw/sessions/`` with Spark (the Glue job's entry point).

    Same contract, outputs, manifests and quarantine as :func:`c4.elt.run_elt`; the transform
    is the same SQL, transpiled to Spark SQL.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
        The Glue job's session.
    lake : Lake or str
        The lake, or its URI (``s3://bucket/prefix``); a URI is opened with ``settings``.
    settings : Settings
        Gives the pseudonymisation key (``C4_PSEUDONYM_KEY`` on AWS).
    progress : callable, optional
        ``progress(files_done, files_total)``.
    mapping : dict, optional
        Contract column -> source column.
    now : datetime, optional
        Processing / reference time (default: now).
    boto3_session : boto3.Session, optional
        Credentials for the driver's S3 access (listing, manifests, moves).

    Returns
    -------
    EltSummary
    """
    if isinstance(lake, str):
        lake = open_lake(settings.with_lake(lake), boto3_session=boto3_session)
    key = settings.resolve_pseudonym_key()
    engine = SparkEngine(spark)
    try:
        return run_batch(
            engine, lake, key, now=now, mapping=validate_mapping(mapping), progress=progress, chunk_bytes=None
        )
    finally:
        engine.close()
