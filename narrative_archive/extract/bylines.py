"""Who wrote a page: JSON-LD and meta-tag authors, else the byline trafilatura would find.

Bylines are split into names ("By Jane Doe and John Roe"), with prefixes and
job titles dropped; "Smith, John" stays one name.
"""

from __future__ import annotations

import re
from copy import copy
from typing import Any, cast

from lxml import etree
from lxml.html import HtmlElement
from trafilatura.htmlprocessing import prune_unwanted_nodes
from trafilatura.json_metadata import normalize_authors
from trafilatura.utils import trim

from narrative_archive.extract.metadata import clean_text, jsonld_names

_BYLINE_PREFIX = re.compile(r"^(?:written\s+by|by|автор:?|от)\s+", re.IGNORECASE)
_NAME_SEPARATORS = re.compile(r"\s*(?:;|\||&|\band\b)\s*", re.IGNORECASE)
_ROLE_WORDS = re.compile(
    r"\b(?:correspondent|editor|reporter|writer|staff|contributor|columnist|bureau|chief"
    r"|analyst|journalist|producer|photographer|desk|корреспондент|обозреватель)\b",
    re.IGNORECASE,
)


def structured_authors(
    node: dict[str, Any], by_id: dict[str, dict[str, Any]], meta: dict[str, str]
) -> tuple[str, ...]:
    """Authors from JSON-LD, else from meta tags (the page's byline is the caller's fallback)."""
    sources: list[list[str]] = [
        jsonld_names(node.get("author"), by_id),
        [meta[key] for key in _AUTHOR_META if key in meta],
    ]
    for names in sources:
        authors = split_authors(names)
        if authors:
            return authors
    return ()


_AUTHOR_META = ("author", "article:author", "dc.creator", "parsely-author", "sailthru.author")


# The byline trafilatura's metadata pass would find (metadata.extract_author): its
# AUTHOR_XPATHS, in order, on the page without the AUTHOR_DISCARD_XPATHS elements
# (comments, sidebars, dates, figures...). Its XPaths test a dozen attributes of every
# element in libxml2 (~4 ms a page); here one XPath collects the few attribute values
# that can matter and the same tests run in Python on those elements only.
# tests/test_bylines.py compares both on every fixture page and on tricky bylines.
_HINTS = ("Author", "author", "Byl", "byl", "BBL", "username", "zuozhe", "bianji", "xiaobian",
          "channel-name", "submitted-by", "posted-by", "journalist-name", "screenname", "writer")
_BYLINE_HINT = re.compile("|".join(_HINTS))
# Only the values with a hint come back (libxml2 tests them; a page has thousands of class
# and id values, and each one returned costs a Python string). libxml2 tests 8 needles that
# every hint contains (one contains() each, most of the search's time), not the 15 hints:
# the few extra values that come back ("style", "name") are dropped by _BYLINE_HINT, so
# the elements are the same.
_NEEDLES = ("uthor", "yl", "BBL", "name", "ed-by", "zuozhe", "bian", "writer")
assert all(any(needle in hint for needle in _NEEDLES) for hint in _HINTS)
_HINTED = " or ".join(f"contains(., '{needle}')" for needle in _NEEDLES)
_BYLINE_ATTRIBUTES = etree.XPath("|".join(
    f"//@{name}[{_HINTED}]"
    for name in ("class", "id", "itemprop", "rel", "data-testid", "data-component")) + "|//author")
_BYLINE_TAGS = (  # per AUTHOR_XPATHS expression; None: any element
    frozenset(("a", "address", "div", "link", "p", "span", "strong")),
    frozenset(("a", "div", "h3", "h4", "p", "span")),
    None,
)
_AUTHOR_NAME_CLASS = re.compile("author-?name|AuthorName|authorName")
_AUTHOR_ID = re.compile("author|zuozhe|bianji|xiaobian")
_AUTHOR_CLASS = re.compile(
    "author|channel-name|zuozhe|bianji|xiaobian|submitted-by|posted-by|journalist-name"
)
_ANY_AUTHOR_ID = re.compile("[Aa]uthor")
_ANY_AUTHOR_CLASS = re.compile("[Aa]uthor|screenname|writer|[Bb]yline")
_DISCARD_TAGS = frozenset(("a", "div", "section", "span"))
_DISCARD_ID = re.compile("^comments|comment-?list|ProductReviews")
_DISCARD_CLASS = re.compile(
    "^[Cc]omments|commentlist|comments-list|sidebar|is-hidden|quote|embedly-instagram"
    "|article-(?:share|support)|print|category|meta-date|meta-reviewer"
)
_BYLINE_DISCARD = (  # AUTHOR_DISCARD_XPATHS without re:test, for the byline's own subtree
    etree.XPath(
        ".//*[self::a or self::div or self::section or self::span]["
        "@id='comments' or @class='comments' or @class='title' or @class='date'"
        " or starts-with(@id, 'comments') or contains(@id, 'commentlist')"
        " or contains(@id, 'comment-list') or contains(@id, 'ProductReviews')"
        " or starts-with(@class, 'Comments') or starts-with(@class, 'comments') or "
        + " or ".join(
            f"contains(@class, '{needle}')"
            for needle in (
                "commentlist", "comments-list", "sidebar", "is-hidden", "quote",
                "embedly-instagram", "article-share", "article-support", "print",
                "category", "meta-date", "meta-reviewer",
            )
        )
        + " or contains(@data-component, 'Figure')]"
    ),
    etree.XPath("//time|//figure"),
)


