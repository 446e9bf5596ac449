"""The narrative pages (/narratives, /narratives/NARRATIVE and its exports) through
Datasette's in-process client, on the known rows of tests/datasette_fixtures.py, plus
the pure parts: periods, who disputes, short URLs, chart axes."""

from __future__ import annotations

import csv
import io
import re

import pytest

from narrative_archive import store
from narrative_archive.match import narratives
from narrative_archive.publish import charts
from narrative_archive.publish.display import short_url
from narrative_archive.publish.narrative_page import BLOCKS, Filters, Mention, mention_rows
from narrative_archive.publish.speakers import who_disputes
from narrative_archive.times import periods_between
from tests.datasette_fixtures import NARRATIVES, Client, build_archive, make_datasette

RA, RB, IA = "russia-arming-taliban", "russia-taliban-bounties", "iran-arming-taliban"
RA_ORDER = ["nicholson", "denial", "denial-ru", "hearing", "mattis", "official", "both",
            "bounties"]


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """The Datasette test archive, with one story (official is a copy of nicholson) and
    citations: hearing links to nicholson, mattis names TASS, bounties names itself."""
    path = tmp_path_factory.mktemp("narrative") / "archive.db"
    ids = build_archive(path)
    db = store.open_db(path)
    with store.transaction(db):
        store.set_story(db, ids["nicholson"], ids["nicholson"])
        store.set_story(db, ids["official"], ids["nicholson"])
    store.save_citations(db, ids["hearing"], [
        {"kind": "link", "target_url": "https://www.reuters.com/nicholson", "source_name": "Reuters",
         "outlet_id": "reuters", "sentence": None}])
    store.save_citations(db, ids["mattis"], [
        {"kind": "attribution", "target_url": None, "source_name": "TASS", "outlet_id": "tass",
         "sentence": "TASS reported the denial."}])
    store.save_citations(db, ids["bounties"], [
        {"kind": "attribution", "target_url": None, "source_name": "Reuters",
         "outlet_id": "reuters", "sentence": "Reuters said so."}])
    db.close()
    return path, ids


@pytest.fixture(scope="module")
def client(archive):
    return Client(make_datasette(archive[0]))


def names(ids, article_ids):
    by_id = {value: key for key, value in ids.items()}
    return [by_id[i] for i in article_ids]


def page(client, narrative=RA, query=""):
    return client.json(f"/narratives/{narrative}.json{query}")


# --- the list ------------------------------------------------------------------------


def test_the_list_of_narratives(client):
    data = client.json("/narratives.json")
    listed = {n["id"]: n for n in data["narratives"]}
    assert set(listed) == {RA, RB, IA}
    assert (listed[RA]["articles"], listed[RA]["outlets"]) == (8, 4)
    assert data["months"][0] == "2017-03" and data["months"][-1] == "2021-02"
    # one shared axis: every narrative has a value (zero for an empty month) for each month
    assert all(len(n["monthly"]) == len(data["months"]) for n in listed.values())
    assert sum(listed[RA]["monthly"]) == 8 and listed[RA]["monthly"][0] == 4
    # one colour per narrative, none of them a stance's
    colours = [n["colour"] for n in data["narratives"]]
    assert len(set(colours)) == 3 and not set(colours) & set(charts.STANCE_COLOURS.values())
    html = client.get("/narratives").text
    assert html.count('<svg class="sparkbars"') == 3
    assert f'href="/narratives/{RA}"' in html


# --- the blocks ----------------------------------------------------------------------


def test_who_said_it_first_in_date_order(client, archive):
    _, ids = archive
    data = page(client)
    assert (data["total"], data["count"]) == (8, 8)
    assert names(ids, [row["article_id"] for row in data["first"]]) == RA_ORDER
    first = data["first"][0]
    assert (first["outlet"], first["country"], first["state_affiliated"], first["date_precision"],
            first["url"]) == ("Reuters", "GB", 0, "second", "https://www.reuters.com/nicholson")
    both = data["first"][RA_ORDER.index("both")]
    assert (both["date_precision"], both["dated_at"]) == ("day", "2018-01-10")
    # a copy is not an original
    official = data["first"][RA_ORDER.index("official")]
    assert (official["original"], official["story_id"]) == (False, ids["nicholson"])


