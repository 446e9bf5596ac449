"""Narrative timelines: mentions per day, week or month, as rows."""

from __future__ import annotations

import csv
import io
import json

import sqlite_utils

PERIOD_VIEWS = {"day": "narrative_daily", "week": "narrative_weekly", "month": "narrative_monthly"}


def narrative_timeline(
    db: sqlite_utils.Database,
    narrative_id: str,
    by: str = "day",
    since: str | None = None,
    until: str | None = None,
) -> list[dict]:
    """Rows of {period, articles, stories, outlets} for one narrative, oldest first.

    A period is a day (YYYY-MM-DD), the Monday a week starts on, or a month
    (YYYY-MM). An article is dated by published_at, else first_seen_at.
    """
    view, column = PERIOD_VIEWS[by], by  # each view names its period column after it
    where, params = ["narrative = ?"], [narrative_id]
    if since:
        where.append(f"{column} >= ?")
        params.append(since[: len("YYYY-MM") if by == "month" else len("YYYY-MM-DD")])
    if until:
        where.append(f"{column} <= ?")
        params.append(until[: len("YYYY-MM") if by == "month" else len("YYYY-MM-DD")])
    return [
        {by: row[column], "articles": row["articles"], "stories": row["stories"],
         "outlets": row["outlets"]}
        for row in db.query(
            f"SELECT {column}, articles, stories, outlets FROM {view} WHERE {' AND '.join(where)}"
            f" ORDER BY {column}",
            params,
        )
    ]


def format_rows(rows: list[dict], fmt: str, columns: list[str] | None = None) -> str:
    """Rows as an aligned text table, CSV or JSON."""
    columns = columns or (list(rows[0]) if rows else [])
    if fmt == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue().rstrip("\n")
    from tabulate import tabulate

    return tabulate([[row.get(c) for c in columns] for row in rows], headers=columns)
