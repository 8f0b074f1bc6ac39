"""Build the CDK app for one stage: bundle, stack, cdk-nag checks and acknowledgements.

``app.py`` (the edge) reads context and environment and calls :func:`build_app`; the tests call
the same function, so what they check is what ``cdk synth`` produces.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from cdk.bundle import build_glue_bundle
from cdk.nag import acknowledge_findings
from cdk.stacks.c4_stack import C4Stack
from cdk.stages import stage_config

#: Feature flags the app relies on; set in code so ``python app.py``, ``cdk synth`` and the tests agree.
FEATURE_FLAGS: dict[str, object] = {
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
    "@aws-cdk/aws-s3:createDefaultLoggingPolicy": True,
    "@aws-cdk/aws-iam:minimizePolicies": True,
    "@aws-cdk/aws-sns-subscriptions:restrictSqsDescryption": True,
    "@aws-cdk/aws-kms:reduceCrossAccountRegionPolicyScope": True,
    "@aws-cdk/aws-stepfunctions-tasks:fixRunEcsTaskPolicy": True,
    "@aws-cdk/core:target-partitions": ["aws"],
}


def stack_name(stage_name: str) -> str:
    """CloudFormation stack name of a stage."""
    return f"C4-{stage_name}"


def build_app(
    *,
    stage_name: str,
    repo_root: Path,
    build_dir: Path,
    outdir: str | None = None,
    env: cdk.Environment | None = None,
    alarm_email: str | None = None,
    nag: bool = True,
    app: cdk.App | None = None,
) -> tuple[cdk.App, C4Stack]:
    """Create the app with the stack of ``stage_name``.

    Parameters
    ----------
    stage_name : str
        ``dev``, ``staging`` or ``prod``.
    repo_root : Path
        Repository root (library sources, Glue scripts, Docker build context).
    build_dir : Path
        Cache folder of the Glue bundle (scripts and wheel).
    outdir : str, optional
        Cloud assembly folder (``cdk.out`` by default).
    env : aws_cdk.Environment, optional
        Target account and region (environment-agnostic when ``None``).
    alarm_email : str, optional
        E-mail address subscribed to the alerts topic.
    nag : bool
        Run the cdk-nag AwsSolutions checks at synth (findings fail the synth).
    app : aws_cdk.App, optional
        An existing app (``app.py`` passes the one that holds the CLI context).
    """
    stage = stage_config(stage_name)
    app = app or cdk.App(outdir=outdir)
    for flag, value in FEATURE_FLAGS.items():
        if app.node.try_get_context(flag) is None:
            app.node.set_context(flag, value)
    bundle = build_glue_bundle(repo_root, build_dir)
    stack = C4Stack(
        app,
        stack_name(stage.name),
        stage=stage,
        repo_root=repo_root,
        glue_bundle=bundle,
        alarm_email=alarm_email,
        env=env,
    )
    acknowledge_findings(stack)
    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack
