"""Search that forgives: the query function (searchbox.forgiving_query) and the search pages that
use it (?_search= on articles and mention_articles, the search_snippets query), with the
passage each result matched in."""

from __future__ import annotations

import re

import pytest

from narrative_archive import store
from narrative_archive.fts import check_query
from narrative_archive.match import narratives
from narrative_archive.publish.search import marked_passage
from narrative_archive.searchbox import forgiving_query
from tests.conftest import article
from tests.datasette_fixtures import NARRATIVES, Client, build_archive, make_datasette


@pytest.mark.parametrize("typed, read_as", [
    ("al-Qaeda", '"al-Qaeda"'),
    ("Taliban's", '"Taliban\'s"'),
    ("U.S. weapons", '"U.S." weapons'),
    ("taliban AND", "taliban"),
    ("AND taliban", "taliban"),
    ("taliban OR OR russia", "taliban OR russia"),
    ("taliban AND NOT russia", "taliban NOT russia"),
    ("taliban -russia", "taliban NOT russia"),
    ("NEAR(russia taliban", "NEAR(russia taliban)"),
    ("near(russia* taliban, 10", "NEAR(russia* taliban, 10)"),
    ('"left behind', '"left behind"'),
    ("(taliban", "(taliban)"),
    ("taliban)", "taliban"),
    ("e-mail*", '"e-mail"*'),
    ("title: U.S.", 'title: "U.S."'),
    ("al-Qaeda's U.S.-made weapons", '"al-Qaeda\'s" "U.S.-made" weapons'),
])
def test_typed_text_is_read_as_meant(typed, read_as):
    forgiven = forgiving_query(typed)
    assert (forgiven.query, forgiven.changed, forgiven.error) == (read_as, True, None)
    assert check_query(forgiven.query) is None


@pytest.mark.parametrize("fts5", [
    "NEAR(russia* arm taliban*, 20)", '"safe haven*"', "taliban NOT talks", "title: bounty",
    "(russia OR moscow) AND taliban*", "Taliban’s", "russia + taliban", "талиб*",
])
def test_fts5_syntax_runs_as_written(fts5):
    assert forgiving_query(fts5) == (fts5, False, None)


@pytest.mark.parametrize("typed, says", [
    ("NOT taliban", "NOT needs a word before it"),
    ("-taliban", "NOT needs a word before it"),
    ("()", "nothing to search for"),
    ("   ", "empty search"),
])
def test_what_cannot_be_read_is_said(typed, says):
    forgiven = forgiving_query(typed)
    assert forgiven.query is None and says in forgiven.error


def test_marked_passage_keeps_marks_balanced():
    text = " ".join(["w"] * 50 + ["<mark>al", "Qaeda</mark>"] + ["w"] * 50)
    passage = marked_passage(text, 10)
    assert passage.count("<mark>") == passage.count("</mark>") == 1
    assert passage.startswith("… ") and passage.endswith(" …")
    assert marked_passage("no marks here") is None


# --- the pages ----------------------------------------------------------------------------

WORDS = ("A UN report said the Taliban's relationship with al-Qaeda remains close, and that "
         "U.S. weapons left behind in 2021 are sold in markets. Russia is arming the Taliban, "
         "officials said.")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    path = tmp_path_factory.mktemp("search") / "archive.db"
    build_archive(path)
    db = store.open_db(path)
    article_id, _ = store.save_article(db, article("https://tolonews.com/un-report", WORDS,
                                                   title="UN monitors: al-Qaeda ties hold"),
                                       "tolo", via="feed")
    narratives.match_article(db, article_id, NARRATIVES)
    db.close()
    return Client(make_datasette(path))


@pytest.mark.parametrize("typed", ["al-Qaeda", "Taliban's", "U.S. weapons", "al-Qaeda AND"])
def test_the_search_box_finds_what_was_meant(client, typed):
    rows = client.rows(f"/archive/articles.json?_search={typed}")
    assert [row["url"] for row in rows] == ["https://tolonews.com/un-report"]
    html = client.get("/archive/articles", params={"_search": typed}).text
    assert "Searched for <code>" in html
    [passage] = re.findall(r'<td class="col-matched">(.*?)</td>', html, re.DOTALL)
    assert "<mark>" in passage and "relationship with" in passage


def test_results_show_the_passage_with_the_matched_words(client):
    html = client.get("/archive/articles", params={"_search": "NEAR(russia arming taliban, 10)"}).text
    passages = re.findall(r'<td class="col-matched">(.*?)</td>', html, re.DOTALL)
    assert len(passages) == 5 and all("<mark>" in p for p in passages)
    assert "Searched for" not in html  # FTS5 as written
    assert "<script>" not in "".join(passages)


def test_mentions_search_shows_passages_too(client):
    html = client.get("/archive/mention_articles",
                      params={"_search": "Taliban's", "narrative_id": "russia-arming-taliban"}).text
    assert re.findall(r'<td class="col-matched">.*?<mark>', html, re.DOTALL)


def test_an_unreadable_search_keeps_the_box_and_says_why(client):
    response = client.get("/archive/articles", params={"_search": "NOT russia"})
    assert response.status_code == 400
    assert 'name="_search" value="NOT russia"' in response.text
    assert "NOT needs a word before it" in response.text and "What works" in response.text
    assert client.get("/archive/articles.json?_search=NOT russia").status_code == 400


def test_search_snippets_query_forgives(client):
    rows = client.rows("/archive/search_snippets.json?q=al-Qaeda")
    assert [row["title"] for row in rows] == ["UN monitors: al-Qaeda ties hold"]
