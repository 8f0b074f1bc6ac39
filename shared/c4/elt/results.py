"""Result objects of the ELT's public functions."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass, field

import pyarrow as pa

from c4.elt.outputs import FileReport
from c4.elt.timing import StageTimes


@dataclass
class EltSummary:
    """What a batch run did.

    Attributes
    ----------
    files_processed : int
        New raw files processed in this run (unreadable ones included).
    files_skipped : int
        Raw files skipped because a manifest says they were processed before.
    files_unreadable : int
        New raw files quarantined whole.
    rows_in, rows_accepted, rows_rejected : int
        Data rows read, curated and quarantined (``rows_in = rows_accepted + rows_rejected``).
    rejected_by_reason : dict[str, int]
        Rejected rows per reason code.
    elapsed_seconds : float
        Wall time of the run.
    engine : str
        ``duckdb`` or ``spark``.
    reports : list of FileReport
        One per processed file (the content of its manifest).
    stage_times : StageTimes
        Wall and CPU seconds per stage (``probe``, ``read``, ``validate``, ``existing``,
        ``pseudonymise``, ``dedupe``, ``visits``, ``outcomes``, ``write``, ``manifests``).
    """

    files_processed: int = 0
    files_skipped: int = 0
    files_unreadable: int = 0
    rows_in: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    elapsed_seconds: float = 0.0
    engine: str = "duckdb"
    reports: list[FileReport] = field(default_factory=list, repr=False)
    stage_times: StageTimes = field(default_factory=StageTimes, repr=False)

    def add(self, reports: list[FileReport]) -> None:
        """Fold file reports into the totals."""
        reasons = Counter(self.rejected_by_reason)
        for r in reports:
            self.files_processed += 1
            self.files_unreadable += r.status != "ok"
            self.rows_in += r.rows_in
            self.rows_accepted += r.rows_accepted
            self.rows_rejected += r.rows_rejected
            reasons.update(r.rejected_by_reason)
        self.rejected_by_reason = dict(sorted(reasons.items()))
        self.reports.extend(reports)

    @property
    def unreadable(self) -> dict[str, str]:
        """Unreadable files of this run (path -> error)."""
        return {r.source_file: r.error or "" for r in self.reports if r.status != "ok"}


@dataclass
class IngestResult:
    """The outcome of :func:`c4.elt.ingest_file` for one raw file.

    Attributes
    ----------
    report : FileReport
        Status and counts (the manifest's content).
    accepted : pyarrow.Table
        The file's curated rows (curated ``sessions`` columns plus ``dt``).
    manifest_path : str
        Lake-relative path of the manifest written.
    stage_times : StageTimes
        Wall and CPU seconds per stage (as :attr:`EltSummary.stage_times`, plus ``result``:
        fetching the accepted rows).
    """

    report: FileReport
    accepted: pa.Table
    manifest_path: str
    stage_times: StageTimes = field(default_factory=StageTimes, repr=False)
    _pending: Future[StageTimes] | None = field(default=None, repr=False)

    def defer(self, writes: Future[StageTimes]) -> None:
        """Record the outputs still being written (``ingest_file`` with an executor)."""
        self._pending = writes

    def wait(self) -> None:
        """Block until the file's outputs and manifest are written; raise what the writes raised.

        Their stage times are added to :attr:`stage_times`.  A no-op when nothing is pending.
        """
        if self._pending is not None:
            times = self._pending.result()
            self._pending = None
            self.stage_times.add(times)

    @property
    def status(self) -> str:
        """``ok`` or ``unreadable``."""
        return self.report.status

    @property
    def rows_in(self) -> int:
        """Data rows read."""
        return self.report.rows_in

    @property
    def rows_accepted(self) -> int:
        """Rows curated."""
        return self.report.rows_accepted

    @property
    def rows_rejected(self) -> int:
        """Rows quarantined."""
        return self.report.rows_rejected

    @property
    def rejected_by_reason(self) -> dict[str, int]:
        """Rejected rows per reason code."""
        return self.report.rejected_by_reason


@dataclass
class CurateResult:
    """The outcome of :func:`c4.elt.curate_table` (nothing written anywhere).

    Attributes
    ----------
    accepted : pyarrow.Table
        Curated rows (curated ``sessions`` columns plus ``dt``).
    rejected : pyarrow.Table
        Rejected rows with ``reason_code`` and ``reason`` (quarantine columns).
    report : FileReport
        Counts (``rows_in = rows_accepted + rows_rejected``).
    """

    accepted: pa.Table
    rejected: pa.Table
    report: FileReport
