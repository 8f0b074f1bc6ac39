"""Benchmark of event-driven scoring (issue 5): handler latency, cold start, overhead, 1M rows.

Run from the repository root::

    python -m bench.bench_score            # writes bench/results_score.json

What it does, on a local moto S3 server (a process of its own, as S3 is to a Lambda: see
:class:`MotoServer`) so the real handler and pyarrow's S3 file system are exercised:

1. a lake like ``c4 generate --customers 3000 --months 12 --seed 3 --malls 4 && c4 elt &&
   c4 features && c4 train --trials 3`` (the scored day and later held back; see
   :func:`build_lake`), cached in ``$TMPDIR/c4-bench-score``;
2. cold start: a fresh interpreter imports ``lambdas.score.handler`` (settings, clients) and
   loads the champion (skops, hash check): median of 5;
3. warm: the handler consumes an SQS event for a 100,000-session upload (after a warm-up
   event for a small file): median of 5 deliveries of the same object (replays do the same
   work: the ELT rewrites its own output, predictions are overwritten);
4. overhead: the same guests' features through bare ``model.predict_proba``;
5. a 1,000,000-session upload scored through the handler in a child process: wall time and
   peak RSS (``ru_maxrss``) against a 3 GB Lambda.
"""

from __future__ import annotations

import atexit
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results_score.json"
WORK = Path(tempfile.gettempdir()) / "c4-bench-score"
KEY = "bench-pseudonym-key-0123456789abcdef"
BUCKET, PREFIX = "c4-bench", "lake"
TARGETS = {"warm_100k_s": 2.0, "cold_start_s": 3.0, "lambda_memory_mb": 3008}
#: Bench lake layout: bump to rebuild a cached lake made by an older version of this file.
LAYOUT = 2


def speed_probe(n: int = 3) -> float:
    """Seconds for a fixed pure-Python loop (median of ``n``): this machine's speed right now.

    The 2 cores are shared with other machines' work, and the same code runs up to ~40% slower
    at times at the same load average.  Quoted with every result so they can be compared
    (0.09 s on 2026-12-01 with the dev venv's Python 3.11).  It catches a slow CPU, not every
    kind of interference: warm runs of 1.76 and 2.43 s followed a probe of 0.09 s.
    """
    runs = []
    for _ in range(n):
        t = time.perf_counter()
        total = 0
        for i in range(3_000_000):
            total += i
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


# -- the lake -------------------------------------------------------------------------------
def build_lake(root: Path) -> dict[str, Any]:
    """Generate, curate (the last days held back), build features as ``make run`` does, train.

    The scored day is the last generated day that is not a month end (a month-end file would
    need population parts at its own date, which no batch build can have stored yet); it and
    any later day are held back.  The features step (``c4.jobs.run_features``: month ends plus
    the last day) stores ``features/`` with the population parts and the guests' running state
    scoring reads.  Cached between runs (``facts.json``; an older layout is rebuilt).
    """
    facts_file = root / "facts.json"
    if facts_file.exists():
        facts = dict(json.loads(facts_file.read_text()))
        if facts.get("layout") == LAYOUT:
            return facts
    from c4.elt import run_elt
    from c4.generate import GeneratorConfig, generate
    from c4.jobs import run_features
    from c4.modeling import train
    from c4.settings import Settings
    from c4.storage import Lake

    shutil.rmtree(root, ignore_errors=True)
    lake_dir = root / "lake"
    lake, settings = Lake(str(lake_dir)), Settings(lake=str(lake_dir), pseudonym_key=KEY)
    generate(lake, GeneratorConfig(customers=3000, months=12, seed=3, malls=4))
    lake.delete("truth")
    files = lake.list_files("raw/sessions")
    last = max(f.split("date=")[1][:10] for f in files if "_late" not in f)
    day = _not_month_end(last)
    for f in files:
        if f.split("date=")[1][:10] >= day:
            lake.delete(f)
    run_elt(lake, settings, now=datetime.fromisoformat(day) + timedelta(hours=12))
    features = run_features(settings, horizon_days=42, lake=lake)
    version = train(lake, settings, horizon_days=42, trials=3).version
    facts = {
        "lake": str(lake_dir),
        "last_day": day,
        "version": version,
        "features_as_of": features["as_of_dates"],
        "layout": LAYOUT,
    }
    facts_file.write_text(json.dumps(facts))
    return facts


