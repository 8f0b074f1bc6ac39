"""Benchmark of module 2: batch features over ~10M sessions and scoring-time features.

``python -m bench.bench_features`` (from the repo root).  Targets:

* features for 12 monthly as-of dates over ~10M curated sessions in < 60 s, peak memory < 4 GB;
* features of the guests of a 100,000-session file (curated history + the file) in < 1 s.

Data: the product's generator + ELT write ~270k sessions for 20,000 guests in 18 months and the
ELT needs minutes for that, so ~10M sessions come from the fast synthetic *curated* maker of the
feature tests (``tests/fixtures_curated.py``: gamma visit rates, beta dropout, zones, dwell,
WiFi; one Parquet file per day), written once to ``$C4_BENCH_LAKE`` (default
``/tmp/c4-bench-features``) and reused.  Each measurement runs in a fresh process so its peak
RSS is its own.  Results: ``bench/results_features.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAKE = os.environ.get("C4_BENCH_LAKE", "/tmp/c4-bench-features")
CUSTOMERS, DAYS, START = 330_000, 540, dt.date(2024, 6, 1)
FILE_SESSIONS = 100_000
RESULTS = ROOT / "bench" / "results_features.json"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def make_data() -> dict:
    """Write the synthetic curated lake unless it exists."""
    marker = Path(LAKE) / "bench.json"
    if marker.exists():
        return json.loads(marker.read_text())
    sys.path.insert(0, str(ROOT))
    from tests.fixtures_curated import SyntheticConfig, make_sessions, write_curated

    started = time.perf_counter()
    sessions, malls = make_sessions(
        SyntheticConfig(customers=CUSTOMERS, days=DAYS, malls=20, start=START, seed=3)
    )
    write_curated(LAKE, sessions, malls)
    info = {
        "sessions": sessions.num_rows,
        "customers": CUSTOMERS,
        "days": DAYS,
        "seconds": round(time.perf_counter() - started, 1),
    }
    marker.write_text(json.dumps(info))
    return info


def run_batch() -> dict:
    """12 monthly as-of dates over the whole lake."""
    from c4.engine import connect
    from c4.features import compute_features
    from c4.features.source import quiet
    from c4.features.training import month_ends

    con = quiet(connect(__import__("c4.storage", fromlist=["Lake"]).Lake(LAKE)))
    dates = month_ends(START + dt.timedelta(days=150), START + dt.timedelta(days=DAYS))[-12:]
    started = time.perf_counter()
    frame = compute_features(con, dates)
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 2),
        "rows": len(frame),
        "as_of_dates": len(dates),
        "peak_rss_mb": round(_peak_rss_mb(), 0),
    }


def run_scoring() -> dict:
    """Guests of a 100k-session 'new file' (the latest days), history + file, as scoring does."""
    import duckdb
    import pyarrow.compute as pc
    from c4.features import compute_features
    from c4.storage import Lake

    lake = Lake(LAKE)
    history = lake.dataset("curated/sessions")
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.register("history_ds", history)
    con.register("malls", lake.read_parquet("curated/malls"))
    # the file: the latest whole days holding >= FILE_SESSIONS sessions, capped at FILE_SESSIONS rows
    days = con.execute("SELECT local_date, count(*) FROM history_ds GROUP BY 1 ORDER BY 1 DESC").fetchall()
    total, first = 0, days[0][0]
    for d, n in days:
        total, first = total + n, d
        if total >= FILE_SESSIONS:
            break
    file_rows = con.execute(
        f"SELECT * FROM history_ds WHERE local_date >= DATE '{first}' "
        f"ORDER BY session_id LIMIT {FILE_SESSIONS}"
    ).to_arrow_table()
    con.register("new_file", file_rows)
    cols = ", ".join(f'"{c}"' for c in file_rows.column_names)
    con.execute(f"""CREATE TEMP VIEW scoring_sessions AS
        SELECT {cols} FROM history_ds WHERE local_date < DATE '{first}'
        UNION ALL SELECT {cols} FROM new_file""")
    customers = pc.unique(file_rows.column("customer_id")).to_pylist()
    as_of = pc.max(file_rows.column("local_date")).as_py()
    timings = []
    frame = None
    for _ in range(4):
        started = time.perf_counter()
        frame = compute_features(
            con, [as_of], customers=customers, sessions="scoring_sessions", malls="malls"
        )
        timings.append(time.perf_counter() - started)
    assert frame is not None
    return {
        "cold_seconds": round(timings[0], 3),
        "warm_median_seconds": round(statistics.median(timings[1:]), 3),
        "file_sessions": file_rows.num_rows,
        "guests": len(customers),
        "rows": len(frame),
        "peak_rss_mb": round(_peak_rss_mb(), 0),
    }


def _in_subprocess(kind: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_features", "--worker", kind],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'shared'}{os.pathsep}{ROOT}"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Run the benchmark and write ``bench/results_features.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=["batch", "scoring"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_batch() if args.worker == "batch" else run_scoring()))
        return
    data = make_data()
    batch = _in_subprocess("batch")
    scoring = _in_subprocess("scoring")
    results = {
        "machine": {"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 1)},
        "data": data,
        "batch_12_dates": {
            **batch,
            "target_seconds": 60,
            "target_peak_mb": 4096,
            "ok": batch["seconds"] < 60 and batch["peak_rss_mb"] < 4096,
        },
        "scoring_file": {**scoring, "target_seconds": 1.0, "ok": scoring["warm_median_seconds"] < 1.0},
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    rows = [
        ("sessions", f"{data['sessions']:,}", ""),
        ("batch: 12 as-of dates", f"{batch['seconds']:.1f} s", "< 60 s"),
        ("batch: rows", f"{batch['rows']:,}", ""),
        ("batch: peak RSS", f"{batch['peak_rss_mb']:,.0f} MB", "< 4096 MB"),
        ("scoring: file sessions / guests", f"{scoring['file_sessions']:,} / {scoring['guests']:,}", ""),
        ("scoring: cold", f"{scoring['cold_seconds']:.3f} s", ""),
        ("scoring: warm (median of 3)", f"{scoring['warm_median_seconds']:.3f} s", "< 1 s"),
        ("scoring: peak RSS", f"{scoring['peak_rss_mb']:,.0f} MB", ""),
        ("machine load (1 min)", str(results["machine"]["load_avg_1m"]), f"{os.cpu_count()} cores"),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>18}  {target}")
    print(f"results written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
