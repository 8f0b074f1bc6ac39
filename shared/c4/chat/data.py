"""The chat's read-only access to the lake: catalogue queries, dimensions, the model card.

Only three things are read: the lake's tables through :func:`c4.engine.connect` (curated
``sessions`` and ``malls``, ``churn_predictions``), and the model registry JSON
(``models/champion.json``, ``models/<version>/card.json``).  Nothing under ``raw/`` or
``truth/`` is ever opened.  Every query is a named query of :mod:`c4.queries` with bound,
validated parameters.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Mapping
from typing import Any

from c4.chat.entities import Dimensions, MallRef
from c4.engine import available_tables, connect
from c4.exceptions import C4Error, StorageError
from c4.queries import QueryResult, date_anchors, run_query
from c4.storage import Lake

log = logging.getLogger(__name__)
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
CHAMPION = "models/champion.json"


class NoDataError(C4Error):
    """The lake has no predictions (or no model card) to answer from yet."""


class LakeData:
    """One DuckDB connection over a lake, shared by a conversation (or a server).

    Parameters
    ----------
    lake : Lake
        The lake to read.
    snapshot : bool
        Load ``churn_predictions`` into memory once (fast answers for a long-running chat or
        server; costs a few seconds and some memory at start).  The catalogue SQL is the same
        either way.
    threads : int, optional
        DuckDB worker threads.
    """

    def __init__(self, lake: Lake, *, snapshot: bool = False, threads: int | None = None) -> None:
        self.lake = lake
        self.con = connect(lake, threads=threads)
        self.con.execute("SET enable_progress_bar = false")
        self.lock = threading.RLock()
        self.snapshot_seconds: float | None = None
        if snapshot and "churn_predictions" in available_tables(self.con):
            self._snapshot()
        self.anchors: dict[str, str] = {}
        self.dims = Dimensions([], [])
        self.refresh()

    def _snapshot(self) -> None:
        start = time.perf_counter()
        self.con.execute("CREATE SCHEMA IF NOT EXISTS c4_snapshot")
        self.con.execute(
            "CREATE OR REPLACE TABLE c4_snapshot.churn_predictions AS SELECT * FROM churn_predictions"
        )
        self.con.execute("DROP VIEW churn_predictions")
        self.con.execute("CREATE VIEW churn_predictions AS SELECT * FROM c4_snapshot.churn_predictions")
        self.snapshot_seconds = time.perf_counter() - start
        log.info("loaded churn_predictions into memory in %.1f s", self.snapshot_seconds)

    def refresh(self) -> None:
        """Re-read the scoring days, the malls and the guest ids."""
        with self.lock:
            tables = set(available_tables(self.con))
            self.anchors = date_anchors(self.con) if "churn_predictions" in tables else {}
            malls = []
            if "malls" in tables:
                malls = [MallRef(*map(str, r)) for r in run_query(self.con, "mall_dimension").rows]
            ids: list[str] = []
            if self.anchors:
                ids = [str(r[0]) for r in run_query(self.con, "guest_ids").rows]
            self.dims = Dimensions(malls, ids)

    @property
    def has_predictions(self) -> bool:
        """Whether there is at least one scoring day."""
        return bool(self.anchors)

    def run(self, name: str, params: Mapping[str, Any]) -> QueryResult:
        """Run a named query with validated, bound parameters (relative dates resolved)."""
        if not self.has_predictions and name not in ("mall_dimension",):
            raise NoDataError("no predictions yet")
        with self.lock:
            return run_query(self.con, name, params, anchors=self.anchors)

    def model_card(self) -> tuple[dict[str, Any], str]:
        """The champion model's card and the registry paths read.

        Raises
        ------
        NoDataError
            If no champion is registered or its card is missing or malformed.
        """
        try:
            champion = self.lake.read_json(CHAMPION)
        except (StorageError, ValueError) as exc:
            raise NoDataError("no champion model registered") from exc
        version = str(champion.get("version", "")) if isinstance(champion, dict) else ""
        if not _VERSION.match(version) or ".." in version:
            raise NoDataError("the champion pointer names no valid version")
        path = f"models/{version}/card.json"
        try:
            card = self.lake.read_json(path)
        except (StorageError, ValueError) as exc:
            raise NoDataError(f"the model card of {version} is missing") from exc
        if not isinstance(card, dict):
            raise NoDataError(f"the model card of {version} is malformed")
        return card, f"read_json('{CHAMPION}') -> version {version}\nread_json('{path}')"
