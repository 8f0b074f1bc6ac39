"""The candidate model families: one scikit-learn Pipeline each, feature frame to probability.

Every pipeline starts with a ``ColumnTransformer`` that selects the feature columns by name
(extra columns such as ``customer_id`` are dropped), imputes and encodes, so training and
scoring cannot diverge.  Each family has a hand-picked default (the first tuning trial) and
an Optuna search space.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import ExtraTreesClassifier, HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, QuantileTransformer

from c4.exceptions import ModelError

#: Human names of the families (reports).
FAMILY_LABELS = {
    "logreg": "Logistic regression (L2)",
    "forest": "Tree ensemble (extra trees / random forest)",
    "hgb": "Gradient boosting (HistGradientBoosting)",
}

DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "logreg": {"C": 0.3},
    "forest": {"kind": "extra", "n_estimators": 100, "min_samples_leaf": 20, "max_features": 0.5},
    "hgb": {"learning_rate": 0.08, "max_leaf_nodes": 31, "min_samples_leaf": 100, "l2_regularization": 1.0},
}

#: Each tree of the ensembles sees a bootstrap sample of this share of the rows: the forest
#: was the slowest family to fit (see docs/modeling.md, training speed).
FOREST_MAX_SAMPLES = 0.3
#: Upper bound of boosting iterations; early stopping (20 rounds without improvement on a
#: 10 % validation split) ends most fits well before it.
HGB_MAX_ITER = 400


def suggest_params(trial: Any, family: str) -> dict[str, Any]:
    """Draw one hyper-parameter set of ``family`` from an Optuna trial.

    Parameters
    ----------
    trial : optuna.Trial
    family : str
        ``logreg``, ``forest`` or ``hgb``.

    Returns
    -------
    dict
    """
    if family == "logreg":
        return {"C": trial.suggest_float("C", 1e-3, 10.0, log=True)}
    if family == "forest":
        return {
            "kind": trial.suggest_categorical("kind", ["extra", "random"]),
            "n_estimators": trial.suggest_int("n_estimators", 50, 150, step=25),
            "min_samples_leaf": trial.suggest_int("min_samples_leaf", 10, 300, log=True),
            "max_features": trial.suggest_float("max_features", 0.2, 0.9),
        }
    if family == "hgb":
        return {
            "learning_rate": trial.suggest_float("learning_rate", 0.03, 0.3, log=True),
            "max_leaf_nodes": trial.suggest_int("max_leaf_nodes", 8, 96, log=True),
            "min_samples_leaf": trial.suggest_int("min_samples_leaf", 20, 800, log=True),
            "l2_regularization": trial.suggest_float("l2_regularization", 1e-3, 30.0, log=True),
        }
    raise ModelError(f"unknown model family {family!r}")


def _preprocessor(family: str, numeric: Sequence[str], categorical: Sequence[str]) -> ColumnTransformer:
    num = list(numeric)
    cat = list(categorical)
    if family == "logreg":
        num_pipe = Pipeline(
            [
                ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
                (
                    "scale",
                    QuantileTransformer(
                        n_quantiles=200, output_distribution="normal", subsample=50_000, random_state=0
                    ),
                ),
            ]
        )
        cat_pipe = Pipeline(
            [
                (
                    "impute",
                    SimpleImputer(strategy="constant", fill_value="missing", keep_empty_features=True),
                ),
                (
                    "onehot",
                    OneHotEncoder(
                        handle_unknown="infrequent_if_exist", min_frequency=20, sparse_output=False
                    ),
                ),
            ]
        )
    else:
        # Trees: ordinal codes; HistGradientBoosting treats them as categories (see build_pipeline).
        num_pipe = (
            SimpleImputer(strategy="median", keep_empty_features=True)
            if family == "forest"
            else "passthrough"
        )
        cat_pipe = Pipeline(
            [
                (
                    "impute",
                    SimpleImputer(strategy="constant", fill_value="missing", keep_empty_features=True),
                ),
                (
                    "ordinal",
                    OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, max_categories=250),
                ),
            ]
        )
    parts: list[tuple[str, Any, list[str]]] = []
    if cat:
        parts.append(("cat", cat_pipe, cat))
    if num:
        parts.append(("num", num_pipe, num))
    if not parts:
        raise ModelError("no feature columns to train on")
    return ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=False)


def build_pipeline(
    family: str,
    params: dict[str, Any],
    numeric: Sequence[str],
    categorical: Sequence[str],
    *,
    class_weight: str | None = None,
    random_state: int = 0,
    n_jobs: int = 1,
) -> Pipeline:
    """A fresh, unfitted pipeline of one family.

    Parameters
    ----------
    family : str
        ``logreg``, ``forest`` or ``hgb``.
    params : dict
        Hyper-parameters (from :data:`DEFAULT_PARAMS` or :func:`suggest_params`).
    numeric, categorical : sequence of str
        Feature column names by kind.
    class_weight : {None, "balanced"}
        Class-imbalance handling.
    random_state : int
    n_jobs : int
        Parallel workers for the tree ensembles.

    Returns
    -------
    sklearn.pipeline.Pipeline
    """
    pre = _preprocessor(family, numeric, categorical)
    model: Any
    if family == "logreg":
        model = LogisticRegression(C=params["C"], class_weight=class_weight, max_iter=500)
    elif family == "forest":
        cls = ExtraTreesClassifier if params["kind"] == "extra" else RandomForestClassifier
        model = cls(
            n_estimators=params["n_estimators"],
            min_samples_leaf=params["min_samples_leaf"],
            max_features=params["max_features"],
            class_weight=class_weight,
            n_jobs=n_jobs,
            bootstrap=True,
            max_samples=FOREST_MAX_SAMPLES,
            random_state=random_state,
        )
    elif family == "hgb":
        model = HistGradientBoostingClassifier(
            learning_rate=params["learning_rate"],
            max_leaf_nodes=params["max_leaf_nodes"],
            min_samples_leaf=params["min_samples_leaf"],
            l2_regularization=params["l2_regularization"],
            max_iter=HGB_MAX_ITER,
            early_stopping=True,
            validation_fraction=0.1,
            n_iter_no_change=20,
            categorical_features=np.arange(len(categorical)) if len(categorical) else None,
            class_weight=class_weight,
            random_state=random_state,
        )
    else:
        raise ModelError(f"unknown model family {family!r}")
    return Pipeline([("features", pre), ("model", model)])
