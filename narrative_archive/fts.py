"""Full-text matching, a leaf that imports only the leaf ftsgate: the archive's FTS5
tokenizer and table, query checking, and the in-memory index that evaluates narrative
queries on an article before it is stored.

The archive's articles_fts (an external-content index over articles, kept by triggers)
and every in-memory copy are made from `fts_table_sql`, so a query matches the same
words at ingest, in a rematch, in `check` and in Datasette's search box.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from narrative_archive import ftsgate, ftsparse
from narrative_archive.ftsgate import Gate as Gate
from narrative_archive.ftsgate import Words as Words

# The combining marks of the Indic scripts (Devanagari to Sinhala), which unicode61 takes for
# separators (हथियार was "हथ य र", and रूस, "र स", matched inside दुरुस्त): token characters.
# Thai, Lao, Khmer, Myanmar and Arabic and Hebrew points are as before (docs/narratives.md).
# Frozen here, not read from unicodedata, so every Python builds the same index.
INDIC_MARKS = """
0900-0903 093A-093C 093E-094F 0951-0957 0962-0963 0981-0983 09BC 09BE-09C4 09C7-09C8
09CB-09CD 09D7 09E2-09E3 09FE 0A01-0A03 0A3C 0A3E-0A42 0A47-0A48 0A4B-0A4D 0A51
0A70-0A71 0A75 0A81-0A83 0ABC 0ABE-0AC5 0AC7-0AC9 0ACB-0ACD 0AE2-0AE3 0AFA-0AFF
0B01-0B03 0B3C 0B3E-0B44 0B47-0B48 0B4B-0B4D 0B55-0B57 0B62-0B63 0B82 0BBE-0BC2
0BC6-0BC8 0BCA-0BCD 0BD7 0C00-0C04 0C3C 0C3E-0C44 0C46-0C48 0C4A-0C4D 0C55-0C56
0C62-0C63 0C81-0C83 0CBC 0CBE-0CC4 0CC6-0CC8 0CCA-0CCD 0CD5-0CD6 0CE2-0CE3 0D00-0D03
0D3B-0D3C 0D3E-0D44 0D46-0D48 0D4A-0D4D 0D57 0D62-0D63 0D81-0D83 0DCA 0DCF-0DD4 0DD6
0DD8-0DDF 0DF2-0DF3
"""
TOKEN_CHARS = "".join(chr(c) for span in INDIC_MARKS.split()
                      for low, _, high in [span.partition("-")]
                      for c in range(int(low, 16), int(high or low, 16) + 1))
FTS_TOKENIZER = f"porter unicode61 remove_diacritics 2 tokenchars '{TOKEN_CHARS}'"
FTS_COLUMNS = ("title", "text")


def query_gate(query: str) -> Gate | None:
    """ftsgate.query_gate with the archive's tokenizer: a test True for every article the
    FTS5 `query` matches (None when the query has a form the gate does not read)."""
    return ftsgate.query_gate(query, tokenize)


_tokenizers = threading.local()


def tokenize(texts: list[str]) -> list[list[str]]:
    """Each text as the archive's tokenizer splits and stems it (in one in-memory index a
    thread and process, the rows rolled back: a matcher's set-up tokenizes each query part
    apart, and a new index each time was a third of it)."""
    conn = getattr(_tokenizers, "conn", None)
    if conn is None or _tokenizers.pid != os.getpid():  # no connection across a fork
        conn = memory_index()
        conn.execute("CREATE VIRTUAL TABLE temp.i USING fts5vocab(main, articles_fts, 'instance')")
        _tokenizers.conn, _tokenizers.pid = conn, os.getpid()
    conn.execute("BEGIN")
    try:
        conn.executemany("INSERT INTO articles_fts (rowid, title, text) VALUES (?, '', ?)",
                         list(enumerate(texts, 1)))
        found: list[list[tuple[int, str]]] = [[] for _ in texts]
        for term, doc, _column, offset in conn.execute("SELECT term, doc, col, offset FROM temp.i"):
            found[doc - 1].append((offset, term))
        return [[term for _, term in sorted(tokens)] for tokens in found]
    finally:
        conn.execute("ROLLBACK")


def fts_table_sql(name: str = "articles_fts", content: str | None = None,
                  content_rowid: str = "id") -> str:
    """CREATE VIRTUAL TABLE for the archive's FTS5 index: over table `content` (external
    content, rowid `content_rowid`), or holding its own text when `content` is None."""
    options = [*FTS_COLUMNS]
    if content:  # double quotes: how stock Datasette and sqlite-utils find the index
        options += [f'content="{content}"', f'content_rowid="{content_rowid}"']
    options.append("tokenize='{}'".format(FTS_TOKENIZER.replace("'", "''")))
    return f"CREATE VIRTUAL TABLE {name} USING fts5({', '.join(options)})"


ARCHIVE_FTS_SQL = fts_table_sql(content="articles")

# --- Chinese and Japanese: one token per character -------------------------------------
# unicode61 keeps a run of CJK characters between punctuation as one token, so no query
# word can match inside "五角大楼是塔利班的实际资助". Every in-memory index (the matcher,
# `check`, coverage, rematch's reading of CJK articles) indexes such text with a zero-width
# space between two CJK characters (a separator to unicode61, invisible in a snippet), and
# reads a query's CJK words as phrases of characters: 塔利班 is "塔 利 班", and NEAR counts
# characters. The archive's articles_fts indexes the text as stored (docs/realtext.md).
CJK = "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
CJK_SPLIT = "\u200b"
_CJK_PAIR = re.compile(f"(?<=[{CJK}])(?=[{CJK}])")
_CJK_RUN = re.compile(f"[{CJK}]+")
_QUERY_PART = re.compile(r'"(?:[^"]|"")*"|[^"]+')


def split_cjk(text: str | None) -> str | None:
    """The text as the in-memory indexes hold it: a zero-width space between two CJK
    characters (each one token), everything else as it is."""
    if not text or not _CJK_RUN.search(text):
        return text
    return _CJK_PAIR.sub(CJK_SPLIT, text)


def unsplit_cjk(text: str | None) -> str | None:
    """A snippet or highlight of split text, as the article has it."""
    return text.replace(CJK_SPLIT, "") if text else text


def cjk_query(query: str) -> str:
    """The query for an index of split text: a CJK word is the phrase of its characters
    (塔利班 -> "塔 利 班"; inside a phrase, its characters in order)."""
    if not _CJK_RUN.search(query):
        return query

    def part(match: re.Match) -> str:
        text = match.group(0)
        if text.startswith('"'):
            return _CJK_RUN.sub(lambda run: " ".join(run.group(0)), text)
        return _CJK_RUN.sub(lambda run: '"' + " ".join(run.group(0)) + '"', text)
    return _QUERY_PART.sub(part, query)


def memory_index() -> sqlite3.Connection:
    """An empty in-memory articles_fts, defined as the archive's (no external content)."""
    conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
    conn.execute(fts_table_sql())
    return conn


