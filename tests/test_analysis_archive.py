"""The analysis in the archive: stance per mention, stories, citations, attention, and
what Datasette shows of them, over a real SQLite file built through the ingest calls."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from narrative_archive import store
from narrative_archive.analysis import archive as analysis
from narrative_archive.analysis import citations
from narrative_archive.analysis.cues import CUE_LISTS, load_cues
from narrative_archive.cli import cli
from narrative_archive.config import ConfigError, Narrative, load_narratives
from narrative_archive.match import narratives
from tests.datasette_fixtures import Client, make_datasette

RA = Narrative(id="russia-arming-taliban", title="Russia is arming the Taliban",
               query="NEAR(russia* arm* taliban*, 20) OR NEAR(russia* weapon* taliban*, 20)")
OUTLETS = [
    {"id": "reuters", "name": "Reuters", "url": "https://www.reuters.com/",
     "domains": ["reuters.com"], "feeds": ["https://www.reuters.com/feed"], "kind": "wire"},
    {"id": "tass", "name": "TASS", "url": "https://tass.com/", "domains": ["tass.com"],
     "feeds": ["https://tass.com/rss"], "kind": "state"},
    {"id": "dawn", "name": "Dawn", "url": "https://www.dawn.com/", "domains": ["dawn.com"],
     "sitemaps": ["https://www.dawn.com/sitemap.xml"], "kind": "commercial"},
]
WIRE = ("The top U.S. commander in Europe, General Curtis Scaparrotti, told a congressional "
        "committee on Thursday that he had seen Russian influence increasing in the region and "
        "that Russia may be supplying weapons to the Taliban in Afghanistan, adding to concern "
        "in Washington about Moscow's aims in the war.")
DENIAL = ("The Russian Foreign Ministry said on Friday that claims that Russia supplies weapons "
          "to the Taliban were groundless and were meant to justify the failures of the US "
          "military campaign in Afghanistan.")
ARTICLES = {  # key: (outlet, published_at, url, title, text, links)
    "wire": ("reuters", "2017-03-23T17:05:00Z", "https://www.reuters.com/world/general-russia",
             "U.S. general says Russia may be supplying the Taliban", WIRE, []),
    "copy": ("dawn", "2017-03-23T21:00:00Z", "https://www.dawn.com/news/general-russia",
             "U.S. general says Russia may be supplying the Taliban",
             "WASHINGTON: " + WIRE + " This article originally appeared on Reuters.", []),
    "denial": ("tass", "2017-03-24T10:15:00Z", "https://tass.com/politics/groundless",
               "Moscow dismisses claims of arms supplies to Taliban as groundless",
               DENIAL + " According to Reuters, the US general gave no evidence.",
               ["https://www.reuters.com/world/general-russia"]),
    "other": ("reuters", "2017-03-25T08:00:00Z", "https://www.reuters.com/world/wheat",
              "Afghan wheat harvest expected to rise",
              "Afghanistan expects a larger wheat harvest this year after good rains.", []),
}


def ingest(db, key, narrative_list=(RA,), outlets=None):
    outlet_id, published, url, title, text, links = ARTICLES[key]
    article = {"url": url, "title": title, "text": text, "published_at": published,
               "language": "en", "links": links}
    article_id, _ = store.save_article(db, article, outlet_id, via="feed", fetched_at=published)
    narratives.match_article(db, article_id, list(narrative_list))
    analysis.analyse_article(db, article_id, article, outlets or citations.outlet_index(
        [(o["id"], o["name"], o["domains"]) for o in OUTLETS]))
    return article_id


@pytest.fixture
def db(tmp_path):
    db = store.open_db(tmp_path / "archive.db")
    store.save_outlets(db, OUTLETS)
    narratives.save_narratives(db, [RA])
    return db


def mention(db, article_id):
    return db.execute("SELECT stance, stance_confidence, stance_evidence FROM mentions"
                      " WHERE article_id = ?", [article_id]).fetchone()


def test_stance_and_its_evidence_are_stored_at_ingest(db):
    wire, denial = ingest(db, "wire"), ingest(db, "denial")
    stance, confidence, evidence = mention(db, denial)
    assert stance == "disputes" and 0 < confidence <= 1
    evidence = json.loads(evidence)
    assert "groundless" in evidence["sentence"] and any("groundless" in c for c in evidence["cues"])
    assert mention(db, wire)[0] == "reports"  # "general says", "told a committee"
    # mention_history keeps the stance of the version it held in
    assert db.execute("SELECT stance FROM mention_history WHERE article_id = ?",
                      [denial]).fetchone()[0] == "disputes"


def test_rematch_labels_the_mentions_it_adds(db):
    narrow = Narrative(id=RA.id, title=RA.title, query="bounty")
    narratives.save_narratives(db, [narrow])
    denial = ingest(db, "denial", [narrow])
    assert mention(db, denial) is None
    narratives.save_narratives(db, [RA])
    assert narratives.rematch(db, RA)["added"] == 1
    assert mention(db, denial)[0] == "disputes"
    assert store.mentions_pending_stance(db) == []


def test_many_pending_stances_are_classified_in_worker_processes(db, monkeypatch):
    """Past PARALLEL_STANCES pending mentions, compute_stances starts a pool of its own:
    the stances are those classified in this process."""
    ids = [ingest(db, key) for key in ("wire", "denial", "other")]
    labelled = [mention(db, article_id) for article_id in ids]
    assert store.reset_stance(db) == 2
    monkeypatch.setattr(analysis, "PARALLEL_STANCES", 1)
    started = []
    real_pool = analysis.stance_pool
    monkeypatch.setattr(analysis, "stance_pool", lambda: started.append(1) or real_pool(2))
    assert analysis.compute_stances(db, [RA], batch=1) == 2
    assert started == [1]
    assert [mention(db, article_id) for article_id in ids] == labelled


def test_a_narratives_stance_key_extends_the_cue_lists(db, tmp_path):
    text = "Officials in Moscow pooh-poohed the story that Russia is arming the Taliban."
    ARTICLES["poohpooh"] = ("tass", "2017-04-01T09:00:00Z", "https://tass.com/p", None, text, [])
    try:
        plain = ingest(db, "poohpooh")
        assert mention(db, plain)[0] != "disputes"
        path = tmp_path / "narratives.yml"
        path.write_text(
            "- id: russia-arming-taliban\n  title: Russia arms the Taliban\n"
            f"  query: '{RA.query}'\n  stance:\n    en:\n      denial: [pooh-pooh*]\n")
        (configured,) = load_narratives(path, narratives.check_query)
        assert configured.stance == (("en", "denial", "add", ("pooh-pooh*",)),)
        store.reset_stance(db)
        analysis.compute_stances(db, [configured])
        stance, _, evidence = mention(db, plain)
        assert stance == "disputes" and "pooh" in json.dumps(json.loads(evidence)["cues"])
    finally:
        del ARTICLES["poohpooh"]


def test_a_narratives_stance_key_names_who_speaks(db, tmp_path):
    """`speakers` and `unnamed` extend config/stance.yml's lists like the other cue lists:
    a body the shipped lists do not know is named as the one who disputes."""
    text = "The jirga dismissed reports that Russia is arming the Taliban as baseless."
    ARTICLES["shura"] = ("tass", "2017-04-02T09:00:00Z", "https://tass.com/s", None, text, [])
    try:
        plain = ingest(db, "shura")
        assert db.execute("SELECT stance_speaker_name FROM mentions").fetchone() == (None,)
        path = tmp_path / "narratives.yml"
        path.write_text(
            "- id: russia-arming-taliban\n  title: Russia arms the Taliban\n"
            f"  query: '{RA.query}'\n  stance:\n    en:\n      speakers: [jirga]\n"
            "      denial: [dismiss*]\n")
        (configured,) = load_narratives(path, narratives.check_query)
        store.reset_stance(db)
        analysis.compute_stances(db, [configured])
        assert mention(db, plain)[0] == "disputes"
        speaker = db.execute("SELECT stance_speaker, stance_speaker_name FROM mentions"
                             " WHERE article_id = ?", [plain]).fetchone()
        assert speaker == ("official", "jirga")
    finally:
        del ARTICLES["shura"]


def test_a_narratives_stance_key_takes_every_list_of_stance_yml(tmp_path):
    """docs/analysis.md: any list of config/stance.yml may be extended or replaced by a
    narrative's `stance:` key."""
    path = tmp_path / "narratives.yml"
    lists = "".join(f"      {name}: [vouched]\n" for name in CUE_LISTS)
    path.write_text("- id: n\n  title: N\n  query: taliban\n  stance:\n    en:\n" + lists)
    (configured,) = load_narratives(path, narratives.check_query)
    assert {name for _, name, _, _ in configured.stance} == set(CUE_LISTS)
    cues = load_cues(override=configured.stance_override())
    assert all(("vouched",) in getattr(cues["en"], name) for name in ("hedges", "endorsements"))


