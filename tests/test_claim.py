"""A narrative's claim rule (match.claim): the accused as the act's subject in one sentence,
read the same way by the crawl's Reader, a rematch and `check`."""

import dataclasses
import sqlite3
from concurrent.futures import ProcessPoolExecutor

import pytest

from narrative_archive import fts, store
from narrative_archive.config import ConfigError, Narrative, load_narratives
from narrative_archive.match import claim, narratives, workers
from narrative_archive.match.coverage import check_narrative
from narrative_archive.match.reading import Reader
from tests.conftest import article

PAKISTAN = "pakistan-backing-taliban"
RUSSIA = "russia-arming-taliban"
IRAN = "iran-arming-taliban"

# (sentence, language): real coverage's wordings of the claim, and of articles that only
# hold its words
HOLDS = [
    ("Pakistan has dismissed claims that Taliban leader Mullah Omar lives in Quetta under the"
     " protection of the Pakistani intelligence agency.", "en"),
    ("Afghan officials say the insurgents were Taliban fighters, many of them trained and funded"
     " by Pakistan's military intelligence.", "en"),
    ("Les talibans afghans soutenus par le Pakistan", "fr"),
    ("Der pakistanische Geheimdienst ISI unterstützt einem geheimen Nato-Bericht zufolge im"
     " Verborgenen die Taliban in Afghanistan.", "de"),
    ("Талибы действуют при поддержке Пакистана.", "ru"),
    ("پاکستان سال‌ها از طالبان حمایت کرده است", "fa"),
    ("الاستخبارات الباكستانية لا تكتفي فقط بتدريب وتمويل مقاتلي حركة طالبان", "ar"),
    ("Beziehungen zu den Taliban: Pakistans doppeltes Spiel in Afghanistan", "de"),
    # round 6: the act as a noun after "role in"; the Hindi agent participle (करने वाला) with
    # the actor after it; the Persian passive "is led / directed" (رهبری / هدایت می‌شود)
    ("Pakistan's army and spy agency played a central role in the formation of the Taliban.", "en"),
    ("दुनिया भर में तालिबान की पैरवी करने वाला पाकिस्तान", "hi"),
    ("तालिबान का समर्थन करने वाले पाकिस्तान पर दबाव", "hi"),
    ("حملات طالبان از سوی آی‌اس‌آی رهبری می‌شود", "fa"),
    # round 7: the Italian and Portuguese agent prepositions joined to the article (dai, dalla,
    # pelo); the Italian subjunctive "sostengano" and "rifornisce" (supplies)
    ("Secondo il rapporto, i talebani sono aiutati dai servizi segreti pakistani.", "it"),
    ("I talebani, finanziati dalla intelligence del Pakistan, avanzano nel sud.", "it"),
    ("Os talibãs são apoiados pelo Paquistão, diz o relatório.", "pt"),
    ("Ci sono segnali che i servizi segreti pakistani sostengano i talebani.", "it"),
    ("Secondo Kabul l'Isi rifornisce ancora i talebani di soldi e armi.", "it"),
    # round 8: the relative pronoun before the actor (Italian che); Hungarian, Greek (with and
    # without accents), Indonesian; Russian "enjoys the support of" (genitive, no preposition)
    ("Parliamo dei talebani, che l'ISI ha finanziato e armato per anni.", "it"),
    ("Egy jelentés szerint Pakisztán támogatja a tálibokat.", "hu"),
    ("Οι αναφορές λένε ότι το Πακιστάν στηρίζει τους Ταλιμπάν.", "el"),
    ("ΤΟ ΠΑΚΙΣΤΑΝ ΣΤΗΡΙΖΕΙ ΤΟΥΣ ΤΑΛΙΜΠΑΝ", "el"),
    ("Mantan kepala ISI mengaku Pakistan memakai bantuan asing untuk pendanaan Taliban.", "id"),
    ("Taliban didukung oleh dinas intelijen Pakistan.", "id"),
    ("Командование США заявило, что клан Хаккани пользуется поддержкой пакистанских спецслужб.",
     "ru"),
]
NOT_THE_CLAIM = [
    # the TTP quarrel: Pakistan accuses Kabul of sheltering the Pakistani Taliban
    ("Pakistan accuses the Afghan Taliban of sheltering TTP fighters who attack its posts.", "en"),
    ("Islamabad says the Taliban harbour Tehreek-e-Taliban Pakistan militants.", "en"),
    # another state is the act's subject
    ("A Pakistani diplomat said Russia backs the Taliban with fuel and cash.", "en"),
    # the act is not towards the Taliban
    ("Pakistan supports peace talks between the United States and the Taliban in Doha.", "en"),
    ("Pakistan helped the US fight the Taliban after 2001, the minister said.", "en"),
    ("Pakistan urged the Taliban to stop harbouring militants.", "en"),
    # the Taliban are the subject
    ("The Taliban said they support Pakistan's call for a ceasefire.", "en"),
    # a formation that is not Pakistan's act; leadership as a noun, not the passive
    ("Pakistan welcomed the formation of the Taliban government in Kabul.", "en"),
    ("هیئت پاکستانی با رهبری طالبان در کابل دیدار کرد", "fa"),
    # the participle's subject is not the actor: soldiers who fight the Taliban
    ("तालिबान से लड़ने वाले पाकिस्तानी सैनिक सीमा पर तैनात", "hi"),
    # the preposition before a place, not the actor; Pakistan the target of the help
    ("I talebani sono stati cacciati dalla valle, dice l'esercito pakistano.", "it"),
    ("I talebani aiutano dai confini afghani i ribelli contro il Pakistan.", "it"),
    # round 8: talks and fights in Hungarian, Greek, Indonesian, Italian break the link; the
    # relative pronoun with the Taliban as the subject of the act
    ("Pakisztán támogatja a béketárgyalásokat a tálibokkal.", "hu"),
    ("Το Πακιστάν στηρίζει τη μάχη κατά των Ταλιμπάν.", "el"),
    ("Pakistan mendukung perundingan damai dengan Taliban.", "id"),
    ("Il Pakistan sostiene i colloqui di pace con i talebani.", "it"),
    ("I talebani, che sostengono di aver vinto, accusano il Pakistan.", "it"),
]


