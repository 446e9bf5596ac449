"""Dates: a page's candidates in order, parsed to UTC ISO 8601, implausible ones dropped."""

import pytest

from narrative_archive.extract.article import extract_article
from tests.test_extract import page, with_meta


def test_unparsable_jsonld_date_is_a_warning_and_falls_through():
    url = "https://www.meridian-times.example/world/russia-denies-arming-taliban"
    article = extract_article(page("bad_date_jsonld.html"), url)

    assert "unparsable date in JSON-LD datePublished: 'next Tuesday-ish'" in article.warnings
    assert article.published_at == "2018-03-24T06:30:00Z"  # from article:published_time
    # .NET's DateTime.MinValue is not a modification date.
    assert "implausible date in JSON-LD dateModified: '0001-01-01T00:00:00'" in article.warnings
    assert article.modified_at is None
    # The rest of the JSON-LD still counts, despite a second, broken block.
    assert article.authors == ("Claire Donnelly",)
    assert article.publisher == "The Meridian Times"


@pytest.mark.parametrize(
    ("meta_date", "expected"),
    [
        ("2019-05-01T10:00:00", "2019-05-01T10:00:00Z"),  # naive: taken as UTC
        ("2019-05-01T10:00:00.000+0200", "2019-05-01T08:00:00Z"),
        ("2019-05-01T10:00:00Z", "2019-05-01T10:00:00Z"),
        ("Wed, 01 May 2019 10:00:00 GMT", "2019-05-01T10:00:00Z"),
        ("1556704800", "2019-05-01T10:00:00Z"),
        ("2019-05-01", "2019-05-01"),
    ],
)
def test_dates_are_utc_iso_8601(meta_date, expected):
    markup = with_meta(f'<meta property="article:published_time" content="{meta_date}">')
    article = extract_article(markup, "https://casm.example/a")
    assert article.published_at == expected


@pytest.mark.parametrize("absurd", ["1970-01-01T00:00:00Z", "2999-01-01T00:00:00Z"])
def test_absurd_dates_are_rejected_with_a_warning(absurd):
    markup = with_meta(f'<meta property="article:published_time" content="{absurd}">')
    article = extract_article(markup, "https://casm.example/a")

    assert f"implausible date in meta article:published_time: '{absurd}'" in article.warnings
    assert article.published_at == "2021-09-14"  # the byline, via htmldate
