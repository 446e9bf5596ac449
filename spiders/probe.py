"""One cheap request per source the config relies on, and what came back: `sources check`.

Per outlet: its robots.txt (and whether it lets us fetch the outlet's feeds and
sitemaps), each feed (a feed at all? entries? the newest one's date) and each
sitemap (an index or a URL set? how many? the newest date). Per API: the Wayback
CDX server, Common Crawl's collinfo.json, Media Cloud (is the key there, is it
accepted), GDELT and each news-search endpoint, one small request each.

Blocking urllib requests in a few threads (a check is a handful of requests; the
crawl's reactor is not needed), honouring http(s)_proxy like the crawl; requests to
one host go one after another. Every result is a Check: ok, warn (works, but worth
a look: an empty feed, a stale one) or fail (the crawl would get nothing from it).
"""

from __future__ import annotations

import functools
import gzip
import socket
import ssl
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.client import HTTPException
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urlsplit
from urllib.request import Request, urlopen

from protego import Protego

from narrative_archive.config import Config, Outlet
from narrative_archive.sources import commoncrawl, mediacloud, newsrss, wayback
from narrative_archive.sources.gdelt import artlist_url, parse_artlist
from narrative_archive.spiders.feeds import parse_feed
from narrative_archive.spiders.sitemaps import parse_sitemap
from narrative_archive.times import iso, parse_iso

SOURCES = ("outlets", "wayback", "commoncrawl", "mediacloud", "gdelt", "news-search")
STALE = timedelta(days=30)  # a feed or sitemap whose newest entry is older: a warning
MAX_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class Check:
    level: str  # ok | warn | fail
    name: str  # the outlet's id, or the API's name
    what: str  # robots.txt | feed | sitemap | cdx | collinfo | key | search
    url: str
    detail: str


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes


class Unreachable(Exception):
    """No HTTP answer at all; str() says why (DNS, refused, timed out, ...)."""


def why(error: BaseException) -> str:
    """A failed request's reason, as the crawl's errors say it."""
    reason = getattr(error, "reason", error)
    if isinstance(reason, socket.gaierror):
        return "DNS lookup failed"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "timed out"
    if isinstance(reason, ssl.SSLError):
        return f"TLS error: {reason}"
    return f"{type(reason).__name__}: {reason}"


def fetch(url: str, *, user_agent: str, timeout: float = 20.0,
          headers: dict[str, str] | None = None) -> Answer:
    """GET url (errors statuses are answers too); Unreachable when there is no answer."""
    request = Request(url, headers={"User-Agent": user_agent, **(headers or {})})
    try:
        with urlopen(request, timeout=timeout) as response:  # noqa: S310 (http(s) from config)
            return Answer(response.status, response.headers.get("Content-Type", ""),
                          response.read(MAX_BYTES))
    except HTTPError as error:
        return Answer(error.code, error.headers.get("Content-Type", ""), error.read(MAX_BYTES))
    except (URLError, HTTPException, OSError) as error:
        raise Unreachable(why(error)) from error


Fetch = Callable[[str], Answer]


def _newest(dates: Iterable[str | datetime | None]) -> datetime | None:
    moments = [d if isinstance(d, datetime) else parse_iso(d) for d in dates]
    return max((m for m in moments if m is not None), default=None)


def _dated(level: str, newest: datetime | None, text: str) -> tuple[str, str]:
    if newest is None:
        return level, f"{text}, undated"
    if level == "ok" and datetime.now(UTC) - newest > STALE:
        return "warn", f"{text}, newest {iso(newest)} (stale)"
    return level, f"{text}, newest {iso(newest)}"


# --- outlets -----------------------------------------------------------------------------


def check_outlet(outlet: Outlet, get: Fetch, user_agent: str) -> list[Check]:
    """robots.txt, then each feed and sitemap of one outlet, one after another."""
    checks: list[Check] = []
    robots: dict[str, Protego | None] = {}
    for url in (*outlet.feeds, *outlet.sitemaps):
        parts = urlsplit(url)
        home = f"{parts.scheme}://{parts.netloc}"
        if home not in robots:
            robots[home], check = _robots(outlet, f"{home}/robots.txt", get)
            checks.append(check)
        rules = robots[home]
        if rules is not None and not rules.can_fetch(url, user_agent):
            checks.append(Check("fail", outlet.id, "feed" if url in outlet.feeds else "sitemap",
                                url, "robots.txt disallows it for our user agent"))
            continue
        checks.append((_feed if url in outlet.feeds else _sitemap)(outlet, url, get))
    if not outlet.feeds and not outlet.sitemaps:
        checks.append(Check("warn", outlet.id, "feed", outlet.url,
                            "no feeds or sitemaps configured: the feeds spider looks for feeds"
                            " its home page announces"))
    return checks


