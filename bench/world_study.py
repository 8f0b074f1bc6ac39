"""Experiment: can a realistic generator world meet issue #4's quality targets?

For each variant of the generator's calibration (``c4.generate.params`` overridden in-process,
same seed), build a 20,000-guest, 20-mall, 18-month world with the library (generate -> ELT ->
point-in-time features and labels at monthly as-of dates), fit one HistGradientBoosting per
feature set on the out-of-time fit dates (same split and parameters as ``bench.bench_train``'s
margin study) and score the latest as-of date:

* baselines: Pareto/NBD expected visits, days since last visit, visits in 90 days;
* HistGradientBoosting on recency/frequency features only, on all features, and on all features
  plus the latent "still alive at T" flag (not observable: a bound);
* the oracle (the generator's exact churn probability) and the model's share of it;
* the margin of the all-features model over the best baseline with a 95% paired bootstrap
  interval over guests (``c4.modeling.metrics.auc_difference_ci``; one holdout date, so rows
  are guests).

Next to the scores, the generator's calibration facts (published in-store WiFi studies,
``/work/shared/NOTES.md``) measured on the curated sessions, so a variant that breaks realism
is rejected: share of guests who come once in six months (72-85%), weekend share of visits
(30-35%), dwell median (3-17 min) and log-sigma (1.4-1.8), zone sessions per visit (4-6).

Writes (merges by variant) ``bench/out/world_study.json``.

Run: ``nice -n 10 python -m bench.world_study [--variant NAME ...] [--customers 20000]
[--keep]``; ``--list`` prints the variants.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from c4.features import FEATURE_SPECS  # noqa: E402
from c4.generate import params as P  # noqa: E402
from c4.settings import Settings  # noqa: E402
from c4.storage import Lake  # noqa: E402

from bench.bench_train import BTYD_FEATURES, Meter, _dates, _truth_columns, fit_predict_hgb  # noqa: E402

OUT_DIR = ROOT / "bench" / "out" / "world_study"
RESULTS = ROOT / "bench" / "out" / "world_study.json"
DATA = {"customers": 20_000, "months": 18, "seed": 7, "malls": 20}
TARGETS = {"oracle_share_min": 0.95, "margin_min": 0.03}
#: Domain facts (published in-store WiFi studies) a variant must stay inside.
FACTS = {
    "one_visit_in_six_months": (0.72, 0.85),
    "weekend_share": (0.30, 0.35),
    "dwell_median_min": (3.0, 17.0),
    "dwell_log_sigma": (1.4, 1.8),
    "zone_sessions_per_visit": (4.0, 6.0),
    "bg_r": (0.11, 0.26),
    "bg_alpha_weeks": (0.7, 4.4),
    "bg_a": (0.4, 1.2),
    "bg_b": (0.6, 1.1),
}

#: Variants: overrides of ``c4.generate.params`` (``HORIZON`` = label horizon in days instead
#: of the data-derived default).  ``BG_R`` / ``BG_ALPHA_WEEKS`` also set the derived rate
#: constants.
_FREQUENT: dict[str, Any] = {"BG_R": 0.26, "BG_ALPHA_WEEKS": 0.7, "BG_A": 1.2, "BG_B": 0.6}
_FADE: dict[str, Any] = {
    "DISENGAGE_DAYS": (90, 240),
    "DISENGAGE_FLOOR": (0.02, 0.15),
    "DISENGAGE_DWELL": 0.8,
    "DISENGAGE_ZONES": 0.7,
}
VARIANTS: dict[str, dict[str, Any]] = {
    "base": {},
    "alpha_0.7": {"BG_ALPHA_WEEKS": 0.7},
    "r_0.11_alpha_0.7": {"BG_R": 0.11, "BG_ALPHA_WEEKS": 0.7},
    "fade_strong_long": dict(_FADE),
    "horizon_42": {"HORIZON": 42},
    "frequent_end": dict(_FREQUENT),
    "alpha_0.7_fade_h42": {"BG_ALPHA_WEEKS": 0.7, **_FADE, "HORIZON": 42},
    "frequent_end_fade_h42": {**_FREQUENT, **_FADE, "HORIZON": 42},
}
#: Fixed pseudonymisation key: a local lake otherwise gets a random one, which changes the
#: guests sampled for the Pareto/NBD fits and the row order (run-to-run noise of ~0.005).
DEFAULT_KEY = "world-study-fixed-pseudonym-key-0"


def _derived(overrides: dict[str, Any]) -> dict[str, Any]:
    """Overrides plus the constants derived from them (rate shape and mean)."""
    out = {k: v for k, v in overrides.items() if k != "HORIZON"}
    r = out.get("BG_R", P.BG_R)
    alpha = out.get("BG_ALPHA_WEEKS", P.BG_ALPHA_WEEKS)
    if "BG_R" in out or "BG_ALPHA_WEEKS" in out:
        out.update(RATE_SHAPE=r, RATE_MEAN=r / alpha / 7)
    return out


@contextmanager
def overridden(overrides: dict[str, Any]) -> Iterator[None]:
    """``c4.generate.params`` with ``overrides`` applied, restored afterwards.

    The generator reads ``params`` attributes at call time and its worker processes are
    forked, so the override reaches every mall.
    """
    values = _derived(overrides)
    unknown = sorted(k for k in values if not hasattr(P, k))
    if unknown:
        raise KeyError(f"unknown generator parameters: {unknown}")
    saved = {k: getattr(P, k) for k in values}
    for k, v in values.items():
        setattr(P, k, v)
    try:
        yield
    finally:
        for k, v in saved.items():
            setattr(P, k, v)


def build_world(
    root: Path, settings: Settings, overrides: dict[str, Any], data: dict[str, int]
) -> dict[str, Any]:
    """Generate and curate one world (the lake at ``root`` is replaced)."""
    from c4.elt import run_elt
    from c4.generate import GeneratorConfig, generate

    shutil.rmtree(root, ignore_errors=True)
    lake = Lake(str(root))
    m = Meter()
    config = GeneratorConfig(
        customers=data["customers"], months=data["months"], seed=data["seed"], malls=data["malls"], workers=2
    )
    with overridden(overrides):
        summary = generate(lake, config)
    run_elt(lake, settings)
    return {
        "visits": summary.visits,
        "sessions": summary.sessions,
        "guests_seen": summary.guests_seen,
        **m.read(),
    }


def _row(con: Any, sql: str, params: list[Any] | None = None) -> tuple[Any, ...]:
    """The single row of a query."""
    row = con.execute(sql, params or []).fetchone()
    if row is None:
        raise ValueError(f"no row from {sql!r}")
    return tuple(row)


def calibration_facts(lake: Lake) -> dict[str, Any]:
    """The generator's realism facts, measured on the curated sessions."""
    from c4.engine import connect

    con = connect(lake)
    try:
        con.execute(
            "CREATE TEMP TABLE v AS SELECT customer_id, mall_id, local_date, count(*) AS n "
            "FROM sessions GROUP BY ALL"
        )
        lo, hi = _row(con, "SELECT min(local_date), max(local_date) FROM v")
        once = []
        for start in pd.date_range(pd.Timestamp(lo), pd.Timestamp(hi) - pd.DateOffset(months=6), freq="6MS"):
            end = start + pd.DateOffset(months=6)
            row = _row(
                con,
                "SELECT avg((c = 1)::INT), avg(c) FROM (SELECT customer_id, count(*) AS c FROM v "
                "WHERE local_date >= ? AND local_date < ? GROUP BY 1)",
                [start.date(), end.date()],
            )
            once.append({"from": f"{start:%Y-%m-%d}", "one_visit_share": row[0], "visits_per_guest": row[1]})
        weekend, zones = _row(con, "SELECT avg((dayofweek(local_date) IN (0, 6))::INT), avg(n) FROM v")
        median, sigma = _row(
            con,
            "SELECT median(dwell_minutes), stddev_samp(ln(dwell_minutes)) FROM sessions "
            "WHERE dwell_minutes > 0",
        )
    finally:
        con.close()
    return {
        "one_visit_in_six_months": [o["one_visit_share"] for o in once],
        "six_month_windows": once,
        "weekend_share": weekend,
        "dwell_median_min": median,
        "dwell_log_sigma": sigma,
        "zone_sessions_per_visit": zones,
    }


def evaluate(lake: Lake, settings: Settings, horizon: int | None) -> dict[str, Any]:
    """Scores of the baselines, the models and the oracle on the out-of-time holdout."""
    from c4.modeling.baselines import resolve_baselines
    from c4.modeling.metrics import auc_difference_ci
    from c4.modeling.oracle import oracle_probabilities
    from c4.modeling.splits import plan_time_split
    from c4.modeling.training import training_set_from_lake
    from sklearn.metrics import roc_auc_score

    ts = training_set_from_lake(lake, horizon)
    h = int(ts.horizon_days)
    frame = ts.frame
    plan = plan_time_split(ts.as_of_dates, h, holdout_dates=1)
    fit = _dates(frame, [d.isoformat() for d in plan.fit_dates])
    hold = _dates(frame, [d.isoformat() for d in plan.holdout_dates])
    fit = pd.concat([fit, _truth_columns(lake, settings, fit)], axis=1)
    hold = pd.concat([hold, _truth_columns(lake, settings, hold)], axis=1)
    y = hold["churned"].to_numpy().astype(int)
    oracle = oracle_probabilities(lake, settings, hold, h)
    every = [s.name for s in FEATURE_SPECS]
    preds = {
        "recency_frequency_only": fit_predict_hgb(fit, hold, list(BTYD_FEATURES)),
        "all_features": fit_predict_hgb(fit, hold, every),
        "all_plus_latent_alive": fit_predict_hgb(fit, hold, [*every, "truth_alive"]),
    }
    baselines, _ = resolve_baselines(hold.columns)
    scores = {b.name: b.score(hold) for b in baselines}
    auc = {k: float(roc_auc_score(y, v)) for k, v in {**scores, **preds}.items()}
    best = max(scores, key=lambda k: auc[k])
    ok = np.isfinite(oracle) if oracle is not None else np.zeros(len(y), dtype=bool)
    oracle_auc = float(roc_auc_score(y[ok], oracle[ok])) if oracle is not None else float("nan")
    model_same_rows = float(roc_auc_score(y[ok], preds["all_features"][ok]))
    lo, hi = auc_difference_ci(y, preds["all_features"], scores[best], n_boot=200, seed=0)
    alive = hold["truth_alive"] == 1
    parts = {"one_visit": hold["visits_total"] <= 1, "repeat": hold["visits_total"] > 1}
    segments = {
        k: _segment(
            y, mask.to_numpy() & ok, {"pnbd": scores["bgnbd_expected_visits"], **preds, "oracle": oracle}
        )
        for k, mask in parts.items()
    }
    hybrid = _hybrids(y, ok, parts["repeat"].to_numpy(), preds["all_features"], oracle)
    return {
        "horizon_days": h,
        "plan": plan.as_dict(),
        "rows": {"fit": len(fit), "holdout": len(hold), "labelled": len(frame)},
        "holdout_churn_rate": float(y.mean()),
        "holdout_alive_share": float(alive.mean()),
        "churn_rate_among_alive": float(hold.loc[alive, "churned"].mean()),
        "roc_auc": auc,
        "best_baseline": best,
        "oracle_roc_auc": oracle_auc,
        "oracle_matched_share": float(ok.mean()),
        "oracle_share": model_same_rows / oracle_auc,
        "margin": auc["all_features"] - auc[best],
        "margin_ci95": [lo, hi],
        "segments": segments,
        "hybrid_bounds": hybrid,
    }


