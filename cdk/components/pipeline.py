"""The training pipeline: a Step Functions state machine over the Glue jobs, on a schedule.

Order (the same as the local ``c4 pipeline``)::

    [generate per mall (optional)] -> elt -> features -> train (and evaluate)
        -> read the gate (models/<version>/gate.json) -> promote | notify "rejected" -> monitor

The gate is read with the S3 ``GetObject`` SDK integration and ``States.StringToJson`` (no
Lambda).  The train job records its result (with the challenger ``version``) at
``manifests/pipeline/<execution name>/train.json``.  Transient errors are retried with backoff;
any error is caught, published to the alerts topic and ends the run in a ``Fail`` state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from cdk.components.common import log_retention, removal_policy
from cdk.components.glue_jobs import PIPELINE_MANIFESTS
from cdk.stages import StageConfig

#: Glue API errors worth retrying (the job did not run, or the API was busy).
GLUE_TRANSIENT_ERRORS = [
    "Glue.AWSGlueException",
    "Glue.ConcurrentRunsExceededException",
    "Glue.InternalServiceException",
    "Glue.OperationTimeoutException",
    "Glue.ThrottlingException",
]
S3_TRANSIENT_ERRORS = ["S3.S3Exception", "S3.SdkClientException", "S3.InternalErrorException"]
SNS_TRANSIENT_ERRORS = ["SNS.InternalErrorException", "SNS.ThrottledException", "SNS.SnsException"]

_RUN_ID = sfn.JsonPath.string_at("$$.Execution.Name")


class TrainingPipeline(Construct):
    """State machine ``c4-<stage>-training``, its log group and its retraining schedule."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: StageConfig,
        jobs: Mapping[str, glue.IJob],
        lake_bucket: s3.IBucket,
        alerts_topic: sns.ITopic,
        data_key: kms.IKey,
        ops_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self._stage = stage
        self._jobs = jobs
        self._lake = lake_bucket
        self._topic = alerts_topic
        self._failure = self._build_failure_path()
        self.log_group = self._build_log_group(ops_key)
        self.state_machine = self._build_state_machine()
        data_key.grant_decrypt(self.state_machine)
        self.schedule = self._build_schedule()

    # -- building blocks -----------------------------------------------------------------------
    def _build_log_group(self, ops_key: kms.IKey) -> logs.LogGroup:
        return logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/vendedlogs/states/{self._stage.prefix}-training",
            retention=log_retention(self._stage),
            encryption_key=ops_key,
            removal_policy=removal_policy(self._stage),
        )

    def _build_failure_path(self) -> sfn.IChainable:
        notify = tasks.SnsPublish(
            self,
            "NotifyFailure",
            topic=self._topic,
            subject=f"C4 {self._stage.name}: training pipeline failed",
            message=sfn.TaskInput.from_json_path_at(
                "States.Format('Run {} failed: {} {}', $$.Execution.Name, $.error.Error, $.error.Cause)"
            ),
            result_path=sfn.JsonPath.DISCARD,
        )
        notify.add_retry(
            errors=SNS_TRANSIENT_ERRORS, interval=Duration.seconds(5), backoff_rate=2, max_attempts=3
        )
        fail = sfn.Fail(
            self,
            "PipelineFailed",
            error="C4.PipelineFailed",
            cause_path=sfn.JsonPath.string_at("$.error.Cause"),
        )
        return notify.next(fail)

    def _guard(self, task: sfn.TaskStateBase, *, transient: Sequence[str]) -> sfn.TaskStateBase:
        task.add_retry(
            errors=list(transient),
            interval=Duration.seconds(30),
            backoff_rate=2.0,
            max_attempts=3,
            jitter_strategy=sfn.JitterType.FULL,
        )
        task.add_catch(self._failure, errors=[sfn.Errors.ALL], result_path="$.error")
        return task

    def _glue_task(
        self, step: str, *, arguments: Mapping[str, object] | None = None, state_name: str | None = None
    ) -> sfn.TaskStateBase:
        args: dict[str, object] = {"--run_id": _RUN_ID}
        args.update(arguments or {})
        task = tasks.GlueStartJobRun(
            self,
            state_name or step.capitalize(),
            glue_job_name=self._jobs[step].job_name,
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            arguments=sfn.TaskInput.from_object(args),
            result_selector={"job.$": "$.JobName", "run_id.$": "$.Id", "state.$": "$.JobRunState"},
            result_path=f"$.steps.{step}",
        )
        return self._guard(task, transient=GLUE_TRANSIENT_ERRORS)

    def _read_json(
        self, state_name: str, key: str, result_path: str, *, key_pattern: str
    ) -> sfn.TaskStateBase:
        task = tasks.CallAwsService(
            self,
            state_name,
            service="s3",
            action="getObject",
            parameters={"Bucket": self._lake.bucket_name, "Key": sfn.JsonPath.string_at(key)},
            iam_resources=[self._lake.arn_for_objects(key_pattern)],
            result_selector={"doc": sfn.JsonPath.string_to_json(sfn.JsonPath.string_at("$.Body"))},
            result_path=result_path,
        )
        return self._guard(task, transient=S3_TRANSIENT_ERRORS)

    # -- the definition ----------------------------------------------------------------------------
    def _build_configure(self) -> sfn.IChainable:
        defaults = sfn.Pass(
            self,
            "Defaults",
            parameters={
                "defaults": {"generate": False, "mall_ids": list(self._stage.generate_mall_ids)},
                "input": sfn.JsonPath.object_at("$$.Execution.Input"),
            },
        )
        merge = sfn.Pass(
            self,
            "Configure",
            parameters={
                "config": sfn.JsonPath.json_merge(
                    sfn.JsonPath.object_at("$.defaults"), sfn.JsonPath.object_at("$.input")
                )
            },
        )
        return defaults.next(merge)

    def _build_generation(self) -> sfn.Map:
        fan_out = sfn.Map(
            self,
            "GeneratePerMall",
            items_path="$.config.mall_ids",
            item_selector={"mall_id": sfn.JsonPath.string_at("$$.Map.Item.Value")},
            max_concurrency=len(self._stage.generate_mall_ids),
            result_path=sfn.JsonPath.DISCARD,
        )
        generate = tasks.GlueStartJobRun(
            self,
            "Generate",
            glue_job_name=self._jobs["generate"].job_name,
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            arguments=sfn.TaskInput.from_object({"--mall_ids": sfn.JsonPath.string_at("$.mall_id")}),
            result_path=sfn.JsonPath.DISCARD,
        )
        generate.add_retry(
            errors=GLUE_TRANSIENT_ERRORS,
            interval=Duration.seconds(30),
            backoff_rate=2.0,
            max_attempts=3,
            jitter_strategy=sfn.JitterType.FULL,
        )
        fan_out.item_processor(generate)
        fan_out.add_catch(self._failure, errors=[sfn.Errors.ALL], result_path="$.error")
        return fan_out

    def _build_gate(self, then: sfn.IChainable) -> sfn.IChainable:
        read_run = self._read_json(
            "ReadTrainResult",
            f"States.Format('{PIPELINE_MANIFESTS}{{}}/train.json', $$.Execution.Name)",
            "$.train",
            key_pattern=f"{PIPELINE_MANIFESTS}*/train.json",
        )
        read_gate = self._read_json(
            "ReadGate",
            "States.Format('models/{}/gate.json', $.train.doc.result.version)",
            "$.gate",
            key_pattern="models/*/gate.json",
        )
        promote = self._glue_task(
            "promote", arguments={"--version": sfn.JsonPath.string_at("$.gate.doc.version")}
        )
        rejected = tasks.SnsPublish(
            self,
            "NotifyRejected",
            topic=self._topic,
            subject=f"C4 {self._stage.name}: challenger not promoted",
            message=sfn.TaskInput.from_json_path_at(
                "States.Format('Run {}: challenger {} not promoted: {}', $$.Execution.Name, "
                "$.gate.doc.version, $.gate.doc.reason)"
            ),
            result_path=sfn.JsonPath.DISCARD,
        )
        self._guard(rejected, transient=SNS_TRANSIENT_ERRORS)
        decide = (
            sfn.Choice(self, "PromoteChallenger?")
            .when(
                sfn.Condition.and_(
                    sfn.Condition.is_present("$.gate.doc.promote"),
                    sfn.Condition.is_boolean("$.gate.doc.promote"),
                    sfn.Condition.boolean_equals("$.gate.doc.promote", True),
                ),
                promote.next(then),
            )
            .otherwise(rejected.next(then))
        )
        return read_run.next(read_gate).next(decide)

    def _build_definition(self) -> sfn.IChainable:
        monitor = self._glue_task("monitor")
        monitor.next(sfn.Succeed(self, "Done"))
        elt = self._glue_task("elt", state_name="ELT")
        elt.next(self._glue_task("features")).next(
            self._glue_task("train", state_name="TrainAndEvaluate")
        ).next(self._build_gate(monitor))
        generate_requested = sfn.Condition.and_(
            sfn.Condition.is_present("$.config.generate"),
            sfn.Condition.boolean_equals("$.config.generate", True),
        )
        choice = (
            sfn.Choice(self, "GenerateRequested?")
            .when(generate_requested, self._build_generation().next(elt))
            .otherwise(elt)
        )
        return sfn.Chain.start(self._build_configure()).next(choice)

    def _build_state_machine(self) -> sfn.StateMachine:
        return sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=f"{self._stage.prefix}-training",
            definition_body=sfn.DefinitionBody.from_chainable(self._build_definition()),
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True
            ),
            tracing_enabled=True,
            timeout=Duration.hours(12),
        )

    def _build_schedule(self) -> events.Rule:
        return events.Rule(
            self,
            "Schedule",
            rule_name=f"{self._stage.prefix}-retraining",
            description="Retrain the churn model (C4 training pipeline)",
            schedule=events.Schedule.expression(self._stage.schedule_cron),
            enabled=self._stage.schedule_enabled,
            targets=[
                targets.SfnStateMachine(
                    self.state_machine,
                    input=events.RuleTargetInput.from_object({"generate": self._stage.generate_on_schedule}),
                )
            ],
        )