@pytest.mark.parametrize("stance, problem", [
    ("en: {denail: [x]}", "stance.en.denail: unknown cue list"),
    ("xx: {denial: [x]}", "stance.xx: 'xx' is not an ISO 639-1"),
    ("en: {denial: {replace: x}}", "stance.en.denial: expected a list of cue words"),
    ("'*': {negation_window: [3]}", "stance.*.negation_window: expected [words before, words after]"),
    ("en: {telling: [did not say]}", "stance.en.telling: expected single words"),
    ("en: {evidence: ['*proof']}", "stance.en.evidence: expected single words"),
])
def test_a_bad_stance_key_names_file_key_and_line(tmp_path, stance, problem):
    path = tmp_path / "narratives.yml"
    path.write_text("- id: n\n  title: N\n  query: taliban\n"
                    f"  stance: {{{stance}}}\n")
    with pytest.raises(ConfigError) as error:
        load_narratives(path, narratives.check_query)
    assert problem in str(error.value) and "narratives.yml" in str(error.value)
    assert "line 4" in str(error.value)


def test_copies_join_the_story_of_the_earliest_article_whatever_arrives_first(db):
    copy = ingest(db, "copy")  # the copy is crawled before the wire original
    wire = ingest(db, "wire")
    other = ingest(db, "other")
    story = dict(db.execute("SELECT id, story_id FROM articles").fetchall())
    assert story[copy] == story[wire] == wire and story[other] == other
    daily = db.execute("SELECT articles, stories FROM narrative_daily WHERE day = '2017-03-23'"
                       ).fetchone()
    assert daily == (2, 1)
    first = {row["outlet"]: row for row in db.query("SELECT * FROM narrative_first_seen")}
    assert first["dawn"]["story_role"] == "pickup" and first["dawn"]["story_outlet"] == "reuters"
    assert first["reuters"]["story_role"] == "original"
    assert {r[0] for r in db.execute("SELECT article_id FROM story_copies")} == {wire, copy}


