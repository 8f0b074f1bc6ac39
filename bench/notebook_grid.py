"""The original notebooks' training approach, run in a fresh interpreter with per-fit accounting.

GridSearchCV (3-fold, ROC-AUC, ``n_jobs`` workers, best by mean CV score, refit on all training
rows) with SMOTE inside an imbalanced-learn pipeline, over logistic regression, random forest
and gradient boosting, as the notebooks did.  The search is carried out by :func:`grid_search`,
which runs exactly GridSearchCV's fits (``check_cv(3)`` folds, every grid point x fold, the same
scorer and ranking; a unit test checks that it selects what GridSearchCV selects) but times each
fit in the worker that ran it (wall and CPU seconds) and hands it back as soon as it is done:
every fit is written to the log with its time, so a stall is visible, and the sum of the fits'
CPU seconds is the grid's CPU cost even when the time box stops the run.

Run by ``bench.bench_train`` as ``python -m bench.notebook_grid --data DIR`` (a fresh process:
nothing is forked from a process whose OpenMP/BLAS threads exist).  ``DIR`` holds
``train.parquet`` (features and ``churned``), ``test.parquet`` and ``hold.parquet``; the run
writes ``DIR/notebook_log.txt`` (one line per fit), ``DIR/notebook_result.json`` (rewritten
after every fit) and ``DIR/pred_<model>.npz`` (probabilities on the test and holdout rows).
"""

from __future__ import annotations

import os

# One OpenMP/BLAS thread per process (set before numpy loads; loky workers inherit it).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from c4.features import FEATURE_SPECS  # noqa: E402

MODELS = ("logistic_regression", "random_forest", "gradient_boosting")
DEFAULT_BUDGET_SECONDS = 6 * 3600.0


def notebook_pipeline(name: str, seed: int) -> tuple[Any, dict[str, list[Any]]]:
    """One notebook model: preprocessing, SMOTE, classifier, and its grid.

    Parameters
    ----------
    name : str
        One of :data:`MODELS`.
    seed : int
        ``random_state`` of SMOTE and of the tree models.

    Returns
    -------
    tuple
        The imbalanced-learn pipeline and its parameter grid.
    """
    from imblearn.over_sampling import SMOTE
    from imblearn.pipeline import Pipeline as ImbPipeline
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    grids: dict[str, tuple[Any, dict[str, list[Any]]]] = {
        "logistic_regression": (LogisticRegression(max_iter=500), {"clf__C": [0.1, 1.0, 10.0]}),
        "random_forest": (
            RandomForestClassifier(random_state=seed, n_jobs=1),
            {"clf__n_estimators": [100, 200], "clf__max_depth": [None, 12]},
        ),
        "gradient_boosting": (
            GradientBoostingClassifier(random_state=seed),
            {"clf__n_estimators": [100, 200], "clf__learning_rate": [0.05, 0.1]},
        ),
    }
    clf, grid = grids[name]
    steps = [("pre", _preprocessing()), ("smote", SMOTE(random_state=seed)), ("clf", clf)]
    return ImbPipeline(steps), grid


