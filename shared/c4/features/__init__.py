"""Point-in-time guest features, churn labels, enrichment (module 2).

Public API::

    from c4.features import (compute_features, compute_labels, default_horizon_days,
                             build_training_set, batch_connection, write_features,
                             FEATURE_SPECS, FeatureSpec, TrainingSet)

Heavy modules (DuckDB, pandas) load on first use, so ``c4.features.schema`` stays light for
the Glue catalogue and the CDK stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from c4._lazy import lazy_getattr
from c4.features.schema import FEATURE_COLUMNS, FEATURE_NAMES, FEATURE_SPECS, FeatureSpec

if TYPE_CHECKING:
    from c4.features.labels import compute_labels, default_horizon_days
    from c4.features.pointintime import compute_features
    from c4.features.store import write_features
    from c4.features.training import TrainingSet, batch_connection, build_training_set, monthly_as_of_dates

_LAZY = {
    "compute_features": "pointintime",
    "compute_labels": "labels",
    "default_horizon_days": "labels",
    "batch_connection": "training",
    "build_training_set": "training",
    "monthly_as_of_dates": "training",
    "TrainingSet": "training",
    "write_features": "store",
}

__all__ = [
    "FEATURE_COLUMNS",
    "FEATURE_NAMES",
    "FEATURE_SPECS",
    "FeatureSpec",
    "TrainingSet",
    "batch_connection",
    "build_training_set",
    "compute_features",
    "compute_labels",
    "default_horizon_days",
    "monthly_as_of_dates",
    "write_features",
]


__getattr__ = lazy_getattr(__name__, _LAZY)
