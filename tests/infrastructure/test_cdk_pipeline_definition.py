"""Training state machine: wiring, retries, catches, logging, tracing, least privilege, schedule."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cdk_test_helpers import definition_of, statements_of_role

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]


def test_logging_all_with_execution_data_and_xray(dev: Any) -> None:
    _, machine = dev.one("AWS::StepFunctions::StateMachine")
    props = machine["Properties"]
    assert props["StateMachineName"] == "c4-dev-training"
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    assert props["LoggingConfiguration"]["IncludeExecutionData"] is True
    assert props["TracingConfiguration"] == {"Enabled": True}
    log_group = dev.template["Resources"][dev.logical_id(dev.stack.pipeline.log_group)]["Properties"]
    assert log_group["KmsKeyId"] == {"Fn::GetAtt": [dev.logical_id(dev.stack.keys.ops_key), "Arn"]}
    assert log_group["RetentionInDays"] == 14


def test_every_task_retries_transient_errors_with_backoff_and_is_caught(dev: Any) -> None:
    states = definition_of(dev)["States"]
    tasks = {n: s for n, s in states.items() if s["Type"] == "Task" and n != "NotifyFailure"}
    assert set(tasks) == {
        "ELT",
        "Features",
        "TrainAndEvaluate",
        "ReadTrainResult",
        "ReadGate",
        "Promote",
        "NotifyRejected",
        "Monitor",
    }
    for name, task in tasks.items():
        retry = task["Retry"][0]
        assert retry["BackoffRate"] >= 2 and retry["MaxAttempts"] == 3, name
        assert "States.ALL" not in retry["ErrorEquals"], name  # job failures are not retried blindly
        assert task["Catch"] == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "NotifyFailure"}
        ]
    assert states["GeneratePerMall"]["Catch"][0]["Next"] == "NotifyFailure"
    assert states["NotifyFailure"]["Next"] == "PipelineFailed"
    assert states["PipelineFailed"] == {
        "Type": "Fail",
        "Error": "C4.PipelineFailed",
        "CausePath": "$.error.Cause",
    }


def test_glue_steps_wait_for_the_job_and_pass_the_run_id(dev: Any) -> None:
    states = definition_of(dev)["States"]
    for name in ("ELT", "Features", "TrainAndEvaluate", "Promote", "Monitor"):
        assert states[name]["Resource"].endswith(":states:::glue:startJobRun.sync"), name
        assert states[name]["Parameters"]["Arguments"]["--run_id.$"] == "$$.Execution.Name"
    assert states["Promote"]["Parameters"]["Arguments"]["--version.$"] == "$.gate.doc.version"


def test_gate_reads_gate_json_with_the_s3_sdk_integration_and_no_lambda(dev: Any) -> None:
    states = definition_of(dev)["States"]
    assert dev.resources("AWS::Lambda::Function").keys().isdisjoint({"Gate"})
    for name, key in (
        ("ReadTrainResult", "States.Format('manifests/pipeline/{}/train.json', $$.Execution.Name)"),
        ("ReadGate", "States.Format('models/{}/gate.json', $.train.doc.result.version)"),
    ):
        assert states[name]["Resource"].endswith(":states:::aws-sdk:s3:getObject")
        assert states[name]["Parameters"]["Key.$"] == key
        assert states[name]["ResultSelector"] == {"doc.$": "States.StringToJson($.Body)"}
    choice = states["PromoteChallenger?"]
    assert choice["Choices"][0]["Next"] == "Promote" and choice["Default"] == "NotifyRejected"


def test_state_machine_role_reads_only_the_gate_objects(dev: Any) -> None:
    lake = dev.logical_id(dev.stack.lake.lake_bucket)
    s3_statements = [
        st
        for st in statements_of_role(dev, dev.stack.pipeline.state_machine.role)
        if "s3:" in json.dumps(st["Action"])
    ]
    assert len(s3_statements) == 1
    assert s3_statements[0]["Action"] == "s3:getObject"
    assert s3_statements[0]["Resource"] == [
        {"Fn::Join": ["", [{"Fn::GetAtt": [lake, "Arn"]}, "/manifests/pipeline/*/train.json"]]},
        {"Fn::Join": ["", [{"Fn::GetAtt": [lake, "Arn"]}, "/models/*/gate.json"]]},
    ]
    glue_actions = {
        a
        for st in statements_of_role(dev, dev.stack.pipeline.state_machine.role)
        for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])
        if a.startswith("glue:")
    }
    assert glue_actions == {"glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"}


def test_retraining_schedule_per_stage(dev: Any, prod: Any) -> None:
    for synth, cron, state, generate in (
        (dev, "cron(0 6 ? * MON *)", "DISABLED", True),
        (prod, "cron(0 5 ? * SUN *)", "ENABLED", False),
    ):
        _, rule = synth.one("AWS::Events::Rule")
        props = rule["Properties"]
        assert props["ScheduleExpression"] == cron
        assert props["State"] == state
        target = props["Targets"][0]
        assert target["Arn"] == {"Ref": synth.logical_id(synth.stack.pipeline.state_machine)}
        assert json.loads(target["Input"]) == {"generate": generate}
