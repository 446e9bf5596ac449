"""Readable tables (issue 20): short URLs with the whole one on hover, canned queries' SQL
hidden by default, their columns in reading order, and the CSS that keeps columns wide
enough and headers in view."""

from __future__ import annotations

import re

import pytest

from narrative_archive.publish import serve
from tests.datasette_fixtures import Client, build_archive, make_datasette


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    path = tmp_path_factory.mktemp("tables") / "archive.db"
    build_archive(path)
    return Client(make_datasette(path))


def test_long_urls_show_short_with_the_whole_url_on_hover(client):
    html = client.get("/archive/articles?_size=max").text
    links = re.findall(r'<a class="short-url" href="([^"]+)" title="([^"]+)"[^>]*>([^<]+)</a>', html)
    assert ("https://www.reuters.com/nicholson", "https://www.reuters.com/nicholson",
            "reuters.com/nicholson") in links
    query = client.get("/archive/new_mentions_since?since=2017-01-01&narrative=").text
    assert '<a class="short-url" href="https://tass.com/denial"' in query


def test_a_url_that_is_not_http_is_text_not_a_link(client):
    from importlib.util import module_from_spec, spec_from_file_location

    spec = spec_from_file_location("tables_plugin", serve.DATASETTE_DIR / "plugins" /
                                   "narrative_archive_tables.py")
    plugin = module_from_spec(spec)
    spec.loader.exec_module(plugin)
    assert plugin.short_link("javascript:alert(1)") is None
    assert 'title="https://a.test/x?&lt;b&gt;"' in str(plugin.short_link("https://a.test/x?<b>"))


def test_canned_queries_hide_their_sql_until_asked(client):
    metadata = serve.load_metadata()
    queries = metadata["databases"]["archive"]["queries"]
    assert all(query.get("hide_sql") for query in queries.values())
    html = client.get("/archive/who_disputed_it?narrative=&stance=").text
    assert "<textarea" not in html and "_show_sql=1" in html
    shown = client.get("/archive/who_disputed_it?narrative=&stance=&_show_sql=1").text
    assert "json_extract(stance_evidence" in shown


def test_canned_query_columns_in_reading_order(client):
    columns = client.json("/archive/new_mentions_since.json?since=2017-01-01&narrative=")["columns"]
    assert columns[:5] == ["dated_at", "outlet", "country", "title", "snippet"]
    first = client.json("/archive/first_appearance.json?narrative=")["columns"]
    assert first[:5] == ["pickup_order", "first_dated_at", "days_after_first", "outlet_name",
                         "title"]


def test_tables_scroll_sideways_with_sticky_headers():
    css = (serve.DATASETTE_DIR / "static" / "narrative-archive.css").read_text()
    assert re.search(r"\.table-wrapper \{\s*overflow: auto;", css)
    assert re.search(r"thead th \{\s*position: sticky;", css)
    assert "table.rows-and-columns td.col-title" in css
