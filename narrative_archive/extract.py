"""html → Article: the main text and metadata of one news page.

Pure: no database, no network, no Scrapy. The page is decoded and parsed once;
metadata comes from JSON-LD first, then OpenGraph/article meta tags. Only when
those give no title or no publication date does trafilatura's own metadata pass
run (its date is htmldate with ``original_date`` and extensive search); a page
without a structured author otherwise gets the byline trafilatura would find
(same XPaths, see ``_dom_author``). The main text and the links inside it come
from trafilatura in its ``fast`` mode (no readability/jusText comparison: the
same F1 on the benchmark, nearly twice as fast).
"""

from __future__ import annotations

import hashlib
import html as html_entities
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from copy import copy
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import cache
from os import PathLike
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

import charset_normalizer
import trafilatura
from lxml import etree
from lxml.html import HtmlElement
from py3langid.langid import MODEL_FILE, LanguageIdentifier
from trafilatura.htmlprocessing import prune_unwanted_nodes
from trafilatura.json_metadata import normalize_authors
from trafilatura.metadata import extract_metadata
from trafilatura.settings import DEFAULT_CONFIG, Document, Extractor, set_date_params
from trafilatura.utils import load_html, trim
from trafilatura.xml import xmltotxt
from w3lib.encoding import html_to_unicode, resolve_encoding


@cache
def extractor_version() -> str:
    """Who extracted a version: "narrative-archive 0.1.0 / trafilatura 2.3.1"."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("narrative-archive")
    except PackageNotFoundError:
        ours = "unknown"
    return f"narrative-archive {ours} / trafilatura {trafilatura.__version__}"


@dataclass(frozen=True)
class Article:
    """What one page says about itself: text, metadata and outbound links."""

    url: str
    canonical_url: str
    title: str | None
    text: str
    authors: tuple[str, ...]
    published_at: str | None
    modified_at: str | None
    language: str | None
    description: str | None
    publisher: str | None
    links: tuple[str, ...]
    content_hash: str
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the article as a JSON-ready dict (lists, not tuples)."""
        result: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            result[item.name] = list(value) if isinstance(value, tuple) else value
        return result


class ExtractError(ValueError):
    """The page has no article to extract; ``str(e)`` is a short reason for a user."""


# --- public API ---------------------------------------------------------------


MAX_TEXT_CHARS = 500_000  # the defaults of NARRATIVE_ARCHIVE_MAX_TEXT_CHARS and _MAX_LINKS
MAX_LINKS = 1000


