#!/usr/bin/env python3
"""CDK entry point: ``cdk synth -c stage=dev`` (or ``make synth``; no Node install needed).

The edge of the deployment: reads the CDK context (``stage``, ``alarm_email``) and the target
account/region from the environment, then builds the app with :func:`cdk.application.build_app`.
"""

from __future__ import annotations

import os
from pathlib import Path

from cdk.jsii_node import use_bundled_node

use_bundled_node()

import aws_cdk as cdk  # noqa: E402  (jsii must know which node to start first)

from cdk.application import build_app  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent


def main() -> None:
    """Synthesize the stack of the stage chosen with ``-c stage=<dev|staging|prod>``."""
    app = cdk.App(outdir=os.environ.get("CDK_OUTDIR", str(REPO_ROOT / "cdk.out")))
    stage_name = app.node.try_get_context("stage") or "dev"
    account = os.environ.get("CDK_DEFAULT_ACCOUNT")
    region = os.environ.get("CDK_DEFAULT_REGION")
    env = cdk.Environment(account=account, region=region) if account and region else None
    build_app(
        stage_name=stage_name,
        repo_root=REPO_ROOT,
        build_dir=REPO_ROOT / "build" / "cdk",
        env=env,
        alarm_email=app.node.try_get_context("alarm_email"),
        app=app,
    )
    app.synth()


if __name__ == "__main__":
    main()
