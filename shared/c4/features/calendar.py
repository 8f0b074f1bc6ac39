"""Enrichment calendars: public holidays of Chile, Peru and Colombia, and paydays.

* Holidays come from the ``holidays`` package (official national holidays of ``CL``, ``PE``,
  ``CO``); a visit's country is its mall's country (``malls`` dimension), so a visit with no
  mall gets no holiday flag (NULL).
* Paydays are the 15th and the last day of each month (the *quincena* and *fin de mes* pay
  cycle common in the three countries).  A visit is a *payday visit* when it falls on a payday
  or within :data:`~c4.features.params.PAYDAY_DAYS_AFTER` days after it: people shop in the
  days after pay lands.
"""

from __future__ import annotations

from datetime import date

import holidays
import pyarrow as pa

from c4.features.params import PAYDAY_DAYS_AFTER

#: Countries of the chain.
COUNTRIES = ("CL", "PE", "CO")


def holiday_table(first: date, last: date, countries: tuple[str, ...] = COUNTRIES) -> pa.Table:
    """National public holidays between two dates (inclusive).

    Parameters
    ----------
    first, last : datetime.date
        Date range.
    countries : tuple of str
        ISO country codes.

    Returns
    -------
    pyarrow.Table
        Columns ``holiday_date`` (date), ``country`` (string), ``holiday_name`` (string).
    """
    rows_d: list[date] = []
    rows_c: list[str] = []
    rows_n: list[str] = []
    years = list(range(first.year, last.year + 1))
    for country in countries:
        cal = holidays.country_holidays(country, years=years)
        for d, name in sorted(cal.items()):
            if first <= d <= last:
                rows_d.append(d)
                rows_c.append(country)
                rows_n.append(str(name))
    return pa.table(
        {
            "holiday_date": pa.array(rows_d, pa.date32()),
            "country": pa.array(rows_c, pa.string()),
            "holiday_name": pa.array(rows_n, pa.string()),
        }
    )


def payday_sql(day_expr: str, days_after: int = PAYDAY_DAYS_AFTER) -> str:
    """SQL boolean: ``day_expr`` is a payday or within ``days_after`` days after one.

    The 15th and the last day of the month are paydays; the days after the last day of a month
    are the first ``days_after`` days of the next month.
    """
    return (
        f"(day({day_expr}) BETWEEN 15 AND {15 + days_after} "
        f"OR {day_expr} = last_day({day_expr}) "
        f"OR day({day_expr}) <= {days_after})"
    )


def is_payday(d: date, days_after: int = PAYDAY_DAYS_AFTER) -> bool:
    """Python twin of :func:`payday_sql` (used by the EDA report and tests)."""
    import calendar

    last = calendar.monthrange(d.year, d.month)[1]
    return 15 <= d.day <= 15 + days_after or d.day == last or d.day <= days_after
