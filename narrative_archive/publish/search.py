"""Search results as a reader wants them: each with the passage where its words matched."""

from __future__ import annotations

import re
from bisect import bisect_left

import sqlite_utils

from narrative_archive.fts import MARK_CLOSE, MARK_OPEN, highlighted_rows
from narrative_archive.searchbox import forgiving_query
from narrative_archive.store import search as rows_of

PASSAGE_WORDS = 32
_TAG = re.compile(r"</?mark>")


def marked_passage(text: str | None, words: int = PASSAGE_WORDS) -> str | None:
    """The `words` consecutive words of highlighted text holding the most <mark>ed words
    (the first such run), "…" where cut, marks kept balanced; None when nothing is marked.

    Runs once per search result in SQL (search_snippets): only the words holding a tag are
    looked at one by one, the rest of the text is split and joined by str methods."""
    if not isinstance(text, str) or MARK_OPEN not in text:
        return None
    tokens = text.split()
    tagged = [index for index, token in enumerate(tokens) if "mark>" in token]
    marked: list[int] = []  # indices of the words inside or opening a mark, ascending
    after: list[bool] = []  # inside a mark after each tagged word
    inside, previous = False, -1
    for index in tagged:
        if inside:
            marked.extend(range(previous + 1, index))
        token = tokens[index]
        if inside or MARK_OPEN in token:
            marked.append(index)
        for tag in _TAG.findall(token):
            inside = tag == MARK_OPEN
        after.append(inside)
        previous = index
    if inside:
        marked.extend(range(previous + 1, len(tokens)))

    def open_at(index: int) -> bool:  # inside a mark just before this word
        before = bisect_left(tagged, index)
        return bool(before) and after[before - 1]

    size = max(int(words), 1)
    last = max(len(tokens) - size, 0)
    best, score = 0, -1
    # The count of marked words in a window changes only where one enters it: the first
    # best window starts at 0 or where a marked word enters at its right end.
    for start in sorted({0, *(min(max(index - size + 1, 0), last) for index in marked)}):
        count = bisect_left(marked, start + size) - bisect_left(marked, start)
        if count > score:
            best, score = start, count
    end = min(best + size, len(tokens))
    passage = " ".join(tokens[best:end])
    if open_at(best):
        passage = MARK_OPEN + passage
    if end < len(tokens) and open_at(end):
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
