"""The mall dimension."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from c4.malls import COUNTRIES, MALLS, malls_table, select_malls


def test_about_twenty_malls_across_three_countries() -> None:
    assert len(MALLS) == 20
    assert {m.country for m in MALLS} == {"CL", "PE", "CO"}
    assert len({m.mall_id for m in MALLS}) == len(MALLS)


def test_every_mall_is_consistent() -> None:
    for m in MALLS:
        assert m.timezone == COUNTRIES[m.country]["timezone"]
        ZoneInfo(m.timezone)
        assert 8 <= m.opens_hour < m.closes_hour <= 23
        assert 5 <= len(m.zones) <= 10


def test_select_keeps_countries_interleaved() -> None:
    assert {m.country for m in select_malls(3)} == {"CL", "PE", "CO"}
    with pytest.raises(ValueError, match="between 1 and 20"):
        select_malls(0)


def test_table_has_the_catalogue_columns() -> None:
    from c4.tables import MALLS as SPEC

    table = malls_table()
    assert table.num_rows == 20
    assert [c for c, _ in SPEC.columns] == table.column_names
