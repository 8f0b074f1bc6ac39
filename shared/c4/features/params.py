"""Fixed, documented constants of the feature definitions (light module: no heavy imports).

Changing one of these changes the feature definitions, so models trained before the change
must be retrained.  See ``docs/features.md`` for the reasoning behind each value.
"""

from __future__ import annotations

#: A guest is *active* at as-of date T when they visited in the look-back window (T - 180, T].
ACTIVE_WINDOW_DAYS = 180

#: Rolling visit-count windows (days ending with T, inclusive of T).
COUNT_WINDOWS_DAYS = (7, 30, 90, 180)

#: Fixed horizon (days) of the population-level context features: the home mall's base churn
#: rate is measured at reference date T - 60 over (T - 60, T]; the Pareto/NBD and BG/NBD
#: expected visits are for the next 60 days.  Fixed (not the label horizon) so that a feature
#: never depends on how labels are defined nor on data after T.
CONTEXT_HORIZON_DAYS = 60

#: Guests sampled (deterministically, by hash of customer_id) to fit Pareto/NBD and BG/NBD at
#: each as-of date.
BTYD_SAMPLE_SIZE = 2000

#: Guests sampled (deterministically, by hash of customer_id) per as-of date to estimate each
#: mall's base churn rate.
CONTEXT_SAMPLE_SIZE = 50_000

#: Paydays: the 15th and the last day of the month (quincena and fin de mes in CL, PE, CO);
#: a visit is a payday visit when it falls on a payday or within this many days after it.
PAYDAY_DAYS_AFTER = 2

#: Local hour from which a visit counts as an evening visit.
EVENING_HOUR = 18

#: Minimum history (days) before the first default monthly as-of date of a training set.
MIN_HISTORY_DAYS = 90

#: Default label horizon: this percentile of inter-visit gaps (days) of returning guests ...
HORIZON_GAP_PERCENTILE = 90
#: ... rounded up to whole weeks and clamped to this range.
HORIZON_BOUNDS_DAYS = (28, 182)

#: A day belongs to the data's date range when it has at least this share of the median daily
#: session count (days outside, from skewed controller clocks, do not extend the range).
MIN_DAY_VOLUME_SHARE = 0.2
