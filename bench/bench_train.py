"""Benchmark: C4 training quality and speed vs the oracle, the baselines and the notebooks.

On default-style synthetic data (``--customers`` guests, 18 months, seed 7; about 200,000
labelled rows with the default 52,000 guests, 44,000 gave 168,040; built once under
``bench/out/train_lake`` by generate -> ELT -> the features step, as the pipeline does):

* C4 (``c4.modeling.train``, what ``c4 train`` runs: features reused from the features step,
  labels, tuning, calibration, out-of-time holdout) — champion ROC-AUC vs the oracle (target
  >= 95% of the oracle's ROC-AUC), margin over the best baseline (target >= 0.03), ECE (target
  < 0.02), wall time of the full training with tuning (target < 180 s on 2 cores);
* the original notebooks' approach on the same rows (C4's fit and calibration rows): a random
  80/20 split, GridSearchCV (3-fold, ROC-AUC) over logistic regression, random forest and
  gradient boosting, each with SMOTE inside the pipeline (imbalanced-learn), best by CV score;
  scored on its own random test split (what the notebooks reported) and on C4's out-of-time
  holdout.  Target: C4 >= 10x faster and better out of time.  The grids run in a fresh
  interpreter (``python -m bench.notebook_grid``: 2 workers, one OpenMP/BLAS thread each,
  every fit logged with its wall and CPU time to ``bench/out/notebook/notebook_log.txt``);
  when the time box (``--notebook-budget``, 6 h) runs out the run stops and the notebook
  figures are lower bounds.

Wall times on a shared machine depend on the other processes: CPU seconds (this process and
its children: joblib/loky workers, the grid processes) and the load average before and after
are recorded next to them.  Writes ``bench/results_train.json`` and prints a table.

Run: ``python -m bench.bench_train [--customers 52000] [--trials 16] [--skip-notebook]
[--notebook-budget 21600] [--rebuild]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import psutil

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from c4.features import FEATURE_SPECS  # noqa: E402
from c4.modeling.config import TrainConfig  # noqa: E402
from c4.modeling.metrics import binary_metrics  # noqa: E402
from c4.modeling.training import train  # noqa: E402
from c4.settings import Settings  # noqa: E402
from c4.storage import Lake  # noqa: E402

OUT = ROOT / "bench" / "out" / "train_lake"
RESULTS = ROOT / "bench" / "results_train.json"
NOTEBOOK_DIR = ROOT / "bench" / "out" / "notebook"
DATA = {"customers": 52_000, "months": 18, "seed": 7}
TARGETS = {
    "oracle_share_min": 0.95,
    "margin_over_best_baseline_min": 0.03,
    "ece_max": 0.02,
    "train_seconds_max": 180.0,
    "speedup_min": 10.0,
}


def _tree_cpu(proc: psutil.Process) -> dict[int, float]:
    """CPU seconds (user + system) of the live descendants of ``proc``, by pid."""
    out = {}
    for child in proc.children(recursive=True):
        try:
            t = child.cpu_times()
            out[child.pid] = t.user + t.system
        except psutil.Error:
            continue
    return out


class Meter:
    """Wall time, CPU time of this process and its children, peak RSS and load average."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.load_before = os.getloadavg()
        self.wall = time.perf_counter()
        self.cpu = time.process_time()
        reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.reaped = reaped.ru_utime + reaped.ru_stime
        self.live = _tree_cpu(self.proc)

    def children_cpu(self) -> float:
        """CPU seconds used by children since the start (reaped and still running)."""
        reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
        live = _tree_cpu(self.proc)
        grown = sum(v - self.live.get(pid, 0.0) for pid, v in live.items())
        return reaped.ru_utime + reaped.ru_stime - self.reaped + grown

    def read(self) -> dict[str, Any]:
        """The measurements so far."""
        own = time.process_time() - self.cpu
        children = self.children_cpu()
        return {
            "wall_seconds": round(time.perf_counter() - self.wall, 1),
            "cpu_seconds": round(own + children, 1),
            "cpu_seconds_self": round(own, 1),
            "cpu_seconds_children": round(children, 1),
            "peak_rss_mb_self": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "load_avg_before": [round(x, 2) for x in self.load_before],
            "load_avg_after": [round(x, 2) for x in os.getloadavg()],
        }


