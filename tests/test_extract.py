import json
from pathlib import Path

import pytest
from trafilatura.utils import load_html

from narrative_archive.extract import article as extract
from narrative_archive.extract.article import (
    Article,
    ExtractError,
    content_hash,
    extract_article,
    extract_files,
)

FILES = Path(__file__).parent / "files" / "extract"


def page(name: str) -> bytes:
    return (FILES / name).read_bytes()


def with_meta(meta: str) -> str:
    """The byline-only page (no dates in its markup) with extra <head> markup."""
    return page("byline_only.html").decode("utf-8").replace("</head>", f"{meta}\n</head>")


# --- pages with structured metadata ---------------------------------------------


def test_jsonld_news_article():
    url = "https://www.kabuldispatch.example/2017/12/22/us-general-russia-arming-taliban/?utm_source=rss"
    article = extract_article(page("jsonld_newsarticle.html"), url)

    assert article.url == url
    assert article.canonical_url == (
        "https://www.kabuldispatch.example/2017/12/22/us-general-russia-arming-taliban/"
    )
    # JSON-LD wins over OpenGraph for every field both give.
    assert article.title == "US general says Russia is arming the Taliban"
    assert article.authors == ("Farid Ahmadi", "Sarah Whitfield")
    assert article.published_at == "2017-12-22T09:35:00Z"  # 14:05 at +04:30
    assert article.modified_at == "2017-12-23T03:30:00Z"
    assert article.publisher == "Kabul Dispatch"
    assert article.description.startswith("The top US commander in Afghanistan repeated")
    assert article.language == "en"
    assert article.warnings == ()


def test_main_text_is_the_article_not_the_page_chrome():
    article = extract_article(
        page("jsonld_newsarticle.html"), "https://www.kabuldispatch.example/a"
    )

    assert (
        "Russian officials have repeatedly denied the allegations, saying their contacts "
        "with the Taliban are limited to encouraging peace talks." in article.text
    )
    # Not the JSON-LD articleBody, which the publisher truncated.
    assert "the Taliban, repeating an accusation that Moscow has rejected" in article.text
    for chrome in (
        "Subscribe to our newsletter",
        "Business",
        "Related stories",
        "Heavy clashes in Kunduz",
        "All rights reserved",
        "Share on Facebook",
        "Privacy Policy",
    ):
        assert chrome not in article.text
    # Link markup is not left in the text.
    assert "](" not in article.text


def test_links_come_from_the_article_body_only():
    url = "https://www.kabuldispatch.example/2017/12/22/us-general-russia-arming-taliban/"
    article = extract_article(page("jsonld_newsarticle.html"), url)

    assert article.links == (
        "https://www.kabuldispatch.example/2017/12/20/nicholson-briefing-pentagon/",
        "https://www.defense.gov/News/Transcripts/Transcript/Article/1404263/",
        "https://www.kabuldispatch.example/2017/04/24/mattis-kabul-visit/",
    )


def test_jsonld_graph_with_id_references():
    url = "https://frontierreview.example/2021/09/01/what-the-us-left-behind-in-afghanistan/"
    article = extract_article(page("jsonld_graph.html"), url)

    assert article.title == "What the US left behind in Afghanistan – and what the Taliban can use"
    assert article.authors == ("Tom Reyes", "Nadia Karimi")
    assert article.publisher == "The Frontier Post Review"
    assert article.published_at == "2021-08-31T21:15:42Z"
    assert article.modified_at == "2021-09-02T06:40:11Z"
    assert article.language == "en"
    assert "rifles, machine guns, night-vision devices and Humvees" in article.text
    assert "Twenty years and this is how it ends" not in article.text  # reader comments
    assert "Proudly powered by WordPress" not in article.text
    assert article.links == ("https://www.sigar.mil/allreports/",)


def test_opengraph_only():
    url = "https://www.capitolwire.example/world/taliban-seize-us-weapons-afghan-army-collapse"
    article = extract_article(page("opengraph_only.html"), url + "?fbclid=IwAR0abc")

    assert article.canonical_url == url  # og:url without cmpid and fbclid
    assert article.title == "Taliban seize US-made weapons as Afghan army collapses"
    assert article.published_at == "2021-08-16T22:30:00Z"  # 18:30 at -04:00
    assert article.modified_at == "2021-08-17T13:00:00Z"
    # article:author is a Facebook page URL, not a name.
    assert article.authors == ("Dana Whitlock",)
    assert article.publisher == "Capitol Wire"
    assert article.language == "en"  # og:locale en_US, no <html lang>
    assert "a fair amount of it has fallen into the hands of the Taliban" in article.text
    for chrome in ("BREAKING", "Most read", "Cookie Settings", "Sign up for our"):
        assert chrome not in article.text
    assert article.links == ("https://www.gao.gov/products/gao-17-667r",)


