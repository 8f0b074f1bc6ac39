"""``c4 query``: run SQL on the lake's tables with DuckDB."""

from __future__ import annotations

import csv
import json
import sys
from enum import StrEnum
from typing import Annotated

import duckdb
import typer
from rich.table import Table

from c4.cli.common import LakeOption, console, err_console, lake_for, settings_for
from c4.engine import available_tables, connect


class OutputFormat(StrEnum):
    """Output formats of ``c4 query``."""

    table = "table"
    csv = "csv"
    json = "json"


def query(
    sql: Annotated[
        str, typer.Argument(help="SQL over sessions, malls, customer_features, churn_predictions.")
    ],
    lake: LakeOption = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.table,
    limit: Annotated[int, typer.Option(help="Rows shown in table format (0 = all).")] = 50,
) -> None:
    """Run a SQL query on the lake with DuckDB (same table names as Athena)."""
    con = connect(lake_for(settings_for(lake)))
    try:
        cur = con.execute(sql)
    except duckdb.Error as exc:
        tables = ", ".join(available_tables(con)) or "none yet (run c4 generate and c4 elt)"
        err_console.print(f"[red]query failed:[/red] {exc}\n[dim]tables: {tables}[/dim]")
        raise typer.Exit(2) from exc
    columns = [d[0] for d in cur.description] if cur.description else []
    rows = cur.fetchall()
    if fmt is OutputFormat.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    elif fmt is OutputFormat.json:
        sys.stdout.write(
            json.dumps([dict(zip(columns, r, strict=True)) for r in rows], default=str, ensure_ascii=False)
        )
        sys.stdout.write("\n")
    else:
        table = Table(*columns)
        shown = rows if limit == 0 else rows[:limit]
        for r in shown:
            table.add_row(*["" if v is None else str(v) for v in r])
        console.print(table)
        if len(shown) < len(rows):
            console.print(f"[dim]{len(rows) - len(shown)} more rows (use --limit 0 or --format csv)[/dim]")
