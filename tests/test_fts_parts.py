"""NarrativeMatcher evaluates a narrative's query part by part (the main query, each
language variant; issue #21): the same matches and byte-identical snippets as evaluating
the whole match_query, over every shipped narrative's examples and the text fixtures."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
import yaml

from narrative_archive import fts
from narrative_archive.config import Narrative, load_narratives
from narrative_archive.paths import DEFAULT_CONFIG_DIR

TESTS = Path(__file__).resolve().parent
# FIELD_NOTES' snippet() bug (benchmarks/corpus.py): its query, as a narrative with a variant
BUG = Narrative(id="snippet-bug", title="snippet() bug",
                query='NEAR("russian weapons" taliban) OR NEAR(moscow taliban)',
                queries=(("ru", "талибан"),))
BUG_ROWS = ("officials said Russian weapons were smuggled to the Taliban",
            "Moscow weapons Taliban Russian.")


@pytest.fixture(scope="module")
def narratives() -> tuple:
    return (*load_narratives(DEFAULT_CONFIG_DIR / "narratives.yml", fts.check_query), BUG)


def whole_query(matcher: fts.NarrativeMatcher, title: str | None,
                text: str | None) -> dict[str, str | None]:
    """The evaluation before #21, without its gate: each whole match_query on the article."""
    return whole_queries(matcher.narratives, [(title, text)])[0]


def _one_row(query: str, title: str | None, text: str | None) -> str | None:
    """The whole query's snippet of one article alone in an index: cut from highlight()
    where snippet() hits FTS5's bug (FIELD_NOTES)."""
    conn = fts.memory_index()
    conn.execute("INSERT INTO articles_fts (rowid, title, text) VALUES (1, ?, ?)",
                 [fts.split_cjk(title), fts.split_cjk(text)])
    try:
        row = conn.execute(f"SELECT {fts.SNIPPET_SQL} FROM articles_fts WHERE articles_fts"
                           " MATCH ? AND rowid = 1", [query]).fetchone()
        return row[0]
    except sqlite3.DatabaseError:
        return fts.best_excerpt(conn.execute(
            f"SELECT {fts.HIGHLIGHT_SQL} FROM articles_fts WHERE articles_fts MATCH ?"
            " AND rowid = 1", [query]).fetchone())
    finally:
        conn.close()


def whole_matches(narratives, articles: list) -> list[list[str]]:
    """The ids of the narratives whose whole match_query matches each (title, text), in the
    narratives' order: read in one pass a query over an index of all the articles (a query
    this size costs more to parse than to run)."""
    conn = fts.memory_index()
    conn.executemany("INSERT INTO articles_fts (rowid, title, text) VALUES (?, ?, ?)",
                     [(rowid, fts.split_cjk(title), fts.split_cjk(text))
                      for rowid, (title, text) in enumerate(articles, 1)])
    found: list[list[str]] = [[] for _ in articles]
    for narrative in narratives:
        for (rowid,) in conn.execute("SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?",
                                     [fts.cjk_query(narrative.match_query)]).fetchall():
            found[rowid - 1].append(narrative.id)
    conn.close()
    return found


