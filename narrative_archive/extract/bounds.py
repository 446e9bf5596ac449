"""Hostile markup bounded before it is parsed: the memory and time of one page capped.

lxml builds an element per tag and trafilatura copies the tree, so a page of 100,000
links took 600 MiB and 40 s to extract, one of 500,000 empty spans 130 MiB and 40 s,
and a 9 MiB JSON-LD block more than two minutes. The caps after extraction (text and
links kept, article.py) come too late for that. Here the decoded markup of a page that
is large or has many tags is trimmed first, in one pass of regular expressions:

- scripts (but JSON-LD), styles and comments are dropped: the extraction throws them
  away anyway; a JSON-LD block over MAX_JSONLD_CHARS is dropped too;
- the markup is cut after MAX_MARKUP_CHARS characters (the text kept is cut at
  500,000 characters anyway);
- links past the first MAX_LINK_TAGS lose their <a> tags (their words stay), tags past
  the first MAX_ELEMENTS are dropped (their words stay), a tag over MAX_TAG_CHARS loses
  its attributes, and containers nested deeper than MAX_DEPTH are flattened (libxml2 stops parsing at a depth of 256, losing the
  rest of the page).

Every cut is a warning starting with "cut:", like the caps after extraction. An
ordinary page (under SMALL_MARKUP characters and MAX_ELEMENTS / 2 tags) is returned
as it is, untouched and unscanned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SMALL_MARKUP = 1_000_000  # characters; below this and with few tags: no pass at all
MAX_MARKUP_CHARS = 1_000_000
MAX_ELEMENTS = 30_000  # tags kept; a heavy real news page has 3,000-15,000
MAX_LINK_TAGS = 5_000  # <a> tags kept (1,000 links are kept after extraction)
MAX_DEPTH = 200  # nested containers kept (libxml2 gives up at 256)
MAX_JSONLD_CHARS = 1_000_000  # one JSON-LD block; real ones are a few KB
MAX_TAG_CHARS = 4_000  # one start tag with its attributes; longer ones lose their attributes

# Where a script, a style or a comment starts, and what ends each, for decoded markup (str)
# and for a body still in bytes of an ASCII-compatible encoding. Searched from where the
# last one ended, so the pass stays linear whatever the page holds; an element left open
# runs to the end of the page, as in a browser.
_NOISE_START = re.compile(r"<(script|style)\b([^<>]*)>|<!--", re.IGNORECASE)
_NOISE_END = {"script": re.compile(r"</script\s*>", re.IGNORECASE),
              "style": re.compile(r"</style\s*>", re.IGNORECASE),
              "comment": re.compile(r"-->")}
_JSONLD = re.compile(r"""type\s*=\s*["']?application/ld\+json""", re.IGNORECASE)
_BYTES_NOISE_START = re.compile(_NOISE_START.pattern.encode(), re.IGNORECASE)
_BYTES_NOISE_END = {key: re.compile(value.pattern.encode(), re.IGNORECASE)
                    for key, value in _NOISE_END.items()}
_BYTES_JSONLD = re.compile(_JSONLD.pattern.encode(), re.IGNORECASE)
_WIDE = (b"\xff\xfe", b"\xfe\xff")  # UTF-16/32 byte-order marks: not ASCII-compatible
# A tag; its attributes end at the next < or >, so a tag never scans past the next one.
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9:-]*)\b[^<>]*>")
_CONTAINERS = frozenset({"div", "span", "section", "article", "main", "aside", "table",
                         "tbody", "tr", "td", "ul", "ol", "blockquote", "font", "center",
                         "header", "footer", "nav", "form", "figure"})


@dataclass
class _Counts:
    tags: int = 0
    links: int = 0
    dropped_tags: int = 0
    dropped_links: int = 0
    bare: int = 0  # start tags stripped of their attributes
    depth: int = 0
    flattened: int = 0  # containers opened past MAX_DEPTH, whose end tags go too
    flattened_total: int = 0


def needs_bounds(markup: str) -> bool:
    """Whether a page is big or tag-heavy enough to be trimmed (a cheap test)."""
    return len(markup) > SMALL_MARKUP or markup.count("<") > MAX_ELEMENTS // 2


