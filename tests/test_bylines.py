"""Authors: JSON-LD and meta tags first, else the byline trafilatura would find."""

import pytest
from trafilatura.metadata import extract_author
from trafilatura.utils import load_html

from narrative_archive.extract import article as extract
from narrative_archive.extract.article import extract_article
from narrative_archive.extract.bylines import dom_author
from tests.test_extract import FILES, with_meta


def test_byline_author_when_title_and_date_are_structured(monkeypatch):
    # Title and date from meta tags: trafilatura's metadata pass is skipped
    # (it costs as much as the text extraction), yet the byline still counts.
    def fail(*args, **kwargs):
        raise AssertionError("trafilatura's metadata pass ran")

    monkeypatch.setattr(extract, "extract_metadata", fail)
    markup = with_meta(
        '<meta property="og:title" content="Who armed the Taliban?">'
        '<meta property="article:published_time" content="2021-09-14T08:00:00Z">'
    )
    article = extract_article(markup, "https://casm.example/analysis/who-armed/")

    assert article.title == "Who armed the Taliban?"
    assert article.published_at == "2021-09-14T08:00:00Z"
    assert article.authors == ("Ahmad Rashidov",)


BYLINES = [
    '<div class="byline">By Jane<time>May 5</time>Doe, Reporter</div>',
    '<div class="comments"><span class="author">Troll Guy</span></div>'
    '<p class="byline">By Real Author</p>',
    '<author>Ann Author</author><span class="author-name">Bob Name</span>',
    '<span itemprop="author"><span itemprop="name">Cathy Item</span></span>',
    '<div data-component="Byline">Dan Comp</div>',
    '<h4 class="journalist-name">Eve Journo</h4>',
    '<section class="sidebar"><a rel="author" href="/x">Side Bar</a></section>'
    '<a rel="author">Fay Rel</a>',
    '<div id="Author">Gus Id</div>',
    '<li class="writer">Hal Writer</li>',
    '<div class="byline"><figure>pic</figure>Ivy Fig</div>',
    '<span class="author">X</span><span class="author">Jon Long</span>',
    '<div class="article-share"><span class="byline">Kim Share</span></div>'
    '<div class="Byline">Lou Cap</div>',
    '<p><span class="posted-by">Posted by Max Post</span></p>',
    '<a data-testid="AuthorURL" href="/a">Ned Test</a>',
    '<div class="meta-date">Oct 1</div><span class="by">nobody</span>',
]


@pytest.mark.parametrize(
    "markup",
    [
        *(path.read_bytes() for path in sorted(FILES.glob("*.html"))),
        *(path.read_bytes() for path in sorted((FILES.parent.parent / "sites").rglob("*.html"))),
        *(f"<html><body><article><h1>T</h1><p>Text.</p>{b}</article></body></html>".encode()
          for b in BYLINES),
    ],
)
def test_byline_search_finds_what_trafilatura_finds(markup):
    # dom_author re-implements trafilatura's extract_author (its XPaths are slow):
    # it must stay in step with the installed trafilatura.
    tree = load_html(markup.decode("utf-8", "replace"))
    assert dom_author(tree) == extract_author(tree)
