"""Hostile pages are bounded before they are parsed (extract/bounds.py): links, tags,
nesting, JSON-LD and the markup itself are capped, each cut a warning, and an ordinary
page is left exactly as it is. Memory of the crawl's process tree on such pages is
measured by benchmarks/hostile_memory.py, not here."""

from __future__ import annotations

import json

import pytest

from narrative_archive.extract import bounds
from narrative_archive.extract.article import extract_article
from tests.test_extract import page

TEXT = ("Officials in Kabul said on Tuesday that the new border agreement would reopen trade"
        " routes closed since the winter, and that prices would fall before the harvest. ")


def article(body: str = "", head: str = "", before: str = "", after: str = "") -> str:
    return (f"<html><head><title>Border deal</title>{head}</head><body>{before}<article>"
            f"<h1>Border deal</h1><p>{TEXT * 8}</p>{body}</article>{after}</body></html>")


def cuts(warnings) -> list[str]:
    return [warning for warning in warnings if warning.startswith("cut: ")]


def test_an_ordinary_page_is_left_as_it_is():
    for name in ("jsonld_graph.html", "russian_cp1251.html", "byline_only.html"):
        markup = page(name).decode("utf-8", "replace")
        warnings: list[str] = []
        assert bounds.bound_markup(markup, warnings) is markup and warnings == []


@pytest.fixture
def always(monkeypatch):
    """Bounds applied to every page, however small (the pass is what is tested)."""
    monkeypatch.setattr(bounds, "SMALL_MARKUP", 0)


def test_scripts_styles_and_comments_go_json_ld_stays(always):
    warnings: list[str] = []
    markup = article(head="<script>var a = '</div>';</script><style>p {}</style><!-- x -->"
                          '<script type="application/ld+json">{"@type": "NewsArticle"}</script>'
                          "<SCRIPT>upper</SCRIPT>")
    kept = bounds.bound_markup(markup, warnings)
    assert "var a" not in kept and "p {}" not in kept and "<!--" not in kept
    assert "upper" not in kept and '{"@type": "NewsArticle"}' in kept and warnings == []


def test_an_unclosed_script_runs_to_the_end_as_in_a_browser():
    hostile = "<p>kept</p>" + "<script>" * 200_000 + "<p>lost</p>"  # linear, not quadratic
    assert bounds.bound_markup(hostile, []) == "<p>kept</p>"


@pytest.mark.parametrize("name, markup, cut", [
    ("links", article(body="<p>" + "".join(f"<a href='/t/{n}'>t{n}</a> "
                                           for n in range(20_000)) + "</p>"),
     f"links past the first {bounds.MAX_LINK_TAGS:,} unlinked"),
    ("elements", article(body="<span></span>" * 60_000), "tags past the first 30,000 dropped"),
    ("nesting", article(before="<div>" * 50_000, after="</div>" * 50_000),
     "containers nested deeper than 200 flattened"),
    ("attributes", article(body="<div " + " ".join(f"data-a{a}='{a}'" for a in range(900))
                           + "></div>"),
     "tags over 4,000 characters lost their attributes"),
    ("jsonld", article(head="<script type='application/ld+json'>" + json.dumps(
        [{"@type": "Person", "name": f"n{n}"} for n in range(40_000)]) + "</script>"),
     "JSON-LD block(s) over 1,000,000 characters ignored"),
    ("markup", article(body=f"<p>{TEXT * 20_000}</p>"),
     "markup after its first 1,000,000 characters ignored"),
])
def test_each_hostile_page_is_cut_and_still_extracted(always, name, markup, cut):
    result = extract_article(markup.encode(), f"https://border.example/{name}")
    assert "Officials in Kabul said on Tuesday" in result.text
    assert any(cut in warning for warning in cuts(result.warnings)), result.warnings
    assert len(result.links) <= 1000


def test_deep_nesting_keeps_the_article_libxml2_would_lose(always):
    markup = article(before="<div>" * 1000, after="</div>" * 1000)
    result = extract_article(markup.encode(), "https://border.example/deep")
    assert "Officials in Kabul said on Tuesday" in result.text


# --- before the crawl holds it: the body trimmed on arrival ---------------------------


def test_trim_body_drops_noise_then_cuts():
    body = (b"<html><head><script>" + b"x" * 5000 + b"</script><style>" + b"y" * 5000
            + b"</style><script type='application/ld+json'>{}</script></head><body><p>"
            + b"word " * 2000 + b"</p></body></html>")
    assert bounds.trim_body(body, len(body)) is None  # within the limit: untouched
    trimmed = bounds.trim_body(body, 12_000)
    assert b"xxxx" not in trimmed and b"yyyy" not in trimmed and b"ld+json" in trimmed
    assert trimmed.endswith(b"</html>")
    cut = bounds.trim_body(body, 3000)
    assert len(cut) <= 3000 and cut.startswith(b"<html><head><script type='application/ld")
    assert bounds.trim_body("<p>é</p>".encode("utf-16") * 1000, 100) is None  # not ASCII-based


def test_the_trim_middleware_keeps_small_pages_and_feeds():
    from scrapy.http import HtmlResponse, Request, XmlResponse
    from scrapy.utils.test import get_crawler

    from narrative_archive.crawl.middlewares import PageTrimMiddleware

    crawler = get_crawler(settings_dict={"NARRATIVE_ARCHIVE_MAX_PAGE_BYTES": 1000})
    crawler.stats = type("Stats", (), {"inc_value": lambda *a, **k: None})()
    middleware = PageTrimMiddleware.from_crawler(crawler)
    request = Request("https://border.example/a")
    big = ("<html><head><script>" + "x" * 3000 + "</script></head><body><p>"
           + TEXT * 3 + "</p></body></html>").encode()
    html = HtmlResponse(request.url, body=big, headers={"Content-Type": "text/html"})
    trimmed = middleware.process_response(request, html)
    assert trimmed is not html and b"xxx" not in trimmed.body and b"Kabul" in trimmed.body
    feed = XmlResponse(request.url, body=big, headers={"Content-Type": "application/rss+xml"})
    assert middleware.process_response(request, feed) is feed
    small = HtmlResponse(request.url, body=b"<p>small</p>", headers={"Content-Type": "text/html"})
    assert middleware.process_response(request, small) is small
