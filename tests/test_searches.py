"""Searches on the published archive: a canned query opened without its search shows its
form with a hint (never SQLite's 'fts5: syntax error near ""'), and a bad search in any
parameter is explained in words, as the form's message or a 400 (JSON for .json)."""

from __future__ import annotations

from html import unescape

import pytest

from narrative_archive.publish.searches import (
    bad_searches,
    explain,
    fts_query,
    guard_matches,
    match_parameters,
    table_search_arguments,
)
from tests.datasette_fixtures import Client, build_archive, make_datasette

RAW = ('syntax error near ""', "unterminated string", "no such column")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    path = tmp_path_factory.mktemp("searches") / "archive.db"
    build_archive(path)
    return Client(make_datasette(path))


# --- the pure functions -------------------------------------------------------------


def test_match_parameters_and_their_guard():
    sql = "select 1 from f where f match :q and x = :narrative or g MATCH  :other"
    assert match_parameters(sql) == ["q", "other"]
    guarded = guard_matches(sql)
    assert guarded == ("select 1 from f where f match fts_query(:q) and x = :narrative"
                       " or g match fts_query(:other)")
    assert guard_matches(guarded) == guarded and match_parameters(guarded) == ["q", "other"]
    assert (fts_query(""), fts_query(None), fts_query("  "), fts_query("taliban")) == (
        '""', '""', '""', "taliban")


@pytest.mark.parametrize("search, words, forgiving", [
    ("NOT russia", "NOT needs a word before it", True),
    ("AND", "nothing to search for", True),
    ("", "is empty", True),
    # arbitrary SQL runs its MATCH as written: FTS5's own reading, explained
    ("taliban AND", "AND, OR and NOT need a word on each side", False),
    ('"russia arms', 'a double quote (") is not closed', False),
    ("NEAR(russia taliban", "brackets and quotes must close", False),
    ("u.s. weapons", "need \"double quotes\" around the word", False),
    ("kabul:airport", "'kabul' is read as a column name", False),
])
def test_a_bad_search_is_explained_in_words(search, words, forgiving):
    explanation = explain(search, "q", forgiving)
    assert words in explanation and "Syntax: " in explanation
    assert not any(raw in explanation for raw in RAW)


def test_good_searches_pass():
    for search in ("taliban", "russia* AND taliban", '"safe haven"', "NEAR(a b, 10)",
                   "title: bounty", "taliban NOT talks"):
        assert explain(search) is None
    assert bad_searches({"q": "", "n": "x"}, ["q"], allow_empty=True) == {}
    assert list(bad_searches({"q": ""}, ["q"])) == ["q"]
    assert table_search_arguments({"_search": "a", "_search_title": "b", "_search_text": "",
                                   "_sort": "x"}) == ["_search", "_search_title"]


# --- canned queries without their parameters ----------------------------------------


@pytest.mark.parametrize("path", ["/archive/near_misses", "/archive/search_snippets",
                                  "/archive/search_snippets?q=", "/archive/near_misses?q=+"])
def test_a_canned_query_without_its_search_shows_its_form_and_a_hint(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.text[:500]
    page = unescape(response.text)
    assert '<form class="sql"' in page and 'name="q"' in page  # the form, to fill in
    assert "Type a search in q and press Run" in page  # the hint
    assert not any(raw in page for raw in RAW) and "message-error" not in page


@pytest.mark.parametrize("path", ["/archive/near_misses.json", "/archive/search_snippets.json?q="])
def test_its_json_is_an_empty_answer_not_an_error(client, path):
    response = client.get(path)
    assert response.status_code == 200
    data = response.json()
    assert data["ok"] is True and data["rows"] == [] and "passage" in data["columns"] + ["passage"]


def test_a_canned_query_with_a_search_still_answers(client):
    data = client.get("/archive/search_snippets.json?q=taliban&_shape=array").json()
    assert data and all("<mark>" in row["snippet"].lower() for row in data)


# --- bad searches in any parameter ----------------------------------------------------


def test_a_bad_search_on_a_canned_query_form_is_explained_there(client):
    response = client.get("/archive/search_snippets?q=NOT+russia")
    assert response.status_code == 400
    page = unescape(response.text)
    assert '<form class="sql"' in page and 'value="NOT russia"' in page  # to correct it
    assert "The search q='NOT russia' is not understood" in page
    assert not any(raw in page for raw in RAW)


@pytest.mark.parametrize("path, name", [
    ("/archive/search_snippets.json?q=NOT+russia", "q"),
    ("/archive/articles.json?_search=AND", "_search"),
    ("/archive/mention_articles.json?_search=NEAR(", "_search"),
    ("/archive.json?sql=select+rowid+from+articles_fts+where+articles_fts+match+:q&q=", "q"),
    ("/archive.json?sql=select+rowid+from+articles_fts+where+articles_fts+match+:q&q=a:b", "q"),
])
def test_a_bad_search_in_json_is_a_400_that_explains_it(client, path, name):
    response = client.get(path)
    assert response.status_code == 400
    data = response.json()
    assert data["ok"] is False and data["title"] == "Search not understood"
    assert data["error"].startswith(f"The search {name}")
    assert not any(raw in data["error"] for raw in RAW)


def test_a_bad_table_search_is_an_explained_error_page(client):
    response = client.get("/archive/articles?_search=NOT+russia")
    assert response.status_code == 400
    page = unescape(response.text)
    assert "could not be read" in page and "NOT needs a word before it" in page
    assert not any(raw in page for raw in RAW)
    csv = client.get("/archive/articles.csv?_search=NOT+russia")
    assert csv.status_code == 400 and csv.text.startswith("Search not understood: ")


def test_good_table_searches_are_untouched(client):
    assert client.get("/archive/articles.json?_search=taliban").json()["rows"]
    assert client.get("/archive/articles.json?_search=").status_code == 200  # no search


def test_an_empty_search_box_lists_everything():
    from narrative_archive.publish.searches import without_empty_searches

    assert without_empty_searches("_search=&_sort=id") == "_sort=id"
    assert without_empty_searches("_search=+&_search_title=x") == "_search_title=x"
    assert without_empty_searches("a=1&b=%20") == "a=1&b=%20"  # untouched
