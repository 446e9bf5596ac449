"""FTS5 narrative queries as keyword queries for search engines and web-archive filters.

A narrative is an FTS5 query; `web_query` turns it into the keyword syntax
search engines take ((a OR b) c "a phrase"), keeping every result the FTS5
query would match (it only loosens: NEAR becomes AND, NOT is dropped, prefixes
lose their *, or become the whole words `words(stem)` gives). `web_clauses` is the
same query as a list of OR-clauses, all required; `split_query` cuts one that is
too long for an endpoint into several whose union finds what it finds.

A leaf: the search spider (GDELT, news RSS), the URL-slug terms and Media Cloud's
query all read narratives through it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations, islice, product
from typing import Any

MIN_WORD = 3  # GDELT rejects shorter keywords
MAX_COMBINATIONS = 8  # phrases one term with several prefixes becomes

Words = Callable[[str], Sequence[str]]

@dataclass(frozen=True)
class Term:
    text: str
    phrase: bool = False
    # Positions (in text.split()) of the words written as prefixes: weapon* is a stem.
    stems: tuple[int, ...] = ()

    @property
    def prefix(self) -> bool:
        """The last word is a prefix."""
        return len(self.text.split()) - 1 in self.stems


_TOKEN = re.compile(
    r'\s*(?:(?P<string>"(?:[^"]|"")*")|(?P<punct>[()*,:^+{}-])|(?P<word>[^\s()"*,:^+{}-]+))'
)


def _tokens(query: str) -> list[str]:
    tokens, position = [], 0
    query = query.strip()
    while position < len(query):
        match = _TOKEN.match(query, position)
        if not match or match.end() == position:
            raise ValueError(f"cannot read the query at {query[position:position + 20]!r}")
        assert match.lastgroup is not None  # the match is one of the three named alternatives
        tokens.append(match.group(match.lastgroup))
        position = match.end()
        while position < len(query) and query[position].isspace():
            position += 1
    return tokens


class _Parser:
    """FTS5 query syntax → a tree of ("or"|"and", [...]), ("not", a, b), ("near", [...]), Term."""

    def __init__(self, query: str):
        self.tokens = _tokens(query)
        self.position = 0

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise ValueError(f"expected {expected or 'more'} in the query, got {token!r}")
        self.position += 1
        return token

    def parse(self):
        tree = self.or_expr()
        if self.peek() is not None:
            raise ValueError(f"unexpected {self.peek()!r} in the query")
        return tree

    def or_expr(self):
        children = [self.and_expr()]
        while self.peek() == "OR":
            self.take()
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else ("or", children)

    def and_expr(self):
        children = [self.not_expr()]
        while self.peek() not in (None, ")", "OR", ","):
            if self.peek() == "AND":
                self.take()
            children.append(self.not_expr())
        return children[0] if len(children) == 1 else ("and", children)

    def not_expr(self):
        node = self.primary()
        while self.peek() == "NOT":
            self.take()
            node = ("not", node, self.primary())
        return node

    def primary(self):
        token = self.peek()
        if token == "(":
            self.take()
            node = self.or_expr()
            self.take(")")
            return node
        if token in ("-", "{"):  # column filters: -col: x, {a b}: x
            while self.take() != ":":
                pass
            return self.primary()
        if token == "NEAR" and self.position + 1 < len(self.tokens) and self.tokens[self.position + 1] == "(":
            self.take()
            self.take("(")
            terms = []
            while self.peek() not in (")", ","):
                terms.append(self.phrase())
            if self.peek() == ",":
                self.take()
                self.take()  # the distance
            self.take(")")
            return ("near", terms)
        if self.position + 1 < len(self.tokens) and self.tokens[self.position + 1] == ":":
            self.take()
            self.take(":")  # a column filter: title: x
            return self.primary()
        return self.phrase()

    def phrase(self) -> Term:
        if self.peek() == "^":
            self.take()
        parts: list[Any] = []
        is_phrase, stems = False, []
        while True:
            token = self.take()
            if token.startswith('"'):
                # Inside a string FTS5 reads * as a separator: "weapon* to" is "weapon to";
                # the author meant a prefix, and a search engine gets the whole words.
                words: list[str] = []
                for chunk in token[1:-1].replace('""', '"').split():
                    pieces = chunk.split("*")
                    for index, piece in enumerate(pieces):
                        if piece:
                            if index < len(pieces) - 1:
                                stems.append(len(parts) + len(words))
                            words.append(piece)
                is_phrase = is_phrase or len(words) > 1
            elif token in ("(", ")", "*", ",", ":", "+", "AND", "OR", "NOT"):
                raise ValueError(f"unexpected {token!r} in the query")
            else:
                words = [token]
            if self.peek() == "*":
                self.take()
                stems.append(len(parts) + len(words) - 1)
            parts.extend(words)
            if self.peek() != "+":
                break
            self.take()
            is_phrase = True
        return Term(" ".join(parts), is_phrase or len(parts) > 1, tuple(dict.fromkeys(stems)))


def _clauses(node) -> list[list[Term]]:
    """A conjunction of OR-clauses implied by the node (a superset of what it matches)."""
    if isinstance(node, Term):
        return [[node]]
    kind = node[0]
    if kind in ("and", "near"):
        return [clause for child in node[1] for clause in _clauses(child)]
    if kind == "not":
        return _clauses(node[1])
    children = [_clauses(child) for child in node[1]]
    # A clause every alternative requires stays a requirement of its own...
    shared = [clause for clause in children[0] if all(clause in c for c in children[1:])]
    rest = [[clause for clause in c if clause not in shared] for c in children]
    if any(not r for r in rest):
        return shared
    # ...and the others are OR-ed position by position (each alternative implies every union).
    merged = []
    for position in range(min(len(r) for r in rest)):
        union: list[Term] = []
        for r in rest:
            for term in r[position]:
                if term not in union:
                    union.append(term)
        merged.append(union)
    return shared + merged


def _usable(term: Term) -> bool:
    return any(len(word) >= MIN_WORD for word in term.text.split())


def _forms(term: Term, words: Callable[[str], Sequence[str]] | None) -> list[Term]:
    """A term with prefixes as the whole words they stand for (as written without `words`)."""
    if not term.stems or words is None:
        return [term]
    choices = [list(dict.fromkeys(words(word) or [word])) if index in term.stems else [word]
               for index, word in enumerate(term.text.split())]
    return [Term(" ".join(combination), term.phrase or len(combination) > 1)
            for combination in islice(product(*choices), MAX_COMBINATIONS)]


def web_clauses(query: str, words: Words | None = None) -> list[list[str]]:
    """An FTS5 query as required OR-clauses of rendered alternatives (phrases quoted),
    the keyword query `web_query` writes; ValueError when nothing in it is searchable."""
    clauses: list[list[str]] = []
    for terms in _clauses(_Parser(query).parse()):
        clause = list(dict.fromkeys(form for term in terms for form in _forms(term, words)))
        if not all(_usable(t) for t in clause):
            # An alternative too short to search for: leaving it out would narrow the
            # clause, so the whole requirement goes (the query only ever loosens).
            continue
        rendered = list(dict.fromkeys(f'"{t.text}"' if t.phrase else t.text for t in clause))
        if rendered not in clauses:
            clauses.append(rendered)
    if not clauses:
        raise ValueError(f"nothing searchable in the query {query!r}")
    return clauses


def render_clause(clause: Sequence[str]) -> str:
    return clause[0] if len(clause) == 1 else f"({' OR '.join(clause)})"


def render_query(clauses: Sequence[Sequence[str]]) -> str:
    """Required OR-clauses as a keyword query: (a OR b) c "a phrase"."""
    return " ".join(render_clause(clause) for clause in clauses)


def web_query(query: str, words: Words | None = None) -> str:
    """An FTS5 query as a search-engine keyword query that finds at least its matches.

    `words(stem)` gives the whole words a prefix term stands for (wordforms.word_forms);
    without it a prefix term is sent as its stem.

    >>> web_query('NEAR(russia* arm taliban*, 20) OR NEAR(moscow weapon* taliban*, 20)')
    'taliban (russia OR moscow) (arm OR weapon)'
    """
    return render_query(web_clauses(query, words))


def parse(query: str):
    """An FTS5 query as a tree: ("or"|"and"|"near", [...]), ("not", a, b) or a Term."""
    return _Parser(query).parse()


def split_query(clauses: Sequence[Sequence[str]], size: Callable[[str], int],
                limit: int) -> list[str]:
    """Keyword queries, each of `size` at most `limit`, whose union finds what the
    conjunction of `clauses` finds.

    (a OR b) c is a c OR b c: the longest OR-clause is cut in halves until every
    query fits. A query of single terms that still does not fit loosens: its longest
    term goes (the union then finds more, never less). ValueError when not even one
    term fits.
    """
    found: list[str] = []
    pending: list[list[list[str]]] = [[list(clause) for clause in clauses]]
    while pending:
        query = pending.pop(0)
        rendered = render_query(query)
        if size(rendered) <= limit:
            if rendered not in found:
                found.append(rendered)
            continue
        longest = max(range(len(query)), key=lambda i: (len(query[i]) > 1,
                                                        len(render_clause(query[i]))))
        clause = query[longest]
        if len(clause) > 1:
            half = (len(clause) + 1) // 2
            pending[0:0] = [query[:longest] + [part] + query[longest + 1:]
                            for part in (clause[:half], clause[half:])]
        elif len(query) > 1:
            pending.insert(0, query[:longest] + query[longest + 1:])
        else:
            raise ValueError(f"{rendered!r} alone is longer than {limit} characters")
    return found


def split_within(clauses: Sequence[Sequence[str]], size: Callable[[str], int], limit: int,
                 budget: int) -> list[str]:
    """split_query, in at most `budget` queries when it can be: when the whole query needs
    more, whole OR-clauses are left out (the union then finds more, never less), keeping
    as many clauses as fit the budget, then the fewest queries. Past the budget only when
    no single clause fits it (then the clause that needs the fewest)."""
    best: tuple[tuple[int, int, int], list[str]] | None = None
    for kept in range(len(clauses), 0, -1):
        for chosen in combinations(range(len(clauses)), kept):
            try:
                queries = split_query([clauses[i] for i in chosen], size, limit)
            except ValueError:
                continue
            rank = (len(queries) > budget, 0 if len(queries) <= budget else len(queries),
                    len(queries))
            if best is None or rank < best[0]:
                best = (rank, queries)
        if best is not None and not best[0][0]:
            return best[1]
    if best is None:
        raise ValueError(f"no part of the query fits in {limit} characters")
    return best[1]
