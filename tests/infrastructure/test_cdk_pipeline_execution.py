"""The synthesized training state machine, executed by moto's Step Functions interpreter.

The definition is taken from the synthesized template; its ``Fn::Join``/``Ref`` tokens are
resolved to resources created in moto (Glue jobs, the alerts topic, the lake bucket).  moto 5.2.5
fails every Glue ``startJobRun.sync`` task unless Glue is marked as supporting the callback pattern
(NOTES.md), which the ``glue_sync_workaround`` fixture does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

moto = pytest.importorskip("moto")
from moto import mock_aws  # noqa: E402
from moto.moto_api import state_manager  # noqa: E402

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]

REGION = "us-east-1"
ACCOUNT = "123456789012"
LAKE_BUCKET = "c4-test-lake"
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}


# -- token resolution ------------------------------------------------------------------------------
def resolve(node: Any, refs: dict[str, str]) -> Any:
    """Resolve the CloudFormation intrinsics CDK puts in a definition (Join, Ref, GetAtt)."""
    if isinstance(node, list):
        return [resolve(n, refs) for n in node]
    if not isinstance(node, dict):
        return node
    if "Fn::Join" in node:
        sep, parts = node["Fn::Join"]
        return sep.join(str(resolve(p, refs)) for p in parts)
    if "Ref" in node:
        return refs[node["Ref"]]
    if "Fn::GetAtt" in node:
        return refs[".".join(node["Fn::GetAtt"])]
    return {k: resolve(v, refs) for k, v in node.items()}


# -- moto fixtures ------------------------------------------------------------------------------
@pytest.fixture
def glue_sync_workaround(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto 5.2.5: let Glue .sync tasks pass the callback-endpoint clean-up (see NOTES.md)."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_glue as glue_task,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
        ResourceCondition,
    )

    monkeypatch.setattr(
        glue_task,
        "_SUPPORTED_INTEGRATION_PATTERNS",
        {ResourceCondition.Sync, ResourceCondition.WaitForTaskToken},
    )


@pytest.fixture
def sdk_body_as_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto returns S3 GetObject's ``Body`` as a stream; Step Functions returns it as text."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_aws_sdk as aws_sdk_task,
    )

    StateTaskServiceAwsSdk = aws_sdk_task.StateTaskServiceAwsSdk

    original = StateTaskServiceAwsSdk._eval_service_task

    def eval_service_task(self: Any, env: Any, *args: Any, **kwargs: Any) -> None:
        original(self, env, *args, **kwargs)
        response = env.stack[-1]
        if isinstance(response, dict) and hasattr(response.get("Body"), "read"):
            response["Body"] = response["Body"].read().decode("utf-8")

    monkeypatch.setattr(StateTaskServiceAwsSdk, "_eval_service_task", eval_service_task)


@pytest.fixture
def failing_jobs(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Names of Glue jobs whose runs end FAILED (the test adds to this set)."""
    from moto.glue.models import FakeJob

    names: set[str] = set()
    original = FakeJob.start_job_run

    def start_job_run(self: Any, *args: Any, **kwargs: Any) -> str:
        run_id = original(self, *args, **kwargs)
        if self.name in names:
            run = next(r for r in self.job_runs if r.job_run_id == run_id)
            run._transitions = [("STARTING", "FAILED")]
        return run_id

    monkeypatch.setattr(FakeJob, "start_job_run", start_job_run)
    return names


