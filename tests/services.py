"""Fixture services that refuse what the real services refuse, the way they refuse it.

Each class answers one endpoint from its query parameters, headers and arrival time
(time.monotonic(), recorded in `times`), so a test can run it behind any HTTP server
and assert on what arrived. Every constraint names its source; a client that breaks
one gets the real service's refusal and fails its test.

Pacing runs on a `Clock`: its `speed` divides every interval of the service (a minute
is 60/speed seconds), as NARRATIVE_ARCHIVE_CLOCK_SPEED divides the client's. The
ratio the service enforces is the real one; only the clock is faster.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

Reply = tuple[int, str, bytes, dict[str, str]]  # status, content type, body, headers
BLOCKED: Reply = (0, "", b"", {})  # the firewall: the connection is dropped, no answer


@dataclass
class Clock:
    speed: float = 1.0

    def seconds(self, real: float) -> float:
        return real / self.speed

    @property
    def minute(self) -> float:
        return self.seconds(60.0)


def most_in_window(times: Iterable[float], window: float) -> int:
    """The largest number of `times` within any `window` seconds (t - window, t]."""
    ordered, best, first = sorted(times), 0, 0
    for last, moment in enumerate(ordered):
        while ordered[first] <= moment - window:
            first += 1
        best = max(best, last - first + 1)
    return best


def _json(status: int, data, headers: dict[str, str] | None = None) -> Reply:
    return status, "application/json", json.dumps(data).encode(), headers or {}


# --- Media Cloud ---------------------------------------------------------------------------


@dataclass
class MediaCloud:
    """search.mediacloud.org/api/search/story-list, as mediacloud/web-search answers a
    normal (non-staff) user's API key.

    - DRF TokenAuthentication first (mcweb/backend/search/views.py story_list:
      @authentication_classes([TokenAuthentication])): a missing or wrong key is 401
      {"detail": "Invalid token."}.
    - django-ratelimit, key="user", rate from util/ratelimit_callables.query_rate: "2/m"
      for normal users; over it handle_429 answers 429 {"status": "error", "note": "rate
      limited", "temporary": true}, without Retry-After. Every request counts, refused or
      not. (django-ratelimit counts per fixed minute; this counts any 60 s, which is
      stricter: a client that passes here passes there.)
    - utils.parse_query_params: no q is 422 "Missing 'q' parameter value"; neither cs nor ss
      is 422 "Must have at least one of 'ss' or 'cs' parameters"; an unknown collection is
      422 "invalid Collection(s): <ids>" (_validate_sources_or_collections), all through
      views.error_response: {"status": "error", "note": ..., "exception": ...}.
    - pages: {"stories": [...], "pagination_token": ...} (views.story_list).
    `refuse_first` requests get the 429 whatever their pace, as when another client of the
    same key has used the minute's allowance.
    """

    clock: Clock = field(default_factory=Clock)
    key: str = "test-key"
    per_minute: int = 2
    refuse_first: int = 0
    collections: frozenset[int] = frozenset({34412234, 38379429})
    sources: frozenset[int] = frozenset({1, 2, 3})
    pages: dict[str | None, tuple[list[dict], str | None]] = field(default_factory=dict)
    times: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    asked: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, params: Sequence[tuple[str, str]], headers, at: float) -> Reply:
        with self.lock:
            reply = self._answer(dict(params), headers, at)
            self.statuses.append(reply[0])
            return reply

    def _answer(self, query: dict[str, str], headers, at: float) -> Reply:
        if (headers.get("Authorization") or "") != f"Token {self.key}":
            return _json(401, {"detail": "Invalid token."}, {"WWW-Authenticate": "Token"})
        self.times.append(at)
        self.asked.append(query)
        recent = self.times[-(self.per_minute + 1):]
        if most_in_window(recent, self.clock.minute) > self.per_minute \
                or len(self.times) <= self.refuse_first:
            return _json(429, {"status": "error", "note": "rate limited", "temporary": True})
        if not query.get("q"):
            return self._refuse("Missing 'q' parameter value")
        if query.get("cs") is None and query.get("ss") is None:
            return self._refuse("Must have at least one of 'ss' or 'cs' parameters")
        for name, known, table in (("cs", self.collections, "Collection"),
                                   ("ss", self.sources, "Source")):
            bad = [i for i in (query.get(name) or "").split(",") if i and int(i) not in known]
            if bad:
                return self._refuse(f"invalid {table}(s): {','.join(bad)}")
        stories, token = self.pages.get(query.get("pagination_token"), ([], None))
        return _json(200, {"stories": stories, "pagination_token": token})

    @staticmethod
    def _refuse(note: str) -> Reply:
        return _json(422, {"status": "error", "note": note,
                           "exception": f"UserValueError({note!r})"})


# --- the Wayback Machine's CDX server ------------------------------------------------------


@dataclass
class WaybackCdx:
    """web.archive.org/cdx/search/cdx's rate limit, as the Internet Archive enforces it.

    - about 30 requests a minute per IP: over it, 429 with no Retry-After
      (edgi-govdata-archiving/wayback _client.py: DEFAULT_CDX_RATE_LIMIT is 80% of 30/min
      "to match the actual hard limits", and "the Wayback Machine does not set a
      Retry-After header"; its release v0.5.1 notes).
    - "If 429s are ignored for more than a minute we block the IP at the firewall (no
      connection) for 1 hour" (the Internet Archive, quoted in edgi-govdata-archiving/
      wayback issue #137). Read here as: 429s less than a minute apart that go on for
      over a minute block the client (every later request is dropped, `blocked_at`); a
      client that pauses a minute after a 429 has not ignored it.

    `answer` returns None when the request is within the limit: the caller answers it.
    `refuse_first` requests are refused whatever their pace, as when another client on
    the same IP has used the allowance.
    """

    clock: Clock = field(default_factory=Clock)
    per_minute: int = 30
    refuse_first: int = 0
    times: list[float] = field(default_factory=list)
    refused: list[float] = field(default_factory=list)  # when a 429 was served
    blocked_at: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, at: float) -> Reply | None:
        with self.lock:
            if self.blocked_at is not None:
                return BLOCKED
            self.times.append(at)
            recent = self.times[-(self.per_minute + 1):]
            if most_in_window(recent, self.clock.minute) <= self.per_minute \
                    and len(self.times) > self.refuse_first:
                return None
            start = at  # the run of 429s, each less than a minute after the one before
            for earlier in reversed(self.refused):
                if start - earlier >= self.clock.minute:
                    break
                start = earlier
            if at - start > self.clock.minute:
                self.blocked_at = at
                return BLOCKED
            self.refused.append(at)
            return 429, "text/html", b"<html><body><h1>429 Too Many Requests</h1></body></html>", {}


# --- Common Crawl's index server (pywb) ----------------------------------------------------


# pywb/warcserver/index/cdxobject.py CDX_ALT_FIELDS: short and IA names of the fields
ALT_FIELDS = {"u": "url", "original": "url", "statuscode": "status", "s": "status",
              "mimetype": "mime", "m": "mime", "l": "length", "o": "offset", "d": "digest",
              "t": "timestamp", "k": "urlkey"}


def pywb_filter(expression: str):
    """webrecorder/pywb pywb/warcserver/index/cdxops.py CDXFilter: `[!][=|~]field:value`.

    No modifier: `value in field` (a substring test); `=`: equal; `~`: re.match (a regex
    anchored at the start); `!` before any of them negates. Without `field:` the test
    applies to the whole line.
    """
    invert = expression.startswith("!")
    text = expression[1:] if invert else expression
    mode = text[0] if text[:1] in ("=", "~") else ""
    text = text[1:] if mode else text
    name, sep, value = text.partition(":")
    if not sep:
        name, value = "", text
    name = ALT_FIELDS.get(name, name)
    regex = re.compile(value) if mode == "~" else None

    def test(record: dict[str, str]) -> bool:
        seen = str(record.get(name, "")) if name else " ".join(map(str, record.values()))
        if mode == "=":
            matched = seen == value
        elif regex is not None:
            matched = regex.match(seen) is not None
        else:
            matched = value in seen
        return matched != invert

    return test


def pywb_select(records: Iterable[dict[str, str]], params: Sequence[tuple[str, str]]
                ) -> list[dict[str, str]]:
    """The records every filter= of the query keeps (cdxops.cdx_filter: all must hold)."""
    tests = [pywb_filter(value) for name, value in params if name == "filter"]
    return [record for record in records if all(test(record) for test in tests)]


# --- GDELT DOC 2.0 -------------------------------------------------------------------------

GDELT_TOO_LONG = "Your query was too short or too long."
GDELT_TOO_SOON = ("Please limit requests to one every 5 seconds or contact"
                  " kalev.leetaru5@gmail.com for larger queries.")
GDELT_PARENTHESES = "Parentheses may only be used around OR'd statements."
GDELT_SHORT = "The specified phrase is too short."


@dataclass
class Gdelt:
    """api.gdeltproject.org/api/v2/doc/doc's refusals: plain text with HTTP 200.

    - a query over 250 characters: "Your query was too short or too long." (refusals seen
      at 257 and 288 characters; /work/shared/FIELD_NOTES.md "External services");
    - two requests within 5 s: "Please limit requests to one every 5 seconds ..." (its
      documented pace: one request every 5 s);
    - parentheses around anything but an OR: "Parentheses may only be used around OR'd
      statements."; a keyword under 3 letters: "The specified phrase is too short.".
    Otherwise `answer` returns None: the caller answers with the ArtList JSON.
    """

    clock: Clock = field(default_factory=Clock)
    limit: int = 250
    interval: float = 5.0
    times: list[float] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, params: Sequence[tuple[str, str]], at: float) -> Reply | None:
        with self.lock:
            query = dict(params).get("query", "")
            previous = self.times[-1] if self.times else None
            self.times.append(at)
            self.queries.append(query)
            problem = None
            if previous is not None and at - previous < self.clock.seconds(self.interval):
                problem = GDELT_TOO_SOON
            elif not query or len(query) > self.limit:
                problem = GDELT_TOO_LONG
            elif any(" OR " not in group for group in re.findall(r"\(([^()]*)\)", query)):
                problem = GDELT_PARENTHESES
            elif any(len(word) < 3 for word in re.findall(r'"[^"]*"|[^\s()"]+', query)
                     if not word.startswith('"') and word != "OR" and ":" not in word):
                problem = GDELT_SHORT
            if problem is None:
                return None
            self.refusals.append(problem)
            return 200, "text/html; charset=utf-8", (problem + "\n").encode(), {}


# --- news-search RSS -----------------------------------------------------------------------


@dataclass
class NewsSearch:
    """A news-search RSS endpoint (Bing News' /news/search?format=rss) with Bing's documented
    URL limit: a request URL over 2,048 characters is refused, 414 URI Too Long (Bing Web
    Search API documentation: "the URL ... maximum length is 2,048 characters").
    Otherwise `answer` returns None: the caller serves the feed."""

    limit: int = 2048
    lengths: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, url: str) -> Reply | None:
        with self.lock:
            self.lengths.append(len(url))
        if len(url) > self.limit:
            return 414, "text/html", b"<h2>Request-URI Too Long</h2>", {}
        return None
