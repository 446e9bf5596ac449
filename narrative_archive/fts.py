"""Full-text matching, a leaf that imports nothing of the package: the archive's FTS5
tokenizer and table, query checking, and the in-memory index that evaluates narrative
queries on an article before it is stored.

The archive's articles_fts (an external-content index over articles, kept by triggers)
and every in-memory copy are made from `fts_table_sql`, so a query matches the same
words at ingest, in a rematch, in `check` and in Datasette's search box.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from typing import Protocol

FTS_TOKENIZER = "porter unicode61 remove_diacritics 2"
FTS_COLUMNS = ("title", "text")


def fts_table_sql(name: str = "articles_fts", content: str | None = None,
                  content_rowid: str = "id") -> str:
    """CREATE VIRTUAL TABLE for the archive's FTS5 index: over table `content` (external
    content, rowid `content_rowid`), or holding its own text when `content` is None."""
    options = [*FTS_COLUMNS]
    if content:
        options += [f"content='{content}'", f"content_rowid='{content_rowid}'"]
    options.append(f"tokenize='{FTS_TOKENIZER}'")
    return f"CREATE VIRTUAL TABLE {name} USING fts5({', '.join(options)})"


ARCHIVE_FTS_SQL = fts_table_sql(content="articles")


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
        _checker.execute(
            "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?", [query]
        ).fetchone()
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

    def __init__(self, narratives: Iterable[Query]):
        self.narratives = tuple(narratives)
        self.conn = memory_index()
        # FTS5 parses a MATCH expression on every execution: a long query costs milliseconds
        # per article even when nothing matches. Each narrative first runs its gate, a short
        # query every match of the full one also matches (None: no gate).
        self.gates = {narrative.id: gate_queries(narrative.match_query) for narrative in self.narratives}

    def match(self, title: str | None, text: str | None) -> list[str]:
        """The ids of the narratives whose query matches this title and text."""
        self.conn.execute("BEGIN")
        try:
            self.conn.execute(
                "INSERT INTO articles_fts (rowid, title, text) VALUES (1, ?, ?)", [title, text]
            )
            return [
                narrative.id for narrative in self.narratives
                if all(self._matches(gate) for gate in self.gates[narrative.id] or ())
                and self._matches(narrative.match_query)
            ]
        finally:
            self.conn.execute("ROLLBACK")

    def _matches(self, query: str) -> bool:
        return self.conn.execute(
            "SELECT 1 FROM articles_fts WHERE articles_fts MATCH ? AND rowid = 1", [query],
        ).fetchone() is not None


# --- gates: a short necessary condition of a query -----------------------------

_GATE_TOKEN = re.compile(r'\s*(?:(")((?:[^"]|"")*)"(\*?)|([(),])|([^\s()",*:^+{}]+)(\*?)|(\S))')


def gate_query(query: str) -> str | None:
    """A short FTS5 query that every document ``query`` matches also matches, or None.

    Read from the query: a term needs itself; NEAR needs its last and its first phrase; OR
    needs one of what each operand needs; AND and NEAR the two smallest of what their
    operands need; NOT what its left side needs. The gate is those one or two sets of terms
    ANDed ("(taliban* OR талиб*) AND (russia* OR moscow)"). None when the query uses syntax
    this reading does not know (column filters, ^, +) or the gate would not be shorter.
    """
    gates = gate_queries(query)
    return " AND ".join(f"({gate})" for gate in gates) if gates else None


def gate_queries(query: str) -> list[str] | None:
    """gate_query's sets as separate queries, the shortest first: an article unrelated to the
    narrative fails the first, and only that short query is run."""
    try:
        tokens = _gate_tokens(query)
        need, position = _gate_or(tokens, 0)
    except (ValueError, IndexError):
        return None
    if position != len(tokens) or not need:
        return None
    gates = sorted((" OR ".join(sorted(terms)) for terms in need), key=len)
    return gates if sum(len(gate) + 6 for gate in gates) < len(query) else None


def _gate_tokens(query: str) -> list[str]:
    tokens, position = [], 0
    while position < len(query):
        match = _GATE_TOKEN.match(query, position)
        if match is None or match.end() == position:
            if query[position:].strip():
                raise ValueError("unreadable")
            break
        position = match.end()
        quote, phrase, star, punct, word, word_star, other = match.groups()
        if other:
            raise ValueError(f"unsupported syntax {other!r}")
        if quote:
            tokens.append(f'"{phrase}"{star}')
        elif punct:
            tokens.append(punct)
        else:
            tokens.append(word + word_star)
    return tokens


def _is_operand(token: str) -> bool:
    return token not in ("AND", "OR", "NOT", ")", ",") and not token.isdigit()


# What a match needs: a tuple of one or two term sets, each set "one of these terms".
Need = tuple[frozenset, ...]


def _both(needs: list[Need]) -> Need:
    """What an AND of operands needs: the two smallest of their sets."""
    sets = sorted(set(terms for need in needs for terms in need), key=lambda t: (len(t), sorted(t)))
    return tuple(sets[:2])


def _gate_or(tokens, i) -> tuple[Need, int]:
    need, i = _gate_and(tokens, i)
    while i < len(tokens) and tokens[i] == "OR":
        more, i = _gate_and(tokens, i + 1)
        need = _either(need, more)
    return need, i


def _either(first: Need, second: Need) -> Need:
    """What an OR of two operands needs: each set of one joined to a set of the other (one
    set when either needs only one), paired so the joined sets overlap most ("taliban*"
    with "talib*", "russia*" with "moscow")."""
    if len(first) < 2 or len(second) < 2:
        return (frozenset().union(*first, *second),)
    (a, b), (c, d) = first, second
    straight = len(a & c) + len(b & d) - len(a | c) - len(b | d)
    crossed = len(a & d) + len(b & c) - len(a | d) - len(b | c)
    return (a | c, b | d) if straight >= crossed else (a | d, b | c)


def _gate_and(tokens, i) -> tuple[Need, int]:
    need, i = _gate_not(tokens, i)
    needs = [need]
    while i < len(tokens) and (tokens[i] == "AND" or _is_operand(tokens[i])):
        need, i = _gate_not(tokens, i + 1 if tokens[i] == "AND" else i)
        needs.append(need)
    return (_both(needs) if len(needs) > 1 else needs[0]), i


def _gate_not(tokens, i) -> tuple[Need, int]:
    need, i = _gate_primary(tokens, i)
    while i < len(tokens) and tokens[i] == "NOT":
        _, i = _gate_primary(tokens, i + 1)  # what must not match gates nothing
    return need, i


def _gate_primary(tokens, i) -> tuple[Need, int]:
    token = tokens[i]
    if token == "(":
        terms, i = _gate_or(tokens, i + 1)
        if tokens[i] != ")":
            raise ValueError("unbalanced")
        return terms, i + 1
    if token == "NEAR" and tokens[i + 1] == "(":
        i += 2
        phrases = []
        while tokens[i] not in (")", ","):
            phrases.append(tokens[i])
            i += 1
        if tokens[i] == ",":
            if not tokens[i + 1].isdigit():
                raise ValueError("NEAR distance")
            i += 2
        if tokens[i] != ")" or not phrases:
            raise ValueError("unbalanced NEAR")
        return _both([(frozenset([phrase]),) for phrase in (phrases[-1], phrases[0])]), i + 1
    if not _is_operand(token) or token == "(":
        raise ValueError(f"unexpected {token!r}")
    return (frozenset([token]),), i + 1


# How a match is marked in snippets and highlights: the archive's mentions.snippet,
# Datasette's pages and `check` all read these marks.
MARK_OPEN, MARK_CLOSE = "<mark>", "</mark>"
SNIPPET_TOKENS = 32
SNIPPET_SQL = (
    f"snippet(articles_fts, -1, '{MARK_OPEN}', '{MARK_CLOSE}', '…', {SNIPPET_TOKENS})"
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
                         list(enumerate(texts, 1)))
        select = f"rowid{', ' + columns if columns else ''}"
        return {row[0]: tuple(row[1:]) for row in conn.execute(
            f"SELECT {select} FROM articles_fts WHERE articles_fts MATCH ?", [query])}
    finally:
        conn.close()
