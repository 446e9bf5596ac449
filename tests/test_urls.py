"""URLs: one spelling of each, and the canonical URL a page names for itself."""

import pytest

from narrative_archive.extract.article import extract_article
from narrative_archive.urls import canonicalize_url
from tests.test_extract import page, with_meta


def test_relative_canonical_with_tracking_parameters():
    url = (
        "https://WWW.Meridian-Times.example:443/world/asia/russia-taliban-relations.html"
        "?utm_source=twitter&fbclid=abc#comments"
    )
    article = extract_article(page("canonical_relative.html"), url)

    assert article.url == url
    # rel=canonical beats og:url; resolved, tracking dropped, the rest sorted.
    assert article.canonical_url == (
        "https://www.meridian-times.example/world/asia/russia-taliban-relations.html?id=42&page=2"
    )
    assert article.links == (
        "https://www.meridian-times.example/law/supreme-court-taliban-ban.html",
        "https://www.reuters.example/world/asia-pacific/russia-taliban-trade-2025-06-30/",
    )
    assert article.authors == ("Claire Donnelly",)  # not "Diplomatic Correspondent"


def test_canonical_pointing_to_the_home_page_is_ignored():
    markup = with_meta('<link rel="canonical" href="https://casm.example/">')
    article = extract_article(markup, "https://casm.example/analysis/who-armed/?utm_medium=email")

    assert article.canonical_url == "https://casm.example/analysis/who-armed/"
    assert any("points to the home page" in w for w in article.warnings)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://Example.COM:443/Path/To?b=2&a=1#frag", "https://example.com/Path/To?a=1&b=2"),
        ("http://example.com:80", "http://example.com/"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com/a?", "https://example.com/a"),
        ("https://example.com/a?utm_source=x&utm_campaign=y", "https://example.com/a"),
        (
            "https://example.com/a?id=7&fbclid=1&gclid=2&mc_cid=3&mc_eid=4&ocid=5&cmpid=6&CMP=7"
            "&ref=8&ref_src=9&smid=10&taid=11&at_medium=12&at_campaign=13&ito=14&yclid=15&_ga=16",
            "https://example.com/a?id=7",
        ),
        (
            "https://example.com/search?q=taliban+russia&page=2",
            "https://example.com/search?page=2&q=taliban+russia",
        ),
        ("https://example.com/a/b/", "https://example.com/a/b/"),
        ("https://user@Example.com/a", "https://user@example.com/a"),
        ("https://[2001:DB8::1]:443/a", "https://[2001:db8::1]/a"),
        (
            "https://example.com/%D8%B7%D8%A7%D9%84%D8%A8%D8%A7%D9%86",
            "https://example.com/%D8%B7%D8%A7%D9%84%D8%A8%D8%A7%D9%86",
        ),
    ],
)
def test_canonicalize_url(url, expected):
    assert canonicalize_url(url) == expected


def test_canonicalize_url_resolves_relative_urls():
    base = "https://example.com/world/asia/story.html?x=1"
    assert canonicalize_url("other.html", base) == "https://example.com/world/asia/other.html"
    assert canonicalize_url("../europe/", base) == "https://example.com/world/europe/"
    assert canonicalize_url("//cdn.example.com/a#b", base) == "https://cdn.example.com/a"
    assert canonicalize_url("?utm_source=x", base) == "https://example.com/world/asia/story.html"
