"""``c4 pipeline``: the whole pipeline on one lake, ending with a summary a person can act on."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from c4.cli.common import LakeOption, console, err_console, lake_for, settings_for
from c4.exceptions import C4Error
from c4.pipeline import PipelineOptions, run_pipeline

#: The pipeline's defaults, defined once (``c4.pipeline.PipelineOptions``).
_DEFAULTS = PipelineOptions()


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _volumes(steps: dict[str, dict[str, Any]]) -> Table:
    gen, elt, score = steps.get("generate", {}), steps.get("elt", {}), steps.get("score", {})
    table = Table("data", "count", title="Data volumes")
    rows = [
        ("raw rows generated", gen.get("rows")),
        ("guests (latent population)", gen.get("guests")),
        ("raw files processed by the ELT (this run)", elt.get("files_processed")),
        ("rows accepted into curated (this run)", elt.get("rows_accepted")),
        ("rows quarantined (this run)", elt.get("rows_rejected")),
        ("uploaded daily files scored", score.get("files")),
        (
            "upload rows scored / rejected",
            f"{score.get('rows_accepted', '—')} / {score.get('rows_rejected', '—')}",
        ),
        (
            "guests scored / at risk",
            f"{score.get('guests_scored', '—')} / {score.get('guests_at_risk', '—')}",
        ),
    ]
    for name, value in rows:
        table.add_row(name, f"{value:,}" if isinstance(value, int) else _fmt(value))
    for reason, n in sorted((elt.get("rejected_by_reason") or {}).items()):
        table.add_row(f"  quarantined: {reason}", f"{n:,}")
    return table


def _comparison(card: dict[str, Any]) -> Table:
    table = Table(
        "model / baseline",
        "ROC-AUC",
        "PR-AUC",
        "Brier",
        "lift@10%",
        title="Out-of-time comparison (same rows)",
    )
    for key, cand in (card.get("candidates") or {}).items():
        m = cand.get("holdout", {})
        mark = " (champion)" if key == card.get("family") else ""
        table.add_row(
            f"{cand.get('label', key)}{mark}",
            _fmt(m.get("roc_auc")),
            _fmt(m.get("pr_auc")),
            _fmt(m.get("brier")),
            _fmt(m.get("lift_top10"), 2),
        )
    for key, m in (card.get("baselines") or {}).items():
        table.add_row(
            f"baseline: {m.get('label', key)}",
            _fmt(m.get("roc_auc")),
            _fmt(m.get("pr_auc")),
            _fmt(m.get("brier")),
            _fmt(m.get("lift_top10"), 2),
        )
    return table


def _margin(card: dict[str, Any]) -> str:
    margin = card.get("margin_over_best_baseline")
    if isinstance(margin, dict):
        ci = margin.get("roc_auc_ci95") or []
        ci_text = f" (95% CI {_fmt(ci[0])} to {_fmt(ci[1])})" if len(ci) == 2 else ""
        return f"{margin.get('roc_auc', 0.0):+.3f} ROC-AUC{ci_text}"
    return f"{_fmt(margin)} ROC-AUC"


def _baseline_label(card: dict[str, Any]) -> str:
    """The best baseline as a person reads it (its label names the column really used)."""
    best = card.get("best_baseline")
    entry = (card.get("baselines") or {}).get(best) or {}
    return str(entry.get("label") or best)


def _model_lines(card: dict[str, Any]) -> list[str]:
    m = card.get("metrics", {})
    method = card.get("threshold_method")
    objective = method.get("objective") if isinstance(method, dict) else method
    lines = [
        f"champion {card.get('version')} — {card.get('family_label', card.get('family'))}, "
        f"horizon {card.get('horizon_days')} days, trained {card.get('trained_at')}",
        f"versus the best baseline ({_baseline_label(card)}): {_margin(card)}",
        f"decision threshold {_fmt(card.get('threshold'))} ({objective}): "
        f"recall {_fmt(m.get('recall'))}, precision {_fmt(m.get('precision'))}, "
        f"expected profit {_fmt(m.get('expected_profit'), 0)} {card.get('profit_currency', '')} "
        "on the holdout",
    ]
    oracle = card.get("oracle") or {}
    if card.get("oracle_share") is not None:
        lines.append(
            f"oracle share: {_fmt(card.get('oracle_share'))} of the generator oracle's ROC-AUC "
            f"({_fmt(oracle.get('oracle_roc_auc', oracle.get('roc_auc')))})"
        )
    return lines


def _riskiest(query: dict[str, Any]) -> Table:
    cols = query.get("columns", [])
    show = [
        c
        for c in ("mall_id", "customer_id", "churn_probability", "risk_band", "reasons", "message")
        if c in cols
    ]
    table = Table(*show, title="Riskiest guests per mall (latest scoring day)", show_lines=True)
    for row in query.get("rows", [])[:30]:
        rec = dict(zip(cols, row, strict=False))
        table.add_row(
            *[
                (str(rec[c])[:12] + "…") if c == "customer_id" and rec.get(c) else _fmt(rec.get(c))
                for c in show
            ]
        )
    return table


def _print_summary(result: Any, lake_uri: str) -> None:
    from c4.modeling import champion_version, read_card
    from c4.storage import Lake

    lake = Lake(lake_uri) if not lake_uri.startswith("s3://") else None
    console.rule("[bold]C4 pipeline summary")
    console.print(_volumes(result.steps))
    card: dict[str, Any] = {}
    if lake is not None and (version := champion_version(lake)):
        card = read_card(lake, version)
        console.print(_comparison(card))
        for line in _model_lines(card):
            console.print(line)
    if "riskiest_guests_by_mall" in result.queries:
        console.print(_riskiest(result.queries["riskiest_guests_by_mall"]))
    for ans in result.answers:
        console.print(f"[bold]» {ans['question']}[/bold]")
        console.print(ans["answer"], markup=False, highlight=False)
    console.print("[bold]Reports[/bold]")
    console.print(f"  EDA report:   {result.steps.get('eda', {}).get('report')}")
    report = result.steps.get("train", {}).get("report")
    if report and lake is not None:
        report = lake.uri_of(report)
    console.print(f"  model report: {report}")
    console.print(f"  lake:         {lake_uri}")
    if result.skipped:
        console.print(
            f"[dim]reused from the previous run: {', '.join(result.skipped)} "
            "(c4 pipeline --fresh starts over)[/dim]"
        )


def pipeline(
    lake: LakeOption = None,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Start over: delete the lake's zones first.")
    ] = False,
    customers: Annotated[int, typer.Option(help="Synthetic guests.")] = _DEFAULTS.customers,
    months: Annotated[int, typer.Option(help="Months of synthetic data.")] = _DEFAULTS.months,
    seed: Annotated[int, typer.Option(help="Random seed.")] = _DEFAULTS.seed,
    malls: Annotated[int | None, typer.Option(help="Number of malls (1-20).")] = _DEFAULTS.malls,
    start: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="First day of synthetic data.")
    ] = None,
    upload_days: Annotated[
        int, typer.Option(help="Last days held back and scored as uploads.")
    ] = _DEFAULTS.upload_days,
    trials: Annotated[int, typer.Option(help="Tuning trials per candidate model.")] = _DEFAULTS.trials,
    horizon_days: Annotated[
        int | None, typer.Option(help="Churn horizon H (default: from the data).")
    ] = None,
) -> None:
    """Run everything: generate, ELT, features, EDA, train, promote, score uploads, queries, chat."""
    settings = settings_for(lake)
    opts = PipelineOptions(
        customers=customers,
        months=months,
        seed=seed,
        malls=malls,
        start=start.date() if start else None,
        upload_days=upload_days,
        trials=trials,
        horizon_days=horizon_days,
        fresh=fresh,
    )
    started = datetime.now()
    try:
        with console.status("starting") as status:

            def report(step: str, message: str) -> None:
                status.update(f"[bold]{step}[/bold]: {message}")
                if message != "running":
                    console.log(f"{step}: {message}")

            result = run_pipeline(settings, opts, report=report, lake=lake_for(settings))
    except C4Error as exc:
        err_console.print(f"[red]pipeline failed:[/red] {exc}")
        raise typer.Exit(2) from exc
    _print_summary(result, settings.lake)
    console.print(
        f"[dim]finished in {(datetime.now() - started).total_seconds():.0f} s "
        f"({date.today().isoformat()})[/dim]"
    )
