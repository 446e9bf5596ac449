"""A claim rule's key (match.claim_key): a rematch after the rule's lists change reads
again only the rejected candidates the change can turn, and ends as one that reads them all."""

import dataclasses
import json

import pytest

from narrative_archive import store
from narrative_archive.config import Narrative, load_config
from narrative_archive.match import claim, claim_key, narratives
from tests.conftest import article

RULE = (("actor", ("pakistan",)), ("act", ("backs",)), ("target", ("taliban",)), ("window", (12,)))
NEVER = '"nothing matches this"'


def with_claim(narrative: Narrative, **lists) -> Narrative:
    """The narrative with its claim lists replaced by `lists` (role -> terms)."""
    claim_lists = dict(narrative.claim)
    claim_lists.update({role: tuple(terms) for role, terms in lists.items()})
    return dataclasses.replace(narrative, claim=tuple(claim_lists.items()))


def test_a_rules_key_changes_with_its_lists_and_its_reader(monkeypatch):
    pakistan = next(n for n in load_config(None).narratives if n.id == "pakistan-backing-taliban")
    key = claim_key.rule_key(pakistan)
    assert key and claim_key.rule_key(pakistan) == key
    assert claim_key.rule_key(Narrative("plain", "Plain", "taliban")) is None
    fewer = dataclasses.replace(pakistan, claim=pakistan.claim[:-1])
    assert claim_key.rule_key(fewer) != key
    reordered = dataclasses.replace(pakistan, claim=tuple(reversed(pakistan.claim)))
    assert claim_key.rule_key(reordered) == key  # the keys' order in narratives.yml is not the rule
    monkeypatch.setattr(claim_key, "_reader", lambda: "a changed reader")
    assert claim_key.rule_key(pakistan) != key


def test_what_a_change_of_the_lists_can_turn():
    plain = Narrative("n", "N", NEVER, claim=RULE)
    key = claim_key.rule_key(plain)
    rereads = claim_key.rereads
    assert rereads(key, key) == ""
    # an added act term, a removed actor term, a term moved to another list
    assert rereads(key, claim_key.rule_key(with_claim(plain, act=("backs", "funds")))) == '"funds"'
    assert rereads(claim_key.rule_key(with_claim(plain, actor=("pakistan", "isi*"))), key) == '"isi"*'
    assert rereads(key, claim_key.rule_key(with_claim(plain, act=("backs",), **{"not": ("backs",)}))) \
        == '"backs"'
    # terms that change how every sentence is read, or that the index does not hold as written
    assert rereads(key, claim_key.rule_key(with_claim(plain, window=(14,)))) is None
    assert rereads(key, claim_key.rule_key(with_claim(plain, verb_final=("de",)))) is None
    assert rereads(key, claim_key.rule_key(with_claim(plain, act=("backs", "تدعم*")))) is None
    assert rereads(key, claim_key.rule_key(with_claim(plain, act=("backs", "支持")))) is None
    assert rereads("0123456789abcdef", key) is None  # an archive's key before these keys
    other_reader = json.dumps({**json.loads(key), "reader": "another"})
    assert rereads(other_reader, key) is None


TEXTS = {
    "holds": "Pakistan backs the Taliban, officials say.",
    "turns": "Pakistan funds the Taliban, and it backs talks.",  # a candidate rejected until funds
    "stays": "Pakistan hosts the Taliban, and it backs talks.",  # rejected either way
    "new": "Pakistan funds the Taliban.",  # a candidate only once funds is an act
}


@pytest.fixture
def archive(db):
    narratives.save_narratives(db, [Narrative("claimed", "Claimed", NEVER)])
    ids = {}
    with store.transaction(db):
        for name, text in TEXTS.items():
            ids[name], _ = store.save_article(db, article(f"https://example.com/{name}", text),
                                              "example-news")
    return db, {article_id: name for name, article_id in ids.items()}


def rematch(db, names, narrative: Narrative) -> tuple[list[str], list[str]]:
    """Which articles the rule read, and the narrative's mentions after the rematch."""
    read = []
    rule = claim.rule(narrative)

    def accept(title, text, language):
        read.append(next(name for name, written in TEXTS.items() if written == text))
        return rule.matches(title, text, language)
    store.rematch_mentions(db, "claimed", NEVER, 1, (
        claim.candidate_query(narrative), accept, claim_key.rule_key(narrative),
        claim_key.rereads))
    mentions = [names[row[0]] for row in db.execute(
        "SELECT article_id FROM mentions WHERE narrative_id = 'claimed'")]
    return sorted(read), sorted(mentions)


def test_an_added_term_rereads_only_the_rejected_articles_that_hold_it(archive):
    db, names = archive
    narrow = Narrative("claimed", "Claimed", NEVER, claim=RULE)
    wide = with_claim(narrow, act=("backs", "funds"))
    assert rematch(db, names, narrow) == (["holds", "stays", "turns"], ["holds"])
    assert rematch(db, names, wide) == (["holds", "new", "turns"], ["holds", "new", "turns"])
    # the same mentions as a rematch that reads every candidate again
    db.execute("DELETE FROM claim_rules")
    assert rematch(db, names, wide) == (["holds", "new", "stays", "turns"],
                                        ["holds", "new", "turns"])
    # narrowed again: the articles that hold the removed term are read again, the mention too
    assert rematch(db, names, narrow) == (["holds", "turns"], ["holds"])
    assert rematch(db, names, with_claim(narrow, window=(14,))) == (
        ["holds", "stays", "turns"], ["holds"])
