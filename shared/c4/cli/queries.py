"""``c4 queries``: list the named-query catalogue, run a query on DuckDB, show its Athena form."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from c4.cli.common import LakeOption, console, err_console, lake_for, settings_for
from c4.engine import connect
from c4.exceptions import QueryError
from c4.queries import catalogue, describe, get_query, render_athena, run_query

app = typer.Typer(
    help="The named-query catalogue (the same .sql files run on DuckDB and Athena).", no_args_is_help=True
)

ParamOption = Annotated[
    list[str] | None,
    typer.Option(
        "--param", "-p", help="A parameter as name=value (repeatable); dates accept latest / latest-7."
    ),
]


def _parse_params(pairs: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise typer.BadParameter(f"expected name=value, got {pair!r}", param_hint="--param")
        name, value = pair.split("=", 1)
        out[name.strip()] = value
    return out


@app.command("list")
def list_queries(
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """List the named queries with their parameters."""
    queries = catalogue()
    if fmt == "json":
        data = [
            {"name": q.name, "description": q.description, "parameters": describe(q)}
            for q in queries.values()
        ]
        sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
        return
    table = Table("name", "parameters", "description")
    for q in queries.values():
        params = ", ".join(f"{p.name}{'' if p.required else '?'}" for p in q.params)
        table.add_row(q.name, params, q.description)
    console.print(table)


@app.command("run")
def run(
    name: Annotated[str, typer.Argument(help="Query name (see c4 queries list).")],
    param: ParamOption = None,
    lake: LakeOption = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Run a named query on the lake with DuckDB (parameters bound, never formatted into SQL)."""
    con = connect(lake_for(settings_for(lake)))
    con.execute("SET enable_progress_bar = false")
    try:
        result = run_query(con, name, _parse_params(param))
    except QueryError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if fmt == "json":
        rows = [dict(zip(result.columns, r, strict=True)) for r in result.rows]
        sys.stdout.write(
            json.dumps(
                {"query": name, "parameters": result.parameters, "rows": rows},
                ensure_ascii=False,
                default=str,
            )
            + "\n"
        )
        return
    table = Table(*result.columns)
    for r in result.rows:
        table.add_row(*["" if v is None else str(v) for v in r])
    console.print(table)
    console.print(f"[dim]{len(result.rows)} rows · parameters {result.parameters}[/dim]")


@app.command("athena")
def athena(name: Annotated[str, typer.Argument(help="Query name.")]) -> None:
    """Print a query as Athena registers it (positional ? parameters) and the parameter order."""
    try:
        sql, order = render_athena(get_query(name))
    except QueryError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    sys.stdout.write(sql)
    sys.stdout.write(f"-- ExecutionParameters order: {', '.join(order) or '(none)'}\n")
