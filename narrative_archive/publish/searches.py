"""Searches on the published archive: which request parameters feed an FTS5 MATCH, what a
bad search means in words, and canned queries that answer an empty search with no rows.

SQLite's own messages ('fts5: syntax error near ""', 'unterminated string', 'no such
column: a') say little to a reader who typed `taliban AND` into a search box, and a
canned query opened without its parameters ran MATCH '' and showed such an error
instead of its form. The Datasette plugin (datasette/plugins/narrative_archive_admission.py)
uses these functions before Datasette runs a query and when it renders one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode

from narrative_archive.fts import check_query
from narrative_archive.searchbox import forgiving_query

# `... match :q` in a query's SQL: the parameter q is a full-text search.
MATCH_PARAMETER = re.compile(r"\bmatch\s+:(\w+)", re.IGNORECASE)
# ... and `match fts_query(:q)`, the same once guarded.
ANY_MATCH_PARAMETER = re.compile(r"\bmatch\s+(?:fts_query\(\s*)?:(\w+)", re.IGNORECASE)
# What a canned query's MATCH becomes: fts_query(:q) is q, or for an empty q a phrase
# that matches nothing (""), so the page shows its form instead of an error.
GUARDED_MATCH = r"match fts_query(:\1)"
NOTHING = '""'
SEARCH_ARGUMENT = re.compile(r"^_search(_\w+)?$")  # a table's ?_search= and ?_search_COLUMN=
SYNTAX = ('words (all must appear), "a phrase", word* (a prefix), NEAR(a b, 10) (within 10'
          " words), a OR b, a NOT b, ( ) to group, title: word (in the title)")


def match_parameters(sql: str) -> list[str]:
    """The named parameters a query's SQL hands to MATCH (guarded or not), in order."""
    return list(dict.fromkeys(ANY_MATCH_PARAMETER.findall(sql or "")))


def guard_matches(sql: str) -> str:
    """`match :q` → `match fts_query(:q)`: an empty search matches nothing, no error."""
    return MATCH_PARAMETER.sub(GUARDED_MATCH, sql)


def fts_query(value):
    """SQLite function fts_query(q): q as the search box reads it (searchbox.forgiving_query:
    al-Qaeda, U.S., a dangling AND), or when q is empty a search that matches nothing."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return NOTHING
    if not isinstance(value, str):
        return value
    return forgiving_query(value).query or value


def explain(value: str | None, name: str = "q", forgiving: bool = True) -> str | None:
    """None when `value` is a valid search, else what is wrong with it, in words, with the
    syntax. An empty search is wrong too (it is to a MATCH). `forgiving`: the search is run
    as the search box reads it (fts_query: al-Qaeda, U.S., a dangling AND), so only what
    that reading cannot make sense of is wrong; arbitrary SQL runs its MATCH as written."""
    if value is None or not value.strip():
        return f"The search {name} is empty: type the words to look for. Syntax: {SYNTAX}."
    error: str | None
    if forgiving:
        forgiven = forgiving_query(value)
        if forgiven.query is not None:
            return None
        error = forgiven.error or "it cannot be read"
    else:
        error = check_query(value)
        if error is None:
            return None
    shown = value if len(value) <= 200 else value[:199] + "…"
    return f"The search {name}={shown!r} is not understood: {_reason(error)}. Syntax: {SYNTAX}."


def _reason(error: str) -> str:
    message = error.removeprefix("fts5: ")
    if "unterminated string" in message:
        return 'a double quote (") is not closed'
    if message.startswith("no such column:"):
        column = message.split(":", 1)[1].strip()
        return (f"{column!r} is read as a column name (a ':' or '-' beside a word names a"
                ' column), and only title and text are columns: put such words in "double'
                ' quotes"')
    near = re.match(r'syntax error near "(.*)"$', message)
    if near:
        where = (f"near {near[1]!r}" if near[1] else "at its end")
        return (f"the syntax breaks {where}: AND, OR and NOT need a word on each side,"
                ' brackets and quotes must close, and characters such as . , - : need'
                ' "double quotes" around the word')
    return message


def bad_searches(arguments: Mapping[str, str], names: Iterable[str],
                 allow_empty: bool = False, forgiving: bool = True) -> dict[str, str]:
    """{parameter: explanation} for the `names` among `arguments` that hold a bad search
    (or, unless `allow_empty`, an empty or missing one); `forgiving` as for explain."""
    found = {}
    for name in names:
        value = arguments.get(name)
        if allow_empty and (value is None or not value.strip()):
            continue
        explanation = explain(value, name, forgiving)
        if explanation:
            found[name] = explanation
    return found


def table_search_arguments(arguments: Mapping[str, str]) -> list[str]:
    """The ?_search= arguments of a table or view page that hold a search (empty ones are
    ignored by Datasette)."""
    return [key for key, value in arguments.items()
            if SEARCH_ARGUMENT.match(key) and value and value.strip()]


def without_empty_searches(query_string: str) -> str:
    """The query string without blank ?_search= arguments: Datasette would run MATCH ''
    (an error) for a search box submitted empty; without them the page lists everything."""
    pairs = parse_qsl(query_string, keep_blank_values=True)
    kept = [(key, value) for key, value in pairs
            if not (SEARCH_ARGUMENT.match(key) and not value.strip())]
    return query_string if len(kept) == len(pairs) else urlencode(kept)
