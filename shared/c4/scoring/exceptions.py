"""Errors of the scoring service (all derive from :class:`c4.exceptions.C4Error`).

What each means for an SQS message (see ``docs/scoring.md``):

* :class:`EventError`, :class:`RefusedObjectError` — the message is wrong and retrying will
  not help; it fails (batch item failure) until the queue moves it to the dead-letter queue,
  where an operator sees it.
* :class:`c4.exceptions.ModelError`, :class:`c4.exceptions.StorageError` — transient or
  operational (no champion yet, S3 hiccup): the message fails and is retried.
* An unreadable file is not an error: it is quarantined and the message is acknowledged.
"""

from __future__ import annotations

from c4.exceptions import C4Error


class ScoringError(C4Error):
    """Base class of the scoring service's own errors."""


class EventError(ScoringError):
    """An SQS message body is not an S3 event notification."""


class RefusedObjectError(ScoringError):
    """An object outside the lake's bucket or outside the upload prefix ``raw/uploads/``."""