@pytest.fixture
def pakistan(default_narratives):
    return next(n for n in default_narratives if n.id == PAKISTAN)


@pytest.mark.parametrize(("sentence", "language"), HOLDS)
def test_the_claim_holds(pakistan, sentence, language):
    assert claim.rule(pakistan).holds(sentence, language)


@pytest.mark.parametrize(("sentence", "language"), NOT_THE_CLAIM)
def test_the_claims_words_without_the_claim(pakistan, sentence, language):
    assert not claim.rule(pakistan).holds(sentence, language)


def test_a_verb_final_language_may_put_the_target_between(pakistan):
    rule = claim.rule(pakistan)
    sentence = "Pakistan the Taliban supported"  # English word order does not allow it
    assert rule.holds(sentence, "de") and not rule.holds(sentence, "en")


def test_the_candidate_query_is_valid_fts5(pakistan):
    query = claim.candidate_query(pakistan)
    assert fts.check_query(query) is None
    # an actor, a target and an act term (any order, anywhere: the rule reads the sentences)
    assert fts.matching_rows(["Pakistan backs the Taliban", "Pakistan and the Taliban",
                              "Pakistan backs India"], query) == {1: ()}
    # an Arabic-script act takes attached letters the index does not split off: an article
    # naming the target in Arabic script is read whatever its acts
    assert fts.matching_rows(["باكستان وبدعمها طالبان"], query) == {1: ()}


