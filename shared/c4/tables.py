"""Where each table of the lake lives, its columns, and its partition columns.

The names are the product's public interface: the same table names and columns are used by
DuckDB locally and by Athena / the Glue Data Catalog in AWS (the CDK stack reads the column
lists from here, so they are defined once).  Types are Athena (Hive DDL) type names.
"""

from __future__ import annotations

from dataclasses import dataclass

Columns = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class TableSpec:
    """A table of the lake: name, lake-relative location, columns and partition columns."""

    name: str
    location: str
    columns: Columns = ()
    partitions: tuple[str, ...] = ()


SESSIONS = TableSpec(
    "sessions",
    "curated/sessions",
    (
        ("session_id", "string"),
        ("customer_id", "string"),
        ("mall_id", "string"),
        ("zone", "string"),
        ("session_start", "timestamp"),
        ("session_end", "timestamp"),
        ("local_date", "date"),
        ("local_hour", "int"),
        ("dwell_minutes", "double"),
        ("bytes_down", "bigint"),
        ("bytes_up", "bigint"),
        ("device_os", "string"),
        ("login_method", "string"),
        ("signal_dbm", "double"),
        ("failed_logins", "int"),
        ("visit_id", "string"),
        ("source_file", "string"),
        ("ingested_at", "timestamp"),
    ),
    ("dt",),
)

MALLS = TableSpec(
    "malls",
    "curated/malls",
    (
        ("mall_id", "string"),
        ("name", "string"),
        ("short_name", "string"),
        ("country", "string"),
        ("city", "string"),
        ("timezone", "string"),
        ("size_class", "string"),
        ("gla_sqm", "bigint"),
        ("opens_hour", "bigint"),
        ("closes_hour", "bigint"),
        ("n_zones", "bigint"),
        ("access_points", "bigint"),
        ("popularity", "double"),
        ("wifi_signal_dbm", "double"),
        ("zones", "string"),
        ("country_name", "string"),
    ),
)

CHURN_PREDICTIONS = TableSpec(
    "churn_predictions",
    "predictions/churn_predictions",
    (
        ("customer_id", "string"),
        ("as_of", "timestamp"),
        ("churn_probability", "double"),
        ("risk_band", "string"),
        ("model_version", "string"),
        ("reasons", "string"),
        ("message", "string"),
        ("source_file", "string"),
        ("scored_at", "timestamp"),
    ),
    ("dt", "mall_id"),
)

CUSTOMER_FEATURES = TableSpec("customer_features", "features/customer_features", (), ("as_of_date",))

TABLES: dict[str, TableSpec] = {t.name: t for t in (SESSIONS, MALLS, CUSTOMER_FEATURES, CHURN_PREDICTIONS)}


def glue_columns(name: str) -> Columns:
    """The non-partition columns of a table as (name, Athena type) pairs.

    ``customer_features`` columns come from the feature definitions
    (``c4.features.schema.FEATURE_COLUMNS``), the one place features are declared.
    """
    if name == CUSTOMER_FEATURES.name:
        from c4.features.schema import FEATURE_COLUMNS

        return tuple(FEATURE_COLUMNS)
    return TABLES[name].columns