def build_lake(rebuild: bool, data: dict[str, int], out: Path = OUT) -> tuple[Lake, dict[str, Any]]:
    """Generate, curate and build the stored features once (the pipeline's first steps)."""
    from c4 import jobs
    from c4.elt import run_elt
    from c4.generate import GeneratorConfig, generate

    marker = out / "_bench_data.json"
    if rebuild or not marker.exists() or json.loads(marker.read_text()) != data:
        shutil.rmtree(out, ignore_errors=True)
    lake = Lake(str(out))
    settings = Settings(lake=str(out))
    timing: dict[str, Any] = {}
    if not lake.has_data("curated/sessions"):
        m = Meter()
        generate(lake, GeneratorConfig(customers=data["customers"], months=data["months"], seed=data["seed"]))
        run_elt(lake, settings)
        timing["generate_and_elt"] = m.read()
        out.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps(data))
    if not lake.has_data("features/customer_features"):
        m = Meter()
        step = jobs.run_features(settings, lake=lake)
        timing["features_step"] = {**m.read(), "as_of_dates": len(step["as_of_dates"]), "rows": step["rows"]}
    return lake, timing


def notebook_approach(
    dev: pd.DataFrame,
    hold: pd.DataFrame,
    *,
    budget_seconds: float,
    workdir: Path = NOTEBOOK_DIR,
    seed: int = 7,
) -> dict[str, Any]:
    """GridSearchCV + SMOTE over LR / RF / GB on a random split, as the original notebooks did.

    The rows are written to ``workdir`` and the grids run in a fresh interpreter
    (``python -m bench.notebook_grid``, 2 workers, one OpenMP/BLAS thread each), which logs
    every fit with its time to ``workdir/notebook_log.txt``.

    Parameters
    ----------
    dev : pandas.DataFrame
        The rows C4 fits and calibrates on (the notebooks split them at random 80/20).
    hold : pandas.DataFrame
        C4's out-of-time holdout rows.
    budget_seconds : float
        Time box for all grids; when it runs out the run stops and every figure is a lower
        bound (the fits that finished are still accounted one by one).
    workdir : Path
    seed : int

    Returns
    -------
    dict
    """
    from sklearn.model_selection import train_test_split

    cols = [s.name for s in FEATURE_SPECS]
    X_tr, X_te, y_tr, y_te = train_test_split(
        dev[cols], dev["churned"], test_size=0.2, random_state=seed, stratify=dev["churned"]
    )
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    X_tr.assign(churned=y_tr).to_parquet(workdir / "train.parquet")
    X_te.assign(churned=y_te).to_parquet(workdir / "test.parquet")
    hold[[*cols, "churned"]].to_parquet(workdir / "hold.parquet")
    meter = Meter()
    cmd = [
        sys.executable,
        "-m",
        "bench.notebook_grid",
        "--data",
        str(workdir),
        "--budget",
        str(budget_seconds),
    ]
    cmd += ["--seed", str(seed)]
    print(f"  notebook grids: {' '.join(cmd)} (log {workdir / 'notebook_log.txt'})", flush=True)
    try:  # the run stops itself at the time box; this is only a second guard
        code = subprocess.run(cmd, cwd=ROOT, check=False, timeout=budget_seconds + 900).returncode
    except subprocess.TimeoutExpired:
        code = -9
    timing = meter.read()
    return collect_notebook(workdir, y_te.to_numpy(), hold["churned"].to_numpy(), timing, returncode=code)


