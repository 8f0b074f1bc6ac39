"""Benchmark of module 2: batch features over ~10M sessions and scoring-time features.

``python -m bench.bench_features [--lake PATH] [--only batch|scoring]`` from the repo root.

Targets (issue #3):

* features for 12 monthly as-of dates over ~10M curated sessions in < 60 s wall, peak memory
  < 4 GB, on the 2-core machine;
* features of the guests of a 100,000-session file (their curated history + the file) in
  < 1 s, as scoring computes them (:func:`c4.scoring.history.online_features`, population
  parts and the guests' running state stored by the batch build, history already in the
  process's cache).

Data: ``bench/out/features_lake`` (or ``--lake`` / ``$C4_BENCH_LAKE``), ~10.66M sessions of
330,000 guests over 540 days from the fast synthetic *curated* maker of the feature tests
(``tests/fixtures_curated.py``: gamma visit rates, beta dropout, zones, dwell, WiFi; one Parquet
file per day), written once and reused.  A product lake (``c4 generate`` + ``c4 elt``) works
too: ``--lake bench/out/elt_lake_10000000``; its as-of dates are then its last 12 month ends.

The batch build runs on :func:`c4.features.batch_connection`, as ``build_training_set`` does
(DuckDB's memory bounded by :data:`c4.features.training.BATCH_MEMORY_LIMIT`, spilling to a
temp folder beyond it); its peak RSS is the whole process's: DuckDB, the Python frame of
1.9M rows x 40 columns, and what the allocators keep.

Each measurement runs in a fresh process so its peak RSS is its own.  Reported per step: wall
seconds, CPU seconds of the process (all DuckDB threads included), peak RSS and the 1-minute
load average before and after (the machine is shared: CPU seconds are the steadier number).
Results: ``bench/results_features.json``.
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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LAKE = os.environ.get("C4_BENCH_LAKE", str(ROOT / "bench" / "out" / "features_lake"))
CUSTOMERS, DAYS, START = 330_000, 540, dt.date(2024, 6, 1)
AS_OF_DATES = 12
FILE_SESSIONS = 100_000
WARM_RUNS = 5
UPLOAD = "raw/uploads/bench-file.parquet"
RESULTS = ROOT / "bench" / "results_features.json"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def make_data(lake: str) -> dict[str, Any]:
    """Write the synthetic curated lake unless it exists (or is a product lake)."""
    marker = Path(lake) / "bench.json"
    if marker.exists():
        return dict(json.loads(marker.read_text()))
    if (Path(lake) / "curated" / "sessions").exists():
        return {"lake": lake}
    sys.path.insert(0, str(ROOT))
    from tests.fixtures_curated import SyntheticConfig, make_sessions, write_curated

    started = time.perf_counter()
    sessions, malls = make_sessions(
        SyntheticConfig(customers=CUSTOMERS, days=DAYS, malls=20, start=START, seed=3)
    )
    write_curated(lake, sessions, malls)
    info = {
        "sessions": sessions.num_rows,
        "customers": CUSTOMERS,
        "days": DAYS,
        "seconds": round(time.perf_counter() - started, 1),
    }
    marker.write_text(json.dumps(info))
    return info


def _measure(fn: Any) -> tuple[Any, dict[str, float]]:
    load = _load()
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, {
        "seconds": round(time.perf_counter() - wall, 3),
        "cpu_seconds": round(time.process_time() - cpu, 3),
        "load_before": load,
        "load_after": _load(),
    }


def run_batch(lake_path: str) -> dict[str, Any]:
    """Features at the last 12 month ends of the lake; population parts and guest state are stored."""
    from c4.features import compute_features
    from c4.features.labels import data_date_range
    from c4.features.state import write_state
    from c4.features.store import write_population
    from c4.features.training import BATCH_MEMORY_LIMIT, batch_connection, month_ends
    from c4.storage import Lake

    lake = Lake(lake_path)
    con = batch_connection(lake)
    first, last = data_date_range(con)
    dates = month_ends(first, last)[-AS_OF_DATES:]
    frame, m = _measure(lambda: compute_features(con, dates))
    write_population(lake, frame.attrs["c4_population"])
    state = frame.attrs.get("c4_state")
    if state is not None:
        write_state(lake, state)
    sessions = con.execute("SELECT count(*) FROM sessions").fetchone()
    return {
        **m,
        "sessions": int(sessions[0]) if sessions else 0,
        "rows": len(frame),
        "as_of_dates": [d.isoformat() for d in dates],
        "state": {"reference_date": str(state.reference_date), "guests": state.size} if state else None,
        "duckdb_memory_limit": BATCH_MEMORY_LIMIT,
        "peak_rss_mb": round(_peak_rss_mb(), 0),
    }


def _scored_file(history: Any) -> Any:
    """The latest whole days holding >= FILE_SESSIONS sessions, capped at FILE_SESSIONS rows."""
    import pyarrow as pa
    import pyarrow.compute as pc

    days = (
        history.group_by("local_date")
        .aggregate([("local_date", "count")])
        .sort_by([("local_date", "descending")])
    )
    total, first = 0, None
    for day, n in zip(
        days.column("local_date").to_pylist(), days.column("local_date_count").to_pylist(), strict=True
    ):
        total, first = total + n, day
        if total >= FILE_SESSIONS:
            break
    recent = history.filter(pc.field("local_date") >= first)
    order = [("customer_id", "ascending"), ("session_start", "ascending")]  # no session_id in the cache
    recent = recent.take(pc.sort_indices(recent, order)).slice(0, FILE_SESSIONS)
    rows = recent.set_column(
        recent.schema.get_field_index("source_file"), "source_file", pa.array([UPLOAD] * recent.num_rows)
    )
    return rows, history.filter(pc.field("local_date") < first)


def run_scoring(lake_path: str) -> dict[str, Any]:
    """Online features of a 100k-session file's guests, as the scoring service computes them."""
    from c4.features.context import reference_date
    from c4.features.state import state_dates
    from c4.scoring.cache import curated_history
    from c4.scoring.history import as_of_date, online_features
    from c4.storage import Lake

    lake = Lake(lake_path)
    full, load_history = _measure(lambda: curated_history(lake))
    accepted, history = _scored_file(full)
    del full
    stored = lake.exists(
        f"features/population/reference_date={reference_date(as_of_date(accepted))}/population.json"
    )
    runs = [
        _measure(lambda: online_features(lake, accepted, UPLOAD, history=history))
        for _ in range(1 + WARM_RUNS)
    ]
    (frame, _), first = runs[0]
    warm = [m for _, m in runs[1:]]
    return {
        "history_load": load_history,
        "history_sessions": history.num_rows,
        "file_sessions": accepted.num_rows,
        "guests": len(frame),
        "population_parts": "stored" if stored else "computed",
        "stored_states": [d.isoformat() for d in state_dates(lake)],
        "first_call": first,
        "warm_median_seconds": round(statistics.median(m["seconds"] for m in warm), 3),
        "warm_median_cpu_seconds": round(statistics.median(m["cpu_seconds"] for m in warm), 3),
        "warm_runs": warm,
        "peak_rss_mb": round(_peak_rss_mb(), 0),
    }


