"""Benchmark: the DuckDB ELT on generator output (~10 million sessions, ~7,300 raw files).

Generates (once per size, under ``bench/out/elt_lake_<N>``) a raw zone with the synthetic
generator (``c4.generate``: 20 malls, 12 months; the number of guests comes from a small pilot
run so the lake holds about ``--sessions`` rows), then runs ``run_elt`` on it in a child
process from a clean curated zone and measures wall time, the child's CPU time (user + sys,
all threads) and peak RSS, with the 1-minute load average before and after (the machine is
shared: wall time depends on the load, CPU time much less).  Checks that the quarantine holds
exactly the rejects the generator planted.  Writes ``bench/results_elt.json`` and prints a
markdown table.
Targets: 10 M sessions in < 15 s, peak memory < 3 GB (2 cores).

Also measured: the *read floor* (``read_floor``): DuckDB alone scanning every raw file with
every column (``read_csv`` / ``read_json``, 2 threads, a sum over all columns), the least any
DuckDB ELT of this raw zone can cost; and the wall / CPU seconds of each ELT stage
(``stages``, from ``EltSummary.stage_times``).

Run: ``python -m bench.bench_elt [--sessions 10000000] [--regenerate]``.
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

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
RESULTS = ROOT / "bench" / "results_elt.json"
TARGET_SECONDS = 15.0
TARGET_RSS_GB = 3.0
MALLS, MONTHS = 20, 12
PILOT_CUSTOMERS = 5_000
KEY = "bench-elt-key-0123456789"
CHILD = """
import json, sys, time
from c4.elt import run_elt
from c4.settings import Settings
from c4.storage import open_lake
settings = Settings(lake=sys.argv[1], pseudonym_key=sys.argv[2])
t0 = time.perf_counter()
summary = run_elt(open_lake(settings), settings)
wall = time.perf_counter() - t0
print(json.dumps({"wall_seconds": wall, "files": summary.files_processed, "rows_in": summary.rows_in,
                  "rows_accepted": summary.rows_accepted, "rows_rejected": summary.rows_rejected,
                  "rejected_by_reason": summary.rejected_by_reason,
                  "files_unreadable": summary.files_unreadable,
                  "stages": summary.stage_times.as_dict()}))
"""
FLOOR_THREADS = 2


def _rows_per_customer() -> float:
    """Raw rows per guest of the benchmark's window, from a small pilot run."""
    import tempfile

    from c4.generate import GeneratorConfig, generate
    from c4.storage import Lake

    with tempfile.TemporaryDirectory(prefix="c4-bench-elt-pilot-") as tmp:
        summary = generate(Lake(tmp), GeneratorConfig(customers=PILOT_CUSTOMERS, months=MONTHS, malls=MALLS))
    return summary.rows / PILOT_CUSTOMERS


def _generate(lake_dir: Path, sessions: int) -> dict:
    from c4.generate import GeneratorConfig, generate
    from c4.storage import Lake

    customers = max(200, round(sessions / _rows_per_customer()))
    if lake_dir.exists():
        shutil.rmtree(lake_dir)
    t0 = time.perf_counter()
    summary = generate(Lake(str(lake_dir)), GeneratorConfig(customers=customers, months=MONTHS, malls=MALLS))
    return {
        "customers": customers,
        "files": summary.files,
        "rows": summary.rows,
        "expected_rejects": summary.expected_rejects,
        "generate_seconds": time.perf_counter() - t0,
    }


def _clean(lake_dir: Path) -> None:
    for zone in ("curated", "manifests", "quarantine", ".c4"):
        shutil.rmtree(lake_dir / zone, ignore_errors=True)


def read_floor(lake_dir: Path, threads: int = FLOOR_THREADS) -> dict:
    """Seconds DuckDB needs just to scan the raw zone (CSV and JSON lines, every column as text).

    Parameters
    ----------
    lake_dir : Path
        A generated lake (``raw/sessions/...``).
    threads : int
        DuckDB threads.

    Returns
    -------
    dict
        ``read_floor_s`` (wall), ``read_floor_cpu_s`` (CPU of this process), rows scanned,
        raw bytes, and the load average before.
    """
    import duckdb
    from c4.elt.contract import CONTRACT_COLUMNS

    files = sorted(str(p) for p in (lake_dir / "raw" / "sessions").rglob("*") if p.is_file())
    csv = [f for f in files if f.endswith(".csv")]
    jsonl = [f for f in files if f.endswith((".jsonl", ".json"))]
    columns = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in CONTRACT_COLUMNS) + "}"
    total = " + ".join(f"COALESCE(LENGTH({c}), 0)" for c in CONTRACT_COLUMNS)

    def names(paths: list[str]) -> str:
        return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"

    scans = [
        f"SELECT COUNT(*) AS n, SUM({total}) AS chars FROM read_csv({names(csv)}, columns = {columns}, "
        "header = true, auto_detect = false, ignore_errors = true)",
        f"SELECT COUNT(*) AS n, SUM({total}) AS chars FROM read_json({names(jsonl)}, columns = {columns}, "
        "format = 'newline_delimited', ignore_errors = true)",
    ]
    con = duckdb.connect()
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET enable_progress_bar = false")
    load = os.getloadavg()[0]
    wall, cpu, rows = time.perf_counter(), time.process_time(), 0
    for sql, paths in zip(scans, (csv, jsonl), strict=True):
        if paths:
            rows += int(con.sql(sql).fetchall()[0][0])
    con.close()
    return {
        "read_floor_s": round(time.perf_counter() - wall, 2),
        "read_floor_cpu_s": round(time.process_time() - cpu, 2),
        "read_floor_rows": rows,
        "read_floor_threads": threads,
        "raw_bytes": sum(os.path.getsize(f) for f in files),
        "read_floor_load_1m_before": round(load, 2),
    }


