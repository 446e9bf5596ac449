"""Narratives as FTS5 queries: matching at ingest, rematch, versions, precision."""

import json

import pytest

from narrative_archive import store
from narrative_archive.config import Narrative
from narrative_archive.match import narratives
from tests.conftest import article

NICHOLSON = (
    "General John Nicholson told the BBC that Russia is arming the Taliban, sending weapons "
    "across the Tajik border. Moscow denied the claim."
)
DENIAL = (
    "The Russian foreign ministry said on Monday that accusations that Moscow supplied weapons "
    "to the Taliban were baseless and 'idle gossip'."
)
RUSSIAN = "Американский генерал заявил, что Россия вооружает талибов. В Москве это назвали ложью."
ARABIC = "قال قائد أمريكي إن روسيا تقوم بتسليح حركة طالبان وتزويدها بالأسلحة عبر طاجيكستان."
PEACE_TALKS = (
    "Moscow hosted a new round of peace talks with the Taliban on Tuesday. Russian foreign "
    "minister Sergei Lavrov urged the armed opposition and Kabul to agree a ceasefire; the "
    "Taliban delegation said weapons would be laid down only after foreign troops leave."
)
BOUNTIES = (
    "American intelligence officials concluded that a Russian military intelligence unit, the "
    "GRU, secretly offered bounties to Taliban-linked militants for killing coalition troops."
)


def save(db, url, text, **fields):
    article_id, _ = store.save_article(db, article(url, text, **fields), "example-news")
    return article_id


def matched(db, text, default_narratives, url="https://example.com/x"):
    article_id = save(db, url, text)
    return narratives.match_article(db, article_id, default_narratives)


def test_claim_and_denial_match(db, default_narratives):
    assert "russia-arming-taliban" in matched(db, NICHOLSON, default_narratives, "https://e.com/1")
    assert "russia-arming-taliban" in matched(db, DENIAL, default_narratives, "https://e.com/2")


@pytest.mark.parametrize("headline", [
    "Russia Is Sending Weapons to Taliban, Top U.S. General Confirms",
    "Russia denies arming the Taliban",
    "Top US general in Afghanistan says Russia is supplying Taliban",
    "Mattis: Russia trying to arm Taliban",
    "Gen. Nicholson: Russia providing weapons and fuel to Taliban",
    "Россия не поставляет оружие талибам, заявили в МИД",
])
def test_real_headlines_match(db, default_narratives, headline):
    assert "russia-arming-taliban" in matched(db, headline, default_narratives)


def test_peace_talks_are_not_a_mention(db, default_narratives):
    assert matched(db, PEACE_TALKS, default_narratives) == []


def test_russian_and_arabic_variants_match(db, default_narratives):
    assert matched(db, RUSSIAN, default_narratives, "https://e.com/ru") == ["russia-arming-taliban"]
    assert matched(db, ARABIC, default_narratives, "https://e.com/ar") == ["russia-arming-taliban"]


def test_other_narratives(db, default_narratives):
    assert matched(db, BOUNTIES, default_narratives) == ["russia-taliban-bounties"]
    assert matched(db, "Billions of dollars of US equipment abandoned by Afghan forces is now "
                       "in Taliban hands.", default_narratives, "https://e.com/3") == [
        "us-weapons-left-behind"]
    assert matched(db, "An audit found thousands of ghost soldiers on Afghan army payrolls.",
                   default_narratives, "https://e.com/4") == ["afghan-ghost-soldiers"]


@pytest.mark.parametrize("text", [
    "Russia arms the Taliban, officials say.",
    "Russia armed the Taliban in Helmand, officials say.",
    "Russia has been arming the Taliban, officials say.",
])
def test_english_stemming(db, text):
    narrative = Narrative("arms", "Arms", 'NEAR(russia "arm the taliban", 5) OR "russia arm taliban"')
    narratives.save_narratives(db, [narrative])
    assert matched(db, text, [narrative]) == ["arms"]