def test_date_only_in_visible_byline():
    article = extract_article(page("byline_only.html"), "https://casm.example/analysis/who-armed/")

    assert article.title == "Who armed the Taliban?"
    assert article.published_at == "2021-09-14"  # a date without a time stays a date
    assert article.modified_at is None
    assert article.authors == ("Ahmad Rashidov",)
    assert article.language == "en"  # detected: the page declares none
    assert article.publisher is None
    assert "Few questions about the war in Afghanistan" in article.text
    assert "Recent briefs" not in article.text
    assert "Creative Commons" not in article.text


# --- scripts --------------------------------------------------------------------


def test_arabic_right_to_left_page():
    url = "https://www.alkhaleejtoday.example/world/2021/09/02/taliban-kandahar-parade"
    article = extract_article(page("arabic.html"), url)

    assert article.language == "ar"
    assert article.title == "طالبان تستعرض أسلحة أمريكية في قندهار"
    assert article.authors == ("أحمد منصور",)
    assert article.publisher == "الخليج اليوم"
    assert article.published_at == "2021-09-02T07:15:00Z"
    assert "اتهموا روسيا عام 2017 بتزويد طالبان بالسلاح" in article.text
    assert "جميع الحقوق محفوظة" not in article.text
    assert "الأكثر قراءة" not in article.text


# --- pages that are not articles ------------------------------------------------


def test_navigation_only_page_has_no_article_text():
    with pytest.raises(ExtractError, match="no article text"):
        extract_article(page("nav_only.html"), "https://www.kabuldispatch.example/tag/taliban/")


@pytest.mark.parametrize(
    "blob",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x02\x00" + bytes(range(256)) * 8,
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01" + bytes(200),
        b"<html>\x00\x01\x02\x03" + bytes(range(256)),
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
    ],
    ids=["png", "jpeg", "nul-bytes", "pdf"],
)
def test_binary_content_is_not_html(blob):
    with pytest.raises(ExtractError) as raised:
        extract_article(blob, "https://example.com/image.jpg")
    assert str(raised.value) == "not HTML (binary content)"


def test_binary_content_given_as_text():
    with pytest.raises(ExtractError, match="binary content"):
        extract_article("GIF89a\x01\x00\x01\x00\x00\x00\x00", "https://example.com/a")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"  \r\n\t ",
        "",
        "<!DOCTYPE html><html><head><title>Loading…</title></head><body>\n</body></html>",
    ],
    ids=["no-bytes", "whitespace", "empty-str", "empty-body"],
)
def test_empty_page(body):
    with pytest.raises(ExtractError, match="^empty page$"):
        extract_article(body, "https://example.com/a")


@pytest.mark.parametrize(
    ("body", "visible"),
    [
        ("<script>var a = 1;</script><style>p{}</style>", False),
        ("<noscript><p>Enable JavaScript</p></noscript><template><p>x</p></template>", False),
        ("<script>var a = 1;</script>\n Text after a script", True),
        ("<div><span></span><span>\xa0</span></div>", True),  # not XML whitespace
        ("<div>\n\t <span> </span></div>", False),
        ("<p>Hello</p>", True),
    ],
)
def test_visible_text(body, visible):
    tree = load_html(f"<html><head><title>t</title></head><body>{body}</body></html>")
    assert extract._has_visible_text(tree) is visible
    # The check once was this XPath.
    assert tree.xpath(
        "boolean(//body//text()[normalize-space()]"
        "[not(ancestor::script or ancestor::style or ancestor::noscript or ancestor::template)])"
    ) is visible


def test_extract_error_is_a_value_error():
    assert issubclass(ExtractError, ValueError)


# --- content hash ---------------------------------------------------------------


def test_same_text_under_two_urls_has_the_same_hash():
    data = page("jsonld_newsarticle.html")
    first = extract_article(data, "https://www.kabuldispatch.example/2017/12/22/a/")
    second = extract_article(data, "https://m.kabuldispatch.example/amp/2017/12/22/a/")
    other = extract_article(page("jsonld_graph.html"), "https://frontierreview.example/a")

    assert first.content_hash == second.content_hash
    assert first.content_hash != other.content_hash
    assert len(first.content_hash) == 64