def floor_note(floor_s: float, cpu_floor_s: float, target_s: float = TARGET_SECONDS) -> str:
    """What the read floor says about the time target (written into the results).

    Parameters
    ----------
    floor_s, cpu_floor_s : float
        Wall and CPU seconds of :func:`read_floor`.
    target_s : float
        The ELT time target.

    Returns
    -------
    str
    """
    if floor_s >= target_s:
        return (
            f"out of reach on this machine: DuckDB alone needs {floor_s:.1f} s (>= {target_s:.0f} s) "
            "to scan the raw text, before any validation or writing"
        )
    return (
        f"the scan alone takes {floor_s:.1f} s wall ({cpu_floor_s:.1f} CPU-s); "
        f"{target_s - floor_s:.1f} s are left for validation, pseudonyms, dedupe, visits and writing"
    )


def _run_child(lake_dir: Path) -> tuple[dict, float]:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(lake_dir), KEY],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    # CPU seconds do not depend on how many other processes share the machine; wall time does.
    result["cpu_seconds"] = round(usage.ru_utime + usage.ru_stime - cpu_before, 1)
    return result, max(usage.ru_maxrss, before) / 1024 / 1024


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark and write ``bench/results_elt.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10_000_000, help="Approximate raw sessions.")
    parser.add_argument("--regenerate", action="store_true", help="Regenerate the raw zone.")
    parser.add_argument("--generate-only", action="store_true", help="Only (re)generate the raw zone.")
    args = parser.parse_args(argv)
    lake_dir = OUT / f"elt_lake_{args.sessions}"
    meta_file = lake_dir / "bench_generation.json"
    if args.regenerate or not meta_file.exists():
        meta = _generate(lake_dir, args.sessions)
        meta_file.write_text(json.dumps(meta, indent=2))
    meta = json.loads(meta_file.read_text())
    if args.generate_only:
        return meta
    _clean(lake_dir)
    load_before = os.getloadavg()[0]
    run, peak_gb = _run_child(lake_dir)
    floor = read_floor(lake_dir)  # after the run: both read a warm page cache
    expected = {k: v for k, v in meta["expected_rejects"].items() if v}
    results = {
        "sessions_target": args.sessions,
        "raw_files": meta["files"],
        "raw_rows": meta["rows"],
        "generator_expected_rejects": meta["expected_rejects"],
        **run,
        **floor,
        "floor_meets_time": floor["read_floor_s"] < TARGET_SECONDS,
        "floor_note": floor_note(floor["read_floor_s"], floor["read_floor_cpu_s"]),
        "peak_rss_gb": round(peak_gb, 3),
        "rows_per_second": round(run["rows_in"] / run["wall_seconds"]),
        "target_seconds": TARGET_SECONDS,
        "target_rss_gb": TARGET_RSS_GB,
        "meets_time": run["wall_seconds"] < TARGET_SECONDS,
        "meets_memory": peak_gb < TARGET_RSS_GB,
        "quarantine_matches_generator": run["rejected_by_reason"] == expected,
        "cpus": os.cpu_count(),
        "load_average_1m_before": round(load_before, 2),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    rows = [
        ("raw files", f"{results['raw_files']:,}"),
        ("rows in", f"{results['rows_in']:,}"),
        ("rows accepted / rejected", f"{results['rows_accepted']:,} / {results['rows_rejected']:,}"),
        ("ELT wall time", f"{results['wall_seconds']:.1f} s (target < {TARGET_SECONDS:.0f} s)"),
        ("throughput", f"{results['rows_per_second']:,} rows/s"),
        ("CPU time (user + sys)", f"{results['cpu_seconds']:.0f} s"),
        (
            "read floor (DuckDB scan of the raw text, 2 threads)",
            f"{results['read_floor_s']:.1f} s wall, {results['read_floor_cpu_s']:.1f} s CPU",
        ),
        *[
            (f"stage {name}", f"{t['wall_s']:.1f} s wall, {t['cpu_s']:.1f} s CPU")
            for name, t in results["stages"].items()
        ],
        ("peak RSS", f"{results['peak_rss_gb']:.2f} GB (target < {TARGET_RSS_GB:.0f} GB)"),
        ("quarantine = generator's planted rejects", str(results["quarantine_matches_generator"])),
        (
            "cores / 1-min load before, after",
            f"{results['cpus']} / {results['load_average_1m_before']}, {results['load_average_1m']}",
        ),
    ]
    sys.stdout.write("| metric | value |\n|---|---|\n")
    sys.stdout.write("".join(f"| {k} | {v} |\n" for k, v in rows))
    return results


if __name__ == "__main__":
    main()
