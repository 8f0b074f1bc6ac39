"""Pseudonymisation (HMAC-SHA256 from pre-keyed states) and the per-stage timings of a run."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

import pytest
from c4.elt import curate_table, ingest_file, read_sessions_file
from c4.elt.pseudonym import pseudonym_table, pseudonymise_values
from c4.elt.timing import StageTimes
from c4.settings import Settings
from c4.storage import open_lake

VALUES = ["a4:5e:60:00:00:01", "", "ñandú-€", "x" * 300]


KEYS = [b"", b"k", b"0123456789abcdef", bytes(range(64)), bytes(range(65)), b"z" * 200]


@pytest.mark.parametrize("key", KEYS)
def test_pseudonyms_equal_the_standard_hmac_for_every_key_length(key):
    expected = [hmac.new(key, v.encode("utf-8"), hashlib.sha256).hexdigest() for v in VALUES]
    assert pseudonymise_values(VALUES, key) == expected


def test_pseudonym_table_drops_nulls_and_keeps_ids_without_a_key():
    table = pseudonym_table(["a", None, "b"], None)
    assert table.to_pydict() == {"raw_id": ["a", "b"], "pseudo_id": ["a", "b"]}
    hashed = pseudonym_table(["a"], b"key").column("pseudo_id").to_pylist()
    assert hashed == [hmac.new(b"key", b"a", hashlib.sha256).hexdigest()]


def test_stage_times_add_up_per_stage():
    times, other = StageTimes(), StageTimes()
    with times.stage("read"):
        sum(range(1000))
    with other.stage("read"):
        pass
    with other.stage("write"):
        pass
    first = times.wall["read"]
    times.add(other)
    assert set(times.as_dict()) == {"read", "write"}
    assert times.wall["read"] == pytest.approx(first + other.wall["read"])
    assert all(v >= 0 for v in times.cpu.values())


def test_ingest_reports_the_time_of_every_stage(tmp_path):
    settings = Settings(lake=str(tmp_path / "lake"), pseudonym_key="unit-test-key-0123456789")
    lake = open_lake(settings)
    lake.write_bytes("raw/uploads/a.csv", b"customer_id,session_start\naa:01,2025-05-02T10:00:00-05:00\n")
    result = ingest_file(lake, settings, "raw/uploads/a.csv", now=datetime(2026, 11, 30))
    assert result.rows_accepted == 1
    stages = result.stage_times.as_dict()
    assert list(stages) == [
        "probe", "read", "validate", "existing", "pseudonymise", "dedupe", "visits", "outcomes",
        "write", "manifests", "result",
    ]  # fmt: skip


def test_curate_table_pseudonymises_with_the_same_hmac(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("customer_id,session_start\naa:01,2025-05-02T10:00:00-05:00\n", encoding="utf-8")
    result = curate_table(read_sessions_file(path), key=b"k3y", now=datetime(2026, 11, 30))
    assert result.accepted.column("customer_id").to_pylist() == [
        hmac.new(b"k3y", b"aa:01", hashlib.sha256).hexdigest()
    ]
