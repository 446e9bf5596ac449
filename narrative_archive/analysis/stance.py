"""Stance of a mention: does the article assert, report or dispute the narrative's claim,
and who disputes or asserts it.

The article is read as a fact-checker reads it, by its frame: the headline first, then the
lead (the first sentences of the body), then the body sentences around the matched terms.
Each sentence is read with the cue lists of config/stance.yml:

    disputes  a denial or rebuttal cue that is not negated ("denies", "groundless"),
              or a negation just before a matched term ("is not arming")
    reports   an attribution cue ("says", "according to"), a question, or the matched
              words inside quotation marks
    asserts   none of these: the outlet states the claim in its own voice

A headline or lead that disputes the claim makes the article dispute it, even when the
body restates the accusation it answers; otherwise the headline's reading frames the
article, then the lead's, then a vote over the body. Every label comes with the sentence
and the cue words that decided it, and with its speaker (analysis.speaker): the outlet, an
official or body (named when the sentence names it), or an unnamed source. The work is
bounded whatever the text: only the lead and sentences around the first matches are read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from narrative_archive.analysis.clauses import claim_then_denial as _claim_then_denial
from narrative_archive.analysis.constructions import Actors
from narrative_archive.analysis.constructions import answered as _answered
from narrative_archive.analysis.constructions import asking as _asking
from narrative_archive.analysis.constructions import attributed_claim_lead as _attributed_claim_lead
from narrative_archive.analysis.constructions import demanding as _demanding
from narrative_archive.analysis.constructions import evidence_after as _evidence_after
from narrative_archive.analysis.constructions import hedging_the_claim as _hedging_the_claim
from narrative_archive.analysis.constructions import lead_reports as _lead_reports
from narrative_archive.analysis.constructions import link_after as _link_after
from narrative_archive.analysis.constructions import negated_saying as _negated_saying
from narrative_archive.analysis.constructions import questioned as _questioned
from narrative_archive.analysis.constructions import read_for as _read_for
from narrative_archive.analysis.constructions import saying as _saying
from narrative_archive.analysis.constructions import telling as _telling
from narrative_archive.analysis.constructions import unattributed as _unattributed
from narrative_archive.analysis.constructions import withheld as _withheld
from narrative_archive.analysis.cues import CUE_LISTS as CUE_LISTS
from narrative_archive.analysis.cues import DEFAULT_STANCE_FILE as DEFAULT_STANCE_FILE
from narrative_archive.analysis.cues import TOKEN as _TOKEN
from narrative_archive.analysis.cues import LanguageCues as LanguageCues
from narrative_archive.analysis.cues import default_cues as default_cues
from narrative_archive.analysis.cues import find as _find
from narrative_archive.analysis.cues import load_cues as load_cues
from narrative_archive.analysis.cues import merge_cues as merge_cues
from narrative_archive.analysis.cues import negation_in as _negation_in
from narrative_archive.analysis.cues import widened as _widened
from narrative_archive.analysis.quotes import has_quotation, quoted_term
from narrative_archive.analysis.sentences import fold, pick_language, sentence_span, tag_line
from narrative_archive.analysis.speaker import SPEAKER_KINDS as SPEAKER_KINDS
from narrative_archive.analysis.speaker import TRAILING_SOURCE as _TRAILING_SOURCE
from narrative_archive.analysis.speaker import colon_speaker as _colon_speaker
from narrative_archive.analysis.speaker import speaker_of
from narrative_archive.analysis.terms import _CHUNK as _CHUNK
from narrative_archive.analysis.terms import CJK as _CJK
from narrative_archive.analysis.terms import stems_of as _stems
from narrative_archive.analysis.terms import term_list as _term_list
from narrative_archive.analysis.terms import term_positions as _term_positions
from narrative_archive.analysis.terms import term_starts as _term_starts
from narrative_archive.analysis.terms import text_has_stem as _text_has_stem

STANCES = ("asserts", "reports", "disputes")
MAX_SENTENCES = 8
LEAD_SENTENCES = 2
BODY_MARGIN = 1  # a bare headline over more attributed claim sentences than stated ones is a relay

# a closing source (": NYT", "- Госдеп"); "| Name" is the site's own name, the outlet's voice
_QUESTION_END = re.compile(r"[?؟]\s*[\"»”’')\]]*\s*$")
MAX_CJK_SOURCE = 10  # characters: "米司令官", "ホワイトハウス", "美国国防部发言人"


@dataclass(frozen=True)
class Stance:
    """The stance of one mention; ``stance`` is None when the text gives nothing to read.
    ``speaker`` is who disputes or asserts (outlet, official, unnamed; None for a report),
    ``speaker_name`` their words as the evidence sentence gives them."""

    stance: str | None
    confidence: float
    evidence: dict[str, Any] = field(default_factory=dict)  # {"sentence", "cues", "frame"}
    reason: str | None = None
    language: str | None = None
    speaker: str | None = None
    speaker_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Reading:
    """One sentence read: its label, the cues that decided it, and where the deciding cue is."""

    label: str
    cues: list[str]
    cue_at: int | None = None  # token index of the denial or attribution cue
    has_term: bool = False
    outlet_voice: bool = False  # a rebuttal no one else in the sentence is said to make
    endorsed: bool = False  # the outlet vouches for its source ("CNN has confirmed that ...")


@dataclass(frozen=True)
class Frame:
    """What the rules read of one mention, before any label is chosen: the language, the
    sentences read ((role, sentence, Reading): the headline, the lead, the body around the
    matched terms) and the reading that frames the article ((role, sentence, Reading,
    confidence), None when nothing is read). benchmarks/stance_features.py reads its features here."""

    language: str
    cues: LanguageCues
    stems: tuple[str, ...]
    readings: list[tuple[str, str, Reading]]
    decided: tuple[str, str, Reading, float] | None
    reason: str | None


def read_frame(
    title: str | None,
    text: str | None,
    terms: Iterable[str] | str | None,
    cues: Mapping[str, LanguageCues] | None = None,
    language: str | None = None,
    *,
    max_sentences: int = MAX_SENTENCES,
    actors: Actors | None = None,
) -> Frame | Stance:
    """The rules' reading of a mention (a Frame), or the null Stance when there is nothing
    to read. classify_stance's arguments."""
    for name, value in (("title", title), ("text", text)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"classify_stance: {name} must be a str or None, not {type(value).__name__}")
    title, text = (title or "").strip(), text or ""
    cues = default_cues() if cues is None else cues
    language = pick_language(language, title + " " + text[:2000], cues)
    if not title and not text.strip():
        return Stance(None, 0.0, {}, "no title or text to read", language)
    lc = cues[language]
    stems = _stems(_term_list(terms))
    parts = _sentences(title, text, stems, language, max_sentences)
    reason = None
    if not any(has_term for _, _, has_term in parts):
        reason = "no matched term found in the title or text; read the title and first sentences"
    readings = [(role, sentence, _read(sentence, stems, lc, role == "title")) for role, sentence, has_term in parts]
    readings = _read_for(readings, actors)  # a denial of another narrative's accused
    decided = _decide(readings, bool(reason), stems)
    if decided is None:
        return Stance(None, 0.0, {}, "no sentence to read", language)
    return Frame(language, lc, stems, readings, decided, reason)


