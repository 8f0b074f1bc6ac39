"""Churn analysis on the training set: rates by group and a leakage-free feature ranking."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from c4.features.schema import FEATURE_SPECS, SPECS_BY_NAME

#: Tenure buckets (days since the first visit), right-inclusive.
TENURE_BINS = (-1, 30, 90, 180, 365, 10_000)
TENURE_LABELS = ("0-30 d", "31-90 d", "91-180 d", "181-365 d", "> 1 year")

#: Visit-frequency segments, in display order.
SEGMENTS = ("single visit", "lapsing", "occasional", "regular", "frequent")
SEGMENT_RULES = {
    "single visit": "one visit in their whole history",
    "lapsing": "no visit in the last 90 days (but one in the last 180)",
    "occasional": "1-2 visits in the last 90 days",
    "regular": "3-11 visits in the last 90 days",
    "frequent": "12+ visits in the last 90 days (about weekly or more)",
}


def segment(frame: pd.DataFrame) -> pd.Series:
    """The visit-frequency segment of each row (see :data:`SEGMENT_RULES`)."""
    v90 = frame["visits_90d"]
    seg = np.select(
        [frame["visits_total"] == 1, v90 == 0, v90 <= 2, v90 <= 11],
        ["single visit", "lapsing", "occasional", "regular"],
        default="frequent",
    )
    return pd.Series(pd.Categorical(seg, categories=SEGMENTS, ordered=True), index=frame.index)


def rate_by(frame: pd.DataFrame, key: pd.Series | str) -> pd.DataFrame:
    """Churn rate, guests-dates and share of rows per group."""
    grouped = frame.groupby(key, observed=True)["churned"]
    out = pd.DataFrame({"rows": grouped.size(), "churn_rate": grouped.mean()})
    out["share"] = out["rows"] / out["rows"].sum()
    return out


def churn_tables(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Churn rate by as-of date, home mall, country, tenure bucket and segment."""
    tenure = pd.cut(frame["tenure_days"], bins=list(TENURE_BINS), labels=list(TENURE_LABELS))
    out = {
        "as_of_date": rate_by(frame, "as_of_date"),
        "tenure": rate_by(frame, tenure),
        "segment": rate_by(frame, segment(frame)),
    }
    if frame["home_mall_id"].notna().any():
        out["mall"] = rate_by(frame, "home_mall_id").sort_values("churn_rate", ascending=False)
    if frame["home_country"].notna().any():
        out["country"] = rate_by(frame, "home_country")
    return out


@dataclass(frozen=True)
class Ranking:
    """Univariate AUCs of every feature on the out-of-time rows."""

    table: pd.DataFrame  # feature, auc, direction, coverage, description
    test_date: object
    train_dates: tuple
    test_rows: int
    churn_rate: float


def feature_ranking(frame: pd.DataFrame) -> Ranking:
    """Rank features by univariate ROC-AUC on the latest as-of date (held out in time).

    Numeric features are scored as they are (missing values get the median of the earlier
    dates); a categorical feature is scored by its category's churn rate *on the earlier dates*
    (target encoding fitted before the test date), so no test label leaks into a score.  ``auc``
    is ``max(AUC, 1 - AUC)`` and ``direction`` says which way risk goes.
    """
    dates = sorted(frame["as_of_date"].unique())
    if len(dates) < 2:
        raise ValueError("the ranking needs at least two as-of dates")
    test_date = dates[-1]
    train, test = frame[frame["as_of_date"] < test_date], frame[frame["as_of_date"] == test_date]
    y = test["churned"].to_numpy()
    rows = []
    for spec in FEATURE_SPECS:
        col = test[spec.name]
        coverage = float(col.notna().mean())
        if spec.kind == "categorical":
            rates = train.groupby(spec.name)["churned"].mean()
            score = col.map(rates).astype(float).fillna(float(train["churned"].mean()))
        else:
            score = col.astype(float).fillna(float(train[spec.name].astype(float).median()))
        if np.isnan(score).all() or score.nunique() < 2 or len(set(y)) < 2:
            auc = 0.5
        else:
            auc = float(roc_auc_score(y, score))
        rows.append(
            {
                "feature": spec.name,
                "family": spec.family,
                "auc": max(auc, 1 - auc),
                "direction": (
                    "by category"
                    if spec.kind == "categorical"
                    else "higher = more churn"
                    if auc >= 0.5
                    else "lower = more churn"
                ),
                "coverage": coverage,
                "description": spec.description_en,
            }
        )
    table = pd.DataFrame(rows).sort_values("auc", ascending=False).reset_index(drop=True)
    return Ranking(table, test_date, tuple(dates[:-1]), len(test), float(y.mean()))


def by_label(frame: pd.DataFrame, feature: str) -> tuple[np.ndarray, np.ndarray]:
    """Values of a numeric feature for retained (0) and churned (1) rows, missing dropped."""
    col = frame[feature].astype(float)
    keep = col.notna()
    return col[keep & (frame["churned"] == 0)].to_numpy(), col[keep & (frame["churned"] == 1)].to_numpy()


def is_numeric(name: str) -> bool:
    """Whether a feature is numeric."""
    return SPECS_BY_NAME[name].kind == "numeric"