def test_syndicated_copy_has_the_same_hash():
    original = extract_article(
        page("jsonld_newsarticle.html"), "https://www.kabuldispatch.example/a"
    )
    copy = extract_article(page("syndicated_copy.html"), "https://asiawire.example/story/x")

    assert (
        copy.canonical_url
        == "https://asiawire.example/story/us-general-russia-arming-taliban-20171222"
    )
    assert copy.publisher == "Asia Wire Network"
    assert copy.content_hash == original.content_hash


def test_content_hash_ignores_whitespace_and_case():
    assert content_hash("Russia  ARMS\nthe Taliban ") == content_hash("russia arms the taliban")
    assert content_hash("Russia arms the Taliban") != content_hash("Russia arms the Taliban.")


# --- output ---------------------------------------------------------------------


def test_to_dict_is_json_ready():
    article = extract_article(
        page("jsonld_newsarticle.html"), "https://www.kabuldispatch.example/a"
    )
    data = article.to_dict()

    assert list(data) == [
        "url",
        "canonical_url",
        "title",
        "text",
        "authors",
        "published_at",
        "modified_at",
        "language",
        "description",
        "publisher",
        "links",
        "content_hash",
        "warnings",
    ]
    assert data["authors"] == ["Farid Ahmadi", "Sarah Whitfield"]
    assert isinstance(data["links"], list) and isinstance(data["warnings"], list)
    assert json.loads(json.dumps(data)) == data
    assert (
        Article(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}) == article
    )


def test_extract_files(tmp_path):
    saved = tmp_path / "saved.html"
    saved.write_bytes(page("canonical_relative.html"))
    no_canonical = tmp_path / "no canonical.html"
    no_canonical.write_bytes(page("byline_only.html"))
    nav = tmp_path / "nav.html"
    nav.write_bytes(page("nav_only.html"))
    missing = tmp_path / "missing.html"

    results = extract_files([saved, no_canonical, nav, str(missing)])

    assert [r["file"] for r in results] == [str(saved), str(no_canonical), str(nav), str(missing)]
    assert results[0]["url"] == saved.resolve().as_uri()
    # A relative rel=canonical means nothing against a file:// URL: og:url is next.
    assert results[0]["canonical_url"] == "https://www.meridian-times.example/og-url-should-not-win"
    assert any("ignored rel=canonical" in w for w in results[0]["warnings"])
    assert results[0]["title"] == "Russia moves closer to the Taliban government"
    assert results[1]["canonical_url"] == no_canonical.resolve().as_uri()
    assert results[1]["published_at"] == "2021-09-14"
    assert results[2] == {"file": str(nav), "error": "no article text (only links)"}
    assert results[3]["file"] == str(missing)
    assert results[3]["error"].startswith("cannot read file")
    assert json.loads(json.dumps(results)) == results


def test_extract_files_with_url_and_absolute_canonical(tmp_path):
    saved = tmp_path / "story.html"
    saved.write_bytes(page("jsonld_graph.html"))

    [from_page] = extract_files([saved])
    assert from_page["canonical_url"] == (
        "https://frontierreview.example/2021/09/01/what-the-us-left-behind-in-afghanistan/"
    )

    [given] = extract_files([saved], url="https://mirror.example/story?utm_source=x")
    assert given["url"] == "https://mirror.example/story?utm_source=x"
    assert given["canonical_url"] == from_page["canonical_url"]


# --- caps -----------------------------------------------------------------------


def long_page(paragraphs: int) -> str:
    return ("<html><head><title>A long read</title></head><body><article><h1>A long read</h1>"
            + "".join(f'<p>Part {n}: see <a href="https://other.example/story/{n}">story {n}</a>'
                      " on the arms trade in the region.</p>" for n in range(paragraphs))
            + "</article></body></html>")


def test_text_and_links_are_capped_and_the_cut_is_a_warning():
    article = extract_article(long_page(300), "https://casm.example/a", max_text_chars=2000,
                              max_links=5)
    assert 1800 < len(article.text) <= 2000 and article.text.endswith("region.")
    assert article.links == tuple(f"https://other.example/story/{n}" for n in range(5))
    assert "cut: 5 of its 300 links kept" in article.warnings
    assert any(w.startswith("cut: the first 2000 of its ") for w in article.warnings)


def test_the_caps_have_defaults_and_zero_turns_them_off():
    article = extract_article(long_page(1200), "https://casm.example/a")
    assert len(article.links) == extract.MAX_LINKS == 1000
    unlimited = extract_article(long_page(1200), "https://casm.example/a", max_links=0)
    assert len(unlimited.links) == 1200 and not any(w.startswith("cut:") for w in unlimited.warnings)
