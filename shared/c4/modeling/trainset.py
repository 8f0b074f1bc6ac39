"""The training set of ``c4 train``: stored features reused, only missing as-of dates built.

The pipeline's features step already writes point-in-time features for every monthly as-of
date to ``features/customer_features/as_of_date=YYYY-MM-DD/``.  Rebuilding them in the train
step doubled the pipeline's most expensive work, so training reads the stored partitions
that are *fresh* (written after the newest curated file, so no later ELT run can have changed
the sessions they were computed from) and builds only the other dates, through the feature
library's public :func:`~c4.features.compute_features`.  Labels are always computed (cheap).
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Sequence
from datetime import date
from typing import Any

import duckdb
import pandas as pd
import pyarrow.fs as pafs

from c4.exceptions import ModelError
from c4.storage import Lake
from c4.tables import CUSTOMER_FEATURES

logger = logging.getLogger(__name__)

#: Curated inputs of the features; a stored feature file older than any of them is stale.
CURATED_INPUTS = ("curated/sessions", "curated/malls")
_PART = "part.parquet"


def _file_mtimes(lake: Lake, prefix: str) -> dict[str, float]:
    """Modification time (POSIX seconds) of every file below ``prefix``, lake-relative keys."""
    base = lake.path(prefix)
    if lake.fs.get_file_info(base).type == pafs.FileType.NotFound:
        return {}
    out = {}
    for item in lake.fs.get_file_info(pafs.FileSelector(base, recursive=True)):
        if item.type == pafs.FileType.File and item.mtime is not None:
            out[lake.relative(item.path)] = item.mtime.timestamp()
    return out


def newest_curated_write(lake: Lake) -> float | None:
    """When the newest curated file was written (None when the lake has no curated files)."""
    times = [t for prefix in CURATED_INPUTS for t in _file_mtimes(lake, prefix).values()]
    return max(times) if times else None


def fresh_feature_dates(lake: Lake) -> dict[date, str]:
    """Stored feature partitions written after the newest curated file.

    Parameters
    ----------
    lake : Lake

    Returns
    -------
    dict[datetime.date, str]
        As-of date -> lake-relative path of its ``part.parquet``.
    """
    newest = newest_curated_write(lake)
    out: dict[date, str] = {}
    for rel, mtime in _file_mtimes(lake, CUSTOMER_FEATURES.location).items():
        folder, name = posixpath.split(rel)
        key = posixpath.basename(folder)
        if name != _PART or not key.startswith("as_of_date="):
            continue
        if newest is not None and mtime < newest:
            logger.info("stored features %s predate the curated data: rebuilt", rel)
            continue
        try:
            out[date.fromisoformat(key.split("=", 1)[1])] = rel
        except ValueError:
            logger.warning("ignoring feature partition with a bad date: %s", rel)
    return out


def _conform(frame: pd.DataFrame, like: pd.DataFrame | None) -> pd.DataFrame:
    """Stored features in the dtypes :func:`compute_features` returns (int64, float64, str)."""
    from c4.features import FEATURE_COLUMNS

    frame = frame.copy()
    target: Any
    for name, kind in FEATURE_COLUMNS:
        if name not in frame.columns:
            continue
        if like is not None and name in like.columns:
            target = like[name].dtype
        elif kind in ("int", "bigint"):
            target = "int64" if not frame[name].isna().any() else "float64"
        elif kind == "double":
            target = "float64"
        else:
            target = "str"
        frame[name] = frame[name].astype(target)
    return frame


def read_stored_features(lake: Lake, paths: Sequence[str], dates: Sequence[date]) -> pd.DataFrame:
    """Read stored feature partitions (one file per date) into one frame with ``as_of_date``."""
    parts = []
    for rel, day in zip(paths, dates, strict=True):
        part = lake.read_parquet(rel).to_pandas()
        part["as_of_date"] = day
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def features_reusing_store(
    lake: Lake, con: duckdb.DuckDBPyConnection, dates: Sequence[date]
) -> tuple[pd.DataFrame, list[date], list[date]]:
    """Features at ``dates``: fresh stored partitions read, the rest computed.

    Parameters
    ----------
    lake : Lake
    con : duckdb.DuckDBPyConnection
        Connection with the curated ``sessions`` (and ``malls``) views.
    dates : sequence of datetime.date

    Returns
    -------
    tuple
        ``(features, reused dates, computed dates)``; features in the column order and dtypes
        of :func:`~c4.features.compute_features`.
    """
    from c4.features import compute_features

    stored = fresh_feature_dates(lake)
    reuse = [d for d in dates if d in stored]
    build = [d for d in dates if d not in stored]
    computed = compute_features(con, build) if build else None
    frames = [] if computed is None else [computed]
    if reuse:
        old = read_stored_features(lake, [stored[d] for d in reuse], reuse)
        frames.append(_conform(old, computed))
    if not frames:
        raise ModelError("no as-of dates to build features for")
    columns = list(frames[0].columns)
    frame = pd.concat([f[columns] for f in frames], ignore_index=True)
    frame = frame.sort_values(["customer_id", "as_of_date"], kind="stable").reset_index(drop=True)
    logger.info("features: %d as-of dates reused from the store, %d computed", len(reuse), len(build))
    return frame, reuse, build


def training_frame(
    lake: Lake, con: duckdb.DuckDBPyConnection, dates: Sequence[date], horizon_days: int
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Features (reused where fresh) joined with churn labels at ``dates``.

    Parameters
    ----------
    lake : Lake
    con : duckdb.DuckDBPyConnection
    dates : sequence of datetime.date
        As-of dates whose horizon has elapsed.
    horizon_days : int

    Returns
    -------
    tuple
        The frame (``customer_id``, ``as_of_date``, features, ``churned``) and
        ``{"reused": [...], "computed": [...]}`` (ISO dates).
    """
    from c4.features import compute_labels

    feats, reused, built = features_reusing_store(lake, con, dates)
    labels = compute_labels(con, dates, horizon_days)
    frame = feats.merge(labels, on=["customer_id", "as_of_date"], how="inner", validate="one_to_one")
    if len(frame) != len(feats):
        logger.warning("%d feature rows without a label", len(feats) - len(frame))
    sources = {"reused": [d.isoformat() for d in reused], "computed": [d.isoformat() for d in built]}
    return frame, sources
