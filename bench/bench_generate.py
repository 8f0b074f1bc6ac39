"""Benchmark of the synthetic WiFi generator, and a learnability check of its data.

Speed: generates ~10 million sessions (``--sessions``; the number of customers is derived from
a small pilot run) into a temporary lake, in a child process, and measures wall time and peak
memory (resident set of the whole process tree, sampled with psutil, plus ``getrusage``).  The
same run times the row-by-row Faker generator of the original notebooks
(``bench/faker_baseline.py``) on ``--faker-rows`` rows and extrapolates.  The lake goes to
``/dev/shm`` when it exists (``--dir`` to choose): the shared disk of the team machines writes
~140 MB/s, which would measure the disk rather than the generator; the disk figure is reported
too.

Learnability (``--learnability``): on a default-size lake without dirt, for monthly as-of dates
T, label = no visit in (T, T+60d] among guests with a visit in the 180 days before T; compares
the ROC-AUC of "days since last visit" with a HistGradientBoosting model on simple features
computed from data up to T, trained on the earlier dates and tested on the later ones (out of
time), and the generator's oracle.

Writes ``bench/results_generate.json`` and prints a markdown table.

Run: ``python -m bench.bench_generate [--sessions 10000000] [--learnability]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import psutil  # noqa: E402
from c4.generate import DirtConfig, GeneratorConfig, generate, load_truth, oracle_churn_probability  # noqa: E402
from c4.storage import Lake  # noqa: E402

from bench.faker_baseline import faker_rows  # noqa: E402

RESULTS = ROOT / "bench" / "results_generate.json"
TARGET_SECONDS, TARGET_MB = 15.0, 3072.0


# -- speed ------------------------------------------------------------------------------------
def _scratch(parent: str | None) -> Path:
    base = parent or ("/dev/shm" if Path("/dev/shm").is_dir() else None)
    return Path(tempfile.mkdtemp(prefix="c4-bench-gen-", dir=base))


def sessions_per_customer(parent: str | None) -> float:
    """Sessions per customer of the default window, from a small pilot run."""
    tmp = _scratch(parent)
    try:
        summary = generate(Lake(str(tmp)), GeneratorConfig(customers=5_000, workers=1))
        return summary.sessions / 5_000
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _child(spec: str) -> None:
    """Run one generation (in the measured child process) and print its summary as JSON."""
    args = json.loads(spec)
    config = GeneratorConfig(customers=args["customers"], workers=args["workers"])
    summary = generate(Lake(args["lake"]), config)
    print(json.dumps({k: v for k, v in asdict(summary).items() if k != "per_mall"}))


def _tree_memory(proc: psutil.Process, *, pss: bool) -> tuple[int, int]:
    """Resident memory of a process tree: sum of RSS (counts pages shared by forked workers
    once per process) and, when ``pss``, sum of PSS (shared pages split between the processes:
    the real total; reading it is slow and stalls the processes, so it is sampled rarely)."""
    rss_total = pss_total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            if pss:
                info = p.memory_full_info()
                rss_total += info.rss
                pss_total += getattr(info, "pss", info.rss)
            else:
                rss_total += p.memory_info().rss
    return rss_total, pss_total


def measure_generation(customers: int, workers: int | None, parent: str | None) -> dict[str, Any]:
    """Generate in a child process; wall time, peak tree RSS, summary."""
    lake = _scratch(parent)
    spec = json.dumps({"customers": customers, "workers": workers, "lake": str(lake)})
    peak = peak_pss = 0
    done = threading.Event()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.bench_generate", "--child", spec],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    ps = psutil.Process(proc.pid)

    def sample() -> None:
        nonlocal peak, peak_pss
        tick = 0
        while not done.is_set():
            try:
                rss, pss = _tree_memory(ps, pss=tick % 40 == 20)
            except psutil.Error:
                break
            peak, peak_pss = max(peak, rss), max(peak_pss, pss)
            tick += 1
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    seconds = time.perf_counter() - t0
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"generation failed with exit code {proc.returncode}")
    summary = json.loads(out.strip().splitlines()[-1])
    size = sum(f.stat().st_size for f in lake.rglob("*") if f.is_file())
    shutil.rmtree(lake, ignore_errors=True)
    return {
        "seconds": seconds,
        "cpu_seconds": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "peak_tree_rss_mb": peak / 2**20,
        "peak_tree_pss_mb": peak_pss / 2**20,
        "max_process_rss_mb": after.ru_maxrss / 1024,
        "bytes_written": size,
        "lake_dir": str(lake.parent),
        "summary": summary,
    }


def disk_write_mb_s(parent: str | None, megabytes: int = 512) -> float:
    """Sequential write throughput of a folder (fsync'd), to put the generator's I/O in context."""
    folder = Path(tempfile.mkdtemp(prefix="c4-bench-disk-", dir=parent))
    block = os.urandom(1 << 20)
    try:
        t0 = time.perf_counter()
        with (folder / "probe.bin").open("wb") as fh:
            for _ in range(megabytes):
                fh.write(block)
            fh.flush()
            os.fsync(fh.fileno())
        return megabytes / (time.perf_counter() - t0)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- learnability -----------------------------------------------------------------------------
def read_visits(lake: Path) -> pd.DataFrame:
    """Visits (guest, mall, local day) with per-visit aggregates, from the raw files of a clean lake."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.json as pajson
    from c4.generate.render import FIELDS

    base = lake / "raw" / "sessions"
    frames = []
    csv_files, json_files = sorted(base.glob("*/*/*.csv")), sorted(base.glob("*/*/*.jsonl"))
    types = dict.fromkeys(FIELDS, pa.string())
    if csv_files:
        body = b"".join(f.read_bytes().split(b"\n", 1)[1] for f in csv_files)
        frames.append(
            pacsv.read_csv(
                io.BytesIO(body),
                read_options=pacsv.ReadOptions(column_names=list(FIELDS)),
                convert_options=pacsv.ConvertOptions(column_types=types),
            ).to_pandas()
        )
    if json_files:
        body = b"".join(f.read_bytes() for f in json_files)
        frames.append(pajson.read_json(io.BytesIO(body)).to_pandas())
    s = pd.concat(frames, ignore_index=True)
    s["d"] = pd.to_datetime(s["session_start"].str[:10])
    for col in ("dwell_minutes", "signal_dbm", "failed_logins"):
        s[col] = pd.to_numeric(s[col])
    v = s.groupby(["customer_id", "mall_id", "d"], as_index=False).agg(
        n=("d", "size"),
        dwell=("dwell_minutes", "mean"),
        sig=("signal_dbm", "mean"),
        failed=("failed_logins", "sum"),
        os=("device_os", "first"),
        login=("login_method", "first"),
    )
    for col in ("os", "login", "mall_id"):
        v[col] = v[col].astype("category").cat.codes
    return v.sort_values(["customer_id", "d"]).reset_index(drop=True)


def features(v: pd.DataFrame, as_of: pd.Timestamp, horizon: int) -> pd.DataFrame:
    """Simple point-in-time features (data up to ``as_of``) and the label."""
    past = v[v["d"] <= as_of].assign(age=lambda x: (as_of - x["d"]).dt.days)
    g = past.groupby("customer_id")
    f = g.agg(
        recency=("age", "min"),
        tenure=("age", "max"),
        visits_all=("age", "size"),
        dwell_all=("dwell", "mean"),
        sess_all=("n", "mean"),
        sig_all=("sig", "mean"),
        os=("os", "first"),
        login=("login", "first"),
        mall=("mall_id", "first"),
        malls=("mall_id", "nunique"),
    )
    f = f[f["recency"] < 180]
    for w in (30, 60, 90, 180):
        f[f"v{w}"] = past[past["age"] < w].groupby("customer_id").size().reindex(f.index).fillna(0)
    last3 = past.groupby("customer_id").tail(3).groupby("customer_id")
    f["dwell_last3"], f["sess_last3"] = last3["dwell"].mean(), last3["n"].mean()
    f["sig_last3"], f["failed_last3"] = last3["sig"].mean(), last3["failed"].sum()
    future = v[(v["d"] > as_of) & (v["d"] <= as_of + pd.Timedelta(days=horizon))]["customer_id"].unique()
    f["label"] = (~f.index.isin(future)).astype(int)
    f["as_of"] = as_of
    return f


def learnability(customers: int, parent: str | None, horizon: int = 60, seed: int = 42) -> dict[str, Any]:
    """AUC of days-since-last-visit vs a quick model vs the oracle, out of time."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    lake = _scratch(parent)
    try:
        config = GeneratorConfig(customers=customers, seed=seed, dirt=DirtConfig.preset("none"))
        generate(Lake(str(lake)), config)
        v = read_visits(lake)
        truth = load_truth(Lake(str(lake)))
    finally:
        shutil.rmtree(lake, ignore_errors=True)
    dates = pd.date_range(
        pd.Timestamp(config.start) + pd.DateOffset(months=6),
        pd.Timestamp(config.end) - pd.Timedelta(days=horizon + 1),
        freq="MS",
    )
    data = pd.concat([features(v, t, horizon) for t in dates])
    split = dates[int(len(dates) * 0.6)]
    train, test = data[data["as_of"] < split], data[data["as_of"] >= split]
    x_cols = [c for c in data.columns if c not in ("label", "as_of")]
    rfm = ["recency", "v180", "tenure"]
    bgnbd = fit_bgnbd(v, pd.Timestamp(config.start))
    out: dict[str, Any] = {
        "bgnbd_fit_first_12_months": bgnbd,
        "customers": customers,
        "horizon_days": horizon,
        "as_of_dates": len(dates),
        "train_rows": len(train),
        "test_rows": len(test),
        "test_churn_rate": float(test["label"].mean()),
    }
    for name, rows in (("all", slice(None)), ("repeat_guests", None)):
        tr = train if rows is not None else train[train["visits_all"] >= 2]
        te = test if rows is not None else test[test["visits_all"] >= 2]
        full = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, random_state=0)
        small = HistGradientBoostingClassifier(max_iter=200, random_state=0)
        full.fit(tr[x_cols], tr["label"])
        small.fit(tr[rfm], tr["label"])
        oracle = pd.concat(
            [
                oracle_churn_probability(truth, t.date(), horizon).reindex(grp.index)
                for t, grp in te.groupby("as_of")
            ]
        )
        out[name] = {
            "test_rows": len(te),
            "churn_rate": float(te["label"].mean()),
            "auc_days_since_last_visit": float(roc_auc_score(te["label"], te["recency"])),
            "auc_hgb_recency_frequency_tenure": float(
                roc_auc_score(te["label"], small.predict_proba(te[rfm])[:, 1])
            ),
            "auc_hgb_all_features": float(roc_auc_score(te["label"], full.predict_proba(te[x_cols])[:, 1])),
            "auc_oracle": float(roc_auc_score(te["label"], oracle.to_numpy())),
        }
    return out


def fit_bgnbd(v: pd.DataFrame, start: pd.Timestamp, months: int = 12) -> dict[str, float]:
    """Maximum-likelihood BG/NBD (Fader, Hardie & Lee 2005) on the guests first seen in the first
    ``months`` months (time in weeks), to compare with the published WiFi fits."""
    from scipy.optimize import minimize
    from scipy.special import betaln, gammaln

    end = start + pd.DateOffset(months=months)
    cal = v[(v["d"] >= start) & (v["d"] < end)]
    days = cal.groupby("customer_id")["d"].agg(["min", "max", "nunique"])
    x = (days["nunique"] - 1).to_numpy(float)
    t_x = (days["max"] - days["min"]).dt.days.to_numpy(float) / 7
    big_t = (end - days["min"]).dt.days.to_numpy(float) / 7

    def nll(theta: np.ndarray) -> float:
        r, alpha, a, b = np.exp(theta)
        base = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        l1 = betaln(a, b + x) - betaln(a, b) + base - (r + x) * np.log(alpha + big_t)
        with np.errstate(divide="ignore"):
            l2 = np.where(
                x > 0,
                betaln(a + 1, b + x - 1) - betaln(a, b) + base - (r + x) * np.log(alpha + t_x),
                -np.inf,
            )
        return -float(np.logaddexp(l1, l2).sum())

    res = minimize(
        nll, np.zeros(4), method="Nelder-Mead", options={"maxiter": 4000, "xatol": 1e-4, "fatol": 1e-4}
    )
    r, alpha, a, b = np.exp(res.x)
    return {"r": float(r), "alpha_weeks": float(alpha), "a": float(a), "b": float(b), "guests": len(x)}


# -- report -----------------------------------------------------------------------------------
def report(results: dict[str, Any]) -> str:
    """Markdown table of the speed results."""
    g, f = results["generator"], results["faker"]
    rows = g["summary"]["rows"]
    gen_rate = rows / g["seconds"]
    lines = [
        "| generator | rows | seconds | rows/s | CPU s | peak MB (PSS / RSS sum) | speed ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| c4.generate ({results['workers']} workers) | {rows:,} | {g['seconds']:.1f} | {gen_rate:,.0f} | "
        f"{g['cpu_seconds']:.1f} | {g['peak_tree_pss_mb']:,.0f} / {g['peak_tree_rss_mb']:,.0f} | "
        f"{gen_rate / f['rows_per_s']:,.0f}x |",
        f"| Faker row loop (measured {f['rows']:,} rows) | {rows:,} (extrapolated) | "
        f"{rows / f['rows_per_s']:,.0f} | {f['rows_per_s']:,.0f} | - | - | 1x |",
    ]
    return "\n".join(lines)


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Benchmark the synthetic WiFi generator.")
    parser.add_argument("--sessions", type=int, default=10_000_000, help="Target sessions of the timed run.")
    parser.add_argument("--faker-rows", type=int, default=50_000, help="Rows of the Faker baseline.")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--dir", default=None, help="Parent folder of the temporary lake (default /dev/shm).")
    parser.add_argument("--learnability", action="store_true", help="Also run the learnability check.")
    parser.add_argument("--learn-customers", type=int, default=60_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return
    per_customer = sessions_per_customer(args.dir)
    customers = max(1, round(args.sessions / per_customer))
    workers = args.workers or len(os.sched_getaffinity(0))
    results: dict[str, Any] = {
        "date": date.today().isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg": os.getloadavg()},
        "target": {"sessions": args.sessions, "seconds": TARGET_SECONDS, "peak_mb": TARGET_MB},
        "customers": customers,
        "sessions_per_customer": per_customer,
        "workers": workers,
        "generator": measure_generation(customers, workers, args.dir),
    }
    tmp = _scratch(args.dir)
    try:
        seconds = faker_rows(args.faker_rows, tmp / "faker.csv")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    results["faker"] = {"rows": args.faker_rows, "seconds": seconds, "rows_per_s": args.faker_rows / seconds}
    results["disk_write_mb_s"] = {
        "lake_dir": disk_write_mb_s(args.dir or "/dev/shm"),
        "repo_disk": disk_write_mb_s(str(ROOT / "bench")),
    }
    results["machine"]["load_avg_after"] = os.getloadavg()
    if args.learnability:
        results["learnability"] = learnability(args.learn_customers, args.dir)
    RESULTS.write_text(json.dumps(results, indent=2, default=float) + "\n", encoding="utf-8")
    print(report(results))
    if "learnability" in results:
        print(json.dumps(results["learnability"], indent=2))
    print(f"results written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
