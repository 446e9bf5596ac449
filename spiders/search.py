"""search: ask public search endpoints for each narrative, then fetch the articles found.

Two kinds of endpoint, both configurable (settings) so tests point them at a
local server:

- the GDELT DOC 2.0 API (mode ArtList, JSON): NARRATIVE_ARCHIVE_GDELT_URL;
- news-search RSS endpoints given as URL templates with {query} (and optionally
  {since}/{until} as YYYY-MM-DD): NARRATIVE_ARCHIVE_SEARCH_FEEDS. Result links
  that wrap the article URL in a redirect (…?url=https%3A%2F%2F…) are unwrapped.

A narrative is an FTS5 query; `web_query` turns it into the keyword syntax
search engines take ((a OR b) c "a phrase"), keeping every result the FTS5
query would match (it only loosens: NEAR becomes AND, NOT is dropped, prefixes
lose their *). The pipeline then stores a result only when the narrative really
matches it, so loosening costs fetches, never precision. Results may be on any
domain: one that no outlet claims gets an outlet row of its own when stored.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice, product
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit

from scrapy.http import Response

from narrative_archive.config import Narrative
from narrative_archive.crawl.items import Link
from narrative_archive.spiders.base import ArchiveSpider
from narrative_archive.spiders.feeds import parse_feed
from narrative_archive.spiders.wordforms import MAIN_LANGUAGE, narrative_words, word_forms
from narrative_archive.times import parse_when

logger = logging.getLogger(__name__)

GDELT_WINDOW = timedelta(days=90)  # the DOC API searches the last three months only
MIN_WORD = 3  # GDELT rejects shorter keywords
MAX_COMBINATIONS = 8  # phrases one term with several prefixes becomes
REDIRECT_PARAMS = ("url", "u")
# GDELT's `sourcelang:` operator takes a language's English name; a variant in a
# language not listed here is searched in every language.
GDELT_LANGUAGES = {
    "ar": "arabic", "bn": "bengali", "de": "german", "es": "spanish", "fa": "persian",
    "fr": "french", "hi": "hindi", "it": "italian", "ja": "japanese", "ko": "korean",
    "nl": "dutch", "pl": "polish", "ps": "pashto", "pt": "portuguese", "ru": "russian",
    "tr": "turkish", "uk": "ukrainian", "ur": "urdu", "uz": "uzbek", "zh": "chinese",
    "tg": "tajik", "ky": "kyrgyz", "kk": "kazakh", "az": "azerbaijani", "hy": "armenian",
    "ka": "georgian", "he": "hebrew", "id": "indonesian", "ms": "malay", "sv": "swedish",
}


# --- FTS5 query → keyword query ------------------------------------------------------


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


def web_query(query: str, words: Callable[[str], Sequence[str]] | None = None) -> str:
    """An FTS5 query as a search-engine keyword query that finds at least its matches.

    `words(stem)` gives the whole words a prefix term stands for (wordforms.word_forms);
    without it a prefix term is sent as its stem.

    >>> web_query('NEAR(russia* arm taliban*, 20) OR NEAR(moscow weapon* taliban*, 20)')
    'taliban (russia OR moscow) (arm OR weapon)'
    """
    parts = []
    for terms in _clauses(_Parser(query).parse()):
        clause = list(dict.fromkeys(form for term in terms for form in _forms(term, words)))
        if not all(_usable(t) for t in clause):
            # An alternative too short to search for: leaving it out would narrow the
            # clause, so the whole requirement goes (the query only ever loosens).
            continue
        rendered = list(dict.fromkeys(f'"{t.text}"' if t.phrase else t.text for t in clause))
        parts.append(rendered[0] if len(rendered) == 1 else f"({' OR '.join(rendered)})")
    if not parts:
        raise ValueError(f"nothing searchable in the query {query!r}")
    return " ".join(dict.fromkeys(parts))


# --- endpoints -------------------------------------------------------------------------


def gdelt_url(base: str, query: str, *, since: datetime | None, until: datetime | None,
              max_records: int, language: str | None = None) -> str:
    """A GDELT DOC 2.0 ArtList request (JSON, newest first) for the keyword query,
    restricted to articles published in `language` (ISO 639-1) when GDELT knows it."""
    if language in GDELT_LANGUAGES:
        query = f"{query} sourcelang:{GDELT_LANGUAGES[language]}"
    params = {"query": query, "mode": "ArtList", "format": "json",
              "maxrecords": str(max_records), "sort": "DateDesc"}
    if since:
        params["startdatetime"] = since.astimezone(UTC).strftime("%Y%m%d%H%M%S")
    if until:
        params["enddatetime"] = until.astimezone(UTC).strftime("%Y%m%d%H%M%S")
    return f"{base}?{urlencode(params, quote_via=quote)}"


def parse_gdelt(body: bytes) -> list[Link]:
    """The articles of a GDELT ArtList JSON answer; ValueError with GDELT's message otherwise."""
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return []
    try:
        data = json.loads(text, strict=False)
    except ValueError:
        raise ValueError(f"GDELT answered: {' '.join(text.split())[:200]}") from None
    if not isinstance(data, dict):
        raise ValueError("GDELT answered with unexpected JSON")
    links = []
    for article in data.get("articles") or ():
        if not isinstance(article, dict) or not article.get("url"):
            continue
        # seendate is when GDELT saw the article, not when it was published: not a hint.
        title = " ".join(str(article.get("title") or "").split()) or None
        links.append(Link(article["url"], title))
    return links


