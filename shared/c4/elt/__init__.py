"""Raw -> curated ELT of WiFi sessions (module 1): contract, validation, quarantine, manifests.

The transform is defined once, as SQL (``c4/elt/sql/*.sql``, DuckDB dialect), and runs on
DuckDB locally and on Spark (AWS Glue) through sqlglot.  See ``docs/data-contract.md``.

Public surface:

- :func:`run_elt` - batch over the new files of ``raw/sessions/`` (incremental, idempotent).
- :func:`ingest_file` - one raw file end to end (used by scoring).
- :func:`read_sessions_file`, :func:`curate_table` - pure functions, no lake needed.
- :func:`c4.elt.spark.run_elt_spark` - the same batch on Spark (the Glue job calls it).

Imports are lazy: ``from c4.elt import file_id`` loads the contract module only, and
``ingest_file`` loads the DuckDB path without sqlglot (only the Spark rendering needs it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from c4._lazy import lazy_getattr

if TYPE_CHECKING:  # the real imports, for type checkers; at run time they are lazy
    from c4.elt.api import curate_table, ingest_file, read_sessions_file, run_elt
    from c4.elt.batch import write_malls
    from c4.elt.contract import CONTRACT_COLUMNS, REASONS, REQUIRED, file_id, parse_mapping
    from c4.elt.outputs import FileReport
    from c4.elt.results import CurateResult, EltSummary, IngestResult

#: Where each public name lives (module of ``c4.elt``).
_LOCATIONS = {
    "curate_table": "api",
    "ingest_file": "api",
    "read_sessions_file": "api",
    "run_elt": "api",
    "write_malls": "batch",
    "CONTRACT_COLUMNS": "contract",
    "REASONS": "contract",
    "REQUIRED": "contract",
    "file_id": "contract",
    "parse_mapping": "contract",
    "FileReport": "outputs",
    "CurateResult": "results",
    "EltSummary": "results",
    "IngestResult": "results",
}


__getattr__ = lazy_getattr(__name__, _LOCATIONS)


def __dir__() -> list[str]:
    return sorted({*globals(), *_LOCATIONS})


__all__ = [
    "CONTRACT_COLUMNS",
    "REASONS",
    "REQUIRED",
    "CurateResult",
    "EltSummary",
    "FileReport",
    "IngestResult",
    "curate_table",
    "file_id",
    "ingest_file",
    "parse_mapping",
    "read_sessions_file",
    "run_elt",
    "write_malls",
]
