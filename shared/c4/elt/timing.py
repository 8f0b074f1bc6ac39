"""Wall and CPU time per ELT stage (read, validate, pseudonymise, dedupe, visits, write, ...).

CPU time is the process's (``time.process_time``: user + system of every thread, DuckDB's
worker threads included), so it shows the work done even when the machine is shared and
wall time is not.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class StageTimes:
    """Seconds spent per stage, summed over every chunk of a run.

    Attributes
    ----------
    wall : dict[str, float]
        Wall-clock seconds per stage.
    cpu : dict[str, float]
        CPU seconds per stage (all threads of the process).
    """

    wall: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the block as stage ``name`` (added to earlier time of the same stage)."""
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - wall
            self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - cpu

    def add(self, other: StageTimes) -> None:
        """Fold another run's (or chunk's) times into these."""
        for mine, theirs in ((self.wall, other.wall), (self.cpu, other.cpu)):
            for name, seconds in theirs.items():
                mine[name] = mine.get(name, 0.0) + seconds

    def as_dict(self) -> dict[str, dict[str, float]]:
        """``{stage: {"wall_s": ..., "cpu_s": ...}}``, rounded to milliseconds, in stage order."""
        return {
            name: {"wall_s": round(self.wall[name], 3), "cpu_s": round(self.cpu.get(name, 0.0), 3)}
            for name in self.wall
        }