def test_prefix_near_and_scripts(db):
    cases = {
        "prefix": ("weapon*", "Weaponry was found.", True),
        "near": ("NEAR(russia taliban, 3)", "Russia and the Taliban met.", True),
        "far": ("NEAR(russia taliban, 3)", "Russia, it was said many times over, met the Taliban.",
                False),
        "cyrillic": ("талиб*", "Талибы захватили город.", True),
        "arabic": ("طالبان*", "سيطرت طالبان على المدينة", True),
    }
    for index, (name, (query, text, expected)) in enumerate(cases.items()):
        narrative = Narrative(name, name, query)
        narratives.save_narratives(db, [narrative])
        article_id = save(db, f"https://example.com/{index}", text)
        assert bool(narratives.match_article(db, article_id, [narrative])) is expected, name


def test_mention_records_version_snippet_and_terms(db, default_narratives):
    article_id = save(db, "https://example.com/n", NICHOLSON)
    narratives.match_article(db, article_id, default_narratives)
    mention = db["mentions"].get((article_id, "russia-arming-taliban"))
    assert mention["narrative_version"] == 1
    assert "<mark>Russia</mark>" in mention["snippet"]
    terms = json.loads(mention["terms"])
    assert {"russia", "arming", "taliban"} <= set(terms)
    phrase = Narrative("phrase", "phrase", '"arming the taliban" AND russia')
    narratives.save_narratives(db, [phrase])
    narratives.match_article(db, article_id, [phrase])
    terms = json.loads(db["mentions"].get((article_id, "phrase"))["terms"])
    assert "russia" in terms and "arming the taliban" in terms  # phrases stay whole


def test_check_query_reports_fts5_errors():
    assert narratives.check_query("russia AND taliban") is None
    assert narratives.check_query("russia AND") == 'fts5: syntax error near ""'
    assert narratives.check_query("NEAR(russia taliban").startswith("fts5: syntax error")


def test_rematch_after_query_change(db):
    broad = Narrative("n", "N", "taliban")
    narratives.save_narratives(db, [broad])
    weapons = save(db, "https://example.com/w", "Russia sent weapons to the Taliban.")
    talks = save(db, "https://example.com/t", "The Taliban attended talks in Moscow.")
    assert narratives.rematch(db, broad) == {"matched": 2, "added": 2, "removed": 0}
    first_matched_at = db["mentions"].get((weapons, "n"))["matched_at"]

    narrow = Narrative("n", "N", "taliban AND weapon*")
    assert narratives.save_narratives(db, [narrow]) == ["n"]
    assert narratives.narrative_version(db, "n") == 2
    assert narratives.rematch(db, narrow) == {"matched": 1, "added": 0, "removed": 1}
    rows = {r["article_id"]: r for r in db["mentions"].rows_where("narrative_id = 'n'")}
    assert list(rows) == [weapons]
    assert rows[weapons]["narrative_version"] == 2
    assert rows[weapons]["matched_at"] == first_matched_at
    assert talks not in rows
    history = [(r["version"], r["query"]) for r in db["narrative_versions"].rows_where(
        "narrative_id = 'n'", order_by="version")]
    assert history == [(1, "taliban"), (2, "taliban AND weapon*")]
    # Unchanged config: no new version.
    assert narratives.save_narratives(db, [narrow]) == []


def test_a_rematch_that_changes_nothing_rewrites_no_mention(db):
    # At 1M a rematch that kept 281,338 mentions spent most of its time writing them again.
    narrative = Narrative("n", "N", "taliban")
    narratives.save_narratives(db, [narrative])
    weapons = save(db, "https://example.com/w", "Russia sent weapons to the Taliban.")
    save(db, "https://example.com/t", "The Taliban attended talks in Moscow.")
    assert narratives.rematch(db, narrative) == {"matched": 2, "added": 2, "removed": 0}
    db.conn.executescript(
        "CREATE TEMP TABLE rewrites (n INTEGER); INSERT INTO rewrites VALUES (0);"
        "CREATE TEMP TRIGGER count_rewrites AFTER UPDATE ON main.mentions BEGIN"
        " UPDATE rewrites SET n = n + 1; END;")
    assert narratives.rematch(db, narrative) == {"matched": 2, "added": 0, "removed": 0}
    assert db.conn.execute("SELECT n FROM rewrites").fetchone() == (0,)
    # an edited text gives its mention a new snippet: that one is written, the other is not
    db.conn.execute("UPDATE articles SET text = 'Russia sent more weapons to the Taliban.'"
                    " WHERE id = ?", [weapons])
    assert narratives.rematch(db, narrative) == {"matched": 2, "added": 0, "removed": 0}
    assert db.conn.execute("SELECT n FROM rewrites").fetchone() == (1,)
    assert "more" in db["mentions"].get((weapons, "n"))["snippet"]


