"""store.prefixes: a narrative's query with its prefix phrases spelt out (the rematch's
scans, issue #21) matches the same articles and marks the same words as the query as
written, over every shipped narrative's examples, the text fixtures and the rows of
FIELD_NOTES' snippet() bug; fts.excerpt cuts what it cut when it split every word."""

from __future__ import annotations

import sqlite3

import pytest

from narrative_archive import fts, store
from narrative_archive.config import Narrative, load_narratives
from narrative_archive.match import narratives as narrative_match
from narrative_archive.paths import DEFAULT_CONFIG_DIR
from narrative_archive.store.prefixes import MAX_TERMS, archive_terms, spelt_out
from tests.test_fts_parts import BUG, BUG_ROWS, example_texts, fixture_texts

BUG_PREFIXED = 'NEAR("russian weap"* taliban*) OR NEAR(moscow* talib*)'


@pytest.fixture(scope="module")
def shipped() -> tuple:
    return (*load_narratives(DEFAULT_CONFIG_DIR / "narratives.yml", fts.check_query), BUG)


@pytest.fixture(scope="module")
def index(shipped):
    """An in-memory articles_fts of the examples, the fixtures and the bug rows, each
    text its own row, the bug rows one after the other (as the scan that fails meets them)."""
    conn = fts.memory_index()
    texts = [*BUG_ROWS, *example_texts(shipped), *fixture_texts(), *BUG_ROWS]
    conn.executemany("INSERT INTO articles_fts (rowid, title, text) VALUES (?, '', ?)",
                     list(enumerate(texts, 1)))
    yield conn, texts
    conn.close()


def rows(conn, query: str) -> set[int]:
    return {row[0] for row in conn.execute(
        "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?", [query])}


@pytest.mark.parametrize("how", [{}, {"most": 1, "prune": True}])
def test_spelt_out_queries_match_the_same_articles(index, shipped, how):
    conn, texts = index
    terms = archive_terms(conn)
    matched = 0
    for query in [narrative.match_query for narrative in shipped] + [BUG_PREFIXED]:
        spelt = spelt_out(query, terms, **how)
        if how and "*" not in query:  # the bug's own query: all its words are there
            assert spelt is None
            continue
        if "*" not in query:  # the bug's own query: nothing to spell out
            assert spelt is None
            continue
        assert spelt is not None and spelt != query
        expected = rows(conn, query)
        assert rows(conn, spelt) == expected, query[:60]
        matched += len(expected)
    assert matched > 300
    assert {1, 2, len(texts) - 1, len(texts)} <= rows(conn, spelt_out(BUG_PREFIXED, terms,
                                                                      **how))


@pytest.mark.parametrize("how", [{}, {"most": 1, "prune": True}])
def test_spelt_out_queries_mark_the_same_words(index, shipped, how):
    """Article by article (an index of the one article: the highlight FTS5 gives it alone),
    the same marks with the query as written and spelt out."""
    conn, texts = index
    terms = archive_terms(conn)
    checked = 0
    for query in [narrative.match_query for narrative in shipped] + [BUG_PREFIXED]:
        spelt = spelt_out(query, terms, **how) or query
        for rowid in sorted(rows(conn, query))[:80]:
            one = fts.highlighted_rows([(1, "", texts[rowid - 1])], query)
            assert fts.highlighted_rows([(1, "", texts[rowid - 1])], spelt) == one
            checked += 1
    assert checked > 150


def vocabulary(*words: str):
    def terms(prefix: str, limit: int) -> list[str]:
        return [word for word in sorted(words) if word.startswith(prefix)][:limit]
    return terms


def test_near_groups_become_one_near_per_combination():
    terms = vocabulary("russia", "russian", "taliban", "weapon", "weaponri")
    assert spelt_out("NEAR(russia* arm taliban*, 6)", terms) == \
        '(NEAR("russia" arm "taliban", 6) OR NEAR("russian" arm "taliban", 6))'
    assert spelt_out("taliban* AND (weapons* OR rifles) NOT russia*", terms) == \
        '"taliban" AND (("weapon" OR "weaponri") OR rifles) NOT ("russia" OR "russian")'
    # a phrase's prefix is its last word's; the stemmer reads it as it reads a word
    assert spelt_out('NEAR("russian weapons"* taliban)', terms) == \
        '(NEAR("russian weapon" taliban) OR NEAR("russian weaponri" taliban))'


