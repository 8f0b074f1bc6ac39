"""The Glue jobs of the pipeline: one thin entry script per ``c4.jobs`` function.

Each job is a Glue 5.0 Spark job (Python 3.11) running ``glue_jobs/<step>.py``.  The ``c4``
library arrives as a wheel (built at synth, uploaded with the scripts) through
``--additional-python-modules`` together with the pinned runtime requirements.  Each job has its
own role that reads and writes only the lake zones its step uses (:data:`STEP_ACCESS`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from cdk.components.common import log_retention
from cdk.stages import StageConfig

#: Key prefix of the uploaded bundle (scripts and wheel) in the artifacts bucket.
CODE_PREFIX = "glue/code/"
#: Glue temporary directory in the artifacts bucket.
TEMP_PREFIX = "glue/tmp/"
#: Where each job records its result for the state machine (``<run_id>/<step>.json``).
PIPELINE_MANIFESTS = "manifests/pipeline/"
#: CloudWatch namespace the monitoring job publishes to (``c4.monitoring.NAMESPACE``).
MONITORING_NAMESPACE = "C4/Monitoring"


@dataclass(frozen=True)
class StepAccess:
    """Lake prefixes one step reads, and reads and writes (``write`` implies read)."""

    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()
    needs_pseudonym_key: bool = False
    publishes_metrics: bool = False


#: The steps, in pipeline order, and the lake zones each one touches (least privilege).
STEP_ACCESS: dict[str, StepAccess] = {
    "generate": StepAccess(write=("raw/sessions/", "truth/", "curated/malls/")),
    "elt": StepAccess(
        read=("raw/",), write=("curated/", "quarantine/", "manifests/elt/"), needs_pseudonym_key=True
    ),
    "features": StepAccess(read=("curated/",), write=("features/", "reports/")),
    "train": StepAccess(read=("curated/", "features/"), write=("models/", "reports/")),
    "promote": StepAccess(write=("models/",)),
    "monitor": StepAccess(
        read=("curated/", "features/", "models/", "predictions/"), write=("reports/",), publishes_metrics=True
    ),
}
STEPS = tuple(STEP_ACCESS)


class GlueJobs(Construct):
    """The bundle upload, a security configuration, and one role and job per step.

    Attributes
    ----------
    jobs : dict[str, glue.PySparkEtlJob]
        The job of each step (name ``c4-<stage>-<step>``).
    roles : dict[str, iam.Role]
        The role of each job.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: StageConfig,
        bundle_dir: Path,
        wheel_file: str,
        python_modules: Sequence[str],
        lake_bucket: s3.IBucket,
        artifacts_bucket: s3.IBucket,
        data_key: kms.IKey,
        ops_key: kms.IKey,
        pseudonym_secret: secretsmanager.ISecret,
        glue_database: str,
        common_arguments: Mapping[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self._stage = stage
        self._lake = lake_bucket
        self._artifacts = artifacts_bucket
        self._ops_key = ops_key
        self._secret = pseudonym_secret
        self._deployment = self._build_bundle_upload(bundle_dir)
        self._security = self._build_security_configuration(data_key, ops_key)
        self._arguments = self._build_common_arguments(
            wheel_file, python_modules, glue_database, common_arguments
        )
        self.roles: dict[str, iam.Role] = {step: self._build_role(step) for step in STEPS}
        self.jobs: dict[str, glue.PySparkEtlJob] = {step: self._build_job(step) for step in STEPS}

    def job_name(self, step: str) -> str:
        """Physical name of a step's job."""
        return f"{self._stage.prefix}-{step}"

    def _build_bundle_upload(self, bundle_dir: Path) -> s3deploy.BucketDeployment:
        log_group = logs.LogGroup(
            self,
            "BundleUploadLogs",
            retention=log_retention(self._stage),
            encryption_key=self._ops_key,
        )
        return s3deploy.BucketDeployment(
            self,
            "BundleUpload",
            sources=[s3deploy.Source.asset(str(bundle_dir))],
            destination_bucket=self._artifacts,
            destination_key_prefix=CODE_PREFIX,
            prune=True,
            log_group=log_group,
        )

    def _build_security_configuration(
        self, data_key: kms.IKey, ops_key: kms.IKey
    ) -> glue.SecurityConfiguration:
        return glue.SecurityConfiguration(
            self,
            "Security",
            security_configuration_name=f"{self._stage.prefix}-jobs",
            s3_encryption=glue.S3Encryption.kms(data_key),
            cloud_watch_encryption=glue.CloudWatchEncryption.kms(ops_key),
            job_bookmarks_encryption=glue.JobBookmarksEncryption.client_side_kms(data_key),
        )

    def _build_common_arguments(
        self,
        wheel_file: str,
        python_modules: Sequence[str],
        glue_database: str,
        common_arguments: Mapping[str, str],
    ) -> dict[str, str]:
        code = f"s3://{self._artifacts.bucket_name}/{CODE_PREFIX}"
        return {
            **common_arguments,
            "--glue_database": glue_database,
            "--additional-python-modules": ",".join([f"{code}lib/{wheel_file}", *python_modules]),
            "--TempDir": f"s3://{self._artifacts.bucket_name}/{TEMP_PREFIX}",
            "--enable-job-insights": "true",
        }

    def _job_arguments(self, step: str) -> dict[str, str]:
        args = dict(self._arguments)
        if STEP_ACCESS[step].needs_pseudonym_key:
            args["--pseudonym_secret_arn"] = self._secret.secret_arn
        return args

    def _build_role(self, step: str) -> iam.Role:
        access = STEP_ACCESS[step]
        role = iam.Role(
            self,
            f"Role-{step}",
            assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
            description=f"C4 Glue job {step}: only the lake zones it uses",
        )
        for prefix in access.read:
            self._lake.grant_read(role, f"{prefix}*")
        for prefix in (*access.write, PIPELINE_MANIFESTS):
            self._lake.grant_read_write(role, f"{prefix}*")
        self._artifacts.grant_read(role, f"{CODE_PREFIX}*")
        self._artifacts.grant_read_write(role, f"{TEMP_PREFIX}*")
        if access.needs_pseudonym_key:
            self._secret.grant_read(role)
        if access.publishes_metrics:
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["cloudwatch:PutMetricData"],
                    resources=["*"],
                    conditions={"StringEquals": {"cloudwatch:namespace": MONITORING_NAMESPACE}},
                )
            )
        self._grant_logs(role)
        return role

    def _grant_logs(self, role: iam.Role) -> None:
        stack = Stack.of(self)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:AssociateKmsKey",
                ],
                resources=[
                    f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:/aws-glue/*"
                ],
            )
        )
        self._ops_key.grant_encrypt_decrypt(role)

    def _build_job(self, step: str) -> glue.PySparkEtlJob:
        size = self._stage.glue_size(step)
        fan_out = len(self._stage.generate_mall_ids) if step == "generate" else 1
        job = glue.PySparkEtlJob(
            self,
            f"Job-{step}",
            job_name=self.job_name(step),
            description=f"C4 {step}: glue_jobs/{step}.py -> c4.jobs.run_{step}",
            role=self.roles[step],
            script=glue.Code.from_bucket(self._artifacts, f"{CODE_PREFIX}scripts/{step}.py"),
            glue_version=glue.GlueVersion.V5_0,
            worker_configuration=glue.WorkerConfiguration(
                worker_type=_worker_type(size.worker_type), number_of_workers=size.workers
            ),
            timeout=Duration.minutes(size.timeout_minutes),
            max_concurrent_runs=fan_out,
            max_retries=0,
            security_configuration=self._security,
            continuous_logging=glue.ContinuousLoggingProps(enabled=True),
            enable_metrics=True,
            default_arguments=self._job_arguments(step),
            extra_python_files=[glue.Code.from_bucket(self._artifacts, f"{CODE_PREFIX}scripts/_entry.py")],
        )
        job.node.add_dependency(self._deployment)
        return job


def _worker_type(name: str) -> glue.WorkerType:
    return {
        "G.1X": glue.WorkerType.G_1X,
        "G.2X": glue.WorkerType.G_2X,
        "G.4X": glue.WorkerType.G_4X,
        "G.8X": glue.WorkerType.G_8X,
    }[name]
