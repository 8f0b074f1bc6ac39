"""The model as the rest of C4 uses it: probability, threshold, risk band and reasons."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from c4.exceptions import ModelError
from c4.modeling.reasons import CalibratedScorer, explain_matrix, reason_parts, value_phrases

#: Risk bands relative to the decision threshold ``t``: ``alto`` p >= t (an offer pays);
#: ``medio`` t/2 <= p < t (watch list); ``bajo`` p < t/2.
MEDIUM_FLOOR_FACTOR = 0.5

#: OpenMP/BLAS threads used when scoring (1: predictable on shared or small machines).
SCORING_THREADS = 1


@dataclass(frozen=True)
class FeatureInfo:
    """What the model knows about one feature (a copy of the features module's FeatureSpec)."""

    name: str
    kind: str
    description_es: str
    description_en: str
    risk_direction: str | None = None

    @classmethod
    def from_spec(cls, spec: Any) -> FeatureInfo:
        """Copy any object with FeatureSpec's attributes (or a dict)."""
        get = spec.get if isinstance(spec, Mapping) else lambda k, d=None: getattr(spec, k, d)
        rd = get("risk_direction", None)
        return cls(
            str(get("name")),
            str(get("kind")),
            str(get("description_es") or get("name")),
            str(get("description_en") or get("name")),
            None if rd is None else str(rd),
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON form (model card)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "description_es": self.description_es,
            "description_en": self.description_en,
            "risk_direction": self.risk_direction,
        }


def risk_band(p: float, threshold: float) -> str:
    """``alto`` / ``medio`` / ``bajo`` for one probability, relative to the threshold."""
    if p >= threshold:
        return "alto"
    if p >= threshold * MEDIUM_FLOOR_FACTOR:
        return "medio"
    return "bajo"


@dataclass
class ChurnModel:
    """A trained, calibrated churn model with its card.

    Attributes
    ----------
    version : str
        Registry version (``v20261130-153000-abc1234``), empty before registration.
    estimator : sklearn estimator
        One object: pipeline + calibrator (``CalibratedClassifierCV(FrozenEstimator(pipe))``).
    card : dict
        The model card (metrics, threshold, profit parameters, ...).
    feature_specs : list of FeatureInfo
    """

    version: str
    estimator: Any
    card: dict[str, Any]
    feature_specs: list[FeatureInfo] = field(default_factory=list)
    _scorer: CalibratedScorer | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def threshold(self) -> float:
        """Decision threshold (offer retention when ``p >= threshold``)."""
        return float(self.card["threshold"])

    @property
    def features(self) -> list[str]:
        """Feature column names the model reads."""
        return [f.name for f in self.feature_specs]

    @property
    def references(self) -> dict[str, Any]:
        """Reference values (training median / mode) used by the reasons."""
        return dict(self.card.get("reference_values", {}))

    def _frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.features if c not in frame.columns]
        if missing:
            raise ModelError(f"model {self.version or '(unregistered)'} needs feature columns {missing}")
        return frame[self.features].reset_index(drop=True)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated churn probability of each row (1-D array, one value per row)."""
        if len(frame) == 0:
            return np.zeros(0)
        with threadpool_limits(limits=SCORING_THREADS):
            return np.asarray(self.estimator.predict_proba(self._frame(frame))[:, 1])

    def threshold_for(self, country: str | None = None) -> float:
        """The country's own profit threshold when known, else the global one."""
        by_country = self.card.get("threshold_by_country") or {}
        return float(by_country.get(country, self.threshold)) if country else self.threshold

    def risk_band(self, p: float, country: str | None = None) -> str:
        """``"alto"`` (p >= t), ``"medio"`` (t/2 <= p < t) or ``"bajo"``."""
        return risk_band(float(p), self.threshold_for(country))

    def risk_bands(self, p: Sequence[float] | np.ndarray) -> list[str]:
        """Risk band of each probability (global threshold)."""
        return [risk_band(float(x), self.threshold) for x in np.asarray(p, dtype=float)]

    def explain(self, frame: pd.DataFrame, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated probability and top ``k`` reasons of each row, in one pass.

        Returns
        -------
        (probability, reasons)
            As :meth:`predict_proba`, and an ``(n, k)`` index array into :attr:`features`
            (best first, ``-1`` where a row has fewer reasons).  Screen-then-verify
            occlusion: see :mod:`c4.modeling.reasons`.
        """
        X = self._frame(frame)
        if len(X) == 0:
            return np.zeros(0), np.zeros((0, k), dtype=int)
        if self._scorer is None:
            self._scorer = CalibratedScorer(self.estimator, self.features)
        with threadpool_limits(limits=SCORING_THREADS):
            return explain_matrix(self.estimator, X, self.features, self.references, k, scorer=self._scorer)

    def reason_matrix(self, frame: pd.DataFrame, k: int = 3) -> np.ndarray:
        """Each row's top ``k`` risk-raising features as an ``(n, k)`` index array (see :meth:`explain`)."""
        return self.explain(frame, k)[1]

    def reason_indices(self, frame: pd.DataFrame, k: int = 3) -> list[list[int]]:
        """Indices (into :attr:`features`) of each row's top ``k`` risk-raising features."""
        return [[int(j) for j in row if j >= 0] for row in self.reason_matrix(frame, k)]

    def reason_words(self, frame: pd.DataFrame, top: np.ndarray, lang: str = "es") -> list[list[str]]:
        """The reasons of :meth:`reason_matrix` in plain words, row by row.

        Parameters
        ----------
        frame : pandas.DataFrame
            The rows ``top`` was computed for.
        top : int array (n, k)
            :meth:`reason_matrix` output.
        lang : str
            ``"es"`` or ``"en"``.

        Returns
        -------
        list of list of str
        """
        texts = self.reason_texts(frame, top, lang)
        return [[t for t in row if t is not None] for row in texts.tolist()]

    def reason_texts(self, frame: pd.DataFrame, top: np.ndarray, lang: str = "es") -> np.ndarray:
        """:meth:`reason_words` as an ``(n, k)`` object array: ``None`` where ``top`` is ``-1``.

        Built column-wise: one feature's values at a time, each distinct value worded once.
        """
        X = self._frame(frame)
        refs = self.references
        texts = np.full(top.shape, None, dtype=object)
        for j in np.unique(top[top >= 0]):
            spec = self.feature_specs[j]
            head, tail = reason_parts(spec, refs.get(spec.name), lang)
            rows, slots = np.nonzero(top == j)
            values = X[spec.name].iloc[rows].to_numpy(dtype=object)
            texts[rows, slots] = value_phrases(spec, values, lang, head, tail)
        return texts

    def reasons(self, frame: pd.DataFrame, k: int = 3, lang: str = "es") -> list[list[str]]:
        """Top ``k`` reasons per row in plain words (``lang`` = ``"es"`` or ``"en"``).

        A reason is a feature whose replacement by the typical value (training median or
        mode) lowers the guest's calibrated churn probability; see :mod:`c4.modeling.reasons`.
        """
        if lang not in ("es", "en"):
            raise ModelError("lang must be 'es' or 'en'")
        return self.reason_words(frame, self.reason_matrix(frame, k), lang)