def collect_notebook(
    workdir: Path, y_test: Any, y_hold: Any, timing: dict[str, Any], *, returncode: int = 0
) -> dict[str, Any]:
    """Read a notebook run's results (``notebook_result.json``, ``pred_*.npz``) into metrics.

    Parameters
    ----------
    workdir : Path
        The ``--data`` directory of ``bench.notebook_grid``.
    y_test, y_hold : arrays of 0/1
        Labels of the random test split and of C4's out-of-time holdout.
    timing : dict
        :class:`Meter` reading around the run (wall, CPU incl. children, load averages).
    returncode : int

    Returns
    -------
    dict
    """
    import numpy as np

    state = json.loads((workdir / "notebook_result.json").read_text())
    models = state["models"]
    done = {k: v for k, v in models.items() if v["status"] == "done"}
    stopped = [k for k in ("logistic_regression", "random_forest", "gradient_boosting") if k not in done]
    per_model = {
        k: {
            "status": v["status"],
            "fits": v.get("fits", 0),
            "fit_cpu_seconds_sum": v.get("cpu_seconds_sum", 0.0),
            "fit_wall_seconds_sum": v.get("wall_seconds_sum", 0.0),
            "refit": v.get("refit"),
            "cv_roc_auc": v.get("best_score"),
            "best_params": v.get("best_params"),
            "fit_log": [
                {key: f[key] for key in ("params", "fold", "score", "wall_seconds", "cpu_seconds")}
                for f in v.get("fit_log", [])
            ],
        }
        for k, v in models.items()
    }
    fit_cpu = sum(
        m["fit_cpu_seconds_sum"] + (m["refit"] or {}).get("cpu_seconds", 0.0) for m in per_model.values()
    )
    out: dict[str, Any] = {
        "status": state["status"],
        "returncode": returncode,
        "finished": list(done),
        "stopped": stopped,
        "lower_bound": bool(stopped),
        "budget_seconds": state["budget_seconds"],
        "per_fit_cpu_seconds_sum": round(fit_cpu, 1),
        "grid_process": {
            k: state.get(k) for k in ("wall_seconds", "cpu_seconds_self", "cpu_seconds_reaped_children")
        },
        "models": per_model,
        "rows": {
            "train": len(pd.read_parquet(workdir / "train.parquet", columns=["churned"])),
            "test": len(y_test),
            "holdout": len(y_hold),
        },
        "log": str(workdir / "notebook_log.txt"),
        **timing,
    }
    if not done:
        return out
    preds = {k: np.load(workdir / f"pred_{k}.npz") for k in done}
    best = max(done, key=lambda k: done[k]["best_score"])
    out.update(
        best=best,
        cv_roc_auc={k: v["best_score"] for k, v in done.items()},
        best_params={k: v["best_params"] for k, v in done.items()},
        random_split_test=binary_metrics(y_test, preds[best]["p_test"], threshold=0.5),
        out_of_time_holdout=binary_metrics(y_hold, preds[best]["p_hold"], threshold=0.5),
        out_of_time_by_model={
            k: {m: float(binary_metrics(y_hold, p["p_hold"])[m]) for m in ("roc_auc", "brier", "ece")}
            for k, p in preds.items()
        },
    )
    return out


#: Features a pure recency/frequency (BTYD) model sees; the margin study adds the others.
BTYD_FEATURES = (
    "days_since_last_visit",
    "tenure_days",
    "visits_total",
    "visits_30d",
    "visits_90d",
    "visits_180d",
    "gap_last_days",
    "gap_mean_days",
    "pnbd_p_alive",
    "pnbd_expected_visits",
    "bgnbd_expected_visits",
)


def _truth_columns(lake: Lake, settings: Settings, frame: pd.DataFrame) -> pd.DataFrame:
    """Latent generator truth per row (evaluation only): alive at T, experience traits."""
    from c4.elt.pseudonym import pseudonymise_values
    from c4.generate import load_truth

    truth = load_truth(lake)
    truth["customer_id"] = pseudonymise_values(
        [str(m).strip() for m in truth["mac"]], settings.resolve_pseudonym_key()
    )
    truth = truth.drop_duplicates("customer_id").set_index("customer_id")
    t = pd.to_datetime(frame["as_of_date"])
    far = pd.Timestamp("2200-01-01")
    joined = frame[["customer_id"]].join(truth, on="customer_id")
    return pd.DataFrame(
        {
            "truth_alive": (pd.to_datetime(joined["dropout_date"]).fillna(far) > t).astype(int).to_numpy(),
            "truth_bad_episode": (pd.to_datetime(joined["bad_experience_date"]).fillna(far) <= t)
            .astype(int)
            .to_numpy(),
            "truth_signal_offset_db": joined["signal_offset_db"].to_numpy(),
            "truth_login_friction": joined["login_friction"].to_numpy(),
        },
        index=frame.index,
    )


