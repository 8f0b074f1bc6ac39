"""The ``churn_predictions`` writer: deterministic Parquet files, one per partition.

Layout (``c4.tables.CHURN_PREDICTIONS``)::

    predictions/churn_predictions/dt=<as-of date>/mall_id=<mall>/<file id>__<model version>.parquet

The file name depends only on the scored raw file and the model version, so scoring the same
file again with the same model (an SQS redelivery, a replay, the same file uploaded twice)
overwrites the earlier output instead of adding rows.  ``dt`` and ``mall_id`` live in the
folder names only (Hive partitions), as the Glue table declares them.
"""

from __future__ import annotations

import logging
import posixpath
import re
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pyarrow as pa

from c4.elt import file_id
from c4.storage import Lake
from c4.tables import CHURN_PREDICTIONS

logger = logging.getLogger(__name__)

_ARROW_TYPES = {"string": pa.string(), "timestamp": pa.timestamp("us"), "double": pa.float64()}

#: Arrow schema of a predictions file (the table's non-partition columns, in order).
PREDICTIONS_SCHEMA = pa.schema([(name, _ARROW_TYPES[typ]) for name, typ in CHURN_PREDICTIONS.columns])

#: Partition files written at once (S3 PUTs: a file of a day's export spans a few malls).
WRITE_THREADS = 8

#: Every column of the table as queried, partitions included.
PREDICTION_COLUMNS = ("customer_id", "mall_id", *PREDICTIONS_SCHEMA.names[1:], "dt")


def output_name(source_file: str, model_version: str) -> str:
    """Deterministic file name of the predictions of one raw file by one model version.

    Examples
    --------
    >>> output_name("raw/uploads/CL01_2025-03-14.csv", "v20261130-120000-abc1234")
    'CL01_2025-03-14_csv-28966f6f7e__v20261130-120000-abc1234.parquet'
    """
    version = re.sub(r"[^A-Za-z0-9_.-]+", "_", model_version) or "unversioned"
    return f"{file_id(source_file)}__{version}.parquet"


def partition_dir(dt: str, mall_id: str) -> str:
    """Lake-relative folder of one ``(dt, mall_id)`` partition."""
    return f"{CHURN_PREDICTIONS.location}/dt={dt}/mall_id={mall_id}"


def write_predictions(
    lake: Lake, predictions: pd.DataFrame, *, source_file: str, model_version: str
) -> list[str]:
    """Write the predictions of one scored file, one Parquet file per partition.

    Parameters
    ----------
    lake : Lake
        The lake.
    predictions : pandas.DataFrame
        Columns :data:`PREDICTION_COLUMNS` (``dt`` and ``mall_id`` already safe values).
    source_file : str
        Lake-relative path of the scored raw file.
    model_version : str
        Version of the model that scored it.

    Returns
    -------
    list of str
        Lake-relative paths written (sorted).  Files of the same name left in other
        partitions of the same ``dt`` by an earlier run (a guest's home mall may change when
        history is replayed) are deleted, so a replay never leaves duplicate rows behind.
    """
    name = output_name(source_file, model_version)
    files = {
        f"{partition_dir(str(dt), str(mall))}/{name}": pa.Table.from_pandas(
            part[list(PREDICTIONS_SCHEMA.names)], schema=PREDICTIONS_SCHEMA, preserve_index=False
        )
        for (dt, mall), part in predictions.groupby(["dt", "mall_id"], sort=True)
    }
    dts = sorted({str(d) for d in predictions["dt"]})
    with ThreadPoolExecutor(max_workers=WRITE_THREADS) as pool:  # one PUT per partition, together
        listed = pool.submit(_same_name, lake, dts, name)  # listed meanwhile: nothing of it is written
        list(pool.map(lambda item: lake.write_parquet(*item), files.items()))
        stale = [rel for rel in listed.result() if rel not in files]
    for rel in stale:
        lake.delete(rel)
        logger.info("deleted stale predictions file %s", rel)
    written = list(files)
    logger.info("wrote %d predictions of %s to %d partition(s)", len(predictions), source_file, len(written))
    return sorted(written)


def _same_name(lake: Lake, dts: list[str], name: str) -> list[str]:
    """Files called ``name`` in any partition of these ``dt`` (an earlier run's, or this one's)."""
    return [
        rel
        for dt in dts
        for rel in lake.list_files(f"{CHURN_PREDICTIONS.location}/dt={dt}", suffixes=(".parquet",))
        if posixpath.basename(rel) == name
    ]
