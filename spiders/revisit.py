"""revisit: re-fetch stored articles that mention a narrative, to catch edits, moves and takedowns.

Articles are due on a decaying schedule after they were first seen
(NARRATIVE_ARCHIVE_REVISIT_AFTER, by default 1 day, 7 days, 30 days and 180
days): each run asks the archive which are due (discovery.due_for_revisit),
most overdue first, up to --limit. Requests are conditional when the archive
has the page's validators (If-None-Match with its ETag, If-Modified-Since with
its Last-Modified) and never follow a redirect: the 3xx itself is the answer.
Every response (or failure) becomes one outcome (see narrative_archive.crawl.revisit):
a RevisitOutcome, or a Page with via='revisit' and the article's id when there
is an article page to extract and compare. robots.txt still applies: a
disallowed URL is recorded as blocked.
"""

from __future__ import annotations

import contextlib

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure
from w3lib.encoding import http_content_type_encoding

from narrative_archive.crawl import discovery
from narrative_archive.crawl.items import Page, Problem, Refused, RevisitOutcome
from narrative_archive.crawl.revisit import (
    BLOCKED_STATUSES,
    GONE_STATUSES,
    classify_page,
    classify_status,
    parse_schedule,
)
from narrative_archive.spiders.base import HTML_TYPES, ArchiveSpider, describe_failure, skip_kind
from narrative_archive.times import now

# A page with a password field and less body text than this is a login page, not the
# article (a login form in a site's header sits beside a full article).
LOGIN_PAGE_MAX_WORDS = 150


def header(response: Response, name: str) -> str | None:
    value = response.headers.get(name)
    if not value:
        return None
    return value.decode("latin-1").strip() or None


class RevisitSpider(ArchiveSpider):
    """Stored articles that mention a narrative, again, when they are due."""

    name = "revisit"
    via = "revisit"
    follows_any_domain = True  # stored search results live on any domain

    def setup(self, settings, **kwargs) -> None:
        super().setup(settings, **kwargs)
        self.schedule = parse_schedule(settings.get("NARRATIVE_ARCHIVE_REVISIT_AFTER"))
        self.idle_reason: str | None = None

    async def start(self):
        due = discovery.due_for_revisit(
            self.db, self.schedule,
            outlets=self.run_args.get("outlets", ()),
            narratives=self.run_args.get("narratives", ()),
            limit=self.limit,
        )
        self.count("due", len(due))
        if not due:
            self.idle_reason = "no article was due for a revisit"
            self.logger.info(self.idle_reason)
        for row in due:
            yield self.revisit_request(row)

    def revisit_request(self, row: dict) -> scrapy.Request:
        headers = {}
        if row.get("etag"):
            headers["If-None-Match"] = row["etag"]
        if row.get("last_modified"):
            headers["If-Modified-Since"] = row["last_modified"]
        return scrapy.Request(
            row["url"], callback=self.parse_revisit, errback=self.revisit_failed,
            headers=headers, dont_filter=True,
            meta={
                "dont_redirect": True, "handle_httpstatus_all": True,
                "answer_statuses": (*GONE_STATUSES, *BLOCKED_STATUSES),
                "article_id": row["id"], "outlet_id": row["outlet_id"],
                "article_url": row["url"],
            },
        )

    def outlet_domains(self, outlet_id: str | None) -> tuple[str, ...]:
        if outlet_id:
            with contextlib.suppress(KeyError):
                return tuple(self.config.outlet(outlet_id).domains)
        return ()

    def parse_revisit(self, response: Response):
        """One outcome for one revisit response."""
        self.count("fetched")
        meta = response.meta
        location = header(response, "Location")
        verdict = classify_status(response.status, meta["article_url"], location,
                                  self.outlet_domains(meta.get("outlet_id")))
        if verdict.outcome == "page":
            content_type = header(response, "Content-Type") or ""
            mime = content_type.split(";")[0].strip().lower()
            if mime and mime not in HTML_TYPES:
                yield self.outcome(response, "failing", f"not HTML ({mime})")
                return
            title, words, password = None, 0, False
            if hasattr(response, "xpath"):
                title = response.xpath("//title/text()").get()
                words = len(" ".join(response.xpath("//p//text()").getall()).split())
                password = bool(response.xpath(
                    "//input[translate(@type, 'PASSWORD', 'password') = 'password']"))
            verdict = classify_page(response.url, title,
                                    password and words < LOGIN_PAGE_MAX_WORDS)
        if verdict.outcome != "page":
            yield self.outcome(response, verdict.outcome, verdict.detail, verdict.new_url)
            return
        declared = header(response, "Content-Type")
        yield Page(
            url=response.url, body=response.body,
            encoding=http_content_type_encoding(declared) if declared else None,
            fetched_at=now(), outlet_id=meta.get("outlet_id"), via=self.via,
            article_id=meta["article_id"], etag=header(response, "ETag"),
            last_modified=header(response, "Last-Modified"), capture=meta.get("capture"),
        )

    def outcome(self, response: Response, outcome: str, detail: str | None,
                new_url: str | None = None) -> RevisitOutcome:
        meta = response.meta
        self.logger.info("Revisit of %s: %s (%s)", meta["article_url"], outcome, detail)
        return RevisitOutcome(
            article_id=meta["article_id"], url=meta["article_url"], outcome=outcome,
            http_status=response.status, new_url=new_url, detail=detail,
            outlet_id=meta.get("outlet_id"), etag=header(response, "ETag"),
            last_modified=header(response, "Last-Modified"), checked_at=now(),
            capture=meta.get("capture"),
        )

    def revisit_failed(self, failure: Failure):
        """Errback: robots.txt said no (blocked), or the request failed (failing)."""
        meta = failure.request.meta  # type: ignore[attr-defined]  # Scrapy sets it on errbacks
        refused = failure.value if isinstance(failure.value, Refused) else None
        if refused is not None and refused.skip == "capped":
            # The outlet's caps stopped the request before it was made: not checked, still due.
            self.count("skipped_capped")
            yield Problem(meta["article_url"], refused.reason or "not fetched: a cap",
                          meta.get("outlet_id"), kind="skipped")
            return
        if skip_kind(failure) == "robots":
            outcome, detail = "blocked", "robots.txt disallows it"
        else:
            outcome, detail = "failing", describe_failure(failure) or "request dropped"
        self.logger.info("Revisit of %s: %s (%s)", meta["article_url"], outcome, detail)
        yield RevisitOutcome(
            article_id=meta["article_id"], url=meta["article_url"], outcome=outcome,
            detail=detail, outlet_id=meta.get("outlet_id"), checked_at=now(),
        )
