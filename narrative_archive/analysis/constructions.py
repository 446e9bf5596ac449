"""Constructions that turn a negation or a denial cue away from the claim itself: a negated
verb of telling, a denial of having been told, the evidence a speaker does not give, a thing
withheld ("denied pay"), a denied link from the claim ("no deaths tied to the bounties"), a
negated "said" or "concluded" over a denial; and a hedge that governs no matched word, a
question over the claim, a lead sentence that relays the claim; a denial of another
narrative's accused. Each is read by analysis.stance."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from narrative_archive.analysis.cues import TOKEN, LanguageCues, find, negation_in
from narrative_archive.analysis.sentences import fold
from narrative_archive.analysis.terms import term_positions

# The telling, briefed and evidence lists of config/stance.yml (LanguageCues) are single
# folded words, a "*" at the end marking a prefix:
#   telling   a negation of one ("Trump says he did not discuss the bounties with Putin",
#             "never raised", "n'a pas évoqué") negates the talk about the claim, not the claim
#   briefed   a denial of it ("denied being briefed", "ha smentito di essere stato informato",
#             "bestritt, informiert worden zu sein") denies having been told of the claim
#   evidence  a matched word that takes it as its object ("without providing any evidence",
#             "sans fournir de preuves") is the speaker's giving, not the claim
CLAIM_WORDS = 2  # distinct matched words a sentence needs to carry the claim, not a word of it
EVIDENCE_GAP = 3  # words from the matched word to its object ("providing any such evidence")
TELLING_GAP = 4
_BE = frozenset("is are was were be been being".split())
# what follows a denial verb that is no withheld thing: the agent, a clause, the claim's nouns
# (what "denied support to the Taliban" denies giving)
_NOT_A_THING = frozenset("""by that it this these those the a an any all its their his her claims
    claim reports report allegations allegation accusations accusation charges charge involvement
    knowledge support aid help assistance arms weapons funding funds money backing sanctuary
    shelter safe training""".split())
# A link from the claim to what followed it: denying the link presupposes the claim
_LINKS = frozenset("linked tied led connected resulted contributed".split())
LINK_GAP = 10
_QUESTION_CLOSE = re.compile(r"[?؟]\s*[\"»”’')\]]*\s*$")
DEMAND_GAP = 4  # words from a verb of demanding to the negation it governs
NEGATED_SAYING_GAP = 12  # words from a negated "concluded", "said" to the denial it governs


def telling(tokens: list[str], start: int, end: int, verbs: tuple[tuple[str, ...], ...]) -> bool:
    """Whether one of ``verbs`` (a word list of LanguageCues) sits in tokens[start:end], at
    most TELLING_GAP words on."""
    words, prefixes = _split_words(verbs)
    return any(token in words or token.startswith(prefixes)
               for token in tokens[start:min(end, start + TELLING_GAP)])


def negated_saying(tokens, start: int, lc: LanguageCues, used) -> int | None:
    """The negation of a verb of saying or concluding whose clause holds the denial at
    ``start`` ("Intelligence has not concluded the bounty story was a hoax", "he did not
    say the reports were fake"): the rebuttal is what no one said."""
    low = max(0, start - NEGATED_SAYING_GAP)
    for said, _ in find(tokens[low:start], lc.attribution, lc.prefixes):
        negation = negation_in(tokens, range(max(0, low + said - 2), low + said), lc, ())
        if negation is not None:
            return negation
    return None


def demanding(tokens: list[str], negation: int, lc: LanguageCues) -> int | None:
    """Where a verb of demanding governs the negation at ``negation`` ("demanded from Moscow
    not to pay", "потребовал от Москвы не выплачивать"), DEMAND_GAP words before it at most."""
    low = max(0, negation - DEMAND_GAP)
    return low if telling(tokens, low, negation, lc.demanding) else None


def withheld(tokens: list[str], start: int, end: int, stems) -> bool:
    """Whether a denial cue withholds a thing from someone: English "deny" with a noun object
    that is no claim word, passive ("are denied pay", not "was denied by") or with its
    recipient after "to" ("denies pay to the police")."""
    if (end - start != 1 or not tokens[start].startswith(("deni", "deny")) or end >= len(tokens)
            or tokens[end] in _NOT_A_THING or term_positions(tokens[end:end + 1], stems)):
        return False
    passive = start > 0 and tokens[start - 1] in _BE
    return passive or (end + 1 < len(tokens) and tokens[end + 1] == "to")


def link_after(tokens: list[str], cue_at: int) -> int | None:
    """Where a link ("linked to", "tied to", "led to", "resulted in") follows a denial cue
    within LINK_GAP words."""
    for i in range(cue_at + 1, min(len(tokens) - 1, cue_at + 1 + LINK_GAP)):
        if tokens[i] in _LINKS and tokens[i + 1] in ("to", "in"):
            return i
    return None


def evidence_after(tokens: list[str], position: int, lc: LanguageCues) -> bool:
    """Whether the evidence a speaker gives is the object of the matched word at ``position``."""
    return telling(tokens, position + 1, position + 1 + EVIDENCE_GAP, lc.evidence)


@lru_cache(maxsize=64)
def _split_words(verbs: tuple[tuple[str, ...], ...]) -> tuple[frozenset[str], tuple[str, ...]]:
    """A word list's words and its prefixes (the words ending in "*", without it)."""
    words = [cue[0] for cue in verbs if len(cue) == 1]
    return (frozenset(w for w in words if not w.endswith("*")),
            tuple(sorted(w[:-1] for w in words if w.endswith("*"))))


def hedging_the_claim(tokens, attributions, stems, lc: LanguageCues):
    """Attribution spans without the hedges that govern no matched word: a hedge ("allegedly",
    "apparently", "якобы") qualifies the words after it, so one that follows every matched
    word hedges something else ("Pakistan, once a covert supporter of the Taliban, ... for
    allegedly sheltering terrorists", "the Taliban ... showing off apparently flightworthy
    rotorcraft")."""
    terms = term_positions(tokens, stems)
    last = max(terms) if terms else -1
    return [(start, end) for start, end in attributions
            if start < last or not find(tokens[start:end], lc.hedges, lc.prefixes)]


def questioned(title: str, stems) -> bool:
    """Whether a headline asks about the claim: a question mark closes a part of it that holds
    a matched term ("Is Russia arming the Taliban? Experts doubt it"), not one before the
    claim ("Strategic turnaround? Russia's support to the Taliban")."""
    parts = re.split(r"(?<=[?؟])", title)
    return any(part.rstrip().endswith(("?", "؟")) and (not stems or term_positions(TOKEN.findall(fold(part)), stems))
               for part in parts[:-1])


def saying(attributions, cue_at: int):
    """The attribution spans that say a rebuttal is someone's, without the noun naming what
    is rebutted just before it ("the claim is false", "الادعاء غير صحيح"): no one's saying."""
    return [(start, end) for start, end in attributions if not cue_at - 2 <= end <= cue_at]


def answered(title, relevant, stems=()):
    """The rebuttal in the outlet's own voice that answers a yes/no question headline over
    the claim ("Did the Taliban seize $80 billion of US arms?" over "... the claim is
    false"): the fact-check's form, where the headline asks and the article's answer frames
    it; or the lead's first sentence stating the claim in the outlet's voice, with no cue at
    all ("Are the Taliban arms dealers now?" over "The US left behind weapons that are now
    turning up ..."). None when no sentence read that carries the claim answers it so."""
    if title is None or title.label != "reports" or "question" not in title.cues:
        return None
    rebuttal = next(((role, sentence, r) for role, sentence, r in relevant
                     if role != "title" and r.label == "disputes" and r.has_term and r.outlet_voice), None)
    lead = next(((role, sentence, r) for role, sentence, r in relevant if role == "lead"), None)
    if rebuttal is None and title.cues == ["question"] and lead and lead[2].label == "asserts" and not lead[2].cues \
            and carries_claim(lead[1], stems):
        return lead
    return rebuttal


def asking(sentence: str, lc: LanguageCues) -> str | None:
    """The question word of a question the sentence asks ("What happened to ...?"), in the
    part a question mark closes ("Is Russia arming the Taliban? What we know" asks none)."""
    for part in re.split(r"(?<=[?؟])", sentence):
        if _QUESTION_CLOSE.search(part):
            words = TOKEN.findall(fold(part))
            asked = find(words, lc.asking, lc.prefixes)
            if asked:
                return " ".join(words[asked[0][0]:asked[0][1]])
    return None


def unattributed(sentence: str, tokens, endorsed, attributions, lc: LanguageCues):
    """The endorsements not in a clause an attribution opens: one after an attribution and a
    comma is the source's ("according to the paper, officials consider this proof that
    ..."), not the outlet's ("a new report reveals the strongest evidence"); nor one whose
    clause a hedge qualifies after it ("the Times revealed that Russian agents would have
    offered money": what is revealed is itself hedged); nor one whose closing word belongs to
    an attribution just before it ("كشفت صحيفة التايمز ... نقلا عن مسؤول": عن closes
    "quoting", not "revealed")."""
    folded = fold(sentence)
    starts = [m.start() for m in TOKEN.finditer(folded)]
    hedges = [start for start, end in attributions if find(tokens[start:end], lc.hedges, lc.prefixes)]
    return [(s, e) for s, e in endorsed
            if not any(a_end <= s and "," in folded[starts[a_end - 1]:starts[s]] for _, a_end in attributions)
            and not any(start >= e for start in hedges)
            and not any(s < start and end == e - 1 for start, end in attributions)]


def attributed_claim_lead(framed, stems):
    """The lead sentence that carries the claim (CLAIM_WORDS matched words) under a bare
    headline, when it credits the claim to a source (guideline rule 3: "a bare headline over
    an attributed lead is a compressed relay"); a photo caption before it with one claim word
    is not the lead's claim sentence. Only a source named after every matched word ("...,
    according to Taliban officials", "..., a source said") governs the whole claim; a cue
    before or among them may govern a part ("what appears to be a test of a captured
    helicopter", "a shipment of suspected Iranian arms"). None otherwise."""
    if not framed or framed[0][0] != "title" or framed[0][2].label != "asserts":
        return None
    claim = next((f for f in framed if f[0] == "lead" and carries_claim(f[1], stems)), None)
    if not claim or claim[2].label != "reports" or claim[2].cue_at is None or claim[2].cues[-1:] == ["claim, then denial"]:
        return None
    tokens = TOKEN.findall(fold(claim[1]))
    return claim if claim[2].cue_at > max(term_positions(tokens, stems)) else None


def carries_claim(sentence: str, stems) -> bool:
    """Whether a sentence carries the claim: it holds CLAIM_WORDS distinct matched words
    ("weapons crossed the border, officials said" holds one), or every one when the match
    highlighted fewer."""
    tokens = TOKEN.findall(fold(sentence))
    return len({tokens[i] for i in term_positions(tokens, stems)}) >= min(CLAIM_WORDS, len(stems))


def lead_reports(leads, stems, stated: bool = False) -> bool:
    """Whether the lead's first sentence hands the claim to a source ("US officials said
    Russia is arming the Taliban"): with no headline it is the headline, and a denial after
    it closes a relay (both sides told), as one under a reporting headline does. It carries
    the claim when it holds two of its words ("weapons crossed the border, officials said"
    holds one). ``stated``: also when it states the claim in the outlet's voice (a story that
    leads with the claim, which a denial after it only closes)."""
    first = leads[0][2] if leads else None
    if first is None or not first.has_term:
        return False
    if stated and first.label == "asserts":
        return True
    return first.label == "reports" and first.cue_at is not None and carries_claim(leads[0][1], stems)


# --- whose claim a denial answers: the accused of a narrative, and those of the others.
#
# One article often carries two narratives' claims (Pakistan's denial of arming the Taliban
# beside Russia's arming; Iran rejecting Pompeo's charge, in a story that quotes him on
# Russia too). The stance reader reads one narrative's matched words, and those words (the
# Taliban, weapons) are the other claim's too: a headline or lead that denies the other
# actor's claim would read as a dispute of this one. The claim rules (`claim:` in
# config/narratives.yml) name each narrative's actor; match.reading builds the Actors of a
# mention from them, and a denial that names another narrative's actor and none of this
# one's answers that other claim.


@dataclass(frozen=True)
class Actors:
    """Whether a sentence names the accused of a narrative (`own`) or the accused of the
    other narratives (`others`): two predicates over a sentence."""

    own: Callable[[str], bool]
    others: Callable[[str], bool]

    def anothers(self, sentence: str) -> bool:
        """Whether the sentence names another narrative's accused and none of this one's
        ("Iran rejects Pompeo's claim that it sends weapons to the Taliban", read for
        Russia's arming)."""
        return self.others(sentence) and not self.own(sentence)

    def names_any(self, sentence: str) -> bool:
        """Whether the sentence names this narrative's accused or another's."""
        return self.own(sentence) or self.others(sentence)


def read_for(readings: list[tuple[str, str, Any]], actors: Actors | None) -> list[tuple[str, str, Any]]:
    """The (role, sentence, Reading) list with each denial of another narrative's accused
    read as what it is for this narrative: another's claim and its denial told, a report.
    A headline or lead denial that names no accused after one of another's continues it
    ("Iran rejects Pompeo's charge. The spokesman called the accusations baseless")."""
    if actors is None:
        return readings
    found, anothers = [], False
    for role, sentence, reading in readings:
        if reading.label == "disputes" and (actors.anothers(sentence) or (
                anothers and role != "body" and not actors.names_any(sentence))):
            anothers = anothers or role != "body"
            reading = replace(reading, label="reports", cues=[*reading.cues, "another's denial"],
                              outlet_voice=False)
        found.append((role, sentence, reading))
    return found
