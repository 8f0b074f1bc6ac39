"""Writing features to the lake: ``features/customer_features/as_of_date=YYYY-MM-DD/part.parquet``."""

from __future__ import annotations

import logging

import pandas as pd
import pyarrow as pa

from c4.exceptions import ContractError
from c4.features.schema import FEATURE_COLUMNS
from c4.storage import Lake
from c4.tables import CUSTOMER_FEATURES

logger = logging.getLogger(__name__)

_ARROW = {"string": pa.string(), "int": pa.int32(), "bigint": pa.int64(), "double": pa.float64()}


def arrow_schema() -> pa.Schema:
    """Arrow schema of a ``customer_features`` file (partition column excluded)."""
    return pa.schema([(name, _ARROW[typ]) for name, typ in FEATURE_COLUMNS])


def write_features(lake: Lake, frame: pd.DataFrame) -> list[str]:
    """Write features, one Parquet file per as-of date, replacing that date's partition.

    Parameters
    ----------
    lake : Lake
        Destination lake.
    frame : pandas.DataFrame
        Output of :func:`~c4.features.compute_features` (extra columns such as labels are
        dropped).

    Returns
    -------
    list of str
        Lake-relative paths written.

    Raises
    ------
    ContractError
        If a feature column is missing.
    """
    missing = [n for n, _ in FEATURE_COLUMNS if n not in frame.columns] + (
        ["as_of_date"] if "as_of_date" not in frame.columns else []
    )
    if missing:
        raise ContractError(f"feature frame lacks columns: {', '.join(missing)}")
    schema = arrow_schema()
    written = []
    for as_of, part in frame.groupby("as_of_date", sort=True):
        day = pd.Timestamp(str(as_of)).date().isoformat()
        folder = f"{CUSTOMER_FEATURES.location}/as_of_date={day}"
        table = pa.Table.from_pandas(
            part[[n for n, _ in FEATURE_COLUMNS]], schema=schema, preserve_index=False
        )
        lake.delete(folder)
        written.append(lake.write_parquet(f"{folder}/part.parquet", table))
        logger.info("wrote %d feature rows to %s", table.num_rows, folder)
    return written