_checker: sqlite3.Connection | None = None


def check_query(query: str) -> str | None:
    """None if `query` is valid FTS5 for the archive's index, else SQLite's message."""
    global _checker
    if _checker is None:
        _checker = memory_index()
    if not query or not query.strip():
        return "empty query"
    try:
        _checker.execute("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?",
                         [query]).fetchone()
    except sqlite3.Error as error:
        message = str(error)
        return message if message.startswith("fts5") else f"fts5: {message}"
    return None


class Query(Protocol):
    """What the matcher needs of a narrative (config.Narrative has both)."""

    @property
    def id(self) -> str: ...

    @property
    def match_query(self) -> str: ...


class NarrativeMatcher:
    """Which narratives match an article, before it is stored.

    The same FTS5 table definition and tokenizer as the archive's articles_fts,
    in memory: the article is inserted inside a transaction that is rolled back.
    """

    def __init__(self, narratives: Iterable[Query], by_part: bool = True, gated: bool = True):
        self.narratives = tuple(narratives)
        self.conn = memory_index()
        self.conn.execute("CREATE VIRTUAL TABLE temp.terms USING fts5vocab(main, articles_fts, 'row')")
        self.conn.execute(
            "CREATE VIRTUAL TABLE temp.instances USING fts5vocab(main, articles_fts, 'instance')")
        # match_query is part OR part ...: the parts (main query, language variants) and
        # their own top-level OR members are the members of one gate a narrative
        # (ftsgate.Disjuncts), evaluated until one matches; the snippet is the whole query's,
        # as in the archive. by_part=False: the whole query at once, behind its own gate.
        # gated=False: every part evaluated whole, with no gate (what the gate is held to).
        self.queries = [cjk_query(narrative.match_query) for narrative in self.narratives]
        self.parts = [[cjk_query(part) for part in query_parts(narrative)] if by_part
                      else [query]
                      for narrative, query in zip(self.narratives, self.queries, strict=True)]
        self.gates = [ftsgate.Disjuncts(list(dict.fromkeys(
            member for part in parts
            for member in (ftsparse.top_level_or(part) if by_part else [part]))), tokenize)
            if gated else None for parts in self.parts]
        self.marking = [tuple(member for member in (gate.members if gate else parts)
                              if " NOT " in member)
                        for parts, gate in zip(self.parts, self.gates, strict=True)]

    def match(self, title: str | None, text: str | None) -> list[str]:
        """The ids of the narratives whose query matches this title and text."""
        return list(self.snippets(title, text, snippets=False))

    def snippets(self, title: str | None, text: str | None, snippets: bool = True,
                 wanted: Callable[[str, Mapping[str, str | None]], bool] | None = None,
                 ) -> dict[str, str | None]:
        """{narrative id: snippet} of every narrative whose query matches this title and
        text, in the narratives' order; the snippet is what the archive's snippet() would
        give for the article (SNIPPET_SQL), cut from highlight() where snippet() hits FTS5's
        bug (FIELD_NOTES). With snippets=False only the ids count (values are None).
        `wanted(id, found so far)`, when given, is asked before a narrative's query is
        evaluated: False leaves it out (a cheaper test first: match.claim's rules)."""
        found: dict[str, str | None] = {}
        self.conn.execute("BEGIN")
        try:
            self.conn.execute(
                "INSERT INTO articles_fts (rowid, title, text) VALUES (1, ?, ?)",
                [split_cjk(title), split_cjk(text)])
            words = Words((row[0] for row in self.conn.execute("SELECT term FROM temp.terms")),
                          self._offsets)
            for narrative, query, parts, gate, marking in zip(
                    self.narratives, self.queries, self.parts, self.gates, self.marking,
                    strict=True):
                if wanted is not None and not wanted(narrative.id, found):
                    continue
                passes = iter(parts) if gate is None else gate.passing(words)
                if (parts if gate is None else gate.members) == [query]:  # with its snippet
                    row = self._row(query, snippets) if next(passes, None) else None
                elif any(self._row(member, False) for member in passes):
                    row = self._row(self._snippet_query(
                        parts if gate is None else gate.passing(words, where=False), marking),
                        True) if snippets else (None,)
                else:
                    continue
                if row is not None:
                    found[narrative.id] = unsplit_cjk(row[0]) if snippets else None
        finally:
            self.conn.execute("ROLLBACK")
        return found

    @staticmethod
    def _snippet_query(members: Iterable[str], marking: tuple[str, ...]) -> str:
        """The whole query as its snippet needs it: the members whose words the article
        holds and those holding a NOT, whose words FTS5 may mark in an index of one article
        (tests/test_fts_gate.py); a few dozen phrases, not the whole query's thousands."""
        return " OR ".join(f"({member})" for member in dict.fromkeys([*members, *marking]))

    def _offsets(self, term: str) -> list[int]:
        """Where `term` stands in the article being read (title and text together)."""
        return sorted(row[0] for row in self.conn.execute(
            "SELECT offset FROM temp.instances WHERE term = ?", [term]))

    def _row(self, query: str, snippet: bool) -> tuple | None:  # (snippet or 1,) or None
        return _article_row(self.conn, query, snippet)