def test_how_it_spread_every_period_counted(client):
    data = page(client)
    assert data["by"] == "month"  # over three years
    spread = data["spread"]
    months = [row["period"] for row in spread]
    assert months == periods_between("2017-03-01", "2020-06-01", "month")
    assert len(months) == 40 and sum(row["articles"] for row in spread) == 8
    march = spread[0]
    assert (march["articles"], march["disputes"], march["outlets"], march["new_outlets"]) == (
        4, 2, 3, 3)
    assert all(row["articles"] == sum(row[s] for s in charts.STANCES) for row in spread)
    assert spread[3] == {"period": "2017-06", "articles": 0, "asserts": 0, "reports": 0,
                         "disputes": 0, "unlabelled": 0, "stories": 0, "outlets": 0,
                         "new_outlets": 0}
    may = next(row for row in spread if row["period"] == "2017-05")
    assert (may["articles"], may["stories"]) == (1, 1)
    weekly = page(client, query="?since=2017-03-01&until=2017-05-31")
    # the range asked for, from its first week to its last, empty weeks as zero
    assert weekly["by"] == "week" and weekly["spread"][0]["period"] == "2017-02-27"
    assert weekly["spread"][-1]["period"] == "2017-05-29" and len(weekly["spread"]) == 14


def test_outlets_in_the_order_they_took_it_up(client):
    uptake = page(client)["uptake"]
    assert [row["outlet_id"] for row in uptake] == ["reuters", "tass", "voa", "tolo"]
    assert [row["days_after_first"] for row in uptake] == [0, 1, 7, 293]


def test_who_repeated_it(client, archive):
    _, ids = archive
    [story] = page(client)["repeated"]
    assert story["story_id"] == ids["nicholson"]
    assert story["original"]["article_id"] == ids["nicholson"]
    assert [copy["article_id"] for copy in story["copies"]] == [ids["official"]]
    assert story["copies"][0]["hours_after_original"] == 953.0  # 2017-03-23T14:00 to 2017-05-02T07:00
    rows = client.json(f"/narratives/{RA}/repeated.json")["rows"]
    assert [row["role"] for row in rows] == ["original", "copy"]


def test_who_disputed_it_with_evidence_and_who(client, archive):
    _, ids = archive
    disputed = page(client)["disputed"]
    assert names(ids, [row["article_id"] for row in disputed]) == ["denial", "denial-ru"]
    denial = disputed[0]
    assert denial["sentence"] and denial["cues"]
    assert denial["who"] and denial["who_from"] in ("sentence", "outlet", "official", "unnamed")


def test_outlets_table(client):
    outlets = {row["outlet_id"]: row for row in page(client)["outlets"]}
    assert {k: v["articles"] for k, v in outlets.items()} == {"reuters": 3, "tass": 2, "voa": 2,
                                                              "tolo": 1}
    tass = outlets["tass"]
    assert (tass["country"], tass["kind"], tass["owner"], tass["state_affiliated"],
            tass["disputes"], tass["first_dated_at"]) == (
        "RU", "state", "Russian government", 1, 2, "2017-03-24T09:00:00Z")
    assert outlets["reuters"]["stories"] == 2  # nicholson and its copy are one


def test_who_cited_whom(client, archive):
    _, ids = archive
    edges = page(client)["citations"]
    pairs = [(e["citing_article_id"], e["cited_article_id"], e["kind"]) for e in edges]
    # hearing links to nicholson; mattis names TASS: TASS's latest earlier article on it
    # (denial-ru); bounties names Reuters, its own outlet: not a citation of another
    assert pairs == [(ids["hearing"], ids["nicholson"], "link"),
                     (ids["mattis"], ids["denial-ru"], "attribution")]
    assert edges[0]["cited_title"] and edges[1]["citing_outlet"] == "Voice of America"


@pytest.mark.parametrize("query, expected", [
    ("?country=RU", ["denial", "denial-ru"]),
    ("?since=2017-03-24&until=2017-03-31", ["denial", "denial-ru", "hearing"]),
    ("?kind=wire", ["nicholson", "official", "bounties"]),
    ("?language=ru", ["denial-ru"]),
    ("?stance=disputes", ["denial", "denial-ru"]),
    ("?country=RU&stance=reports", []),
])
def test_filters_narrow_every_block(client, archive, query, expected):
    _, ids = archive
    data = page(client, query=query)
    assert names(ids, [row["article_id"] for row in data["first"]]) == expected
    assert data["count"] == len(expected) and data["total"] == 8
    assert sum(row["articles"] for row in data["outlets"]) == len(expected)
    assert sum(row["articles"] for row in data["spread"]) == len(expected)
    # the filter's own options still list every value
    assert {value for value, _ in data["options"]["country"]} == {"GB", "RU", "US", "AF"}


def test_a_malformed_date_is_said_not_used(client):
    data = page(client, query="?since=yesterday")
    assert data["count"] == 8 and data["problems"] == ["since: 'yesterday' is not a date (YYYY-MM-DD)"]


# --- the HTML page ---------------------------------------------------------------------


