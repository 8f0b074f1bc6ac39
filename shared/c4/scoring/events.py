"""S3 event notifications as they arrive in an SQS message body.

One SQS message carries one S3 event notification document: ``{"Records": [...]}`` with one
record per created object, or the ``s3:TestEvent`` S3 sends once when a notification is
configured (which is skipped).  Object keys arrive URL-encoded (``+`` for blanks).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from c4.scoring.exceptions import EventError

TEST_EVENT = "s3:TestEvent"


@dataclass(frozen=True)
class S3Object:
    """One object an S3 event notification names.

    Attributes
    ----------
    bucket : str
        Bucket name.
    key : str
        Object key, URL-decoded.
    etag : str or None
        The object's ETag (no quotes); identifies the content for idempotency.
    size : int or None
        Size in bytes when the notification gives it.
    event_name : str
        ``ObjectCreated:Put``, ``ObjectCreated:CompleteMultipartUpload``, ...
    """

    bucket: str
    key: str
    etag: str | None = None
    size: int | None = None
    event_name: str = "ObjectCreated:Put"

    def as_dict(self) -> dict[str, Any]:
        """JSON form (the idempotency payload)."""
        return {
            "bucket": self.bucket,
            "key": self.key,
            "etag": self.etag,
            "size": self.size,
            "event_name": self.event_name,
        }


def s3_objects(body: str | dict[str, Any]) -> list[S3Object]:
    """The created objects named by one S3 event notification.

    Parameters
    ----------
    body : str or dict
        The SQS message body (JSON text) or the parsed document.

    Returns
    -------
    list of S3Object
        Empty for the ``s3:TestEvent`` and for records that are not ``ObjectCreated``.

    Raises
    ------
    EventError
        If the body is not an S3 event notification.

    Examples
    --------
    >>> s3_objects('{"Service": "Amazon S3", "Event": "s3:TestEvent"}')
    []
    >>> body = {"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"},
    ...          "object": {"key": "raw/uploads/Mall+%C3%91u%C3%B1oa.csv", "eTag": "abc"}}}]}
    >>> s3_objects(body)[0].key
    'raw/uploads/Mall Ñuñoa.csv'
    """
    doc = _parse(body)
    if doc.get("Event") == TEST_EVENT:
        return []
    records = doc.get("Records")
    if not isinstance(records, list):
        raise EventError("not an S3 event notification: no 'Records' list")
    out: list[S3Object] = []
    for record in records:
        obj = _object(record)
        if obj is not None:
            out.append(obj)
    return out


def _parse(body: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(body, dict):
        return body
    try:
        doc = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise EventError(f"message body is not JSON: {str(body)[:200]!r}") from exc
    if not isinstance(doc, dict):
        raise EventError("message body is not a JSON object")
    return doc


def _object(record: Any) -> S3Object | None:
    if not isinstance(record, dict):
        raise EventError("an S3 event record is not a JSON object")
    name = str(record.get("eventName", ""))
    if not name.startswith("ObjectCreated"):
        return None
    try:
        s3 = record["s3"]
        bucket = str(s3["bucket"]["name"])
        key = unquote_plus(str(s3["object"]["key"]))
    except (KeyError, TypeError) as exc:
        raise EventError(f"S3 event record without bucket name or object key: {exc}") from exc
    obj = s3["object"]
    etag = obj.get("eTag") or obj.get("etag")
    size = obj.get("size")
    return S3Object(
        bucket,
        key,
        str(etag).strip('"') if etag else None,
        int(size) if isinstance(size, int | float) else None,
        name,
    )