def classify_stance(
    title: str | None,
    text: str | None,
    terms: Iterable[str] | str | None,
    cues: Mapping[str, LanguageCues] | None = None,
    language: str | None = None,
    *,
    max_sentences: int = MAX_SENTENCES,
    actors: Actors | None = None,
) -> Stance:
    """The stance of an article towards a claim, read by its frame: headline, lead, body.

    ``terms`` are the words full-text search highlighted (a list, or the JSON list stored in
    mentions.terms); ``cues`` comes from load_cues() (default: the shipped lists);
    ``language`` picks the cue lists (guessed from the script when missing or unknown).
    """
    frame = read_frame(title, text, terms, cues, language, max_sentences=max_sentences, actors=actors)
    if isinstance(frame, Stance):
        return frame
    return rules_stance(frame)


def rules_stance(frame: Frame) -> Stance:
    """The rules' label of a Frame, with its evidence sentence and speaker."""
    assert frame.decided is not None
    role, sentence, reading, confidence = frame.decided
    lc, stems, readings, reason = frame.cues, frame.stems, frame.readings, frame.reason
    kind, speaker_name = speaker_in(sentence, reading, lc, stems, role == "title")
    if kind == "outlet" and role == "title" and reading.label == "disputes":
        # a headline compresses its speaker away ("Claims of Tehran's aid to Taliban denied",
        # "No evidence Russia helped the Taliban"): a lead sentence that disputes names them
        for lead_role, lead_sentence, lead in readings:
            if lead_role == "lead" and lead.label == "disputes":
                lead_kind, lead_name = speaker_in(lead_sentence, lead, lc, stems, False)
                if lead_kind != "outlet":
                    kind, speaker_name = lead_kind, lead_name
                break
    evidence = {"sentence": sentence, "cues": reading.cues, "frame": role}
    confidence = round(confidence * (0.5 if reason else 1.0), 2)
    return Stance(reading.label, confidence, evidence, reason, frame.language, kind, speaker_name)