def _hybrids(
    y: np.ndarray, ok: np.ndarray, repeat: np.ndarray, model: np.ndarray, oracle: np.ndarray | None
) -> dict[str, float]:
    """Where the oracle's lead lies: ROC-AUC (on oracle-matched rows) of the all-features model
    with its probabilities replaced by the oracle's on the repeat guests only, or on the
    one-visit guests only (both are probabilities, so the rows still rank together)."""
    from sklearn.metrics import roc_auc_score

    if oracle is None or not ok.any():
        return {}
    on_repeat = np.where(repeat, oracle, model)[ok]
    on_one_visit = np.where(repeat, model, oracle)[ok]
    return {
        "oracle_on_repeat_guests": float(roc_auc_score(y[ok], on_repeat)),
        "oracle_on_one_visit_guests": float(roc_auc_score(y[ok], on_one_visit)),
    }


def _segment(y: np.ndarray, mask: np.ndarray, scores: dict[str, Any]) -> dict[str, float]:
    """Row share, churn rate and each score's ROC-AUC within one segment of the holdout."""
    from sklearn.metrics import roc_auc_score

    out = {"row_share": float(mask.mean()), "churn_rate": float(y[mask].mean())}
    if 0 < y[mask].sum() < mask.sum():
        out.update({k: float(roc_auc_score(y[mask], np.asarray(v)[mask])) for k, v in scores.items()})
    return out


