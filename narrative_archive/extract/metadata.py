"""What a page says about itself in markup: meta tags, JSON-LD objects and its own URLs.

JSON-LD is read leniently (HTML comments, CDATA, trailing commas are common
publisher mistakes), with @graph and mainEntity flattened and @id references
resolved by the callers through ``by_id``.
"""

from __future__ import annotations

import html as html_entities
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml.html import HtmlElement

from narrative_archive.urls import canonicalize_url, is_web_url

_ARTICLE_TYPES = frozenset(
    """
    article newsarticle reportagenews analysisnewsarticle opinionnewsarticle
    backgroundnewsarticle reviewnewsarticle askpublicnewsarticle satiricalarticle
    advertisercontentarticle blogposting liveblogposting socialmediaposting
    report scholarlyarticle techarticle
    """.split()
)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


def meta_tags(tree: HtmlElement) -> dict[str, str]:
    """Map of lowercased meta property/name/itemprop/http-equiv to content; first one wins."""
    found: dict[str, str] = {}
    for element in tree.iter("meta"):
        key = (
            element.get("property")
            or element.get("name")
            or element.get("itemprop")
            or element.get("http-equiv")
        )
        content = (element.get("content") or "").strip()
        if key and content:
            found.setdefault(key.strip().lower(), content)
    return found


def jsonld_nodes(tree: HtmlElement, warnings: list[str]) -> list[dict[str, Any]]:
    """Every typed JSON-LD object on the page, with @graph and lists flattened."""
    nodes: list[dict[str, Any]] = []
    for script in tree.iter("script"):
        if "ld+json" not in (script.get("type") or "").lower() or not (script.text or "").strip():
            continue
        data = _load_json(script.text or "")
        if data is None:
            warnings.append("invalid JSON-LD block skipped")
            continue
        nodes.extend(_flatten_jsonld(data))
    return nodes


def _load_json(raw: str) -> Any:
    try:
        return json.loads(raw, strict=False)
    except ValueError:
        pass
    # Common publisher mistakes: HTML comments or CDATA around the JSON, a
    # trailing semicolon, trailing commas.
    cleaned = raw.strip()
    for junk in ("<!--", "-->", "//<![CDATA[", "//]]>", "<![CDATA[", "]]>"):
        cleaned = cleaned.replace(junk, "")
    cleaned = _TRAILING_COMMA.sub(r"\1", cleaned.strip().rstrip(";"))
    try:
        return json.loads(cleaned, strict=False)
    except ValueError:
        return None


def _flatten_jsonld(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _flatten_jsonld(item)
    elif isinstance(data, dict):
        if "@type" in data:
            yield data
        for key in ("@graph", "mainEntity"):
            if isinstance(data.get(key), (list, dict)):
                yield from _flatten_jsonld(data[key])


def _types(node: dict[str, Any]) -> set[str]:
    value = node.get("@type")
    values = value if isinstance(value, list) else [value]
    return {re.split(r"[/#:]", v)[-1].lower() for v in values if isinstance(v, str)}


def jsonld_article(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    """The first Article-like JSON-LD object ({} when there is none)."""
    return next((node for node in nodes if _types(node) & _ARTICLE_TYPES), {})


def jsonld_names(value: Any, by_id: dict[str, dict[str, Any]]) -> list[str]:
    """Names in a JSON-LD person/organisation value: a string, an object, a @id reference or a list."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [name for item in value for name in jsonld_names(item, by_id)]
    if not isinstance(value, dict):
        return []
    if "name" not in value and isinstance(value.get("@id"), str):
        value = {**by_id.get(value["@id"], {}), **value}
    name = value.get("name")
    if isinstance(name, list):
        name = next((n for n in name if isinstance(n, str)), None)
    if not isinstance(name, str):
        given, family = value.get("givenName"), value.get("familyName")
        name = " ".join(n for n in (given, family) if isinstance(n, str))
    return [name] if name else []


def clean_text(value: Any) -> str | None:
    """A metadata value as one line of text: entities unescaped, whitespace collapsed (None if empty)."""
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str)), None)
    if not isinstance(value, str):
        return None
    cleaned = " ".join(html_entities.unescape(value).split())
    return cleaned or None


def first_text(*values: Any) -> str | None:
    """The first of ``values`` that ``clean_text`` leaves non-empty."""
    for value in values:
        cleaned = clean_text(value)
        if cleaned:
            return cleaned
    return None


# --- the page's own URLs -----------------------------------------------------------


def document_base(tree: HtmlElement, url: str) -> str:
    """The URL relative links resolve against: <base href> if present, else the page URL."""
    for element in tree.iter("base"):
        href = (element.get("href") or "").strip()
        if href:
            try:
                return urljoin(url, href)
            except ValueError:
                return url
    return url


def page_canonical_url(
    tree: HtmlElement, meta: dict[str, str], base: str, fetched_url: str, warnings: list[str]
) -> str:
    """The canonical URL the page names (rel=canonical, then og:url), else ``fetched_url``.

    A claim that is not an absolute http(s) URL, or that points a deep page at
    the home page, is ignored with a warning.
    """
    candidates = (("rel=canonical", _link_href(tree, "canonical")), ("og:url", meta.get("og:url")))
    for source, href in candidates:
        if not href:
            continue
        try:
            candidate = canonicalize_url(href, base)
        except ValueError:
            candidate = ""
        if not is_web_url(candidate):
            warnings.append(f"ignored {source} {href!r}: not an absolute http(s) URL")
        elif urlsplit(candidate).path == "/" and urlsplit(fetched_url).path not in ("", "/"):
            # A CMS that points every page at the home page would merge all
            # its articles into one.
            warnings.append(f"ignored {source} {href!r}: it points to the home page")
        else:
            return candidate
    return fetched_url


def _link_href(tree: HtmlElement, rel: str) -> str | None:
    for element in tree.iter("link"):
        if rel in (element.get("rel") or "").lower().split() and element.get("href"):
            return element.get("href", "").strip()
    return None