def test_the_page_has_every_block_and_its_exports(client):
    html = client.get(f"/narratives/{RA}").text
    for block in BLOCKS:
        assert f'id="{block}"' in html
        assert f"/narratives/{RA}/{block}.csv" in html and f"/narratives/{RA}/{block}.json" in html
    assert "Russia is arming the Taliban" in html and "Query version 1" in html
    assert "tracked since 2017-01-01" in html
    assert f"/archive/new_mentions_feed.atom?narrative={RA}" in html
    assert f"/-/wacz/{RA}.wacz" in html and f"/-/export/{RA}.csv" in html
    assert '<svg class="chart"' in html and "2017-03" in html
    filtered = client.get(f"/narratives/{RA}?country=RU").text
    assert f"/narratives/{RA}/first.csv?country=RU" in filtered
    assert '<option value="RU" selected>' in filtered


def test_chart_axis_counts_in_integers(client):
    html = client.get(f"/narratives/{RA}").text
    ticks = [int(t) for t in re.findall(r'<text class="tick"[^>]*>(\d+)</text>', html)]
    assert ticks == [0, 1, 2, 3, 4]
    assert charts.integer_ticks(2) == [0, 1, 2] and charts.integer_ticks(37) == [0, 10, 20, 30, 40]
    assert charts.integer_ticks(0) == [0, 1]


def test_scraped_text_is_escaped(client, archive):
    html = client.get(f"/narratives/{RB}").text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)" in html


@pytest.mark.parametrize("path", ["/narratives/nope", "/narratives/nope.json",
                                  "/narratives/nope/first.csv", "/-/wacz/nope.wacz"])
def test_unknown_narrative_is_404(client, path):
    assert client.get(path).status_code == 404


def test_block_exports(client, archive):
    _, ids = archive
    response = client.get(f"/narratives/{RA}/first.csv?country=RU")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [int(row["article_id"]) for row in rows] == [ids["denial"], ids["denial-ru"]]
    data = client.json(f"/narratives/{RA}/outlets.json")
    assert data["block"] == "outlets" and len(data["rows"]) == 4


def test_atom_feed_404_for_an_unknown_narrative(client):
    assert client.get("/archive/new_mentions_feed.atom?narrative=nope").status_code == 404
    assert client.get(f"/archive/new_mentions_feed.atom?narrative={RA}").status_code == 200
    assert client.get("/archive/new_mentions_feed.atom?narrative=").status_code == 200


def test_the_dashboard_and_article_page_link_to_it(client, archive):
    _, ids = archive
    article = client.get(f"/archive/articles/{ids['nicholson']}").text
    assert f'href="/narratives/{RA}"' in article
    assert 'href="/narratives"' in client.get("/-/dashboards/narratives").text


# --- pure parts ------------------------------------------------------------------------


def test_periods_between():
    assert periods_between("2024-11-15", "2025-02-01", "month") == [
        "2024-11", "2024-12", "2025-01", "2025-02"]
    assert periods_between("2024-05-22", "2024-06-05", "week") == [
        "2024-05-20", "2024-05-27", "2024-06-03"]


def test_filters_from_args():
    filters, problems = Filters.from_args({"country": " RU ", "since": "2017-01-01",
                                           "until": "soon"})
    assert filters.args() == {"country": "RU", "since": "2017-01-01"} and len(problems) == 1
    assert not Filters()


@pytest.mark.parametrize("sentence, cues, who", [
    ("The Russian foreign ministry said accusations that Moscow sent weapons to the Taliban"
     " were idle gossip.", ["idle gossip"], "The Russian foreign ministry"),
    ("The claims are baseless, a Kremlin spokesman said.", ["baseless"], "a Kremlin spokesman"),
    ("Claims that Russia is arming the Taliban are baseless, Russian foreign ministry "
     "spokeswoman Maria Zakharova said on Thursday.", ["baseless"],
     "Russian foreign ministry spokeswoman Maria Zakharova"),
    ("Moscow: US claims it arms Taliban are 'absolutely false'", ["false"], "Moscow"),
    ("Zamir Kabulov said the statements were idle chatter", ["idle chatter"], "Zamir Kabulov"),
    ("There is no evidence Russia arms the Taliban.", ["negated claim: no evidence"], None),
    (None, [], None),
])
def test_who_disputes(sentence, cues, who):
    assert who_disputes(sentence, cues)[0] == who


@pytest.mark.parametrize("url, shown", [
    ("https://www.reuters.com/world/asia/story-2017-03-23/?utm=x#top",
     "reuters.com/world/asia/story-2017-03-23"),
    ("http://tass.test/", "tass.test"),
    ("javascript:alert(1)", "javascript:alert(1)"),
    (None, ""),
])
def test_short_url(url, shown):
    assert short_url(url) == shown


def test_short_url_cuts_the_middle_of_a_long_path():
    url = "https://example.com/" + "/".join(f"section-{n}" for n in range(20)) + "/the-end"
    shown = short_url(url)
    assert len(shown) <= 62 and shown.startswith("example.com/section-0") and \
        shown.endswith("the-end") and "…" in shown


