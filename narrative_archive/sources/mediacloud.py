"""Media Cloud's online-news search (API v4, https://search.mediacloud.org/api/).

GET {base}/search/story-list?q=…&start=YYYY-MM-DD&end=YYYY-MM-DD&cs=…&ss=…&platform=…
with the header Authorization: Token {key}; the answer is {"stories": [{url,
title, publish_date, media_url, …}], "pagination_token": …}. A narrative's FTS5
queries become one Boolean query: the search spider's loosening (web_query)
for each language variant, its implicit ANDs made explicit, the variants OR-ed.

As the service is written (mediacloud/web-search, mcweb/backend/search/):
- a non-staff key must name collections (cs) or sources (ss), comma-separated ids,
  else 422 {"status": "error", "note": "Must have at least one of 'ss' or 'cs'
  parameters"} (utils.parse_query_params); an unknown id is 422 too;
- 2 requests a minute for normal users, 100 for staff (util/ratelimit_callables.py;
  the official `mediacloud` client's RATE_LIMIT_PER_MINUTE = 2); over it, 429
  {"status": "error", "note": "rate limited", "temporary": true}, no Retry-After;
- a missing or wrong key is DRF's 401 {"detail": "Invalid token."}; errors carry
  their reason in "note" (views.error_response) or "detail" (DRF).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
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
                   collections: Sequence[int] = (), sources: Sequence[int] = (),
                   pagination_token: str | None = None, page_size: int = PAGE_SIZE) -> str:
    """A story-list request; ValueError without collections or sources (the API refuses it)."""
    if not collections and not sources:
        raise ValueError("Media Cloud needs collections (cs) or sources (ss) to search within")
    params = [("q", query), ("start", since.astimezone(UTC).strftime("%Y-%m-%d")),
              ("end", until.astimezone(UTC).strftime("%Y-%m-%d")), ("platform", PLATFORM),
              ("page_size", str(page_size))]
    if collections:
        params.append(("cs", ",".join(str(i) for i in collections)))
    if sources:
        params.append(("ss", ",".join(str(i) for i in sources)))
    if pagination_token:
        params.append(("pagination_token", pagination_token))
    return f"{base.rstrip('/')}/search/story-list?{urlencode(params, quote_via=quote)}"


def headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Token {key}", "Accept": "application/json"}


def error_message(status: int, body: bytes) -> str:
    """What Media Cloud says went wrong, as one line: its "note" or "detail", else the body."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    said = None
    if isinstance(data, dict):
        said = data.get("note") or data.get("detail") or data.get("error")
    said = " ".join(str(said or text or "no message").split())[:300]
    what = {401: "refused the API key", 403: "refused the request", 422: "refused the query",
            429: "asked to slow down"}.get(status, "answered")
    return f"Media Cloud {what} (HTTP {status}): {said}"


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