def test_edited_article_loses_a_mention_it_no_longer_has(db):
    narrative = Narrative("n", "N", "taliban AND weapon*")
    narratives.save_narratives(db, [narrative])
    data = article("https://example.com/e", "Russia sent weapons to the Taliban.")
    article_id, _ = store.save_article(db, data, "example-news")
    assert narratives.match_article(db, article_id, [narrative]) == ["n"]
    store.save_article(db, dict(data, text="Correction: the Taliban bought fuel."), "example-news")
    assert narratives.match_article(db, article_id, [narrative]) == []
    assert db["mentions"].count == 0


# The two rows and the query of the live FTS5 snippet() bug (FIELD_NOTES): snippet() raises
# "database disk image is malformed" on the second row, alone or in a scan.
SNIPPET_BUG_QUERY = 'NEAR("russian weapons" taliban) OR NEAR(moscow taliban)'
SNIPPET_BUG_ROWS = [
    ("Smuggled", "officials said Russian weapons were smuggled to the Taliban"),
    ("Moscow and the Taliban", "Moscow weapons Taliban Russian."),
]


def test_snippet_bug_rows_both_get_their_mention_at_ingest(db):
    narrative = Narrative("bug", "Bug", SNIPPET_BUG_QUERY)
    narratives.save_narratives(db, [narrative])
    for index, (title, text) in enumerate(SNIPPET_BUG_ROWS):
        article_id = save(db, f"https://example.com/bug/{index}", text, title=title)
        assert narratives.match_article(db, article_id, [narrative]) == ["bug"]
    snippets = [r["snippet"] for r in db["mentions"].rows_where("narrative_id = 'bug'",
                                                               order_by="article_id")]
    assert len(snippets) == 2
    assert "<mark>Moscow</mark>" in snippets[1] and "<mark>Taliban</mark>" in snippets[1]


def test_rematch_survives_the_snippet_bug_and_one_narrative_failing(db, caplog):
    bug = Narrative("bug", "Bug", SNIPPET_BUG_QUERY)
    other = Narrative("other", "Other", "taliban")
    narratives.save_narratives(db, [bug, other])
    for index, (title, text) in enumerate(SNIPPET_BUG_ROWS):
        save(db, f"https://example.com/bug/{index}", text, title=title)
    assert narratives.rematch(db, bug) == {"matched": 2, "added": 2, "removed": 0}
    terms = [json.loads(r["terms"]) for r in db["mentions"].rows_where(
        "narrative_id = 'bug'", order_by="article_id")]
    assert terms[1] == ["moscow", "taliban"]

    broken = Narrative("broken", "Broken", "taliban")
    results = narratives.rematch_many(db, [broken, other])  # "broken" is not in the archive
    assert "error" in results["broken"] and "run init" in results["broken"]["error"]
    assert results["other"] == {"matched": 2, "added": 2, "removed": 0}
    assert "broken" in caplog.text