def test_a_new_articles_candidates_are_read_from_the_bucket_index_alone(db):
    ingest(db, "wire")
    keys = [row[0] for row in db.execute("SELECT bucket FROM story_buckets")]
    plan = " ".join(row[3] for row in db.execute(
        "EXPLAIN QUERY PLAN SELECT article_id FROM story_buckets"
        f" WHERE bucket IN ({', '.join('?' * len(keys))})", keys))
    assert "COVERING INDEX story_buckets_bucket_article" in plan
    assert analysis.ArchiveStorage(db).candidates(keys) == {1}


def test_analyse_reclusters_exactly_and_reports_counts(db, tmp_path):
    for key in ("copy", "wire", "denial", "other"):
        ingest(db, key)
    db.execute("UPDATE articles SET story_id = id")  # as an archive from before stories
    db.conn.commit()
    db.close()
    result = CliRunner().invoke(cli, ["analyse", "--db", str(tmp_path / "archive.db")])
    assert result.exit_code == 0, result.output
    assert "4 articles in 3 stories (1 copies)" in result.output
    assert "1 disputes" in result.output
    again = store.open_db(tmp_path / "archive.db")
    assert again.execute("SELECT count(DISTINCT story_id) FROM articles").fetchone()[0] == 3
    timeline = CliRunner().invoke(cli, ["timeline", RA.id, "--db", str(tmp_path / "archive.db"),
                                        "--format", "csv"])
    assert timeline.output.splitlines()[:2] == ["day,articles,stories,outlets",
                                                "2017-03-23,2,1,2"]


