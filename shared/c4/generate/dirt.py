"""Dirt: what real controller exports get wrong, injected on purpose and counted.

Every dirty row gets exactly one ELT reject reason (or none when the row stays valid), so
the ELT's reject counts can be checked against ``raw/_generation.json``:

==============================  =====================  ==========================================
dirt                            ELT reason             rows
==============================  =====================  ==========================================
in-file duplicate               ``duplicate``          extra identical copy in the same file
late file, re-sent rows         ``duplicate``          copies of rows already delivered
late file, missing sessions     accepted               rows absent from the original file
malformed line                  ``malformed``          wrong field count / garbage / bad JSON
empty customer_id / start       ``missing_required``
unparseable session_start       ``bad_timestamp``
negative dwell, end < start,    ``bad_value``
signal outside [-120, 0]
clock skew of minutes           accepted               whole file shifted by 1-15 minutes
clock stuck years ahead         ``future_timestamp``   whole file, dated STUCK_CLOCK_YEARS later
empty optional field            accepted
==============================  =====================  ==========================================
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from c4.elt.contract import OPTIONAL
from c4.generate.config import DirtConfig
from c4.generate.render import FIELDS

#: Stream key of dirt under a mall's index (then the chunk number).
DIRT_STREAM = 3

NONE, MALFORMED, MISSING_REQUIRED, BAD_TIMESTAMP, BAD_VALUE, MISSING_OPTIONAL = range(6)
#: ELT reject reason codes of the rows the generator spoils (the ELT's contract).
REJECT_REASONS = (
    "duplicate",
    "malformed",
    "missing_required",
    "bad_timestamp",
    "bad_value",
    "future_timestamp",
)
#: Dirt counted for information (rows stay valid, or whole files).
INFO_COUNTS = (
    "missing_optional",
    "late_files",
    "late_new_rows",
    "late_resent_rows",
    "in_file_duplicates",
    "skewed_files",
    "skewed_rows",
    "future_files",
)
_COL = {name: i for i, name in enumerate(FIELDS)}
OPTIONAL_FIELDS = tuple(c for c in OPTIONAL if c not in ("session_id", "mall_id"))  # contract order
BAD_TIMESTAMPS = (
    "31/02/2025 25:61",
    "N/A",
    "2025-02-30T10:00:00",
    "0000-00-00 00:00:00",
    "not a date",
    "14-03-2025 99:99",
)
BAD_SIGNALS = ("15", "-135", "127", "-200")
LATE_DAYS = (1, 2, 3)
#: How far ahead a stuck controller clock dates its file: far enough that the rows are in the
#: future of any realistic processing time, so the ELT needs no knowledge of the generator.
STUCK_CLOCK_YEARS = 10
LATE_DAYS_P = (0.6, 0.3, 0.1)


@dataclass
class DirtPlan:
    """Dirt of one chunk: per row and per day (days in the order of ``days``)."""

    kind: np.ndarray
    variant: np.ndarray
    moved: np.ndarray
    resent: np.ndarray
    dup: np.ndarray
    dup_pos: np.ndarray
    days: np.ndarray
    late_k: np.ndarray
    skew_sec: np.ndarray
    future: np.ndarray
    row_day: np.ndarray

    def counts(self) -> Counter[str]:
        """Reject reasons and informational counts of this chunk's dirt."""
        c: Counter[str] = Counter()
        kind = np.bincount(self.kind, minlength=6)
        future_rows = self.future[self.row_day]
        c["duplicate"] = int(self.dup.sum() + self.resent.sum())
        c["malformed"] = int(kind[MALFORMED])
        c["missing_required"] = int(kind[MISSING_REQUIRED])
        c["bad_timestamp"] = int(kind[BAD_TIMESTAMP])
        c["bad_value"] = int(kind[BAD_VALUE])
        c["future_timestamp"] = int(future_rows.sum())
        c["missing_optional"] = int(kind[MISSING_OPTIONAL])
        late_rows = np.bincount(self.row_day, weights=self.moved | self.resent, minlength=self.days.size)
        c["late_files"] = int(((self.late_k > 0) & (late_rows > 0)).sum())
        c["late_new_rows"] = int(self.moved.sum())
        c["late_resent_rows"] = int(self.resent.sum())
        c["in_file_duplicates"] = int(self.dup.sum())
        c["skewed_files"] = int((self.skew_sec != 0).sum())
        c["skewed_rows"] = int((self.skew_sec[self.row_day] != 0).sum())
        c["future_files"] = int(self.future.sum())
        return c


def clean_plan(day: np.ndarray) -> DirtPlan:
    """A plan with no dirt (``--dirt none``)."""
    days, row_day = np.unique(day, return_inverse=True)
    n, nd = day.size, days.size
    false = np.zeros(n, dtype=bool)
    return DirtPlan(
        np.zeros(n, dtype=np.int64),
        np.zeros(n, dtype=np.int64),
        false,
        false,
        false,
        np.zeros(n),
        days,
        np.zeros(nd, dtype=np.int64),
        np.zeros(nd, dtype=np.int64),
        np.zeros(nd, dtype=bool),
        row_day,
    )