def speaker_in(sentence: str, reading: Reading, lc: LanguageCues, stems, title: bool):
    claim = frozenset(_term_positions(_TOKEN.findall(fold(sentence)), stems))
    kind, name = speaker_of(sentence, reading.label, reading.cue_at, lc, title=title, claim=claim)
    return ("outlet", None) if kind == "official" and not name and reading.outlet_voice else (kind, name)


def _decide(readings, no_terms: bool, stems: tuple[str, ...] = ()):
    """(role, sentence, reading, confidence) of the reading that frames the article."""
    relevant = [(role, sentence, r) for role, sentence, r in readings
                if r.has_term or (r.label == "disputes" and not r.outlet_voice)
                or (no_terms and role != "body")]
    if not relevant:
        return None
    title = next((r for role, _, r in relevant if role == "title" and r.has_term), None)
    leads = [(role, sentence, r) for role, sentence, r in readings if role == "lead"]
    if title and title.label == "reports" and any(cue.startswith("negated: ") for cue in title.cues):
        # "No, intelligence has not concluded the bounty story was a hoax": a headline that
        # rebuts a rebuttal frames the article; the denials its lead relays are what it answers
        return next((role, sentence, r, 0.7) for role, sentence, r in relevant if r is title)
    for role, sentence, r in relevant:
        if r.label != "disputes" or role == "body":
            continue
        # a denial in the headline or the lead's first sentence frames the article; one in the second
        # does unless the headline reports the claim ("X says ...") or the first sentence states it
        if role == "title" or leads[0][1] == sentence or not (title or _lead_reports(leads, stems, stated=True)):
            return role, sentence, r, 0.9 if role == "title" else 0.8
    if answer := _answered(title, relevant, stems):  # "Did the Taliban seize $80bn of arms?" ... "the claim is false"
        return (*answer, 0.6)
    framed = [(role, sentence, r) for role, sentence, r in relevant
              if role in ("title", "lead") and r.has_term]
    endorsing = next((f for f in framed if f[2].endorsed), None)
    if endorsing and not (title and "question" in title.cues and endorsing[2] is not title):
        # the headline or lead vouches for its source: an endorsement (not under a yes-no headline question)
        return (*endorsing, 0.7)
    if framed and framed[0][2].label == "reports":
        return (*framed[0], 0.7)
    if relay := _attributed_claim_lead(framed, stems):  # a bare headline over an attributed lead
        return (*relay, 0.6)
    claim_lead = next((f for f in framed if f[0] == "lead"), None)
    if framed and claim_lead and claim_lead[2].label == "asserts":
        # "ISI secretly helps the Taliban. A Washington Times investigation makes this claim.":
        # the lead sentence after the claim's, with no claim word of its own, names its source
        after = [lead for lead in leads if not lead[2].has_term and lead[1] != claim_lead[1]
                 and leads.index(lead) == leads.index(claim_lead) + 1]
        if after and after[0][2].label == "reports" and after[0][2].cue_at is not None:
            return (*after[0], 0.5)
    if framed and framed[0][0] == "title" and framed[0][2].label == "asserts":
        # a bare headline over a story that hands the claim to its sources more often than it
        # states it ("Iran supports the Taliban" over four sentences of "officials said ...")
        said = [(role, sentence, r) for role, sentence, r in relevant
                if role != "title" and r.has_term and r.label == "reports" and r.cue_at is not None]
        stated = sum(1 for role, _, r in relevant if role != "title" and r.has_term and r.label == "asserts")
        if len(said) >= stated + BODY_MARGIN:
            return (*said[0], 0.5)
    if framed:
        return (*framed[0], 0.7)
    # no headline or lead sentence carries the claim: a count of the sentences read (the
    # eighth round picked equal weights by leave-one-split-out; the headline's 2.0 and the
    # lead's 1.5 lost a mention); its evidence is the first sentence with the winning label
    scores = dict.fromkeys(STANCES, 0)
    best: dict[str, tuple[str, str, Reading]] = {}
    for role, sentence, r in relevant:
        scores[r.label] += 1
        best.setdefault(r.label, (role, sentence, r))
    # ties go to the more cautious label: a disputing or attributing sentence outweighs silence
    winner = max(STANCES, key=lambda label: (scores[label], STANCES.index(label)))
    role, sentence, r = best[winner]
    return role, sentence, r, scores[winner] / sum(scores.values())


