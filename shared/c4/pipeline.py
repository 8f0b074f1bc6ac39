"""The whole pipeline on one lake, in the order the Step Functions definition runs it.

``c4 pipeline`` (and ``make run``) call :func:`run_pipeline`: generate -> ELT -> features ->
EDA report -> train (tune, calibrate, evaluate) -> gate -> promote -> score the new daily files
as uploads -> monitor -> named queries -> two chat questions.  Every step is a function of
:mod:`c4.jobs` (the same ones the Glue jobs call) or of the scoring and chat modules.

A second run reuses what is already built: each step records the fingerprint of its input in
``manifests/pipeline/local/state.json`` and is skipped when the input has not changed (the
generator when raw data exists; ELT is incremental by itself; features, EDA and training when
the set of raw files under raw/sessions/ is the same).  ``fresh=True`` deletes the lake's zones first.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from c4 import jobs
from c4.settings import Settings
from c4.storage import ZONES, Lake, open_lake

log = logging.getLogger(__name__)

STATE_FILE = "manifests/pipeline/local/state.json"
INCOMING_PREFIX = "raw/incoming"

DEFAULT_QUESTIONS = (
    "¿Qué clientes tienen más riesgo esta semana?",
    "How good is the current model and when was it trained?",
)

#: The named queries the summary shows (analyst views).
SUMMARY_QUERIES = ("riskiest_guests_by_mall", "risk_counts_by_country")


@dataclass(frozen=True)
class PipelineOptions:
    """What ``c4 pipeline`` runs.

    Parameters
    ----------
    customers, months, seed, malls, start
        Synthetic data size (see :class:`c4.generate.GeneratorConfig`).
    upload_days : int
        The last days of generated data are held back as "new daily files" and scored as
        uploads at the end (as a mall's controller would upload them).
    trials : int
        Tuning budget per candidate model.
    horizon_days : int, optional
        Churn horizon (default: derived from the data).
    fresh : bool
        Start over: delete the lake's zones first.
    questions : tuple of str
        Chat questions answered at the end.
    """

    customers: int = 20_000
    months: int = 18
    seed: int = 42
    malls: int | None = 20
    start: date | None = None
    upload_days: int = 1
    trials: int = 6
    horizon_days: int | None = None
    fresh: bool = False
    questions: tuple[str, ...] = DEFAULT_QUESTIONS


@dataclass
class PipelineResult:
    """What a pipeline run did, step by step (the summary is printed from it)."""

    lake: str
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    queries: dict[str, Any] = field(default_factory=dict)
    answers: list[dict[str, Any]] = field(default_factory=list)


Reporter = Callable[[str, str], None]


def _fingerprint(lake: Lake) -> str:
    """Identity of the batch input: the raw files under ``raw/sessions/``.

    Uploads scored online (``raw/uploads/``) are not part of it: they reach the next training
    run, not this one, so scoring them does not invalidate features, EDA or the model.
    """
    names = lake.list_files("raw/sessions")
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]


def _load_state(lake: Lake) -> dict[str, Any]:
    return dict(lake.read_json(STATE_FILE)) if lake.exists(STATE_FILE) else {}


class _Runner:
    def __init__(self, lake: Lake, result: PipelineResult, report: Reporter) -> None:
        self.lake, self.result, self.report = lake, result, report
        self.state = _load_state(lake)

    def step(
        self, name: str, call: Callable[[], dict[str, Any]], *, key: str | None = None
    ) -> dict[str, Any]:
        """Run a step unless its recorded input key matches; record its output."""
        done = self.state.get(name)
        if key is not None and done and done.get("key") == key:
            self.result.skipped.append(name)
            self.result.steps[name] = done.get("output", {})
            self.report(name, "reused (input unchanged)")
            return self.result.steps[name]
        self.report(name, "running")
        t0 = time.perf_counter()
        output = call()
        self.result.seconds[name] = round(time.perf_counter() - t0, 1)
        self.result.steps[name] = output
        self.state[name] = {"key": key, "output": output}
        self.lake.write_json(STATE_FILE, self.state)
        self.report(name, f"done in {self.result.seconds[name]} s")
        return output


def _fresh(lake: Lake) -> None:
    for zone in ZONES:
        lake.delete(zone)


def _generate(settings: Settings, lake: Lake, opts: PipelineOptions) -> dict[str, Any]:
    out = jobs.run_generate(
        settings,
        customers=opts.customers,
        months=opts.months,
        seed=opts.seed,
        malls=opts.malls,
        start=opts.start,
        lake=lake,
    )
    out["held_back_files"] = hold_back_last_days(lake, opts.upload_days)
    return out


def hold_back_last_days(lake: Lake, days: int) -> int:
    """Move the generated files of the last ``days`` days from ``raw/sessions/`` to ``raw/incoming/``.

    Locally the pipeline plays the malls' controllers: the files of the last days have not
    been "uploaded" yet when the batch ELT and training run, and are scored as uploads at the
    end (:func:`_score_uploads`), as a controller's daily upload would be in AWS.

    Returns
    -------
    int
        Files moved.
    """
    if days <= 0:
        return 0
    files = lake.list_files("raw/sessions")
    dated = [(f, part.split("=", 1)[1]) for f in files for part in f.split("/") if part.startswith("date=")]
    if not dated:
        return 0
    last = date.fromisoformat(max(d for _, d in dated))
    cut = (last - timedelta(days=days - 1)).isoformat()
    moved = 0
    for rel, day in dated:
        if day >= cut:
            target = INCOMING_PREFIX + rel[len("raw/sessions") :]
            lake.fs.create_dir(lake.path(target.rsplit("/", 1)[0]), recursive=True)
            lake.fs.move(lake.path(rel), lake.path(target))
            moved += 1
    return moved


def _score_uploads(settings: Settings, lake: Lake) -> dict[str, Any]:
    from c4.scoring import score_file

    files = sorted(lake.list_files(INCOMING_PREFIX), key=lambda f: (f.split("date=")[-1], f))
    totals = {
        "files": 0,
        "rows_in": 0,
        "rows_accepted": 0,
        "rows_rejected": 0,
        "guests_scored": 0,
        "guests_at_risk": 0,
        "unreadable": 0,
    }
    for rel in files:
        upload = f"raw/uploads/{rel.rsplit('/', 1)[-1]}"
        if not lake.exists(upload):  # the controller's upload lands in raw/uploads/
            lake.write_bytes(upload, lake.read_bytes(rel))
        res = score_file(lake, settings, upload)
        totals["files"] += 1
        totals["unreadable"] += int(res.status != "ok")
        for k in ("rows_in", "rows_accepted", "rows_rejected", "guests_scored", "guests_at_risk"):
            totals[k] += int(getattr(res, k))
    return totals


def _named_queries(lake: Lake) -> dict[str, Any]:
    from c4.engine import connect
    from c4.queries import run_query

    con = connect(lake)
    out = {}
    for name in SUMMARY_QUERIES:
        values = {"limit": 3} if name == "riskiest_guests_by_mall" else None
        res = run_query(con, name, values)
        out[name] = {"columns": res.columns, "rows": [list(r) for r in res.rows], "sql": res.sql}
    return out


def _ask(lake: Lake, questions: tuple[str, ...]) -> list[dict[str, Any]]:
    from c4.chat import Chat, LakeData

    chat = Chat(LakeData(lake))
    return [chat.ask(q).to_dict() for q in questions]


def run_pipeline(
    settings: Settings,
    options: PipelineOptions | None = None,
    *,
    report: Reporter | None = None,
    lake: Lake | None = None,
) -> PipelineResult:
    """Run the whole pipeline on the settings' lake (local folder or S3).

    Parameters
    ----------
    settings : Settings
        Where the lake is, and the pseudonymisation key.
    options : PipelineOptions, optional
        Sizes and switches (defaults: the ``make run`` configuration).
    report : callable, optional
        ``report(step, message)`` for progress display.
    lake : Lake, optional
        An already opened lake (default: opened from the settings).

    Returns
    -------
    PipelineResult
    """
    opts = options or PipelineOptions()
    lake = lake or open_lake(settings)
    say = report or (lambda step, msg: log.info("%s: %s", step, msg))
    if opts.fresh:
        say("fresh", "deleting the lake's zones")
        _fresh(lake)
    result = PipelineResult(lake=lake.uri)
    run = _Runner(lake, result, say)
    gen_key = f"{opts.customers}-{opts.months}-{opts.seed}-{opts.malls}-{opts.start}-{opts.upload_days}"
    if lake.exists("raw/_generation.json") and "generate" not in run.state:
        run.state["generate"] = {"key": gen_key, "output": {"note": "raw data already present"}}
    run.step("generate", lambda: _generate(settings, lake, opts), key=gen_key)
    run.step("elt", lambda: jobs.run_elt(settings, lake=lake))
    data_key = _fingerprint(lake)
    train_key = f"{data_key}-{opts.horizon_days}-{opts.trials}"
    run.step(
        "features",
        lambda: jobs.run_features(settings, horizon_days=opts.horizon_days, lake=lake),
        key=f"{data_key}-{opts.horizon_days}",
    )
    run.step("eda", lambda: {"report": _eda(lake, opts.horizon_days)}, key=f"{data_key}-{opts.horizon_days}")
    gate = run.step(
        "train",
        lambda: jobs.run_train(settings, horizon_days=opts.horizon_days, trials=opts.trials, lake=lake),
        key=train_key,
    )
    if gate.get("promote"):
        run.step(
            "promote",
            lambda: jobs.run_promote(settings, version=gate["version"], lake=lake),
            key=gate["version"],
        )
    else:
        say("promote", f"challenger not promoted: {gate.get('reason')}")
    incoming = lake.list_files(INCOMING_PREFIX)
    score_key = hashlib.sha256("\n".join([*incoming, str(gate.get("version"))]).encode()).hexdigest()[:16]
    run.step("score", lambda: _score_uploads(settings, lake), key=score_key)
    run.step("monitor", lambda: jobs.run_monitor(settings, lake=lake))
    result.queries = _named_queries(lake)
    result.answers = _ask(lake, opts.questions)
    return result


def _eda(lake: Lake, horizon_days: int | None) -> str:
    from c4.eda import build_report

    return build_report(lake, horizon_days=horizon_days)