def test_what_is_not_spelt_out_stays_as_written():
    terms = vocabulary("russia", "russian", "taliban")
    assert spelt_out("taliban AND russia", terms) is None  # no prefix
    assert spelt_out("title: russia* AND taliban", terms) is None  # column filter
    assert spelt_out("^russia* taliban", terms) is None  # initial token
    assert spelt_out("NEAR(russia* taliban", terms) is None  # not valid FTS5
    many = vocabulary(*(f"ta{n:03d}" for n in range(MAX_TERMS + 1)), "russia")
    assert spelt_out("NEAR(ta* russia*)", many) == 'NEAR(ta* "russia")'
    # a prefix no term starts with: kept (it matches nothing either way)
    assert spelt_out("NEAR(zz* russia*)", terms) == 'NEAR(zz* russia*)'


def test_phrases_joined_by_plus_are_spelt_out_part_by_part():
    terms = vocabulary("russia", "russian", "taliban", "talib", "black", "hawk", "hawkish")
    assert spelt_out("russia* + taliban", terms) == '("russia" + taliban OR "russian" + taliban)'
    assert spelt_out('NEAR(moscow "black"* + "hawk"*, 8)', terms) == (
        '(NEAR(moscow "black" + "hawk", 8) OR NEAR(moscow "black" + "hawkish", 8))')
    assert spelt_out("russia* + talib*", terms, most=3) is None  # 2 x 2 phrases: too many
    assert spelt_out("russia* + gold OR taliban", terms, most=1, prune=True) == "taliban"
    # FTS5 reads the parts as one phrase of prefixes (a * inside quotes is none), and so
    # does the query spelt out from an archive's terms
    conn = fts.memory_index()
    texts = ["Талибы показали черные ястребы на параде.", "Талибам достались черных ястребов.",
             "Черный ястреб и талибы: ястреб черный.", "Талибы и черные вертолеты."]
    conn.executemany("INSERT INTO articles_fts (rowid, title, text) VALUES (?, '', ?)",
                     list(enumerate(texts, 1)))
    black_hawks = 'NEAR(талиб* "черн"* + "ястреб"*, 12)'
    assert rows(conn, black_hawks) == {1, 2, 3}
    assert rows(conn, 'NEAR(талиб* "черн* ястреб*", 12)') == set()
    spelt = spelt_out(black_hawks, archive_terms(conn))
    assert spelt is not None and '"черные" + "ястребы"' in spelt and rows(conn, spelt) == {1, 2, 3}
    conn.close()


def test_parts_no_article_can_match_are_left_out():
    terms = vocabulary("russia", "russian", "taliban", "arm", "weapon")
    assert spelt_out("NEAR(russia* arm taliban*, 6) OR NEAR(russia* bankroll* taliban*, 6)",
                     terms, most=1, prune=True) == 'NEAR(russia* arm "taliban", 6)'
    assert spelt_out("(taliban AND gold) OR (weapons NOT gold) OR NEAR(gold arm)", terms,
                     most=1, prune=True) == "(weapons)"
    assert spelt_out("gold OR silver*", terms, most=1, prune=True) == ""  # matches nothing
    assert spelt_out("taliban AND russia", terms, most=1, prune=True) is None  # all there


def test_scans_pruned_give_the_same_snippets(index, shipped):
    """The rematch's scans over an index of many articles (the bug's rows among them):
    the same rows and snippet() (or highlight()) values, pruned and spelt out or not."""
    conn, _ = index
    terms = archive_terms(conn)
    for query in [narrative.match_query for narrative in shipped] + [BUG_PREFIXED]:
        fast = spelt_out(query, terms, most=1, prune=True) or query
        for column in (fts.SNIPPET_SQL, fts.HIGHLIGHT_SQL):
            found = []
            for text in (query, fast):
                try:
                    found.append(conn.execute(f"SELECT rowid, {column} FROM articles_fts"
                                              " WHERE articles_fts MATCH ?", [text]).fetchall())
                except sqlite3.DatabaseError as error:  # the snippet() bug, met by both
                    found.append(str(error))
            assert found[0] == found[1], query[:60]


