"""Figures of the EDA report, as base64 PNG strings (self-contained HTML)."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

COUNTRY_COLOURS = {"CL": "#d62728", "PE": "#ff7f0e", "CO": "#1f77b4"}
COUNTRY_NAMES = {"CL": "Chile", "PE": "Peru", "CO": "Colombia"}
RETAINED, CHURNED = "#2a9d8f", "#e76f51"

plt.rcParams.update(
    {
        "figure.dpi": 100,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titleweight": "bold",
        "axes.titlesize": 12,
        "axes.labelsize": 10,
        "legend.frameon": False,
        "font.size": 10,
    }
)


def to_png(fig: Figure) -> str:
    """Encode a figure as a base64 PNG and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", dpi=100)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def bar_h(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    xlabel: str,
    fmt: str = "{:,.0f}",
    colour: str = "#457b9d",
    ref: float | None = None,
    ref_label: str = "",
) -> str:
    """A horizontal bar chart with value labels (largest on top)."""
    n = len(labels)
    fig, ax = plt.subplots(figsize=(8, 0.38 * n + 1.2))
    y = np.arange(n)[::-1]
    ax.barh(y, values, color=colour)
    ax.set_yticks(y, labels)
    for yi, v in zip(y, values, strict=True):
        ax.text(v, yi, " " + fmt.format(v), va="center", fontsize=9)
    if ref is not None:
        ax.axvline(ref, color="#444", ls="--", lw=1)
        ax.text(ref, n - 0.4, f" {ref_label}", fontsize=9, color="#444")
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.set_xlim(0, max(values) * 1.18 if len(values) and max(values) > 0 else 1)
    return to_png(fig)


def visits_by_country(daily: pd.DataFrame, holidays: pd.DataFrame) -> str:
    """Weekly visits per country, one panel each, holidays marked."""
    countries = [c for c in ("CL", "PE", "CO") if c in set(daily["country"].dropna())]
    fig, axes = plt.subplots(
        len(countries), 1, figsize=(11, 2.3 * len(countries) + 0.6), sharex=True, squeeze=False
    )
    for ax, c in zip(axes[:, 0], countries, strict=True):
        d = daily[daily["country"] == c].groupby("local_date")["visits"].sum()
        w = d.resample("W-SUN").mean()
        ax.plot(d.index, d.to_numpy(), color=COUNTRY_COLOURS[c], alpha=0.25, lw=0.8, label="daily")
        ax.plot(w.index, w.to_numpy(), color=COUNTRY_COLOURS[c], lw=2, label="weekly average per day")
        for h in holidays.loc[holidays["country"] == c, "holiday_date"]:
            if d.index.min() <= h <= d.index.max():
                ax.axvline(h, color="#555", lw=0.6, ls=":", alpha=0.8)
        ax.set_ylabel("visits per day")
        ax.set_title(f"{COUNTRY_NAMES[c]} ({c}): visits per day (dotted lines = public holidays)", loc="left")
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper left", fontsize=8, ncol=2)
    axes[-1, 0].set_xlabel("local date")
    fig.tight_layout()
    return to_png(fig)