def _in_subprocess(kind: str, lake: str) -> dict[str, Any]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_features", "--worker", kind, "--lake", lake],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'shared'}{os.pathsep}{ROOT}"},
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = dict(json.loads(out.stdout.strip().splitlines()[-1]))
    result["process_cpu_seconds"] = round(
        (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), 2
    )
    return result


def _print(results: dict[str, Any]) -> None:
    batch, scoring = results.get("batch_12_dates"), results.get("scoring_file")
    rows = []
    if batch:
        rows += [
            ("batch: sessions / rows", f"{batch['sessions']:,} / {batch['rows']:,}", ""),
            ("batch: wall (CPU)", f"{batch['seconds']:.1f} s ({batch['cpu_seconds']:.1f} s)", "< 60 s"),
            ("batch: peak RSS", f"{batch['peak_rss_mb']:,.0f} MB", "< 4096 MB"),
            ("batch: load before/after", f"{batch['load_before']} / {batch['load_after']}", ""),
        ]
    if scoring:
        rows += [
            ("scoring: file sessions / guests", f"{scoring['file_sessions']:,} / {scoring['guests']:,}", ""),
            ("scoring: population parts", scoring["population_parts"], ""),
            ("scoring: first call", f"{scoring['first_call']['seconds']:.3f} s", ""),
            (
                f"scoring: warm (median of {WARM_RUNS})",
                f"{scoring['warm_median_seconds']:.3f} s ({scoring['warm_median_cpu_seconds']:.3f} s CPU)",
                "< 1 s",
            ),
            ("scoring: peak RSS", f"{scoring['peak_rss_mb']:,.0f} MB", ""),
        ]
    width = max(len(r[0]) for r in rows)
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>28}  {target}")
    print(f"results written to {RESULTS.relative_to(ROOT)}")


def main() -> None:
    """Run the benchmark and write ``bench/results_features.json``."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--worker", choices=["batch", "scoring"], help=argparse.SUPPRESS)
    parser.add_argument("--lake", default=DEFAULT_LAKE, help="bench lake (created if missing)")
    parser.add_argument(
        "--only", choices=["batch", "scoring"], help="run one measurement (the other's last result is kept)"
    )
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_batch(args.lake) if args.worker == "batch" else run_scoring(args.lake)))
        return
    data = make_data(args.lake)
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if args.only and RESULTS.exists() else {}
    results.update({"machine": {"cpus": os.cpu_count(), "load_avg_1m_start": _load()}, "data": data})
    if args.only != "scoring":
        batch = _in_subprocess("batch", args.lake)
        results["batch_12_dates"] = {
            **batch,
            "target_seconds": 60,
            "target_peak_mb": 4096,
            "ok": batch["seconds"] < 60 and batch["peak_rss_mb"] < 4096,
        }
    if args.only != "batch":
        scoring = _in_subprocess("scoring", args.lake)
        results["scoring_file"] = {
            **scoring,
            "target_seconds": 1.0,
            "ok": scoring["warm_median_seconds"] < 1.0,
        }
    results["machine"]["load_avg_1m_end"] = _load()
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    _print(results)


if __name__ == "__main__":
    main()