def _robots(outlet: Outlet, url: str, get: Fetch) -> tuple[Protego | None, Check]:
    try:
        answer = get(url)
    except Unreachable as error:
        return None, Check("fail", outlet.id, "robots.txt", url, str(error))
    if answer.status >= 500:
        return None, Check("warn", outlet.id, "robots.txt", url,
                           f"HTTP {answer.status}: the crawl treats the site as off limits"
                           " until it answers")
    if answer.status != 200:  # 4xx: no rules, everything allowed
        return None, Check("ok", outlet.id, "robots.txt", url, f"HTTP {answer.status}: no rules")
    rules = Protego.parse(answer.body.decode("utf-8", "replace"))
    return rules, Check("ok", outlet.id, "robots.txt", url, "HTTP 200")


def _feed(outlet: Outlet, url: str, get: Fetch) -> Check:
    try:
        answer = get(url)
    except Unreachable as error:
        return Check("fail", outlet.id, "feed", url, str(error))
    if answer.status != 200:
        return Check("fail", outlet.id, "feed", url, f"HTTP {answer.status}")
    feed = parse_feed(answer.body, url, answer.content_type or None)
    if feed.error:
        return Check("fail", outlet.id, "feed", url, feed.error)
    if not feed.links:
        return Check("warn", outlet.id, "feed", url, f"{feed.version or 'feed'}: empty, no entries")
    level, detail = _dated("ok", _newest(link.published_at for link in feed.links),
                           f"{feed.version or 'feed'}: {len(feed.links)} entries")
    return Check(level, outlet.id, "feed", url, detail)


def _sitemap(outlet: Outlet, url: str, get: Fetch) -> Check:
    try:
        answer = get(url)
    except Unreachable as error:
        return Check("fail", outlet.id, "sitemap", url, str(error))
    if answer.status != 200:
        return Check("fail", outlet.id, "sitemap", url, f"HTTP {answer.status}")
    body = answer.body
    if body[:2] == b"\x1f\x8b":
        try:
            body = gzip.decompress(body)
        except OSError as error:
            return Check("fail", outlet.id, "sitemap", url, f"broken gzip: {error}")
    try:
        sitemap = parse_sitemap(body, url)
    except ValueError as error:
        return Check("fail", outlet.id, "sitemap", url, str(error))
    if not sitemap.entries:
        return Check("warn", outlet.id, "sitemap", url, f"empty sitemap {sitemap.kind}")
    what = "sitemaps" if sitemap.kind == "index" else "URLs"
    level, detail = _dated("ok", _newest(entry.date for entry in sitemap.entries),
                           f"sitemap {sitemap.kind}: {len(sitemap.entries)} {what}")
    return Check(level, outlet.id, "sitemap", url, detail)


# --- APIs --------------------------------------------------------------------------------


def _api(name: str, what: str, url: str, get: Fetch, read: Callable[[Answer], str]) -> Check:
    try:
        answer = get(url)
    except Unreachable as error:
        return Check("fail", name, what, url, str(error))
    if answer.status != 200:
        text = " ".join(answer.body.decode("utf-8", "replace").split())[:160]
        return Check("fail", name, what, url, f"HTTP {answer.status}{': ' + text if text else ''}")
    try:
        return Check("ok", name, what, url, read(answer))
    except ValueError as error:
        return Check("fail", name, what, url, str(error))


def check_wayback(base: str, get: Fetch) -> Check:
    url = (f"{base.rstrip('/')}/cdx/search/cdx?"
           + urlencode({"url": "example.com", "output": "json", "limit": "1"}))
    return _api("wayback", "cdx", url, get,
                lambda a: f"CDX answers ({len(wayback.parse_cdx(a.body).captures)} of 1 row)")


def check_commoncrawl(index: str, get: Fetch) -> Check:
    def read(answer: Answer) -> str:
        crawls = commoncrawl.parse_collinfo(answer.body)
        if not crawls:
            raise ValueError("collinfo.json lists no crawls")
        newest = max(crawls, key=lambda c: c.end or datetime.min.replace(tzinfo=UTC))
        return f"{len(crawls)} crawls, newest {newest.id}"

    return _api("commoncrawl", "collinfo", f"{index.rstrip('/')}/collinfo.json", get, read)


