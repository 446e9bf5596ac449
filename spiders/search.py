"""search: ask public search endpoints for each narrative, then fetch the articles found.

Two kinds of endpoint, both configurable (settings) so tests point them at a
local server:

- the GDELT DOC 2.0 API (mode ArtList, JSON): NARRATIVE_ARCHIVE_GDELT_URL. GDELT
  searches English translations, so a narrative's English query is sent, for every
  language and narrowed by sourcelang: to each of its variants' languages GDELT knows;
  each request at most 250 characters (sources.gdelt.requests), one every 5 s through
  the paced "gdelt" slot (crawl.pacing);
- news-search RSS endpoints (Bing News, Google News, or URL templates):
  NARRATIVE_ARCHIVE_SEARCH_FEEDS, each URL at most 2,048 characters
  (sources.newsrss). Result links that wrap the article URL in a redirect
  (…?url=https%3A%2F%2F…) are unwrapped.

A narrative is an FTS5 query; `web_query` turns it into the keyword syntax
search engines take ((a OR b) c "a phrase"), keeping every result the FTS5
query would match (it only loosens: NEAR becomes AND, NOT is dropped, prefixes
lose their *). The pipeline then stores a result only when the narrative really
matches it, so loosening costs fetches, never precision. Results may be on any
domain: one that no outlet claims gets an outlet row of its own when stored.
"""

from __future__ import annotations

import functools
import logging
from datetime import UTC, datetime

from scrapy.http import Response

from narrative_archive.config import Narrative
from narrative_archive.crawl.items import Link
from narrative_archive.sources import gdelt, newsrss
from narrative_archive.sources.query import render_query, web_clauses
from narrative_archive.spiders.base import ArchiveSpider
from narrative_archive.spiders.feeds import parse_feed
from narrative_archive.spiders.wordforms import MAIN_LANGUAGE, narrative_words, word_forms
from narrative_archive.times import parse_when

logger = logging.getLogger(__name__)

# (news-search URL templates, unwrapping: narrative_archive.sources.newsrss)
search_feed_url = newsrss.feed_url
unwrap = newsrss.unwrap


def search_clauses(narrative: Narrative) -> list[tuple[str | None, list[list[str]]]]:
    """(language, required OR-clauses) for a narrative's main query (language None, its
    words English) and each language variant, prefix terms as whole words; a query with
    nothing searchable raises ValueError naming its language."""
    found: list[tuple[str | None, list[list[str]]]] = []
    problems = []
    for language, fts5 in ((None, narrative.query), *narrative.queries):
        known = narrative_words(narrative, language or MAIN_LANGUAGE)
        fallback = narrative_words(narrative, MAIN_LANGUAGE) if language else ()
        try:
            clauses = web_clauses(fts5, functools.partial(word_forms, language=language,
                                                          known=known, fallback=fallback))
        except ValueError as error:
            problems.append(f"{language or 'query'}: {error}")
            continue
        if (language, clauses) not in found:
            found.append((language, clauses))
    if problems and not found:
        raise ValueError("; ".join(problems))
    for problem in problems:
        logger.warning("%s: %s", narrative.id, problem)
    return found


def search_queries(narrative: Narrative) -> list[tuple[str | None, str]]:
    """(language, keyword query) of search_clauses, each written out."""
    return [(language, render_query(clauses)) for language, clauses in search_clauses(narrative)]


def gdelt_requests(narrative: Narrative,
                   clauses: list[tuple[str | None, list[list[str]]]]) -> list[tuple[str | None, str]]:
    """GDELT's (language, query) for a narrative: its English query for every language,
    then narrowed by `sourcelang:` to each of its variants' languages GDELT monitors
    (GDELT searches English translations), every request within GDELT's length cap."""
    english = dict(clauses).get(None)
    if english is None:
        return []
    languages: list[str | None] = [None, *(language for language, _ in narrative.queries)]
    return gdelt.requests(english, languages)


class SearchSpider(ArchiveSpider):
    """Per narrative: GDELT and news-search RSS results, fetched wherever they are."""

    name = "search"
    via = "search"
    default_since_setting = "NARRATIVE_ARCHIVE_SEARCH_SINCE"
    follows_any_domain = True

    async def start(self):
        settings = self.crawler.settings
        gdelt_base = settings.get("NARRATIVE_ARCHIVE_GDELT_URL")
        templates = [newsrss.template(entry)
                     for entry in settings.getlist("NARRATIVE_ARCHIVE_SEARCH_FEEDS") if entry.strip()]
        max_records = settings.getint("NARRATIVE_ARCHIVE_GDELT_MAXRECORDS")
        if self.limit:
            max_records = min(max_records, self.limit)
        for narrative in self.narratives:
            try:
                clauses = search_clauses(narrative)
            except ValueError as error:
                self.logger.warning("%s: %s", narrative.id, error)
                continue
            # Never ask for articles from before the narrative is tracked.
            tracked_from = parse_when(narrative.since) if narrative.since else None
            since = max(filter(None, (self.since, tracked_from)), default=None)
            if gdelt_base:
                oldest = datetime.now(UTC) - gdelt.WINDOW
                for _, query in gdelt_requests(narrative, clauses):
                    self.logger.info("%s: GDELT: %s", narrative.id, query)
                    url = gdelt.artlist_url(gdelt_base, query, since=max(since or oldest, oldest),
                                            until=self.until, max_records=max_records)
                    yield self.listing_request(url, self.parse_gdelt, narrative_id=narrative.id,
                                               download_slot="gdelt")
            for language, language_clauses in clauses:
                for template in templates:
                    for url in newsrss.feed_urls(template, language_clauses, since=since,
                                                 until=self.until, language=language):
                        yield self.listing_request(url, self.parse_search_feed,
                                                   narrative_id=narrative.id)

    def narrative(self, response: Response) -> Narrative:
        return self.config.narrative(response.meta["narrative_id"])

    def parse_gdelt(self, response: Response):
        try:
            links = [Link(url, title) for url, title in gdelt.parse_artlist(response.body)]
        except ValueError as error:  # GDELT's refusals: plain text, HTTP 200
            yield self.listing_problem(response, str(error))
            return
        self.count("fetched")
        self.count("listings")
        yield from self.follow(links, source=response.url, narrative=self.narrative(response))

    def parse_search_feed(self, response: Response):
        self.count("fetched")
        self.count("listings")
        content_type = (response.headers.get("Content-Type") or b"").decode("latin-1") or None
        feed = parse_feed(response.body, response.url, content_type)
        if feed.error:
            yield self.listing_problem(response, feed.error)
            return
        links = []
        for link in feed.links:
            url = newsrss.unwrap(link.url)
            if newsrss.is_aggregator_link(url):  # Google's JavaScript-only redirects
                self.count("skipped_undecodable")
                continue
            links.append(Link(url, link.title, link.published_at))
        yield from self.follow(links, source=response.url, narrative=self.narrative(response))