class Pipeline:
    """The state machine deployed in moto, with the helpers a test needs."""

    def __init__(self, definition: str, job_names: dict[str, str], topic_arn: str, queue_url: str) -> None:
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self.s3 = boto3.client("s3", region_name=REGION)
        self.glue = boto3.client("glue", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.job_names = job_names
        self.topic_arn = topic_arn
        self.queue_url = queue_url
        self.arn = self.sfn.create_state_machine(
            name="c4-test-training",
            definition=definition,
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/c4-test-sfn",
        )["stateMachineArn"]

    def put_json(self, key: str, doc: dict[str, Any]) -> None:
        self.s3.put_object(Bucket=LAKE_BUCKET, Key=key, Body=json.dumps(doc).encode())

    def run(
        self, name: str, run_input: dict[str, Any] | None = None, timeout_s: float = 60
    ) -> dict[str, Any]:
        arn = self.sfn.start_execution(
            stateMachineArn=self.arn, name=name, input=json.dumps(run_input or {})
        )["executionArn"]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            desc = self.sfn.describe_execution(executionArn=arn)
            if desc["status"] != "RUNNING":
                return desc
            time.sleep(0.2)
        raise AssertionError(f"execution {name} still running after {timeout_s}s")

    def entered_states(self, execution_arn: str) -> list[str]:
        events = self.sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
        return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]

    def runs_of(self, step: str) -> list[dict[str, Any]]:
        return self.glue.get_job_runs(JobName=self.job_names[step])["JobRuns"]

    def notifications(self) -> list[dict[str, str]]:
        out = []
        for _ in range(5):
            msgs = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not msgs:
                break
            out += [json.loads(m["Body"]) for m in msgs]
        return out


@pytest.fixture
def pipeline(
    dev: Any, glue_sync_workaround: None, sdk_body_as_text: None, failing_jobs: set[str]
) -> Iterator[Pipeline]:
    state_manager.set_transition(model_name="glue::job_run", transition={"progression": "immediate"})
    with mock_aws(config=MOTO_CONFIG):  # type: ignore[call-overload]
        refs: dict[str, str] = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}
        glue = boto3.client("glue", region_name=REGION)
        job_names: dict[str, str] = {}
        for logical_id, job in dev.resources("AWS::Glue::Job").items():
            name = job["Properties"]["Name"]
            glue.create_job(
                Name=name,
                Role="c4-test-glue",
                Command={"Name": "glueetl", "ScriptLocation": "s3://artifacts/x.py"},
                ExecutionProperty={"MaxConcurrentRuns": 10},
            )
            refs[logical_id] = name
            job_names[name.rsplit("-", 1)[-1]] = name
        sns = boto3.client("sns", region_name=REGION)
        topic_id, topic = dev.one("AWS::SNS::Topic")
        topic_arn = sns.create_topic(Name=topic["Properties"]["TopicName"])["TopicArn"]
        refs[topic_id] = topic_arn
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=LAKE_BUCKET)
        refs[dev.logical_id(dev.stack.lake.lake_bucket)] = LAKE_BUCKET
        _, machine = dev.one("AWS::StepFunctions::StateMachine")
        definition = resolve(machine["Properties"]["DefinitionString"], refs)
        yield Pipeline(definition, job_names, topic_arn, queue_url)
    state_manager.unset_transition(model_name="glue::job_run")


def _record_training(p: Pipeline, run_name: str, version: str, gate: dict[str, Any]) -> None:
    """What the train job leaves in the lake: its run result and the challenger's gate."""
    p.put_json(f"manifests/pipeline/{run_name}/train.json", {"step": "train", "result": {"version": version}})
    p.put_json(f"models/{version}/gate.json", {"version": version, **gate})


# -- the scenarios -------------------------------------------------------------------------------
def test_happy_path_runs_every_step_in_order_and_promotes_the_challenger(pipeline: Pipeline) -> None:
    # Given a training run whose gate says "promote"
    _record_training(pipeline, "run-ok", "v20261130", {"promote": True, "reason": "beats champion"})
    # When the pipeline runs without generation
    result = pipeline.run("run-ok")
    # Then it succeeds, in the library's order, and promotes exactly that version
    assert result["status"] == "SUCCEEDED", result
    states = pipeline.entered_states(result["executionArn"])
    order = ["ELT", "Features", "TrainAndEvaluate", "ReadTrainResult", "ReadGate", "Promote", "Monitor"]
    assert [s for s in states if s in order] == order
    assert "GeneratePerMall" not in states and "NotifyRejected" not in states
    promote_runs = pipeline.runs_of("promote")
    assert len(promote_runs) == 1
    assert promote_runs[0]["Arguments"]["--version"] == "v20261130"
    assert promote_runs[0]["Arguments"]["--run_id"] == "run-ok"
    assert pipeline.notifications() == []
    output = json.loads(result["output"])
    assert output["gate"]["doc"]["version"] == "v20261130"
    assert {"elt", "features", "train", "promote", "monitor"} <= set(output["steps"])


