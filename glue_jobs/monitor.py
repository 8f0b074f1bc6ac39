"""Glue job: feature drift and realised performance of past predictions -> CloudWatch metrics."""

from typing import Any

from _entry import run_step
from c4.jobs import run_monitor
from c4.settings import Settings


def _monitor(settings: Settings, args: dict[str, str]) -> dict[str, Any]:
    import boto3

    return run_monitor(settings, cloudwatch=boto3.client("cloudwatch", region_name=settings.aws_region))


if __name__ == "__main__":
    run_step("monitor", _monitor)