def extract_article(html: bytes | str, url: str, *, encoding: str | None = None,
                    max_text_chars: int = MAX_TEXT_CHARS, max_links: int = MAX_LINKS) -> Article:
    """Extract the article from one fetched page.

    ``html`` is the response body; bytes are decoded with ``encoding`` (the HTTP
    header's charset) first, then the page's own declaration, then detection
    (a byte-order mark beats them all, as in browsers).
    ``url`` is the URL the page was fetched from. Raises ExtractError when the
    page is empty, binary, not HTML or has no article text.
    The text is cut after ``max_text_chars`` characters and the links after
    ``max_links`` (0: no cut); a cut is a warning starting with "cut:".
    """
    warnings: list[str] = []
    if isinstance(html, bytes):
        markup = _decode(html, encoding, warnings)
    else:
        markup = html
        if "\x00" in markup[:4096] or markup.lstrip().startswith("%PDF-"):
            raise ExtractError("not HTML (binary content)")
    markup = _XML_DECLARATION.sub("", markup, count=1)
    if not markup.strip():
        raise ExtractError("empty page")
    tree = load_html(markup)
    if tree is None:
        raise ExtractError("not HTML")
    if not _has_visible_text(tree):
        raise ExtractError("empty page")
    try:
        fetched_url = canonicalize_url(url)
    except ValueError as err:
        raise ExtractError(f"invalid URL: {url!r}") from err

    meta = _meta_tags(tree)
    nodes = _jsonld_nodes(tree, warnings)
    article_node = _article_node(nodes)
    by_id = {node["@id"]: node for node in nodes if isinstance(node.get("@id"), str)}
    base = _document_base(tree, url)
    canonical_url = _canonical_url(tree, meta, base, fetched_url, warnings)
    # Links resolve against the page's real location; a saved file's location
    # is a file:// URL, so its canonical URL is the better base then.
    link_base = base if _is_web_url(base) or not _is_web_url(canonical_url) else canonical_url

    # Given no URL, trafilatura keeps every href as written (it would resolve them
    # against the host only); only the links in the body get resolved, below.
    # It works on a copy: the tree stays as parsed.
    extracted = trafilatura.bare_extraction(tree, options=_EXTRACTOR)
    body = extracted.body if isinstance(extracted, Document) else None
    if body is None:
        raise ExtractError("no article text")
    links = _body_links(body, link_base, exclude={canonical_url, fetched_url})
    if max_links and len(links) > max_links:
        warnings.append(f"cut: {max_links} of its {len(links)} links kept")
        links = links[:max_links]
    etree.strip_tags(body, "ref")
    text = xmltotxt(body, False).strip()
    if max_text_chars and len(text) > max_text_chars:
        warnings.append(f"cut: the first {max_text_chars} of its {len(text)} characters of text kept")
        text = _cut(text, max_text_chars)
    if len("".join(text.split())) < _MIN_TEXT_CHARS:
        raise ExtractError("no article text")
    if _mostly_link_text(text, tree):
        raise ExtractError("no article text (only links)")

    title = _first_text(
        article_node.get("headline"),
        article_node.get("name"),
        meta.get("og:title"),
        meta.get("twitter:title"),
    )
    published_at = _first_date(_published_sources(article_node, meta), warnings)
    # trafilatura's metadata pass (title heuristics, htmldate's extensive search,
    # byline) only for what JSON-LD and meta tags left open: it costs as much as
    # the text extraction itself.
    document = None
    if title is None or published_at is None:
        document = extract_metadata(tree, url, set_date_params(_EXTENSIVE_DATE_SEARCH))
        title = title or _first_text(document.title)
        published_at = published_at or _first_date([("htmldate", document.date)], warnings)
    modified_at = _first_date(_modified_sources(article_node, meta), warnings)
    language = _language(tree, meta, article_node, text, warnings)
    description = _first_text(
        article_node.get("description"),
        meta.get("og:description"),
        meta.get("description"),
        meta.get("twitter:description"),
        document.description if document else None,
    )
    authors = _authors(article_node, by_id, meta)
    if not authors:  # the byline on the page
        byline = document.author if document else _dom_author(tree)
        authors = _split_authors([byline] if byline else [])

    return Article(
        url=url,
        canonical_url=canonical_url,
        title=title,
        text=text,
        authors=authors,
        published_at=published_at,
        modified_at=modified_at,
        language=language,
        description=description,
        publisher=_first_text(
            *_names(article_node.get("publisher"), by_id), meta.get("og:site_name")
        ),
        links=links,
        content_hash=content_hash(text, title),
        warnings=tuple(warnings),
    )


def _cut(text: str, limit: int) -> str:
    """The text up to ``limit`` characters, ending at a line or word break when one is near."""
    head = text[:limit]
    for separator in ("\n", " "):
        end = head.rfind(separator)
        if end > limit * 0.9:
            return head[:end].rstrip()
    return head


