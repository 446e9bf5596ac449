"""ClaimRule.matches reads only the stretches of a text that hold a target word, an actor
and an act (issue 21): it must answer as the sentence-by-sentence reading it replaced, kept
here as the reference. Texts are shapes built from the rules' own term lists (seeded), not
third-party text."""

import random
import re
import unicodedata
from bisect import bisect_left

import pytest

from narrative_archive import fts
from narrative_archive.match import claim

from .test_claim import IRAN, PAKISTAN, RUSSIA

# --- the reference: the reader as it was before issue 21 ------------------------------


def old_fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    return re.sub("[\u0300-\u036f]", "", text)


class OldPresent:
    """Whether a list of terms has a match in a folded text, from its sorted words."""

    def __init__(self, terms):
        words, prefixes, rest = set(), [], []
        for term in terms:
            split = claim._WORDS.findall(old_fold(term.rstrip("*")))
            if len(split) != 1 or "\u0621" <= split[0][0] <= "\u064a":
                rest.append(term)
            elif term.endswith("*"):
                prefixes.append(split[0])
            else:
                words.add(split[0])
        self.words = frozenset(words)
        self.prefixes = tuple(sorted(set(prefixes)))
        self.rest = claim._pattern(rest)

    def search(self, folded, vocabulary):
        if not self.words.isdisjoint(vocabulary):
            return True
        for prefix in self.prefixes:
            i = bisect_left(vocabulary, prefix)
            if i < len(vocabulary) and vocabulary[i].startswith(prefix):
                return True
        return self.rest is not None and self.rest.search(folded) is not None


def old_sentences(text):
    return [part for part in claim._SENTENCE.split(text) if part and part.strip()]


def old_matches(rule, present, title, text, language):
    """The sentence-by-sentence reading: the whole text folded, a quick check that the
    target, the actor and the act are in it, then `holds` on every sentence that names
    the target."""
    for part in (title, text):
        if not part:
            continue
        folded = old_fold(part)
        vocabulary = sorted(set(claim._WORDS.findall(folded)))
        if not all(terms.search(folded, vocabulary) for terms in present):
            continue
        if any(rule.holds(sentence, language, is_folded=True)
               for sentence in old_sentences(folded) if rule.target.search(sentence)):
            return True
    return False


# --- the shapes -------------------------------------------------------------------------

FILLER = ["the", "officials", "said", "on", "monday", "in", "kabul", "a", "report", "u.s.",
          "3.5", "group", "border", "of", "and", "to", "x", "über", "étude", "الحكومة",
          "правительство", "सरकार", "政府", "hoy", "also"]
JOINS = [" ", " ", " ", " ", ", ", "-", "'s ", "’", " (", ") "]
BOUNDARIES = [". ", ".  ", ".\n", "\n", "\n\n", " \n ", "! ", "? ", "؟", "؟ ", "。", "।",
              "। ", "...", ".", ";", ": ", ".\t", "\u00a0", "\r\n"]
LANGUAGES = ["en", "fa", "de", "ar", "ru", "hi", "ur", None]


def word_of(term: str, rng: random.Random) -> str:
    """A text's form of a term: a prefix term with an ending, any case, an Arabic clitic."""
    word = term.rstrip("*")
    if term.endswith("*"):
        word += rng.choice(["", "", "s", "ed", "an", "ing", "ов", "ها", "ان"])
    if rng.random() < 0.2:
        word = word.upper() if rng.random() < 0.5 else word.title()
    if rng.random() < 0.1:
        word = rng.choice(["و", "ب", "ال", "وال", "x", "pre"]) + word
    return word


def sentence_of(lists: dict, rng: random.Random) -> str:
    words = []
    for _ in range(rng.randint(1, 18)):
        role = rng.choices(["actor", "act", "target", "other", "breaks", "by", "not", ""],
                           [5, 5, 5, 1, 1, 2, 1, 8])[0]
        terms = lists.get(role)
        words.append(word_of(rng.choice(terms), rng) if terms else rng.choice(FILLER))
    text = words[0]
    for word in words[1:]:
        text += rng.choice(JOINS) + word
    return text


def text_of(lists: dict, rng: random.Random) -> str:
    text = sentence_of(lists, rng)
    for _ in range(rng.randint(0, 6)):
        text += rng.choice(BOUNDARIES) + sentence_of(lists, rng)
    return text + rng.choice(["", ".", " ", "\n", "।"])


@pytest.mark.parametrize("narrative_id", [PAKISTAN, RUSSIA, IRAN])
def test_the_reader_answers_as_the_sentence_by_sentence_reading(default_narratives,
                                                               narrative_id):
    narrative = next(n for n in default_narratives if n.id == narrative_id)
    lists = {key: list(value) for key, value in narrative.claim}
    rule = claim.rule(narrative)
    present = [OldPresent(lists[role]) for role in ("target", "actor", "act")]
    rng = random.Random(f"claim-reader-{narrative_id}")
    held = 0
    for case in range(2000):
        title = sentence_of(lists, rng) if rng.random() < 0.3 else None
        text = text_of(lists, rng)
        language = rng.choice(LANGUAGES)
        expected = old_matches(rule, present, title, text, language)
        assert rule.matches(title, text, language) == expected, (case, title, text, language)
        held += expected
    assert 50 < held < 1950, held  # both answers are exercised


def test_fold_answers_as_before():
    rng = random.Random("fold")
    alphabet = "aZ .-'é\u0301ÅßİıﬁΣσςЁёйЙїЇ\u0306\u0345Ͱ١٢ـًपा\u200c政ｆ①"
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert claim.fold(text) == old_fold(text), text
    assert claim.fold("Pakistan's ISI") == "pakistan's isi"


def test_sentence_spans_are_the_split_pieces():
    rng = random.Random("spans")
    alphabet = ["a", "b", " ", ".", "!", "?", "؟", "।", "。", "\n", "\t", " \n", "\u00a0"]
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        assert [text[start:end] for start, end in claim.sentence_spans(text)] \
            == claim._SENTENCE.split(text), repr(text)


def test_the_crawl_reads_the_rule_before_the_candidate_query(default_narratives):
    """claim.read (the crawl's Reader and an import's) evaluates a candidate query only
    where the rule holds: the same narratives and snippets as every candidate query first,
    then the rules (claim.confirmed), over texts that name the three rules' words in every
    order, some matching the narratives' own queries too."""
    by_id = {n.id: n for n in default_narratives}
    matcher = fts.NarrativeMatcher([*default_narratives, *claim.candidates(default_narratives)])
    rng = random.Random("claim-read-order")
    lists = [{key: list(value) for key, value in by_id[i].claim} for i in (PAKISTAN, RUSSIA, IRAN)]
    by_claim = 0
    for case in range(300):
        shapes = rng.sample(lists, rng.randint(1, 3))
        title = sentence_of(shapes[0], rng) if rng.random() < 0.3 else None
        text = " ".join(text_of(shape, rng) for shape in shapes)
        language = rng.choice(LANGUAGES)
        snippets = matcher.snippets(title, text)
        expected = claim.confirmed(by_id, snippets, title, text, language)
        assert claim.read(matcher, by_id, title, text, language) == expected, (case, text)
        by_claim += any(i not in snippets for i in expected)
    assert by_claim > 10  # articles that only the claim rules match are read
