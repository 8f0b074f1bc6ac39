"""Athena: an encrypted workgroup and one named query per ``.sql`` file of ``c4.queries``.

The named queries are the catalogue of :mod:`c4.queries` rendered for Athena by the library
(``$param`` placeholders become positional ``?`` execution parameters; the description lists
the parameters in order), so the console shows the same catalogue as ``c4 queries``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import aws_athena as athena
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk.stages import StageConfig

RESULTS_PREFIX = "athena/"
#: Athena's limit on a named query's description.
_MAX_DESCRIPTION = 1024


@dataclass(frozen=True)
class SqlFile:
    """One catalogue query: name (file stem), description (first comment line) and SQL text."""

    name: str
    description: str
    sql: str


def read_sql_files(folder: Path | None = None) -> list[SqlFile]:
    """The named-query catalogue in its Athena form (sorted by name).

    ``folder`` is accepted for compatibility; the catalogue is always the package's own.
    """
    from c4.queries import catalogue, render_athena

    out = []
    for name, query in sorted(catalogue().items()):
        sql, order = render_athena(query)
        params = f" Parameters (in order): {', '.join(order)}." if order else ""
        description = (query.description or name) + params
        out.append(SqlFile(name=name, description=description[:_MAX_DESCRIPTION], sql=sql))
    return out


class Analytics(Construct):
    """Workgroup ``c4-<stage>`` (results encrypted with the data key, configuration enforced)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: StageConfig,
        results_bucket: s3.IBucket,
        data_key: kms.IKey,
        database_name: str,
        queries: Sequence[SqlFile],
        bytes_scanned_cutoff: int = 100 * 1024**3,
    ) -> None:
        super().__init__(scope, construct_id)
        self._stage = stage
        self.workgroup = self._build_workgroup(results_bucket, data_key, bytes_scanned_cutoff)
        self.named_queries = [self._build_named_query(q, database_name) for q in queries]

    @property
    def workgroup_name(self) -> str:
        """Name of the workgroup."""
        return self.workgroup.name

    def _build_workgroup(self, results: s3.IBucket, data_key: kms.IKey, cutoff: int) -> athena.CfnWorkGroup:
        return athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=self._stage.prefix,
            description=f"C4 {self._stage.name}: lake tables",
            recursive_delete_option=not self._stage.retain_data,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=cutoff,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version="Athena engine version 3"
                ),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{results.bucket_name}/{RESULTS_PREFIX}",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=data_key.key_arn
                    ),
                ),
            ),
        )

    def _build_named_query(self, query: SqlFile, database_name: str) -> athena.CfnNamedQuery:
        named = athena.CfnNamedQuery(
            self,
            f"Query-{query.name}",
            name=query.name,
            description=query.description,
            database=database_name,
            work_group=self.workgroup.name,
            query_string=query.sql,
        )
        named.node.add_dependency(self.workgroup)
        return named
