"""Single statements of the transform SQL on DuckDB, against a plain Python reading."""

from __future__ import annotations

import itertools
from datetime import date, datetime

import duckdb
from c4.elt.pipeline import _as_date
from c4.elt.sql import SqlParams, render

PARAMS = SqlParams(datetime(2026, 1, 1), datetime(2026, 1, 1), True)
TRICKY = [
    "2025-03-14T10:00:00-03:00",
    " 2025-03-15",
    "\u00a02025-03-16 10:00",  # a no-break space: DuckDB's TRIM removes it
    "\t2025-03-20",  # a tab: TRIM keeps it, so no day
    "2025-03-1 ",
    "20250321  ",
    "2025-03-18\u00a0\u00a0",
    "  2025-03-19   ",
    "soon",
    "",
    None,
]


def test_dates_finds_every_day_the_trimmed_values_start_with():
    # Given staged start/end values with blanks around, unicode spaces, junk and nulls
    con = duckdb.connect()
    con.execute("CREATE TABLE staging (session_start VARCHAR, session_end VARCHAR)")
    con.executemany("INSERT INTO staging VALUES (?, ?)", list(itertools.product(TRICKY, TRICKY)))
    # When the dates statement runs
    rows = con.execute(render("dates", PARAMS)).fetchall()
    found = {_as_date(v) for row in rows for v in row} - {None}
    # Then it yields exactly the days of the values as the transform trims them
    trimmed = con.execute("SELECT DISTINCT SUBSTR(TRIM(v), 1, 10) FROM (SELECT UNNEST(?) AS v)", [TRICKY])
    expected = {_as_date(r[0]) for r in trimmed.fetchall()} - {None}
    assert found == expected == {date(2025, 3, d) for d in (14, 15, 16, 18, 19)}