def whole_queries(narratives, articles: list) -> list[dict[str, str | None]]:
    """whole_query of each (title, text): which narratives match, from whole_matches; the
    snippet of each match cut with the article alone in an index, as before #21 (in a larger
    index FTS5 may mark a matching row's words differently: which of an OR's phrases it
    reads on a row depends on where their iterators stand)."""
    by_id = {narrative.id: narrative for narrative in narratives}
    return [{narrative_id: fts.unsplit_cjk(_one_row(fts.cjk_query(by_id[narrative_id].match_query),
                                                    *article))
             for narrative_id in matched}
            for article, matched in zip(articles, whole_matches(narratives, articles), strict=True)]


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def fixture_texts() -> list[str]:
    texts = []
    for path in sorted([*(TESTS / "files").rglob("*"), *(TESTS / "sites").rglob("*")]):
        if not path.is_file() or path.suffix == ".gz":
            continue
        raw = path.read_text(encoding="utf-8", errors="replace")
        texts.append(raw)
        if path.suffix in (".html", ".xml", ".rss", ".atom", ".rdf"):
            texts.append(re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", raw)))
        if path.suffix == ".yml":
            strings = _strings(yaml.safe_load(raw))
            texts += strings
            texts.append("\n\n".join(strings))
    return list(dict.fromkeys(texts))  # the test sites repeat their pages' markup


def example_texts(narratives) -> list[str]:
    texts = []
    for narrative in narratives:
        every = [text for _, match, no_match in narrative.examples for text in (*match, *no_match)]
        texts += every
        texts.append(" ".join(every))  # many languages' variants matching in one article
    return list(dict.fromkeys([*texts, *BUG_ROWS, " ".join(BUG_ROWS)]))


def test_parts_are_the_whole_query(narratives):
    parted = [narrative for narrative in narratives if len(fts.query_parts(narrative)) > 1]
    assert len(parted) >= 5  # the shipped narratives have language variants
    for narrative in narratives:
        parts = fts.query_parts(narrative)
        assert parts == [narrative.query, *(query for _, query in narrative.queries)]
        assert " OR ".join(f"({part})" for part in parts) == narrative.match_query or \
            parts == [narrative.match_query]


def test_a_query_not_an_or_of_its_variants_is_one_part():
    class Plain:
        id, match_query = "plain", "taliban AND russia"
    assert fts.query_parts(Plain()) == ["taliban AND russia"]


def test_part_by_part_matches_and_snippets_are_the_whole_querys(narratives):
    new = fts.NarrativeMatcher(narratives)
    old = fts.NarrativeMatcher(narratives, by_part=False)
    examples, fixtures = example_texts(narratives), fixture_texts()
    assert len(examples) > 300 and len(fixtures) > 500
    articles = [(None, text) for text in examples + fixtures]
    # every example as a body; every third also as a headline over it and as a headline alone
    # (the reference reads each match alone, and the examples grow with each round)
    titled = examples[::3]
    articles += [(text[:200], text) for text in titled] + [(text, None) for text in titled]
    checked_old, matched = set(articles[:len(examples)]), 0
    for (title, body), expected in zip(articles, whole_queries(narratives, articles), strict=True):
        assert new.snippets(title, body) == expected, (title, body)
        assert new.match(title, body) == list(expected)
        if (title, body) in checked_old:  # the whole query behind its one gate, as before
            assert old.snippets(title, body) == expected
        matched += len(expected)
    assert matched > 200
    # the snippet() bug's fallback (highlight) is reached, and cut the same
    bug = fts.NarrativeMatcher([BUG])
    assert bug.snippets(None, " ".join(BUG_ROWS)) == whole_query(bug, None, " ".join(BUG_ROWS))


def test_tokenize_keeps_no_rows_between_calls_and_answers_in_any_thread():
    """fts.tokenize reuses one in-memory index a thread (a matcher's set-up calls it once a
    query part): each call's rows are rolled back, so no text leaks into the next answer."""
    import threading

    assert fts.tokenize(["Russia is arming", "taliban's"]) == [["russia", "is", "arm"], ["taliban", "s"]]
    assert fts.tokenize(["weapons"]) == [["weapon"]]
    assert fts._tokenizers.conn.execute("SELECT count(*) FROM articles_fts").fetchone() == (0,)
    answers = []
    thread = threading.Thread(target=lambda: answers.append(fts.tokenize(["arming", ""])))
    thread.start()
    thread.join()
    assert answers == [[["arm"], []]]


def test_memory_matches_cuts_the_snippets_the_matcher_does_even_where_snippet_fails():
    """fts.memory_matches (a rematch's claim hits get their snippets from it): each row's
    snippet is the one the crawl's matcher cuts for that article alone, through the snippet()
    bug's highlight() fallback too; rows the query does not match are left out."""
    rows = [(1, None, BUG_ROWS[0]), (2, "Kabul", "Moscow said nothing"), (3, None, BUG_ROWS[1])]
    conn = fts.memory_index()  # these rows together are FIELD_NOTES' snippet() bug
    conn.executemany("INSERT INTO articles_fts (rowid, title, text) VALUES (?, ?, ?)", rows)
    with pytest.raises(sqlite3.DatabaseError):
        conn.execute(f"SELECT {fts.SNIPPET_SQL} FROM articles_fts WHERE articles_fts MATCH ?",
                     [BUG.query]).fetchall()
    found = fts.memory_matches(rows, BUG.query)
    assert set(found) == {1, 3}
    whole = fts.NarrativeMatcher([Narrative(id="q", title="q", query=BUG.query)])
    for article_id, title, text in rows:
        if article_id in found:
            assert found[article_id] == whole.snippets(title, text)["q"]
    assert "<mark>" in found[1] and "<mark>" in found[3]


def test_a_query_change_is_read_as_its_changed_members():
    query = '(taliban AND (russia OR moscow)) OR (NEAR("arms supply" taliban, 5))'
    assert fts.changed_query(query, query) == ""
    assert fts.changed_query(query, f"({query}) OR (кабул*)") == "(кабул *)"
    # a member changed inside: its old and its new form
    assert fts.changed_query("x OR (y NOT z)", "x OR (y NOT w)") == "(y NOT w) OR (y NOT z)"
    assert fts.changed_query("(a) OR (b OR c)", "a OR b OR c OR {title}: d") == "({ title } : d)"
    assert fts.changed_query('NEAR("a b" c, 5)', 'NEAR("a b" c, 6)') \
        == '(NEAR ( "a b" c , 5 )) OR (NEAR ( "a b" c , 6 ))'


def test_no_phrase_of_a_member_that_does_not_match_is_marked():
    """changed_query's premise, on FTS5 itself: an article the changed members do not match
    keeps its marks (measured over 630,000 hits of the 1M benchmark archive that hold a
    word of a changed member of russia-arming-taliban: docs/performance.md, "Rematch")."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='porter unicode61 remove_diacritics 2')")
    db.execute("INSERT INTO t VALUES ('alpha beta one two three four five six seven gamma delta')")
    earlier = "alpha"
    for query in ("alpha OR NEAR(gamma beta, 3)", "alpha OR (gamma AND zeta)",
                  "alpha OR (gamma NOT delta)", 'alpha OR "gamma zeta"', "alpha OR {x}: (zeta)"):
        changed = fts.changed_query(earlier, query)
        assert db.execute("SELECT count(*) FROM t WHERE t MATCH ?", [changed]).fetchone() == (0,)
        marks = [db.execute("SELECT highlight(t, 0, '[', ']') FROM t WHERE t MATCH ?",
                            [q]).fetchone()[0] for q in (earlier, query)]
        assert marks[0] == marks[1] == "[alpha] beta one two three four five six seven gamma delta"
    # and one the changed member matches is marked anew
    assert fts.changed_query(earlier, "alpha OR NEAR(gamma delta, 3)") == "(NEAR ( gamma delta , 3 ))"
    assert "[gamma] [delta]" in db.execute("SELECT highlight(t, 0, '[', ']') FROM t WHERE t MATCH ?",
                                           ["alpha OR NEAR(gamma delta, 3)"]).fetchone()[0]
    assert fts.changed_query("a", 'a OR "unclosed') is None
