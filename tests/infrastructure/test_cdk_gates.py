"""Gates on the synthesized app: cdk-nag AwsSolutions (no unacknowledged finding) and cfn-lint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]


def _report(synth: Any) -> dict[str, Any]:
    report = json.loads((synth.outdir / "validation-report.json").read_text())
    (plugin,) = [p for p in report["pluginReports"] if p["pluginName"] == "AwsSolutions"]
    return plugin


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_cdk_nag_has_no_unacknowledged_findings(stage: str, request: pytest.FixtureRequest) -> None:
    synth = request.getfixturevalue(stage)
    plugin = _report(synth)
    assert plugin["conclusion"] == "success"
    assert plugin["violations"] == []


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_acknowledgement_is_specific_and_explained(stage: str, request: pytest.FixtureRequest) -> None:
    synth = request.getfixturevalue(stage)
    suppressed = _report(synth)["suppressedViolations"]
    assert suppressed, "expected the reviewed acknowledgements to be applied"
    for finding in suppressed:
        rule = finding["acknowledgedId"]
        assert len(finding["reason"]) >= 60, rule
        if "IAM5" in rule or "IAM4" in rule:
            assert "[" in rule, f"blanket {rule} acknowledgement: name the resource or action"
    rules = {f["acknowledgedId"].split("[")[0] for f in suppressed}
    assert rules <= {
        "AwsSolutions::AwsSolutions-IAM4",
        "AwsSolutions::AwsSolutions-IAM5",
        "AwsSolutions::AwsSolutions-L1",
        "AwsSolutions::AwsSolutions-SMG4",
    }


def test_the_nag_gate_fails_on_a_new_finding(tmp_path: Path) -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_sqs as sqs
    from cdk_nag import AwsSolutionsChecks

    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Probe")
    sqs.Queue(stack, "UnencryptedNoDlq")  # SQS3/SQS4: no DLQ, no TLS enforcement
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_cfn_lint_reports_no_errors_or_warnings(stage: str, request: pytest.FixtureRequest) -> None:
    from cfnlint.api import ManualArgs, lint_file

    synth = request.getfixturevalue(stage)
    # W3005 (redundant DependsOn) is what CDK emits by design; everything else must be clean.
    matches = lint_file(
        synth.template_path, config=ManualArgs(ignore_checks=["W3005"], regions=["us-east-1"])
    )
    problems = [f"{m.rule.id} {m.message} ({m.path})" for m in matches if m.rule.id[0] in "EW"]
    assert problems == []
