"""Indic words whole in the index (fts.INDIC_MARKS, migration 30): unicode61 alone takes the
vowel signs and viramas of Devanagari, Bengali, Tamil ... for separators, so हथियार was indexed
as "हथ य र", a prefix query could not read an ending, and रूस ("र स") matched inside दुरुस्त
(repaired): a real page about US weapons matched "Russia is arming the Taliban" that way
(blind21, lokwarta.net)."""

from __future__ import annotations

import pytest

from narrative_archive import fts, store
from narrative_archive.config import load_narratives
from narrative_archive.paths import DEFAULT_CONFIG_DIR
from tests.conftest import migrated_to

OLD_INDEX = ('CREATE VIRTUAL TABLE articles_fts USING fts5(title, text, content="articles",'
             " content_rowid=\"id\", tokenize='porter unicode61 remove_diacritics 2')")
ARTICLES = {
    1: ("अमेरिका ने हथियार छोड़े", "तालिबान ने अमेरिकी हथियारों को दुरुस्त कर लिया है।"),
    2: ("রাশিয়া তালেবানকে অস্ত্র দিচ্ছে", "মার্কিন কর্মকর্তারা বলছেন রাশিয়া তালিবানদের অস্ত্র পাঠাচ্ছে।"),
    3: ("ตาลีบัน ได้รับอาวุธ", "ข่าวจากกรุงคาบูล"),
}


def test_indic_words_are_tokens_and_other_scripts_are_as_before():
    assert fts.tokenize(["हथियारों दुरुस्त", "তালেবানকে", "ரஷ்யா", "Weapons", "ตาลีบัน"]) == [
        ["हथियारों", "दुरुस्त"], ["তালেবানকে"], ["ரஷ்யா"], ["weapon"], ["ตาล", "บ", "น"]]


def test_a_hindi_page_on_us_weapons_is_not_read_as_russia_arming_the_taliban():
    narratives = load_narratives(DEFAULT_CONFIG_DIR / "narratives.yml", fts.check_query)
    matcher = fts.NarrativeMatcher(narratives)
    title, text = ARTICLES[1]
    assert "russia-arming-taliban" not in matcher.match(title, text)
    assert matcher.match("रूस तालिबान को हथियारों की आपूर्ति कर रहा है", "") == [
        "russia-arming-taliban"]


@pytest.fixture
def archive_indexed_the_old_way(db_path):
    """An archive at version 29, its index declared and filled as before migration 30."""
    conn = migrated_to(db_path, 29)
    conn.execute("DROP TABLE articles_fts")
    conn.execute(OLD_INDEX)
    for article_id, (title, text) in ARTICLES.items():
        conn.execute("INSERT INTO articles (id, url, canonical_url, title, text, first_seen_at,"
                     " last_seen_at, fetched_at) VALUES (?, ?, ?, ?, ?, 't', 't', 't')",
                     [article_id, f"u{article_id}", f"u{article_id}", title, text])
    conn.commit()
    assert [row[0] for row in conn.execute(  # रूस, "र स", inside दुरुस्त
        "SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'रूस'")] == [1]
    conn.close()
    return db_path


def test_an_archive_indexed_before_is_indexed_again_and_finds_the_endings(
        archive_indexed_the_old_way):
    db = store.open_db(archive_indexed_the_old_way)

    def found(query: str) -> list[int]:
        return [row[0] for row in db.execute(
            "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? ORDER BY rowid", [query])]

    assert store.schema_version(db) == store.SCHEMA_VERSION
    assert "tokenchars" in db.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'articles_fts'").fetchone()[0]
    assert found("हथियार*") == [1]  # हथियार and हथियारों
    assert found("रूस") == []  # not inside दुरुस्त
    assert found("তালেবান* OR তালিবান*") == [2]
    assert found("ตาลีบัน") == [3]  # Thai as before: a phrase of its pieces
    db.execute("INSERT INTO articles (id, url, canonical_url, title, text, first_seen_at,"
               " last_seen_at, fetched_at) VALUES (4, 'u4', 'u4', 'रूसी हथियार', '', 't', 't', 't')")
    assert found("रूस*") == [4]  # the triggers keep the new index
