"""Configuration of the synthetic WiFi generator: :class:`GeneratorConfig` and :class:`DirtConfig`."""

from __future__ import annotations

import calendar
import os
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from c4.exceptions import ConfigurationError
from c4.malls import MALLS, Mall, select_malls

#: Names of the dirt presets accepted by ``c4 generate --dirt``.
DIRT_PRESETS = ("none", "low", "high")


@dataclass(frozen=True)
class DirtConfig:
    """How much dirt the generator injects into the raw files.

    Row rates are per delivered session row; file rates are per mall-day file.  The
    default is the ``low`` preset (about 1-2 % of rows affected, as seen in real
    controller exports).

    Parameters
    ----------
    duplicate_rate : float
        Share of rows that also appear a second time, identical, in the same file
        (ELT reason ``duplicate``).
    malformed_rate : float
        Share of rows replaced by a broken line: wrong field count / garbage in CSV,
        invalid JSON in JSON lines (``malformed``).
    missing_required_rate : float
        Share of rows with an empty ``customer_id`` or ``session_start`` (``missing_required``).
    bad_timestamp_rate : float
        Share of rows whose ``session_start`` cannot be parsed (``bad_timestamp``).
    bad_value_rate : float
        Share of rows with a negative dwell, an end before the start, or a signal outside
        [-120, 0] dBm (``bad_value``).
    missing_optional_rate : float
        Share of rows with one optional field left empty.  These rows are valid.
    late_file_rate : float
        Share of mall-days whose export is completed by a late file ``<M>_<D>_late<k>``
        landed ``k`` days later.
    late_missing_share : float
        Mean share of a late day's sessions that were missing from the original file and
        arrive only in the late file (valid, accepted).
    late_resent_share : float
        Mean share of a late day's delivered rows that the late file sends again
        (exact duplicates, ``duplicate``).
    clock_skew_rate : float
        Share of mall-days whose controller clock is off by 1-15 minutes (rows valid).
    future_clock_rate : float
        Share of mall-days whose controller clock is stuck years in the future
        (:data:`c4.generate.dirt.STUCK_CLOCK_YEARS`): every row of that file is
        ``future_timestamp`` for any processing time before then.
    """

    duplicate_rate: float = 0.004
    malformed_rate: float = 0.001
    missing_required_rate: float = 0.001
    bad_timestamp_rate: float = 0.001
    bad_value_rate: float = 0.001
    missing_optional_rate: float = 0.006
    late_file_rate: float = 0.03
    late_missing_share: float = 0.06
    late_resent_share: float = 0.04
    clock_skew_rate: float = 0.01
    future_clock_rate: float = 0.001

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not 0.0 <= float(value) <= 1.0:
                raise ConfigurationError(f"DirtConfig.{name} must be in [0, 1], got {value}")
        if self.row_rate_total > 0.5:
            raise ConfigurationError("the row dirt rates add up to more than 0.5")

    @property
    def row_rate_total(self) -> float:
        """Sum of the per-row rates of the kinds that replace a row's content."""
        return (
            self.malformed_rate
            + self.missing_required_rate
            + self.bad_timestamp_rate
            + self.bad_value_rate
            + self.missing_optional_rate
        )

    @property
    def enabled(self) -> bool:
        """Whether any dirt is injected at all."""
        return any(float(v) > 0 for v in asdict(self).values())

    @classmethod
    def preset(cls, name: str) -> DirtConfig:
        """The named preset: ``none``, ``low`` (default, realistic) or ``high``.

        Raises
        ------
        ConfigurationError
            If the name is unknown.
        """
        if name == "none":
            return cls(**{k: 0.0 for k in asdict(cls())})
        if name == "low":
            return cls()
        if name == "high":
            return cls(
                duplicate_rate=0.02,
                malformed_rate=0.005,
                missing_required_rate=0.005,
                bad_timestamp_rate=0.005,
                bad_value_rate=0.005,
                missing_optional_rate=0.03,
                late_file_rate=0.10,
                late_missing_share=0.08,
                late_resent_share=0.06,
                clock_skew_rate=0.05,
                future_clock_rate=0.005,
            )
        raise ConfigurationError(f"unknown dirt preset {name!r}; use one of {', '.join(DIRT_PRESETS)}")


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole calendar months (day of month clamped to the month's length)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def default_workers() -> int:
    """Cores available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate.

    Parameters
    ----------
    customers : int
        Guests in the latent population (the truth table): guests alive at some point of
        the window, pre-existing ones and new arrivals.
    months : int
        Length of the window in calendar months from ``start``.
    seed : int
        Master seed; every mall gets its own stream spawned from it.
    malls : int or None
        Use the first ``malls`` malls of :data:`c4.malls.MALLS` (all when None).
    start : datetime.date
        First local day of the window.
    dirt : DirtConfig
        Dirt injected into the raw files.
    workers : int or None
        Processes generating malls in parallel (default: the cores available).  The output
        does not depend on it.
    only_malls : tuple of str or None
        Write the raw files of these malls only (ids).  The population and every mall's
        stream are unchanged, so a mall's files are identical to a full run's: partitions
        can be produced by separate jobs.  ``truth/guests.parquet`` is written by full runs
        and by the partial run holding the first selected mall (same bytes); the activity
        counts and ``raw/_generation.json`` by full runs only.
    """

    customers: int = 20_000
    months: int = 18
    seed: int = 42
    malls: int | None = None
    start: date = date(2024, 6, 1)
    dirt: DirtConfig = field(default_factory=DirtConfig)
    workers: int | None = None
    only_malls: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise ConfigurationError(f"customers must be >= 1, got {self.customers}")
        if not 1 <= self.months <= 120:
            raise ConfigurationError(f"months must be between 1 and 120, got {self.months}")
        if self.seed < 0:
            raise ConfigurationError(f"seed must be >= 0, got {self.seed}")
        if self.workers is not None and self.workers < 1:
            raise ConfigurationError(f"workers must be >= 1, got {self.workers}")
        try:
            selected = select_malls(self.malls)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from exc
        if self.only_malls is not None:
            known = {m.mall_id for m in selected}
            unknown = sorted(set(self.only_malls) - known)
            if unknown:
                raise ConfigurationError(f"only_malls not among the selected malls: {', '.join(unknown)}")

    @property
    def end(self) -> date:
        """First local day after the window."""
        return add_months(self.start, self.months)

    @property
    def n_days(self) -> int:
        """Days in the window."""
        return (self.end - self.start).days

    @property
    def selected_malls(self) -> tuple[Mall, ...]:
        """The malls of the population (``malls`` first malls)."""
        return select_malls(self.malls)

    @property
    def written_malls(self) -> tuple[Mall, ...]:
        """The malls whose raw files this run writes."""
        if self.only_malls is None:
            return self.selected_malls
        return tuple(m for m in self.selected_malls if m.mall_id in set(self.only_malls))

    @property
    def effective_workers(self) -> int:
        """Worker processes to use."""
        return self.workers or default_workers()

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (recorded in ``raw/_generation.json`` and the truth table)."""
        out = asdict(self)
        out["start"] = self.start.isoformat()
        out["malls"] = [m.mall_id for m in self.selected_malls]
        out.pop("workers")
        out["only_malls"] = list(self.only_malls) if self.only_malls is not None else None
        return out


def mall_index(mall: Mall) -> int:
    """Position of a mall in :data:`c4.malls.MALLS` (the key of its random streams)."""
    return next(i for i, m in enumerate(MALLS) if m.mall_id == mall.mall_id)