def test_citations_point_at_archived_articles_even_when_they_arrive_later(db):
    denial = ingest(db, "denial")  # links to the wire story, not archived yet
    row = db.execute("SELECT target_article_id FROM citations WHERE kind = 'link'").fetchone()
    assert row == (None,)
    wire = ingest(db, "wire")
    cites = {(r["kind"], r["outlet_id"], r["target_article_id"])
             for r in db.query("SELECT * FROM citations WHERE article_id = ?", [denial])}
    assert cites == {("link", "reuters", wire), ("attribution", "reuters", None)}
    edges = list(db.query("SELECT * FROM narrative_citations"))
    assert {(e["citing_article_id"], e["cited_article_id"], e["kind"]) for e in edges} == {
        (denial, wire, "link"), (denial, wire, "attribution")}
    assert [r["article_id"] for r in db.query("SELECT * FROM narrative_origins")] == [wire]


def test_outlet_attention_is_a_share_of_the_outlets_output_and_flags_search_only_outlets(db):
    ingest(db, "wire")
    ingest(db, "other")
    found = store.ensure_outlet_for_domain(db, "example.org")
    store.save_article(db, {"url": "https://example.org/a", "title": "Russia arming the Taliban",
                            "text": "Russia is arming the Taliban, a blog says.",
                            "published_at": "2017-03-23T10:00:00Z"}, found, via="search")
    narratives.match_article(db, db.execute("SELECT max(id) FROM articles").fetchone()[0], [RA])
    rows = {(r["outlet"], r["period_kind"]): r for r in db.query("SELECT * FROM outlet_attention")}
    reuters = rows[("reuters", "month")]
    assert (reuters["mentioning"], reuters["articles"], reuters["share"], reuters["whole_output"]) \
        == (1, 2, 0.5, 1)
    assert rows[("example.org", "week")]["whole_output"] == 0


def test_datasette_shows_who_disputed_it_and_the_article_pages_copies_and_citations(db, tmp_path):
    wire, copy, denial = ingest(db, "wire"), ingest(db, "copy"), ingest(db, "denial")
    db.close()
    client = Client(make_datasette(tmp_path / "archive.db"))
    disputed = client.rows("/archive/who_disputed_it.json?narrative=&stance=")
    assert [(r["article_id"], r["outlet"]) for r in disputed] == [(denial, "TASS")]
    assert "groundless" in disputed[0]["evidence_sentence"]
    assert "groundless" in disputed[0]["evidence_cues"]
    facet = client.json("/archive/mention_articles.json?_facet=stance")
    assert {f["value"]: f["count"] for f in facet["facet_results"]["stance"]["results"]} == {
        "reports": 2, "disputes": 1}
    pickups = client.rows("/archive/story_pickups.json?narrative=" + RA.id)
    assert [(r["article_id"], r["original"]) for r in pickups] == [(wire, 1), (copy, 0)]
    page = client.get(f"/archive/articles/{wire}").text
    assert "Other copies of this story (1)" in page and "Dawn" in page
    assert "Cited by (1)" in page and "Moscow dismisses claims" in page
    page = client.get(f"/archive/articles/{denial}").text
    assert "Cites (2)" in page and "According to Reuters" in page
    assert 'class="stance stance-disputes"' in page
    chain = client.rows(f"/archive/citation_chain.json?narrative=&article={wire}")
    assert {(r["cited_article_id"], r["citing_article_id"]) for r in chain} == {(wire, denial)}


