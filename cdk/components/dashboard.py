"""One CloudWatch dashboard for the training pipeline, the monitoring metrics and scoring."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk.components.glue_jobs import MONITORING_NAMESPACE
from cdk.stages import StageConfig


class Dashboard(Construct):
    """Dashboard ``c4-<stage>``: pipeline runs, model monitoring, scoring throughput and health."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: StageConfig,
        state_machine: sfn.IStateMachine,
        function: lambda_.IFunction,
        queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=stage.prefix)
        self.dashboard.add_widgets(*self._build_pipeline_widgets(state_machine))
        self.dashboard.add_widgets(self._build_monitoring_widget(stage))
        self.dashboard.add_widgets(*self._build_scoring_widgets(function, queue, dead_letter_queue))

    def _build_pipeline_widgets(self, sm: sfn.IStateMachine) -> list[cloudwatch.IWidget]:
        day = Duration.days(1)
        return [
            cloudwatch.GraphWidget(
                title="Training pipeline runs",
                left=[
                    sm.metric_succeeded(period=day),
                    sm.metric_failed(period=day),
                    sm.metric_timed_out(period=day),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Training pipeline duration (ms)",
                left=[sm.metric_time(period=day, statistic="Maximum")],
                width=12,
            ),
        ]

    def _build_monitoring_widget(self, stage: StageConfig) -> cloudwatch.IWidget:
        # Whatever c4.monitoring publishes (PSI per feature, realised ROC-AUC, Brier, churn rate).
        search = f"SEARCH('{{{MONITORING_NAMESPACE},Stage}} Stage=\"{stage.name}\"', 'Average', 86400)"
        return cloudwatch.GraphWidget(
            title="Model monitoring (drift, realised performance)",
            left=[cloudwatch.MathExpression(expression=search, label="", period=Duration.days(1))],
            width=24,
        )

    def _build_scoring_widgets(
        self, fn: lambda_.IFunction, queue: sqs.IQueue, dlq: sqs.IQueue
    ) -> list[cloudwatch.IWidget]:
        five = Duration.minutes(5)
        return [
            cloudwatch.GraphWidget(
                title="Scoring Lambda",
                left=[
                    fn.metric_invocations(period=five),
                    fn.metric_errors(period=five),
                    fn.metric_throttles(period=five),
                ],
                right=[fn.metric_duration(period=five, statistic="p95")],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Scoring queue",
                left=[
                    queue.metric_approximate_number_of_messages_visible(period=five),
                    dlq.metric_approximate_number_of_messages_visible(period=five),
                ],
                right=[queue.metric_approximate_age_of_oldest_message(period=five, statistic="Maximum")],
                width=12,
            ),
        ]
