"""Scoring one session file end to end: the domain function behind the Lambda and ``c4 score``.

``score_file`` = ELT ``ingest_file`` (validate, pseudonymise, append to curated, quarantine,
manifest) -> ``compute_features`` on the guest's full history up to the file -> the champion's
calibrated probability, risk band, reasons and retention message -> ``churn_predictions``
(deterministic keys) -> optional Glue partition registration.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from c4.elt import IngestResult, ingest_file
from c4.elt.api import ARROW_MAX_BYTES
from c4.exceptions import C4Error, ConfigurationError
from c4.scoring.catalog import register_partitions
from c4.scoring.champion import cached_champion
from c4.scoring.events import S3Object
from c4.scoring.exceptions import RefusedObjectError
from c4.scoring.history import LakeSnapshot, lake_snapshot, online_features
from c4.scoring.predict import predictions_frame
from c4.scoring.writer import write_predictions
from c4.settings import Settings
from c4.storage import Lake

logger = logging.getLogger(__name__)

#: Where uploads land (the S3 notification's prefix filter).
UPLOADS_PREFIX = "raw/uploads/"
#: Guests listed in a result's ``riskiest``.
RISKIEST = 10
#: How much lower (nice levels) the ELT's background write runs than the scoring call.
BACKGROUND_NICE = 10


@dataclass
class ScoreResult:
    """What scoring one file did.

    Attributes
    ----------
    source_file : str
        Lake-relative path of the raw file.
    status : str
        ``ok``, or ``unreadable`` (quarantined whole, nothing scored).
    error : str or None
        Why the file is unreadable.
    rows_in, rows_accepted, rows_rejected : int
        Data rows read, curated (and scored), quarantined: ``rows_in = rows_accepted + rows_rejected``.
    rejected_by_reason : dict
        Quarantined rows per reason code.
    guests_scored, guests_at_risk : int
        Guests of the file scored, and those at or above the decision threshold.
    as_of : date or None
        As-of date (the ``dt`` partition).
    model_version : str or None
        Champion version used.
    predictions : list of str
        Lake-relative paths of the predictions files written.
    partitions_registered : int
        Glue partitions submitted (0 without a Glue database or on a local lake).
    latency_ms : float
        Wall time of the whole call.
    timings_ms : dict
        Wall time per stage: ``read`` (the upload; the champion is checked meanwhile),
        ``model`` (what is left of the champion check), ``ingest``, ``features``, ``predict``,
        ``curated`` (waiting for the ELT's outputs, written meanwhile in the background), ``write``.
    riskiest : list of dict
        The riskiest guests (``customer_id``, ``mall_id``, ``churn_probability``, ``risk_band``,
        ``reasons``, ``message``), highest probability first.
    """

    source_file: str
    status: str = "ok"
    error: str | None = None
    rows_in: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    guests_scored: int = 0
    guests_at_risk: int = 0
    as_of: date | None = None
    model_version: str | None = None
    predictions: list[str] = field(default_factory=list)
    partitions_registered: int = 0
    latency_ms: float = 0.0
    timings_ms: dict[str, float] = field(default_factory=dict)
    riskiest: list[dict[str, Any]] = field(default_factory=list)

    def check(self) -> None:
        """Raise if rows in != rows scored + rows rejected."""
        if self.rows_in != self.rows_accepted + self.rows_rejected:
            raise C4Error(
                f"row counts do not add up for {self.source_file}: in={self.rows_in} "
                f"scored={self.rows_accepted} rejected={self.rows_rejected}"
            )

    def summary(self) -> dict[str, Any]:
        """JSON-friendly form (logs, idempotency store, CLI ``--json``)."""
        doc = asdict(self)
        doc["as_of"] = self.as_of.isoformat() if self.as_of else None
        return doc


class _Stopwatch:
    """Wall time per stage, in milliseconds."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round((now - self._t) * 1000.0, 1)
        self._t = now


def _naive_utc(now: datetime | None) -> datetime:
    now = now or datetime.now(UTC)
    if now.tzinfo is not None:
        now = now.astimezone(UTC).replace(tzinfo=None)
    return now.replace(microsecond=0)


def score_file(
    lake: Lake,
    settings: Settings,
    rel_path: str,
    *,
    model: Any = None,
    now: datetime | None = None,
    reject_unknown_malls: bool = True,
    boto3_session: Any = None,
) -> ScoreResult:
    """Score one raw session file of the lake end to end.

    Parameters
    ----------
    lake : Lake
        The lake (local folder or S3).
    settings : Settings
        Pseudonymisation key, Glue database.
    rel_path : str
        Lake-relative path of the raw file, under ``raw/uploads/`` (``c4 score`` lands files
        there; the batch zone ``raw/sessions/`` is the batch ELT's).
    model : ChurnModel, optional
        The model to use (default: the lake's champion, cached per process and version).
    now : datetime, optional
        Processing time (default: now): the ELT's reference for future timestamps and the
        predictions' ``scored_at``.
    reject_unknown_malls : bool
        Quarantine rows of malls outside the mall dimension (default; rows without a mall are
        kept and scored under ``mall_id="unknown"``).
    boto3_session : boto3.Session, optional
        For the Glue catalogue (the default chain when ``None``).

    Returns
    -------
    ScoreResult
        ``status="unreadable"`` when the file cannot be read at all: it is quarantined with an
        error record and nothing is scored (not an exception: retrying cannot help).

    Raises
    ------
    ModelError
        No champion, or a broken / untrusted one (nothing is ingested then).
    ConfigurationError
        ``rel_path`` is not under ``raw/uploads/``.
    """
    started = time.perf_counter()
    if not rel_path.startswith(UPLOADS_PREFIX) or ".." in rel_path.split("/"):
        raise ConfigurationError(
            f"only uploads ({UPLOADS_PREFIX}...) are scored, not {rel_path!r}: the batch zone "
            "raw/sessions/ shares one curated file per day with the batch ELT"
        )
    watch = _Stopwatch()
    at = _naive_utc(now)
    with (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="c4-score-read") as reader,
        ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="c4-score-write", initializer=background_priority
        ) as writer,
    ):
        # S3 work overlaps the rest: the champion, then the history and malls (lake_snapshot)
        # are read while the upload is fetched and the ELT curates it; the ELT's outputs are
        # written while features are computed.  Nothing is ingested without a usable champion.
        champion = reader.submit(cached_champion, lake) if model is None else None
        snapshot = reader.submit(lake_snapshot, lake, rel_path)
        data = _read_upload(lake, rel_path)
        watch.lap("read")
        try:
            model = champion.result() if champion is not None else model
        except BaseException:
            snapshot.cancel()
            raise
        watch.lap("model")
        ingest = ingest_file(
            lake,
            settings,
            rel_path,
            now=at,
            reject_unknown_malls=reject_unknown_malls,
            executor=writer,
            data=data,
        )
        watch.lap("ingest")
        result = ScoreResult(
            rel_path,
            ingest.status,
            ingest.report.error,
            ingest.rows_in,
            ingest.rows_accepted,
            ingest.rows_rejected,
            dict(ingest.rejected_by_reason),
            model_version=model.version,
        )
        if ingest.status == "ok" and ingest.accepted.num_rows:
            _score_rows(lake, settings, model, ingest, result, at, boto3_session, watch, snapshot.result())
        else:
            snapshot.cancel()
        ingest.wait()  # the file is curated (manifest written) before the call returns
    result.check()
    result.timings_ms = watch.laps
    result.latency_ms = round((time.perf_counter() - started) * 1000.0, 1)
    logger.info(
        "scored %s: status=%s rows_in=%d scored=%d rejected=%d guests=%d at_risk=%d in %.0f ms",
        rel_path,
        result.status,
        result.rows_in,
        result.rows_accepted,
        result.rows_rejected,
        result.guests_scored,
        result.guests_at_risk,
        result.latency_ms,
    )
    return result