@pytest.mark.timeout(180)
def test_dashboard_draws_the_stance_split_and_the_attention_series(tmp_path):
    """On the demo archive, served by a real `narrative-archive serve`, in headless Chromium."""
    import sys

    from narrative_archive.publish import serve
    from tests.test_browser import CHROMIUM_ARGS, find_chromium, serving

    chromium = find_chromium()
    if chromium is None:
        pytest.skip("chromium not found (install Debian's package: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    sys.path.insert(0, str(serve.DATASETTE_DIR))
    try:
        from demo import build_demo_archive
    finally:
        sys.path.remove(str(serve.DATASETTE_DIR))
    db_path = tmp_path / "demo.db"
    build_demo_archive(db_path)
    with serving(db_path) as base:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.route("**/*", lambda route: route.continue_()
                           if route.request.url.startswith(base + "/") else route.abort())
                page.goto(f"{base}/-/dashboards/narratives?narrative=russia-arming-taliban")
                page.wait_for_selector("#chart-stance svg g.mark-rect path", timeout=30000)
                page.wait_for_selector("#chart-attention svg g.mark-symbol path", timeout=30000)
                bars = page.locator("#chart-stance svg g.mark-rect path")
                labels = {bars.nth(i).get_attribute("aria-label") or "" for i in range(bars.count())}
                for stance in ("asserts", "reports", "disputes"):
                    assert any(f"Stance: {stance}" in label for label in labels), labels
                points = page.locator("#chart-attention svg g.mark-symbol path")
                shares = [points.nth(i).get_attribute("aria-label") or "" for i in range(points.count())]
                assert any("% of the outlet's articles from its feeds and sitemaps: 0" in s
                           for s in shares)  # months without
                assert any("% of the outlet's articles from its feeds and sitemaps: 0" not in s
                           for s in shares)
            finally:
                browser.close()


def test_an_article_naming_its_own_outlet_does_not_cite_it(db):
    article = {"url": "https://www.reuters.com/world/own", "title": "Taliban deny arms",
               "text": "A Taliban spokesman told Reuters the group had received no weapons "
                       "from Russia, according to TASS.", "language": "en", "links": []}
    article_id, _ = store.save_article(db, article, "reuters", via="feed")
    analysis.analyse_article(db, article_id, article, citations.outlet_index(
        [(o["id"], o["name"], o["domains"]) for o in OUTLETS]))
    cited = db.execute("SELECT outlet_id FROM citations WHERE article_id = ?",
                       [article_id]).fetchall()
    assert cited == [("tass",)]
    # recite (every article again) keeps to the same rule
    analysis.recite(db, citations.outlet_index([(o["id"], o["name"], o["domains"])
                                                for o in OUTLETS]))
    assert db.execute("SELECT outlet_id FROM citations WHERE article_id = ?",
                      [article_id]).fetchall() == [("tass",)]


def test_exact_copies_of_a_short_wire_story_are_one_story_in_the_archive(db):
    short = "Russia may be supplying weapons to the Taliban, a U.S. general said."
    ids = []
    for outlet, url, published in (("dawn", "https://www.dawn.com/news/short", "2017-03-23T21:00:00Z"),
                                   ("reuters", "https://www.reuters.com/short", "2017-03-23T17:05:00Z")):
        article = {"url": url, "title": "Short", "text": short, "published_at": published,
                   "language": "en", "links": []}
        article_id, _ = store.save_article(db, article, outlet, via="feed", fetched_at=published)
        analysis.analyse_article(db, article_id, article, citations.outlet_index(
            [(o["id"], o["name"], o["domains"]) for o in OUTLETS]))
        ids.append(article_id)
    stories = dict(db.execute("SELECT id, story_id FROM articles WHERE id IN (?, ?)", ids).fetchall())
    assert stories == {ids[0]: ids[1], ids[1]: ids[1]}  # the earlier (Reuters) is the original
    assert analysis.restory(db)["copies"] == 1
