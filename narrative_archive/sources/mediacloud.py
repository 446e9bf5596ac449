"""Media Cloud's online-news search (API v4, https://search.mediacloud.org/api/).

GET {base}/search/story-list?q=…&start=YYYY-MM-DD&end=YYYY-MM-DD&platform=onlinenews-mediacloud
with the header Authorization: Token {key}; the answer is {"stories": [{url,
title, publish_date, media_url, …}], "pagination_token": …}. A narrative's FTS5
queries become one Boolean query: the search spider's loosening (web_query)
for each language variant, its implicit ANDs made explicit, the variants OR-ed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from narrative_archive.config import Narrative
from narrative_archive.sources.query import web_query
from narrative_archive.times import iso, parse_iso

DEFAULT_URL = "https://search.mediacloud.org/api"
PLATFORM = "onlinenews-mediacloud"
PAGE_SIZE = 1000


@dataclass(frozen=True)
class Story:
    url: str
    title: str | None
    published_at: str | None  # UTC ISO 8601 when Media Cloud knows the date
    source: str | None  # the outlet's domain as Media Cloud names it


def _top_level_parts(query: str) -> list[str]:
    """web_query's space-separated parts ("a", "(a OR b)", '"a b"') as a list."""
    parts, depth, quoted, current = [], 0, False, ""
    for char in query:
        if char == '"':
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        if char == " " and depth == 0 and not quoted:
            if current:
                parts.append(current)
            current = ""
        else:
            current += char
    if current:
        parts.append(current)
    return parts


_PREFIX = re.compile(r'([^\s()"*,:^+{}-]+)\*')
_WORD = re.compile(r'"[^"]*"|[^\s()"]+')


def boolean_query(query: str) -> str:
    """One FTS5 query in Media Cloud's syntax (AND, OR, quoted phrases), loosened like search.

    Media Cloud expands a trailing * itself, so the query's prefix terms keep theirs
    (web-search syntax drops it); inside a phrase there is no wildcard.
    """
    prefixes = set(_PREFIX.findall(query))

    def star(match: re.Match) -> str:
        word = match[0]
        return f"{word}*" if word in prefixes and word not in ("OR", "AND") else word

    parts = [_WORD.sub(star, part) for part in _top_level_parts(web_query(query))]
    return parts[0] if len(parts) == 1 else " AND ".join(parts)


def narrative_query(narrative: Narrative) -> str:
    """All of a narrative's queries (main and language variants) as one Media Cloud query."""
    queries = []
    for query in (narrative.query, *(q for _, q in narrative.queries)):
        try:
            queries.append(boolean_query(query))
        except ValueError:
            continue  # nothing searchable in this variant
    if not queries:
        raise ValueError(f"{narrative.id}: nothing searchable in its queries")
    unique = list(dict.fromkeys(queries))
    return unique[0] if len(unique) == 1 else " OR ".join(f"({q})" for q in unique)


def story_list_url(base: str, query: str, *, since: datetime, until: datetime,
                   pagination_token: str | None = None, page_size: int = PAGE_SIZE) -> str:
    params = [("q", query), ("start", since.astimezone(UTC).strftime("%Y-%m-%d")),
              ("end", until.astimezone(UTC).strftime("%Y-%m-%d")), ("platform", PLATFORM),
              ("page_size", str(page_size))]
    if pagination_token:
        params.append(("pagination_token", pagination_token))
    return f"{base.rstrip('/')}/search/story-list?{urlencode(params, quote_via=quote)}"


def headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Token {key}", "Accept": "application/json"}


def parse_story_list(body: bytes) -> tuple[list[Story], str | None]:
    """The stories of one answer and the token of the next page (None: the last one)."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        raise ValueError(f"Media Cloud answered: {' '.join(text.split())[:160]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("stories", []), list):
        raise ValueError("Media Cloud answered with unexpected JSON")
    stories = []
    for item in data.get("stories") or ():
        if not isinstance(item, dict) or not item.get("url"):
            continue
        stories.append(Story(
            url=str(item["url"]), title=item.get("title") or None,
            published_at=_date(item.get("publish_date")),
            source=item.get("media_url") or item.get("media_name") or None,
        ))
    return stories, data.get("pagination_token") or None


def _date(value) -> str | None:
    moment = parse_iso(value)
    return iso(moment) if moment else None