def _article_row(conn: sqlite3.Connection, query: str, snippet: bool) -> tuple | None:
    """(snippet,) or (1,) of row 1 of this in-memory index when `query` matches it, else
    None; where snippet() hits FTS5's bug (FIELD_NOTES) it is cut from highlight()."""
    where = " FROM articles_fts WHERE articles_fts MATCH ? AND rowid = 1"
    try:
        return conn.execute(f"SELECT {SNIPPET_SQL if snippet else 1}{where}", [query]).fetchone()
    except sqlite3.DatabaseError:  # the snippet() bug: highlight() has none
        marked = conn.execute(f"SELECT {HIGHLIGHT_SQL}{where}", [query]).fetchone()
        return (best_excerpt(marked),) if marked else None


def snippets_alone(rows: Iterable[tuple[int, str | None, str | None]],
                   query: str) -> dict[int, str | None]:
    """{id: snippet} of these (id, title, text) rows that `query` (a narrative's
    match_query) matches, each read in an in-memory index of that article alone, as
    NarrativeMatcher reads it at ingest: the same snippet, byte for byte. A scan over many
    rows is cheaper but FTS5 can mark other words there than in the article alone
    (docs/narratives.md, "Snippets")."""
    conn, query = memory_index(), cjk_query(query)
    found: dict[int, str | None] = {}
    try:
        for article_id, title, text in rows:
            conn.execute("BEGIN")
            try:
                conn.execute("INSERT INTO articles_fts (rowid, title, text) VALUES (1, ?, ?)",
                             [split_cjk(title), split_cjk(text)])
                row = _article_row(conn, query, True)
            finally:
                conn.execute("ROLLBACK")
            if row is not None:
                found[article_id] = unsplit_cjk(row[0])
        return found
    finally:
        conn.close()