def plan_dirt(rng: np.random.Generator, cfg: DirtConfig, day: np.ndarray) -> DirtPlan:
    """Decide which rows and days of a chunk get which dirt.

    Parameters
    ----------
    rng : numpy.random.Generator
        The chunk's dirt stream.
    cfg : DirtConfig
        Rates.
    day : numpy.ndarray
        Window day of each row (rows sorted by day).

    Returns
    -------
    DirtPlan
    """
    plan = clean_plan(day)
    n, nd = day.size, plan.days.size
    future = rng.random(nd) < cfg.future_clock_rate
    late = (rng.random(nd) < cfg.late_file_rate) & ~future
    late_k = np.where(late, rng.choice(LATE_DAYS, size=nd, p=LATE_DAYS_P), 0)
    missing_share = cfg.late_missing_share * rng.uniform(0.5, 1.5, nd)
    resent_share = cfg.late_resent_share * rng.uniform(0.5, 1.5, nd)
    skewed = rng.random(nd) < cfg.clock_skew_rate
    skew = np.where(skewed, rng.choice((-1, 1), size=nd) * rng.integers(60, 901, nd), 0)
    rates = np.cumsum(
        [
            cfg.malformed_rate,
            cfg.missing_required_rate,
            cfg.bad_timestamp_rate,
            cfg.bad_value_rate,
            cfg.missing_optional_rate,
        ]
    )
    kind = (np.searchsorted(rates, rng.random(n), side="right") + 1) % 6
    rd = plan.row_day
    kind[future[rd]] = NONE
    clean = kind == NONE
    is_late = late_k[rd] > 0
    moved = clean & is_late & (rng.random(n) < missing_share[rd])
    resent = clean & is_late & ~moved & (rng.random(n) < resent_share[rd])
    dup = clean & ~moved & ~future[rd] & (rng.random(n) < cfg.duplicate_rate)
    return DirtPlan(
        kind=kind,
        variant=rng.integers(0, 1 << 30, n),
        moved=moved,
        resent=resent,
        dup=dup,
        dup_pos=rng.random(n),
        days=plan.days,
        late_k=late_k,
        skew_sec=skew,
        future=future,
        row_day=rd,
    )


def spoil_rows(rows: list[list[str | None]], kind: np.ndarray, variant: np.ndarray) -> list[list[str | None]]:
    """Apply field-level dirt to the plain values of dirty rows (in place, and returned).

    Parameters
    ----------
    rows : list of list
        Plain field values (in :data:`c4.generate.render.FIELDS` order) of the dirty rows.
    kind, variant : numpy.ndarray
        Dirt kind and a random integer choosing the variant, per row.

    Returns
    -------
    list of list
        The spoiled values (None = empty / null).
    """
    for row, k, v in zip(rows, kind.tolist(), variant.tolist(), strict=True):
        if k == MISSING_REQUIRED:
            row[_COL["customer_id" if v % 2 == 0 else "session_start"]] = None
        elif k == BAD_TIMESTAMP:
            row[_COL["session_start"]] = BAD_TIMESTAMPS[v % len(BAD_TIMESTAMPS)]
        elif k == BAD_VALUE and v % 3 == 0:
            row[_COL["dwell_minutes"]] = f"-{row[_COL['dwell_minutes']]}"
        elif k == BAD_VALUE and v % 3 == 1:
            start, end = _COL["session_start"], _COL["session_end"]
            row[start], row[end] = row[end], row[start]
        elif k == BAD_VALUE:
            row[_COL["signal_dbm"]] = BAD_SIGNALS[(v // 3) % len(BAD_SIGNALS)]
        elif k == MISSING_OPTIONAL:
            row[_COL[OPTIONAL_FIELDS[v % len(OPTIONAL_FIELDS)]]] = None
    return rows


def malform(lines: list[str], variant: np.ndarray, fmt: str) -> list[str]:
    """Break lines so that they cannot be parsed (wrong field count, garbage, invalid JSON)."""
    out = []
    for line, v in zip(lines, variant.tolist(), strict=True):
        body = line.rstrip("\n")
        choice = v % 3
        if choice == 2:
            out.append(f"#### export error 0x{v % 4096:03X}: buffer overrun ####\n")
        elif fmt == "csv":
            fields = body.split(",")
            broken = ",".join(fields[: 1 + (v // 3) % 12]) if choice == 0 else body + ",EXTRA_FIELD"
            out.append(broken + "\n")
        else:
            broken = body[: max(1, len(body) // 2)] if choice == 0 else body.replace('":"', '":', 1)
            out.append(broken + "\n")
    return out