def read_sentence(sentence: str, stems: tuple[str, ...], lc: LanguageCues) -> tuple[str, list[str]]:
    """One sentence's label and the cues that decided it."""
    reading = _read(sentence, stems, lc)
    return reading.label, reading.cues


def _read(sentence: str, stems: tuple[str, ...], lc: LanguageCues, title: bool = False) -> Reading:
    tokens = _TOKEN.findall(fold(sentence))
    has_term = bool(_term_positions(tokens, stems))
    used: set[int] = set()
    found: list[str] = []
    negated_denial = False
    for start, end in _find(tokens, lc.not_denial, lc.prefixes):
        used.update(range(start, end))
        found.append("not a denial: " + " ".join(tokens[start:end]))
        # a negated denial ("doesn't dispute", "تکذیب نکرد") is an admission: a report; one
        # with no negation denies something else ("rejects the demand", "denies knowing") or
        # affirms ("hard to deny", "despite denials"): no report
        negated_denial = negated_denial or bool(
            _find(tokens[start:end], lc.denial, lc.prefixes) and _negation_in(tokens, range(start, end), lc, ()) is not None)
    cue_at = None
    for start, end in _find(tokens, _widened(lc.denial), lc.prefixes, used):
        if _withheld(tokens, start, end, stems):
            # "officers are denied pay", "the coalition denies pay to 30,000 cops": a thing
            # withheld from someone, not a claim denied
            used.update(range(start, end))
            found.append("withheld: " + " ".join(tokens[start:end + 1]))
            continue
        if _telling(tokens, end, len(tokens), lc.briefed):
            # "denied being informed of it": a denial of being told, not of the claim
            used.update(range(start, end))
            found.append("not a denial: " + " ".join(tokens[start:end]))
            continue
        # negative concord: "нет никаких доказательств" is one denial, not a cancelled one
        concord = _negation_in(tokens, [start], lc, ()) is not None
        before = None if concord else _negation_in(tokens, range(max(0, start - 3), start), lc, used)
        if before is None and not concord:
            before = _negated_saying(tokens, start, lc, used)
        if before is not None:
            used.update(range(before, end))
            found.append("negated: " + " ".join(tokens[before:end]))
            negated_denial = True
            continue
        used.update(range(start, end))
        found.append(" ".join(tokens[start:end]))
        cue_at = start if cue_at is None else cue_at
    before_n, after_n = lc.negation_window
    # words an attribution cue would match that are not one ("retrait", "mayoría")
    not_said = {i for start, end in _find(tokens, lc.not_attribution, lc.prefixes, used) for i in range(start, end)}
    reported = _find(tokens, lc.attribution, lc.prefixes, used | not_said)
    for position in _term_positions(tokens, stems):
        window = [*range(max(0, position - before_n), position),
                  *range(position + 1, min(len(tokens), position + 1 + after_n))]
        negation = _negation_in(tokens, window, lc, used)
        if negation is not None and (any(negation < start < position for start, _ in reported)
                                     or _telling(tokens, negation + 1, position, lc.telling)):
            # "Esper: I never received reports of Russian bounties": the reporting is negated,
            # not the claim
            found.append("negated report: " + " ".join(tokens[negation:position + 1]))
            used.add(negation)
            negated_denial = True
            continue
        if negation is not None and negation < position and (demand := _demanding(tokens, negation, lc)) is not None:
            # "Pompeo demanded from Moscow not to pay the Taliban": a demand relays the claim
            found.append("demanded: " + " ".join(tokens[demand:position + 1]))
            used.add(negation)
            negated_denial = True
            continue
        if negation is not None and negation < position and _evidence_after(tokens, position, lc) and any(
                start < negation for start, _ in reported):
            # "Tillerson stated that Russia is supplying weapons (without providing any
            # evidence)": the speaker's evidence is negated, not the claim it attributes
            found.append("evidence aside: " + " ".join(tokens[negation:position + 1]))
            used.add(negation)
            continue
        if negation is not None:
            low, high = sorted((negation, position))
            found.append("negated claim: " + " ".join(tokens[low:high + 1]))
            used.add(negation)
            cue_at = negation if cue_at is None else cue_at
    attributions = _find(tokens, lc.attribution, lc.prefixes, used | not_said)
    if lc.hedges and attributions:
        attributions = _hedging_the_claim(tokens, attributions, stems, lc)
    speaker = _colon_speaker(sentence)
    colon = False
    if speaker:
        words = _TOKEN.findall(fold(speaker.group(1)))
        colon = not _find(words, lc.labels, lc.prefixes) and (
            not _term_positions(words, stems) or bool(_find(words, lc.speakers, lc.prefixes)))
    if cue_at is not None:
        voice = not _saying(attributions, cue_at) and not colon and not _find(tokens, lc.speakers, lc.prefixes)
        link = _link_after(tokens, cue_at)
        if link is not None:
            # "no evidence of US deaths tied to Russian bounties", "not convinced the bounties
            # led to any killing": what is denied is a link from the claim, which it presupposes
            return Reading("reports", [*found, "a link denied: " + " ".join(tokens[link:link + 2])], cue_at, has_term)
        if _claim_then_denial(sentence, tokens, cue_at, stems):
            # "Videos appear to show Russian weapons ...; Russia denied it": both sides told
            return Reading("reports", [*found, "claim, then denial"], cue_at, has_term)
        return Reading("disputes", found, cue_at, has_term, voice)
    endorsed = [(s, e) for s, e in _find(tokens, lc.endorsements, lc.prefixes, used)
                if not _telling(tokens, e, len(tokens), lc.briefed)] if lc.endorsements else []
    endorsed = _unattributed(sentence, tokens, endorsed, attributions, lc) if attributions else endorsed
    if endorsed and has_term and not negated_denial and not _QUESTION_END.search(sentence):
        # "CNN has confirmed that Russia is supplying weapons", "Iran was caught supplying": the outlet
        # vouches for its source (not "confirms he was briefed"); a question ("Does the CNN video prove ...?") does not
        return Reading("asserts", [*found, *("endorses: " + " ".join(tokens[s:e]) for s, e in endorsed)], None,
                       has_term, endorsed=True)
    found.extend(" ".join(tokens[s:e]) for s, e in attributions)
    if colon and speaker:  # so far colon is only set when the speaker matched
        found.append(" ".join(_TOKEN.findall(fold(speaker.group(1)))) + ":")
    trailing = _TRAILING_SOURCE.search(sentence)
    if (trailing and not colon and has_term and _names_someone(trailing.group(), lc)
            and not _term_positions(_TOKEN.findall(fold(trailing.group())), stems)):
        colon = True
        found.append(": " + " ".join(_TOKEN.findall(fold(trailing.group()))))
    if _QUESTION_END.search(sentence) or (title and _questioned(sentence, stems)):
        # "Why would Putin risk working with the Taliban?", "What happened to the equipment
        # left in Afghanistan?": a question word takes what it asks about as given (guideline
        # rule 2, presupposed); a yes-no question ("Is Russia arming the Taliban?") hedges it
        asked = _asking(sentence, lc)
        found.append("asks: " + asked if asked else "question")
    if quoted_term(sentence, stems):
        found.append("quoted")
    if not attributions and "quoted" not in found and has_quotation(sentence):
        found.append("quotation")  # someone is quoted: the sentence tells what others say
    if attributions or colon or negated_denial or any(cue in found for cue in ("question", "quoted", "quotation")):
        return Reading("reports", found, attributions[0][0] if attributions else None, has_term)
    return Reading("asserts", found, None, has_term)