def bound_markup(markup: str, warnings: list[str]) -> str:
    """The markup trimmed to the caps above (unchanged when small); cuts are warnings."""
    if not needs_bounds(markup):
        return markup
    size = len(markup)
    markup, dropped_jsonld = _without_noise(markup)
    if dropped_jsonld:
        warnings.append(f"cut: {dropped_jsonld} JSON-LD block(s) over {MAX_JSONLD_CHARS:,}"
                        " characters ignored")
    if len(markup) > MAX_MARKUP_CHARS:
        warnings.append(f"cut: markup after its first {MAX_MARKUP_CHARS:,} characters ignored"
                        f" ({size:,} characters, {len(markup):,} without scripts and styles)")
        markup = markup[:MAX_MARKUP_CHARS]
        markup = markup[:markup.rfind("<")] if "<" in markup[-1000:] else markup
    counts = _Counts()
    markup = _TAG.sub(lambda match: _keep(match, counts), markup)
    if counts.dropped_links:
        warnings.append(f"cut: {counts.dropped_links} links past the first {MAX_LINK_TAGS:,}"
                        " unlinked before parsing")
    if counts.dropped_tags:
        warnings.append(f"cut: {counts.dropped_tags} tags past the first {MAX_ELEMENTS:,}"
                        " dropped before parsing (their text kept)")
    if counts.bare:
        warnings.append(f"cut: {counts.bare} tags over {MAX_TAG_CHARS:,} characters lost"
                        " their attributes")
    if counts.flattened_total:
        warnings.append(f"cut: {counts.flattened_total} containers nested deeper than"
                        f" {MAX_DEPTH} flattened")
    return markup


def _without_noise(markup: str) -> tuple[str, int]:
    """The markup without scripts (JSON-LD up to MAX_JSONLD_CHARS kept), styles and
    comments; and how many JSON-LD blocks were too big to keep."""
    parts, dropped = _noise_pass(markup, _NOISE_START, _NOISE_END, _JSONLD)
    return "".join(parts), dropped


def _noise_pass(markup, start_pattern, end_patterns, jsonld) -> tuple[list, int]:
    kept = []
    position = dropped_jsonld = 0
    while (start := start_pattern.search(markup, position)) is not None:
        kept.append(markup[position:start.start()])
        name = start.group(1)
        kind = (name.decode() if isinstance(name, bytes) else name or "comment").lower()
        end = end_patterns[kind].search(markup, start.end())
        if end is None:  # open to the end of the page
            return kept, dropped_jsonld
        if kind == "script" and jsonld.search(start.group(2) or markup[:0]):
            if end.start() - start.end() <= MAX_JSONLD_CHARS:
                kept.append(markup[start.start():end.end()])
            else:
                dropped_jsonld += 1
        position = end.end()
    kept.append(markup[position:])
    return kept, dropped_jsonld


def trim_body(body: bytes, max_bytes: int) -> bytes | None:
    """A page body over `max_bytes`, still undecoded, made smaller the same way as its
    markup would be (scripts but JSON-LD, styles and comments dropped, then cut at
    `max_bytes`), for the crawl process not to hold and ship whole hostile pages; None
    when it is within `max_bytes` or not in an ASCII-compatible encoding (UTF-16/32)."""
    if not max_bytes or len(body) <= max_bytes or body.startswith(_WIDE) \
            or b"\x00" in body[:4096]:
        return None
    parts, _ = _noise_pass(body, _BYTES_NOISE_START, _BYTES_NOISE_END, _BYTES_JSONLD)
    trimmed = b"".join(parts)
    if len(trimmed) > max_bytes:
        trimmed = trimmed[:max_bytes]
        tag = trimmed.rfind(b"<", max(0, max_bytes - 1000))
        trimmed = trimmed[:tag] if tag > 0 else trimmed
    return trimmed


def _keep(match: re.Match, counts: _Counts) -> str:
    """One tag: kept as it is, or dropped ('') past a cap."""
    closing, name = match.group(1) == "/", match.group(2).lower()
    if name in _CONTAINERS:
        if closing:
            if counts.flattened:
                counts.flattened -= 1
                return ""
            counts.depth = max(0, counts.depth - 1)
        elif counts.depth >= MAX_DEPTH:
            counts.flattened += 1
            counts.flattened_total += 1
            return ""
        else:
            counts.depth += 1
    if name == "a" and not closing:
        counts.links += 1
        if counts.links > MAX_LINK_TAGS:
            counts.dropped_links += 1
            return ""
    if closing:
        return match.group(0) if counts.tags <= MAX_ELEMENTS else ""
    counts.tags += 1
    if counts.tags > MAX_ELEMENTS:
        counts.dropped_tags += 1
        return ""
    if match.end() - match.start() > MAX_TAG_CHARS:
        counts.bare += 1
        return f"<{match.group(2)}>"
    return match.group(0)
