"""What a revisit of a stored article found: pure functions over the response, no I/O.

A revisit is never followed through a redirect: a 3xx is an answer in itself.
It is `moved` (the article has a new address), unless it lands on the site's
home page (`gone`: a soft 404) or on a login or subscription page (`blocked`).
404/410 are `gone`, 401/403/451 `blocked`, 5xx and network errors `failing`,
304 `unchanged`. A 200 is still not the article when it is a "page not found"
page, the home page, or a login/paywall page standing in for the text; only a
real article page goes on to extraction, where an edited text becomes a new
version.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from narrative_archive.times import parse_duration
from narrative_archive.urls import trusted_canonical

DEFAULT_SCHEDULE = ("1d", "7d", "30d", "180d")  # after first seen

GONE_STATUSES = (404, 410)
BLOCKED_STATUSES = (401, 403, 451)
REDIRECT_STATUSES = (301, 302, 303, 307, 308)

# Titles of "not found" pages; kept narrow, since a headline may say "weapons not found".
NOT_FOUND_TITLE = re.compile(
    r"(page not found|404 not found|^\s*not found\b|error 404|404 error|^\s*404\b|410 gone|"
    r"page (?:you requested |you are looking for )?(?:does not exist|is no longer available|"
    r"(?:has been )?removed)|страница не найдена|ошибка 404|الصفحة غير موجودة|"
    r"página no encontrada|seite nicht gefunden|page introuvable)",
    re.IGNORECASE,
)
LOGIN_PATH = re.compile(
    r"(^|[/._-])(login|log-in|signin|sign-in|sign_in|auth|sso|account|accounts|subscribe|"
    r"subscription|paywall|register|registration|connexion|vkhod)([/._?-]|$)",
    re.IGNORECASE,
)
LOGIN_TITLE = re.compile(
    r"\b(log ?in|sign ?in|subscribe|subscription required|subscribers only|"
    r"create an account|войти|вход)\b",
    re.IGNORECASE,
)
PAYWALL_TEXT = re.compile(
    r"(subscribe to (?:continue|read)|already a subscriber|subscribers only|"
    r"sign in to (?:continue|read)|log in to (?:continue|read)|this content is for subscribers|"
    r"create a free account to continue)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Verdict:
    """What one revisit response means for the article."""

    outcome: str  # unchanged | edited | moved | gone | blocked | failing, or "page": extract it
    detail: str | None = None
    new_url: str | None = None


def parse_schedule(value: str | Sequence[str] | None) -> tuple[int, ...]:
    """Revisit moments after first seen, in seconds, from '1d,7d,30d' or a list of durations.

    Raises ValueError naming the entry that is not a duration (a unit is required).
    """
    if value is None or value == "" or value == []:
        value = DEFAULT_SCHEDULE
    items = value.split(",") if isinstance(value, str) else list(value)
    seconds = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        parsed = parse_duration(text) if not text.isdigit() else None
        if not parsed:
            raise ValueError(
                f"revisit schedule: {text!r} is not a duration (write e.g. 1d, 7d, 30d, 180d)")
        seconds.append(parsed)
    if not seconds:
        raise ValueError("revisit schedule is empty (write e.g. 1d, 7d, 30d, 180d)")
    return tuple(sorted(set(seconds)))


def is_home_page(url: str) -> bool:
    """Whether a URL is a site's root (/, /index.html, a language root like /en/)."""
    path = urlsplit(url).path.rstrip("/")
    return path in ("", "/index.html", "/index.php", "/index.htm") or bool(
        re.fullmatch(r"/[a-z]{2}(?:-[a-z]{2})?", path, re.IGNORECASE))


def is_login_url(url: str) -> bool:
    return bool(LOGIN_PATH.search(urlsplit(url).path))


def classify_status(status: int, article_url: str, location: str | None = None,
                    outlet_domains: Iterable[str] = ()) -> Verdict:
    """The outcome a status (and, for a redirect, its Location) gives, or 'page' for a 2xx."""
    if status == 304:
        return Verdict("unchanged", "not modified (304)")
    if status in REDIRECT_STATUSES:
        if not location:
            return Verdict("failing", f"HTTP {status} without a Location")
        target = urljoin(article_url, location.strip())
        if urlsplit(target).scheme.lower() not in ("http", "https"):
            return Verdict("failing", f"HTTP {status} to a non-web address")
        same_site = trusted_canonical(article_url, target, tuple(outlet_domains))
        if is_login_url(target):
            return Verdict("blocked", f"redirects to a login page (HTTP {status})", target)
        if same_site and is_home_page(target):
            return Verdict("gone", f"redirects to the home page (HTTP {status}): a soft 404",
                           target)
        where = "the same site" if same_site else "another site"
        return Verdict("moved", f"HTTP {status} to {where}", target)
    if status in GONE_STATUSES:
        return Verdict("gone", f"HTTP {status}")
    if status in BLOCKED_STATUSES:
        return Verdict("blocked", f"HTTP {status}")
    if 200 <= status < 300:
        return Verdict("page")
    return Verdict("failing", f"HTTP {status}")


def classify_page(url: str, title: str | None, has_password_field: bool) -> Verdict:
    """A 200 answer that is not the article: a 'not found' page, the home page, a login page."""
    title = " ".join((title or "").split())
    if is_home_page(url):
        return Verdict("gone", "answers with the home page: a soft 404")
    if title and NOT_FOUND_TITLE.search(title):
        return Verdict("gone", f"a 'not found' page ({title[:80]!r}): a soft 404")
    if has_password_field or (title and LOGIN_TITLE.search(title) and len(title) < 60):
        return Verdict("blocked", "a login page")
    return Verdict("page")


def html_text(body: bytes) -> str:
    """A page's markup as text, enough to look for a paywall's words."""
    return body[:500_000].decode("utf-8", "replace")


def classify_text(old_text: str | None, new_text: str | None, html_text: str = "") -> Verdict:
    """After extraction: no text is a soft 404, a text cut down to a paywall teaser (or no
    text on a page that asks to subscribe) is blocked; anything else is the article."""
    old, new = (old_text or "").strip(), (new_text or "").strip()
    paywalled = PAYWALL_TEXT.search(html_text or new)
    if not new:
        if paywalled:
            return Verdict("blocked", "a paywall: no article text, and the page asks to subscribe")
        return Verdict("gone", "no article text: a soft 404")
    if old and len(new) < 0.5 * len(old) and paywalled:
        return Verdict("blocked", "a paywall: the text is cut short and asks to subscribe")
    return Verdict("page")