def _byline_level(element: HtmlElement) -> int | None:
    """Which of trafilatura's AUTHOR_XPATHS (0, 1, 2) first selects ``element``, if any."""
    tag = element.tag
    if tag == "author":
        return 0
    get = element.get
    class_, id_, itemprop = get("class") or "", get("id") or "", get("itemprop") or ""
    if tag in _BYLINE_TAGS[0] and (
        get("rel") == "author"
        or id_ == "author"
        or class_ == "author"
        or itemprop == "author name"
        or get("data-testid") in ("AuthorCard", "AuthorURL")
        or _AUTHOR_NAME_CLASS.search(class_)
    ):
        return 0
    if tag in _BYLINE_TAGS[1] and (
        class_ in ("byline", "username", "byl", "BBL")
        or "author" in itemprop
        or _AUTHOR_ID.search(id_)
        or _AUTHOR_CLASS.search(class_)
    ):
        return 1
    if (
        "Byline" in (get("data-component") or "")
        or "author" in itemprop
        or _ANY_AUTHOR_ID.search(id_)
        or _ANY_AUTHOR_CLASS.search(class_)
    ):
        return 2
    return None


def _discarded(element: HtmlElement) -> bool:
    """Whether trafilatura's AUTHOR_DISCARD_XPATHS select ``element``."""
    tag = element.tag
    if tag in ("time", "figure"):
        return True
    if tag not in _DISCARD_TAGS:
        return False
    get = element.get
    class_, id_ = get("class") or "", get("id") or ""
    return (
        id_ == "comments"
        or class_ in ("comments", "title", "date")
        or bool(_DISCARD_ID.search(id_) or _DISCARD_CLASS.search(class_))
        or "Figure" in (get("data-component") or "")
    )


def dom_author(tree: HtmlElement) -> str | None:
    """The byline trafilatura's metadata pass would find (its extract_author), faster."""
    candidates: dict[HtmlElement, int] = {}
    for found in _BYLINE_ATTRIBUTES(tree):
        if isinstance(found, str):  # an attribute value
            if not _BYLINE_HINT.search(found):
                continue
            found = cast(Any, found).getparent()  # lxml's smart string knows its element
        if found not in candidates:
            level = _byline_level(found)
            if level is not None:
                candidates[found] = level
    # trafilatura takes the first expression's matches in page order, then the next one's.
    for element in sorted(candidates, key=candidates.__getitem__):
        if any(map(_discarded, element.iterancestors())) or _discarded(element):
            continue
        byline = prune_unwanted_nodes(copy(element), list(_BYLINE_DISCARD))
        content = trim(" ".join(byline.itertext()))
        if content and 2 < len(content) < 120:
            return normalize_authors(None, content)
    return None


def split_authors(names: list[str]) -> tuple[str, ...]:
    """The distinct names in bylines, without "By", job titles, URLs or separators."""
    found: dict[str, str] = {}
    for name in names:
        cleaned = clean_text(name)
        if not cleaned or "://" in cleaned or len(cleaned) > 200:
            continue
        for part in _NAME_SEPARATORS.split(_BYLINE_PREFIX.sub("", cleaned)):
            for piece in _split_commas(part):
                piece = _BYLINE_PREFIX.sub("", piece).strip(" ,.-–—")
                # Bylines carry job titles: "Jane Doe, Diplomatic Correspondent".
                if piece and len(piece) <= 100 and not _ROLE_WORDS.search(piece):
                    found.setdefault(piece.casefold(), piece)
    return tuple(found.values())


def _split_commas(part: str) -> list[str]:
    pieces = [piece.strip() for piece in part.split(",") if piece.strip()]
    # "Smith, John" is one name; "John Smith, Jane Doe" are two.
    return pieces if all(" " in piece for piece in pieces) else [", ".join(pieces)]

