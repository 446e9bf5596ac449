"""Search results as a reader wants them: each with the passage where its words matched."""

from __future__ import annotations

import re

import sqlite_utils

from narrative_archive.fts import MARK_CLOSE, MARK_OPEN, highlighted_rows
from narrative_archive.searchbox import forgiving_query
from narrative_archive.store import search as rows_of

PASSAGE_WORDS = 32


def marked_passage(text: str | None, words: int = PASSAGE_WORDS) -> str | None:
    """The `words` consecutive words of highlighted text holding the most <mark>ed words,
    "…" where cut, marks kept balanced; None when nothing is marked."""
    if not isinstance(text, str) or MARK_OPEN not in text:
        return None
    tokens = text.split()
    inside, open_at, marked = False, [], []
    for token in tokens:
        open_at.append(inside)
        marked.append(inside or MARK_OPEN in token)
        for tag in re.findall(r"</?mark>", token):
            inside = tag == MARK_OPEN
    size = max(int(words), 1)
    best = 0
    running = score = sum(marked[:size])
    for start in range(1, max(len(tokens) - size + 1, 1)):
        running += marked[start + size - 1] - marked[start - 1]
        if running > score:
            best, score = start, running
    end = min(best + size, len(tokens))
    passage = " ".join(tokens[best:end])
    if open_at[best]:
        passage = MARK_OPEN + passage
    if end < len(tokens) and open_at[end]:
        passage += MARK_CLOSE
    return ("… " if best else "") + passage + (" …" if end < len(tokens) else "")


def search_passages(db: sqlite_utils.Database, search: str,
                    article_ids: list[int]) -> dict[int, str]:
    """{article id: the passage of its text (else its title) where the search matched,
    <mark>ed} for the shown results; {} when the search cannot be read."""
    query = forgiving_query(search).query
    if not query or not article_ids:
        return {}
    try:
        marked = highlighted_rows(rows_of.article_texts(db, article_ids), query)
    except Exception:  # sqlite3.Error: no passages, never a broken page
        return {}
    passages = {}
    for article_id, (title, text) in marked.items():
        passage = marked_passage(text) or (title if title and MARK_OPEN in title else None)
        if passage:
            passages[article_id] = passage
    return passages
