"""Writing features to the lake.

* ``features/customer_features/as_of_date=YYYY-MM-DD/part.parquet``: the guest features;
* ``features/population/reference_date=YYYY-MM-DD/population.json``: the population parts
  (mall context, Pareto/NBD and BG/NBD parameters) the build used, so that scoring reuses them
  instead of refitting (:class:`~c4.features.context.PopulationParts`);
* ``features/state/reference_date=YYYY-MM-DD/``: every guest's running state at the build's
  last reference date, which scoring starts from (:mod:`c4.features.state`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date

import pandas as pd
import pyarrow as pa

from c4.exceptions import ContractError
from c4.features.context import PopulationParts
from c4.features.schema import FEATURE_COLUMNS
from c4.features.state import write_state
from c4.storage import Lake
from c4.tables import CUSTOMER_FEATURES

logger = logging.getLogger(__name__)

#: Lake folder of the stored population parts.
POPULATION_LOCATION = "features/population"

_ARROW = {"string": pa.string(), "int": pa.int32(), "bigint": pa.int64(), "double": pa.float64()}


def arrow_schema() -> pa.Schema:
    """Arrow schema of a ``customer_features`` file (partition column excluded)."""
    return pa.schema([(name, _ARROW[typ]) for name, typ in FEATURE_COLUMNS])


def write_features(lake: Lake, frame: pd.DataFrame) -> list[str]:
    """Write features, one Parquet file per as-of date, replacing that date's partition.

    Parameters
    ----------
    lake : Lake
        Destination lake.
    frame : pandas.DataFrame
        Output of :func:`~c4.features.compute_features` (extra columns such as labels are
        dropped).

    Returns
    -------
    list of str
        Lake-relative paths of the feature partitions written.

    Notes
    -----
    The population parts in ``frame.attrs["c4_population"]`` (set by ``compute_features``)
    are written too (:func:`write_population`), and so is the guests' running state in
    ``frame.attrs["c4_state"]`` (a batch build's; :func:`~c4.features.state.write_state`).

    Raises
    ------
    ContractError
        If a feature column is missing.
    """
    missing = [n for n, _ in FEATURE_COLUMNS if n not in frame.columns] + (
        ["as_of_date"] if "as_of_date" not in frame.columns else []
    )
    if missing:
        raise ContractError(f"feature frame lacks columns: {', '.join(missing)}")
    schema = arrow_schema()
    written = []
    for as_of, part in frame.groupby("as_of_date", sort=True):
        day = pd.Timestamp(str(as_of)).date().isoformat()
        folder = f"{CUSTOMER_FEATURES.location}/as_of_date={day}"
        columns = part[[n for n, _ in FEATURE_COLUMNS]]
        columns.attrs = {}
        table = pa.Table.from_pandas(columns, schema=schema, preserve_index=False)
        lake.delete(folder)
        written.append(lake.write_parquet(f"{folder}/part.parquet", table))
        logger.info("wrote %d feature rows to %s", table.num_rows, folder)
    write_population(lake, frame.attrs.get("c4_population") or {})
    state = frame.attrs.get("c4_state")
    if state is not None:
        write_state(lake, state)
    return written


def population_path(reference: date) -> str:
    """Lake-relative path of the population parts at a reference date."""
    return f"{POPULATION_LOCATION}/reference_date={reference.isoformat()}/population.json"


def write_population(lake: Lake, parts: Mapping[date, PopulationParts]) -> list[str]:
    """Store population parts, one JSON document per reference date (replacing it).

    Parameters
    ----------
    lake : Lake
        Destination lake.
    parts : mapping of datetime.date to PopulationParts
        By reference date.

    Returns
    -------
    list of str
        Lake-relative paths written.
    """
    written = [lake.write_json(population_path(ref), p.to_json()) for ref, p in sorted(parts.items())]
    if written:
        logger.info("wrote population parts of %d reference date(s)", len(written))
    return written


def read_population(lake: Lake, reference: date) -> PopulationParts | None:
    """The stored population parts at a reference date, or None when none are stored."""
    doc = lake.read_json_if_exists(population_path(reference))
    return None if doc is None else PopulationParts.from_json(doc)