def check_mediacloud(base: str, key: str, config: Config, get_with: Callable) -> list[Check]:
    url = f"{base.rstrip('/')}/auth/profile"
    if not key:
        return [Check("fail", "mediacloud", "key", url,
                      "API key missing: set NARRATIVE_ARCHIVE_MEDIACLOUD_KEY")]
    try:
        answer = get_with(url, mediacloud.headers(key))
    except Unreachable as error:
        return [Check("fail", "mediacloud", "key", url, str(error))]
    if answer.status != 200:
        return [Check("fail", "mediacloud", "key", url,
                      mediacloud.error_message(answer.status, answer.body))]
    checks = [Check("ok", "mediacloud", "key", url, "the API key is accepted")]
    unscoped = [n.id for n in config.narratives
                if not (n.mediacloud_collections or n.mediacloud_sources)]
    if unscoped:
        checks.append(Check("warn", "mediacloud", "scope", str(config.paths.get("narratives.yml")),
                            "no mediacloud collections or sources for "
                            f"{', '.join(unscoped)}: backfill needs --mediacloud-collections"))
    return checks


def check_gdelt(base: str, get: Fetch) -> Check:
    url = artlist_url(base, "taliban", since=datetime.now(UTC) - timedelta(days=1), until=None,
                      max_records=1)
    return _api("gdelt", "search", url, get,
                lambda a: f"ArtList answers ({len(parse_artlist(a.body))} articles)")


def check_news_search(entry: str, get: Fetch) -> Check:
    try:
        url = newsrss.feed_url(newsrss.template(entry), "taliban", since=None, until=None)
    except ValueError as error:
        return Check("fail", "news-search", "search", entry, str(error))

    def read(answer: Answer) -> str:
        feed = parse_feed(answer.body, url, answer.content_type or None)
        if feed.error:
            raise ValueError(feed.error)
        return f"{feed.version or 'feed'}: {len(feed.links)} results"

    return _api("news-search", "search", url, get, read)


# --- all of it ---------------------------------------------------------------------------


def _one(check: Callable[..., Check], *args) -> list[Check]:
    return [check(*args)]


def run_checks(config: Config, settings, outlets: Sequence[Outlet], sources: Sequence[str],
               workers: int = 8) -> list[Check]:
    """The checks of these outlets and APIs, outlets in parallel (each host in turn)."""
    user_agent = settings.get("USER_AGENT")
    timeout = settings.getfloat("DOWNLOAD_TIMEOUT", 20.0)

    def get(url: str) -> Answer:
        return fetch(url, user_agent=user_agent, timeout=timeout)

    def get_with(url: str, headers: dict[str, str]) -> Answer:
        return fetch(url, user_agent=user_agent, timeout=timeout, headers=headers)

    jobs: list[Callable[[], list[Check]]] = []
    if "outlets" in sources:
        jobs += [functools.partial(check_outlet, outlet, get, user_agent) for outlet in outlets]
    if "wayback" in sources:
        jobs.append(functools.partial(_one, check_wayback, settings.get(
            "NARRATIVE_ARCHIVE_WAYBACK_URL") or wayback.DEFAULT_URL, get))
    if "commoncrawl" in sources:
        jobs.append(functools.partial(_one, check_commoncrawl, settings.get(
            "NARRATIVE_ARCHIVE_COMMONCRAWL_INDEX_URL") or commoncrawl.DEFAULT_INDEX_URL, get))
    if "mediacloud" in sources:
        jobs.append(functools.partial(
            check_mediacloud, settings.get("NARRATIVE_ARCHIVE_MEDIACLOUD_URL")
            or mediacloud.DEFAULT_URL, settings.get("NARRATIVE_ARCHIVE_MEDIACLOUD_KEY") or "",
            config, get_with))
    if "gdelt" in sources and settings.get("NARRATIVE_ARCHIVE_GDELT_URL"):
        jobs.append(functools.partial(_one, check_gdelt,
                                      settings.get("NARRATIVE_ARCHIVE_GDELT_URL"), get))
    if "news-search" in sources:
        for entry in settings.getlist("NARRATIVE_ARCHIVE_SEARCH_FEEDS"):
            if entry.strip():
                jobs.append(functools.partial(_one, check_news_search, entry, get))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return [check for found in pool.map(lambda job: job(), jobs) for check in found]