def _not_month_end(day: str) -> str:
    """``day``, or the day before when ``day`` is a month end (ISO dates)."""
    d = datetime.fromisoformat(day)
    return (d - timedelta(days=1)).date().isoformat() if (d + timedelta(days=1)).day == 1 else day


def raw_macs(lake_dir: Path, limit: int) -> list[str]:
    """Raw MACs of known guests, read from the generator's raw exports."""
    import re

    found: dict[str, None] = {}
    pattern = re.compile(rb"(?:[0-9a-f]{2}:){5}[0-9a-f]{2}")
    for path in sorted((lake_dir / "raw" / "sessions").rglob("*.*")):
        for m in pattern.findall(path.read_bytes()):
            found[m.decode()] = None
        if len(found) >= limit:
            break
    return list(found)[:limit]


def session_file(path: Path, *, n_sessions: int, day: str, known: list[str], seed: int) -> int:
    """A realistic day export of four malls: ~5 sessions per guest, known guests first."""
    from c4.malls import MALLS

    rng = np.random.default_rng(seed)
    malls = MALLS[:4]
    n_guests = n_sessions // 5
    guests = known[:n_guests] + [
        f"b2:{(i >> 16) & 255:02x}:{(i >> 8) & 255:02x}:{i & 255:02x}:00:{seed:02x}"
        for i in range(max(0, n_guests - len(known)))
    ]
    g = rng.integers(0, len(guests), n_sessions)
    mall = rng.integers(0, len(malls), n_sessions)
    hour = rng.integers(10, 22, n_sessions)
    minute = rng.integers(0, 60, n_sessions)
    dwell = np.round(np.exp(rng.normal(np.log(9), 1.0, n_sessions)), 2)
    offsets = {"CL": "-04:00", "PE": "-05:00", "CO": "-05:00"}
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(
            "session_id,customer_id,mall_id,zone,ap_id,session_start,dwell_minutes,bytes_down,bytes_up,"
            "device_os,login_method,signal_dbm,failed_logins\n"
        )
        for i in range(n_sessions):
            m = malls[mall[i]]
            zone = m.zones[i % len(m.zones)]
            fh.write(
                f"bench-{seed}-{i},{guests[g[i]]},{m.mall_id},{zone},{m.mall_id}-AP{i % 40:02d},"
                f"{day}T{hour[i]:02d}:{minute[i]:02d}:00{offsets[m.country]},{dwell[i]},"
                f"{int(dwell[i] * 400_000)},{int(dwell[i] * 40_000)},android,social,"
                f"{-55 - (i % 25)},{i % 3 // 2}\n"
            )
    return n_sessions


# -- moto ------------------------------------------------------------------------------------
class MotoServer:
    """moto's S3 server in a process of its own, as S3 is to a Lambda function.

    A ``ThreadedMotoServer`` would serve every request from threads of the measured process:
    the S3 side's own work (HTTP parsing, XML, storing the bytes) would count as the
    handler's CPU and hold its GIL while the handler works.  In Lambda, S3 is another service.
    """

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        self.endpoint = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        atexit.register(self.stop)  # never leave a server behind, even when the benchmark fails
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the moto server did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def start_moto() -> tuple[MotoServer, str]:
    server = MotoServer()
    return server, server.endpoint


def aws_env(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "C4_S3_ENDPOINT_URL": endpoint,
        "C4_LAKE": f"s3://{BUCKET}/{PREFIX}",
        "C4_PSEUDONYM_KEY": KEY,
        "C4_STAGE": "bench",
        "POWERTOOLS_SERVICE_NAME": "c4-scoring",
        "POWERTOOLS_METRICS_NAMESPACE": "C4",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }


def copy_lake_to_s3(lake_dir: Path) -> None:
    import pyarrow.fs as pafs
    from c4.settings import Settings
    from c4.storage import open_lake

    lake = open_lake(Settings.from_env())
    for zone in ("curated", "features", "models", "manifests"):
        pafs.copy_files(
            str(lake_dir / zone),
            lake.path(zone),
            source_filesystem=pafs.LocalFileSystem(),
            destination_filesystem=lake.fs,
            use_threads=True,
        )


def event_for(key: str, etag: str = "bench") -> dict[str, Any]:
    body = json.dumps(
        {
            "Records": [
                {
                    "eventName": "ObjectCreated:Put",
                    "s3": {"bucket": {"name": BUCKET}, "object": {"key": key, "eTag": etag}},
                }
            ]
        }
    )
    return {
        "Records": [
            {
                "messageId": f"m-{key}",
                "receiptHandle": "rh",
                "body": body,
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "x",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:c4-bench",
                "awsRegion": "us-east-1",
            }
        ]
    }


