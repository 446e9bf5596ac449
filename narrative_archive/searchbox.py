"""A search box that forgives: what a user types (al-Qaeda, Taliban's, U.S. weapons, a
dangling AND) read as the FTS5 query they meant; valid FTS5 runs as written. A leaf: the
published archive's search pages and canned queries use it."""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from narrative_archive.fts import FTS_COLUMNS, check_query

FTS_OPERATORS = ("AND", "OR", "NOT")
SEARCH_HELP = ('plain words, "an exact phrase", word* for a prefix, AND, OR, NOT, '
               "NEAR(a b, 10), title: word")
_SPECIAL = '()"*,+'
_NOT_FIRST = ("NOT needs a word before it (taliban NOT talks): FTS5 cannot search for what "
              "is absent alone")


class Forgiven(NamedTuple):
    """A search box's text as FTS5 reads it: `query` to run (None when nothing can be
    read), `error` saying why not, `changed` when the text was not valid FTS5 as typed."""
    query: str | None
    changed: bool
    error: str | None


@lru_cache(maxsize=4096)
def forgiving_query(text: str | None) -> Forgiven:
    """What a user typed in a search box, as the FTS5 query they meant.

    Valid FTS5 runs as written (NEAR, "phrases", prefixes*, AND/OR/NOT, column filters).
    Otherwise words FTS5 cannot read as words (al-Qaeda, Taliban's, U.S.) become phrases
    ("al-Qaeda" matches "al Qaeda" and "al-Qaeda"); -word after a word is NOT word; an
    operator with nothing on one side (taliban AND), a stray parenthesis or an unclosed
    quote is dropped or closed; near(...) is NEAR(...). If that still is not FTS5, or
    nothing but a NOT is left, `error` says what is wrong.

    Remembered (a pure function of the text): a search page asks it several times, on
    every request, and each asking checks the text against an FTS5 index.
    """
    text = (text or "").strip()
    if not text:
        return Forgiven(None, False, "empty search")
    if check_query(text) is None:
        return Forgiven(text, False, None)
    items = _search_items(text)
    if isinstance(items, str):
        return Forgiven(None, True, items)
    query = " ".join(value for _, value in items).replace("( ", "(").replace(" )", ")")
    query = query.replace(" , ", ", ").replace("NEAR (", "NEAR(")
    if not query:
        return Forgiven(None, True, f"nothing to search for in {text!r}")
    error = check_query(query)
    if error:
        return Forgiven(None, True, f"{error} (searching {query!r}); try {SEARCH_HELP}")
    return Forgiven(query, True, None)


def _bareword(word: str) -> bool:
    return all(c == "_" or c.isalnum() if c.isascii() else True for c in word)


def _phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def _raw_tokens(text: str) -> list[tuple[str, str]]:
    """(kind, text): phrase, word, (, ), *, +, comma; unclosed quotes closed."""
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
        elif c == '"':
            j, chars = i + 1, []
            while j < len(text):
                if text[j] == '"':
                    if text[j + 1:j + 2] == '"':
                        chars.append('"')
                        j += 2
                        continue
                    break
                chars.append(text[j])
                j += 1
            tokens.append(("phrase", "".join(chars)))
            i = j + 1
        elif c in _SPECIAL:
            tokens.append((c if c != "," else "comma", c))
            i += 1
        else:
            j = i
            while j < len(text) and not text[j].isspace() and text[j] not in _SPECIAL:
                j += 1
            tokens.append(("word", text[i:j]))
            i = j
    return tokens


def _search_items(text: str) -> list[tuple[str, str]] | str:
    """The typed text as (kind, FTS5 text) items: term, op, (, ), near, comma, col, +;
    or an error message."""
    raw = _raw_tokens(text)
    items: list[tuple[str, str]] = []
    for index, (kind, value) in enumerate(raw):
        following = raw[index + 1][0] if index + 1 < len(raw) else None
        if kind == "phrase":
            if value.strip():
                items.append(("term", _phrase(value)))
        elif kind == "*":
            if items and items[-1][0] == "term" and not items[-1][1].endswith("*"):
                items[-1] = ("term", items[-1][1] + "*")
        elif kind == "word":
            column, colon, rest = value.partition(":")
            if colon and column.lower() in FTS_COLUMNS:
                items.append(("col", column.lower() + ":"))
                value = rest
                if not value:
                    continue
            if value in FTS_OPERATORS:
                items.append(("op", value))
            elif value.upper() == "NEAR" and following == "(":
                items.append(("near", "NEAR"))
            elif value.startswith("-") and len(value) > 1 and items and items[-1][0] in (
                    "term", ")"):
                items.append(("op", "NOT"))
                rest = value.lstrip("-")
                items.append(("term", rest if _bareword(rest) else _phrase(rest)))
            elif value.startswith("-") and value.strip("-")[:1].isalpha():
                return _NOT_FIRST  # -taliban alone: everything but taliban
            elif value.strip("-'.:^"):
                items.append(("term", value if _bareword(value) else _phrase(value)))
        else:
            items.append((kind, value))
    return _tidy(items)


def _tidy(items: list[tuple[str, str]]) -> list[tuple[str, str]] | str:
    """Drop what has nothing to act on (dangling operators, stray or empty parentheses,
    a + or column filter with no term, commas outside NEAR); close what is open."""
    out: list[tuple[str, str]] = []
    depth, near_depth = 0, None
    for kind, value in items:
        previous = out[-1][0] if out else None
        if kind == "(":
            if previous == "near":
                near_depth = depth
            elif near_depth is not None:
                continue
            depth += 1
        elif kind == ")":
            if not depth:
                continue
            depth -= 1
            if near_depth is not None and depth == near_depth:
                near_depth = None
        elif kind == "comma" and (near_depth is None or previous != "term"):
            continue
        elif kind in ("op", "col", "near", "+") and near_depth is not None:
            continue
        elif kind == "near" and previous == "near":
            continue
        if kind == "term" and previous == "comma" and not out[-1][1].isdigit() \
                and not value.isdigit():
            out.pop()
        out.append((kind, value))
    out += [(")", ")")] * depth
    changed = True
    while changed:  # operators next to nothing, until none is left
        changed = False
        for i, (kind, value) in enumerate(out):
            before = out[i - 1][0] if i else None
            after = out[i + 1][0] if i + 1 < len(out) else None
            dangling = (
                (kind == "op" and (before in (None, "(", "op", "col") or after in (None, ")")))
                or (kind == "+" and (before != "term" or after != "term"))
                or (kind == "col" and after not in ("term", "(", "near"))
                or (kind == "near" and after != "(")
                or (kind == "(" and after == ")")
                or (kind == ")" and before == "(")
                or (kind == "comma" and after != "term"))
            if dangling:
                if kind == "op" and value == "NOT" and before in (None, "(") and after:
                    return _NOT_FIRST
                if kind == "op" and before == "op" and value == "NOT":
                    del out[i - 1]  # taliban AND NOT russia: NOT is the one meant
                elif kind == "(" and after == ")":
                    del out[i:i + 2]
                else:
                    del out[i]  # taliban OR OR russia: the first is kept
                changed = True
                break
    return out
