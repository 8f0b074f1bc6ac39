"""Everything the EDA report shows, computed in one place (the notebook uses it too)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from c4.eda import churn, data
from c4.eda.churn import Ranking
from c4.engine import connect
from c4.exceptions import ContractError
from c4.features import build_training_set
from c4.features.labels import data_date_range, default_horizon_days
from c4.features.params import HORIZON_GAP_PERCENTILE
from c4.features.source import quiet, relation_exists
from c4.features.training import TrainingSet
from c4.storage import Lake

logger = logging.getLogger(__name__)


@dataclass
class Analysis:
    """The numbers and tables of the EDA report."""

    lake_uri: str
    quality: data.Quality | None
    overview: data.Overview
    daily: pd.DataFrame
    holidays: pd.DataFrame
    weekday_hour: pd.DataFrame
    dwell: np.ndarray
    gap_counts: pd.DataFrame
    gap_pct: dict[int, float]
    horizon_days: int
    horizon_is_default: bool
    training: TrainingSet
    churn: dict[str, pd.DataFrame]
    ranking: Ranking
    effects: pd.DataFrame

    @property
    def churn_rate(self) -> float:
        """Overall churn rate of the training rows."""
        return float(self.training.frame["churned"].mean())


def analyse(
    lake: Lake, *, horizon_days: int | None = None, con: duckdb.DuckDBPyConnection | None = None
) -> Analysis:
    """Compute every number of the EDA report from the lake.

    Parameters
    ----------
    lake : Lake
        A lake with curated sessions (manifests and malls optional).
    horizon_days : int, optional
        Churn horizon; default derived from the gaps between visits.
    con : duckdb.DuckDBPyConnection, optional
        Connection to reuse (default :func:`c4.engine.connect`).

    Returns
    -------
    Analysis

    Raises
    ------
    ContractError
        If the lake has no curated sessions or too little history for labels.
    """
    if con is None:
        con = quiet(connect(lake))
    if not relation_exists(con, "sessions"):
        raise ContractError(f"no curated sessions in {lake.uri}: run c4 generate and c4 elt first")
    first, last = data_date_range(con)
    ov = data.overview(con, first, last)
    daily = data.daily_visits(con, first, last)
    counts, pct = data.gap_distribution(con)
    default_h = default_horizon_days(con)
    h = horizon_days or default_h
    logger.info("EDA: building the training set (H = %d days)", h)
    ts = build_training_set(lake, horizon_days=h, con=con)
    return Analysis(
        lake_uri=lake.uri,
        quality=data.quality(lake),
        overview=ov,
        daily=daily,
        holidays=data.holidays_for(ov.first, ov.last),
        weekday_hour=data.weekday_hour(con),
        dwell=data.dwell_minutes(con),
        gap_counts=counts,
        gap_pct=pct,
        horizon_days=h,
        horizon_is_default=h == default_h,
        training=ts,
        churn=churn.churn_tables(ts.frame),
        ranking=churn.feature_ranking(ts.frame),
        effects=data.calendar_effects(con, daily),
    )


def _pct(x: float) -> str:
    return f"{x:.0%}"


def findings(a: Analysis) -> list[str]:
    """Short plain-language findings, every number taken from the analysis."""
    ov = a.overview
    out = [
        f"{ov.sessions:,} WiFi sessions ({ov.visits:,} visits) from {ov.guests:,} guests "
        f"in {ov.malls} malls, "
        f"{ov.first:%d %b %Y} to {ov.last:%d %b %Y}. {_pct(ov.single_visit_share)} of guests were seen on "
        f"one day only; {_pct(ov.weekend_visit_share)} of visits are on weekends."
    ]
    q = a.quality
    if q is not None and q.rows_in:
        reason = next(iter(q.by_reason.items()), None)
        text = (
            f"The ELT kept {q.rows_accepted / q.rows_in:.1%} of {q.rows_in:,} raw rows "
            f"from {q.files:,} files "
            f"({q.unreadable} unreadable files)."
        )
        if reason:
            text += f" The main rejection reason is '{reason[0]}' ({reason[1]:,} rows)."
        out.append(text)
    if ov.outside_sessions:
        out.append(
            f"{ov.outside_sessions:,} sessions are dated outside the collection period (controller clocks "
            f"set wrong); they do not extend the data's end date, so no guest is labelled churned "
            f"because of them."
        )
    if a.gap_pct:
        p50, p90 = a.gap_pct.get(50, float("nan")), a.gap_pct.get(HORIZON_GAP_PERCENTILE, float("nan"))
        text = f"Half of the returns happen within {p50:.0f} days and 90% within {p90:.0f} days"
        if a.horizon_is_default:
            text += (
                f", so a guest counts as churned after {a.horizon_days} days without a visit "
                f"(the 90th percentile rounded up to whole weeks)."
            )
        else:
            text += f"; this report uses a churn horizon of {a.horizon_days} days given by hand."
        out.append(text)
    ts = a.training
    text = (
        f"Across {len(ts.as_of_dates)} monthly as-of dates, {_pct(a.churn_rate)} of active guests churned "
        f"within {ts.horizon_days} days."
    )
    mall = a.churn.get("mall")
    if mall is not None and len(mall) > 1:
        hi, lo = mall.index[0], mall.index[-1]
        text += (
            f" By home mall it ranges from {_pct(mall['churn_rate'].iloc[-1])} ({lo}) "
            f"to {_pct(mall['churn_rate'].iloc[0])} ({hi})."
        )
    out.append(text)
    seg = a.churn["segment"]
    rate, share = seg["churn_rate"].to_dict(), seg["share"].to_dict()
    if {"single visit", "frequent"} <= set(seg.index.astype(str)):
        out.append(
            f"Guests seen only once churn at {_pct(rate['single visit'])} "
            f"({_pct(share['single visit'])} of active guests); "
            f"frequent guests (12+ visits in 90 days) "
            f"at {_pct(rate['frequent'])}."
        )
    ten = a.churn["tenure"]
    if len(ten) > 1:
        out.append(
            f"Churn by tenure: {_pct(ten['churn_rate'].iloc[0])} for guests first seen in the last 30 days "
            f"vs {_pct(ten['churn_rate'].iloc[-1])} for the longest-known group ({ten.index[-1]})."
        )
    r = a.ranking.table
    top = ", ".join(f"{f} (AUC {v:.2f})" for f, v in zip(r["feature"].head(3), r["auc"].head(3), strict=True))
    base = r.set_index("feature")["auc"]
    out.append(
        f"Strongest single signals on the held-out month ({a.ranking.test_date}): {top}. "
        f"Days since the last visit alone reaches AUC {base['days_since_last_visit']:.2f}; visits in the "
        f"last 90 days {base['visits_90d']:.2f}."
    )
    g = a.weekday_hour
    if g.to_numpy().sum() > 0:
        i, j = (int(v) for v in np.unravel_index(np.argmax(g.to_numpy()), g.shape))
        out.append(
            f"The busiest moment of the week is {list(g.index)[i]} around {list(g.columns)[j]}:00; "
            f"a visit lasts {np.median(a.dwell):.0f} minutes at the median."
        )
    e = a.effects
    if not e.empty:
        hol = e.loc[e["is_holiday"], "index"].mean() - 1
        pay = e.loc[~e["is_holiday"] & e["is_payday"], "index"].mean() - 1
        out.append(
            f"Public holidays bring {hol:+.0%} visits compared with a usual day "
            f"of the same weekday and month; "
            f"payday windows {pay:+.0%}."
        )
    return out
