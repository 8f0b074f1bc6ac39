"""Glue Data Catalog: one database, the lake tables with the library's columns, partition projection."""

from __future__ import annotations

from typing import Any

import pytest
from c4.malls import MALLS
from c4.tables import TABLES, glue_columns

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]


def _tables(synth: Any) -> dict[str, dict[str, Any]]:
    return {
        t["Properties"]["TableInput"]["Name"]: t["Properties"]["TableInput"]
        for t in synth.resources("AWS::Glue::Table").values()
    }


def _features_schema_available() -> bool:
    try:
        glue_columns("customer_features")
    except ImportError:
        return False
    return True


def test_database_is_named_per_stage(dev: Any, prod: Any) -> None:
    assert dev.one("AWS::Glue::Database")[1]["Properties"]["DatabaseInput"]["Name"] == "c4_dev"
    assert prod.one("AWS::Glue::Database")[1]["Properties"]["DatabaseInput"]["Name"] == "c4_prod"


@pytest.mark.parametrize("name", sorted(TABLES))
def test_table_columns_and_partitions_come_from_c4_tables(dev: Any, name: str) -> None:
    if name == "customer_features" and not _features_schema_available():
        pytest.skip("c4.features.schema (FEATURE_COLUMNS) is not written yet")
    table = _tables(dev)[name]
    sd = table["StorageDescriptor"]
    assert [(c["Name"], c["Type"]) for c in sd["Columns"]] == list(glue_columns(name))
    assert [p["Name"] for p in table.get("PartitionKeys", [])] == list(TABLES[name].partitions)
    assert all(p["Type"] == "string" for p in table.get("PartitionKeys", []))
    assert sd["Location"] == {
        "Fn::Join": [
            "",
            ["s3://", {"Ref": dev.logical_id(dev.stack.lake.lake_bucket)}, f"/{TABLES[name].location}/"],
        ]
    }
    assert sd["InputFormat"].endswith("MapredParquetInputFormat")
    assert sd["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")


def test_date_partitions_are_projected_as_a_date_range_up_to_now(dev: Any) -> None:
    tables = _tables(dev)
    for table, column in (
        ("sessions", "dt"),
        ("churn_predictions", "dt"),
        ("customer_features", "as_of_date"),
    ):
        if table not in tables:
            pytest.skip(f"{table} not in the catalogue")
        params = tables[table]["Parameters"]
        assert params["projection.enabled"] == "true"
        assert params[f"projection.{column}.type"] == "date"
        assert params[f"projection.{column}.format"] == "yyyy-MM-dd"
        assert params[f"projection.{column}.range"].endswith(",NOW")


def test_mall_partition_is_an_enum_of_the_chains_malls(dev: Any) -> None:
    params = _tables(dev)["churn_predictions"]["Parameters"]
    assert params["projection.mall_id.type"] == "enum"
    assert params["projection.mall_id.values"].split(",") == [m.mall_id for m in MALLS]


def test_unpartitioned_table_has_no_projection(dev: Any) -> None:
    params = _tables(dev)["malls"].get("Parameters", {})
    assert "projection.enabled" not in params
