"""The Glue Data Catalog: one database and the lake's tables, with partition projection.

Columns come from the library (``c4.tables.glue_columns``), so DuckDB locally and Athena in AWS
see the same tables.  Partition projection makes new partitions visible to Athena at once (no
crawler, no ``MSCK REPAIR``): date partitions as a date range up to ``NOW``, ``mall_id`` as an
enum of the chain's malls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import aws_glue as glue
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk.stages import StageConfig

#: First date a date partition may take (Athena projects dates from here to NOW).
PROJECTION_START = "2024-01-01"
_DATE_PARTITIONS = ("dt", "as_of_date")


@dataclass(frozen=True)
class TableDef:
    """What the catalogue needs of one lake table (built from ``c4.tables`` by the stack)."""

    name: str
    location: str
    columns: tuple[tuple[str, str], ...]
    partitions: tuple[str, ...] = ()


class LakeCatalog(Construct):
    """Glue database ``c4_<stage>`` with one Parquet table per lake table."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: StageConfig,
        lake_bucket: s3.IBucket,
        tables: Sequence[TableDef],
        mall_ids: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        self._lake_bucket = lake_bucket
        self._mall_ids = tuple(mall_ids)
        self.database = self._build_database(stage)
        self.tables: Mapping[str, glue.S3Table] = {t.name: self._build_table(t) for t in tables}

    @property
    def database_name(self) -> str:
        """Name of the Glue database."""
        return self.database.database_name

    def _build_database(self, stage: StageConfig) -> glue.Database:
        return glue.Database(
            self, "Database", database_name=stage.glue_database, description=f"C4 lake tables ({stage.name})"
        )

    def _projection(self, partition: str) -> glue.PartitionProjectionConfiguration:
        if partition in _DATE_PARTITIONS:
            return glue.PartitionProjectionConfiguration.date(
                format="yyyy-MM-dd",
                min=PROJECTION_START,
                max="NOW",
                step=glue.DateProjectionStep(interval=1, interval_unit=glue.DateIntervalUnit.DAYS),
            )
        if partition == "mall_id":
            return glue.PartitionProjectionConfiguration.enum(values=list(self._mall_ids))
        raise ValueError(f"no partition projection defined for partition column {partition!r}")

    def _build_table(self, table: TableDef) -> glue.S3Table:
        return glue.S3Table(
            self,
            f"Table-{table.name}",
            table_name=table.name,
            database=self.database,
            storage=glue.S3TableStorage.from_bucket(self._lake_bucket),
            s3_prefix=f"{table.location}/",
            data_format=glue.DataFormat.PARQUET,
            columns=[_column(name, typ) for name, typ in table.columns],
            partition_keys=[_column(p, "string") for p in table.partitions],
            partition_projection={p: self._projection(p) for p in table.partitions} or None,
            description=f"C4 table {table.name} (s3 lake: {table.location}/)",
        )


def _column(name: str, athena_type: str) -> glue.Column:
    return glue.Column(name=name, type=glue.Schema.custom(athena_type, is_primitive=True))
