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
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit

from scrapy.http import Response

from narrative_archive.config import Narrative
from narrative_archive.crawl.items import Link
from narrative_archive.sources.query import web_query
from narrative_archive.spiders.base import ArchiveSpider
from narrative_archive.spiders.feeds import parse_feed
from narrative_archive.spiders.wordforms import MAIN_LANGUAGE, narrative_words, word_forms
from narrative_archive.times import parse_when

logger = logging.getLogger(__name__)

GDELT_WINDOW = timedelta(days=90)  # the DOC API searches the last three months only
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
