"""What the scoring Lambda keeps between invocations: settings, the lake, the idempotent scorer.

Built once per container at cold start.  When an idempotency table is configured, scoring an
object is wrapped with Powertools' idempotency utility (DynamoDB), keyed by the object's
bucket, key and ETag: a redelivered SQS message, or the same content uploaded again under the
same key, returns the stored result instead of scoring again.  Without a table, scoring is
still safe to repeat (the ELT rewrites its own output for the file, predictions keys are
deterministic), only slower.  The stored result is the summary without the riskiest guests.
Powertools is imported lazily, so the library stays usable where it is not installed.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from c4.scoring.events import S3Object
from c4.scoring.service import score_object
from c4.settings import Settings
from c4.storage import Lake, open_lake

logger = logging.getLogger(__name__)

#: How long a scored object's result is remembered (a day covers SQS retries and redrives).
IDEMPOTENCY_TTL_SECONDS = 24 * 3600


class Scorer:
    """Scores S3 objects for the Lambda handler.

    Parameters
    ----------
    settings : Settings
        Built once from the environment.
    idempotency_table : str, optional
        DynamoDB table (partition key ``id``, TTL attribute ``expiration``) for Powertools
        idempotency; ``None`` disables it.
    boto3_session : boto3.Session, optional
        Credentials for S3, DynamoDB and Glue (the default chain when ``None``).
    """

    def __init__(
        self, settings: Settings, *, idempotency_table: str | None = None, boto3_session: Any = None
    ) -> None:
        self.settings = settings
        self.boto3_session = boto3_session
        self.lake: Lake = open_lake(settings, boto3_session=boto3_session)
        self._config: Any = None
        self._score: Any = self._score_object
        if idempotency_table:
            self._score = self._idempotent(idempotency_table)

    def _idempotent(self, table: str) -> Any:
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        def mark_replayed(response: Any, record: Any) -> Any:
            if isinstance(response, dict):
                response["replayed"] = True
            return response

        self._config = IdempotencyConfig(
            event_key_jmespath="[bucket, key, etag]",
            expires_after_seconds=IDEMPOTENCY_TTL_SECONDS,
            response_hook=cast(Any, mark_replayed),
        )
        store = DynamoDBPersistenceLayer(table_name=table, boto3_session=self.boto3_session)
        return idempotent_function(data_keyword_argument="obj", persistence_store=store, config=self._config)(
            self._score_object
        )

    def register_context(self, context: Any) -> None:
        """Give the idempotency utility the Lambda context (remaining time) of an invocation."""
        if self._config is not None and context is not None:
            self._config.register_lambda_context(context)

    def score(self, obj: S3Object) -> dict[str, Any]:
        """Score one object (at most once per bucket/key/ETag with idempotency on).

        Returns
        -------
        dict
            :meth:`c4.scoring.ScoreResult.summary` (``riskiest`` emptied), plus
            ``"replayed": True`` when the result comes from the idempotency store.
        """
        return dict(self._score(obj=obj.as_dict()))

    def _score_object(self, obj: dict[str, Any]) -> dict[str, Any]:
        result = score_object(self.lake, self.settings, S3Object(**obj), boto3_session=self.boto3_session)
        return {**result.summary(), "riskiest": []}  # no guest ids in logs or the idempotency store
