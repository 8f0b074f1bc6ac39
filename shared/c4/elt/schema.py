"""Arrow schemas of what the ELT writes: curated ``sessions`` rows and quarantined rows."""

from __future__ import annotations

import pyarrow as pa

from c4.elt.contract import CONTRACT_COLUMNS
from c4.tables import SESSIONS

_ARROW_TYPES = {
    "string": pa.string(),
    "timestamp": pa.timestamp("us"),
    "date": pa.date32(),
    "int": pa.int32(),
    "bigint": pa.int64(),
    "double": pa.float64(),
}

#: The curated ``sessions`` columns (without the ``dt`` partition), as written to Parquet.
CURATED_SCHEMA = pa.schema([(name, _ARROW_TYPES[typ]) for name, typ in SESSIONS.columns])
CURATED_COLUMNS = tuple(CURATED_SCHEMA.names)

#: ``existing_all``: curated rows already in the lake, with partition, file name and a row key.
EXISTING_SCHEMA = pa.schema(
    [*CURATED_SCHEMA, ("dt", pa.string()), ("_key", pa.string()), ("_rk", pa.int64())]
)

#: Quarantined rows (``quarantine/rows/source=<file id>/<file id>.jsonl``, one JSON object a line).
QUARANTINE_SCHEMA = pa.schema(
    [
        ("source_file", pa.string()),
        ("line_no", pa.int64()),
        ("reason_code", pa.string()),
        ("reason", pa.string()),
        ("raw_line", pa.string()),
        *[(c, pa.string()) for c in CONTRACT_COLUMNS],
        ("rejected_at", pa.timestamp("us")),
    ]
)
QUARANTINE_COLUMNS = tuple(QUARANTINE_SCHEMA.names)
