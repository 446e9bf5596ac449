"""sitemaps: every outlet's sitemaps, news sitemaps and sitemap indexes, within a date range.

Entries are filtered before anything is fetched: a sitemap index's children by
lastmod (a child last changed before --since cannot list anything newer), a
urlset's entries by news:publication_date, else lastmod. Without --since the
window is NARRATIVE_ARCHIVE_SITEMAP_SINCE (2 days), so a routine run never
walks an outlet's whole history; --since/--until backfill a range. Entries with
no date at all are skipped (and counted) since a range is always in force; an
implausible date (before 1990, or the year 2999) counts as none, by the same
rule extraction applies to a page's own dates (dates.plausible_date).
An outlet with no sitemaps configured gets the Sitemap: lines of its robots.txt.
Google News fields (news:title, news:publication_date) are passed on as hints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin

from lxml import etree
from scrapy.http import Response
from scrapy.utils.gz import gunzip

from narrative_archive.crawl.items import Link
from narrative_archive.extract.dates import parse_listed_date, plausible_date
from narrative_archive.spiders.base import ArchiveSpider, in_range
from narrative_archive.times import iso

MAX_DEPTH = 3  # sitemap index → index → index → urlset, and no deeper
_PARSER = etree.XMLParser(
    recover=True, resolve_entities=False, no_network=True, huge_tree=True, remove_comments=True,
    remove_pis=True,
)


@dataclass(frozen=True)
class SitemapEntry:
    loc: str
    lastmod: datetime | None = None
    published: datetime | None = None  # news:publication_date
    title: str | None = None  # news:title
    language: str | None = None  # news:publication/news:language

    @property
    def date(self) -> datetime | None:
        return self.published or self.lastmod


@dataclass(frozen=True)
class Sitemap:
    kind: str  # "index" or "urlset"
    entries: tuple[SitemapEntry, ...]


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _text(element) -> str | None:
    text = " ".join("".join(element.itertext()).split()) if element is not None else ""
    return text or None


def parse_sitemap(body: bytes, url: str = "") -> Sitemap:
    """A sitemap index or urlset (XML, or the plain-text list of URLs the protocol allows).

    Namespaces are matched by local name only: many outlets get them wrong.
    Raises ValueError when the document is neither.
    """
    stripped = body.lstrip()
    if stripped and not stripped.startswith(b"<"):
        lines = stripped.decode("utf-8", "replace").splitlines()
        urls = [line.strip() for line in lines if line.strip().startswith(("http://", "https://"))]
        if urls:
            return Sitemap("urlset", tuple(SitemapEntry(u) for u in urls))
        raise ValueError("not a sitemap")
    try:
        root = etree.fromstring(body, parser=_PARSER)
    except (etree.XMLSyntaxError, ValueError) as error:
        raise ValueError(f"unparsable XML: {error}") from error
    if root is None:
        raise ValueError("unparsable XML")
    kind = _local(root.tag)
    if kind == "sitemapindex":
        child_tag, kind = "sitemap", "index"
    elif kind == "urlset":
        child_tag = "url"
    else:
        raise ValueError(f"not a sitemap (root element <{kind or '?'}>)")
    entries = []
    for child in root:
        if _local(child.tag) != child_tag:
            continue
        fields: dict[str, etree._Element] = {}
        for element in child.iter():
            name = _local(element.tag)
            if name in ("loc", "lastmod", "publication_date", "title", "language"):
                fields.setdefault(name, element)
        loc = _text(fields.get("loc"))
        if not loc:
            continue
        entries.append(SitemapEntry(
            loc=urljoin(url, loc) if url else loc,
            lastmod=_listed_date(_text(fields.get("lastmod"))),
            published=_listed_date(_text(fields.get("publication_date"))),
            title=_text(fields.get("title")),
            language=_text(fields.get("language")),
        ))
    return Sitemap(kind, tuple(entries))


def _listed_date(value: str | None) -> datetime | None:
    """A sitemap date, or None when it is absent, unreadable or implausible (the year 2999)."""
    moment = parse_listed_date(value)
    return moment if moment is not None and plausible_date(moment) else None


_SITEMAP_LINE = re.compile(r"^\s*sitemap\s*:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


def robots_sitemaps(robots_txt: str, url: str) -> list[str]:
    """The Sitemap: URLs of a robots.txt, resolved against its URL."""
    return list(dict.fromkeys(urljoin(url, m) for m in _SITEMAP_LINE.findall(robots_txt)))


class SitemapsSpider(ArchiveSpider):
    """Every configured outlet's sitemaps, filtered by date before fetching."""

    name = "sitemaps"
    via = "sitemap"
    default_since_setting = "NARRATIVE_ARCHIVE_SITEMAP_SINCE"

    async def start(self):
        for outlet in self.outlets:
            if not outlet.sitemaps:
                robots = urljoin(outlet.url, "/robots.txt")
                yield self.listing_request(robots, self.parse_robots, outlet=outlet)
            for url in outlet.sitemaps:
                yield self.sitemap_request(url, outlet.id, depth=0)

    def sitemap_request(self, url: str, outlet_id: str, depth: int):
        request = self.listing_request(url, self.parse_sitemap, depth=depth,
                                       download_maxsize=self.max_sitemap_size)
        request.meta["outlet_id"] = outlet_id
        return request

    def parse_robots(self, response: Response):
        self.count("fetched")
        outlet_id = response.meta["outlet_id"]
        text = response.text if hasattr(response, "text") else ""
        sitemaps = robots_sitemaps(text, response.url)
        if not sitemaps:
            self.logger.info("%s: no sitemaps configured and none in %s", outlet_id, response.url)
            self.count("outlets_without_sitemaps")
        for url in sitemaps:
            yield self.sitemap_request(url, outlet_id, depth=0)

    def sitemap_body(self, response: Response) -> bytes:
        body = response.body
        if body[:2] == b"\x1f\x8b":  # a .xml.gz served as a file, not as Content-Encoding
            body = gunzip(body, max_size=self.max_sitemap_size)
        return body

    def parse_sitemap(self, response: Response):
        self.count("fetched")
        self.count("listings")
        outlet = self.config.outlet(response.meta["outlet_id"])
        depth = response.meta.get("depth", 0)
        try:
            sitemap = parse_sitemap(self.sitemap_body(response), response.url)
        except (ValueError, OSError) as error:
            yield self.listing_problem(response, f"unparsable sitemap: {error}")
            return
        if sitemap.kind == "index":
            if depth >= MAX_DEPTH:
                yield self.listing_problem(response, f"sitemap indexes nested deeper than {MAX_DEPTH}")
                return
            for entry in sitemap.entries:
                if entry.lastmod and self.since and entry.lastmod < self.since:
                    self.count("skipped_old_sitemaps")
                    continue
                yield self.sitemap_request(entry.loc, outlet.id, depth=depth + 1)
            return
        links, undated = [], 0
        for entry in sorted(sitemap.entries, key=_newest_first):
            if entry.date is None and (self.since or self.until):
                undated += 1
                continue
            if not in_range(entry.date, self.since, self.until):
                self.count("skipped_out_of_range")
                continue
            links.append(Link(entry.loc, entry.title,
                              iso(entry.published) if entry.published else None))
        if undated:
            self.count("skipped_undated", undated)
            self.logger.info("%s: %d entries without a date skipped", response.url, undated)
        yield from self.follow(links, outlet=outlet, source=response.url)


def _newest_first(entry: SitemapEntry) -> float:
    return -entry.date.timestamp() if entry.date else 0.0
