"""Render the EDA analysis as one self-contained HTML page (figures embedded as PNG)."""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import jinja2
import pandas as pd

from c4.eda import plots
from c4.eda.analysis import Analysis, analyse, findings
from c4.eda.churn import SEGMENT_RULES, by_label, is_numeric
from c4.features.params import (
    ACTIVE_WINDOW_DAYS,
    HORIZON_GAP_PERCENTILE,
    PAYDAY_DAYS_AFTER,
)
from c4.storage import Lake

logger = logging.getLogger(__name__)

DEFAULT_REPORT = "reports/eda.html"


def _table(frame: pd.DataFrame, formats: dict[str, str] | None = None) -> str:
    """A small HTML table with per-column formats (``{:.1%}`` etc.)."""
    formats = formats or {}
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for rec in frame.itertuples(index=False):
        cells = []
        for col, v in zip(frame.columns, rec, strict=True):
            fmt = formats.get(col)
            text = fmt.format(v) if fmt and pd.notna(v) else ("" if pd.isna(v) else str(v))
            cells.append(f"<td>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _quality_section(a: Analysis) -> dict[str, Any] | None:
    q = a.quality
    if q is None:
        return None
    reasons = pd.DataFrame(list(q.by_reason.items()), columns=["reason", "rows"])
    fig = (
        plots.bar_h(
            list(reasons["reason"]),
            list(reasons["rows"]),
            title="Rejected rows by reason",
            xlabel="rows rejected (kept in quarantine)",
        )
        if len(reasons)
        else None
    )
    mall = q.by_mall.copy()
    mall["accepted %"] = mall["rows_accepted"] / mall["rows_in"].where(mall["rows_in"] > 0)
    return {
        "q": q,
        "figure": fig,
        "reasons": _table(reasons, {"rows": "{:,}"}) if len(reasons) else "",
        "malls": _table(
            mall,
            {"rows_in": "{:,}", "rows_accepted": "{:,}", "rows_rejected": "{:,}", "accepted %": "{:.2%}"},
        ),
    }


def _figures(a: Analysis) -> dict[str, str | None]:
    ch = a.churn
    overall = a.churn_rate
    ranking = a.ranking.table
    top_numeric = [f for f in ranking["feature"] if is_numeric(f)][:9]
    pairs = []
    for f in top_numeric:
        kept, gone = by_label(a.training.frame, f)
        desc = ranking.set_index("feature").loc[f, "description"]
        pairs.append((f, desc, kept, gone))
    seg = ch["segment"]
    has_country = a.daily["country"].notna().any()
    return {
        "country": plots.visits_by_country(a.daily, a.holidays) if has_country else None,
        "mall": plots.visits_by_mall(a.daily, a.holidays) if len(a.daily) else None,
        "heatmap": plots.weekday_hour_heatmap(a.weekday_hour) if a.weekday_hour.to_numpy().sum() else None,
        "dwell": plots.dwell_histogram(a.dwell) if len(a.dwell) else None,
        "gaps": plots.gap_histogram(a.gap_counts, a.gap_pct, a.horizon_days) if len(a.gap_counts) else None,
        "churn_time": plots.churn_over_time(ch["as_of_date"]),
        "churn_mall": plots.churn_bars(
            ch["mall"], title="Churn rate by home mall", xlabel_groups="home mall", overall=overall
        )
        if "mall" in ch
        else None,
        "churn_tenure": plots.churn_bars(
            ch["tenure"],
            title="Churn rate by tenure (days since first visit)",
            xlabel_groups="tenure",
            overall=overall,
        ),
        "churn_segment": plots.churn_bars(
            seg, title="Churn rate by visit-frequency segment", xlabel_groups="segment", overall=overall
        ),
        "ranking": plots.ranking_bars(ranking),
        "by_label": plots.distributions_by_label(pairs) if pairs else None,
        "calendar": plots.calendar_effects(a.effects) if not a.effects.empty else None,
    }


def render(a: Analysis) -> str:
    """The report as an HTML string."""
    template = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
        resources.files("c4.eda").joinpath("template.html").read_text(encoding="utf-8")
    )
    ranking = a.ranking.table.copy()
    ranking.insert(0, "rank", range(1, len(ranking) + 1))
    ts = a.training
    return template.render(
        a=a,
        ov=a.overview,
        ts=ts,
        findings=findings(a),
        quality=_quality_section(a),
        fig=_figures(a),
        ranking_table=jinja2.utils.markupsafe.Markup(
            _table(
                ranking[["rank", "feature", "auc", "direction", "coverage", "description"]],
                {"auc": "{:.3f}", "coverage": "{:.0%}"},
            )
        ),
        gap_pct=a.gap_pct,
        segment_rules=SEGMENT_RULES,
        params={
            "active": ACTIVE_WINDOW_DAYS,
            "pct": HORIZON_GAP_PERCENTILE,
            "payday_after": PAYDAY_DAYS_AFTER,
        },
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        markup=jinja2.utils.markupsafe.Markup,
    )


def build_report(
    lake: Lake,
    *,
    out: str | Path | None = None,
    horizon_days: int | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> str:
    """Analyse the lake and write the EDA report.

    Parameters
    ----------
    lake : Lake
        The lake to analyse.
    out : str or Path, optional
        Local output file; default ``reports/eda.html`` inside the lake.
    horizon_days : int, optional
        Churn horizon (default derived from the data).
    con : duckdb.DuckDBPyConnection, optional
        Connection to reuse.

    Returns
    -------
    str
        Where the report was written.
    """
    page = render(analyse(lake, horizon_days=horizon_days, con=con)).encode("utf-8")
    if out is None:
        lake.write_bytes(DEFAULT_REPORT, page)
        where = lake.uri_of(DEFAULT_REPORT)
    else:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(page)
        where = str(path)
    logger.info("EDA report written to %s", where)
    return where