@pytest.mark.parametrize("alone_most", [0, 200])
def test_rematch_of_the_bug_query_with_prefixes(tmp_path, caplog, monkeypatch, alone_most):
    """The snippet() bug's rows, a prefix query: the highlight() scan runs spelt out (a
    rematch cuts a few hits' snippets from each article alone, as the crawl: `alone_most`
    0 makes it scan, as it does for many)."""
    monkeypatch.setattr("narrative_archive.store.rematch.ALONE_MOST", alone_most)
    db = store.open_db(tmp_path / "archive.db")
    store.save_outlets(db, [{"id": "example-news", "name": "Example"}])
    now = store.now()
    for index, text in enumerate([*BUG_ROWS, "nothing here", *BUG_ROWS]):
        store.save_article(db, {"url": f"https://example.com/{index}", "title": "T",
                                "text": text, "first_seen_at": now, "fetched_at": now},
                           "example-news")
    narrative = Narrative("bug", "Bug", BUG_PREFIXED)
    narrative_match.save_narratives(db, [narrative])
    with caplog.at_level("INFO", logger="narrative_archive"):
        result = store.rematch_mentions(db, "bug", narrative.match_query, 1)
    assert ("snippet() failed" in caplog.text) == (alone_most == 0)
    assert result == {"matched": 4, "added": 4, "removed": 0}
    marked = {row["article_id"]: row["terms"] for row in db["mentions"].rows}
    assert marked[2] == marked[5] and "moscow" in marked[2]


def excerpt_before(marked, tokens=fts.SNIPPET_TOKENS):
    """fts.excerpt as it was (every word of the text split), the reference."""
    if not marked:
        return marked
    words = marked.split()
    first = next((i for i, word in enumerate(words) if fts.MARK_OPEN in word), 0)
    start = max(0, first - tokens // 4)
    end = min(len(words), start + tokens)
    opened = sum(w.count(fts.MARK_OPEN) - w.count(fts.MARK_CLOSE) for w in words[start:end])
    while end < len(words) and opened > 0:
        opened += words[end].count(fts.MARK_OPEN) - words[end].count(fts.MARK_CLOSE)
        end += 1
    text = " ".join(words[start:end])
    return ("…" if start > 0 else "") + text + ("…" if end < len(words) else "")


def test_excerpt_splits_only_around_the_mark_and_cuts_the_same():
    import random
    rng = random.Random(21)
    pieces = ["a", "bb", "<mark>x", "y</mark>", "<mark>z</mark>", "w.", "(<mark>q", "r)</mark>,",
              "é", "\u3000", "\n", "\t", "x<mark>y</mark>z", "<mark>a b c</mark>", "塔利班"]
    for _ in range(20000):
        text = "".join(rng.choice(pieces) + rng.choice([" ", "", "\n", "  "])
                       for _ in range(rng.randint(0, 90)))
        for tokens in (32, 12, 4, 3, 1, 0):
            assert fts.excerpt(text, tokens) == excerpt_before(text, tokens), (text, tokens)
    assert fts.excerpt(None) is None and fts.excerpt("") == ""


def test_a_pruned_part_keeps_the_words_its_not_would_mark():
    # FTS5 marks a NOT's right side in an article the query matches even where that part's
    # left side matches nothing: pruned away, those words would lose their marks
    conn = fts.memory_index()
    conn.execute("INSERT INTO articles_fts (rowid, title, text) VALUES (1, '',"
                 " 'The Taliban turned on Islamabad, their former patron, as TTP attacks mount')")
    query = '(taliban AND NEAR(islamabad "former patron", 4)) OR (NEAR(pakistan* haven*, 5) NOT ttp)'
    pruned = spelt_out(query, archive_terms(conn), most=1, prune=True)
    assert pruned is not None and "NOT ttp" in pruned
    marked = [conn.execute(f"SELECT {fts.HIGHLIGHT_SQL} FROM articles_fts WHERE articles_fts MATCH ?",
                           [text]).fetchone() for text in (query, pruned)]
    assert marked[0] == marked[1] and "<mark>TTP</mark>" in marked[1][1]
    conn.close()
