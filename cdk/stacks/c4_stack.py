"""The C4 stack of one stage: composes the constructs and wires them together (grants, names).

No business logic here: table columns come from ``c4.tables``, environment-variable names from
``c4.settings.ENV``, sizes from :mod:`cdk.stages`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Annotations, CfnOutput, Stack, Tags
from c4.malls import MALLS
from c4.settings import ENV
from c4.tables import CHURN_PREDICTIONS, TABLES, glue_columns
from constructs import Construct

from cdk.bundle import runtime_requirements, wheel_name
from cdk.components.alerts import Alerts
from cdk.components.analytics import Analytics, read_sql_files
from cdk.components.catalog import LakeCatalog, TableDef
from cdk.components.dashboard import Dashboard
from cdk.components.data_lake import UPLOADS_PREFIX, DataLake
from cdk.components.glue_jobs import GlueJobs
from cdk.components.keys import Keys
from cdk.components.pipeline import TrainingPipeline
from cdk.components.scoring import Scoring
from cdk.stages import StageConfig

#: Environment variables the runtime needs beyond ``c4.settings.ENV`` (same names if ENV adds them).
SECRET_ARN_ENV = ENV.get("pseudonym_secret_arn", "C4_PSEUDONYM_SECRET_ARN")
IDEMPOTENCY_TABLE_ENV = ENV.get("idempotency_table", "C4_IDEMPOTENCY_TABLE")


class C4Stack(Stack):
    """Everything C4 runs on in one AWS account and region, for one stage."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: StageConfig,
        repo_root: Path,
        glue_bundle: Path,
        alarm_email: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, description=f"C4 churn product ({stage.name})", **kwargs)
        Tags.of(self).add("project", "c4")
        Tags.of(self).add("stage", stage.name)
        self.stage_config = stage

        self.keys = Keys(self, "Keys", stage=stage)
        self.lake = DataLake(self, "DataLake", stage=stage, data_key=self.keys.data_key)
        self.catalog = LakeCatalog(
            self,
            "Catalog",
            stage=stage,
            lake_bucket=self.lake.lake_bucket,
            tables=self._table_defs(),
            mall_ids=[m.mall_id for m in MALLS],
        )
        self.alerts = Alerts(self, "Alerts", stage=stage, ops_key=self.keys.ops_key, email=alarm_email)
        self.jobs = GlueJobs(
            self,
            "GlueJobs",
            stage=stage,
            bundle_dir=glue_bundle,
            wheel_file=wheel_name(glue_bundle),
            python_modules=runtime_requirements(repo_root),
            lake_bucket=self.lake.lake_bucket,
            artifacts_bucket=self.lake.artifacts_bucket,
            data_key=self.keys.data_key,
            ops_key=self.keys.ops_key,
            pseudonym_secret=self.keys.pseudonym_secret,
            glue_database=self.catalog.database_name,
            common_arguments={"--lake": self.lake.lake_uri, "--stage": stage.name},
        )
        self.pipeline = TrainingPipeline(
            self,
            "Training",
            stage=stage,
            jobs=self.jobs.jobs,
            lake_bucket=self.lake.lake_bucket,
            alerts_topic=self.alerts.topic,
            data_key=self.keys.data_key,
            ops_key=self.keys.ops_key,
        )
        self.scoring = Scoring(
            self,
            "Scoring",
            stage=stage,
            repo_root=repo_root,
            lake_bucket=self.lake.lake_bucket,
            uploads_prefix=UPLOADS_PREFIX,
            data_key=self.keys.data_key,
            ops_key=self.keys.ops_key,
            pseudonym_secret=self.keys.pseudonym_secret,
            alerts_topic=self.alerts.topic,
            environment=self._runtime_environment(),
            glue_database=self.catalog.database_name,
            predictions_table=CHURN_PREDICTIONS.name,
            secret_env_var=SECRET_ARN_ENV,
            idempotency_env_var=IDEMPOTENCY_TABLE_ENV,
        )
        self.analytics = Analytics(
            self,
            "Analytics",
            stage=stage,
            results_bucket=self.lake.results_bucket,
            data_key=self.keys.data_key,
            database_name=self.catalog.database_name,
            queries=read_sql_files(repo_root / "shared" / "c4" / "queries"),
        )
        self.dashboard = Dashboard(
            self,
            "Dashboard",
            stage=stage,
            state_machine=self.pipeline.state_machine,
            function=self.scoring.function,
            queue=self.scoring.queue,
            dead_letter_queue=self.scoring.dead_letter_queue,
        )
        self._build_outputs()

    def _table_defs(self) -> list[TableDef]:
        defs = []
        for spec in TABLES.values():
            try:
                columns = tuple(glue_columns(spec.name))
            except ImportError as exc:  # a table whose column source is not written yet
                Annotations.of(self).add_warning_v2("c4:table-skipped", f"table {spec.name} skipped: {exc}")
                continue
            defs.append(
                TableDef(name=spec.name, location=spec.location, columns=columns, partitions=spec.partitions)
            )
        return defs

    def _runtime_environment(self) -> dict[str, str]:
        return {
            ENV["lake"]: self.lake.lake_uri,
            ENV["stage"]: self.stage_config.name,
            ENV["glue_database"]: self.catalog.database_name,
            "POWERTOOLS_SERVICE_NAME": "c4-scoring",
            "POWERTOOLS_METRICS_NAMESPACE": "C4",
        }

    def _build_outputs(self) -> None:
        CfnOutput(self, "LakeUri", value=self.lake.lake_uri, description="Lake root (C4_LAKE)")
        CfnOutput(
            self,
            "UploadsPrefix",
            value=f"{self.lake.lake_uri}/{UPLOADS_PREFIX}",
            description="Upload session files here to score them",
        )
        CfnOutput(self, "StateMachineArn", value=self.pipeline.state_machine.state_machine_arn)
        CfnOutput(self, "AthenaWorkGroup", value=self.analytics.workgroup_name)
        CfnOutput(self, "GlueDatabase", value=self.catalog.database_name)
