"""Charts that do not mislead (issue 20): one colour per narrative and per stance everywhere,
integer axes for counts, shares only where the denominator was collected, no line across
missing data, empty periods as zero."""

from __future__ import annotations

import re

import pytest

from narrative_archive import store
from narrative_archive.match import narratives
from narrative_archive.publish import charts, serve
from tests.datasette_fixtures import NARRATIVES, Client, build_archive, make_datasette

DASHBOARD = serve.load_dashboards()["narratives"]["charts"]


def colours(chart: str) -> list[str]:
    return DASHBOARD[chart]["display"]["encoding"]["color"].get("scale", {}).get("range", [])


def test_no_colour_means_two_things():
    stances = set(charts.STANCE_COLOURS.values())
    narrative = set(charts.NARRATIVE_COLOURS)
    outlets, kinds = set(colours("attention")), set(colours("top-outlets"))
    assert not stances & narrative and not stances & outlets and not stances & kinds
    assert not narrative & outlets and not narrative & kinds
    # the dashboard's stance chart uses the page's stance colours
    scale = DASHBOARD["stance"]["display"]["encoding"]["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"], strict=True)) == charts.STANCE_COLOURS


def test_count_axes_are_integers():
    for chart, channel in (("timeline", "y"), ("stance", "y"), ("top-outlets", "x")):
        axis = DASHBOARD[chart]["display"]["encoding"][channel]["axis"]
        assert (axis["tickMinStep"], axis["format"]) == (1, "d"), chart


def test_attention_is_points_of_shares_over_collected_output():
    attention = DASHBOARD["attention"]
    assert attention["display"]["mark"]["type"] == "point"  # no line across missing months
    assert "via in ('feed', 'sitemap')" in attention["query"]
    assert "feeds and sitemaps" in attention["title"] and "no denominator" in attention["title"]


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    path = tmp_path_factory.mktemp("charts") / "archive.db"
    build_archive(path)  # every article via feed
    db = store.open_db(path)
    # a month where only a backfilled copy (via archive) mentions it: no denominator collected
    article_id, _ = store.save_article(db, {
        "url": "https://www.reuters.com/backfilled", "title": "Russia arms the Taliban",
        "text": "Officials said Russia is arming the Taliban.",
        "published_at": "2019-09-10T10:00:00Z"}, "reuters", via="archive")
    narratives.match_article(db, article_id, NARRATIVES)
    db.close()
    return path


def test_attention_has_no_share_where_no_output_was_collected(archive):
    client = Client(make_datasette(archive))
    sql = re.sub(r"\[\[.*?\]\]", "", DASHBOARD["attention"]["query"])
    rows = client.json("/archive.json", params={"sql": sql, "_shape": "objects"})["rows"]
    by_month = {(row["outlet"], row["month"]): row for row in rows}
    assert ("Reuters", "2019-09-01") not in by_month  # not a false 100 %
    march = by_month[("Reuters", "2017-03-01")]
    assert (march["mentioning"], march["articles"], march["percent"]) == (1, 1, 100.0)
    weather = by_month[("Reuters", "2019-05-01")]  # collected, no mention: a true 0
    assert (weather["mentioning"], weather["percent"]) == (0, 0.0)


def test_the_dashboard_colours_each_narrative_as_its_page_does(archive):
    datasette = make_datasette(archive)
    client = Client(datasette)
    listed = client.json("/narratives.json")["narratives"]
    color = datasette.plugin_config("datasette-dashboards")["narratives"]["charts"]["timeline"][
        "display"]["encoding"]["color"]
    assert color["scale"] == {"domain": [n["title"] for n in listed],
                              "range": [n["colour"] for n in listed]}
    assert [n["id"] for n in listed] == sorted(o.id for o in NARRATIVES)
