"""The storage seam on a local folder (the S3 side is exercised under moto in integration)."""

from __future__ import annotations

import pyarrow as pa
import pytest
from c4.engine import available_tables, connect
from c4.exceptions import ConfigurationError, StorageError
from c4.storage import Lake


def test_bytes_json_and_listing(tmp_path) -> None:
    lake = Lake(str(tmp_path))
    lake.write_bytes("raw/a/x.csv", b"a,b\n1,2\n")
    lake.write_json("manifests/elt/x.json", {"rows_in": 1, "mall": "Ñuñoa"})
    lake.write_bytes("raw/a/_meta.json", b"{}")
    assert lake.read_bytes("raw/a/x.csv") == b"a,b\n1,2\n"
    assert lake.read_json("manifests/elt/x.json") == {"rows_in": 1, "mall": "Ñuñoa"}
    assert lake.list_files("raw") == ["raw/a/x.csv"]  # underscore files are metadata
    assert lake.list_files("nothing-here") == []
    assert not list(tmp_path.rglob(".tmp-*"))  # atomic writes leave no temp files


def test_missing_file_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(StorageError, match="cannot read"):
        Lake(str(tmp_path)).read_bytes("raw/missing.csv")


def test_partitions_are_strings_and_tables_are_registered(tmp_path) -> None:
    lake = Lake(str(tmp_path))
    for dt in ("2025-01-01", "2025-01-02"):
        lake.write_parquet(f"curated/sessions/dt={dt}/part.parquet", pa.table({"customer_id": ["a", "b"]}))
    table = lake.read_parquet("curated/sessions")
    assert table.schema.field("dt").type == pa.string()
    con = connect(lake)
    assert available_tables(con) == ["sessions"]
    assert con.execute("SELECT dt, count(*) FROM sessions GROUP BY dt ORDER BY dt").fetchall() == [
        ("2025-01-01", 2),
        ("2025-01-02", 2),
    ]


def test_bad_uris_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        Lake("s3://")
    with pytest.raises(ConfigurationError):
        Lake("gs://bucket/x")


def test_delete(tmp_path) -> None:
    lake = Lake(str(tmp_path))
    lake.write_bytes("reports/a/b.html", b"x")
    lake.delete("reports/a")
    assert not lake.exists("reports/a")
    lake.delete("reports/never")  # missing paths are ignored
