"""Where each table of the lake lives, and its partition columns.

The names are the product's public interface: the same table names are used by DuckDB
locally and by Athena / the Glue Data Catalog in AWS.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TableSpec:
    """A table of the lake: its name, location (lake-relative) and partition columns."""

    name: str
    location: str
    partitions: tuple[str, ...] = ()


SESSIONS = TableSpec("sessions", "curated/sessions", ("dt",))
MALLS = TableSpec("malls", "curated/malls")
CUSTOMER_FEATURES = TableSpec("customer_features", "features/customer_features", ("as_of_date",))
CHURN_PREDICTIONS = TableSpec("churn_predictions", "predictions/churn_predictions", ("dt", "mall_id"))

TABLES: dict[str, TableSpec] = {
    t.name: t for t in (SESSIONS, MALLS, CUSTOMER_FEATURES, CHURN_PREDICTIONS)
}
