"""A narrative's second signal: the accused as the actor of the act, in one sentence.

A query says which words stand near each other; it cannot say who does what. Real coverage
words a claim like Pakistan's backing of the Taliban a new way in each article, and a looser
query that catches those wordings also catches the articles that only hold the claim's words
(Pakistan accusing the Afghan Taliban of sheltering the TTP, Pakistan backing talks with the
Taliban). A narrative's `claim:` key (config/narratives.yml, docs/narratives.md) adds a second
way to match: an article the narrative's query does not match still matches when

- its candidate query matches (any actor term AND any target term AND any act term: an FTS5
  query derived from the lists, evaluated as the narrative's own query is, so a crawl and a
  rematch read the same articles), and
- one sentence (the title is one) holds an actor term, an act term and a target term within
  `window` words, none of the `not` terms, and the actor is the act's subject:
    1. the actor before the act, the act before the target (SVO: "Pakistan backs the
       Taliban", "Pakistan's support for the Taliban", "Pakistan-backed Taliban"); in a
       verb-final language (`verb_final`) the target may stand between them ("پاکستان از
       طالبان حمایت می‌کند");
    2. or the act right before the actor (at most 3 words), the target after them ("تدعم
       باكستان طالبان", "the support of Pakistan to the Taliban");
    3. or target, act, actor with a `by` word before the actor, at most 3 words before it
       and not before the act's 2 words ("the Taliban, backed by Pakistan's ISI", "талибы
       при поддержке Пакистана"; not "the Taliban support Pakistan's call");
    4. or target, a `by` word and the actor, then the act ("the Taliban get from Pakistan's
       ISI money and shelter");
  and no `other` actor (another state: "Pakistan says Russia backs the Taliban") and no
  `breaks` word ("against", "talks": "Pakistan supports talks with the Taliban") stands
  between the actor and the act, or between the act and the target.

A pure function of the article's title, text and language (no index, no archive), so the
crawl's extraction workers, an import's readers, `check` and a rematch all read an article
the same way (match.reading, match.narratives, match.coverage).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from narrative_archive.config import Narrative

if TYPE_CHECKING:  # read() only calls it
    from narrative_archive.fts import NarrativeMatcher

# the characters of a word: letters, digits and the marks of Indic and Arabic scripts (which
# the regex module's \w leaves out), and the zero-width non-joiner of Persian words
WORD = r"\w\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0900-\u0dff\u200c\u200d"
_WORDS = re.compile(f"[{WORD}]+")
_SENTENCE = re.compile(r"(?<=[.!?؟।。])\s+|\n+|(?<=[؟।。])")
# _SENTENCE's boundaries found from their first character (a scan `re` does fast): a stop
# and the space after it (the space is the boundary), newlines, or a stop of the scripts
# that write none (the boundary is the empty string after it)
_BOUNDARY = re.compile(r"[.!?؟।。]\s+|\n+|[؟।。]")
_STOPS = ".!?؟।。"
_MARKS = re.compile("[\u0300-\u036f]")
ARABIC_CLITICS = "(?:و|ف)?(?:ب|ل|ك)?(?:ال|لل)?"
ARABIC_CLITIC_LETTERS = "وفبلكا"  # the letters ARABIC_CLITICS can start with
ROLES = ("actor", "act", "target", "not", "other", "breaks", "by")


def fold(text: str) -> str:
    """Lowercase, Latin and Cyrillic diacritics removed (as FTS5's remove_diacritics);
    the marks of other scripts are kept (they are vowels)."""
    if text.isascii():  # NFKD changes no ASCII character and leaves no mark to remove
        return text.lower()
    text = text.lower()
    # й, ё and ї are what NFKD splits in most Cyrillic text: written as NFKD and the
    # marks' removal leave them, such text needs neither; the marks (U+0300-U+036F) are
    # looked for as their UTF-8 lead bytes \xcc and \xcd, far faster than `re` scans text
    text = text.replace("й", "и").replace("ё", "е").replace("ї", "і")
    if not unicodedata.is_normalized("NFKD", text):
        text = unicodedata.normalize("NFKD", text)
    encoded = text.encode("utf-8", "surrogatepass")
    return _MARKS.sub("", text) if b"\xcc" in encoded or b"\xcd" in encoded else text


def _pattern(terms: Iterable[str]) -> re.Pattern | None:
    """One regular expression over folded text for a list of terms: words, phrases (words
    with spaces or hyphens between), a final * for a prefix."""
    alternatives, first = [], set()
    for term in terms:
        prefix = term.endswith("*")
        words = words_of(term)
        if not words:
            continue
        body = r"[\s\-'’]+".join(re.escape(word) for word in words)
        first.add(words[0][0])
        if "\u0621" <= words[0][0] <= "\u064a":  # Arabic: the attached و ف ب ل and al-
            body = ARABIC_CLITICS + body
            first.update(ARABIC_CLITIC_LETTERS)
        alternatives.append(body + ("" if prefix else f"(?![{WORD}])"))
    if not alternatives:
        return None
    alternatives.sort(key=len, reverse=True)  # the longest term first at a position
    # The lookahead on the characters a term can start with changes no match; it spares
    # `re` trying every alternative at every position of a sentence (most of a rematch's
    # claim pass, where nearly every topical article is a candidate).
    starts = "".join(re.escape(c) for c in sorted(first))
    return re.compile(f"(?=[{starts}])(?<![{WORD}])(?:{'|'.join(alternatives)})")


@dataclass(frozen=True)
class ClaimRule:
    actor: re.Pattern
    act: re.Pattern
    target: re.Pattern
    not_: re.Pattern | None
    other: re.Pattern | None
    breaks: re.Pattern | None
    by: re.Pattern | None
    window: int
    verb_final: frozenset[str]
    first_words: tuple[FirstWords, FirstWords, FirstWords]  # target, actor, act

    def sentence(self, text: str, language: str | None = None) -> str | None:
        """The first sentence of `text` (folded or not) in which the actor does the act to
        the target, or None."""
        for sentence in sentences(text):
            if self.holds(sentence, language):
                return sentence
        return None

    def holds(self, sentence: str, language: str | None = None, is_folded: bool = False) -> bool:
        """Whether the actor does the act to the target in this one sentence (`is_folded`:
        the sentence is already fold()ed)."""
        folded = sentence if is_folded else fold(sentence)
        if not self.target.search(folded) or not self.actor.search(folded) \
                or not self.act.search(folded):
            return False
        if self.not_ is not None and self.not_.search(folded):
            return False
        starts = [m.start() for m in _WORDS.finditer(folded)]

        def at(pattern: re.Pattern | None) -> list[int]:  # word positions of the matches
            if pattern is None:
                return []
            return [bisect_right(starts, m.start()) - 1 for m in pattern.finditer(folded)]
        actors, acts, targets = at(self.actor), at(self.act), at(self.target)
        if not acts:
            return False
        others, breaks, bys = set(at(self.other)) - set(actors), set(at(self.breaks)), at(self.by)
        final = (language or "")[:2].lower() in self.verb_final

        def clear(a: int, b: int, words: set[int] = breaks) -> bool:
            """Nothing between positions a and b breaks the link."""
            low, high = min(a, b), max(a, b)
            return not any(low < p < high for p in words)
        for a in actors:
            for v in acts:
                if v == a:
                    continue
                for t in targets:
                    if t in (a, v) or max(a, v, t) - min(a, v, t) > self.window:
                        continue
                    if a < v and not clear(a, v, others):
                        continue  # another state is the act's subject
                    if a < v and a < t and (v < t or final):  # Pakistan backs the Taliban
                        ok = clear(v, t) if v < t else clear(a, t)
                    elif a < v <= a + 2:  # Pakistan's double game (with the Taliban)
                        ok = clear(min(t, a), max(t, v))
                    elif v < a <= v + 3 and t > a:  # تدعم باكستان طالبان, support of Pakistan to
                        ok = clear(v, a, others) and clear(a, t)
                    elif t < v < a:  # the Taliban, backed by Pakistan; при поддержке Пакистана
                        ok = any(v - 2 <= b < a and a - b <= 3 for b in bys) and clear(t, a)
                    elif t < a < v:  # the Taliban get from Pakistan's ISI money and shelter
                        ok = any(a - 2 <= b < a for b in bys) and clear(t, v)
                    else:
                        ok = False
                    if ok:
                        return True
        return False

    def matches(self, title: str | None, text: str | None, language: str | None) -> bool:
        """Whether one sentence of the title or the text holds the claim (`holds`). Only
        the sentences in a stretch that has a target word, an actor and an act are read
        (`_stretches`); a text with a danda (।) is read sentence by sentence."""
        for part in (title, text):
            if not part:
                continue
            folded = fold(part)
            if "।" in folded:
                if self.target.search(folded) and self.actor.search(folded) \
                        and self.act.search(folded) \
                        and any(self.holds(sentence, language, is_folded=True)
                                for sentence in sentences(folded) if self.target.search(sentence)):
                    return True
                continue
            stretches = self._stretches(folded)
            if not stretches:
                continue
            for start, end in sentence_spans(folded):
                if any(low < end and start < high for low, high in stretches) \
                        and self.holds(folded[start:end], language, is_folded=True):
                    return True
        return False

    def _stretches(self, folded: str) -> list[tuple[int, int]]:
        """The (start, end) of the stretches of `folded` (no danda) between two of its
        boundaries (a newline, ". ") that hold a target term's first word and a match of
        the actor and of the act terms: every sentence that holds the claim lies in one of
        them.

        A newline and a stop with a space after it are sentence boundaries (_SENTENCE), so
        a sentence lies in one stretch. Each term's match in the sentence holds its first
        word (FirstWords), and is a match in the stretch, or the stretch's ends cut the
        lookbehind or lookahead of one (`re` then reads them as the text's ends: it answers
        yes, never no where the sentence says yes)."""
        places = self.first_words[0].places(folded)  # the target's
        if not places:
            return []
        # an actor's match holds one of its first words: a cheap test before the actor's
        # expression (a stretch without one has no match)
        actor_word = self.first_words[1].anywhere(folded).search
        find, rfind = folded.find, folded.rfind
        stretches: list[tuple[int, int]] = []
        high = -1
        for place in places:
            if place < high:
                continue  # in the stretch just read
            low = max(rfind(". ", 0, place), rfind("\n", 0, place)) + 1
            end, newline = find(". ", place), find("\n", place)
            if end < 0 or 0 <= newline < end:
                end = newline
            high = end + 1 if end >= 0 else len(folded)
            if actor_word(folded, low, high) and self.actor.search(folded, low, high) \
                    and self.first_words[2].within(folded, low, high) \
                    and self.act.search(folded, low, high):
                stretches.append((low, high))
        return stretches


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """The (start, end) of each piece `_SENTENCE.split(text)` gives, blank ones too."""
    spans, start = [], 0
    for m in _BOUNDARY.finditer(text):
        end = m.start() + (m.group()[0] in _STOPS)  # a stop stays in its sentence
        spans.append((start, end))
        start = m.end()
    spans.append((start, len(text)))
    return spans


def sentences(text: str) -> list[str]:
    return [part for part in _SENTENCE.split(text) if part and part.strip()]


@lru_cache(maxsize=64)
def compiled(claim: tuple) -> ClaimRule | None:
    lists = dict(claim)
    patterns = {role: _pattern(lists.get(role, ())) for role in ROLES}
    if not (patterns["actor"] and patterns["act"] and patterns["target"]):
        return None
    return ClaimRule(patterns["actor"], patterns["act"], patterns["target"], patterns["not"],
                     patterns["other"], patterns["breaks"], patterns["by"],
                     int(lists.get("window", (12,))[0]),
                     frozenset(lists.get("verb_final", ())),
                     (FirstWords(lists["target"]), FirstWords(lists["actor"], 4),
                      FirstWords(lists["act"], 4)))


class FirstWords:
    """The first words of a list of terms (folded), less those that hold another one: one
    of them is in every match of `_pattern(terms)` (where the match's word starts), and
    `places` finds them with str.find (one scan of the text each, far faster than `re`'s
    for the alternation, which tries every term at every word start)."""

    def __init__(self, terms: Iterable[str], length: int | None = None):
        """`length`: look for the words' first `length` characters only (fewer to find
        where many words start alike, each in more places)."""
        words = {found[0] for term in terms if (found := _WORDS.findall(fold(term.rstrip("*"))))}
        heads = {word[:length] for word in words}
        cores = sorted(head for head in heads
                       if not any(other != head and other in head for other in heads))
        # (word, whether a match starts with it: no Arabic clitic before it, and no other
        # term's first word holds it past its start)
        self.every = tuple((core, not "\u0621" <= core[0] <= "\u064a" and all(
            word.startswith(core) for word in words if core in word)) for core in cores)
        self.ascii = tuple(item for item in self.every if item[0].isascii())
        # the words wherever they stand, in one scan of `re` (a few of its words' first
        # characters to try at each place; str.find would scan once for each word)
        self._anywhere = tuple(re.compile("|".join(re.escape(core) for core, _ in words) or "(?!)")
                               for words in (self.every, self.ascii))

    def anywhere(self, folded: str) -> re.Pattern:
        """A pattern that finds the words in `folded` wherever they stand (a match of the
        terms holds one)."""
        return self._anywhere[folded.isascii()]

    def places(self, folded: str) -> list[int]:
        """Where the words stand in `folded`, in order (one at a place where a match of
        the terms cannot start, after a letter or digit, left out)."""
        found = []
        for core, starts in self.ascii if folded.isascii() else self.every:
            at = folded.find(core)
            while at >= 0:
                if not (starts and at and folded[at - 1].isalnum()):
                    found.append(at)
                at = folded.find(core, at + 1)
        found.sort()
        return found

    def within(self, folded: str, low: int, high: int) -> bool:
        """Whether one of the words stands in folded[low:high] (as `places` finds them)."""
        for core, starts in self.ascii if folded.isascii() else self.every:
            at = folded.find(core, low, high)
            while at >= 0:
                if not (starts and at and folded[at - 1].isalnum()):
                    return True
                at = folded.find(core, at + 1, high)
        return False


def rule(narrative: Narrative) -> ClaimRule | None:
    """The narrative's claim rule, or None when it has no `claim:` key."""
    return compiled(narrative.claim) if narrative.claim else None


def has_rule(narrative: Narrative) -> bool:
    """Whether rule(narrative) is not None, without compiling it (0.05-0.1 s a rule)."""
    roles = dict(narrative.claim)  # _pattern's None: no term of a list has a word
    return bool(roles) and all(any(words_of(term) for term in roles.get(role, ()))
                               for role in ("actor", "act", "target"))


def words_of(term: str) -> list[str]:
    """A list's term's words as the rule reads them (folded; none in "***")."""
    return _WORDS.findall(fold(term.rstrip("*")))


def fts_term(term: str) -> str:
    """A list's term as an FTS5 phrase (a prefix phrase for a final *)."""
    words = term.rstrip("*")
    quoted = '"' + words.replace('"', '""') + '"'
    return quoted + ("*" if term.endswith("*") else "")


def candidate_query(narrative: Narrative) -> str | None:
    """The FTS5 query of the articles the claim rule reads: an actor term AND a target term
    AND an act term (the narrative's own query aside), or None without a `claim:` key.

    The act terms spare a rematch reading the sentences of every article that names the
    actor and the target (most of a topical archive). An Arabic-script act term matches with
    its attached و ف ب ل and al- in the rule but not in the index, so an article that names
    an Arabic-script target is read whatever its acts (the rule still needs one)."""
    if not narrative.claim:
        return None
    lists = dict(narrative.claim)
    actors = " OR ".join(fts_term(term) for term in _fewest(lists["actor"]))
    targets = " OR ".join(fts_term(term) for term in _fewest(lists["target"]))
    acts = [term for term in _fewest(lists["act"]) if not _arabic(term)]
    acts += [term for term in _fewest(lists["target"]) if _arabic(term)]
    return f"({actors}) AND ({targets}) AND ({' OR '.join(fts_term(term) for term in acts)})"


def _arabic(term: str) -> bool:
    return "\u0600" <= term[:1] <= "\u06ff"


def _fewest(terms: Iterable[str]) -> list[str]:
    """The terms less those another one covers: a phrase whose first word is a term
    ("pakistan s", "pakistani army"), a word a prefix term covers (пакистанск* by
    пакистан*). The query matches the same articles and costs less."""
    terms = list(dict.fromkeys(terms))
    words = {term for term in terms if " " not in term and not term.endswith("*")}
    prefixes = [term[:-1] for term in terms if " " not in term and term.endswith("*")]

    def covered(term: str) -> bool:
        first = term.split()[0]
        if " " in term and first in words:
            return True
        return any(first.startswith(prefix) for prefix in prefixes if term != prefix + "*")
    return [term for term in terms if not covered(term)]


@dataclass(frozen=True)
class Candidates:
    """A narrative's candidate query as the matcher reads a query (fts.Query)."""

    id: str
    match_query: str


CANDIDATES = "#claim"  # the suffix of a candidate query's id in a matcher


def candidates(narratives: Iterable[Narrative]) -> list[Candidates]:
    """The candidate queries of the narratives that have a claim rule (id: narrative id +
    CANDIDATES), for a NarrativeMatcher beside the narratives' own."""
    found = []
    for narrative in narratives:
        query = candidate_query(narrative)
        if query is not None and rule(narrative) is not None:
            found.append(Candidates(narrative.id + CANDIDATES, query))
    return found


def read(matcher: NarrativeMatcher, narratives: Mapping[str, Narrative], title: str | None,
         text: str | None, language: str | None) -> dict[str, str | None]:
    """{narrative id: snippet} of one article, as `confirmed` gives it from
    matcher.snippets over the narratives and their candidates, but with each candidate
    query evaluated only where its narrative's query did not match and its rule holds:
    the rule (a pure function, tens of µs) is far cheaper than a candidate query and its
    snippet in the matcher's index, and rejects most articles that name the actor."""
    def wanted(key: str, found: Mapping[str, str | None]) -> bool:
        narrative_id = key.removesuffix(CANDIDATES)
        if key == narrative_id:
            return True
        claim_rule = rule(narratives[narrative_id]) if narrative_id in narratives else None
        return narrative_id not in found and claim_rule is not None \
            and claim_rule.matches(title, text, language)
    return confirmed(narratives, matcher.snippets(title, text, wanted=wanted), title, text,
                     language)


def confirmed(narratives: Mapping[str, Narrative], snippets: Mapping[str, str | None],
              title: str | None, text: str | None, language: str | None) -> dict[str, str | None]:
    """{narrative id: snippet} from a matcher's answer over the narratives and their
    candidate queries: each narrative its query matched, and each narrative its query did
    not match whose candidate query did and whose claim rule holds in a sentence (with the
    candidate query's snippet)."""
    found = {key: value for key, value in snippets.items() if not key.endswith(CANDIDATES)}
    for key, snippet in snippets.items():
        narrative_id = key.removesuffix(CANDIDATES)
        if key == narrative_id or narrative_id in found or narrative_id not in narratives:
            continue
        claim_rule = rule(narratives[narrative_id])
        if claim_rule is not None and claim_rule.matches(title, text, language):
            found[narrative_id] = snippet
    return {narrative_id: found[narrative_id] for narrative_id in narratives
            if narrative_id in found}
