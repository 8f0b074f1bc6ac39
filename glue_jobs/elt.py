"""Glue job: raw -> curated ELT (incremental) on the job's Spark session."""

from typing import Any

from _entry import run_step
from c4.jobs import run_elt
from c4.settings import Settings


def _elt(settings: Settings, args: dict[str, str]) -> dict[str, Any]:
    from pyspark.sql import SparkSession

    return run_elt(settings, spark=SparkSession.builder.getOrCreate())


if __name__ == "__main__":
    run_step("elt", _elt)
