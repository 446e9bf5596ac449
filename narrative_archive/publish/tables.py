"""Narrative timelines as text: an aligned table, CSV or JSON (the rows come from
store.narrative_timeline)."""

from __future__ import annotations

import csv
import io
import json


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