class Context:
    function_name = "c4-bench-score"
    memory_limit_in_mb = 3008
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:c4-bench-score"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


# -- child processes -------------------------------------------------------------------------
COLD = """
import json, sys, time
for name in sys.argv[1:]:  # packages of the dev venv that the Lambda image does not have
    sys.modules[name] = None
t0, c0 = time.perf_counter(), time.process_time()
import lambdas.score.handler as h
t1, c1 = time.perf_counter(), time.process_time()
from c4.scoring.champion import cached_champion
cached_champion(h.SCORER.lake)
t2, c2 = time.perf_counter(), time.process_time()
print(json.dumps({"import_s": t1 - t0, "model_load_s": t2 - t1, "import_cpu_s": c1 - c0,
                  "model_load_cpu_s": c2 - c1}))
"""

#: Installed in the dev venv (tests) but not in the Lambda image (requirements.txt): scikit-learn
#: imports pytest when it is importable, so the image-like cold start hides it.
DEV_ONLY = ("pytest",)

BIG = """
import json, resource, sys, time
t0 = time.perf_counter()
import lambdas.score.handler as h
from bench.bench_score import Context, event_for
key = sys.argv[1]
t1, c1 = time.perf_counter(), time.process_time()
seen = {}
score = h.SCORER.score
def spy(obj):
    seen.update(score(obj))
    return seen
h.SCORER.score = spy  # the handler calls SCORER.score: keep its summary for the stage timings
resp = h.handler(event_for(key), Context())
t2, c2 = time.perf_counter(), time.process_time()
print(json.dumps({"cold_import_s": t1 - t0, "handler_s": t2 - t1, "handler_cpu_s": c2 - c1,
                  "failures": resp["batchItemFailures"],
                  "rows_in": seen.get("rows_in"), "guests_scored": seen.get("guests_scored"),
                  "stages_ms": seen.get("timings_ms"),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def child(code: str, env: dict[str, str], *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


# -- the benchmark ---------------------------------------------------------------------------
def main() -> dict[str, Any]:
    load_start = os.getloadavg()
    facts = build_lake(WORK)
    lake_dir = Path(facts["lake"])
    files = WORK / "files"
    files.mkdir(exist_ok=True)
    known = raw_macs(lake_dir, 20_000)
    day = facts["last_day"]
    small = files / "warmup_5k.csv"
    f100k, f1m = files / "bench_100k.csv", files / "bench_1m.csv"
    session_file(small, n_sessions=5_000, day=day, known=known, seed=1)
    session_file(f100k, n_sessions=100_000, day=day, known=known, seed=2)
    if not f1m.exists():
        session_file(f1m, n_sessions=1_000_000, day=day, known=known, seed=3)

    server, endpoint = start_moto()
    env = aws_env(endpoint)
    os.environ.update(env)
    import boto3

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    copy_lake_to_s3(lake_dir)
    keys = {}
    for f in (small, f100k, f1m):
        keys[f.name] = f"{PREFIX}/raw/uploads/{f.name}"
        s3.upload_file(str(f), BUCKET, keys[f.name])

    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg_start": load_start,
            "speed_probe_start_s": speed_probe(),
        },
        "targets": TARGETS,
    }
    # cold start (fresh interpreter: imports, settings, champion load)
    results["cold_start"] = cold_start(env)

    # warm: this process is the container
    sys.path.insert(0, str(ROOT))

    import lambdas.score.handler as h

    t = time.perf_counter()
    h.handler(event_for(keys[small.name]), Context())
    results["first_invocation_s"] = time.perf_counter() - t  # model + whole history read
    results["warm_100k"] = warm_runs(h, keys[f100k.name])

    # overhead against bare predict_proba on the same guests
    from c4.scoring.champion import cached_champion
    from c4.scoring.history import online_features

    model = cached_champion(h.SCORER.lake)
    rel = f"raw/uploads/{f100k.name}"
    con_tbl = _accepted(h.SCORER.lake, rel)
    feats, _ = online_features(h.SCORER.lake, con_tbl, rel)
    bare = []
    for _ in range(3):
        t = time.perf_counter()
        model.predict_proba(feats)
        bare.append(time.perf_counter() - t)
    bare_s = statistics.median(bare)
    t = time.perf_counter()
    model.explain(feats, 3)
    explain_s = time.perf_counter() - t
    warm = results["warm_100k"]
    results["overhead"] = {
        "bare_predict_proba_s": bare_s,
        "probability_and_reasons_s": explain_s,  # ChurnModel.explain: one pass, reasons included
        "guests": len(feats),
        "handler_s": warm["median_s"],
        "handler_over_bare_s": warm["median_s"] - bare_s,
        "handler_over_bare_ratio": warm["median_s"] / bare_s,
        "predict_stage_over_bare_s": warm["stages_ms"]["predict"] / 1000.0 - bare_s,
        # the handler around score_file: SQS parsing, idempotency (none here), logs, metrics
        "handler_around_score_file_ms": warm["handler_around_score_file_ms"],
    }

    # one million rows through the handler in a fresh process (cold), peak RSS
    big = child(BIG, env, keys[f1m.name])
    results["rows_1m"] = {
        **big,
        "within_memory": big["peak_rss_mb"] < TARGETS["lambda_memory_mb"],
        "within_lambda_timeout_900s": big["handler_s"] < 900,
    }
    results["machine"]["load_avg_end"] = os.getloadavg()
    results["machine"]["speed_probe_end_s"] = speed_probe()
    results["machine"]["note"] = "wall times on a shared 2-core machine: read them with the load averages"
    results["pass"] = {
        "warm_100k_under_2s": results["warm_100k"]["median_s"] < TARGETS["warm_100k_s"],
        "cold_start_under_3s": results["cold_start"]["total_s"] < TARGETS["cold_start_s"],
        "rows_1m_within_3gb": results["rows_1m"]["within_memory"],
    }
    server.stop()
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return results


def cold_start(env: dict[str, str]) -> dict[str, Any]:
    """Fresh interpreters: import the handler, load the champion (median of 5, image-like).

    Every run's total is kept (``runs_total_s``): imports are CPU-bound, and one slow stretch of
    this shared machine moves a run by a second.
    """
    runs = [child(COLD, env, *DEV_ONLY) for _ in range(5)]
    out: dict[str, Any] = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    out["total_s"] = out["import_s"] + out["model_load_s"]
    out["total_cpu_s"] = out["import_cpu_s"] + out["model_load_cpu_s"]
    out["runs_total_s"] = [r["import_s"] + r["model_load_s"] for r in runs]
    out["blocked_dev_only_packages"] = list(DEV_ONLY)
    dev = child(COLD, env)  # once with the dev venv as is (pytest importable)
    out["dev_venv_total_s"] = dev["import_s"] + dev["model_load_s"]
    return out


def warm_runs(h: Any, key: str, n: int = 5) -> dict[str, Any]:
    """The handler on one 100k-session object, ``n`` times: wall, CPU, stages, handler overhead."""
    summaries: list[dict[str, Any]] = []
    score = h.SCORER.score

    def spy(obj: Any) -> dict[str, Any]:
        summary = score(obj)
        summaries.append(summary)
        return summary

    h.SCORER.score = spy
    probe = speed_probe()  # the machine's speed just before the runs
    runs, cpus, around = [], [], []
    try:
        for _ in range(n):
            t, c = time.perf_counter(), _cpu()
            resp = h.handler(event_for(key), Context())
            runs.append(time.perf_counter() - t)
            cpus.append(_cpu() - c)
            assert resp["batchItemFailures"] == [], resp
            around.append(runs[-1] * 1000.0 - summaries[-1]["latency_ms"])
    finally:
        h.SCORER.score = score
    mid = sorted(range(n), key=lambda i: runs[i])[n // 2]
    detail = summaries[mid]
    return {
        "runs_s": runs,
        "median_s": runs[mid],
        "cpu_s": cpus,
        "median_cpu_s": statistics.median(cpus),
        "rows_in": detail["rows_in"],
        "rows_scored": detail["rows_accepted"],
        "guests_scored": detail["guests_scored"],
        "stages_ms": detail["timings_ms"],
        "handler_around_score_file_ms": statistics.median(around),
        "load_avg": os.getloadavg(),
        "speed_probe_s": probe,
    }


def _cpu() -> float:
    """CPU time of this process and its finished children (user + system)."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _accepted(lake: Any, rel: str) -> Any:
    import pyarrow.compute as pc
    from c4.scoring.cache import curated_history

    history = curated_history(lake)
    return history.filter(pc.equal(history["source_file"], rel))


if __name__ == "__main__":
    print(json.dumps(main(), indent=2, default=str))