def fit_predict_hgb(fit: pd.DataFrame, hold: pd.DataFrame, cols: list[str]) -> Any:
    """One HistGradientBoosting (the margin study's parameters) fitted on ``fit``, scored on ``hold``.

    Parameters
    ----------
    fit, hold : pandas.DataFrame
        Fit and holdout rows with the columns ``cols`` and, in ``fit``, ``churned``.
    cols : list of str
        Feature columns; categorical features (``FEATURE_SPECS``) become pandas categories.

    Returns
    -------
    numpy.ndarray
        Churn probabilities of the holdout rows.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    cats = {s.name for s in FEATURE_SPECS if s.kind == "categorical"}
    X, Xh = fit[cols].copy(), hold[cols].copy()
    for c in (c for c in cols if c in cats):
        X[c] = X[c].astype("category")
        Xh[c] = pd.Categorical(Xh[c], categories=X[c].cat.categories)
    model = HistGradientBoostingClassifier(
        learning_rate=0.07,
        max_leaf_nodes=15,
        min_samples_leaf=200,
        max_iter=400,
        categorical_features="from_dtype",
        random_state=0,
    )
    with threadpool_limits(1):
        model.fit(X, fit["churned"])
    return model.predict_proba(Xh)[:, 1]


def margin_study(lake: Lake, settings: Settings, frame: pd.DataFrame, plan: dict[str, Any]) -> dict[str, Any]:
    """Where the margin over Pareto/NBD is lost: one HistGradientBoosting per feature set.

    Same fit dates and holdout as C4's plan, same hyper-parameters for every set: recency /
    frequency features only; all features; all features plus the generator's latent
    experience traits (signal offset, login friction, bad episode so far: what the features
    try to reveal); all features plus the latent "still alive at T" flag.  The last two are
    not observable: they bound what better features could add.
    """
    from sklearn.metrics import roc_auc_score

    fit, hold = _dates(frame, plan["fit_dates"]), _dates(frame, plan["holdout_dates"])
    fit = pd.concat([fit, _truth_columns(lake, settings, fit)], axis=1)
    hold = pd.concat([hold, _truth_columns(lake, settings, hold)], axis=1)
    every = [s.name for s in FEATURE_SPECS]
    latent = ["truth_signal_offset_db", "truth_login_friction", "truth_bad_episode"]
    sets = {
        "recency_frequency_only": list(BTYD_FEATURES),
        "all_features": every,
        "all_plus_latent_experience": every + latent,
        "all_plus_latent_alive": [*every, "truth_alive"],
    }
    out: dict[str, Any] = {
        "pareto_nbd_expected_visits": float(
            roc_auc_score(hold["churned"], -hold["pnbd_expected_visits"].fillna(0))
        )
    }
    for name, cols in sets.items():
        out[name] = float(roc_auc_score(hold["churned"], fit_predict_hgb(fit, hold, cols)))
    alive = hold["truth_alive"] == 1
    out["holdout_alive_share"] = float(alive.mean())
    out["churn_rate_among_alive"] = float(hold.loc[alive, "churned"].mean())
    return out


def _dates(frame: pd.DataFrame, dates: list[str]) -> pd.DataFrame:
    wanted = {pd.Timestamp(d).date() for d in dates}
    return frame[pd.to_datetime(frame["as_of_date"]).dt.date.isin(wanted)].reset_index(drop=True)


def _c4_summary(card: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": card["version"],
        "family": card["family"],
        "params": card["params"],
        "metrics": card["metrics"],
        "candidates": {k: v["holdout"]["roc_auc"] for k, v in card["candidates"].items()},
        "baselines": {
            k: {"roc_auc": v["roc_auc"], "brier": v["brier"], "column": v["column"]}
            for k, v in card["baselines"].items()
        },
        "best_baseline": card["best_baseline"],
        "margin_over_best_baseline": card["margin_over_best_baseline"] or {},
        "oracle": card["oracle"],
        "oracle_share": card.get("oracle_share"),
        "ece": card["metrics"]["ece"],
        "calibration": card["calibration"]["method"],
        "class_imbalance": card["class_imbalance"]["choice"],
        "threshold": card["threshold"],
        "tuning_trials": card["tuning"]["trials"],
        "fit_seconds": card["fit_seconds"],
    }


def _checks(c4: dict[str, Any], timing: dict[str, Any], nb: dict[str, Any] | None) -> dict[str, bool]:
    m = c4["metrics"]
    checks = {
        "oracle_share": (c4.get("oracle_share") or 0.0) >= TARGETS["oracle_share_min"],
        "margin_over_best_baseline": c4["margin_over_best_baseline"].get("roc_auc", 0.0)
        >= TARGETS["margin_over_best_baseline_min"],
        "ece": m["ece"] < TARGETS["ece_max"],
        "train_wall_seconds": timing["wall_seconds"] < TARGETS["train_seconds_max"],
        "train_cpu_seconds": timing["cpu_seconds"] < TARGETS["train_seconds_max"],
    }
    if nb and nb.get("finished"):
        speedup_cpu = nb["cpu_seconds"] / max(timing["cpu_seconds"], 1e-9)
        speedup_wall = nb["wall_seconds"] / max(timing["wall_seconds"], 1e-9)
        checks["speedup_cpu"] = speedup_cpu >= TARGETS["speedup_min"]
        checks["speedup_wall"] = speedup_wall >= TARGETS["speedup_min"]
        checks["better_out_of_time"] = (
            m["roc_auc"] > nb["out_of_time_holdout"]["roc_auc"]
            and m["brier"] < nb["out_of_time_holdout"]["brier"]
        )
    return checks


def main() -> None:
    """Run the benchmark and write ``bench/results_train.json``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=DATA["customers"])
    ap.add_argument("--trials", type=int, default=TrainConfig().trials)
    ap.add_argument("--skip-notebook", action="store_true")
    ap.add_argument(
        "--notebook-budget",
        type=float,
        default=6 * 3600.0,
        help="Time box of the notebook grids (s); if hit, the notebook figures are lower bounds.",
    )
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--lake-dir", type=Path, default=OUT, help="Where the benchmark lake is built.")
    args = ap.parse_args()
    data = {**DATA, "customers": args.customers}
    args.lake_dir.parent.mkdir(parents=True, exist_ok=True)
    lake, lake_timing = build_lake(args.rebuild, data, args.lake_dir)
    settings = Settings(lake=str(args.lake_dir))
    if lake.exists("models"):
        lake.delete("models")
    meter = Meter()
    result = train(
        lake,
        settings,
        trials=args.trials,
        progress=lambda msg: print(f"  [{time.perf_counter() - meter.wall:6.1f}s] {msg}", flush=True),
    )
    c4_timing = meter.read()
    card = result.card
    c4 = _c4_summary(card)
    plan = card["time_plan"]
    from c4.modeling.training import training_set_from_lake

    frame = training_set_from_lake(lake, card["horizon_days"]).frame
    study = margin_study(lake, settings, frame, plan) if card["oracle"].get("available") else None
    results = _results(data, card, plan, lake_timing, c4_timing, c4, study, None)
    if not args.skip_notebook:
        results["notebook"] = {"status": "running", "log": str(NOTEBOOK_DIR / "notebook_log.txt")}
        RESULTS.write_text(json.dumps(results, indent=2, default=str))  # C4 side kept if stopped
        dev = _dates(frame, [*plan["fit_dates"], *plan["calibration_dates"]])
        hold = _dates(frame, plan["holdout_dates"])
        notebook = notebook_approach(dev, hold, budget_seconds=args.notebook_budget)
        results = _results(data, card, plan, lake_timing, c4_timing, c4, study, notebook)
    RESULTS.write_text(json.dumps(results, indent=2, default=str))
    _print(results)


