"""Synthetic data for the modelling tests: a small visit process with known structure.

Guests visit as a Poisson process with a gamma-distributed rate until a random dropout day
(a buy-till-you-die world).  From the simulated visits we compute, at each as-of date,
features of the shape ``c4.features.build_training_set`` returns and the churn label (no
visit in ``(T, T+H]``).  Fast (a few thousand guests in well under a second).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

START = date(2025, 1, 1)


@dataclass(frozen=True)
class Spec:
    """Stand-in for ``c4.features.FeatureSpec``."""

    name: str
    kind: str
    description_es: str
    description_en: str
    risk_direction: str = "higher"


SPECS = [
    Spec("days_since_last_visit", "numeric", "Días desde la última visita", "Days since the last visit"),
    Spec(
        "visits_last_90d", "numeric", "Visitas en los últimos 90 días", "Visits in the last 90 days", "lower"
    ),
    Spec("visits_total", "numeric", "Visitas en total", "Visits in total", "lower"),
    Spec("tenure_days", "numeric", "Días desde la primera visita", "Days since the first visit", "lower"),
    Spec("mean_gap_days", "numeric", "Días promedio entre visitas", "Mean days between visits"),
    Spec("avg_dwell_minutes", "numeric", "Minutos promedio por visita", "Mean minutes per visit", "lower"),
    Spec("home_mall_id", "categorical", "Mall habitual", "Usual mall"),
    Spec("home_country", "categorical", "País del mall habitual", "Country of the usual mall"),
]


@dataclass
class SyntheticTrainingSet:
    """Same attributes as ``c4.features.TrainingSet``."""

    frame: pd.DataFrame
    feature_specs: list[Spec] = field(default_factory=lambda: list(SPECS))
    horizon_days: int = 60
    as_of_dates: list[date] = field(default_factory=list)


def simulate_visits(n_customers: int = 3000, days: int = 540, seed: int = 0) -> pd.DataFrame:
    """One row per visit: ``customer_id, day`` (int day index from START), plus guest attributes."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(shape=0.8, scale=1 / 12, size=n_customers)  # visits per day
    first = rng.integers(0, days - 30, size=n_customers)
    life = rng.exponential(scale=rng.choice([60, 200, 600], size=n_customers))
    dwell = rng.lognormal(3.0, 0.5, size=n_customers)
    malls = np.array(["CL01", "PE01", "CO01", "CL02"])
    home = malls[rng.integers(0, 4, size=n_customers)]
    end = np.minimum(days, first + life)
    n = rng.poisson(rate * np.maximum(end - first, 0))
    cid = np.repeat(np.arange(n_customers), n)
    day = (first[cid] + rng.uniform(0, 1, size=len(cid)) * (end - first)[cid]).astype(int)
    visits = (
        pd.DataFrame(
            {"cid": np.concatenate([np.arange(n_customers), cid]), "day": np.concatenate([first, day])}
        )
        .drop_duplicates()
        .sort_values(["cid", "day"])
    )
    visits = visits.reset_index(drop=True)
    visits["customer_id"] = visits["cid"].map(lambda c: f"g{c:05d}")
    visits["home_mall_id"] = home[visits["cid"]]
    visits["dwell"] = dwell[visits["cid"]] * rng.lognormal(0, 0.3, size=len(visits))
    return visits


def features_at(visits: pd.DataFrame, as_of_day: int) -> pd.DataFrame:
    """Features of every guest seen on or before ``as_of_day``."""
    past = visits[visits["day"] <= as_of_day]
    g = past.groupby("customer_id")
    out = pd.DataFrame(
        {
            "last": g["day"].max(),
            "first": g["day"].min(),
            "visits_total": g.size(),
            "avg_dwell_minutes": g["dwell"].mean(),
            "home_mall_id": g["home_mall_id"].first(),
        }
    )
    recent = past[past["day"] > as_of_day - 90].groupby("customer_id").size()
    out["visits_last_90d"] = recent.reindex(out.index).fillna(0).astype(float)
    out["days_since_last_visit"] = (as_of_day - out["last"]).astype(float)
    out["tenure_days"] = (as_of_day - out["first"]).astype(float)
    gaps = out["tenure_days"] / (out["visits_total"] - 1).where(out["visits_total"] > 1)
    out["mean_gap_days"] = gaps  # NaN for one-time guests
    out["home_country"] = out["home_mall_id"].str[:2]
    out["visits_total"] = out["visits_total"].astype(float)
    return out.drop(columns=["last", "first"]).reset_index()


def labels_at(visits: pd.DataFrame, as_of_day: int, horizon: int) -> pd.Series:
    """1 when a guest has no visit in (T, T+H]."""
    future = visits[(visits["day"] > as_of_day) & (visits["day"] <= as_of_day + horizon)]
    return pd.Series(1, index=visits["customer_id"].unique()).where(
        ~pd.Index(visits["customer_id"].unique()).isin(future["customer_id"]), 0
    )


def make_training_set(
    n_customers: int = 3000,
    *,
    horizon: int = 60,
    step: int = 30,
    first_as_of: int = 120,
    days: int = 540,
    seed: int = 0,
) -> SyntheticTrainingSet:
    """A labelled training set over as-of dates ``first_as_of, first_as_of + step, ...``."""
    visits = simulate_visits(n_customers, days, seed)
    frames, dates = [], []
    for day in range(first_as_of, days - horizon + 1, step):
        f = features_at(visits, day)
        f["churned"] = labels_at(visits, day, horizon).reindex(f["customer_id"]).to_numpy().astype(int)
        d = START + timedelta(days=day)
        f.insert(1, "as_of_date", d)
        frames.append(f)
        dates.append(d)
    frame = pd.concat(frames, ignore_index=True)
    cols = ["customer_id", "as_of_date"] + [s.name for s in SPECS] + ["churned"]
    return SyntheticTrainingSet(frame[cols], horizon_days=horizon, as_of_dates=dates)


def sessions_frame(visits: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Two-column sessions (``customer_id, session_start``) from simulated visits."""
    rng = np.random.default_rng(seed)
    base = datetime(START.year, START.month, START.day, 10, 0, 0)
    minutes = rng.integers(0, 600, size=len(visits))
    starts = [
        base + timedelta(days=int(d), minutes=int(m)) for d, m in zip(visits["day"], minutes, strict=True)
    ]
    return pd.DataFrame(
        {
            "customer_id": visits["customer_id"].to_numpy(),
            "session_start": [s.strftime("%Y-%m-%dT%H:%M:%S-03:00") for s in starts],
        }
    )


def quick_config(**overrides: object) -> object:
    """A small, fast training configuration for tests."""
    from c4.modeling.config import TrainConfig

    values: dict[str, object] = {
        "trials": 2,
        "families": ("logreg", "hgb"),
        "max_tune_rows": 5000,
        "n_jobs": 1,
    }
    values.update(overrides)
    return TrainConfig(**values)  # type: ignore[arg-type]


@functools.cache
def _fitted(n_customers: int, seed: int, config_items: tuple[tuple[str, object], ...]) -> object:
    from c4.modeling.fitting import fit_and_evaluate

    return fit_and_evaluate(make_training_set(n_customers, seed=seed), quick_config(**dict(config_items)))


def fitted_outcome(n_customers: int = 1500, seed: int = 0, **config: object) -> object:
    """A trained, calibrated model (FitOutcome) on synthetic data, in a few seconds.

    Cached per arguments within the test process, so several test modules share one fit
    (treat it as read-only).
    """
    return _fitted(n_customers, seed, tuple(sorted(config.items())))
