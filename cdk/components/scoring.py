"""Scoring: uploads to ``raw/uploads/`` -> SQS -> a container-image Lambda -> predictions.

The Lambda runs ``lambdas/score/handler.py`` (``handler(event, context)``) from an image built at
``cdk deploy`` (``lambdas/score/Dockerfile``; no Docker needed to synth).  It reads the
pseudonymisation key from Secrets Manager at cold start, records idempotency in DynamoDB
(Powertools) and reports partial batch failures, so one bad file never blocks the others; after
``queue_max_receive_count`` attempts a message moves to the dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk.components.common import log_retention, removal_policy
from cdk.stages import StageConfig

#: Dockerfile of the scoring image, relative to the repository root (the build context).
DOCKERFILE = "lambdas/score/Dockerfile"
#: Paths of the repository never sent to the Docker build.
DOCKER_EXCLUDE = [
    ".venv",
    ".venv-*",
    "lake",
    "cdk.out",
    "build",
    "dist",
    ".git",
    "**/__pycache__",
    "**/*.pyc",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "notebooks",
    "tests",
    "bench",
    "docs",
    "*.egg-info",
]
#: Lake prefixes the scoring function reads, and reads and writes.
SCORING_READ = (
    "raw/uploads/",
    "curated/",
    "features/population/",
    "features/state/",
    "models/",
    "manifests/elt/",
)
SCORING_WRITE = ("curated/sessions/", "quarantine/", "manifests/elt/", "predictions/")
#: Where the function may delete (a replayed file replaces its stale prediction files).
SCORING_DELETE = ("predictions/",)
#: Glue actions to register new prediction partitions (``c4.scoring.catalog.register_partitions``).
PARTITION_ACTIONS = [
    "glue:GetDatabase",
    "glue:GetTable",
    "glue:GetPartition",
    "glue:GetPartitions",
    "glue:BatchGetPartition",
    "glue:CreatePartition",
    "glue:BatchCreatePartition",
]


class Scoring(Construct):
    """Queue and DLQ, bucket notification, idempotency table, the function, and its alarms."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: StageConfig,
        repo_root: Path,
        lake_bucket: s3.Bucket,
        uploads_prefix: str,
        data_key: kms.IKey,
        ops_key: kms.IKey,
        pseudonym_secret: secretsmanager.ISecret,
        alerts_topic: sns.ITopic,
        environment: Mapping[str, str],
        glue_database: str,
        predictions_table: str,
        secret_env_var: str,
        idempotency_env_var: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self._stage = stage
        self._lake = lake_bucket
        self._data_key = data_key
        self._ops_key = ops_key
        self.dead_letter_queue, self.queue = self._build_queues()
        self._build_notification(uploads_prefix)
        self.idempotency_table = self._build_idempotency_table()
        env = {
            **environment,
            secret_env_var: pseudonym_secret.secret_arn,
            idempotency_env_var: self.idempotency_table.table_name,
        }
        self.function = self._build_function(repo_root, env)
        self._grant(pseudonym_secret)
        self._grant_partition_registration(glue_database, predictions_table)
        self.alarms = self._build_alarms(alerts_topic)

    def _build_queues(self) -> tuple[sqs.Queue, sqs.Queue]:
        dlq = sqs.Queue(
            self,
            "DeadLetterQueue",
            queue_name=f"{self._stage.prefix}-scoring-dlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        queue = sqs.Queue(
            self,
            "Queue",
            queue_name=f"{self._stage.prefix}-scoring",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            # AWS guidance: at least six times the function timeout plus the batching window.
            visibility_timeout=Duration.seconds(
                6 * self._stage.scoring_timeout_s + self._stage.scoring_max_batching_window_s
            ),
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=dlq, max_receive_count=self._stage.queue_max_receive_count
            ),
        )
        return dlq, queue

    def _build_notification(self, uploads_prefix: str) -> None:
        self._lake.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.SqsDestination(self.queue),
            s3.NotificationKeyFilter(prefix=uploads_prefix),
        )

    def _build_idempotency_table(self) -> dynamodb.Table:
        return dynamodb.Table(
            self,
            "Idempotency",
            table_name=f"{self._stage.prefix}-scoring-idempotency",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            time_to_live_attribute="expiration",
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self._data_key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=removal_policy(self._stage),
        )

    def _build_function(self, repo_root: Path, environment: Mapping[str, str]) -> lambda_.DockerImageFunction:
        log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/lambda/{self._stage.prefix}-score",
            retention=log_retention(self._stage),
            encryption_key=self._ops_key,
            removal_policy=removal_policy(self._stage),
        )
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="C4 scoring Lambda: uploads in, predictions out",
        )
        log_group.grant_write(role)
        function = lambda_.DockerImageFunction(
            self,
            "Function",
            function_name=f"{self._stage.prefix}-score",
            description="Score uploaded WiFi session files (c4.scoring)",
            code=lambda_.DockerImageCode.from_image_asset(
                directory=str(repo_root),
                file=DOCKERFILE,
                exclude=DOCKER_EXCLUDE,
            ),
            architecture=lambda_.Architecture.X86_64,
            memory_size=self._stage.scoring_memory_mb,
            timeout=Duration.seconds(self._stage.scoring_timeout_s),
            reserved_concurrent_executions=self._stage.scoring_reserved_concurrency,
            environment=dict(environment),
            environment_encryption=self._data_key,
            tracing=lambda_.Tracing.ACTIVE,
            role=role,
            log_group=log_group,
        )
        function.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=self._stage.scoring_batch_size,
                max_batching_window=Duration.seconds(self._stage.scoring_max_batching_window_s),
                report_batch_item_failures=True,
            )
        )
        return function

    def _grant(self, pseudonym_secret: secretsmanager.ISecret) -> None:
        for prefix in SCORING_READ:
            self._lake.grant_read(self.function, f"{prefix}*")
        for prefix in SCORING_WRITE:
            self._lake.grant_put(self.function, f"{prefix}*")
        for prefix in SCORING_DELETE:
            self._lake.grant_delete(self.function, f"{prefix}*")
        pseudonym_secret.grant_read(self.function)
        self.idempotency_table.grant_read_write_data(self.function)

    def _grant_partition_registration(self, database: str, table: str) -> None:
        stack = Stack.of(self)
        prefix = f"arn:{stack.partition}:glue:{stack.region}:{stack.account}"
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=PARTITION_ACTIONS,
                resources=[
                    f"{prefix}:catalog",
                    f"{prefix}:database/{database}",
                    f"{prefix}:table/{database}/{table}",
                ],
            )
        )

    def _build_alarms(self, topic: sns.ITopic) -> Sequence[cloudwatch.Alarm]:
        period = Duration.minutes(5)
        alarms = [
            cloudwatch.Alarm(
                self,
                "DlqDepth",
                alarm_name=f"{self._stage.prefix}-scoring-dlq-not-empty",
                alarm_description="Scoring messages failed repeatedly and are waiting in the DLQ",
                metric=self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                    period=period, statistic="Maximum"
                ),
                threshold=0,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            cloudwatch.Alarm(
                self,
                "Errors",
                alarm_name=f"{self._stage.prefix}-scoring-errors",
                alarm_description="The scoring Lambda raised errors",
                metric=self.function.metric_errors(period=period, statistic="Sum"),
                threshold=0,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            cloudwatch.Alarm(
                self,
                "OldestMessage",
                alarm_name=f"{self._stage.prefix}-scoring-backlog",
                alarm_description="Uploads wait too long to be scored",
                metric=self.queue.metric_approximate_age_of_oldest_message(
                    period=period, statistic="Maximum"
                ),
                threshold=self._stage.oldest_message_alarm_s,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=2,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
        ]
        for alarm in alarms:
            alarm.add_alarm_action(cw_actions.SnsAction(topic))
        return alarms