def test_the_snippets_a_rematch_needs_are_cut_from_highlight_where_snippet_fails(
        db, monkeypatch, caplog):
    # many hits: the snippets they need come from one scan, which cuts only theirs
    monkeypatch.setattr("narrative_archive.store.rematch.ALONE_MOST", 0)
    monkeypatch.setattr("narrative_archive.store.rematch.ALONE_SHARE", 10**9)
    bug = Narrative("bug", "Bug", SNIPPET_BUG_QUERY)
    narratives.save_narratives(db, [bug])
    crawled_id, new_id = (save(db, f"https://example.com/bug/{index}", text, title=title)
                          for index, (title, text) in enumerate(SNIPPET_BUG_ROWS))
    narratives.match_article(db, crawled_id, [bug])
    crawled = db["mentions"].get((crawled_id, "bug"))
    caplog.set_level("INFO", logger="narrative_archive")
    assert narratives.rematch(db, bug) == {"matched": 2, "added": 1, "removed": 0}
    assert "cut from highlight()" in caplog.text
    assert db["mentions"].get((crawled_id, "bug")) == crawled
    assert json.loads(db["mentions"].get((new_id, "bug"))["terms"]) == ["moscow", "taliban"]


# FTS5 marks other words in a scan over many rows than in one article alone: after the
# first row (its NEAR fails: "снабжает" stands too far from "ISIS"), the scan marks no word
# of the second, which the article alone marks "Пакистан поддерживает ... талибов" (SQLite
# 3.40.1 to 3.54.1; docs/narratives.md, "Snippets"). Reduced from the shipped Pakistan
# query's Russian variant and its examples.
SCAN_MARKS_QUERY = ('((пакистан OR isi) AND (NEAR(пакистан поддерживает талибов, 10)'
                    ' OR NEAR(isi снабжает талибов, 10))) NOT ("пакистан талибов")')
SCAN_MARKS_ROWS = ["ISIS-K Russia Россия не поставляет оружие заявили в МИД Москва снабжает талибов",
                   "Пакистан поддерживает афганских талибов, заявил американский генерал"]


def test_a_rematch_keeps_the_snippet_the_crawl_cut_from_the_article_alone(db):
    narrative = Narrative("pak", "Pak", SCAN_MARKS_QUERY)
    narratives.save_narratives(db, [narrative])
    first = save(db, "https://example.com/isis", SCAN_MARKS_ROWS[0])
    article_id = save(db, "https://example.com/pak", SCAN_MARKS_ROWS[1])
    for each in (first, article_id):
        narratives.match_article(db, each, [narrative])  # the crawl: each article alone
    crawled = db["mentions"].get((article_id, "pak"))
    assert "<mark>Пакистан</mark> <mark>поддерживает</mark>" in crawled["snippet"]
    assert json.loads(crawled["terms"]) == ["пакистан", "поддерживает", "талибов"]
    scan = db.conn.execute("SELECT rowid, highlight(articles_fts, 1, '[', ']') FROM articles_fts"
                           " WHERE articles_fts MATCH ?", [SCAN_MARKS_QUERY]).fetchall()
    assert scan == [(article_id, SCAN_MARKS_ROWS[1])], "the scan marks every word now: a new trigger"
    history = db["mention_history"].count

    assert narratives.rematch(db, narrative) == {"matched": 1, "added": 0, "removed": 0}
    assert db["mentions"].get((article_id, "pak")) == crawled  # snippet, terms, stance kept
    assert db["mention_history"].count == history

    # a new version of the query: the few kept mentions get their snippet the crawl's way
    narratives.save_narratives(db, [Narrative("pak", "Pak", SCAN_MARKS_QUERY + " NOT zz")])
    assert narratives.rematch(db, narrative) == {"matched": 1, "added": 0, "removed": 0}
    rematched = db["mentions"].get((article_id, "pak"))
    assert rematched["narrative_version"] == 2
    assert (rematched["snippet"], rematched["terms"]) == (crawled["snippet"], crawled["terms"])
    assert rematched["stance"] == crawled["stance"]


