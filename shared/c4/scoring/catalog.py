"""Register new ``churn_predictions`` partitions in the Glue Data Catalog (AWS lakes only).

Athena finds partitions without this step when the table declares partition projection (the
CDK stack does); registering them too keeps ``SHOW PARTITIONS``, Glue-aware tools and tables
without projection working.  Registering an existing partition is a no-op.
"""

from __future__ import annotations

import logging
from typing import Any

from c4.storage import Lake
from c4.tables import CHURN_PREDICTIONS

logger = logging.getLogger(__name__)


def partition_values(rel_path: str) -> tuple[str, str]:
    """``(dt, mall_id)`` of a predictions file path.

    Examples
    --------
    >>> partition_values("predictions/churn_predictions/dt=2025-03-14/mall_id=CL01/f.parquet")
    ('2025-03-14', 'CL01')
    """
    parts = dict(p.split("=", 1) for p in rel_path.split("/") if "=" in p)
    return parts["dt"], parts["mall_id"]


def register_partitions(lake: Lake, database: str, written: list[str], *, boto3_session: Any = None) -> int:
    """Add the partitions of freshly written predictions files to the Glue table.

    Parameters
    ----------
    lake : Lake
        An S3 lake (a local lake has no catalogue: nothing is done).
    database : str
        Glue database holding the ``churn_predictions`` table.
    written : list of str
        Lake-relative paths of the files written.
    boto3_session : boto3.Session, optional
        Credentials and region (the default chain when ``None``).

    Returns
    -------
    int
        Number of partitions submitted.
    """
    if not lake.is_s3 or not written:
        return 0
    import awswrangler as wr  # heavy import, only when a catalogue is configured

    values: dict[str, list[str]] = {}
    for rel in written:
        dt, mall = partition_values(rel)
        folder = lake.uri_of(rel.rsplit("/", 1)[0]) + "/"
        values[folder] = [dt, mall]
    wr.catalog.add_parquet_partitions(
        database=database,
        table=CHURN_PREDICTIONS.name,
        partitions_values=values,
        compression="zstd",
        boto3_session=boto3_session,
    )
    logger.info("registered %d partition(s) of %s.%s", len(values), database, CHURN_PREDICTIONS.name)
    return len(values)
