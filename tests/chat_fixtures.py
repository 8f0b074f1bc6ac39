"""A realistic lake for the named-query and chat tests (and the chat benchmark).

Writes, with the real :class:`c4.storage.Lake` API and at the real locations:

* ``malls`` (``c4.malls.malls_table``),
* curated ``sessions`` (one Parquet file per ``dt``), simulated from a visit process: each
  guest has a home mall, a visit rate and, for about a third, a dropout day after which
  they never come back;
* ``churn_predictions`` (``dt=<d>/mall_id=<m>/part-0.parquet``) for the last ``n_days``
  days: every guest already seen is scored daily at their home mall, with a probability
  that grows with the days since the last visit and falls with recent visits, a risk band,
  reasons in plain Spanish and a retention message for the riskier guests;
* the model registry (``models/champion.json`` and ``models/<version>/card.json``);
* a raw CSV with MAC addresses and a ``truth/`` file, which nothing in the chat may read.

Deterministic per seed.  Small by default (a fraction of a second); the benchmark scales it
up to the default lake size (~20 malls, ~20k guests, ~60 days of predictions).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
import pyarrow as pa
from c4.malls import malls_table, select_malls
from c4.storage import Lake

LAST_DT = date(2025, 6, 30)
HORIZON_DAYS = 14
MODEL_VERSION = "v20250601-gbm-3f9c2a"
HISTORY_DAYS = 28
RAW_MACS = ("a4:5e:60:12:34:56", "a4:5e:60:ab:cd:ef")

PROFIT_PARAMS = {
    "CL": {"offer_cost": 2500.0, "success_rate": 0.25, "guest_value": 45000.0},
    "PE": {"offer_cost": 10.0, "success_rate": 0.2, "guest_value": 180.0},
    "CO": {"offer_cost": 9000.0, "success_rate": 0.22, "guest_value": 160000.0},
}

_REASONS_HIGH = (
    "muchos días desde la última visita",
    "menos visitas en las últimas 4 semanas",
    "visitas cada vez más espaciadas",
)
_REASONS_MID = (
    "menos visitas en las últimas 4 semanas",
    "menos minutos por visita",
    "días desde la última visita por encima de su costumbre",
)
_REASONS_LOW = ("visita con frecuencia", "visitó el mall hace pocos días", "cliente antiguo y constante")
_MESSAGES = (
    "¡Te extrañamos en {mall}! Esta semana tienes un 20% de descuento en el patio de comidas.",
    "Vuelve a {mall}: tu WiFi premium y un café de regalo te esperan este fin de semana.",
)


@dataclass(frozen=True)
class ChatLake:
    """What the builder wrote (for assertions in tests)."""

    lake: Lake
    first_dt: str
    last_dt: str
    mall_ids: tuple[str, ...]
    customer_ids: tuple[str, ...]
    prediction_rows: int
    session_rows: int


def _ids(n: int, seed: int) -> list[str]:
    return [hashlib.sha256(f"c4-chat-{seed}-{i}".encode()).hexdigest() for i in range(n)]


def _simulate_visits(rng: np.random.Generator, n_guests: int, total_days: int) -> np.ndarray:
    """Boolean matrix guests x days of visits (a buy-till-you-die process)."""
    rate = rng.gamma(2.0, 0.085, n_guests).clip(0.02, 0.8)
    first = rng.integers(0, HISTORY_DAYS, n_guests)
    dropout = np.where(rng.random(n_guests) < 0.35, rng.integers(5, total_days + 25, n_guests), 10**6)
    days = np.arange(total_days)
    alive = (days[None, :] >= first[:, None]) & (days[None, :] < dropout[:, None])
    visits = (rng.random((n_guests, total_days)) < rate[:, None]) & alive
    visits[np.arange(n_guests), np.minimum(first, total_days - 1)] = True  # everyone visits once
    return visits


def _sessions_table(
    visits: np.ndarray,
    day0: date,
    ids: list[str],
    home: np.ndarray,
    malls: list[str],
    rng: np.random.Generator,
) -> pd.DataFrame:
    g, d = np.nonzero(visits)
    n = len(g)
    mall = np.array(malls)[home[g]]
    away = rng.random(n) < 0.08
    mall[away] = np.array(malls)[rng.integers(0, len(malls), away.sum())]
    local_date = np.array([day0 + timedelta(days=int(x)) for x in range(visits.shape[1])])[d]
    hour = rng.integers(10, 21, n)
    start = (
        pd.to_datetime(local_date)
        + pd.to_timedelta(hour + 4, unit="h")
        + pd.to_timedelta(rng.integers(0, 3600, n), unit="s")
    )
    dwell = rng.gamma(2.0, 30.0, n).round(1)
    return pd.DataFrame(
        {
            "session_id": [f"s{x:09d}" for x in range(n)],
            "customer_id": np.array(ids)[g],
            "mall_id": mall,
            "zone": rng.choice(["entrada", "patio_comidas", "tiendas_moda", "cine"], n),
            "session_start": start.astype("datetime64[us]"),
            "session_end": (start + pd.to_timedelta(dwell, unit="m")).astype("datetime64[us]"),
            "local_date": local_date,
            "local_hour": hour.astype("int32"),
            "dwell_minutes": dwell,
            "bytes_down": rng.integers(10_000, 50_000_000, n),
            "bytes_up": rng.integers(1_000, 5_000_000, n),
            "device_os": rng.choice(["android", "ios"], n),
            "login_method": rng.choice(["sms", "social", "email"], n),
            "signal_dbm": rng.normal(-62, 5, n).round(1),
            "failed_logins": rng.integers(0, 2, n).astype("int32"),
            "visit_id": [f"v{x:09d}" for x in range(n)],
            "source_file": [
                f"raw/sessions/mall_id={m}/date={ld}/{m}_{ld}.csv"
                for m, ld in zip(mall, local_date, strict=True)
            ],
            "ingested_at": pd.Timestamp("2025-07-01 03:00:00").as_unit("us"),
            "dt": [x.isoformat() for x in local_date],
        }
    )


def _recency(visits: np.ndarray) -> np.ndarray:
    """Days since the last visit at the end of each day (large before the first visit)."""
    n, t = visits.shape
    out = np.empty((n, t), dtype=np.int64)
    last = np.full(n, -10_000)
    for day in range(t):
        last = np.where(visits[:, day], day, last)
        out[:, day] = day - last
    return out


def _predictions_table(
    visits: np.ndarray,
    day0: date,
    n_days: int,
    ids: list[str],
    home: np.ndarray,
    malls: list,
    rng: np.random.Generator,
) -> pd.DataFrame:
    total = visits.shape[1]
    recency = _recency(visits)
    csum = np.concatenate([np.zeros((visits.shape[0], 1), dtype=np.int64), visits.cumsum(axis=1)], axis=1)
    frames = []
    for day in range(total - n_days, total):
        seen = recency[:, day] < 5_000
        g = np.nonzero(seen)[0]
        r = recency[g, day]
        recent = csum[g, day + 1] - csum[g, max(0, day - 27)]
        z = -2.4 + 0.17 * np.minimum(r, 28) - 0.35 * recent + rng.normal(0, 0.35, len(g))
        prob = (1.0 / (1.0 + np.exp(-z))).clip(0.001, 0.999).round(6)
        band = np.where(prob >= 0.6, "alto", np.where(prob >= 0.3, "medio", "bajo"))
        pick = rng.integers(0, 3, len(g))
        reasons = np.where(
            band == "alto",
            np.array([f"{_REASONS_HIGH[i]}; {_REASONS_HIGH[(i + 1) % 3]}" for i in range(3)])[pick],
            np.where(
                band == "medio",
                np.array([f"{_REASONS_MID[i]}; {_REASONS_MID[(i + 2) % 3]}" for i in range(3)])[pick],
                np.array(_REASONS_LOW)[pick],
            ),
        )
        short = np.array([m.short_name for m in malls])[home[g]]
        msg_pick = rng.integers(0, 2, len(g))
        message = [
            None if b == "bajo" else _MESSAGES[k].format(mall=s)
            for b, k, s in zip(band, msg_pick, short, strict=True)
        ]
        dt = day0 + timedelta(days=day)
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": np.array(ids)[g],
                    "as_of": pd.Timestamp(dt + timedelta(days=1)).as_unit("us"),
                    "churn_probability": prob,
                    "risk_band": band,
                    "model_version": MODEL_VERSION,
                    "reasons": reasons,
                    "message": pd.array(message, dtype="string"),
                    "source_file": "raw/uploads/daily_scoring.csv",
                    "scored_at": pd.Timestamp(
                        datetime.combine(dt + timedelta(days=1), datetime.min.time()) + timedelta(hours=6)
                    ).as_unit("us"),
                    "dt": dt.isoformat(),
                    "mall_id": np.array([m.mall_id for m in malls])[home[g]],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _write_models(lake: Lake, first_dt: str, last_dt: str) -> None:
    lake.write_json("models/champion.json", {"version": MODEL_VERSION})
    lake.write_json(
        f"models/{MODEL_VERSION}/card.json",
        {
            "version": MODEL_VERSION,
            "trained_at": "2025-06-01T04:12:00Z",
            "horizon_days": HORIZON_DAYS,
            "threshold": 0.42,
            "metrics": {"roc_auc": 0.861, "pr_auc": 0.612, "brier": 0.118, "ece": 0.021, "lift_top10": 3.4},
            "baselines": {"recency_rule": {"roc_auc": 0.78, "pr_auc": 0.49}},
            "oracle_share": 0.91,
            "profit_params": PROFIT_PARAMS,
            "data_window": {
                "start": "2025-01-01",
                "end": "2025-05-31",
                "first_scored": first_dt,
                "last_scored": last_dt,
            },
        },
    )


def _write_forbidden_zones(lake: Lake) -> None:
    csv = "session_id,customer_id,mall_id\n" + "".join(f"r{i},{m},CL01\n" for i, m in enumerate(RAW_MACS))
    lake.write_bytes("raw/sessions/mall_id=CL01/date=2025-06-30/CL01_2025-06-30.csv", csv.encode())
    lake.write_parquet(
        "truth/guests.parquet", pa.table({"customer_id": list(RAW_MACS), "churned": [True, False]})
    )


def build_chat_lake(
    root: str | Path, *, n_malls: int = 6, n_guests: int = 1200, n_days: int = 35, seed: int = 7
) -> ChatLake:
    """Write the fixture lake under ``root``.

    Parameters
    ----------
    root : str or Path
        Lake folder (created).
    n_malls : int
        Number of malls (the first ``n_malls`` of :data:`c4.malls.MALLS`).
    n_guests : int
        Number of guests.
    n_days : int
        Number of scoring days (the last one is :data:`LAST_DT`); sessions start
        ``HISTORY_DAYS`` earlier.
    seed : int
        Random seed.

    Returns
    -------
    ChatLake
    """
    rng = np.random.default_rng(seed)
    malls = list(select_malls(n_malls))
    lake = Lake(str(root))
    lake.write_parquet("curated/malls/malls.parquet", malls_table(tuple(malls)))
    total = n_days + HISTORY_DAYS
    day0 = LAST_DT - timedelta(days=total - 1)
    ids = _ids(n_guests, seed)
    weights = np.array([m.popularity for m in malls])
    home = rng.choice(len(malls), n_guests, p=weights / weights.sum())
    visits = _simulate_visits(rng, n_guests, total)
    sessions = _sessions_table(visits, day0, ids, home, [m.mall_id for m in malls], rng)
    for day, part in sessions.groupby("dt", sort=True):
        table = pa.Table.from_pandas(part.drop(columns="dt"), preserve_index=False)
        lake.write_parquet(f"curated/sessions/dt={day}/part-0.parquet", table)
    preds = _predictions_table(visits, day0, n_days, ids, home, malls, rng)
    for key, part in preds.groupby(["dt", "mall_id"], sort=True):
        pred_day, mall = cast(tuple[str, str], key)
        table = pa.Table.from_pandas(part.drop(columns=["dt", "mall_id"]), preserve_index=False)
        lake.write_parquet(
            f"predictions/churn_predictions/dt={pred_day}/mall_id={mall}/part-0.parquet", table
        )
    first_dt, last_dt = str(preds["dt"].min()), str(preds["dt"].max())
    _write_models(lake, first_dt, last_dt)
    _write_forbidden_zones(lake)
    return ChatLake(
        lake,
        first_dt,
        last_dt,
        tuple(m.mall_id for m in malls),
        tuple(sorted(set(preds["customer_id"]))),
        len(preds),
        len(sessions),
    )


_CACHE: dict[str, ChatLake] = {}


def shared_chat_lake(base: Path) -> ChatLake:
    """The default fixture lake under ``base/chat_lake``, built once per test session.

    Tests must not modify it (tests that write build their own with :func:`build_chat_lake`).
    """
    key = str(base)
    if key not in _CACHE:
        _CACHE[key] = build_chat_lake(Path(base) / "chat_lake")
    return _CACHE[key]
