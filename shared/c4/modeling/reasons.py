"""Reasons per guest: the features that push a guest's churn probability up the most.

Method (consistent with the saved model by construction)
--------------------------------------------------------
*Occlusion against the typical guest.*  The contribution of feature ``j`` to guest ``i`` is
the drop of the calibrated probability when the guest's value is replaced by the reference
value (the training median for a numeric feature, the most frequent value for a categorical
one) and the model scores the guest again: ``p(x_i) - p(x_i with j at its reference)``.  A
reason is a feature with a positive drop; because isotonic calibration is flat in places, a
zero calibrated drop with a positive drop of the uncalibrated score (the response the
calibrator reads: decision function or probability) also counts, and ties in the calibrated
drop are broken by the uncalibrated one.  Every reported reason therefore satisfies: *setting
it to the typical value lowers this guest's score*.  A feature whose value equals its
reference never is a reason (its drop is exactly zero).

*Screen, then verify (scoring speed).*  Evaluating the drop of every feature costs one batch
prediction per feature (:func:`contributions`, the exhaustive form, ~40 predictions).  Scoring
uses :func:`reason_matrix` instead:

1. **screen** (one small prediction per batch): for each feature, the model's response to that
   feature alone at the reference guest -- the reference row with feature ``j`` set to each of
   at most :data:`SCREEN_BUCKETS` quantile buckets of the batch's values (every category of a
   categorical feature; missing values their own bucket).  A guest's screen score for ``j`` is
   the uncalibrated response at the guest's bucket minus the response at the reference row,
   looked up column-wise.
2. **verify** (one stacked prediction): the ``m`` features with the highest screen scores per
   guest (default ``2 k``; features equal to their reference excluded) get their exact
   occlusion drop, all guests at once; the top ``k`` positive drops are the reasons.

So each reported reason and its rank are exact occlusion results; the screen only decides
which features are tried.  ``tests/unit/test_model_reasons.py`` checks the verified property
and how often the fast top reason equals the exhaustive one.

Words
-----
:func:`reason_text` puts a reason in plain words, ``"Días desde la última visita: 45
(habitual: 12)"``.  A missing value is worded by what its absence means for that feature
(:data:`MISSING_WORDS`): the gap features of a guest with a single visit day read "aún sin
una segunda visita"; WiFi features without readings read "sin datos de señal WiFi" (or of
data use, of logins); any other missing value reads "sin datos".  Such a reason is kept, not
skipped: the model does use the absence (a single visit is itself a churn signal) and the
drop is real.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from c4.exceptions import ModelError

logger = logging.getLogger(__name__)

#: Threads a forest's trees are split over when scoring (:func:`forest_proba`).
FOREST_THREADS = 2
#: Quantile buckets per numeric feature in the screen.
SCREEN_BUCKETS = 32
#: Distinct categories per categorical feature in the screen (more: the rest score 0).
SCREEN_MAX_CATEGORIES = 256
#: A drop smaller than this is no drop (floating-point noise).
_EPS = 1e-12

#: How a missing value reads, per feature: ``(Spanish, English)``.
MISSING_WORDS: dict[str, tuple[str, str]] = {
    "gap_mean_days": ("aún sin una segunda visita", "no second visit yet"),
    "gap_std_days": ("aún sin visitas suficientes para medirla", "not enough visits to measure it"),
    "gap_last_days": ("aún sin una segunda visita", "no second visit yet"),
    "overdue_ratio": ("aún sin una segunda visita", "no second visit yet"),
    "signal_mean_dbm": ("sin datos de señal WiFi", "no WiFi signal data"),
    "mb_per_visit": ("sin datos de uso de WiFi", "no WiFi data-use records"),
    "failed_logins_per_visit": ("sin datos de conexión WiFi", "no WiFi login records"),
    "dwell_trend": ("sin historial para compararla", "no history to compare with"),
    "visits_trend_30d": ("sin historial para compararlo", "no history to compare with"),
    "mall_visits_trend": ("sin datos de su mall", "no data for the mall"),
    "mall_base_churn_rate": ("sin datos de su mall", "no data for the mall"),
}
_NO_DATA = ("sin datos", "no data")
_TYPICAL = {"es": "habitual", "en": "typical"}


# -- the model's response, with and without calibration ---------------------------------------
def reference_values(
    frame: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str]
) -> dict[str, Any]:
    """Training medians (numeric) and modes (categorical): the "typical guest"."""
    refs: dict[str, Any] = {}
    for col in numeric:
        x = pd.to_numeric(frame[col], errors="coerce")
        refs[col] = float(x.median()) if x.notna().any() else None
    for col in categorical:
        mode = frame[col].dropna().astype(str).mode()
        refs[col] = str(mode.iloc[0]) if len(mode) else None
    return refs


def raw_proba(model: Any, X: pd.DataFrame) -> np.ndarray:
    """The uncalibrated model's probability of churn (the estimator inside the calibrator)."""
    inner = getattr(model, "calibrated_classifiers_", None)
    est = inner[0].estimator if inner else model
    return np.asarray(est.predict_proba(X)[:, 1])


