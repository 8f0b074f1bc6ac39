"""Keys and secrets: the data key, the operations key and the pseudonymisation secret."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from cdk.components.common import removal_policy
from cdk.stages import StageConfig


class Keys(Construct):
    """Customer-managed KMS keys and the HMAC pseudonymisation key.

    ``data_key`` encrypts the lake, the Athena results and the secret; ``ops_key`` encrypts log
    groups (CloudWatch Logs must be allowed in its key policy) and the alerts topic (CloudWatch
    alarms publish to it).  The pseudonymisation key is a generated secret that is never rotated:
    a new key would give every guest a new pseudonym and break their history.
    """

    def __init__(self, scope: Construct, construct_id: str, *, stage: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self._stage = stage
        self._removal = removal_policy(stage)
        self.data_key = self._build_data_key()
        self.ops_key = self._build_ops_key()
        self.pseudonym_secret = self._build_pseudonym_secret()

    def _build_data_key(self) -> kms.Key:
        return kms.Key(
            self,
            "DataKey",
            alias=f"alias/{self._stage.prefix}-data",
            description="C4 lake, Athena results and secrets",
            enable_key_rotation=True,
            removal_policy=self._removal,
            pending_window=Duration.days(7 if not self._stage.retain_data else 30),
        )

    def _build_ops_key(self) -> kms.Key:
        key = kms.Key(
            self,
            "OpsKey",
            alias=f"alias/{self._stage.prefix}-ops",
            description="C4 log groups and alert topic",
            enable_key_rotation=True,
            removal_policy=self._removal,
            pending_window=Duration.days(7 if not self._stage.retain_data else 30),
        )
        stack = Stack.of(self)
        logs_arns = f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:*"
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogs",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],
                conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": logs_arns}},
            )
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsToSns",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        return key

    def _build_pseudonym_secret(self) -> secretsmanager.Secret:
        return secretsmanager.Secret(
            self,
            "PseudonymKey",
            secret_name=f"{self._stage.prefix}/pseudonym-key",
            description="HMAC-SHA256 key that pseudonymises guest identifiers (C4_PSEUDONYM_KEY)",
            encryption_key=self.data_key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True, include_space=False
            ),
            removal_policy=self._removal,
        )
