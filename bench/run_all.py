"""Run every benchmark at its stated size and write ``bench/results.md``.

``make bench`` runs this module.  Each benchmark is a module of this package that writes
``bench/results_<name>.json``; they run one after the other (never in parallel, so they do not
disturb each other) in a subprocess each, and this runner gathers the JSON files into one
markdown page with the machine described.  Options: ``--only generate,elt`` to run a subset,
``--collect`` to only rebuild the page from the JSON files already there.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BENCHES = ("generate", "elt", "features", "train", "score", "chat")


def _machine() -> dict[str, Any]:
    mem_gb = None
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            mem_gb = round(int(fh.readline().split()[1]) / 1024**2, 1)
    except OSError:
        pass
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": mem_gb,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
    }


def _flatten(obj: Any, prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            rows.extend(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(obj, list) and len(obj) > 8:
        rows.append((prefix, f"[{len(obj)} items]"))
    else:
        rows.append((prefix, obj))
    return rows


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value).replace("|", "\\|")


#: (benchmark, target in words, path to the measured value, limit, "max" or "min", unit).
TARGETS: tuple[tuple[str, str, str, float, str, str], ...] = (
    ("generate", "10M sessions generated and written", "generator.seconds", 15.0, "max", "s"),
    ("generate", "generation peak memory", "generator.peak_tree_pss_mb", 3072.0, "max", "MB"),
    ("elt", "10M sessions curated", "wall_seconds", 15.0, "max", "s"),
    ("elt", "ELT peak memory", "peak_rss_gb", 3.0, "max", "GB"),
    ("features", "features, 12 monthly dates over 10M sessions", "batch_12_dates.seconds", 60.0, "max", "s"),
    ("features", "features peak memory", "batch_12_dates.peak_rss_mb", 4096.0, "max", "MB"),
    ("features", "scoring-time features, 100k file", "scoring_file.warm_median_seconds", 1.0, "max", "s"),
    ("train", "champion share of the oracle ROC-AUC", "c4.oracle_share", 0.95, "min", ""),
    ("train", "margin over best baseline (AUC)", "c4.margin_over_best_baseline.roc_auc", 0.03, "min", ""),
    ("train", "calibration error (ECE)", "c4.ece", 0.02, "max", ""),
    ("train", "training with tuning, ~200k rows (wall)", "timing.c4_train.wall_seconds", 180.0, "max", "s"),
    ("train", "training with tuning, ~200k rows (CPU)", "timing.c4_train.cpu_seconds", 180.0, "max", "s"),
    ("train", "speed-up vs notebooks, wall (same run)", "speedup_vs_notebook.wall", 10.0, "min", "x"),
    ("train", "speed-up vs notebooks, CPU (same run)", "speedup_vs_notebook.cpu", 10.0, "min", "x"),
    ("score", "100k-session file through the handler, warm", "warm_100k.median_s", 2.0, "max", "s"),
    ("score", "cold start (imports + model load)", "cold_start.total_s", 3.0, "max", "s"),
    ("score", "1M-row file peak memory (Lambda 3008 MB)", "rows_1m.peak_rss_mb", 3008.0, "max", "MB"),
    ("chat", "chat answer latency p95", "snapshot.p95_ms", 300.0, "max", "ms"),
)


def _get(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def targets_table(results: dict[str, dict[str, Any]]) -> list[str]:
    """Every stated target with the measured value and whether it is met (the page's first table)."""
    lines = ["| benchmark | target | measured | met |", "|---|---|---|---|"]
    for bench, words, path, limit, kind, unit in TARGETS:
        value = _get(results.get(bench, {}), path)
        sign = "<" if kind == "max" else ">="
        target = f"{words}: {sign} {_fmt(limit)} {unit}".rstrip()
        if not isinstance(value, int | float):
            lines.append(f"| {bench} | {target} | not measured | — |")
            continue
        met = value < limit if kind == "max" else value >= limit
        lines.append(f"| {bench} | {target} | {_fmt(float(value))} {unit} | {'yes' if met else '**no**'} |")
    return lines


def render(results: dict[str, dict[str, Any]], runs: dict[str, dict[str, Any]]) -> str:
    """The markdown page: machine, then one section per benchmark with every number it wrote."""
    lines = [
        "# C4 benchmark results",
        "",
        f"Written by `python -m bench.run_all` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "A section whose heading shows an exit status ran in this invocation (alone, one after",
        "the other, each in its own process); any other section is collected from the JSON file",
        "its benchmark wrote when it last ran, at the load that section records. Ratios within a",
        "section come from one run. Targets are the ones the module issues state.",
        "",
        "## Machine",
        "",
    ]
    lines += [f"- {k}: {_fmt(v)}" for k, v in _machine().items()]
    lines += ["", "## Targets", "", *targets_table(results)]
    for name in BENCHES:
        if name not in results:
            continue
        run = runs.get(name, {})
        status = f" (exit {run['returncode']}, {run['seconds']} s)" if run else ""
        lines += ["", f"## {name}{status}", "", "| measure | value |", "|---|---|"]
        lines += [
            f"| {k} | {_fmt(v)} |"
            for k, v in _flatten(results[name])
            if not k.startswith(("machine", "date"))
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks (or a subset) and write ``bench/results.md``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default=",".join(BENCHES), help="comma-separated benchmark names")
    parser.add_argument("--collect", action="store_true", help="only rebuild results.md from the JSON files")
    args = parser.parse_args(argv)
    runs: dict[str, dict[str, Any]] = {}
    failed = []
    if not args.collect:
        for name in [n for n in args.only.split(",") if n]:
            print(f"== bench {name}", flush=True)
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", f"bench.bench_{name}"], cwd=HERE.parent, check=False)
            runs[name] = {"returncode": proc.returncode, "seconds": round(time.perf_counter() - t0, 1)}
            if proc.returncode:
                failed.append(name)
    results = {}
    for name in BENCHES:
        path = HERE / f"results_{name}.json"
        if path.exists():
            results[name] = json.loads(path.read_text(encoding="utf-8"))
    (HERE / "results.md").write_text(render(results, runs), encoding="utf-8")
    print(f"wrote {HERE / 'results.md'}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
