"""Scoring Lambda: an upload in ``raw/uploads/`` -> S3 notification -> SQS -> score it end to end.

Each SQS record holds one S3 event notification (the ``s3:TestEvent`` is skipped); each object
it names is scored by :func:`c4.scoring.score_object`.  A failing record is a batch item failure
(retried, then dead-lettered by SQS), even when every record of the batch fails; the other
records of the batch succeed.
"""

from __future__ import annotations

import gc
import os
from typing import Any

# skops first.  Importing it lists the safe types of scikit-learn, SciPy and NumPy, scanning
# every module loaded so far for each ufunc (pickle's whichmodule): before Powertools, boto3,
# pandas and DuckDB are loaded, that takes 0.40 s instead of 0.56 s of the cold start.
import skops.io  # noqa: F401

# isort: split
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from c4.scoring import Scorer, s3_objects
from c4.settings import Settings

SECRET_ENV = "C4_PSEUDONYM_SECRET_ARN"  # Secrets Manager secret holding the HMAC key
IDEMPOTENCY_ENV = "C4_IDEMPOTENCY_TABLE"  # DynamoDB table for Powertools idempotency

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace=os.getenv("POWERTOOLS_METRICS_NAMESPACE", "C4"))
# Item failures are reported even when every record of a batch fails (no function error).
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def _pseudonym_key() -> str | None:
    """The HMAC key from Secrets Manager when a secret is configured (else the environment's)."""
    arn = os.getenv(SECRET_ENV)
    if not arn:
        return None
    from aws_lambda_powertools.utilities import parameters  # boto3 + AppConfig: only when used

    secret = parameters.get_secret(arn)
    return secret.decode() if isinstance(secret, bytes) else str(secret)


SETTINGS = Settings.from_env(pseudonym_key=_pseudonym_key())
SCORER = Scorer(SETTINGS, idempotency_table=os.getenv(IDEMPOTENCY_ENV))
# What the cold start built (modules, settings, clients) lives as long as the container: keep
# it out of the garbage collector's full passes, which would walk it again and again (measured:
# a full pass took 0.17 s of a 2-3 s warm call; 0.005 s once it is frozen).
gc.freeze()


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    """Score every object one SQS record names; raising makes it a batch item failure."""
    for obj in s3_objects(record.body):
        summary = SCORER.score(obj)
        logger.info("scored object", extra={"s3_key": obj.key, "result": summary})
        if summary.get("replayed"):  # already scored (idempotency store): count nothing twice
            metrics.add_metric("ObjectsReplayed", MetricUnit.Count, 1)
            continue
        metrics.add_metric("RowsScored", MetricUnit.Count, summary["rows_accepted"])
        metrics.add_metric("RowsRejected", MetricUnit.Count, summary["rows_rejected"])
        metrics.add_metric("GuestsScored", MetricUnit.Count, summary["guests_scored"])
        metrics.add_metric("FilesUnreadable", MetricUnit.Count, int(summary["status"] == "unreadable"))
        metrics.add_metric("ScoringLatency", MetricUnit.Milliseconds, summary["latency_ms"])


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """SQS batch in, partial batch response (``{"batchItemFailures": [...]}``) out."""
    SCORER.register_context(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