def background_priority() -> None:
    """Lower the calling thread's CPU priority by :data:`BACKGROUND_NICE` (Linux; else a no-op)."""
    if BACKGROUND_NICE <= 0 or sys.platform != "linux":
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + BACKGROUND_NICE)
    except OSError as exc:  # not permitted here: the writes run at normal priority
        logger.debug("background priority not lowered: %s", exc)


def _read_upload(lake: Lake, rel_path: str) -> bytes | None:
    """The upload's bytes, read whole once (the ELT probes and parses them: one GET, not two).

    ``None`` (the ELT reads the lake itself, and reports what it finds) when the object cannot
    be read or is too large to hold twice over (:data:`c4.elt.api.ARROW_MAX_BYTES`).
    """
    try:
        with lake.open_input(rel_path) as fh:
            return None if fh.size() > ARROW_MAX_BYTES else bytes(fh.read())
    except OSError:
        return None


def _seen_at(accepted: pa.Table, features: pd.DataFrame) -> dict[str, str | None]:
    """Guest -> the mall of the guest's latest session in the file, for guests without a home mall.

    Only those guests need it (:func:`c4.scoring.predict.predictions_frame`): usually a handful.
    """
    homes = features["home_mall_id"] if "home_mall_id" in features.columns else None
    who = features["customer_id"] if homes is None else features.loc[homes.isna(), "customer_id"]
    if len(who) == 0:
        return {}
    mask = pc.is_in(
        accepted.column("customer_id"), value_set=pa.array(list(map(str, who.tolist())), pa.string())
    )
    rows = accepted.filter(mask).select(["customer_id", "mall_id", "session_start"]).to_pandas()
    last = rows.sort_values("session_start", kind="mergesort").groupby("customer_id", sort=False).last()
    return {str(k): (None if pd.isna(v) else str(v)) for k, v in last["mall_id"].items()}


