"""FTS5 query text read as FTS5 reads it, a leaf: its tokens, the members of its top-level
OR, and its tree (phrases, NEAR groups, AND, OR, NOT), for the matcher's gate (ftsgate) and
the query rewrites (fts)."""

from __future__ import annotations

import re

_QUERY_TOKEN = re.compile(r'\s*(?:("(?:[^"]|"")*")|([(),:^*+{}])|([^\s(),":^*+{}]+))')


def query_tokens(query: str) -> list[str] | None:
    tokens, at = [], 0
    while at < len(query):
        match = _QUERY_TOKEN.match(query, at)
        if match is None or match.end() == at:
            if query[at:].strip():
                return None
            break
        tokens.append(match.group(match.lastindex or 0))
        at = match.end()
    return tokens


def top_level_or(query: str) -> list[str]:
    """The members of `query`'s top-level OR, as texts ([query] when it is no OR, or when
    it cannot be read)."""
    members, depth, start, at = [], 0, 0, 0
    while at < len(query):
        match = _QUERY_TOKEN.match(query, at)
        if match is None or match.end() == at:
            return [query]
        token = match.group(match.lastindex or 0)
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        elif token == "OR" and depth == 0:
            members.append(query[start:match.start(match.lastindex or 0)].strip())
            start = match.end()
        at = match.end()
    members.append(query[start:].strip())
    return members if depth == 0 and all(members) else [query]


def parse(query: str) -> tuple[tuple, list[str]] | None:
    """The query's tree and its phrases' texts (the tree refers to them by index)."""
    tokens = query_tokens(query)
    if tokens is None:
        return None
    phrases: list[str] = []  # texts to tokenize, referred to by index
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take(expected: str | None = None) -> str:
        nonlocal position
        token = peek()
        if token is None or (expected is not None and token != expected):
            raise ValueError(query)
        position += 1
        return token

    def phrase() -> tuple:
        parts = []
        while True:
            token = take()
            if token in "(),:^*+{}" or token in ("AND", "OR", "NOT"):
                raise ValueError(query)
            text = token[1:-1].replace('""', '"') if token.startswith('"') else token
            prefix = peek() == "*"
            if prefix:
                take()
            phrases.append(text)
            parts.append((len(phrases) - 1, prefix))
            if peek() != "+":
                return ("phrase", parts)
            take()

    def primary() -> tuple:
        token = peek()
        if token == "(":
            take()
            node = disjunction()
            take(")")
            return node
        if token == "NEAR" and position + 1 < len(tokens) and tokens[position + 1] == "(":
            take(), take("(")
            members = []
            while peek() not in (",", ")"):
                members.append(phrase())
            distance = 10  # FTS5's default
            if peek() == ",":
                take()
                distance = int(take())  # ValueError: not read, always evaluated
            take(")")
            return ("near", (members, distance))
        if token == "{":
            while take() != "}":
                pass
            take(":")
            return primary()
        if token == "^":
            take()
            return phrase()
        if token is not None and position + 1 < len(tokens) and tokens[position + 1] == ":":
            take(), take(":")
            return primary()
        return phrase()

    def negation() -> tuple:
        node = primary()
        while peek() == "NOT":
            take()
            primary()  # what must be absent: no use to a necessary condition
        return node

    def conjunction() -> tuple:
        nodes = [negation()]
        while peek() not in (None, ")", "OR"):
            if peek() == "AND":
                take()
            nodes.append(negation())
        return ("all", nodes) if len(nodes) > 1 else nodes[0]

    def disjunction() -> tuple:
        nodes = [conjunction()]
        while peek() == "OR":
            take()
            nodes.append(conjunction())
        return ("any", nodes) if len(nodes) > 1 else nodes[0]

    try:
        tree = disjunction()
        if peek() is not None:
            return None
    except ValueError:
        return None
    return tree, phrases