def canonicalize_url(url: str, base: str | None = None) -> str:
    """Return one spelling of ``url``, resolved against ``base`` when relative.

    Lowercases scheme and host, drops the default port, the fragment and
    tracking parameters (utm_*, fbclid, gclid, ...), sorts the remaining query
    parameters and leaves the path as it is (an empty path becomes "/").
    Raises ValueError for a URL that cannot be parsed.
    """
    url = url.strip()
    if base:
        url = urljoin(base, url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    netloc = _normalise_netloc(scheme, parts.netloc)
    path = parts.path
    if not path and netloc and scheme in _WEB_SCHEMES:
        path = "/"
    return urlunsplit((scheme, netloc, path, _clean_query(parts.query), ""))


def content_hash(text: str, title: str | None = None) -> str:
    """sha256 hex of the text with whitespace collapsed and case folded.

    A first line that repeats ``title`` is left out: whether the headline ends
    up in the text depends on the page's markup, so syndicated copies of one
    story would otherwise differ.
    """
    first, _, rest = text.lstrip().partition("\n")
    if title and _normalise_for_hash(first) == _normalise_for_hash(title):
        text = rest
    return hashlib.sha256(_normalise_for_hash(text).encode("utf-8")).hexdigest()


def _normalise_for_hash(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def extract_files(
    paths: Iterable[str | PathLike[str]], url: str | None = None
) -> list[dict[str, Any]]:
    """Extract saved pages, one dict per file in order, for ``narrative-archive extract``.

    Each dict has "file" and either the Article fields or "error" with the
    reason. Without ``url`` a file's own file:// URL is used, so its
    canonical URL comes from the page (rel=canonical or og:url) when it has one.
    """
    results: list[dict[str, Any]] = []
    for path in paths:
        entry: dict[str, Any] = {"file": str(path)}
        try:
            data = Path(path).read_bytes()
            article = extract_article(data, url or Path(path).resolve().as_uri())
        except OSError as err:
            entry["error"] = f"cannot read file: {err.strerror or err}"
        except ExtractError as err:
            entry["error"] = str(err)
        else:
            entry.update(article.to_dict())
        results.append(entry)
    return results


# --- decoding -------------------------------------------------------------------

_BINARY_SIGNATURES = (
    b"\x89PNG",
    b"GIF87a",
    b"GIF89a",
    b"\xff\xd8\xff",  # JPEG
    b"RIFF",  # WebP, WAV, AVI
    b"%PDF-",
    b"PK\x03\x04",  # zip, docx
    b"\x1f\x8b",  # gzip that nobody decompressed
    b"OggS",
    b"ID3",
    b"wOFF",
    b"wOF2",
)
_MIN_TEXT_CHARS = 50  # non-space characters; less is a stub or leftover chrome
_MAX_LINK_TEXT_SHARE = 0.6
# Undecodable characters beyond this share of the non-ASCII ones (and this count) mean
# the declared encoding is wrong, not that a page has a few stray bytes.
_MAX_GARBLED_SHARE = 0.1
_MIN_GARBLED_CHARS = 8
_UNICODE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_INVISIBLE_TAGS = frozenset(("script", "style", "noscript", "template"))
_XML_SPACE = " \t\r\n"  # what XPath's normalize-space() strips
_EXTENSIVE_DATE_SEARCH = DEFAULT_CONFIG.getboolean("DEFAULT", "EXTENSIVE_DATE_SEARCH")
# trafilatura's options, built once (trafilatura copies them before changing any):
# fast mode, the links kept, no comments, no metadata (see extract_article), and
# "txt" so that it does not render a text we would not use.
_EXTRACTOR = Extractor(output_format="txt", fast=True, comments=False, links=True)


def _has_visible_text(tree: HtmlElement) -> bool:
    """Whether <body> has text outside script/style/noscript/template; stops at the first."""
    for body in tree.iter("body"):
        stack = [body]
        while stack:
            element = stack.pop()
            # A tail is text of the parent, which is visible (hidden ones are not entered).
            if element is not body and element.tail and element.tail.strip(_XML_SPACE):
                return True
            if not isinstance(element.tag, str) or element.tag in _INVISIBLE_TAGS:
                continue
            if element.text and element.text.strip(_XML_SPACE):
                return True
            stack.extend(element)
    return False


def _decode(data: bytes, encoding: str | None, warnings: list[str]) -> str:
    """Decode like a browser: BOM, HTTP charset, <meta charset>, then detection."""
    if not data.strip():
        raise ExtractError("empty page")
    declared = resolve_encoding(encoding) if encoding else None
    if encoding and declared is None:
        warnings.append(f"unknown encoding {encoding!r} ignored")
    head = data[:16].lstrip()
    wide = data.startswith(_UNICODE_BOMS) or (declared or "").startswith(("utf-16", "utf-32"))
    if head.startswith(_BINARY_SIGNATURES) or (not wide and b"\x00" in data[:4096]):
        raise ExtractError("not HTML (binary content)")
    header = f"text/html; charset={declared}" if declared else None
    used, markup = html_to_unicode(header, data, auto_detect_fun=_detect_encoding)
    broken = markup.count("\ufffd") - data.count("\ufffd".encode())
    if broken <= 0:
        return markup
    if not _garbled(markup, broken):
        warnings.append(f"some bytes could not be decoded as {used}")
        return markup
    # The declared encoding is wrong (a cp1251 page served as utf-8): what the bytes
    # really are decides, as long as they decode cleanly.
    detected = _detect_encoding(data)
    if detected and resolve_encoding(detected) != resolve_encoding(used):
        try:
            markup = data.decode(detected)
        except (UnicodeDecodeError, LookupError):
            pass
        else:
            warnings.append(f"declared encoding {used} is wrong: decoded as {detected}")
            return markup
    share = broken / max(1, _non_ascii(markup))
    raise ExtractError(
        f"undecodable text: {share:.0%} of its non-ASCII characters are not valid {used}"
        " and no other encoding fits"
    )


def _non_ascii(text: str) -> int:
    return len(text) - len(text.encode("ascii", "ignore"))


def _garbled(markup: str, broken: int) -> bool:
    """Whether replacement characters are a significant share of the page's non-ASCII text
    (more than a stray byte or two in an otherwise well-encoded page)."""
    return broken >= _MIN_GARBLED_CHARS and broken > _MAX_GARBLED_SHARE * _non_ascii(markup)


def _detect_encoding(data: bytes) -> str | None:
    """Guess the encoding of a page that declares none: UTF-8 if valid, else charset-normalizer."""
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as err:
        # A body cut off mid-character (size limits) is still UTF-8.
        if err.start >= len(data) - 3 and err.reason == "unexpected end of data":
            return "utf-8"
    best = charset_normalizer.from_bytes(data).best()
    return best.encoding if best else None


# --- URLs -----------------------------------------------------------------------

_WEB_SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": "80", "https": "443", "ftp": "21"}
_TRACKING_PARAMS = frozenset(
    """
    fbclid gclid gclsrc dclid gbraid wbraid msclkid yclid ysclid twclid ttclid igshid li_fat_id
    mc_cid mc_eid mkt_tok ocid cmpid cmp ito ref ref_src ref_url refsrc smid smtyp taid
    _ga _gl _hsenc _hsmi hsctatracking oly_anon_id oly_enc_id vero_id vero_conv
    wt.mc_id wt_mc s_cid ncid sr_share spm __twitter_impression
    guccounter guce_referrer guce_referrer_sig
    ns_mchannel ns_source ns_campaign ns_linkname ns_fee
    pk_campaign pk_kwd pk_source pk_medium pk_content mtm_campaign mtm_source mtm_medium
    """.split()
)
_TRACKING_PREFIXES = ("utm_", "at_")
_SHARE_LINK = re.compile(
    r"^https?://(?:www\.)?(?:facebook\.com/sharer|(?:twitter|x)\.com/(?:intent|share)"
    r"|linkedin\.com/share|reddit\.com/submit|pinterest\.com/pin/create|vk\.com/share"
    r"|t\.me/share|wa\.me/|api\.whatsapp\.com/send|connect\.ok\.ru/offer)",
    re.IGNORECASE,
)


def _normalise_netloc(scheme: str, netloc: str) -> str:
    userinfo, at, hostport = netloc.rpartition("@")
    host, port = hostport, ""
    if hostport.startswith("["):  # IPv6 literal
        end = hostport.find("]") + 1
        host, rest = hostport[:end], hostport[end:]
        port = rest[1:] if rest.startswith(":") else ""
    elif ":" in hostport:
        host, _, port = hostport.rpartition(":")
    host = host.lower()
    if host.endswith(".") and not host.endswith(".."):
        host = host[:-1]
    if port == _DEFAULT_PORTS.get(scheme):
        port = ""
    hostport = f"{host}:{port}" if port else host
    return f"{userinfo}{at}{hostport}"


def _clean_query(query: str) -> str:
    kept = [
        part
        for part in query.split("&")
        if part and not _is_tracking_param(unquote_plus(part.partition("=")[0]).lower())
    ]
    return "&".join(sorted(kept))


def _is_tracking_param(key: str) -> bool:
    return key in _TRACKING_PARAMS or key.startswith(_TRACKING_PREFIXES)


def _is_web_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in _WEB_SCHEMES and bool(parts.netloc)


def _document_base(tree: HtmlElement, url: str) -> str:
    """The URL relative links resolve against: <base href> if present, else the page URL."""
    for element in tree.iter("base"):
        href = (element.get("href") or "").strip()
        if href:
            try:
                return urljoin(url, href)
            except ValueError:
                return url
    return url


def _canonical_url(
    tree: HtmlElement, meta: dict[str, str], base: str, fetched_url: str, warnings: list[str]
) -> str:
    candidates = (("rel=canonical", _link_href(tree, "canonical")), ("og:url", meta.get("og:url")))
    for source, href in candidates:
        if not href:
            continue
        try:
            candidate = canonicalize_url(href, base)
        except ValueError:
            candidate = ""
        if not _is_web_url(candidate):
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


def _mostly_link_text(text: str, tree: HtmlElement) -> bool:
    """Whether most of the text is lines that are whole link texts: a menu or a list of headlines.

    Checked against the page, not trafilatura's output: its fallback
    extraction keeps the text of links but not the links.
    """
    anchors = {
        " ".join((a.text_content() if len(a) else a.text or "").split()).casefold()
        for a in tree.iter("a")
    }
    lines = [" ".join(line.split()).casefold() for line in text.splitlines()]
    total = sum(len(line) for line in lines)
    linked = sum(len(line) for line in lines if line in anchors)
    return not total or linked / total > _MAX_LINK_TEXT_SHARE


def _body_links(body: etree._Element, base: str, exclude: set[str]) -> tuple[str, ...]:
    """The canonical http(s) URLs the extracted text links to, hrefs resolved against ``base``."""
    links: dict[str, None] = {}
    for ref in body.iter("ref"):
        target = (ref.get("target") or "").strip()
        if not target:
            continue
        try:
            target = urljoin(base, target)
            if _SHARE_LINK.match(target):
                continue
            link = canonicalize_url(target)
        except ValueError:
            continue
        if _is_web_url(link) and link not in exclude:
            links[link] = None
    return tuple(links)


# --- metadata sources -----------------------------------------------------------

_ARTICLE_TYPES = frozenset(
    """
    article newsarticle reportagenews analysisnewsarticle opinionnewsarticle
    backgroundnewsarticle reviewnewsarticle askpublicnewsarticle satiricalarticle
    advertisercontentarticle blogposting liveblogposting socialmediaposting
    report scholarlyarticle techarticle
    """.split()
)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


def _meta_tags(tree: HtmlElement) -> dict[str, str]:
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


def _jsonld_nodes(tree: HtmlElement, warnings: list[str]) -> list[dict[str, Any]]:
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


def _article_node(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    """The first Article-like JSON-LD object ({} when there is none)."""
    return next((node for node in nodes if _types(node) & _ARTICLE_TYPES), {})


def _names(value: Any, by_id: dict[str, dict[str, Any]]) -> list[str]:
    """Names in a JSON-LD person/organisation value: a string, an object, a @id reference or a list."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [name for item in value for name in _names(item, by_id)]
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


def _clean_text(value: Any) -> str | None:
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str)), None)
    if not isinstance(value, str):
        return None
    cleaned = " ".join(html_entities.unescape(value).split())
    return cleaned or None


def _first_text(*values: Any) -> str | None:
    for value in values:
        cleaned = _clean_text(value)
        if cleaned:
            return cleaned
    return None


# --- authors --------------------------------------------------------------------

_BYLINE_PREFIX = re.compile(r"^(?:written\s+by|by|автор:?|от)\s+", re.IGNORECASE)
_NAME_SEPARATORS = re.compile(r"\s*(?:;|\||&|\band\b)\s*", re.IGNORECASE)
_ROLE_WORDS = re.compile(
    r"\b(?:correspondent|editor|reporter|writer|staff|contributor|columnist|bureau|chief"
    r"|analyst|journalist|producer|photographer|desk|корреспондент|обозреватель)\b",
    re.IGNORECASE,
)


def _authors(
    node: dict[str, Any], by_id: dict[str, dict[str, Any]], meta: dict[str, str]
) -> tuple[str, ...]:
    """Authors from JSON-LD, else from meta tags (the page's byline is the caller's fallback)."""
    sources: list[list[str]] = [
        _names(node.get("author"), by_id),
        [meta[key] for key in _AUTHOR_META if key in meta],
    ]
    for names in sources:
        authors = _split_authors(names)
        if authors:
            return authors
    return ()


_AUTHOR_META = ("author", "article:author", "dc.creator", "parsely-author", "sailthru.author")


# The byline trafilatura's metadata pass would find (metadata.extract_author): its
# AUTHOR_XPATHS, in order, on the page without the AUTHOR_DISCARD_XPATHS elements
# (comments, sidebars, dates, figures...). Its XPaths test a dozen attributes of every
# element in libxml2 (~4 ms a page); here one XPath collects the few attribute values
# that can matter and the same tests run in Python on those elements only.
# tests/test_extract.py compares both on every fixture page and on tricky bylines.
_BYLINE_ATTRIBUTES = etree.XPath(
    "//@class|//@id|//@itemprop|//@rel|//@data-testid|//@data-component|//author"
)
_BYLINE_HINT = re.compile(
    r"[Aa]uthor|[Bb]yl|BBL|username|zuozhe|bianji|xiaobian|channel-name|submitted-by"
    r"|posted-by|journalist-name|screenname|writer"
)
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


def _dom_author(tree: HtmlElement) -> str | None:
    """The byline trafilatura's metadata pass would find (its extract_author), faster."""
    candidates: dict[HtmlElement, int] = {}
    for found in _BYLINE_ATTRIBUTES(tree):
        if isinstance(found, str):  # an attribute value
            if not _BYLINE_HINT.search(found):
                continue
            found = found.getparent()
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


def _split_authors(names: list[str]) -> tuple[str, ...]:
    found: dict[str, str] = {}
    for name in names:
        cleaned = _clean_text(name)
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


# --- dates ----------------------------------------------------------------------

_PUBLISHED_META = (
    "article:published_time",
    "og:article:published_time",
    "article:published",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dcterms.issued",
    "dcterms.created",
    "dc.date",
    "date",
)
_MODIFIED_META = (
    "article:modified_time",
    "og:article:modified_time",
    "og:updated_time",
    "datemodified",
    "dcterms.modified",
    "dc.date.modified",
    "last-modified",
)
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$|^\d{8}$")
_EPOCH = re.compile(r"^\d{10}(?:\d{3})?$")
_EXTRA_FORMATS = (
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%B %d, %Y %I:%M %p",
    "%B %d, %Y",
    "%b %d, %Y",
    "%d %B %Y",
)
_EARLIEST = date(1990, 1, 1)
_FUTURE_SLACK = timedelta(days=2)


def _published_sources(node: dict[str, Any], meta: dict[str, str]) -> Iterator[tuple[str, Any]]:
    yield "JSON-LD datePublished", node.get("datePublished")
    yield "JSON-LD dateCreated", node.get("dateCreated")
    for key in _PUBLISHED_META:
        yield f"meta {key}", meta.get(key)


def _modified_sources(node: dict[str, Any], meta: dict[str, str]) -> Iterator[tuple[str, Any]]:
    yield "JSON-LD dateModified", node.get("dateModified")
    for key in _MODIFIED_META:
        yield f"meta {key}", meta.get(key)


def _first_date(sources: Iterable[tuple[str, Any]], warnings: list[str]) -> str | None:
    """The first source's date as UTC ISO 8601; bad ones become warnings and are skipped."""
    for source, value in sources:
        raw = _clean_text(value) if not isinstance(value, (int, float)) else str(value)
        if not raw:
            continue
        try:
            parsed = _parse_date(raw)
        except (ValueError, TypeError, OverflowError):
            warnings.append(f"unparsable date in {source}: {raw!r}")
            continue
        formatted = plausible_date(parsed)
        if formatted is None:
            warnings.append(f"implausible date in {source}: {raw!r}")
            continue
        return formatted
    return None


def _parse_date(raw: str) -> date | datetime:
    """Parse ISO 8601, RFC 2822, epoch seconds and a few common layouts."""
    if _DATE_ONLY.match(raw):
        return date.fromisoformat(raw)
    if _EPOCH.match(raw):
        seconds = int(raw) / (1000 if len(raw) == 13 else 1)
        return datetime.fromtimestamp(seconds, UTC)
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(raw)
    except (ValueError, TypeError, IndexError):
        pass
    for layout in _EXTRA_FORMATS:
        try:
            parsed = datetime.strptime(raw, layout)
        except ValueError:
            continue
        return parsed if "%H" in layout or "%I" in layout else parsed.date()
    raise ValueError(raw)


def plausible_date(parsed: date | datetime) -> str | None:
    """Format as "YYYY-MM-DDTHH:MM:SSZ" or "YYYY-MM-DD"; None before 1990 or > 2 days ahead.

    The one test of a publication date, whatever its source: the page, a feed,
    a sitemap or a search result.
    """
    if parsed.year < _EARLIEST.year:
        return None
    now = datetime.now(UTC)
    if isinstance(parsed, datetime):
        # A time without a zone is taken as UTC.
        utc = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
        if utc.date() < _EARLIEST or utc > now + _FUTURE_SLACK:
            return None
        return utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    if parsed > (now + _FUTURE_SLACK).date():
        return None
    return parsed.isoformat()


# --- language -------------------------------------------------------------------

_LANGUAGE_ALIASES = {
    "iw": "he",
    "in": "id",
    "ji": "yi",
    "jw": "jv",
    "eng": "en",
    "rus": "ru",
    "ara": "ar",
    "fas": "fa",
    "per": "fa",
    "pus": "ps",
    "urd": "ur",
    "fra": "fr",
    "fre": "fr",
    "deu": "de",
    "ger": "de",
    "spa": "es",
    "zho": "zh",
    "chi": "zh",
    "tur": "tr",
    "ukr": "uk",
    "uzb": "uz",
    "tgk": "tg",
}
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def _language(
    tree: HtmlElement,
    meta: dict[str, str],
    node: dict[str, Any],
    text: str,
    warnings: list[str],
) -> str | None:
    """The declared ISO 639-1 language, else the one py3langid detects in the text."""
    root = tree.getroottree().getroot()
    declared_values = (
        root.get("lang"),
        root.get(_XML_LANG),
        meta.get("og:locale"),
        node.get("inLanguage"),
        meta.get("content-language"),
        meta.get("language"),
        meta.get("dc.language"),
    )
    declared = next(filter(None, map(_normalise_language, declared_values)), None)
    if not declared:
        return _detect_language(text[:_DETECT_SAMPLE])[0]
    # A contradiction is checked on a short sample: a fifth of the cost, and a
    # thousand characters leave py3langid in no doubt when the language is wrong.
    if len(text) > 300:
        detected, confidence = _detect_language(text[:_CHECK_SAMPLE])
        if detected and detected != declared and confidence > 0.99:
            warnings.append(f"declared language {declared!r} but the text looks like {detected!r}")
    return declared


def _normalise_language(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("alternateName") or value.get("name")
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str)), None)
    if not isinstance(value, str):
        return None
    code = re.split(r"[-_ ,;]", value.strip().lower(), maxsplit=1)[0]
    code = _LANGUAGE_ALIASES.get(code, code)
    return code if re.fullmatch(r"[a-z]{2}", code) else None


@cache
def _language_identifier() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


_DETECT_SAMPLE = 5000  # characters when the page declares no language
_CHECK_SAMPLE = 1000  # characters to check a declared language against


def _detect_language(sample: str) -> tuple[str | None, float]:
    if not any(char.isalpha() for char in sample):
        return None, 0.0
    language, confidence = _language_identifier().classify(sample)
    return str(language), float(confidence)