def test_narratives_without_a_claim_key_have_no_rule(default_narratives):
    plain = [n for n in default_narratives if n.id not in (PAKISTAN, RUSSIA, IRAN)]
    assert all(claim.rule(n) is None and claim.candidate_query(n) is None for n in plain)
    assert [c.id for c in claim.candidates(default_narratives)] == [
        RUSSIA + claim.CANDIDATES, IRAN + claim.CANDIDATES, PAKISTAN + claim.CANDIDATES]


# Russia arming (round 8): money and support are read by the claim rule, Russia their subject
# in one sentence; a sentence that names the bounty is the bounties narrative's (its scope)
RUSSIA_HOLDS = [
    "Afghan officials say Russian operatives were funding the Taliban.",
    "Many officials believed Russia supported the Taliban before the report.",
    "Russian support for the Taliban has grown in the past two years.",
    "The Kremlin denies backing the Taliban in the north.",
]
RUSSIA_HOLDS_IN = [  # the money and support words of other languages
    ("La Russie a toujours démenti fournir une aide aux talibans.", "fr"),
    ("Secondo il Times la Russia starebbe finanziando i talebani.", "it"),
    ("Мы не знаем, поддерживает ли Россия талибов, сказал генерал.", "ru"),
]
RUSSIA_NOT_IN = [
    ("В Пентагоне заявили, что Россия политически поддержала талибов.", "ru"),
    ("Russland soll den Taliban Kopfgeld für getötete US-Soldaten gezahlt und sie finanziert haben.",
     "de"),
    ("La Rusia apoya las conversaciones de paz con los talibanes.", "es"),
]
RUSSIA_NOT_THE_CLAIM = [
    # the money is the bounty
    "Russian military intelligence financed Taliban attacks on US and coalition troops.",
    "He was briefed on Russian payments to the Taliban, seemingly confirming Russia's support.",
    "Officials say Russia paid the Taliban to kill American soldiers, and funded the network.",
    # support for a deal, support by Russian media, help against the Islamic State
    "Russia very likely continues to support U.S.-Taliban reconciliation efforts.",
    "His view of the Taliban is supported by the Russian media and analysts.",
    "Moscow says it helps the Taliban against the Islamic State.",
    # another state is the subject
    "Russia says Pakistan supports the Taliban.",
]