@dataclass(frozen=True)
class _Calibrated:
    """A fitted binary ``CalibratedClassifierCV`` taken apart: one response, its calibrators."""

    estimator: Any
    response: str
    calibrators: tuple[Any, ...]

    def raw(self, X: pd.DataFrame) -> np.ndarray:
        out = getattr(self.estimator, self.response)(X)
        return np.asarray(out[:, 1] if self.response == "predict_proba" else out, dtype=float)

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        p = np.mean([np.asarray(c.predict(raw), dtype=float) for c in self.calibrators], axis=0)
        p[(p > 1.0) & (p <= 1.0 + 1e-5)] = 1.0  # as scikit-learn does
        return np.asarray(p)


def _take_apart(model: Any) -> _Calibrated | None:
    """The response and calibrators of a binary sigmoid/isotonic calibrator sharing one estimator."""
    inner = getattr(model, "calibrated_classifiers_", None)
    if not inner or len(getattr(model, "classes_", ())) != 2:
        return None
    est = inner[0].estimator
    if any(c.estimator is not est or c.method not in ("sigmoid", "isotonic") for c in inner):
        return None
    if any(len(c.calibrators) != 1 for c in inner):
        return None
    response = "decision_function" if hasattr(est, "decision_function") else "predict_proba"
    return _Calibrated(est, response, tuple(c.calibrators[0] for c in inner))


