"""feeds: every outlet's RSS and Atom feeds, following the article links they list.

Feeds are parsed with feedparser, which copes with RSS 0.9x/1.0/2.0 and Atom
as they really are (wrong encodings, unescaped ampersands, missing closing
tags). An outlet with no feeds configured gets its home page's
<link rel="alternate"> feeds instead. With --since/--until, entries dated
outside the range are skipped; undated entries are kept. An implausible entry
date (before 1990, or the year 2999) is dropped, by the same rule extraction
applies to a page's own dates (dates.plausible_date). A feed that yields no
article link although it has entries, or is too broken to yield any, is an
error of its outlet; a well-formed feed with no entries is not.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin

import feedparser
from scrapy.http import Response

from narrative_archive.crawl.items import Link
from narrative_archive.extract.dates import parse_listed_date, plausible_date
from narrative_archive.spiders.base import ArchiveSpider, in_range
from narrative_archive.times import iso

FEED_TYPES = (
    "application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json",
    "application/xml", "text/xml",
)
MAX_DISCOVERED_FEEDS = 3


@dataclass
class Feed:
    """What one feed document lists."""

    links: list[Link] = field(default_factory=list)
    version: str = ""  # feedparser's name for the format: rss20, rss10, atom10, ...
    malformed: str | None = None  # why feedparser had to recover, when it had to
    error: str | None = None  # why nothing could be read from it
    implausible_dates: list[str] = field(default_factory=list)  # dropped, as extract drops them


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> Feed:
    """The article links of an RSS/Atom document, resolved against `url`, in feed order."""
    parsed = feedparser.parse(
        io.BytesIO(body),
        response_headers={"content-location": url, "content-type": content_type or "text/xml"},
        sanitize_html=False, resolve_relative_uris=False,
    )
    feed = Feed(version=parsed.get("version") or "")
    if parsed.get("bozo"):
        feed.malformed = _bozo_message(parsed.get("bozo_exception"))
    for entry in parsed.entries:
        link = _entry_link(entry)
        if not link:
            continue
        moment = _entry_date(entry)
        if moment is not None and plausible_date(moment) is None:
            feed.implausible_dates.append(f"{link}: {iso(moment)}")
            moment = None
        title = " ".join(html.unescape(entry.get("title") or "").split()) or None
        feed.links.append(Link(urljoin(url, link), title, iso(moment) if moment else None))
    if not parsed.entries:
        head = body[:1024].lstrip().lower()
        if not feed.version and (head.startswith(b"<!doctype html") or b"<html" in head):
            feed.error = "not a feed (an HTML page)"
        elif feed.malformed:
            feed.error = f"malformed feed: {feed.malformed} (no entry could be read)"
        elif not feed.version:
            feed.error = "not a feed"
    elif not feed.links:
        feed.error = f"no article links: none of its {len(parsed.entries)} entries has a URL"
    return feed


def _bozo_message(error) -> str:
    message = getattr(error, "getMessage", None)
    text = message() if callable(message) else str(error)
    return " ".join(text.split())[:200] or type(error).__name__


def _entry_link(entry) -> str | None:
    """The article URL of an entry: FeedBurner's original, the link, an alternate, a URL guid."""
    for key in ("feedburner_origlink", "link"):
        value = (entry.get(key) or "").strip()
        if value:
            return value
    for link in entry.get("links") or ():
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return link["href"].strip()
    guid = (entry.get("id") or "").strip()
    if guid.startswith(("http://", "https://")):
        return guid
    return None


def _entry_date(entry) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime(*value[:6]).replace(tzinfo=UTC)
            except (TypeError, ValueError):
                continue
    for key in ("published", "updated"):
        moment = parse_listed_date(entry.get(key))
        if moment:
            return moment
    return None


def discover_feeds(response: Response) -> list[str]:
    """Feed URLs a page announces with <link rel="alternate" type="application/rss+xml">."""
    found: dict[str, None] = {}
    for element in response.xpath("//link[@href]"):
        rel = (element.attrib.get("rel") or "").lower().split()
        kind = (element.attrib.get("type") or "").lower().split(";")[0].strip()
        if "alternate" in rel and kind in FEED_TYPES[:4]:
            found[response.urljoin(element.attrib["href"].strip())] = None
    return list(found)[:MAX_DISCOVERED_FEEDS]


class FeedsSpider(ArchiveSpider):
    """Every configured outlet's RSS/Atom feeds (or the ones its home page announces)."""

    name = "feeds"
    via = "feed"

    async def start(self):
        for outlet in self.outlets:
            if not outlet.feeds:
                yield self.listing_request(outlet.url, self.parse_home, outlet=outlet)
            for url in outlet.feeds:
                yield self.listing_request(url, self.parse_feed, outlet=outlet)

    def parse_home(self, response: Response):
        """An outlet without configured feeds: follow the feeds its home page announces."""
        self.count("fetched")
        outlet = self.config.outlet(response.meta["outlet_id"])
        feeds = discover_feeds(response) if hasattr(response, "xpath") else []
        if not feeds:
            self.logger.info("%s: no feeds configured and none announced on %s",
                             outlet.id, response.url)
            self.count("outlets_without_feeds")
            return
        for url in feeds:
            yield self.listing_request(url, self.parse_feed, outlet=outlet)

    def parse_feed(self, response: Response):
        self.count("fetched")
        self.count("listings")
        outlet = self.config.outlet(response.meta["outlet_id"])
        content_type = (response.headers.get("Content-Type") or b"").decode("latin-1") or None
        feed = parse_feed(response.body, response.url, content_type)
        if feed.error:
            yield self.listing_problem(response, feed.error)
            return
        if feed.malformed:
            self.logger.info("%s: malformed feed, read anyway (%s)", response.url, feed.malformed)
            self.count("listings_malformed")
        if feed.implausible_dates:
            self.count("listed_dates_implausible", len(feed.implausible_dates))
            self.logger.info("%s: implausible dates ignored: %s", response.url,
                             "; ".join(feed.implausible_dates[:5]))
        links = []
        for link in feed.links:
            if in_range(parse_listed_date(link.published_at), self.since, self.until):
                links.append(link)
            else:
                self.count("skipped_out_of_range")
        yield from self.follow(links, outlet=outlet, source=response.url)
