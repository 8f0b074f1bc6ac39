"""The data lake: one lake bucket with zone prefixes, plus artifacts, Athena results and logs.

The library addresses one lake root (``s3://<lake bucket>``) with zone folders (``raw/``,
``curated/``, ``features/``, ``models/``, ``predictions/``, ...), see docs/adr/0001.  Zone
differences (lifecycle) are prefix-scoped lifecycle rules; access differences are prefix-scoped
IAM grants made by the stack.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk.components.common import removal_policy
from cdk.stages import StageConfig

#: Where files to score are uploaded (S3 notifications start the scoring Lambda).
UPLOADS_PREFIX = "raw/uploads/"


class DataLake(Construct):
    """Buckets of the lake, TLS-only, private, encrypted, with access logs and lifecycles.

    Attributes
    ----------
    lake_bucket : s3.Bucket
        All zones of the lake (KMS ``data_key``, versioned).
    artifacts_bucket : s3.Bucket
        Deployment artifacts: Glue entry scripts, the ``c4`` wheel, Glue temp files.
    results_bucket : s3.Bucket
        Athena query results (KMS ``data_key``, expiring).
    logs_bucket : s3.Bucket
        Server access logs of the other buckets (SSE-S3: log delivery cannot use KMS).
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, stage: StageConfig, data_key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        self._stage = stage
        self._data_key = data_key
        self._removal = removal_policy(stage)
        self.logs_bucket = self._build_logs_bucket()
        self.lake_bucket = self._build_lake_bucket()
        self.artifacts_bucket = self._build_artifacts_bucket()
        self.results_bucket = self._build_results_bucket()

    @property
    def lake_uri(self) -> str:
        """The lake root as the library expects it (``s3://<bucket>``)."""
        return f"s3://{self.lake_bucket.bucket_name}"

    def _bucket(self, construct_id: str, **props: Any) -> s3.Bucket:
        """A private, TLS-only bucket with the stage's removal policy."""
        return s3.Bucket(
            self,
            construct_id,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=self._removal,
            auto_delete_objects=not self._stage.retain_data,
            **props,
        )

    def _build_logs_bucket(self) -> s3.Bucket:
        return self._bucket(
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-logs", expiration=Duration.days(self._stage.access_logs_expire_days)
                )
            ],
        )

    def _build_lake_bucket(self) -> s3.Bucket:
        stage = self._stage
        raw_transitions = [
            s3.Transition(
                storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                transition_after=Duration.days(stage.raw_infrequent_access_days),
            )
        ]
        if stage.raw_glacier_days:
            raw_transitions.append(
                s3.Transition(
                    storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                    transition_after=Duration.days(stage.raw_glacier_days),
                )
            )
        rules = [
            s3.LifecycleRule(id="raw-tiering", prefix="raw/", transitions=raw_transitions),
            s3.LifecycleRule(
                id="quarantine-expiry",
                prefix="quarantine/",
                expiration=Duration.days(stage.quarantine_expire_days),
            ),
            s3.LifecycleRule(
                id="noncurrent-versions",
                noncurrent_version_expiration=Duration.days(stage.noncurrent_versions_expire_days),
                abort_incomplete_multipart_upload_after=Duration.days(7),
            ),
        ]
        return self._bucket(
            "Lake",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self._data_key,
            bucket_key_enabled=True,
            versioned=True,
            lifecycle_rules=rules,
            server_access_logs_bucket=self.logs_bucket,
            server_access_logs_prefix="lake/",
        )

    def _build_artifacts_bucket(self) -> s3.Bucket:
        return self._bucket(
            "Artifacts",
            encryption=s3.BucketEncryption.S3_MANAGED,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(id="glue-temp", prefix="glue/tmp/", expiration=Duration.days(7)),
                s3.LifecycleRule(id="noncurrent-versions", noncurrent_version_expiration=Duration.days(30)),
            ],
            server_access_logs_bucket=self.logs_bucket,
            server_access_logs_prefix="artifacts/",
        )

    def _build_results_bucket(self) -> s3.Bucket:
        return self._bucket(
            "AthenaResults",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self._data_key,
            bucket_key_enabled=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-results", expiration=Duration.days(self._stage.athena_results_expire_days)
                )
            ],
            server_access_logs_bucket=self.logs_bucket,
            server_access_logs_prefix="athena-results/",
        )