def _preprocessing() -> Any:
    """Median-impute and scale numbers, one-hot encode categories (the notebooks' preprocessing)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    num = [s.name for s in FEATURE_SPECS if s.kind == "numeric"]
    cat = [s.name for s in FEATURE_SPECS if s.kind == "categorical"]
    cat_steps = [
        ("imp", SimpleImputer(strategy="constant", fill_value="missing")),
        ("oh", OneHotEncoder(handle_unknown="ignore")),
    ]
    num_steps = [("imp", SimpleImputer(strategy="median")), ("sc", StandardScaler())]
    return ColumnTransformer([("num", Pipeline(num_steps), num), ("cat", Pipeline(cat_steps), cat)])


def fit_and_score(
    pipe: Any, params: dict[str, Any], X: pd.DataFrame, y: np.ndarray, train: np.ndarray, test: np.ndarray
) -> dict[str, Any]:
    """Fit one clone of ``pipe`` with ``params`` on ``train`` rows, score ROC-AUC on ``test`` rows.

    Parameters
    ----------
    pipe : estimator
        The unfitted pipeline (cloned, never changed).
    params : dict
        One grid point.
    X, y : features and 0/1 labels
    train, test : arrays of row positions

    Returns
    -------
    dict
        ``score`` (ROC-AUC), ``wall_seconds`` and ``cpu_seconds`` of the fit and scoring in this
        process, and its ``pid``.
    """
    from sklearn.base import clone
    from sklearn.metrics import get_scorer
    from threadpoolctl import threadpool_limits

    wall, cpu = time.perf_counter(), time.process_time()
    with threadpool_limits(1):
        est = clone(pipe).set_params(**params)
        est.fit(X.iloc[train], y[train])
        score = get_scorer("roc_auc")(est, X.iloc[test], y[test])
    return {
        "score": float(score),
        "wall_seconds": time.perf_counter() - wall,
        "cpu_seconds": time.process_time() - cpu,
        "pid": os.getpid(),
    }


def _task(
    pipe: Any, X: pd.DataFrame, y: np.ndarray, job: tuple[int, int, dict[str, Any], Any]
) -> dict[str, Any]:
    cand, fold, params, (train, test) = job
    return {
        "candidate": cand,
        "fold": fold,
        "params": params,
        **fit_and_score(pipe, params, X, y, train, test),
    }


def grid_search(
    pipe: Any,
    grid: dict[str, list[Any]],
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    n_jobs: int = 2,
    cv: int = 3,
    on_fit: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """GridSearchCV's fits and choice, each fit timed and reported as soon as it is done.

    Parameters
    ----------
    pipe : estimator
    grid : dict
        Parameter grid (as for GridSearchCV).
    X, y : training features and 0/1 labels
    n_jobs : int
        Worker processes (joblib/loky), as GridSearchCV's ``n_jobs``.
    cv : int
        Folds (``check_cv(cv, y, classifier=True)``: stratified, unshuffled, as GridSearchCV).
    on_fit : callable, optional
        Called in this process with every finished fit (candidate, fold, params, score, times).

    Returns
    -------
    dict
        ``fits`` (every fit), ``mean_scores`` by candidate, ``best_index``, ``best_params``,
        ``best_score`` (GridSearchCV's ``best_index_``, ``best_params_``, ``best_score_``).
    """
    from joblib import Parallel, delayed
    from sklearn.model_selection import ParameterGrid, check_cv

    y = np.asarray(y)
    candidates = list(ParameterGrid(grid))
    splits = list(check_cv(cv, y, classifier=True).split(X, y))
    jobs = [(c, f, p, s) for c, p in enumerate(candidates) for f, s in enumerate(splits)]
    fits = []
    runner = Parallel(n_jobs=n_jobs, return_as="generator_unordered", pre_dispatch="n_jobs")
    for fit in runner(delayed(_task)(pipe, X, y, job) for job in jobs):
        fits.append(fit)
        if on_fit is not None:
            on_fit(fit)
    return {"fits": fits, **choose_best(candidates, fits, len(splits))}


def choose_best(candidates: list[dict[str, Any]], fits: list[dict[str, Any]], folds: int) -> dict[str, Any]:
    """GridSearchCV's choice: highest mean fold score, the first candidate among ties.

    Parameters
    ----------
    candidates : list of dict
        The grid points in ``ParameterGrid`` order.
    fits : list of dict
        Every fit (``candidate``, ``score``).
    folds : int

    Returns
    -------
    dict
        ``mean_scores``, ``best_index``, ``best_params``, ``best_score``.
    """
    scores = np.full((len(candidates), folds), np.nan)
    for fit in fits:
        scores[fit["candidate"], fit["fold"]] = fit["score"]
    means = scores.mean(axis=1)
    best = int(np.flatnonzero(means == np.nanmax(means))[0])
    return {
        "mean_scores": [float(m) for m in means],
        "best_index": best,
        "best_params": candidates[best],
        "best_score": float(means[best]),
    }


def fit_summary(fits: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals of a list of fits: count, CPU and wall seconds summed over fits.

    Parameters
    ----------
    fits : list of dict

    Returns
    -------
    dict
    """
    return {
        "fits": len(fits),
        "cpu_seconds_sum": round(sum(f["cpu_seconds"] for f in fits), 1),
        "wall_seconds_sum": round(sum(f["wall_seconds"] for f in fits), 1),
    }


class Run:
    """State of one notebook run: log file, result JSON rewritten after every fit, time box."""

    def __init__(self, out: Path, budget_seconds: float) -> None:
        self.out = out
        self.start = time.perf_counter()
        self.log_file = (out / "notebook_log.txt").open("a", buffering=1)
        self.state: dict[str, Any] = {
            "status": "running",
            "budget_seconds": budget_seconds,
            "load_avg_start": list(os.getloadavg()),
            "models": {},
        }
        self.lock = threading.Lock()

    def log(self, msg: str) -> None:
        """Write one time-stamped line to the log."""
        with self.lock:
            self.log_file.write(f"[{time.strftime('%H:%M:%S')} +{self.elapsed():8.1f}s] {msg}\n")

    def elapsed(self) -> float:
        """Wall seconds since the start."""
        return time.perf_counter() - self.start

    def save(self) -> None:
        """Rewrite the result JSON with the process's CPU so far."""
        with self.lock:
            own = resource.getrusage(resource.RUSAGE_SELF)
            kids = resource.getrusage(resource.RUSAGE_CHILDREN)
            self.state.update(
                wall_seconds=round(self.elapsed(), 1),
                cpu_seconds_self=round(own.ru_utime + own.ru_stime, 1),
                cpu_seconds_reaped_children=round(kids.ru_utime + kids.ru_stime, 1),
                load_avg_now=list(os.getloadavg()),
            )
            tmp = self.out / "notebook_result.json.tmp"
            tmp.write_text(json.dumps(self.state, indent=2, default=str))
            tmp.replace(self.out / "notebook_result.json")


def _watchdog(run: Run, budget_seconds: float, finished: threading.Event) -> None:
    """At the time box (unless ``finished`` is set first): record it, stop the workers, exit."""
    if finished.wait(budget_seconds):
        return
    import psutil

    run.log(f"time box of {budget_seconds:.0f} s reached: stopping (figures are lower bounds)")
    run.state["status"] = "stopped_at_time_box"
    run.save()
    for child in psutil.Process().children(recursive=True):
        try:
            child.kill()
        except psutil.Error:
            continue
    os._exit(3)


def _run_model(run: Run, name: str, data: dict[str, pd.DataFrame], n_jobs: int, seed: int) -> None:
    pipe, grid = notebook_pipeline(name, seed)
    X, y = data["train"].drop(columns="churned"), data["train"]["churned"].to_numpy()
    entry: dict[str, Any] = {"status": "grid", "grid": grid, "fit_log": []}
    run.state["models"][name] = entry
    run.log(f"{name}: grid {grid}, 3 folds, {len(X)} rows, n_jobs={n_jobs}")

    def on_fit(fit: dict[str, Any]) -> None:
        entry["fit_log"].append(fit)
        entry.update(fit_summary(entry["fit_log"]))
        run.log(
            f"{name} fit {len(entry['fit_log'])}: {fit['params']} fold {fit['fold'] + 1}: "
            f"ROC-AUC {fit['score']:.4f}, {fit['wall_seconds']:.1f} s wall, "
            f"{fit['cpu_seconds']:.1f} s CPU (pid {fit['pid']})"
        )
        run.save()

    found = grid_search(pipe, grid, X, y, n_jobs=n_jobs, on_fit=on_fit)
    entry.update({k: v for k, v in found.items() if k != "fits"}, status="refit")
    run.log(f"{name}: best {found['best_params']} CV ROC-AUC {found['best_score']:.4f}; refit on all rows")
    run.save()
    entry["refit"] = _refit(run, pipe, found["best_params"], X, y, data, name)
    entry["status"] = "done"
    run.save()


def _refit(
    run: Run,
    pipe: Any,
    params: dict[str, Any],
    X: pd.DataFrame,
    y: np.ndarray,
    data: dict[str, Any],
    name: str,
) -> dict[str, float]:
    from sklearn.base import clone

    wall, cpu = time.perf_counter(), time.process_time()
    model = clone(pipe).set_params(**params).fit(X, y)
    timing = {"wall_seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu}
    np.savez(
        run.out / f"pred_{name}.npz",
        p_test=model.predict_proba(data["test"].drop(columns="churned"))[:, 1],
        p_hold=model.predict_proba(data["hold"].drop(columns="churned"))[:, 1],
    )
    run.log(f"{name}: refit {timing['wall_seconds']:.1f} s wall, {timing['cpu_seconds']:.1f} s CPU")
    return timing


def _shutdown_workers() -> None:
    """Stop joblib's reusable loky workers and wait for them, so their CPU time is reaped."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)


def main(argv: list[str] | None = None) -> int:
    """Run the notebook grids on the rows in ``--data``; see the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--budget", type=float, default=DEFAULT_BUDGET_SECONDS, help="Time box (s).")
    args = ap.parse_args(argv)
    run = Run(args.data, args.budget)
    finished = threading.Event()
    threading.Thread(target=_watchdog, args=(run, args.budget, finished), daemon=True).start()
    data = {k: pd.read_parquet(args.data / f"{k}.parquet") for k in ("train", "test", "hold")}
    run.log(f"start: rows {[len(v) for v in data.values()]}, load {os.getloadavg()}")
    try:
        for name in args.models.split(","):
            _run_model(run, name, data, args.n_jobs, args.seed)
        _shutdown_workers()
    finally:
        finished.set()
    run.state["status"] = "done"
    run.save()
    st = run.state
    run.log(f"done: {st['cpu_seconds_self']} s CPU self, {st['cpu_seconds_reaped_children']} s workers")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
