"""Edge code shared by the Glue entry scripts: job arguments -> Settings -> one ``c4.jobs`` call.

Each script in ``glue_jobs/`` is three lines around :func:`run_step`.  Glue ships this module
with ``--extra-py-files``; locally it sits next to the scripts, so ``python glue_jobs/elt.py
--lake ./lake`` works too.

Arguments common to every job (Glue passes them as ``--name value``):

``--lake``                  lake root, ``s3://<lake bucket>``
``--stage``                 deployment stage
``--glue_database``         Glue Data Catalog database of the Athena tables
``--pseudonym_secret_arn``  Secrets Manager secret with the HMAC pseudonymisation key (optional)
``--run_id``                pipeline run (the Step Functions execution name, optional); when set,
                            the step's result is written to ``manifests/pipeline/<run_id>/<step>.json``
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

COMMON_OPTIONAL = ("lake", "stage", "glue_database", "pseudonym_secret_arn", "run_id", "aws_region")

logger = logging.getLogger("c4.glue")

Step = Callable[[Any, dict[str, str]], dict[str, Any]]


def resolve_args(argv: Sequence[str], names: Sequence[str]) -> dict[str, str]:
    """Read ``--name value`` options; awsglue's getResolvedOptions when available, else argparse.

    Only the names present in ``argv`` are returned (Glue's resolver has no optional arguments).
    """
    present = [n for n in names if f"--{n}" in argv]
    try:
        from awsglue.utils import getResolvedOptions
    except ImportError:
        parser = argparse.ArgumentParser(add_help=False)
        for name in present:
            parser.add_argument(f"--{name}", dest=name, required=True)
        known, _ = parser.parse_known_args(list(argv[1:]))
        return {k: v for k, v in vars(known).items() if v is not None}
    resolved: dict[str, str] = getResolvedOptions(list(argv), present)
    return {n: resolved[n] for n in present}


def _secret_value(arn: str, region: str | None) -> str:
    import boto3

    client = boto3.client("secretsmanager", region_name=region)
    return str(client.get_secret_value(SecretId=arn)["SecretString"])


def build_settings(args: dict[str, str]) -> Any:
    """Build ``c4.settings.Settings`` once from the job arguments (key from Secrets Manager)."""
    from c4.jobs import settings_from_job_args

    settings = settings_from_job_args(args)
    secret_arn = args.get("pseudonym_secret_arn")
    if secret_arn and not settings.pseudonym_key:
        settings = dataclasses.replace(settings, pseudonym_key=_secret_value(secret_arn, settings.aws_region))
    return settings


def write_result(settings: Any, *, step: str, run_id: str | None, result: dict[str, Any]) -> str | None:
    """Record a step's result where the state machine reads it (only for pipeline runs)."""
    if not run_id:
        return None
    from c4.storage import open_lake

    rel = f"manifests/pipeline/{run_id}/{step}.json"
    open_lake(settings).write_json(rel, {"step": step, "run_id": run_id, "result": result})
    return rel


def run_step(
    step: str, call: Step, *, argv: Sequence[str] | None = None, extra_args: Sequence[str] = ()
) -> dict[str, Any]:
    """Resolve arguments, build settings, call ``call(settings, args)``, record and log the result."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = resolve_args(sys.argv if argv is None else argv, (*COMMON_OPTIONAL, *extra_args))
    settings = build_settings(args)
    result = call(settings, args)
    write_result(settings, step=step, run_id=args.get("run_id"), result=result)
    logger.info("%s finished: %s", step, json.dumps(result, default=str, sort_keys=True))
    return result
