"""The real-text benchmark's parts, the matcher's gates and the speaker columns (issue 19).

The third-party text of benchmarks/realtext is not in the repository: the scoring is
exercised on a folder of texts written here, in the same layout.
"""

import importlib.util
import io
import json
import sqlite3
import sys
from pathlib import Path

import pytest

from narrative_archive import fts, store
from narrative_archive.analysis import archive as analysis
from narrative_archive.config import Narrative, load_narratives
from narrative_archive.match import narratives
from narrative_archive.paths import DEFAULT_CONFIG_DIR
from narrative_archive.store.schema import MIGRATIONS
from tests.conftest import article
from tests.test_fts_parts import whole_matches

ROOT = Path(__file__).resolve().parent.parent
# benchmarks/ is not a package, and holds a datasette.py: load the script by its path rather
# than putting the folder on sys.path (where it would shadow the datasette package)
_spec = importlib.util.spec_from_file_location("realtext", ROOT / "benchmarks" / "realtext.py")
realtext = importlib.util.module_from_spec(_spec)
sys.modules["realtext"] = realtext
_spec.loader.exec_module(realtext)

SHIPPED = load_narratives(DEFAULT_CONFIG_DIR / "narratives.yml", fts.check_query)


# --- the labels ------------------------------------------------------------------------

def test_the_shipped_labels_are_facts_only_one_per_url_sorted():
    records = realtext.load_labels()
    urls = [record["url"] for record in records]
    assert urls == sorted(set(urls))
    assert len(records) >= 300 and len({r["language"] for r in records}) >= 8
    narrative_ids = {n.id for n in SHIPPED}
    for record in records:
        assert set(record) == set(realtext.LABEL_KEYS)  # no text
        assert record["split"] in realtext.SPLITS
        assert set(record["narratives"]) <= narrative_ids
        assert set(record["narratives"].values()) <= set(realtext.STANCES)
        assert set(record["speaker"]) == set(record["narratives"])


def test_merge_dedupes_on_url_and_fills_gaps(tmp_path):
    one = {"url": "https://b.example/1", "date": None, "language": "en", "outlet": "b.example",
           "title": "T", "narratives": {"russia-arming-taliban": "reports"},
           "speaker": {"russia-arming-taliban": None}, "split": "dev", "why": "first"}
    (tmp_path / "a.jsonl").write_text(json.dumps(one) + "\n")
    (tmp_path / "b.jsonl").write_text(json.dumps({**one, "date": "2017-04"}) + "\n"
                                      + json.dumps({**one, "url": "https://a.example/2"}) + "\n")
    out = tmp_path / "labels.jsonl"
    assert realtext.merge([tmp_path / "a.jsonl", tmp_path / "b.jsonl"], out) == 2
    merged = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["url"] for r in merged] == ["https://a.example/2", "https://b.example/1"]
    assert merged[1]["date"] == "2017-04" and merged[1]["why"] == "first"
    (tmp_path / "c.jsonl").write_text(json.dumps({**one, "split": "test"}) + "\n")
    with pytest.raises(SystemExit, match="split differs"):
        realtext.merge([tmp_path / "a.jsonl", tmp_path / "c.jsonl"], out)
    (tmp_path / "d.jsonl").write_text(json.dumps({**one, "split": "tuning"}) + "\n")
    with pytest.raises(SystemExit, match="unknown split"):
        realtext.merge([tmp_path / "d.jsonl"], out)


def test_the_holdout_split_is_read_apart_and_kept_apart_by_merge(tmp_path):
    """A holdout label file merges into labels.jsonl keeping its split; --split holdout
    reads only it, dev and test never see it, and all reads everything."""
    def record(url, split):
        return {"url": url, "date": None, "language": "en", "outlet": "x.example", "title": "T",
                "narratives": {}, "speaker": {}, "split": split, "why": "negative"}
    (tmp_path / "labels.jsonl").write_text(
        json.dumps(record("https://x.example/d", "dev")) + "\n"
        + json.dumps(record("https://x.example/t", "test")) + "\n")
    (tmp_path / "labels-holdout.jsonl").write_text(json.dumps(record("https://x.example/h", "holdout")) + "\n")
    out = tmp_path / "labels.jsonl"
    assert realtext.merge([out, tmp_path / "labels-holdout.jsonl"], out) == 3
    assert [r["url"] for r in realtext.load_labels(out, "holdout")] == ["https://x.example/h"]
    assert [r["url"] for r in realtext.load_labels(out, "dev")] == ["https://x.example/d"]
    assert [r["url"] for r in realtext.load_labels(out, "test")] == ["https://x.example/t"]
    assert len(realtext.load_labels(out, "all")) == 3
    # merging a new split alone adds it: labels.jsonl keeps what it held
    (tmp_path / "labels-blind.jsonl").write_text(json.dumps(record("https://x.example/b", "blind")) + "\n")
    assert realtext.merge([tmp_path / "labels-blind.jsonl"], out) == 4
    assert len(realtext.load_labels(out, "all")) == 4
    # a URL already labelled dev cannot come back as holdout
    (tmp_path / "again.jsonl").write_text(json.dumps(record("https://x.example/d", "holdout")) + "\n")
    with pytest.raises(SystemExit, match="split differs"):
        realtext.merge([out, tmp_path / "again.jsonl"], out)


