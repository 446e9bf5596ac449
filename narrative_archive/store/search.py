"""What the search page reads besides Datasette's own query: the shown articles' text."""

from __future__ import annotations

from collections.abc import Iterable

import sqlite_utils


def article_texts(db: sqlite_utils.Database,
                  article_ids: Iterable[int]) -> list[tuple[int, str | None, str | None]]:
    """(id, title, text) of these articles (a search page's results)."""
    ids = list(dict.fromkeys(int(i) for i in article_ids))[:1000]
    if not ids:
        return []
    return [tuple(row) for row in db.execute(
        f"SELECT id, title, text FROM articles WHERE id IN ({', '.join('?' * len(ids))})", ids)]