def query_parts(narrative: Query) -> list[str]:
    """The queries match_query is the OR of (main query, language variants): an article
    matches iff one does. [match_query] when it is not such an OR."""
    whole, parts = narrative.match_query, [str(getattr(narrative, "query", None))]
    parts += [query for _, query in getattr(narrative, "queries", ())]
    joined = parts[0] if len(parts) == 1 else " OR ".join(f"({part})" for part in parts)
    return parts if joined == whole else [whole]


def _members(query: str) -> list[str]:
    """The members of the query's OR, nested ORs in brackets read through ("(a OR b) OR
    (c)": a, b, c), each as its tokens joined by one space."""
    found = []
    for member in ftsparse.top_level_or(query):
        tokens = ftsparse.query_tokens(member) or [member]
        while len(tokens) > 2 and tokens[0] == "(" and tokens[-1] == ")" and _closes_last(tokens):
            tokens = tokens[1:-1]
        inner = " ".join(tokens)
        inner_members = ftsparse.top_level_or(inner)
        found += _members(inner) if len(inner_members) > 1 else [inner]
    return found


def _closes_last(tokens: list[str]) -> bool:
    """Whether the bracket that opens `tokens` closes at its last token."""
    depth = 0
    for at, token in enumerate(tokens):
        depth += (token == "(") - (token == ")")
        if depth == 0:
            return at == len(tokens) - 1
    return False


def changed_query(earlier: str, query: str) -> str | None:
    """A query that matches every article in which `query` marks other words than
    `earlier` does: the OR of the members (of their top-level ORs) that one of them has and
    the other lacks. FTS5 marks no phrase of a member that does not match the article (a
    NEAR whose words stand apart, an AND that lacks a side, a NOT that excludes it), so an
    article none of those members matches has the same marks under both, so the same
    snippet. "" when the two have the same members; None when they cannot be read."""
    changed = set(_members(earlier)) ^ set(_members(query))
    if any(ftsparse.query_tokens(member) is None for member in changed):
        return None
    return " OR ".join(f"({member})" for member in sorted(changed))


# How a match is marked in snippets and highlights: the archive's mentions.snippet,
# Datasette's pages and `check` all read these marks.
MARK_OPEN, MARK_CLOSE = "<mark>", "</mark>"
ELLIPSIS = "…"  # where a snippet cuts the text
SNIPPET_TOKENS = 32
SNIPPET_SQL = (
    f"snippet(articles_fts, -1, '{MARK_OPEN}', '{MARK_CLOSE}', '{ELLIPSIS}', {SNIPPET_TOKENS})"
)
HIGHLIGHT_SQL = ", ".join(
    f"highlight(articles_fts, {column}, '{MARK_OPEN}', '{MARK_CLOSE}')" for column in (0, 1)
)
_MARKED = re.compile(re.escape(MARK_OPEN) + r"(.*?)" + re.escape(MARK_CLOSE), re.DOTALL)


def marked_terms(snippet: str | None) -> str:
    """The distinct highlighted words of a snippet, as a JSON list (lowercase, sorted)."""
    if not snippet:
        return "[]"
    terms = sorted({term.strip().lower() for term in _MARKED.findall(snippet) if term.strip()})
    return json.dumps(terms, ensure_ascii=False)


def matching_rows(texts: Iterable[str], query: str, columns: str = "") -> dict[int, tuple]:
    """Which of `texts` (rows 1, 2, ... of an in-memory articles_fts, as text) `query`
    matches: {row: the values of `columns` (SQL over articles_fts, e.g. SNIPPET_SQL)}.
    sqlite3.Error when the query fails."""
    conn = memory_index()
    try:
        conn.executemany("INSERT INTO articles_fts (rowid, title, text) VALUES (?, '', ?)",
                         [(i, split_cjk(text)) for i, text in enumerate(texts, 1)])
        select = f"rowid{', ' + columns if columns else ''}"
        return {row[0]: tuple(unsplit_cjk(v) if isinstance(v, str) else v for v in row[1:])
                for row in conn.execute(f"SELECT {select} FROM articles_fts"
                                        " WHERE articles_fts MATCH ?", [cjk_query(query)])}
    finally:
        conn.close()