@pytest.mark.parametrize("split", [s for s in realtext.SPLITS if s not in ("dev", "test")])
def test_the_shipped_unseen_files_hold_their_split_only_and_new_urls(split):
    """benchmarks/realtext/labels-SPLIT.jsonl, for every split the benchmark knows but dev and
    test (a split added to realtext.SPLITS without its file fails here):
    every record is of the
    file's split, labelled by the same keys, and none of its URLs (exact or with the scheme,
    www. and trailing slash dropped) is in another label file: each was labelled blind."""
    def key(url):
        return url.lower().split("://", 1)[-1].removeprefix("www.").rstrip("/")
    folder = ROOT / "benchmarks" / "realtext"
    name = f"labels-{split}.jsonl"
    unseen = realtext.load_labels(folder / name)
    assert unseen and {r["split"] for r in unseen} == {split}
    for record in unseen:
        assert set(record) == set(realtext.LABEL_KEYS)
        assert set(record["speaker"]) == set(record["narratives"])
    others = {key(r["url"]) for path in folder.glob("labels*.jsonl") if path.name not in
              ("labels.jsonl", name) for r in realtext.load_labels(path)}
    others |= {key(r["url"]) for r in realtext.load_labels() if r["split"] != split}
    assert not others & {key(r["url"]) for r in unseen}
    assert {r["url"] for r in realtext.load_labels(split=split)} == {r["url"] for r in unseen}


def test_scoring_goes_the_crawls_way_on_a_folder_of_texts(tmp_path):
    texts = {
        "https://x.example/denial": ("Moscow denies arming the Taliban",
                                     "The Kremlin said reports that Russia supplies weapons to the"
                                     " Taliban were groundless."),
        "https://x.example/report": ("US general says Russia is arming the Taliban",
                                     "General John Nicholson said Russia is arming the Taliban."),
        "https://x.example/other": ("Taliban attend Moscow talks", "Delegates met in Moscow."),
    }
    for url, (title, text) in texts.items():
        (tmp_path / realtext.text_name(url)).write_text(f"{title}\n\n{text}\n", encoding="utf-8")

    def record(url, labels, speaker):
        return {"url": url, "language": "en", "split": "dev", "narratives": labels,
                "speaker": speaker, "title": texts[url][0]}
    records = [
        record("https://x.example/denial", {"russia-arming-taliban": "disputes"},
               {"russia-arming-taliban": "official"}),
        record("https://x.example/report", {"russia-arming-taliban": "reports"},
               {"russia-arming-taliban": None}),
        record("https://x.example/other", {}, {}),
        {**record("https://x.example/other", {}, {}), "url": "https://x.example/missing"},
    ]
    predictions = realtext.predict(records, tmp_path, DEFAULT_CONFIG_DIR / "narratives.yml")
    assert [p.missing for p in predictions] == [False, False, False, True]
    denial = predictions[0].matched["russia-arming-taliban"]
    assert (denial["stance"], denial["stance_speaker"], denial["stance_speaker_name"]) == (
        "disputes", "official", "Moscow")
    counts = realtext.score(predictions, [n.id for n in SHIPPED])
    assert counts["matching"]["russia-arming-taliban"]["tp"] == 2
    assert sum(counts["matching"]["russia-arming-taliban"][k] for k in ("fp", "fn")) == 0
    assert counts["confusion"]["disputes", "disputes"] == counts["confusion"]["reports", "reports"] == 1
    assert counts["speaker"]["right"] == counts["speaker"]["n"] == 1
    report = io.StringIO()
    realtext.report(counts, report)
    assert "accuracy 1.00 (95% 0.34-1.00); disputes recall 1.00 (95% 0.21-1.00)" in report.getvalue()
    # the narratives pooled, as the README's "all narratives" rows quote them
    pooled = next(row for row in report.getvalue().splitlines() if row.startswith("all narratives"))
    assert pooled.split()[2:8] == ["2", "2", "0", "0", "1.00", "1.00"]


