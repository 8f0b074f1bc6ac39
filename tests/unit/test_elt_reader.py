"""The bulk reader's row attribution: file index and original line number of every scanned row."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from c4.elt.duck_read import attribution
from c4.exceptions import C4Error


def _files(offsets: list[int]) -> pa.Table:
    return pa.table({"j": list(range(len(offsets))), "local_offset": offsets})


def test_rows_follow_their_boundary_and_skip_rejected_lines() -> None:
    # Given two files: file 0 (header = line 1) with lines 3 and 5 rejected, file 1 without rejects
    # scan: [b0, 0:L2, 0:L4, 0:L6, b1, 1:L2, 1:L3]
    bounds = np.array([0, 4])
    rejects = pa.table({"j": [0, 0], "local_line": [5, 3]})
    # When the rows are attributed
    out = attribution(bounds, 7, _files([1, 1]), rejects).to_pydict()
    # Then each row gets its file and its line in that file
    assert out["fj"] == [0, 0, 0, 0, 1, 1, 1]
    assert out["line_no"][1:4] == [2, 4, 6]
    assert out["line_no"][5:] == [2, 3]


def test_leading_rejects_and_json_lines_without_header() -> None:
    rejects = pa.table({"j": [0, 0], "local_line": [1, 2]})
    out = attribution(np.array([0]), 3, _files([0]), rejects).to_pydict()
    assert out["line_no"][1:] == [3, 4]


def test_missing_boundaries_are_an_error() -> None:
    with pytest.raises(C4Error, match="boundaries"):
        attribution(np.array([0]), 5, _files([1, 1]), pa.table({"j": [], "local_line": []}))