class CalibratedScorer:
    """Uncalibrated response and calibrated probability from one pass of the estimator.

    For a ``CalibratedClassifierCV`` whose calibrated classifiers share one frozen estimator
    (C4's models), the calibrated probability is the calibrators applied to the response,
    so both come from a single prediction.  When that estimator is a ``Pipeline`` whose
    preprocessing maps each feature to one column of the same name (the tree families), the
    model can also be scored on the preprocessed matrix (:meth:`on_matrix`), so changed copies
    of the guests need no second preprocessing.  Each shortcut is checked once against the
    model's own ``predict_proba``; a model that fails the check (or any other model) is
    scored the plain way (``predict_proba`` and :func:`raw_proba`).

    Parameters
    ----------
    model : sklearn classifier
        The fitted (calibrated) estimator.
    features : sequence of str
        The model's feature columns, in order.
    """

    def __init__(self, model: Any, features: Sequence[str]) -> None:
        self.model = model
        self.features = list(features)
        self._parts = _take_apart(model)
        self._checked = self._parts is None
        self.split = _split(self._parts.estimator, self.features) if self._parts else None
        self._paths: tuple[np.ndarray, np.ndarray] | None = None
        self._reference: tuple[Any, np.ndarray] | None = None

    def __call__(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """``(raw, calibrated)`` scores of each row."""
        if self._parts is None:
            return raw_proba(self.model, X), np.asarray(self.model.predict_proba(X)[:, 1])
        raw = self._parts.raw(X)
        cal = self._parts.calibrate(raw)
        if not self._checked:
            self._check(X, cal)
        return raw, cal

    def on_matrix(self, Xt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(raw, calibrated)`` of preprocessed rows (only with :attr:`split`)."""
        if self.split is None or self._parts is None:
            raise ModelError("this model cannot be scored on a preprocessed matrix")
        final = self.split.final
        out = forest_proba(final, Xt) if self._forest else getattr(final, self._parts.response)(Xt)
        raw = np.asarray(out[:, 1] if self._parts.response == "predict_proba" else out, dtype=float)
        return raw, self._parts.calibrate(raw)

    def on_leaves(self, leaves: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`on_matrix` of rows given by their forest leaves (only when :attr:`_forest`)."""
        if self.split is None or self._parts is None or not self._forest:
            raise ModelError("this model is not a forest scored by its probabilities")
        raw = np.asarray(forest_proba_from_leaves(self.split.final, leaves)[:, 1], dtype=float)
        return raw, self._parts.calibrate(raw)

    @property
    def _forest(self) -> bool:
        """Whether the matrix shortcut's final step is a forest scored by its probabilities."""
        split, parts = self.split, self._parts
        return (
            split is not None
            and parts is not None
            and parts.response == "predict_proba"
            and _is_forest(split.final)
        )

    @property
    def matrix_dtype(self) -> type[np.floating[Any]]:
        """The preprocessed matrix's type: float32 for a forest, else float64.

        A forest's trees read float32: a float64 matrix would be converted again for every
        changed copy scored (the same values either way).
        """
        return np.float32 if self._forest else np.float64

    def reference_row(
        self, X: pd.DataFrame, features: Sequence[str], references: Mapping[str, Any]
    ) -> np.ndarray:
        """The reference values as a preprocessed row (only with :attr:`split`), kept between calls.

        Transforming one row costs as much as a few thousand (the pipeline's fixed cost), so it
        is done once per column types, features and references.
        """
        if self.split is None:
            raise ModelError("this model has no preprocessed matrix")
        key = (
            tuple(map(str, X.dtypes)),
            tuple(features),
            tuple((k, repr(references.get(k))) for k in features),
        )
        if self._reference is None or self._reference[0] != key:
            frame = _reference_frame(X, features, references)
            self._reference = (key, np.asarray(self.split.pre.transform(frame), dtype=float)[0])
        return self._reference[1]

    def path_table(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Per-leaf path contributions of a random / extra trees final step (see :func:`_paths`)."""
        if self._paths is None and self.split is not None and _is_forest(self.split.final):
            table, offsets = _paths(self.split.final, len(self.split.positions))
            self._paths = table.astype(np.float32), offsets  # a screen: float32 is plenty
        return self._paths

    def _check(self, X: pd.DataFrame, cal: np.ndarray) -> None:
        n = min(len(X), 256)
        expected = np.asarray(self.model.predict_proba(X.iloc[:n])[:, 1])
        self._checked = True
        if not np.allclose(cal[:n], expected, rtol=0.0, atol=1e-9):
            logger.warning("calibrator shortcut disagrees with predict_proba: scoring the model twice")
            self._parts = self.split = None


@dataclass(frozen=True)
class _Split:
    """A pipeline cut before its final step, with each feature's column in the matrix."""

    pre: Any
    final: Any
    positions: np.ndarray


def _split(estimator: Any, features: Sequence[str]) -> _Split | None:
    pipe = getattr(estimator, "estimator", estimator)  # FrozenEstimator -> the pipeline
    steps = getattr(pipe, "steps", None)
    if not steps or len(steps) < 2:
        return None
    pre = pipe[:-1]
    try:
        names = [str(n) for n in pre.get_feature_names_out()]
    except Exception:  # a step without feature names: not one column per feature
        return None
    if sorted(names) != sorted(features):
        return None
    return _Split(pre, pipe[-1], np.array([names.index(f) for f in features]))


def _is_forest(final: Any) -> bool:
    trees = getattr(final, "estimators_", None)
    return (
        isinstance(trees, list)
        and len(trees) > 0
        and all(hasattr(t, "tree_") for t in trees)
        and list(getattr(final, "classes_", [])) == [0, 1]
    )


def _tree_groups(n_trees: int, threads: int) -> list[range]:
    """Tree indices per thread, in the order every forest helper sums them: trees ``i::threads``."""
    return [range(i, n_trees, threads) for i in range(min(threads, n_trees))]


def forest_proba(forest: Any, X: np.ndarray, threads: int = FOREST_THREADS) -> np.ndarray:
    """``forest.predict_proba(X)`` of a fitted random / extra trees classifier, without joblib.

    The same average of the trees' probabilities as scikit-learn's, with the trees split over
    ``threads`` threads (a tree's prediction releases the GIL).  scikit-learn dispatches one
    joblib task per tree and its result retrieval polls: on C4's small forests that costs
    more than the trees (measured: the predict stage of a 20,000-guest file 0.47 s against
    0.35 s).  Each thread sums its trees in order and the parts are added in order, so the
    result does not depend on thread timing.

    Parameters
    ----------
    forest : RandomForestClassifier or ExtraTreesClassifier
        Fitted, one output.
    X : numpy.ndarray
        Rows in the forest's input space.
    threads : int
        Threads.

    Returns
    -------
    numpy.ndarray
        ``(n, n_classes)`` probabilities.
    """
    X = np.ascontiguousarray(X, dtype=np.float32)  # the trees' input type (as the forest's check)

    def part(group: range) -> np.ndarray:
        acc = np.zeros((len(X), forest.n_classes_))
        for t in group:
            acc += forest.estimators_[t].predict_proba(X, check_input=False)
        return acc

    with ThreadPoolExecutor(max_workers=threads) as pool:
        parts = list(pool.map(part, _tree_groups(len(forest.estimators_), threads)))
    total = parts[0]
    for p in parts[1:]:
        total += p
    return total / len(forest.estimators_)


def forest_apply(forest: Any, X: np.ndarray, threads: int = FOREST_THREADS) -> np.ndarray:
    """``forest.apply(X)``: each row's leaf in each tree, ``(n, n_trees)`` (see :func:`forest_proba`)."""
    X = np.ascontiguousarray(X, dtype=np.float32)

    def part(group: range) -> list[np.ndarray]:
        return [forest.estimators_[t].apply(X, check_input=False) for t in group]

    leaves: list[np.ndarray | None] = [None] * len(forest.estimators_)
    groups = _tree_groups(len(forest.estimators_), threads)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for group, got in zip(groups, pool.map(part, groups), strict=True):
            for t, leaf in zip(group, got, strict=True):
                leaves[t] = leaf
    return np.array(leaves).T


def forest_proba_from_leaves(forest: Any, leaves: np.ndarray, threads: int = FOREST_THREADS) -> np.ndarray:
    """:func:`forest_proba` from the rows' leaves (:func:`forest_apply`), without the trees.

    A tree's probability is its leaf's stored class fractions (``tree_.value``), so the same
    sums in the same order (each thread's trees in turn, then the threads' parts) give
    :func:`forest_proba` bit for bit, for a gather per tree instead of a pass down it.
    """
    n_classes = forest.n_classes_
    values = [est.tree_.value[:, 0, :n_classes] for est in forest.estimators_]
    by_tree = np.ascontiguousarray(leaves.T)  # one row of leaves per tree
    total: np.ndarray | None = None
    for group in _tree_groups(len(values), threads):
        acc = np.zeros((len(leaves), n_classes))
        for t in group:
            acc += values[t].take(by_tree[t], axis=0)
        total = acc if total is None else total + acc
    assert total is not None
    return total / len(forest.estimators_)


def _paths(forest: Any, n_columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Path contributions of every node of a random / extra trees classifier.

    Row ``o[t] + v`` of the table is, for node ``v`` of tree ``t``, the sum over the edges from
    the root to ``v`` of ``(p(child) - p(parent)) / n_trees`` credited to the parent's split
    column (``p``: the node's share of churners).  Summed over a row's leaves, it splits the
    forest's probability into its training base rate plus one term per column.
    """
    blocks, offsets, start = [], [], 0
    n_trees = len(forest.estimators_)
    for est in forest.estimators_:
        t = est.tree_
        value = t.value[:, 0, :]
        p = value[:, 1] / np.maximum(value.sum(axis=1), 1e-300)
        table = np.zeros((t.node_count, n_columns))
        level = np.array([0])
        while len(level):
            parents = level[t.children_left[level] >= 0]
            for child in (t.children_left[parents], t.children_right[parents]):
                table[child] = table[parents]
                table[child, t.feature[parents]] += (p[child] - p[parents]) / n_trees
            level = np.concatenate([t.children_left[parents], t.children_right[parents]])
        blocks.append(table)
        offsets.append(start)
        start += t.node_count
    return np.vstack(blocks), np.array(offsets)


# -- occlusion --------------------------------------------------------------------------------
def _as_float(frame: pd.DataFrame, features: Sequence[str], numeric: set[str]) -> pd.DataFrame:
    """The model's columns, numeric ones as float64 (so a reference value can be assigned)."""
    X = frame[list(features)].reset_index(drop=True)
    casts = {c: "float64" for c in features if c in numeric and X[c].dtype != "float64"}
    return X.astype(casts) if casts else X


def _equal_to_reference(
    X: pd.DataFrame, features: Sequence[str], references: Mapping[str, Any]
) -> np.ndarray:
    """``(n, F)`` bool: the guest's value is the reference (missing equals missing)."""
    eq = np.zeros((len(X), len(features)), dtype=bool)
    for j, col in enumerate(features):
        ref, values = references.get(col), X[col]
        missing = values.isna().to_numpy()
        if ref is None or (isinstance(ref, float) and math.isnan(ref)):
            eq[:, j] = missing
        elif pd.api.types.is_numeric_dtype(values.dtype):
            eq[:, j] = values.to_numpy(dtype=float, na_value=np.nan) == float(ref)
        else:
            eq[:, j] = (values.astype(object) == str(ref)).to_numpy() & ~missing
    return eq


def occlusion_drops(
    scorer: CalibratedScorer,
    X: pd.DataFrame,
    pairs: tuple[np.ndarray, np.ndarray],
    features: Sequence[str],
    references: Mapping[str, Any],
    base: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Exact drops of the calibrated and raw scores for (guest, feature) pairs, in one prediction.

    Parameters
    ----------
    scorer : CalibratedScorer
    X : pandas.DataFrame
        The guests (model columns, numeric as float).
    pairs : (rows, cols)
        Row positions into ``X`` and column indices into ``features``, same length.
    features : sequence of str
    references : mapping
        Feature -> reference value (``None``: missing).
    base : (raw, calibrated)
        The guests' unmodified scores.

    Returns
    -------
    (calibrated_drop, raw_drop) : arrays, one value per pair
    """
    rows, cols = pairs
    if len(rows) == 0:
        return np.zeros(0), np.zeros(0)
    changed = X.take(rows).reset_index(drop=True)
    for j in np.unique(cols):
        ref = references.get(features[j])
        changed.loc[cols == j, features[j]] = np.nan if ref is None else ref
    raw, cal = scorer(changed)
    return base[1][rows] - cal, base[0][rows] - raw


def contributions(
    model: Any, frame: pd.DataFrame, features: Sequence[str], references: Mapping[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Exhaustive occlusion: the drop of every feature for every guest.

    Parameters
    ----------
    model : sklearn classifier
        The calibrated estimator.
    frame : pandas.DataFrame
        The guests (at least the ``features`` columns).
    features : sequence of str
    references : mapping
        Feature -> reference value.

    Returns
    -------
    (calibrated_drop, raw_drop) : arrays of shape (n_guests, n_features)
    """
    _check_columns(frame, features)
    numeric = {c for c in features if pd.api.types.is_numeric_dtype(frame[c].dtype)}
    X = _as_float(frame, features, numeric)
    scorer = CalibratedScorer(model, features)
    scorer.split = None  # the exhaustive form scores changed frames through the whole model
    base = scorer(X)
    eq = _equal_to_reference(X, features, references)
    rows, cols = np.nonzero(~eq)
    cal = np.zeros(eq.shape)
    raw = np.zeros(eq.shape)
    cal[rows, cols], raw[rows, cols] = occlusion_drops(scorer, X, (rows, cols), features, references, base)
    return cal, raw


def _check_columns(frame: pd.DataFrame, features: Sequence[str]) -> None:
    missing = [c for c in features if c not in frame.columns]
    if missing:
        raise ModelError(f"feature columns {missing} missing from the frame to explain")


# -- ranking ----------------------------------------------------------------------------------
def rank_reasons(candidates: np.ndarray, cal_drop: np.ndarray, raw_drop: np.ndarray, k: int) -> np.ndarray:
    """Per row, the ``k`` candidates with the largest positive drops, best first.

    Parameters
    ----------
    candidates : int array (n, m)
        Feature indices (``-1``: no candidate).
    cal_drop, raw_drop : arrays (n, m)
        Calibrated and raw drops of each candidate.
    k : int

    Returns
    -------
    int array (n, k)
        Feature indices; ``-1`` pads rows with fewer than ``k`` reasons.
    """
    n, m = candidates.shape
    positive = (candidates >= 0) & ((cal_drop > _EPS) | ((np.abs(cal_drop) <= _EPS) & (raw_drop > _EPS)))
    cal_key = np.where(positive, cal_drop, -np.inf)
    raw_key = np.where(positive, raw_drop, -np.inf)
    # within each row (stable): calibrated drop (desc), then raw drop (desc)
    order = np.lexsort((-raw_key, -cal_key), axis=-1) if n else np.zeros((0, m), dtype=np.intp)
    ranked = np.take_along_axis(np.where(positive, candidates, -1), order, axis=1)
    if m < k:
        ranked = np.hstack([ranked, np.full((n, k - m), -1, dtype=ranked.dtype)])
    return np.asarray(ranked[:, :k])


def top_reason_indices(cal_drop: np.ndarray, raw_drop: np.ndarray, k: int) -> list[list[int]]:
    """Per guest, the column indices of the ``k`` largest positive contributions (exhaustive)."""
    n, f = cal_drop.shape
    ranked = rank_reasons(np.tile(np.arange(f), (n, 1)), cal_drop, raw_drop, k)
    return [[int(j) for j in row if j >= 0] for row in ranked]


# -- the screen -------------------------------------------------------------------------------
def _buckets(values: pd.Series, numeric: bool) -> tuple[list[Any], np.ndarray]:
    """Grid values of one feature and each guest's position on the grid (``-1``: off grid)."""
    if numeric:
        x = values.to_numpy(dtype=float, na_value=np.nan)
        finite = x[~np.isnan(x)]
        grid = (
            np.unique(np.quantile(finite, np.linspace(0, 1, SCREEN_BUCKETS + 1), method="inverted_cdf"))
            if len(finite)
            else np.zeros(0)
        )
        pos = np.clip(np.searchsorted(grid, x, side="right") - 1, 0, None)
        nan = np.isnan(x)
        if nan.any():
            pos[nan] = len(grid)
            return [*grid.tolist(), np.nan], pos
        return grid.tolist(), pos
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=False)
    if len(uniques) > SCREEN_MAX_CATEGORIES:
        codes = np.where(codes < SCREEN_MAX_CATEGORIES, codes, -1)
        uniques = uniques[:SCREEN_MAX_CATEGORIES]
    return [None if pd.isna(u) else u for u in uniques], np.asarray(codes)


def screen(
    scorer: CalibratedScorer,
    X: pd.DataFrame,
    features: Sequence[str],
    numeric: set[str],
    references: Mapping[str, Any],
) -> np.ndarray:
    """Screen scores ``(n, F)``: the response to each feature alone at the reference guest.

    Parameters
    ----------
    scorer : CalibratedScorer
    X : pandas.DataFrame
        The guests (model columns, numeric as float).
    features : sequence of str
    numeric : set of str
        The numeric features.
    references : mapping
        Feature -> reference value.

    Returns
    -------
    numpy.ndarray
        ``raw(reference with j := guest's bucket of j) - raw(reference)``; 0 off grid.
    """
    grids = [_buckets(X[c], c in numeric) for c in features]
    sizes = [len(g) for g, _ in grids]
    grid = X.iloc[np.zeros(1 + sum(sizes), dtype=int)].reset_index(drop=True)
    for c in features:
        ref = references.get(c)
        grid[c] = np.nan if ref is None else ref
    start = 1  # row 0: the reference guest itself
    for c, (values, _) in zip(features, grids, strict=True):
        if values:
            grid.loc[start : start + len(values) - 1, c] = values
        start += len(values)
    raw, _ = scorer(grid)
    scores = np.zeros((len(X), len(features)))
    start = 1
    for j, (_, pos) in enumerate(grids):
        if sizes[j]:
            table = np.append(raw[start : start + sizes[j]] - raw[0], 0.0)  # last: off grid
            scores[:, j] = table[np.where(pos >= 0, pos, sizes[j])]
        start += sizes[j]
    return scores


def _reference_frame(X: pd.DataFrame, features: Sequence[str], references: Mapping[str, Any]) -> pd.DataFrame:
    ref = X.iloc[[0]].reset_index(drop=True)
    for c in features:
        value = references.get(c)
        ref[c] = np.nan if value is None else value
    return ref


def _path_screen(
    scorer: CalibratedScorer, Xt: np.ndarray, leaves: np.ndarray | None = None
) -> np.ndarray | None:
    """Path contributions ``(n, F)`` of a forest (the screen's local form), else ``None``.

    ``leaves``: the rows' leaves (:func:`forest_apply`) when known already.
    """
    table = scorer.path_table()
    if table is None or scorer.split is None:
        return None
    import scipy.sparse as sp  # scipy is loaded with scikit-learn already

    nodes, offsets = table
    if leaves is None:
        leaves = forest_apply(scorer.split.final, Xt)
    leaves = (leaves + offsets).ravel()
    n, trees = len(Xt), len(offsets)
    hits = sp.csr_matrix(
        (np.ones(n * trees, dtype=np.float32), leaves, np.arange(0, n * trees + 1, trees)),
        shape=(n, len(nodes)),
    )
    return np.asarray(hits @ nodes)[:, scorer.split.positions]


def _candidates(scores: np.ndarray, eq: np.ndarray, m: int) -> np.ndarray:
    """``(n, m)`` feature indices with the highest screen scores (``-1``: none left)."""
    scores = np.where(eq, -np.inf, scores)
    f = scores.shape[1]
    part = (
        np.argpartition(-scores, m - 1, axis=1)[:, :m] if m < f else np.tile(np.arange(f), (len(scores), 1))
    )
    return np.where(np.isfinite(np.take_along_axis(scores, part, axis=1)), part, -1)


class _Guests:
    """The guests to explain, in both spaces: the frame and (when possible) the model's matrix."""

    def __init__(
        self,
        scorer: CalibratedScorer,
        X: pd.DataFrame,
        features: Sequence[str],
        references: Mapping[str, Any],
    ) -> None:
        self.scorer, self.X, self.features, self.references = scorer, X, list(features), references
        self.Xt: np.ndarray | None = None
        self.leaves: np.ndarray | None = None
        split = scorer.split
        if split is not None:
            self.Xt = np.asarray(split.pre.transform(X), dtype=scorer.matrix_dtype)
            self.rt = scorer.reference_row(X, features, references)
            if scorer._forest:  # the leaves give the probabilities and the path screen
                self.leaves = forest_apply(split.final, self.Xt)
                self.base = scorer.on_leaves(self.leaves)
            else:
                self.base = scorer.on_matrix(self.Xt)
            if not scorer._checked:
                scorer._check(X, self.base[1])
            if scorer.split is None:  # the shortcut failed its check
                self.Xt = self.leaves = None
        if self.Xt is None:
            self.base = scorer(X)

    def drops(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact occlusion drops ``(calibrated, raw)`` of (guest, feature) pairs."""
        if self.Xt is None or self.scorer.split is None or len(rows) == 0:
            return occlusion_drops(
                self.scorer, self.X, (rows, cols), self.features, self.references, self.base
            )
        at = self.scorer.split.positions[cols]
        changed = self.Xt[rows]
        changed[np.arange(len(rows)), at] = self.rt[at]
        raw, cal = self.scorer.on_matrix(changed)
        return self.base[1][rows] - cal, self.base[0][rows] - raw


def explain_matrix(
    model: Any,
    frame: pd.DataFrame,
    features: Sequence[str],
    references: Mapping[str, Any],
    k: int,
    candidates: int | None = None,
    scorer: CalibratedScorer | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each guest's calibrated probability and top ``k`` reasons (screen, then verify).

    Parameters
    ----------
    model : sklearn classifier
        The calibrated estimator.
    frame : pandas.DataFrame
        The guests (at least the ``features`` columns).
    features : sequence of str
    references : mapping
        Feature -> reference value (training median / mode).
    k : int
        Reasons per guest.
    candidates : int, optional
        Features verified per guest (default ``2 k``; ``len(features)``: exhaustive).
    scorer : CalibratedScorer, optional
        Reuse one across calls (its checks and tables are built once).

    Returns
    -------
    (probability, reasons)
        The calibrated churn probability of each guest (the model's ``predict_proba``) and an
        ``(n, k)`` int array of indices into ``features``, best first, ``-1`` padding.
    """
    _check_columns(frame, features)
    if len(frame) == 0:
        return np.zeros(0), np.zeros((0, k), dtype=int)
    scorer = scorer or CalibratedScorer(model, features)
    numeric = {c for c in features if pd.api.types.is_numeric_dtype(frame[c].dtype)}
    X = _as_float(frame, features, numeric)
    guests = _Guests(scorer, X, features, references)
    eq = _equal_to_reference(X, features, references)
    m = min(len(features), candidates or 2 * k)
    scores = (
        _path_screen(scorer, guests.Xt, guests.leaves)
        if guests.Xt is not None and m < len(features)
        else None
    )
    if scores is None and m < len(features):
        scores = screen(scorer, X, features, numeric, references)
    cand = _candidates(scores if scores is not None else np.zeros(eq.shape), eq, m)
    rows, slots = np.nonzero(cand >= 0)
    cal = np.zeros(cand.shape)
    raw = np.zeros(cand.shape)
    cal[rows, slots], raw[rows, slots] = guests.drops(rows, cand[rows, slots])
    return guests.base[1], rank_reasons(cand, cal, raw, k)


def reason_matrix(
    model: Any,
    frame: pd.DataFrame,
    features: Sequence[str],
    references: Mapping[str, Any],
    k: int,
    candidates: int | None = None,
    scorer: CalibratedScorer | None = None,
) -> np.ndarray:
    """The reasons of :func:`explain_matrix` alone: an ``(n, k)`` index array."""
    return explain_matrix(model, frame, features, references, k, candidates, scorer)[1]


# -- words ------------------------------------------------------------------------------------
def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _fmt(value: Any) -> str:
    if isinstance(value, int | float | np.integer | np.floating):
        v = float(value)
        return f"{v:.0f}" if abs(v - round(v)) < 1e-9 or abs(v) >= 100 else f"{v:.2f}".rstrip("0").rstrip(".")
    return str(value)


def _lang_index(lang: str) -> int:
    if lang not in ("es", "en"):
        raise ModelError("lang must be 'es' or 'en'")
    return 0 if lang == "es" else 1


def missing_words(feature: str, lang: str = "es") -> str:
    """How a missing value of ``feature`` reads (see :data:`MISSING_WORDS`).

    Examples
    --------
    >>> missing_words("signal_mean_dbm")
    'sin datos de señal WiFi'
    >>> missing_words("weekend_share", "en")
    'no data'
    """
    return MISSING_WORDS.get(feature, _NO_DATA)[_lang_index(lang)]


def reason_parts(spec: Any, reference: Any, lang: str) -> tuple[str, str]:
    """The fixed words around a reason's value: ``("Desc: ", " (habitual: ref)")``."""
    i = _lang_index(lang)
    desc = spec.description_es if i == 0 else spec.description_en
    ref = missing_words(spec.name, lang) if _is_missing(reference) else _fmt(reference)
    return f"{desc[:1].upper()}{desc[1:]}: ", f" ({_TYPICAL[lang]}: {ref})"


def value_words(spec: Any, values: Sequence[Any] | np.ndarray, lang: str) -> list[str]:
    """Each value of one feature in words (each distinct value formatted once)."""
    return list(value_phrases(spec, values, lang))


def value_phrases(
    spec: Any, values: Sequence[Any] | np.ndarray, lang: str, head: str = "", tail: str = ""
) -> np.ndarray:
    """``head + words + tail`` of each value of one feature, as an object array.

    Each distinct value is formatted (and put between ``head`` and ``tail``) once.
    """
    missing = missing_words(spec.name, lang)
    codes, uniques = pd.factorize(pd.Series(np.asarray(values, dtype=object), dtype=object))
    phrases = np.array([f"{head}{_fmt(u)}{tail}" for u in uniques] + [f"{head}{missing}{tail}"], dtype=object)
    return np.asarray(phrases[np.where(codes >= 0, codes, len(uniques))])


def reason_text(spec: Any, value: Any, reference: Any, lang: str) -> str:
    """One reason in plain words, e.g. ``"Días desde la última visita: 45 (habitual: 12)"``.

    A missing value reads as what its absence means (:func:`missing_words`), e.g.
    ``"Días promedio entre visitas: aún sin una segunda visita (habitual: 21)"``.
    """
    head, tail = reason_parts(spec, reference, lang)
    return f"{head}{value_words(spec, [value], lang)[0]}{tail}"