def test_claim_key_is_checked(tmp_path):
    path = tmp_path / "narratives.yml"
    path.write_text("- id: x\n  title: X\n  query: taliban\n  claim:\n    actor: [pakistan]\n"
                    "    act: [back*]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="claim: needs target"):
        load_narratives(path, fts.check_query)
    path.write_text("- id: x\n  title: X\n  query: taliban\n  claim:\n    actor: [pakistan]\n"
                    "    act: [back*]\n    target: [taliban*]\n    window: 100\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="claim.window"):
        load_narratives(path, fts.check_query)


def test_check_runs_the_rule_over_the_examples(pakistan):
    report = check_narrative(pakistan)
    assert report.ok, report
    # an example only the rule matches: without the rule `check` would miss it
    example = "L'ISI pakistanaise est accusée d'aider les talibans"
    assert example in (text for language, match, _ in pakistan.examples if language == "fr"
                       for text in match)
    assert not fts.matching_rows([example], pakistan.match_query)


ARTICLES = [  # (url, title, text, language, a mention of the narrative?)
    ("https://example.com/rule-en", "Pakistan denies hiding Taliban chief",
     "Pakistan has dismissed claims that Taliban leader Mullah Omar lives in Quetta under the"
     " protection of the Pakistani intelligence agency. The foreign office called it baseless.",
     "en", True),
    ("https://example.com/rule-fr", "Les talibans afghans soutenus par le Pakistan",
     "Un rapport secret, compilé par des officiers américains, jette une lumière crue sur les"
     " rapports entre Islamabad et les talibans.", "fr", True),
    ("https://example.com/query", "ISI backing the Taliban insurgency",
     "Afghan intelligence says Pakistan supports the Taliban.", "en", True),
    ("https://example.com/ttp", "Pakistan warns Kabul",
     "Pakistan accuses the Afghan Taliban of sheltering TTP fighters who attack its border"
     " posts. Islamabad says the Taliban must act.", "en", False),
    ("https://example.com/talks", "Doha talks",
     "Pakistan supports peace talks between the United States and the Taliban in Doha.", "en",
     False),
]


def _mentions(db):
    """Pakistan's mentions as a user reads them: (url, snippet, terms), by url."""
    return sorted(db.execute(
        "SELECT a.url, m.snippet, m.terms FROM mentions m JOIN articles a"
        " ON a.id = m.article_id WHERE m.narrative_id = ?", [PAKISTAN]).fetchall())


def test_a_rematch_finds_what_the_crawl_found(db, default_narratives):
    """The crawl's way (the extraction worker's Reader, then match_article with its readings)
    and a rematch over the archive give the same mentions, snippets and terms."""
    reader = Reader(default_narratives, analyse=False)
    for url, title, text, language, _ in ARTICLES:
        data = article(url, text, title=title, language=language)
        article_id, _ = store.save_article(db, data, "example-news")
        readings = reader.mentions(title, text, language)
        narratives.match_article(db, article_id, default_narratives, readings)

    crawled = _mentions(db)
    assert [row[0] for row in crawled] == sorted(url for url, *_, hit in ARTICLES if hit)
    assert all("<mark>" in row[1] for row in crawled)
    pakistan = next(n for n in default_narratives if n.id == PAKISTAN)
    assert narratives.rematch(db, pakistan) == {"matched": 3, "added": 0, "removed": 0}
    assert _mentions(db) == crawled
    # and from an empty start: the rematch adds what the crawl had found
    db.execute("DELETE FROM mentions WHERE narrative_id = ?", [PAKISTAN])
    assert narratives.rematch(db, pakistan) == {"matched": 3, "added": 3, "removed": 0}
    assert _mentions(db) == crawled


def test_the_rule_is_not_asked_where_the_query_matches(db, default_narratives, monkeypatch):
    pakistan = next(n for n in default_narratives if n.id == PAKISTAN)
    asked = []
    rule = claim.rule(pakistan)
    monkeypatch.setattr(claim, "rule", lambda narrative: _Counting(rule, asked))
    found = Reader([pakistan], analyse=False).mentions(
        "ISI backing the Taliban insurgency", "Afghan intelligence says so.", "en")
    assert PAKISTAN in found and asked == []


class _Counting:
    def __init__(self, rule, asked):
        self.rule, self.asked = rule, asked

    def matches(self, *args):
        self.asked.append(args)
        return self.rule.matches(*args)

    def __getattr__(self, name):  # the rule's other parts (its actor, read for stance)
        return getattr(self.rule, name)


def test_the_candidate_query_leaves_out_only_covered_terms(pakistan):
    """Phrases and words another term covers are left out: the same articles match."""
    lists = dict(pakistan.claim)
    acts = [t for t in lists["act"] if not claim._arabic(t)]
    acts += [t for t in lists["target"] if claim._arabic(t)]
    every = (f"({' OR '.join(claim.fts_term(t) for t in lists['actor'])}) AND"
             f" ({' OR '.join(claim.fts_term(t) for t in lists['target'])}) AND"
             f" ({' OR '.join(claim.fts_term(t) for t in acts)})")
    query = claim.candidate_query(pakistan)
    assert len(query) < len(every)
    texts = [text for _, match, no_match in pakistan.examples for text in match + no_match]
    texts += [sentence for sentence, _ in HOLDS + NOT_THE_CLAIM]
    texts += ["Пакистанские военные и талибы", "The Pakistani army met Taliban envoys",
              "Pakistan's envoy and the Taliban", "لباكستان وطالبان"]
    assert fts.matching_rows(texts, query) == fts.matching_rows(texts, every)
    assert claim._fewest(["pakistan", "pakistan s", "пакистан*", "пакистанск*", "isi"]) == \
        ["pakistan", "пакистан*", "isi"]


def test_the_rematchs_claim_pass_is_linear_in_the_candidates(db):
    """Candidates the rule rejects leave temp.hits in one statement: a DELETE per rejected
    article scanned the unindexed table each time (quadratic: 489 s for the Pakistan
    rematch at 100,000 topic-dense articles, benchmarks/rematch.py)."""
    def steps(candidates: int) -> int:
        with store.transaction(db):
            for n in range(candidates):
                store.save_article(db, article(f"https://example.com/{candidates}/{n}",
                                               f"Pakistan and the Taliban, note {n}."),
                                   "example-news")
        count = [0]

        def step() -> int:
            count[0] += 1
            return 0
        db.conn.set_progress_handler(step, 1)
        store.rematch_mentions(db, "linear-claim", '"nothing matches this"', 1,
                               ('"pakistan" AND "taliban"', lambda *_: False, "rule", None))
        db.conn.set_progress_handler(None, 1)
        db.execute("DELETE FROM articles")
        return count[0]
    few, many = steps(100), steps(800)
    assert many < few * 12, (few, many)  # 8x the candidates; quadratic would be ~64x


def test_a_rematch_reads_only_the_candidates_the_rule_has_not_rejected(db):
    """Most of a topical archive is a claim candidate, and reading them was most of a
    rematch (~950,000 at 1M, benchmarks/rematch.py): a candidate the rule rejected is not
    read again until its text changes or the rule does; a mention is read each time."""
    narratives.save_narratives(db, [Narrative("claimed", "Claimed", '"nothing matches this"')])
    ids = {}
    with store.transaction(db):
        for name in ("talks", "envoy", "holds"):
            ids[name], _ = store.save_article(db, article(
                f"https://example.com/{name}", f"Pakistan and the Taliban: {name}."),
                "example-news")
    read: list[int] = []

    def accept(title, text, language):
        read.append(next(key for key in ids if key in text))
        return "holds" in text

    def rematch(rule: str) -> list[str]:
        read.clear()
        result = store.rematch_mentions(db, "claimed", '"nothing matches this"', 1,
                                        ('"pakistan" AND "taliban"', accept, rule, None))
        assert result["matched"] == 1
        assert [row[0] for row in db.execute("SELECT article_id FROM mentions")] == [ids["holds"]]
        return sorted(read)

    assert rematch("rule-1") == ["envoy", "holds", "talks"]
    assert rematch("rule-1") == ["holds"]  # the mention, to see it still holds
    db.execute("UPDATE articles SET text = 'Pakistan and the Taliban: talks again.'"
               " WHERE id = ?", [ids["talks"]])
    db.execute("UPDATE articles SET last_seen_at = '2026-12-06' WHERE id = ?", [ids["envoy"]])
    assert rematch("rule-1") == ["holds", "talks"]
    assert rematch("rule-2") == ["envoy", "holds", "talks"]  # another rule: every verdict again
    db.execute("DELETE FROM articles WHERE id = ?", [ids["envoy"]])
    assert db.execute("SELECT article_id FROM claim_rejections").fetchall() == [(ids["talks"],)]


def test_has_rule_says_whether_there_is_a_rule(default_narratives):
    assert [claim.has_rule(n) for n in default_narratives] == [
        claim.rule(n) is not None for n in default_narratives]
    pakistan = next(n for n in default_narratives if n.id == PAKISTAN)
    wordless = dataclasses.replace(pakistan, claim=(("actor", ("***", "-")), *pakistan.claim[1:]))
    assert dict(wordless.claim)["actor"] == ("***", "-")
    assert claim.rule(wordless) is None and not claim.has_rule(wordless)


def test_a_new_archives_rematch_writes_what_the_full_one_writes(tmp_path, default_narratives,
                                                                 monkeypatch):
    """A new archive (no article) is rematched without spelling out the queries or
    compiling the claim rules: the same counts and the same rows as the full rematch."""
    def first_sync(path, full: bool):
        db = store.open_db(path)
        if full:
            monkeypatch.setattr(store, "holds_articles", lambda db: True)
        store.save_narratives(db, default_narratives)
        result = narratives.rematch_many(db, default_narratives)
        monkeypatch.undo()
        rows = {table: db.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
                for table in ("claim_rules", "claim_rejections", "mentions", "narratives")}
        db.close()
        return result, rows

    fast, full = first_sync(tmp_path / "a.db", False), first_sync(tmp_path / "b.db", True)
    assert fast[0] == full[0] == {n.id: {"matched": 0, "added": 0, "removed": 0}
                                  for n in default_narratives}
    assert [row[0] for row in fast[1]["claim_rules"]] == sorted([PAKISTAN, RUSSIA, IRAN])
    # the narratives' rows differ only in their updated_at
    assert {k: v for k, v in fast[1].items() if k != "narratives"} == \
        {k: v for k, v in full[1].items() if k != "narratives"}


# Iran arming (round 8): the Revolutionary Guards as the actor, the Taliban receiving "from"
# Iran, and languages without a variant (Italian, Indonesian, Korean)
IRAN_HOLDS = [
    ("Taliban commanders received financial and military backing from Iran's Revolutionary Guard.",
     "en"),
    ("Officials say Iran has quietly stepped up support for the Taliban.", "en"),
    ("Secondo Pompeo l'Iran fa arrivare armi ed equipaggiamenti alle milizie talebane.", "it"),
    ("Garda Revolusi Iran memberi senjata dan uang kepada Taliban.", "id"),
    ("Los talibanes recibieron apoyo desde Teherán para entrenar a sus hombres.", "es"),
    ("이란이 탈레반에 무기를 지원하고 있다", "ko"),
]
IRAN_NOT_THE_CLAIM = [
    ("Iran backed the Northern Alliance against the Taliban in the 1990s.", "en"),
    ("Pakistan's foreign minister visited Iran to seek support for the Taliban government.", "en"),
    ("Menteri Pakistan mengunjungi Iran untuk mendapatkan dukungan bagi rezim Taliban.", "id"),
    ("Russia sends weapons to the Taliban, an Iranian diplomat said.", "en"),
    ("Iran supports peace talks with the Taliban.", "en"),
]


# (narrative, sentence, language) for the rules of round 8 (Russia's money and support, Iran)
ROUND8_HOLDS = ([(RUSSIA, sentence, "en") for sentence in RUSSIA_HOLDS]
                + [(RUSSIA, *case) for case in RUSSIA_HOLDS_IN] + [(IRAN, *case) for case in IRAN_HOLDS])
ROUND8_NOT_THE_CLAIM = ([(RUSSIA, sentence, "en") for sentence in RUSSIA_NOT_THE_CLAIM]
                        + [(RUSSIA, *case) for case in RUSSIA_NOT_IN]
                        + [(IRAN, *case) for case in IRAN_NOT_THE_CLAIM])


def _rule(narratives, narrative_id):
    return claim.rule(next(n for n in narratives if n.id == narrative_id))


@pytest.mark.parametrize(("narrative_id", "sentence", "language"), ROUND8_HOLDS)
def test_russia_and_iran_claims_hold(default_narratives, narrative_id, sentence, language):
    assert _rule(default_narratives, narrative_id).holds(sentence, language)


@pytest.mark.parametrize(("narrative_id", "sentence", "language"), ROUND8_NOT_THE_CLAIM)
def test_russia_and_iran_words_without_the_claim(default_narratives, narrative_id, sentence,
                                                 language):
    """Russia: the money that is the bounty, support for talks, by Russian media, against the
    Islamic State, political support, another state the subject; Iran: the words without
    Iran doing the act."""
    assert not _rule(default_narratives, narrative_id).holds(sentence, language)


def test_a_rematch_of_a_topical_archive_finds_the_one_claim_the_crawl_found(db,
                                                                            default_narratives):
    """Many articles name Pakistan, an act word and the Taliban far apart (every one a
    candidate), one holds the claim: the rematch (candidates listed without snippets, a
    snippet for the accepted one only) gives the crawl's mention, snippet and terms."""
    pakistan = next(n for n in default_narratives if n.id == PAKISTAN)
    reader = Reader([pakistan], analyse=False)
    texts = [(f"https://example.com/far/{n}", f"Border report {n}",
              "Pakistan reopened the Torkham crossing on Monday. Traders said business was slow"
              f" in week {n}. Aid agencies help families in Kabul. The Taliban named a governor.")
             for n in range(40)]
    texts.append(("https://example.com/claim", "Border report",
                  "Traders said business was slow. Afghan officials say the insurgents were"
                  " Taliban fighters, many of them trained and funded by Pakistan's military"
                  " intelligence."))
    for url, title, text in texts:
        article_id, _ = store.save_article(db, article(url, text, title=title, language="en"),
                                           "example-news")
        narratives.match_article(db, article_id, [pakistan],
                                 reader.mentions(title, text, "en"))

    crawled = _mentions(db)
    assert [row[0] for row in crawled] == ["https://example.com/claim"]
    assert "<mark>" in crawled[0][1]
    candidates = claim.candidate_query(pakistan)
    assert set(fts.matching_rows([text for *_, text in texts], candidates)) == set(range(1, 42))
    db.execute("DELETE FROM mentions WHERE narrative_id = ?", [PAKISTAN])
    assert narratives.rematch(db, pakistan) == {"matched": 1, "added": 1, "removed": 0}
    assert _mentions(db) == crawled


class _CountingPool(ProcessPoolExecutor):
    """A real process pool that counts the tasks it is given."""

    tasks = 0

    def map(self, fn, *iterables, **kwargs):
        lists = [list(iterable) for iterable in iterables]
        self.tasks += len(lists[0])
        return super().map(fn, *lists, **kwargs)

    def submit(self, fn, /, *args, **kwargs):
        self.tasks += 1
        self.submitted = [*getattr(self, "submitted", []), getattr(fn, "__name__", "")]
        return super().submit(fn, *args, **kwargs)


def test_a_rematch_reads_its_candidates_in_worker_processes(db, default_narratives,
                                                            monkeypatch):
    """With its candidates read by worker processes (each through its own connection to
    the archive file, in chunks), a rematch keeps the crawl's mentions, snippets and terms,
    and from an empty start adds them again."""
    pakistan = next(n for n in default_narratives if n.id == PAKISTAN)
    reader = Reader([pakistan], analyse=False)
    texts = [(f"https://example.com/far/{n}", f"Border report {n}",
              "Pakistan reopened the Torkham crossing on Monday. Aid agencies help families"
              " in Kabul. The Taliban named a governor.", "en") for n in range(30)]
    texts += [(url, title, text, language) for url, title, text, language, _ in ARTICLES]
    for url, title, text, language in texts:
        article_id, _ = store.save_article(db, article(url, text, title=title,
                                                       language=language), "example-news")
        narratives.match_article(db, article_id, [pakistan],
                                 reader.mentions(title, text, language))

    crawled = _mentions(db)
    assert [row[0] for row in crawled] == sorted(url for url, *_, hit in ARTICLES if hit)
    monkeypatch.setattr(workers, "PARALLEL_CANDIDATES", 1)
    monkeypatch.setattr(workers, "CHUNK", 4)
    with _CountingPool(2) as pool:
        assert narratives.rematch(db, pakistan, pool) == {"matched": 3, "added": 0, "removed": 0}
        assert _mentions(db) == crawled
        assert db.execute("SELECT count(*) FROM claim_rejections").fetchone()[0] >= 30
        # from an empty start: no mention, no verdict kept
        db.execute("DELETE FROM mentions WHERE narrative_id = ?", [PAKISTAN])
        db.execute("DELETE FROM claim_rejections")
        assert narratives.rematch(db, pakistan, pool) == {"matched": 3, "added": 3, "removed": 0}
        assert _mentions(db) == crawled
    assert pool.tasks >= 2 * 8  # 30-odd candidates, 4 a task, in each rematch


def test_a_narrowed_query_keeps_the_mentions_its_rule_still_reads(db, default_narratives,
                                                                 monkeypatch, tmp_path):
    """The workers read the candidates that are not mentions yet while the query runs; the
    mentions the narrowed query no longer matches are read after it (here by the workers
    too). A query that matches nothing leaves the three the claim rule reads, as an
    in-process rematch does."""
    pakistan = next(n for n in default_narratives if n.id == PAKISTAN)
    reader = Reader([pakistan], analyse=False)
    for url, title, text, language, _ in ARTICLES:
        article_id, _ = store.save_article(db, article(url, text, title=title,
                                                       language=language), "example-news")
        narratives.match_article(db, article_id, [pakistan],
                                 reader.mentions(title, text, language))
    assert len(_mentions(db)) == 3
    copy = tmp_path / "copy.db"
    with sqlite3.connect(copy) as target:
        db.conn.backup(target)
    narrowed = dataclasses.replace(pakistan, query='"nothing matches this"', queries=())
    serial = store.open_db(copy)
    in_process = narratives.rematch(serial, narrowed)
    monkeypatch.setattr(workers, "PARALLEL_CANDIDATES", 1)
    monkeypatch.setattr(workers, "CHUNK", 1)
    with _CountingPool(2) as pool:
        assert narratives.rematch(db, narrowed, pool) == in_process
    assert in_process == {"matched": 3, "added": 0, "removed": 0}  # the rule reads all three
    assert _mentions(db) == _mentions(serial)


def test_candidates_are_read_here_where_workers_would_not_see_the_archive(db, default_narratives,
                                                                         tmp_path):
    """An in-memory archive, or a connection inside a transaction (its writes uncommitted),
    reads its candidates in its own process; so does a narrative without a claim rule."""
    pakistan = next(n for n in default_narratives if n.id == PAKISTAN)
    plain = next(n for n in default_narratives if not n.claim)
    pool = workers.Workers()
    assert pool.read(db, pakistan) is not None
    assert pool.read(db, plain) is None
    assert pool.read(store.open_db(":memory:"), pakistan) is None
    with store.transaction(db):
        assert pool.read(db, pakistan) is None
    assert pool.read(db, pakistan)(list(range(10))) is None  # too few to start a pool
    assert pool.own is None


def test_half_a_rematchs_snippets_are_cut_in_a_worker_process(db, monkeypatch):
    """Many hits that need a snippet from a scan (a new query over an archive): a worker
    process cuts those of the later half of the archive while the rematch's process cuts
    the first half's; the mentions are those one scan gives."""
    narrative = Narrative("n", "N", "taliban AND weapon*")
    narratives.save_narratives(db, [narrative])
    for n in range(40):
        text = (f"Report {n}: the Taliban seized weapons in district {n}." if n % 3 else
                f"Report {n}: the Taliban met elders in district {n}.")
        store.save_article(db, article(f"https://example.com/{n}", text), "example-news")
    monkeypatch.setattr("narrative_archive.store.rematch.ALONE_MOST", 0)
    monkeypatch.setattr("narrative_archive.store.rematch.SPLIT_LEAST", 1)
    version = narratives.narrative_version(db, "n")
    assert store.rematch_mentions(db, "n", narrative.match_query, version)["added"] == 26
    one_scan = _snippets(db)
    db.execute("DELETE FROM mentions")
    with _CountingPool(2) as pool:
        assert narratives.rematch(db, narrative, pool) == {"matched": 26, "added": 26, "removed": 0}
    assert "snippets" in pool.submitted
    assert _snippets(db) == one_scan
    assert [article_id for article_id, *_ in one_scan if article_id > 21]  # the worker's half


def _snippets(db) -> list[tuple]:
    return db.execute("SELECT article_id, snippet, terms FROM mentions ORDER BY article_id").fetchall()