def _names_someone(words: str, lc: LanguageCues) -> bool:
    """Whether the words after a sentence's closing colon or dash can name a source: in a
    script with capitals, a capitalised word or a speaker word ("- Госдеп", ": NYT", "—
    командувач армії США"); lowercase words alone are the sentence's own ("...: трое
    погибших", "...: парадоксальные отношения")."""
    letters = [c for c in words if c.isalpha()]
    if not letters or not any(c.isupper() or c.islower() for c in letters):
        # a script without capitals; a CJK run has no spaces, so a long one is a clause ("...：均从阿富汗人手中购买")
        return not _CJK.search(words) or len(words.strip(" :：-–—－")) <= MAX_CJK_SOURCE
    return any(w[:1].isupper() for w in _TOKEN.findall(words)) or bool(
        _find(_TOKEN.findall(fold(words)), lc.speakers, lc.prefixes))


def _sentences(title, text, stems, language, limit) -> list[tuple[str, str, bool]]:
    """(role, sentence, has a matched term): the title, the lead's first sentences, then body
    sentences around the first matches (each sentence once)."""
    found: list[tuple[str, str, bool]] = []
    if title:
        found.append(("title", title, _text_has_stem(title, stems)))
    seen = {folded_title := fold(title or "")}
    position = len(text) - len(text.lstrip())
    lead: list[tuple[int, int]] = []
    while len(lead) < LEAD_SENTENCES and position < min(len(text), 3000):
        start, end = sentence_span(text, position)
        folded = fold(sentence := " ".join(text[start:end].split()))
        if sentence and folded not in seen and len(_TOKEN.findall(sentence)) >= 4 and not tag_line(
                text, start, end) and not (folded_title and folded.endswith(folded_title)):  # "Site: Headline", "Site » News » Headline" repeat it
            lead.append((start, end))
            seen.add(folded)
            found.append(("lead", sentence, _text_has_stem(sentence, stems)))
        position = max(end, position + 1)
        while position < len(text) and text[position].isspace():
            position += 1
    spans: list[tuple[int, int]] = list(lead)
    if stems and text:
        body = 0
        for at in _term_starts(text, stems, language in ("ar", "fa", "ur", "ps")):
            if any(start <= at < end for start, end in spans):
                continue
            start, end = sentence_span(text, at)
            spans.append((start, end))
            sentence = " ".join(text[start:end].split())
            if sentence and fold(sentence) not in seen:
                seen.add(fold(sentence))
                found.append(("body", sentence, True))
            body += 1  # a repeated sentence counts too: the work stays bounded
            if body >= limit:
                break
    return found
