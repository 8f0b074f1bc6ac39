"""Scoring a session file end to end: predictions and retention messages (issue 5).

Public API::

    from c4.scoring import score_file, score_object, ScoreResult, Scorer, s3_objects, S3Object

``score_file(lake, settings, rel_path, *, model=None, now=None) -> ScoreResult`` is what both
the scoring Lambda (``lambdas/score/handler.py``, through :class:`Scorer`) and ``c4 score``
call.  See ``docs/scoring.md``.
"""

from c4.scoring.events import S3Object, s3_objects
from c4.scoring.exceptions import EventError, RefusedObjectError, ScoringError
from c4.scoring.messages import TEMPLATES, retention_message
from c4.scoring.runtime import Scorer
from c4.scoring.service import UPLOADS_PREFIX, ScoreResult, object_path, score_file, score_object

__all__ = [
    "TEMPLATES",
    "UPLOADS_PREFIX",
    "EventError",
    "RefusedObjectError",
    "S3Object",
    "ScoreResult",
    "Scorer",
    "ScoringError",
    "object_path",
    "retention_message",
    "s3_objects",
    "score_file",
    "score_object",
]