def test_a_headline_under_page_furniture_is_read_as_the_page_title(tmp_path):
    # the saved excerpt opens with a caption, so line 1 is empty; the crawl has the HTML title
    url = "https://x.example/furniture"
    text = ("Photo: delegates in Kabul\n\nIran leader denies arms supplies\n\n"
            "The US recently alleged that Iranian weapons were reaching the Taliban. More.")
    (tmp_path / realtext.text_name(url)).write_text(f"\n\n{text}\n", encoding="utf-8")
    record = {"url": url, "language": "en", "split": "dev", "title": "Iran leader denies arms supplies",
              "narratives": {"iran-arming-taliban": "disputes"}, "speaker": {"iran-arming-taliban": "official"}}
    mention = realtext.predict([record], tmp_path, DEFAULT_CONFIG_DIR / "narratives.yml")[0].matched
    assert mention["iran-arming-taliban"]["stance"] == "disputes"
    # a headline that is not in the saved text (one read off the URL) is not used
    assert realtext.page_title({"title": "Iran denies it"}, "", text) == ""
    assert realtext.page_title(record, "Line one", text) == "Line one"


def test_figures_come_with_the_interval_their_split_allows():
    # Wilson score intervals as statsmodels' proportion_confint(k, n, method="wilson") gives
    for (k, n), (low, high) in {(134, 192): (0.6296, 0.7585), (30, 45): (0.5207, 0.7864),
                                (0, 5): (0.0, 0.4345), (5, 5): (0.5655, 1.0)}.items():
        assert realtext.wilson(k, n) == (pytest.approx(low, abs=1e-4), pytest.approx(high, abs=1e-4))


# --- the matcher's gates ----------------------------------------------------------------


def test_every_shipped_narrative_has_a_gate_and_the_gate_never_changes_a_match():
    texts = [text for n in SHIPPED for _, match, no_match in n.examples for text in (*match, *no_match)]
    texts += ["Weather in Kabul", "Taliban", "Russia and the Taliban talk in Moscow"]
    gated = fts.NarrativeMatcher(SHIPPED)
    assert all(gate is not None and not gate.unread for gate in gated.gates)
    every_part = whole_matches(SHIPPED, [(None, text) for text in texts])  # their OR
    for text, expected in zip(texts, every_part, strict=True):
        assert gated.match(None, text) == expected, text


def test_shipped_prefix_terms_keep_their_meaning_under_the_porter_stemmer():
    """porter stems a prefix term too: "rus*" would search "ru*", and "rules" would be Russia."""
    matcher = fts.NarrativeMatcher(SHIPPED)
    assert matcher.match("Iran rules out arming the Taliban", "") == ["iran-arming-taliban"]
    assert matcher.match("Les talibans et la Russie", "Rumours ruled the day.") == []


# --- Chinese and Japanese: one token per character ----------------------------------------

ZH = "五角大楼指责俄罗斯向塔利班提供武器，莫斯科否认。"


def test_a_cjk_word_matches_inside_a_run_of_characters():
    assert fts.split_cjk("塔利班 Taliban") == "塔\u200b利\u200b班 Taliban"
    assert fts.cjk_query('NEAR(俄罗斯 塔利班, 12) OR "俄 罗斯" OR russia*') == (
        'NEAR("俄 罗 斯" "塔 利 班", 12) OR "俄 罗 斯" OR russia*')
    n = Narrative("n", "N", "NEAR(俄罗斯 塔利班 武器, 12) OR NEAR(ロシア タリバン, 10)")
    matcher = fts.NarrativeMatcher([n])
    found = matcher.snippets("", ZH)
    assert list(found) == ["n"]
    assert "<mark>塔利班</mark>" in found["n"] and "\u200b" not in found["n"]
    assert fts.marked_terms(found["n"]) == '["俄罗斯", "塔利班", "武器"]'
    assert matcher.match("ロシアがタリバンに武器", "") == ["n"]
    assert matcher.match("", "塔利班在莫斯科会谈。俄罗斯外交部表示欢迎各方参与和平进程与阿富汗政府的对话并提供武器") == []
    assert fts.matching_rows(["", ZH], "塔利班")[2] == ()


def test_a_rematch_reads_chinese_and_japanese_articles_as_the_matcher_does(db):
    n = Narrative("n", "N", "NEAR(俄罗斯 塔利班 武器, 12)")
    narratives.save_narratives(db, [n])
    zh, _ = store.save_article(db, article("https://example.com/zh", ZH, title="", language="zh"),
                               "example-news")
    narratives.match_article(db, zh, [n])
    assert db.execute("SELECT snippet FROM mentions").fetchone()[0].count("<mark>") == 3
    assert narratives.rematch(db, n) == {"matched": 1, "added": 0, "removed": 0}
    assert "<mark>塔利班</mark>" in db.execute("SELECT snippet FROM mentions").fetchone()[0]
    # a code in any case, with a region or script, is read the same way (the rematch finds
    # these articles through the language index)
    for url, language in (("https://example.com/tw", "ZH-Hant"), ("https://example.com/jp", "Ja")):
        store.save_article(db, article(url, ZH, title="", language="en"), "example-news")
        db.execute("UPDATE articles SET language = ? WHERE url = ?", [language, url])
    db.conn.commit()
    assert narratives.rematch(db, n) == {"matched": 3, "added": 2, "removed": 0}