def _score_rows(
    lake: Lake,
    settings: Settings,
    model: Any,
    ingest: IngestResult,
    result: ScoreResult,
    at: datetime,
    boto3_session: Any,
    watch: _Stopwatch,
    snapshot: LakeSnapshot,
) -> None:
    accepted = ingest.accepted
    features, as_of = online_features(lake, accepted, result.source_file, snapshot=snapshot)
    watch.lap("features")
    preds = predictions_frame(
        model,
        features,
        as_of_date=as_of,
        as_of=datetime.combine(as_of + timedelta(days=1), dtime()),
        source_file=result.source_file,
        scored_at=at,
        seen_at=_seen_at(accepted, features),
    )
    result.as_of = as_of
    result.guests_scored = len(preds)
    result.guests_at_risk = int(preds["message"].notna().sum())
    watch.lap("predict")
    ingest.wait()  # the sessions behind the predictions are curated before the predictions land
    watch.lap("curated")
    result.predictions = write_predictions(
        lake, preds, source_file=result.source_file, model_version=model.version
    )
    if settings.glue_database:
        result.partitions_registered = register_partitions(
            lake, settings.glue_database, result.predictions, boto3_session=boto3_session
        )
    watch.lap("write")
    top = preds.head(RISKIEST)[
        ["customer_id", "mall_id", "churn_probability", "risk_band", "reasons", "message"]
    ]
    result.riskiest = [
        {str(k): (None if pd.isna(v) else v) for k, v in row.items()} for row in top.to_dict("records")
    ]


def object_path(lake: Lake, obj: S3Object) -> str:
    """The lake-relative path of an uploaded S3 object, or a clear refusal.

    Raises
    ------
    RefusedObjectError
        The lake is not on S3, the object is in another bucket, outside the lake's prefix or
        outside ``raw/uploads/``.
    """
    if not lake.is_s3:
        raise RefusedObjectError(
            f"the lake {lake.uri} is not on S3: cannot score s3://{obj.bucket}/{obj.key}"
        )
    bucket, _, prefix = lake.root.partition("/")
    if obj.bucket != bucket:
        raise RefusedObjectError(
            f"s3://{obj.bucket}/{obj.key} is not in the lake's bucket {bucket!r}: refused"
        )
    base = f"{prefix}/" if prefix else ""
    rel = obj.key[len(base) :] if obj.key.startswith(base) else None
    if rel is None or not rel.startswith(UPLOADS_PREFIX) or rel.endswith("/") or ".." in rel.split("/"):
        raise RefusedObjectError(
            f"s3://{obj.bucket}/{obj.key} is not an upload of the lake {lake.uri} "
            f"(only {lake.uri}/{UPLOADS_PREFIX}... is scored): refused"
        )
    return rel


def score_object(
    lake: Lake,
    settings: Settings,
    obj: S3Object,
    *,
    model: Any = None,
    now: datetime | None = None,
    boto3_session: Any = None,
) -> ScoreResult:
    """Score an uploaded S3 object named by an event notification (see :func:`score_file`).

    Raises
    ------
    RefusedObjectError
        The object is not an upload of this lake.
    """
    return score_file(
        lake, settings, object_path(lake, obj), model=model, now=now, boto3_session=boto3_session
    )