def visits_by_mall(daily: pd.DataFrame, holidays: pd.DataFrame) -> str:
    """Small multiples: weekly visits per mall (holidays of its country as ticks)."""
    malls = sorted(daily["mall_id"].unique())
    cols = 4
    rows = int(np.ceil(len(malls) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(12, 1.9 * rows + 0.6), sharex=True, squeeze=False)
    for ax in axes.flat[len(malls) :]:
        ax.axis("off")
    for ax, m in zip(axes.flat, malls, strict=False):
        d = daily[daily["mall_id"] == m]
        c = str(d["country"].dropna().iloc[0]) if d["country"].notna().any() else ""
        w = d.set_index("local_date")["visits"].resample("W-SUN").mean()
        ax.plot(w.index, w.to_numpy(), color=COUNTRY_COLOURS.get(c, "#333"), lw=1.5)
        top = float(w.max()) if len(w) else 1.0
        if c:
            hd = holidays.loc[holidays["country"] == c, "holiday_date"]
            ax.plot(hd, np.full(len(hd), top * 1.05), "|", color="#555", ms=5)
        ax.set_title(m, fontsize=10, loc="left")
        ax.set_ylim(0, top * 1.12 + 1)
        ax.tick_params(labelsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel("visits / day", fontsize=8)
    fig.suptitle(
        "Visits per day by mall, weekly average (ticks on top = public holidays of the mall's country)",
        fontweight="bold",
        x=0.01,
        ha="left",
    )
    fig.autofmt_xdate()
    fig.tight_layout()
    return to_png(fig)


def weekday_hour_heatmap(grid: pd.DataFrame) -> str:
    """Visits by weekday and arrival hour."""
    hours = [h for h in grid.columns if grid[h].sum() > 0] or list(grid.columns)
    g = grid[hours]
    fig, ax = plt.subplots(figsize=(11, 3.6))
    im = ax.imshow(g.to_numpy(), aspect="auto", cmap="YlOrRd")
    ax.set_xticks(range(len(hours)), [f"{h}:00" for h in hours], rotation=45, ha="right")
    ax.set_yticks(range(7), list(g.index))
    share = g.to_numpy() / max(g.to_numpy().sum(), 1) * 100
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            ax.text(
                j,
                i,
                f"{share[i, j]:.1f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if share[i, j] > share.max() * 0.6 else "black",
            )
    ax.set_xlabel("local arrival hour")
    ax.set_title("When guests arrive: visits by weekday and hour (numbers = % of all visits)")
    fig.colorbar(im, ax=ax, label="visits")
    return to_png(fig)


def dwell_histogram(minutes: np.ndarray) -> str:
    """Distribution of minutes per visit on a log axis."""
    fig, ax = plt.subplots(figsize=(8, 3.4))
    m = minutes[minutes > 0]
    if len(m):
        ax.hist(
            m, bins=list(np.logspace(np.log10(max(m.min(), 0.5)), np.log10(m.max()), 50)), color="#457b9d"
        )
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    med = float(np.median(m)) if len(m) else 0.0
    ax.axvline(med, color="#e76f51", lw=2, label=f"median: {med:.0f} minutes")
    ax.legend(loc="upper left")
    ax.set_xlabel("minutes per visit (log scale)")
    ax.set_ylabel("visits")
    ax.set_title("How long a visit lasts")
    return to_png(fig)


def gap_histogram(counts: pd.DataFrame, pct: dict[int, float], horizon: int) -> str:
    """Distribution of days between visits with its percentiles and the chosen horizon."""
    fig, ax = plt.subplots(figsize=(9, 3.6))
    c = counts[counts["gap_days"] <= 240]
    ax.bar(c["gap_days"], c["n"] / counts["n"].sum() * 100, width=1.0, color="#8ab17d")
    for q, v in pct.items():
        ax.axvline(v, color="#666", ls=":", lw=1)
        ax.text(v, ax.get_ylim()[1] * 0.95, f" P{q}\n {v:.0f} d", fontsize=8, color="#444", va="top")
    ax.axvline(horizon, color="#e76f51", lw=2.5)
    ax.text(
        horizon, ax.get_ylim()[1] * 0.55, f"  horizon H = {horizon} days", color="#e76f51", fontweight="bold"
    )
    ax.set_xlabel("days between two consecutive visit days of the same guest")
    ax.set_ylabel("% of all returns")
    ax.set_title("How long until a guest comes back")
    ax.set_xlim(0, 240)
    return to_png(fig)


def churn_bars(table: pd.DataFrame, *, title: str, xlabel_groups: str, overall: float) -> str:
    """Churn rate per group, with the number of guest-dates behind each bar."""
    fig, ax = plt.subplots(figsize=(9, 0.36 * len(table) + 1.4))
    labels = [str(i) for i in table.index]
    y = np.arange(len(table))[::-1]
    ax.barh(y, table["churn_rate"] * 100, color=CHURNED)
    ax.set_yticks(y, labels)
    for yi, (r, n) in zip(y, zip(table["churn_rate"], table["rows"], strict=True), strict=True):
        ax.text(r * 100, yi, f" {r:.0%}  (n={n:,})", va="center", fontsize=9)
    ax.axvline(overall * 100, color="#444", ls="--", lw=1, label=f"all active guests: {overall:.0%}")
    ax.legend(loc="lower right", fontsize=9, frameon=True)
    ax.set_xlim(0, 119)
    ax.set_xlabel("churn rate (% of active guests with no visit within the horizon)")
    ax.set_ylabel(xlabel_groups)
    ax.set_title(title)
    return to_png(fig)


def churn_over_time(table: pd.DataFrame) -> str:
    """Churn rate and active guests per as-of date."""
    fig, ax = plt.subplots(figsize=(9, 3.2))
    x = pd.to_datetime(pd.Series(table.index))
    ax.plot(x, table["churn_rate"].to_numpy() * 100, "o-", color=CHURNED)
    ax.set_ylabel("churn rate (%)", color=CHURNED)
    ax.set_ylim(0, 100)
    ax2 = ax.twinx()
    ax2.bar(x, table["rows"].to_numpy(), width=12, alpha=0.25, color="#457b9d")
    ax2.set_ylabel("active guests", color="#457b9d")
    ax.set_xlabel("as-of date (month end)")
    ax.set_title("Churn rate of active guests at each as-of date")
    return to_png(fig)


def ranking_bars(table: pd.DataFrame, top: int = 20) -> str:
    """Univariate out-of-time AUC of the top features."""
    t = table.head(top)
    fig, ax = plt.subplots(figsize=(9, 0.34 * len(t) + 1.4))
    y = np.arange(len(t))[::-1]
    colours = [
        CHURNED if d.startswith("higher") else RETAINED if d.startswith("lower") else "#adb5bd"
        for d in t["direction"]
    ]
    ax.barh(y, t["auc"], color=colours)
    ax.set_yticks(y, t["feature"])
    for yi, v in zip(y, t["auc"], strict=True):
        ax.text(v, yi, f" {v:.3f}", va="center", fontsize=8)
    ax.axvline(0.5, color="#444", lw=1, ls="--")
    ax.set_xlim(0.45, 1.0)
    ax.set_xlabel("ROC-AUC of the feature alone on the held-out latest as-of date (0.5 = no signal)")
    ax.set_title("Which single features separate churners best")
    ax.plot([], [], "s", color=CHURNED, label="higher value = more churn")
    ax.plot([], [], "s", color=RETAINED, label="lower value = more churn")
    ax.plot([], [], "s", color="#adb5bd", label="category (scored by its past churn rate)")
    ax.legend(loc="lower right", fontsize=8)
    return to_png(fig)


def distributions_by_label(pairs: list[tuple[str, str, np.ndarray, np.ndarray]]) -> str:
    """Histograms of features for retained vs churned guests (clipped at the 1st-99th percentile)."""
    cols = 3
    rows = int(np.ceil(len(pairs) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(12, 2.7 * rows + 0.5), squeeze=False)
    for ax in axes.flat[len(pairs) :]:
        ax.axis("off")
    for ax, (name, desc, kept, gone) in zip(axes.flat, pairs, strict=False):
        both = np.concatenate([kept, gone])
        lo, hi = np.nanpercentile(both, [1, 99]) if both.size else (0, 1)
        if hi <= lo:
            hi = lo + 1
        bins = np.linspace(lo, hi, 30)
        ax.hist(np.clip(kept, lo, hi), bins=bins, density=True, alpha=0.55, color=RETAINED, label="stayed")
        ax.hist(np.clip(gone, lo, hi), bins=bins, density=True, alpha=0.55, color=CHURNED, label="churned")
        ax.set_title(name, fontsize=10, loc="left")
        ax.set_xlabel(desc, fontsize=8)
        ax.set_yticks([])
        ax.legend(fontsize=7)
    fig.suptitle(
        "Feature distributions: guests who stayed vs guests who churned (share of each group)",
        fontweight="bold",
        x=0.01,
        ha="left",
    )
    fig.tight_layout()
    return to_png(fig)


def calendar_effects(effects: pd.DataFrame) -> str:
    """Visit index by day of month (paydays shaded) and on holidays vs ordinary days."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 3.6), gridspec_kw={"width_ratios": [3, 1.2]})
    ordinary = effects[~effects["is_holiday"]]
    by_day = ordinary.groupby("day")["index"].mean()
    pay_days = sorted(set(ordinary.loc[ordinary["is_payday"], "day"]))
    ax1.bar(
        by_day.index,
        (by_day.to_numpy() - 1) * 100,
        color=["#f4a261" if d in pay_days else "#adb5bd" for d in by_day.index],
    )
    ax1.axhline(0, color="#444", lw=1)
    ax1.set_xlabel("day of the month (orange = payday window: the 15th, the last day, and 2 days after)")
    ax1.set_ylabel("visits vs a usual day (%)")
    ax1.set_title("Visits by day of the month (weekday- and month-adjusted)")
    groups = {
        "ordinary day": effects.loc[~effects["is_holiday"] & ~effects["is_payday"], "index"],
        "payday window": effects.loc[~effects["is_holiday"] & effects["is_payday"], "index"],
        "public holiday": effects.loc[effects["is_holiday"], "index"],
    }
    vals = [(float(v.mean()) - 1) * 100 if len(v) else 0.0 for v in groups.values()]
    ax2.bar(list(groups), vals, color=["#adb5bd", "#f4a261", "#6a4c93"])
    for i, v in enumerate(vals):
        ax2.text(i, v, f"{v:+.1f}%", ha="center", va="bottom" if v >= 0 else "top", fontsize=9)
    ax2.axhline(0, color="#444", lw=1)
    ax2.set_ylabel("visits vs a usual day (%)")
    ax2.set_title("Holidays and paydays")
    ax2.tick_params(axis="x", labelrotation=20)
    fig.tight_layout()
    return to_png(fig)