def _results(
    data: dict[str, int],
    card: dict[str, Any],
    plan: dict[str, Any],
    lake_timing: dict[str, Any],
    c4_timing: dict[str, Any],
    c4: dict[str, Any],
    study: dict[str, Any] | None,
    notebook: dict[str, Any] | None,
) -> dict[str, Any]:
    results: dict[str, Any] = {
        "data": {
            **data,
            "labelled_rows": card["training_rows"],
            "horizon_days": card["horizon_days"],
            "rows_by_role": card["rows"],
            "time_plan": plan,
            "training_data_sha256": card["training_data_sha256"],
        },
        "machine": {
            "python": platform.python_version(),
            "cores": os.cpu_count(),
            "note": "shared 2-core machine: wall times include contention (see load averages); "
            "cpu_seconds count this process and its children",
        },
        "timing": {**lake_timing, "c4_train": c4_timing},
        "c4": c4,
        "margin_study": study,
        "notebook": notebook,
        "targets": TARGETS,
    }
    if notebook and "wall_seconds" in notebook:
        c4_wall, c4_cpu = max(c4_timing["wall_seconds"], 1e-9), max(c4_timing["cpu_seconds"], 1e-9)
        results["speedup_vs_notebook"] = {
            "wall": round(notebook["wall_seconds"] / c4_wall, 1),
            "cpu": round(notebook["cpu_seconds"] / c4_cpu, 1),
            "cpu_per_fit_accounting": round(notebook["per_fit_cpu_seconds_sum"] / c4_cpu, 1),
            "lower_bound": notebook["lower_bound"],
        }
    results["checks"] = _checks(c4, c4_timing, notebook)
    return results


