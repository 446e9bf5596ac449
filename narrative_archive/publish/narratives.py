"""The list of narratives (/narratives) and each block of a narrative's page as flat rows
for CSV and JSON (/narratives/NARRATIVE/BLOCK.csv)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from typing import Any

import sqlite_utils

from narrative_archive.publish.charts import narrative_colour
from narrative_archive.publish.narrative_page import BLOCKS
from narrative_archive.store import narrative_page as rows_of
from narrative_archive.times import periods_between


def overview(db: sqlite_utils.Database) -> dict[str, Any]:
    """Every narrative with its counts, its colour and its articles per month over one
    shared range of months (empty months as zero, so the small charts line up)."""
    narratives = rows_of.narratives_with_counts(db)
    monthly: dict[str, dict[str, int]] = defaultdict(dict)
    for narrative_id, month, articles in rows_of.monthly_counts(db):
        if month and len(month) == 7:
            monthly[narrative_id][month] = articles
    months_seen = sorted({m for counts in monthly.values() for m in counts})
    months = periods_between(months_seen[0] + "-01", months_seen[-1] + "-01", "month") \
        if months_seen else []
    for index, narrative in enumerate(narratives):
        narrative["colour"] = narrative_colour(index)
        counts = monthly.get(narrative["id"], {})
        narrative["monthly"] = [counts.get(month, 0) for month in months]
        narrative["peak"] = max(counts.items(), key=lambda item: (item[1], item[0]),
                                default=(None, 0))
    return {"narratives": narratives, "months": months}


def block_rows(page: dict[str, Any], block: str) -> list[dict]:
    """The rows of one block of a narrative page (narrative_page()), flat, for export."""
    if block not in BLOCKS:
        raise KeyError(block)
    if block == "repeated":
        rows = []
        for story in page["repeated"]:
            for role, member in [("original", story["original"]),
                                 *(("copy", copy) for copy in story["copies"])]:
                if member:
                    rows.append({"story_id": story["story_id"], "role": role,
                                 **{k: v for k, v in member.items()
                                    if k not in ("story_id", "original")}})
        return rows
    return [dict(row) for row in page[block]]


def to_csv(rows: list[dict]) -> str:
    """Rows as CSV, the union of their keys as the header (in first-seen order)."""
    header: dict[str, None] = {}
    for row in rows:
        header.update(dict.fromkeys(row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(header), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