def verdict(facts: dict[str, Any], params: dict[str, Any], ev: dict[str, Any]) -> dict[str, Any]:
    """Which domain facts hold and whether both targets are met (margin CI excluding 0)."""
    checks: dict[str, bool] = {}
    for name, (lo, hi) in FACTS.items():
        if name in facts:
            values = facts[name] if isinstance(facts[name], list) else [facts[name]]
            checks[name] = all(lo <= v <= hi for v in values)
        elif name in params:
            checks[name] = lo <= params[name] <= hi
    realistic = all(checks.values())
    share_ok = ev["oracle_share"] >= TARGETS["oracle_share_min"]
    margin_ok = ev["margin"] >= TARGETS["margin_min"] and ev["margin_ci95"][0] > 0
    return {
        "facts": checks,
        "realistic": realistic,
        "oracle_share_met": share_ok,
        "margin_met": margin_ok,
        "adoptable": realistic and share_ok and margin_ok,
    }


def run_variant(name: str, data: dict[str, int], keep: bool, key: str) -> dict[str, Any]:
    """Build, measure and evaluate one variant."""
    overrides = VARIANTS[name]
    root = OUT_DIR / name
    settings = Settings(lake=str(root), pseudonym_key=key)
    world = build_world(root, settings, overrides, data)
    lake = Lake(str(root))
    facts = calibration_facts(lake)
    m = Meter()
    ev = evaluate(lake, settings, overrides.get("HORIZON"))
    with overridden(overrides):
        params = {"bg_r": P.BG_R, "bg_alpha_weeks": P.BG_ALPHA_WEEKS, "bg_a": P.BG_A, "bg_b": P.BG_B}
    if not keep:
        shutil.rmtree(root, ignore_errors=True)
    return {
        "pseudonym_key": key,
        "overrides": {k: list(v) if isinstance(v, tuple) else v for k, v in overrides.items()},
        "generator_params": params,
        "world": world,
        "facts": facts,
        "evaluation": ev,
        "evaluation_timing": m.read(),
        "verdict": verdict(facts, params, ev),
    }


def _line(name: str, r: dict[str, Any]) -> str:
    ev, f = r["evaluation"], r["facts"]
    a = ev["roc_auc"]
    once = "/".join(f"{v:.2f}" for v in f["one_visit_in_six_months"])
    return (
        f"{name:22s} H={ev['horizon_days']:3d} pnbd={a.get('bgnbd_expected_visits', float('nan')):.4f} "
        f"dslv={a.get('days_since_last_visit', float('nan')):.4f} rf={a['recency_frequency_only']:.4f} "
        f"all={a['all_features']:.4f} alive={a['all_plus_latent_alive']:.4f} "
        f"oracle={ev['oracle_roc_auc']:.4f} share={ev['oracle_share']:.3f} "
        f"margin={ev['margin']:+.4f} [{ev['margin_ci95'][0]:+.4f},{ev['margin_ci95'][1]:+.4f}] "
        f"once={once} wkend={f['weekend_share']:.3f} dwell={f['dwell_median_min']:.1f}/"
        f"{f['dwell_log_sigma']:.2f} zones={f['zone_sessions_per_visit']:.2f} "
        f"{'ADOPTABLE' if r['verdict']['adoptable'] else ''}"
    )


def main() -> None:
    """Run the chosen variants and merge their results into ``bench/out/world_study.json``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variant", action="append", choices=sorted(VARIANTS), help="Repeatable; default: all.")
    ap.add_argument("--customers", type=int, default=DATA["customers"])
    ap.add_argument(
        "--keep", action="store_true", help="Keep each variant's lake under bench/out/world_study/."
    )
    ap.add_argument("--key", default=DEFAULT_KEY, help="Pseudonymisation key (run-to-run noise checks).")
    ap.add_argument("--tag", default="", help="Suffix of the result entries (e.g. a noise re-run).")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    if args.list:
        for k, v in VARIANTS.items():
            print(f"{k:22s} {v}")
        return
    data = {**DATA, "customers": args.customers}
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"data": data, "variants": {}}
    if results.get("data") != data:
        results = {"data": data, "variants": {}}
    for name in args.variant or list(VARIANTS):
        t0 = time.perf_counter()
        r = run_variant(name, data, args.keep, args.key)
        r["wall_seconds"] = round(time.perf_counter() - t0, 1)
        name = f"{name}{args.tag}"
        results["variants"][name] = r
        results["targets"], results["facts"] = TARGETS, {k: list(v) for k, v in FACTS.items()}
        RESULTS.write_text(json.dumps(results, indent=2, default=str))
        print(_line(name, r), flush=True)


if __name__ == "__main__":
    main()