# --- defects of the published archive (issue 20), on this archive ------------------------


def test_an_attribution_on_the_article_page_has_no_empty_slot(client, archive):
    _, ids = archive
    html = client.get(f"/archive/articles/{ids['mattis']}").text
    [cite] = re.findall(r'<li class="cite cite-attribution">(.*?)</li>', html, re.DOTALL)
    assert cite.startswith('attribution: <a href="/archive/outlets/tass">TASS</a> · “TASS')
    assert ": ·" not in html


def test_near_misses_show_their_highlights_as_highlights(client):
    html = client.get("/archive/near_misses", params={
        "q": "russia* AND taliban*", "narrative": RB}).text
    cells = re.findall(r'<td class="col-snippet[^"]*">(.*?)</td>', html, re.DOTALL)
    assert cells and all("<mark>" in cell and "&lt;mark&gt;" not in cell for cell in cells)
    rows = client.rows(f"/archive/near_misses.json?q=russia*+AND+taliban*&narrative={RB}")
    assert rows and all("<mark>" in row["snippet"] for row in rows)


def test_who_disputes_comes_from_the_stance_speaker_when_the_archive_records_it(tmp_path):
    """An archive with the stance_speaker columns (another migration adds them): the name
    and kind recorded with the stance win over reading the sentence."""
    path = tmp_path / "archive.db"
    ids = build_archive(path)
    db = store.open_db(path)
    if not db.execute("SELECT 1 FROM pragma_table_info('mentions')"
                      " WHERE name = 'stance_speaker_name'").fetchone():
        db.execute("ALTER TABLE mentions ADD COLUMN stance_speaker TEXT")
        db.execute("ALTER TABLE mentions ADD COLUMN stance_speaker_name TEXT")
    db.execute("UPDATE mentions SET stance_speaker = 'official', stance_speaker_name ="
               " 'the Russian foreign ministry' WHERE article_id = ?", [ids["denial"]])
    db.execute("UPDATE mentions SET stance_speaker = 'outlet', stance_speaker_name = NULL"
               " WHERE article_id = ?", [ids["denial-ru"]])
    db.conn.commit()
    db.close()
    disputed = Client(make_datasette(path)).json(f"/narratives/{RA}.json")["disputed"]
    assert [(row["who"], row["who_from"]) for row in disputed] == [
        ("the Russian foreign ministry", "official"), ("TASS (own voice)", "outlet")]


def test_the_page_follows_the_archive_when_it_changes(tmp_path, monkeypatch):
    """Blocks are kept while the file is unchanged, and counted again after a commit (at
    once here; a public instance serves them up to a minute longer)."""
    monkeypatch.setenv("NARRATIVE_ARCHIVE_PAGE_STALE", "0")
    path = tmp_path / "archive.db"
    build_archive(path)
    client = Client(make_datasette(path))
    assert client.json(f"/narratives/{IA}.json")["count"] == 2
    assert client.json(f"/narratives/{IA}.json")["count"] == 2  # from memory
    db = store.open_db(path)
    article_id, _ = store.save_article(db, {
        "url": "https://tolonews.com/iran-again", "title": "Iran arms the Taliban",
        "text": "Officials say Iran is arming the Taliban in the west.",
        "published_at": "2021-03-01T10:00:00Z"}, "tolo", via="feed")
    narratives.match_article(db, article_id, NARRATIVES)
    db.close()
    assert client.json(f"/narratives/{IA}.json")["count"] == 3


def test_mention_rows_place_articles_as_the_archives_views_do(tmp_path):
    """mention_rows reads mentions and articles (not the slower view) and places each
    article on the timeline by article_dates' rule: the same values as mention_articles."""


    path = tmp_path / "archive.db"
    build_archive(path)
    db = store.open_db(path)
    for url, published, archived in (
            ("https://tolonews.com/archived-only", None, "2019-03-02T05:06:07Z"),
            ("https://tolonews.com/day-and-capture", "2019-03-01", "2019-03-01T04:00:00Z"),
            ("https://tolonews.com/day-before-seen", "2016-03-01", None)):
        article_id, _ = store.save_article(db, {
            "url": url, "title": "Iran arms the Taliban", "published_at": published,
            "text": "Officials say Iran is arming the Taliban in the west."}, "tolo",
            via="archive", fetched_at="2021-05-05T05:05:05Z",
            archive={"archived_at": archived, "source": "wayback", "url": url}
            if archived else None)
        narratives.match_article(db, article_id, NARRATIVES)
    columns = ", ".join(name for name in Mention._fields)
    for narrative in NARRATIVES:
        expected = sorted(tuple(row) for row in db.execute(
            f"SELECT {columns} FROM mention_articles WHERE narrative_id = ?", [narrative.id]))
        assert sorted(mention_rows(db, narrative.id)) == expected, narrative.id
    db.close()
