"""News-search RSS endpoints: Bing News and Google News searches as feeds.

NARRATIVE_ARCHIVE_SEARCH_FEEDS lists them, each a provider's name (`bing`,
`google-news`) or a URL template with {query} and optionally {since}/{until}
(YYYY-MM-DD), {lang} (ISO 639-1, empty for a narrative's main query) and Google
News' edition parameters {hl}, {gl}, {ceid} (hl=en-US&gl=US&ceid=US:en).

- Bing News RSS (/news/search?q=…&format=rss) is undocumented; Bing's documented
  search API refuses a URL over 2,048 characters. No URL goes over that: a long
  query becomes several whose union is the query (query.split_within).
- Google News RSS search (news.google.com/rss/search?q=…&hl=…&gl=…&ceid=…): a
  language variant is asked of that language's edition where Google News has one,
  else of the English (US) one. Its item links point at news.google.com/rss/articles/…;
  the old ones carry the article URL (base64) and are read here, the ones Google has
  issued since July 2024 redirect only through JavaScript and are skipped.
- Result links that wrap the article URL in a click-through (…?url=https%3A%2F%2F…)
  are unwrapped.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import parse_qsl, quote_plus, urlsplit

from narrative_archive.sources.query import split_within

PROVIDERS = {
    "bing": "https://www.bing.com/news/search?q={query}&format=rss",
    "google-news": "https://news.google.com/rss/search?q={query}&hl={hl}&gl={gl}&ceid={ceid}",
}
MAX_URL = 2048  # characters: Bing's documented limit for a search URL
SPLIT_BUDGET = 4  # URLs one query may become; past it whole OR-clauses are left out
# Google News editions: language → (hl, gl, ceid). A language without one is asked of
# the English (US) edition.
EDITIONS = {
    None: ("en-US", "US", "US:en"), "en": ("en-US", "US", "US:en"),
    "ar": ("ar", "EG", "EG:ar"), "de": ("de", "DE", "DE:de"), "es": ("es", "ES", "ES:es"),
    "fr": ("fr", "FR", "FR:fr"), "hi": ("hi", "IN", "IN:hi"), "it": ("it", "IT", "IT:it"),
    "ja": ("ja", "JP", "JP:ja"), "ko": ("ko", "KR", "KR:ko"), "pt": ("pt-BR", "BR", "BR:pt-419"),
    "ru": ("ru", "RU", "RU:ru"), "tr": ("tr", "TR", "TR:tr"), "uk": ("uk", "UA", "UA:uk"),
    "zh": ("zh-CN", "CN", "CN:zh-Hans"),
}
REDIRECT_PARAMS = ("url", "u")
_GOOGLE_ARTICLE = re.compile(r"^/(?:rss/)?articles/([A-Za-z0-9_-]+)")
_EMBEDDED_URL = re.compile(rb"https?://[\x21-\x7e]+?(?=[\x00-\x20\x7f-\xff]|$)")


def template(entry: str) -> str:
    """A NARRATIVE_ARCHIVE_SEARCH_FEEDS entry as a URL template: a provider's name or one."""
    entry = entry.strip()
    if entry in PROVIDERS:
        return PROVIDERS[entry]
    if "{query}" not in entry:
        raise ValueError(f"not a news-search provider ({', '.join(PROVIDERS)}) nor a URL"
                         f" template with {{query}}: {entry!r}")
    return entry


def feed_url(template: str, query: str, *, since: datetime | None, until: datetime | None,
             language: str | None = None) -> str:
    """The template filled in for one keyword query."""
    hl, gl, ceid = EDITIONS.get(language, EDITIONS[None])
    return template.format(
        query=quote_plus(query), lang=language or "", hl=hl, gl=gl, ceid=ceid,
        since=since.strftime("%Y-%m-%d") if since else "",
        until=until.strftime("%Y-%m-%d") if until else "",
    )


def feed_urls(template: str, clauses: Sequence[Sequence[str]], *, since: datetime | None,
              until: datetime | None, language: str | None = None, limit: int = MAX_URL,
              budget: int = SPLIT_BUDGET) -> list[str]:
    """The URLs, each at most `limit` characters, whose results together are the query's."""

    def size(query: str) -> int:
        return len(feed_url(template, query, since=since, until=until, language=language))

    return [feed_url(template, query, since=since, until=until, language=language)
            for query in split_within(clauses, size, limit, budget)]


def google_news_target(url: str) -> str | None:
    """The article URL an (old-style) Google News article link carries, else None."""
    parts = urlsplit(url)
    match = _GOOGLE_ARTICLE.match(parts.path) if parts.hostname == "news.google.com" else None
    if not match:
        return None
    try:
        data = base64.urlsafe_b64decode(match[1] + "=" * (-len(match[1]) % 4))
    except (binascii.Error, ValueError):
        return None
    found = _EMBEDDED_URL.search(data)
    return found[0].decode("ascii") if found else None


def unwrap(url: str) -> str:
    """The article URL inside a search engine's click-through link, else the link itself."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    for key, value in parse_qsl(parts.query):
        if key.lower() in REDIRECT_PARAMS and value.startswith(("http://", "https://")):
            return value
    return google_news_target(url) or url


def is_aggregator_link(url: str) -> bool:
    """A link that still points at the search engine, not at an article."""
    return urlsplit(url).hostname in ("news.google.com", "www.bing.com", "bing.com")