def split_matches(rows: Iterable[tuple[int, str | None, str | None]],
                  query: str) -> dict[int, str | None]:
    """Which of these (id, title, text) rows `query` matches in an in-memory index of their
    split text (split_cjk), each with its snippet cut from highlight(): how a rematch reads
    Chinese and Japanese articles, as the matcher did at ingest. sqlite3.Error if it fails."""
    return memory_matches(rows, query, split=True)


def memory_matches(rows: Iterable[tuple[int, str | None, str | None]], query: str,
                   split: bool = False) -> dict[int, str | None]:
    """{id: snippet} of these (id, title, text) rows that `query` matches, from an
    in-memory index of them alone (the archive's table and tokenizer): snippet() as the
    archive's scan cuts it, else cut from highlight() where snippet()'s bug stops it
    (FIELD_NOTES). `split`: the text split as split_cjk does, the snippet from highlight()."""
    conn = memory_index()
    try:
        conn.executemany("INSERT INTO articles_fts (rowid, title, text) VALUES (?, ?, ?)",
                         [(i, split_cjk(title), split_cjk(text)) for i, title, text in rows]
                         if split else rows)
        if not split:
            try:
                return dict(conn.execute(f"SELECT rowid, {SNIPPET_SQL} FROM articles_fts"
                                         " WHERE articles_fts MATCH ?", [query]).fetchall())
            except sqlite3.DatabaseError:  # the snippet() bug: highlight() has none
                pass
        return {row[0]: unsplit_cjk(best_excerpt(row[1:])) if split else best_excerpt(row[1:])
                for row in conn.execute(f"SELECT rowid, {HIGHLIGHT_SQL} FROM articles_fts"
                                        " WHERE articles_fts MATCH ?",
                                        [cjk_query(query) if split else query])}
    finally:
        conn.close()


def best_excerpt(columns: Iterable[str | None]) -> str | None:
    """A snippet cut from highlight() output, one value per column: the column with the
    most marked words (as snippet(..., -1, ...) chooses), around its first mark."""
    values = list(columns)
    if not values:
        return None
    return excerpt(max(reversed(values), key=lambda value: (value or "").count(MARK_OPEN)))


def excerpt(marked: str | None, tokens: int = SNIPPET_TOKENS) -> str | None:
    """About `tokens` words of highlighted text around its first mark, '…' where cut; only
    the words around the mark are split (a rematch cuts one excerpt for each of its hits)."""
    if not marked:
        return marked
    start, back = max(marked.find(MARK_OPEN), 0), tokens // 4  # start: the first marked word's
    while start > 0 and not marked[start - 1].isspace():
        start -= 1
    before = marked[:start].rsplit(None, back) if back else [""] * bool(marked[:start].strip())
    cut = len(before) > back  # words before the excerpt
    words = before[1:] if cut else before
    after = marked[start:].split(None, tokens - len(words))
    rest = after.pop() if len(after) > tokens - len(words) else ""
    words += after
    opened = sum(word.count(MARK_OPEN) - word.count(MARK_CLOSE) for word in words)
    while rest and opened > 0:  # never cut a marked phrase in two
        word, rest = (rest.split(None, 1) + [""])[:2]
        words.append(word)
        opened += word.count(MARK_OPEN) - word.count(MARK_CLOSE)
    return (ELLIPSIS if cut else "") + " ".join(words) + (ELLIPSIS if rest.strip() else "")


def highlighted_rows(rows: Iterable[tuple[int, str | None, str | None]],
                     query: str) -> dict[int, tuple[str | None, str | None]]:
    """Which of these (id, title, text) rows `query` matches, each as (title, text) with
    the matched words marked: an in-memory copy of the archive's index, so a search page
    marks its 25 results without asking the archive's index (whose snippet() has a bug,
    and whose per-row highlight() re-reads the whole query's hits). sqlite3.Error when the
    query fails."""
    conn = memory_index()
    try:
        conn.executemany("INSERT INTO articles_fts (rowid, title, text) VALUES (?, ?, ?)", rows)
        return {row[0]: (row[1], row[2]) for row in conn.execute(
            f"SELECT rowid, {HIGHLIGHT_SQL} FROM articles_fts WHERE articles_fts MATCH ?",
            [query])}
    finally:
        conn.close()