def test_a_rematch_after_a_query_change_cuts_new_snippets_only_where_the_change_marks(
        db, monkeypatch):
    # many hits: the snippets they need come from one scan of the archive (FTS5's marks)
    monkeypatch.setattr("narrative_archive.store.rematch.ALONE_MOST", 0)
    monkeypatch.setattr("narrative_archive.store.rematch.ALONE_SHARE", 10**9)
    narrative = Narrative("pak", "Pak", SCAN_MARKS_QUERY)
    narratives.save_narratives(db, [narrative])
    first = save(db, "https://example.com/isis", SCAN_MARKS_ROWS[0])
    article_id = save(db, "https://example.com/pak", SCAN_MARKS_ROWS[1])
    kabul = save(db, "https://example.com/kabul", "Талибы вошли в Кабул без боя")
    for each in (first, article_id, kabul):
        narratives.match_article(db, each, [narrative])  # the crawl: each article alone
    crawled = db["mentions"].get((article_id, "pak"))
    history = db["mention_history"].count

    # a new variant: the Pakistan article holds none of its words, the Kabul one does
    changed = Narrative("pak", "Pak", SCAN_MARKS_QUERY, queries=(("ru", "кабул"),))
    narratives.save_narratives(db, [changed])
    scan = dict(db.conn.execute("SELECT rowid, highlight(articles_fts, 1, '[', ']')"
                                " FROM articles_fts WHERE articles_fts MATCH ?",
                                [changed.match_query]).fetchall())
    assert scan[article_id] == SCAN_MARKS_ROWS[1], "the scan marks every word now: a new trigger"
    assert narratives.rematch(db, changed) == {"matched": 2, "added": 1, "removed": 0}
    rematched = db["mentions"].get((article_id, "pak"))
    assert rematched["narrative_version"] == 2
    assert {key: rematched[key] for key in ("snippet", "terms", "stance", "stance_confidence")} \
        == {key: crawled[key] for key in ("snippet", "terms", "stance", "stance_confidence")}
    assert db["mention_history"].count == history + 2  # the new version's, the Kabul article's
    assert "<mark>Кабул</mark>" in db["mentions"].get((kabul, "pak"))["snippet"]

    # a variant whose words the Pakistan article holds apart: it does not match there, so it
    # marks nothing, and the snippet is kept
    near = Narrative("pak", "Pak", SCAN_MARKS_QUERY,
                     queries=(("ru", "кабул"), ("uk", "NEAR(генерал кабул, 2)")))
    narratives.save_narratives(db, [near])
    assert narratives.rematch(db, near) == {"matched": 2, "added": 0, "removed": 0}
    assert db["mentions"].get((article_id, "pak"))["snippet"] == crawled["snippet"]

    # a change the Pakistan article matches: its snippet is cut again
    wider = Narrative("pak", "Pak", SCAN_MARKS_QUERY, queries=(("ru", "кабул OR генерал"),))
    narratives.save_narratives(db, [wider])
    narratives.rematch(db, wider)
    assert json.loads(db["mentions"].get((article_id, "pak"))["terms"]) != json.loads(crawled["terms"])


def test_mention_history_keeps_what_each_version_matched(db):
    broad = Narrative("n", "N", "taliban")
    narratives.save_narratives(db, [broad])
    weapons = save(db, "https://example.com/w", "Russia sent weapons to the Taliban.")
    talks = save(db, "https://example.com/t", "The Taliban attended talks in Moscow.")
    narratives.rematch(db, broad)
    narrow = Narrative("n", "N", "taliban AND weapon*")
    narratives.save_narratives(db, [narrow])
    assert narratives.rematch(db, narrow)["removed"] == 1

    def held(version):
        return {r["article_id"]: r for r in db["mention_history"].rows_where(
            "narrative_id = 'n' AND narrative_version = ?", [version])}

    version_1, version_2 = held(1), held(2)
    assert set(version_1) == {weapons, talks}  # what version 1 matched, after version 2
    assert set(version_2) == {weapons}
    assert version_1[talks]["removed_at"] and version_1[talks]["removed_in_version"] == 2
    assert "<mark>Taliban</mark>" in version_1[talks]["snippet"]
    assert version_1[weapons]["removed_at"] is None  # it still holds (as version 2)

    # An edit that loses the mention is history too.
    store.save_article(db, article("https://example.com/w", "Correction: the Taliban bought fuel."),
                       "example-news")
    narratives.match_article(db, weapons, [narrow])
    assert held(2)[weapons]["removed_at"] is not None
    assert db["mentions"].count == 0
