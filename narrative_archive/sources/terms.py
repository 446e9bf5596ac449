"""What a narrative's article URLs likely carry: the terms for a URL filter.

Most news URLs end in a slug made of the headline (…/russia-arming-taliban-us-general);
an article a narrative matches almost always names its subject in the headline.
So the filter keeps a URL when it contains one of a few distinctive terms, and
those terms are derived from the narrative's queries, every language variant:
the smallest set of words that every way of matching the query must use (for
russia-arming-taliban: taliban, талиб, таліб, طالبان), each also
percent-encoded, as URLs carry non-Latin slugs. Prefix terms keep their stem
(талиб* → талиб), which a substring match expands by itself.

Blind spot: URLs that carry only an id (tass.ru/politika/4123456) or a
transliterated slug (…/talibam-…) never pass; list those outlets with
--all-urls.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import product
from urllib.parse import quote

from narrative_archive.config import Narrative
from narrative_archive.sources.query import Term, parse

MIN_TERM = 4  # shorter words (the, arm, gru) hit too many unrelated URLs
MAX_ALTERNATIVES = 20_000  # ways of matching one query considered; beyond, the rest are dropped


def _alternatives(node) -> list[frozenset[str]]:
    """The query as an OR of ANDs: each alternative is the set of words it needs."""
    if isinstance(node, Term):
        return [frozenset(w.lower() for w in node.text.split())]
    kind = node[0]
    if kind == "not":
        return _alternatives(node[1])
    if kind == "or":
        return [alt for child in node[1] for alt in _alternatives(child)][:MAX_ALTERNATIVES]
    combined: list[frozenset[str]] = [frozenset()]
    for child in node[1]:  # and, near: every child is needed
        combined = [a | b for a, b in product(combined, _alternatives(child))][:MAX_ALTERNATIVES]
    return combined


def slug_terms(queries: Iterable[str]) -> list[str]:
    """The distinctive words every match of these queries must contain (a small hitting set).

    Greedy: the word needed by the most alternatives first (ties: the longer
    word, then the later one in its query: queries name the actor before the
    target, NEAR(russia* arm taliban*)), until every alternative that has a word of
    MIN_TERM letters or more is covered. Terms that contain another chosen term
    are dropped: a substring match of the shorter one finds them.
    """
    alternatives: list[frozenset[str]] = []
    order: dict[str, int] = {}
    for query in queries:
        text = query.lower()
        for alternative in _alternatives(parse(query)):
            usable = frozenset(w for w in alternative if len(w) >= MIN_TERM)
            if usable:
                alternatives.append(usable)
                for word in usable:
                    order.setdefault(word, text.find(word))
    chosen: list[str] = []
    left = list(alternatives)
    while left:
        counts: dict[str, int] = {}
        for alternative in left:
            for word in alternative:
                counts[word] = counts.get(word, 0) + 1
        best = max(counts, key=lambda w: (counts[w], len(w), order[w], w))
        chosen.append(best)
        left = [a for a in left if best not in a]
    return [t for t in chosen if not any(o != t and o in t for o in chosen)]


def narrative_terms(narratives: Iterable[Narrative]) -> list[str]:
    """slug_terms over every query of these narratives (main and language variants)."""
    queries = [q for n in narratives for q in (n.query, *(q for _, q in n.queries))]
    return slug_terms(queries)


def url_forms(term: str) -> list[str]:
    """How a term can appear in a URL: as written and, when not ASCII, percent-encoded UTF-8."""
    forms = [term]
    if not term.isascii():
        forms.append(quote(term, safe=""))
    return forms


def url_regex(terms: Iterable[str]) -> str:
    """A case-insensitive regex matching a whole URL that contains any of the terms
    (Java syntax for the Wayback CDX server; Python's for Common Crawl's pywb)."""
    forms = [re.escape(form) for term in terms for form in url_forms(term)]
    if not forms:
        raise ValueError("no terms to filter URLs by")
    return f"(?i).*({'|'.join(dict.fromkeys(forms))}).*"