def unwrap(url: str) -> str:
    """The article URL inside a search engine's click-through link, else the link itself."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    for key, value in parse_qsl(parts.query):
        if key.lower() in REDIRECT_PARAMS and value.startswith(("http://", "https://")):
            return value
    return url


def search_feed_url(template: str, query: str, *, since: datetime | None,
                    until: datetime | None, language: str | None = None) -> str:
    """A news-search URL from its template: {query}, {since}/{until}, {lang} (ISO 639-1,
    empty for a narrative's main query)."""
    return template.format(
        query=quote_plus(query), lang=language or "",
        since=since.strftime("%Y-%m-%d") if since else "",
        until=until.strftime("%Y-%m-%d") if until else "",
    )


def search_queries(narrative: Narrative) -> list[tuple[str | None, str]]:
    """(language, keyword query) for a narrative's main query (language None: every
    language) and each language variant, prefix terms sent as whole words; a query
    with nothing searchable raises ValueError naming its language."""
    queries, problems = [], []
    for language, fts5 in ((None, narrative.query), *narrative.queries):
        known = narrative_words(narrative, language or MAIN_LANGUAGE)
        try:
            web = web_query(fts5, functools.partial(word_forms, language=language, known=known))
        except ValueError as error:
            problems.append(f"{language or 'query'}: {error}")
            continue
        if (language, web) not in queries:
            queries.append((language, web))
    if problems and not queries:
        raise ValueError("; ".join(problems))
    for problem in problems:
        logger.warning("%s: %s", narrative.id, problem)
    return queries


class SearchSpider(ArchiveSpider):
    """Per narrative: GDELT and news-search RSS results, fetched wherever they are."""

    name = "search"
    via = "search"
    default_since_setting = "NARRATIVE_ARCHIVE_SEARCH_SINCE"
    follows_any_domain = True

    async def start(self):
        settings = self.crawler.settings
        gdelt = settings.get("NARRATIVE_ARCHIVE_GDELT_URL")
        templates = [t for t in settings.getlist("NARRATIVE_ARCHIVE_SEARCH_FEEDS") if t.strip()]
        max_records = settings.getint("NARRATIVE_ARCHIVE_GDELT_MAXRECORDS")
        if self.limit:
            max_records = min(max_records, self.limit)
        for narrative in self.narratives:
            try:
                queries = search_queries(narrative)
            except ValueError as error:
                self.logger.warning("%s: %s", narrative.id, error)
                continue
            # Never ask for articles from before the narrative is tracked.
            tracked_from = parse_when(narrative.since) if narrative.since else None
            since = max(filter(None, (self.since, tracked_from)), default=None)
            for language, query in queries:
                self.logger.info("%s%s: searching for %s", narrative.id,
                                 f" [{language}]" if language else "", query)
                if gdelt:
                    oldest = datetime.now(UTC) - GDELT_WINDOW
                    url = gdelt_url(gdelt, query, since=max(since or oldest, oldest),
                                    until=self.until, max_records=max_records, language=language)
                    yield self.listing_request(url, self.parse_gdelt, narrative_id=narrative.id)
                for template in templates:
                    url = search_feed_url(template.strip(), query, since=since, until=self.until,
                                          language=language)
                    yield self.listing_request(url, self.parse_search_feed,
                                               narrative_id=narrative.id)

    def narrative(self, response: Response) -> Narrative:
        return self.config.narrative(response.meta["narrative_id"])

    def parse_gdelt(self, response: Response):
        self.count("fetched")
        self.count("listings")
        try:
            links = parse_gdelt(response.body)
        except ValueError as error:
            yield self.listing_problem(response, str(error))
            return
        yield from self.follow(links, source=response.url, narrative=self.narrative(response))

    def parse_search_feed(self, response: Response):
        self.count("fetched")
        self.count("listings")
        content_type = response.headers.get("Content-Type", b"").decode("latin-1") or None
        feed = parse_feed(response.body, response.url, content_type)
        if feed.error:
            yield self.listing_problem(response, feed.error)
            return
        links = [Link(unwrap(link.url), link.title, link.published_at) for link in feed.links]
        yield from self.follow(links, source=response.url, narrative=self.narrative(response))