def test_generation_fans_out_one_glue_run_per_mall(pipeline: Pipeline) -> None:
    # Given a run that asks for synthetic generation of two malls
    _record_training(pipeline, "run-gen", "v1", {"promote": True, "reason": "ok"})
    # When it runs
    result = pipeline.run("run-gen", {"generate": True, "mall_ids": ["CL01", "PE02"]})
    # Then the generator ran once per mall before the ELT
    assert result["status"] == "SUCCEEDED", result
    mall_args = sorted(r["Arguments"]["--mall_ids"] for r in pipeline.runs_of("generate"))
    assert mall_args == ["CL01", "PE02"]
    states = pipeline.entered_states(result["executionArn"])
    assert states.index("GeneratePerMall") < states.index("ELT")


def test_generation_defaults_to_the_stage_malls(pipeline: Pipeline, dev: Any) -> None:
    _record_training(pipeline, "run-default", "v2", {"promote": True, "reason": "ok"})
    result = pipeline.run("run-default", {"generate": True})
    assert result["status"] == "SUCCEEDED", result
    mall_args = sorted(r["Arguments"]["--mall_ids"] for r in pipeline.runs_of("generate"))
    assert mall_args == sorted(dev.stack.stage_config.generate_mall_ids)


def test_gate_rejection_notifies_and_does_not_promote(pipeline: Pipeline) -> None:
    # Given a challenger the gate rejects
    _record_training(pipeline, "run-reject", "v3", {"promote": False, "reason": "AUC below champion"})
    # When the pipeline runs
    result = pipeline.run("run-reject")
    # Then the run still succeeds (monitoring runs), nothing is promoted and the reason is sent
    assert result["status"] == "SUCCEEDED", result
    states = pipeline.entered_states(result["executionArn"])
    assert "NotifyRejected" in states and "Promote" not in states and "Monitor" in states
    assert pipeline.runs_of("promote") == []
    messages = pipeline.notifications()
    assert len(messages) == 1
    assert "v3 not promoted: AUC below champion" in messages[0]["Message"]
    assert messages[0]["Subject"] == "C4 dev: challenger not promoted"


def test_a_failing_job_is_caught_notified_and_fails_the_run(
    pipeline: Pipeline, failing_jobs: set[str]
) -> None:
    # Given the features job fails
    failing_jobs.add(pipeline.job_names["features"])
    # When the pipeline runs
    result = pipeline.run("run-fail")
    # Then the run fails clearly after a notification, and no later step ran
    assert result["status"] == "FAILED", result
    assert result.get("error") == "C4.PipelineFailed"
    states = pipeline.entered_states(result["executionArn"])
    assert states[-2:] == ["NotifyFailure", "PipelineFailed"]
    assert "TrainAndEvaluate" not in states
    assert pipeline.runs_of("train") == []
    messages = pipeline.notifications()
    assert len(messages) == 1
    assert messages[0]["Subject"] == "C4 dev: training pipeline failed"
    assert "Run run-fail failed: States.TaskFailed" in messages[0]["Message"]
    assert pipeline.job_names["features"] in messages[0]["Message"]


def test_a_missing_gate_file_fails_the_run_with_a_notification(pipeline: Pipeline) -> None:
    # Given the train job recorded a version but wrote no gate.json
    pipeline.put_json("manifests/pipeline/run-nogate/train.json", {"result": {"version": "v9"}})
    # When the pipeline runs
    result = pipeline.run("run-nogate")
    # Then reading the gate fails, is caught and notified
    assert result["status"] == "FAILED", result
    states = pipeline.entered_states(result["executionArn"])
    assert "ReadGate" in states and "Promote" not in states
    assert states[-2:] == ["NotifyFailure", "PipelineFailed"]
    assert len(pipeline.notifications()) == 1
