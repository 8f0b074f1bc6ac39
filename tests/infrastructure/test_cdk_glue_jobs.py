"""Glue jobs: one Glue 5.0 job per c4.jobs step, the wheel and pins passed, least-privilege roles."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from c4.monitoring import NAMESPACE

from cdk.components.glue_jobs import STEP_ACCESS, STEPS

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]

STEP_FUNCTIONS = {
    "generate": "run_generate",
    "elt": "run_elt",
    "features": "run_features",
    "train": "run_train",
    "promote": "run_promote",
    "monitor": "run_monitor",
}


def _jobs(synth: Any) -> dict[str, dict[str, Any]]:
    return {
        j["Properties"]["Name"].rsplit("-", 1)[-1]: j["Properties"]
        for j in synth.resources("AWS::Glue::Job").values()
    }


def _flatten(value: Any) -> str:
    """A template value as text (``Fn::Join`` parts joined, other tokens as JSON)."""
    if isinstance(value, dict) and "Fn::Join" in value:
        return "".join(_flatten(p) for p in value["Fn::Join"][1])
    return value if isinstance(value, str) else json.dumps(value)


def test_one_spark_job_per_step_on_glue_5(dev: Any) -> None:
    jobs = _jobs(dev)
    assert sorted(jobs) == sorted(STEPS)
    for step, job in jobs.items():
        assert job["Name"] == f"c4-dev-{step}"
        assert job["GlueVersion"] == "5.0"
        assert job["Command"]["Name"] == "glueetl"
        assert job["Command"]["PythonVersion"] == "3"
        assert _flatten(job["Command"]["ScriptLocation"]).endswith(f"/glue/code/scripts/{step}.py")
        assert job["MaxRetries"] == 0  # the state machine retries
        assert job["SecurityConfiguration"] == {"Ref": dev.logical_id(dev.stack.jobs._security)}


@pytest.mark.parametrize("step", STEPS)
def test_entry_script_calls_exactly_its_c4_jobs_function(repo_root: Any, step: str) -> None:
    source = (repo_root / "glue_jobs" / f"{step}.py").read_text()
    called = {name for name in STEP_FUNCTIONS.values() if f"{name}(" in source}
    assert called == {STEP_FUNCTIONS[step]}
    assert re.search(rf'run_step\(\s*"{step}"', source)


def test_library_wheel_and_pinned_requirements_are_installed(dev: Any, repo_root: Any) -> None:
    pins = [
        line.strip()
        for line in (repo_root / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for step, job in _jobs(dev).items():
        args = job["DefaultArguments"]
        modules = _flatten(args["--additional-python-modules"]).split(",")
        assert modules[0].endswith("/glue/code/lib/c4-0.1.0-py3-none-any.whl"), step
        assert modules[1:] == pins
        assert _flatten(args["--extra-py-files"]).endswith("/glue/code/scripts/_entry.py")
        assert args["--stage"] == "dev"
        assert _flatten(args["--lake"]).startswith("s3://")
        assert _flatten(args["--TempDir"]).endswith("/glue/tmp/")
        assert ("--pseudonym_secret_arn" in args) is STEP_ACCESS[step].needs_pseudonym_key


def test_sizes_follow_the_stage(dev: Any, prod: Any) -> None:
    assert (_jobs(dev)["elt"]["WorkerType"], _jobs(dev)["elt"]["NumberOfWorkers"]) == ("G.1X", 2)
    assert (_jobs(prod)["elt"]["WorkerType"], _jobs(prod)["elt"]["NumberOfWorkers"]) == ("G.1X", 10)
    assert _jobs(prod)["train"]["WorkerType"] == "G.2X"
    assert _jobs(dev)["generate"]["ExecutionProperty"]["MaxConcurrentRuns"] == 3
    assert _jobs(prod)["generate"]["ExecutionProperty"]["MaxConcurrentRuns"] == 20


def test_security_configuration_encrypts_s3_logs_and_bookmarks(dev: Any) -> None:
    _, conf = dev.one("AWS::Glue::SecurityConfiguration")
    enc = conf["Properties"]["EncryptionConfiguration"]
    assert enc["S3Encryptions"][0]["S3EncryptionMode"] == "SSE-KMS"
    assert enc["CloudWatchEncryption"]["CloudWatchEncryptionMode"] == "SSE-KMS"
    assert enc["JobBookmarksEncryption"]["JobBookmarksEncryptionMode"] == "CSE-KMS"


def _role_statements(synth: Any, step: str) -> list[dict[str, Any]]:
    role_id = synth.logical_id(synth.stack.jobs.roles[step])
    out: list[dict[str, Any]] = []
    for policy in synth.resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            out += policy["Properties"]["PolicyDocument"]["Statement"]
    return out


def _lake_prefixes(synth: Any, step: str, action: str) -> set[str]:
    """Lake prefixes on which a step's role is allowed ``action``."""
    lake_arn = {"Fn::GetAtt": [synth.logical_id(synth.stack.lake.lake_bucket), "Arn"]}
    found = set()
    for st in _role_statements(synth, step):
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        if not any(a == action or (a.endswith("*") and action.startswith(a[:-1])) for a in actions):
            continue
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        for res in resources:
            if isinstance(res, dict) and "Fn::Join" in res and res["Fn::Join"][1][0] == lake_arn:
                found.add(res["Fn::Join"][1][1].lstrip("/"))
    return found


@pytest.mark.parametrize("step", STEPS)
def test_each_role_writes_only_its_zones(dev: Any, step: str) -> None:
    access = STEP_ACCESS[step]
    writable = {f"{p}*" for p in (*access.write, "manifests/pipeline/")}
    assert _lake_prefixes(dev, step, "s3:PutObject") == writable
    assert _lake_prefixes(dev, step, "s3:GetObject") == writable | {f"{p}*" for p in access.read}
    assert "*" not in _lake_prefixes(dev, step, "s3:GetObject")


def test_only_elt_reads_the_pseudonymisation_secret(dev: Any) -> None:
    secret_ref = {"Ref": dev.logical_id(dev.stack.keys.pseudonym_secret)}
    for step in STEPS:
        reads = any(
            "secretsmanager:GetSecretValue"
            in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])
            and st["Resource"] == secret_ref
            for st in _role_statements(dev, step)
        )
        assert reads is (step == "elt"), step


def test_only_monitor_publishes_metrics_and_only_to_the_c4_namespace(dev: Any) -> None:
    for step in STEPS:
        metric = [st for st in _role_statements(dev, step) if st["Action"] == "cloudwatch:PutMetricData"]
        if step == "monitor":
            assert metric and metric[0]["Condition"] == {"StringEquals": {"cloudwatch:namespace": NAMESPACE}}
        else:
            assert not metric, step


def test_bundle_upload_puts_scripts_and_wheel_under_glue_code(dev: Any) -> None:
    _, deployment = dev.one("Custom::CDKBucketDeployment")
    assert deployment["Properties"]["DestinationBucketKeyPrefix"] == "glue/code/"
    assert deployment["Properties"]["Prune"] is True
    for job_id in dev.resources("AWS::Glue::Job"):
        depends = dev.template["Resources"][job_id].get("DependsOn", [])
        assert any(d.startswith("GlueJobsBundleUpload") for d in depends)
