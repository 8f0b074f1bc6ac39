"""The alerts topic: pipeline notifications (gate rejections, failures) and alarm actions."""

from __future__ import annotations

from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from cdk.stages import StageConfig


class Alerts(Construct):
    """An encrypted, TLS-only SNS topic; optionally an e-mail subscription (``-c alarm_email=``)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: StageConfig,
        ops_key: kms.IKey,
        email: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = self._build_topic(stage, ops_key)
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))

    def _build_topic(self, stage: StageConfig, ops_key: kms.IKey) -> sns.Topic:
        return sns.Topic(
            self,
            "Topic",
            topic_name=f"{stage.prefix}-alerts",
            display_name=f"C4 {stage.name} alerts",
            master_key=ops_key,
            enforce_ssl=True,
        )
