"""Training sets: features at many as-of dates joined with their labels."""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import pandas as pd

from c4.engine import connect
from c4.exceptions import ContractError
from c4.features.labels import compute_labels, data_date_range, default_horizon_days, labelable_dates
from c4.features.params import MIN_HISTORY_DAYS
from c4.features.pointintime import compute_features
from c4.features.schema import FEATURE_SPECS, FeatureSpec
from c4.features.source import quiet, relation_exists
from c4.storage import Lake

logger = logging.getLogger(__name__)

#: DuckDB's memory limit for a batch feature build on a connection of its own.  Issue #3 wants
#: the build of 12 monthly dates over ~10M sessions under 4 GB in all: DuckDB's own peak there
#: is ~1.9 GB (the rest is the Python frame), so this bound changes nothing at that size and
#: makes a larger build spill to disk instead of growing (``bench/bench_features.py``).
BATCH_MEMORY_LIMIT = "2GB"


def batch_connection(
    lake: Lake, *, memory_limit: str | None = BATCH_MEMORY_LIMIT
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection for a batch feature build: bounded memory, spilling to a private folder.

    Parameters
    ----------
    lake : Lake
        The lake to expose (:func:`c4.engine.connect`).
    memory_limit : str, optional
        DuckDB's memory limit (e.g. ``"2GB"``); None leaves DuckDB's default (80% of the RAM).

    Returns
    -------
    duckdb.DuckDBPyConnection
        With the progress bar off; DuckDB spills beyond ``memory_limit`` to a fresh folder in
        the system's temp directory, which it creates when needed and removes on close.
    """
    spill = (
        os.path.join(tempfile.gettempdir(), f"c4-duckdb-{uuid.uuid4().hex[:12]}") if memory_limit else None
    )
    return quiet(connect(lake, memory_limit=memory_limit, temp_directory=spill))


@dataclass(frozen=True)
class TrainingSet:
    """Features and labels for model training.

    Attributes
    ----------
    frame : pandas.DataFrame
        ``customer_id``, ``as_of_date``, every feature, and ``churned`` (int8).
    feature_specs : tuple of FeatureSpec
        Metadata of the feature columns.
    horizon_days : int
        Label horizon H.
    as_of_dates : tuple of datetime.date
        The as-of dates present in ``frame`` (ascending).
    """

    frame: pd.DataFrame
    feature_specs: tuple[FeatureSpec, ...]
    horizon_days: int
    as_of_dates: tuple[date, ...]


def month_ends(first: date, last: date) -> list[date]:
    """Last days of the months between two dates (inclusive)."""
    out = []
    y, m = first.year, first.month
    while True:
        nxt = date(y + (m == 12), m % 12 + 1, 1)
        end = nxt - timedelta(days=1)
        if end > last:
            break
        if end >= first:
            out.append(end)
        y, m = nxt.year, nxt.month
    return out


def monthly_as_of_dates(
    con: duckdb.DuckDBPyConnection, horizon_days: int | None = None, *, sessions: str = "sessions"
) -> list[date]:
    """Default as-of dates: month ends with >= 90 days of history (and, given a horizon, T + H elapsed)."""
    first, last = data_date_range(con, sessions=sessions)
    dates = month_ends(first + timedelta(days=MIN_HISTORY_DAYS), last)
    if horizon_days is not None:
        dates = labelable_dates(dates, horizon_days, last)
    return dates


def build_training_set(
    lake: Lake,
    *,
    horizon_days: int | None = None,
    as_of_dates: Sequence[date] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    memory_limit: str | None = BATCH_MEMORY_LIMIT,
) -> TrainingSet:
    """Features plus churn labels at monthly as-of dates whose horizon has elapsed.

    Parameters
    ----------
    lake : Lake
        The lake (its ``sessions`` and ``malls`` tables are read).
    horizon_days : int, optional
        Label horizon H (default: :func:`~c4.features.default_horizon_days`).
    as_of_dates : sequence of datetime.date, optional
        As-of dates (default: month ends with >= 90 days of history and ``T + H`` in the data).
        Dates whose horizon has not elapsed are dropped.
    con : duckdb.DuckDBPyConnection, optional
        A connection to reuse (default: :func:`batch_connection` on the lake).
    memory_limit : str, optional
        DuckDB's memory limit of the connection made when ``con`` is not given
        (:data:`BATCH_MEMORY_LIMIT`; None: DuckDB's default).

    Returns
    -------
    TrainingSet

    Raises
    ------
    ContractError
        If the lake has no sessions or no as-of date has an elapsed horizon.
    """
    if con is None:
        con = batch_connection(lake, memory_limit=memory_limit)
    if not relation_exists(con, "sessions"):
        raise ContractError(f"no curated sessions in {lake.uri}: run c4 generate and c4 elt first")
    h = horizon_days or default_horizon_days(con)
    _, last = data_date_range(con)
    if as_of_dates is None:
        dates = monthly_as_of_dates(con, h)
    else:
        dates = labelable_dates([pd.Timestamp(d).date() for d in as_of_dates], h, last)
    if not dates:
        raise ContractError(f"no as-of date with a fully elapsed {h}-day horizon (data ends {last})")
    logger.info("training set: H=%d days, %d as-of dates %s..%s", h, len(dates), dates[0], dates[-1])
    malls = "malls" if relation_exists(con, "malls") else None
    feats = compute_features(con, dates, malls=malls)
    labels = compute_labels(con, dates, h)
    frame = feats.merge(labels, on=["customer_id", "as_of_date"], how="inner", validate="one_to_one")
    frame.attrs = {}  # population parts: see write_features; a training set does not carry them
    if len(frame) != len(feats):
        logger.warning("%d feature rows without a label", len(feats) - len(frame))
    present = tuple(sorted(set(frame["as_of_date"])))
    return TrainingSet(frame=frame, feature_specs=FEATURE_SPECS, horizon_days=h, as_of_dates=present)