def _print(r: dict[str, Any]) -> None:
    c4 = r["c4"]
    m = c4["metrics"]
    print(f"\n{'score (out-of-time holdout)':45s} {'ROC-AUC':>8s} {'Brier':>8s} {'ECE':>8s}")
    print(f"{'C4 ' + c4['family']:45s} {m['roc_auc']:8.4f} {m['brier']:8.4f} {m['ece']:8.4f}")
    for k, v in c4["baselines"].items():
        print(f"{'baseline ' + k:45s} {v['roc_auc']:8.4f} {v['brier']:8.4f}")
    if c4["oracle"].get("available"):
        print(f"{'oracle':45s} {c4['oracle']['roc_auc']:8.4f}")
    nb = r.get("notebook")
    if nb and nb.get("finished"):
        h = nb["out_of_time_holdout"]
        print(
            f"{'notebooks (' + nb['best'] + ', SMOTE)':45s} {h['roc_auc']:8.4f} {h['brier']:8.4f} "
            f"{h['ece']:8.4f}"
            f"   (random-split test ROC-AUC {nb['random_split_test']['roc_auc']:.4f})"
        )
    t = r["timing"]["c4_train"]
    print(
        f"\nC4 training: {t['wall_seconds']} s wall, {t['cpu_seconds']} s CPU "
        f"on {r['data']['labelled_rows']} rows"
    )
    if nb:
        bound = ">= " if nb["lower_bound"] else ""
        print(
            f"notebooks: {bound}{nb['wall_seconds']} s wall, {bound}{nb['cpu_seconds']} s CPU "
            f"(finished {nb['finished']}, stopped {nb['stopped']}); speed-up {r.get('speedup_vs_notebook')}"
        )
    share = c4["oracle"].get("oracle_share")
    print(
        f"oracle share {share if share is None else round(share, 4)}; margin over best baseline "
        f"({c4['best_baseline']}) {c4['margin_over_best_baseline'].get('roc_auc', float('nan')):+.4f}"
    )
    for k, ok in r["checks"].items():
        print(f"  {'PASS' if ok else 'MISS'}  {k}")


if __name__ == "__main__":
    main()