# --- who disputed it, in the archive ------------------------------------------------------

def test_the_speaker_columns_come_from_an_appended_migration(db):
    columns = {row[1] for row in db.execute("PRAGMA table_info(mentions)")}
    assert {"stance_speaker", "stance_speaker_name"} <= columns
    assert "stance_speaker" in MIGRATIONS[-1] or any("stance_speaker" in m for m in MIGRATIONS)
    assert store.schema_version(db) == len(MIGRATIONS)


def test_a_mention_records_who_disputes_it_and_the_views_show_it(db, default_narratives):
    article_id, _ = store.save_article(db, article(
        "https://example.com/lavrov",
        "Russian Foreign Minister Sergei Lavrov said on Tuesday that reports that Moscow is"
        " arming the Taliban were groundless.",
        title="Lavrov dismisses claims Russia is arming the Taliban"), "example-news")
    narratives.match_article(db, article_id, default_narratives)
    row = db.execute("SELECT stance, stance_speaker, stance_speaker_name FROM mention_articles"
                     " WHERE article_id = ?", [article_id]).fetchone()
    assert row == ("disputes", "official", "Lavrov")
    exported = db.execute("SELECT stance_speaker FROM export_mentions WHERE article_id = ?",
                          [article_id]).fetchone()
    assert exported == ("official",)
    page = store.article_page(db, article_id)
    assert page["mentions"][0]["stance_speaker_name"] == "Lavrov"


def test_recomputed_stances_fill_the_speaker(db):
    narrative = Narrative("n", "n", "russia AND taliban")
    narratives.save_narratives(db, [narrative])
    article_id, _ = store.save_article(db, article(
        "https://example.com/outlet", "The claim that Russia is arming the Taliban is extremely"
        " light on evidence.", title="Blaming Moscow"), "example-news")
    narratives.match_article(db, article_id, [narrative])
    store.reset_stance(db, ["n"])
    db.execute("UPDATE mentions SET stance_speaker = NULL")
    assert analysis.compute_stances(db, [narrative], ["n"]) == 1
    assert db.execute("SELECT stance, stance_speaker FROM mentions").fetchone() == (
        "disputes", "outlet")


def test_an_archive_from_before_the_speaker_migrates_and_its_stances_become_pending(tmp_path):
    from narrative_archive.store.schema import _statements
    version = next(i for i, m in enumerate(MIGRATIONS) if "stance_speaker" in m)
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for migration in MIGRATIONS[:version]:
        for statement in _statements(migration):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.execute("INSERT INTO narratives (id, title, query, queries, version, updated_at)"
                 " VALUES ('n', 'n', 'q', '{}', 1, '2020-01-01T00:00:00Z')")
    conn.execute("INSERT INTO articles (id, url, canonical_url, first_seen_at, last_seen_at,"
                 " fetched_at) VALUES (1, 'u', 'u', 't', 't', 't')")
    conn.execute("INSERT INTO mentions (article_id, narrative_id, narrative_version, matched_at,"
                 " stance, stance_confidence) VALUES (1, 'n', 1, 't', 'reports', 0.7)")
    conn.close()
    db = store.open_db(path)
    assert store.schema_version(db) == len(MIGRATIONS)
    assert db.execute("SELECT stance, stance_confidence, stance_speaker FROM mentions").fetchone() == (
        "reports", None, None)
    db.close()


def test_the_kept_feature_rows_are_of_labelled_pages_and_carry_their_labels():
    """benchmarks/realtext/layer-features.npz and stance-features.npz: what the learned readers
    learn on from one session to the next. Every row is of a labelled page (numbers only, no
    text), and a stance row's gold label is the label the page carries now (an adjudication
    that changes a label must keep the rows again)."""
    import numpy as np

    labels = {record["url"]: record for record in realtext.load_labels()}
    layer = np.load(ROOT / "benchmarks" / "realtext" / "layer-features.npz")
    assert set(map(str, layer["urls"])) <= set(labels)
    assert layer["rows"].dtype.kind == "f" and len(layer["rows"]) == len(layer["urls"])
    stance = np.load(ROOT / "benchmarks" / "realtext" / "stance-features.npz")
    assert stance["rows"].dtype.kind == "f"
    for url, narrative, gold, split in zip(stance["urls"], stance["narratives"], stance["gold"],
                                           stance["splits"], strict=True):
        record = labels[str(url)]
        assert (record["narratives"].get(str(narrative)), record["split"]) == (str(gold), str(split))
