"""Who disputes or asserts a claim in the sentence that decided a mention's stance.

    outlet    the outlet in its own voice: a claim stated, or a rebuttal ("no evidence",
              "a myth") that no one else in the sentence is said to make
    official  a named person or body ("Lavrov", "the Kremlin", "Russia's embassy"): the
              subject of a denial, the speaker before a colon, or the source of an attribution
    unnamed   a source that is not named ("sources", "an official who asked not to be named")

With the kind goes the speaker's words as the sentence gives them ("Sergei Lavrov",
"Zakharova", "the Russian embassy") when there are any. A report (the claim attributed,
no side taken) has no speaker.
"""

from __future__ import annotations

import re

from narrative_archive.analysis.cues import TOKEN, LanguageCues, find
from narrative_archive.analysis.sentences import cased, fold

SPEAKER_KINDS = ("outlet", "official", "unnamed")
MAX_NAME_WORDS = 6
VERB_FIRST = 2  # words from a sentence-opening denial to its subject (Arabic, verb first)
CLAIM_REACH = 6  # words after an attribution in which a claim word makes it the claim's ("claims that Russia")
# Words a name may hold that are not capitalised: "Ministry of Foreign Affairs", "bin Laden".
_CONNECTORS = frozenset("of de del der von van al el bin ibn la le du da di и".split())
_LEADING = frozenset("the a an le la les el los las der die das il lo".split())
# capitalised only because they open the sentence: never a name
_OPENERS = frozenset("""yet but and however meanwhile still also now instead moreover so then thus
    this that these those it its he she they we i his her their there here in on at as if when
    while after before since although though what why how mais et cependant pourtant aber und
    doch jedoch pero sin embargo но и однако а""".split())
# a place and a comma may come first, as Italian and Spanish wire headlines write them
# ("Afghanistan, media: ...", "Iran, Pentagono: ...")
COLON_SPEAKER = re.compile(r"^\s*(?:[^\W\d][\w'.-]*,\s+)?[\"«„“]?((?:[^\W\d][\w'.-]*\s+){0,4}[^\W\d][\w'.-]*)[\"»”]?\s*:\s*(?!\d)")
# one to four words, each apart (a run of letters split no other way: no backtracking over it)
_WORDS = r"[^\W\d][\w'.-]*(?:\s+[^\W\d][\w'.-]*){0,3}"
# a source closing a sentence after a colon, an equals sign or a dash, or in brackets ("...: NYT")
TRAILING_SOURCE = re.compile(rf"(?::|：|[=＝]|\s[–—-])\s*{_WORDS}\s*$|\({_WORDS}\s*\)\s*$")
# a speaker closing a headline after a colon or dash ("... not a safe haven: Khawaja Asif")
TRAILING_SPEAKER = re.compile(rf"(?::|：|\s[–—-])\s*({_WORDS})\s*$")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_LETTER = re.compile(r"[^\W\d_]")


def colon_speaker(sentence: str) -> re.Match | None:
    """The words before a headline's colon that may name who speaks ("NATO commander: ..."),
    None when there are none, or when they are a Latin-script tag over a headline written in
    another script ("Taliban: అమెరికా హెలికాప్టర్ ...", as Indian outlets tag a story)."""
    colon = COLON_SPEAKER.match(sentence)
    if colon and _LATIN.search(colon.group(1)):
        rest = _LETTER.findall(sentence[colon.end():colon.end() + 40])
        if rest and not any(_LATIN.match(letter) for letter in rest[:3]):
            return None
    return colon


def _verdict(words: list[str], lc: LanguageCues) -> bool:
    return bool(find(words, lc.labels, lc.prefixes) or find(words, lc.denial, lc.prefixes))


def speaker_of(sentence: str, label: str | None, cue_at: int | None, lc: LanguageCues,
               title: bool = False, claim: frozenset[int] = frozenset()) -> tuple[str | None, str | None]:
    """(kind, name) of who makes ``label`` in ``sentence``; ``cue_at`` is the token index of
    the cue that decided it (folded tokens, as stance reads them); ``claim`` the indexes of
    the claim's matched words, which name a speaker only as the subject opening the sentence
    just before the cue ("Russia denies ..."), not inside the claim ("... that Moscow is
    arming the Taliban, but the evidence doesn't match"). Reports have no speaker."""
    if label == "asserts":
        return "outlet", None
    if label != "disputes":
        return None, None
    folded = TOKEN.findall(fold(sentence))
    # the words before a headline's colon, or closing it after a colon or dash, name who speaks,
    # unless they are a verdict ("Propaganda Alert: ...", "False: ...": the outlet's label)
    colon = colon_speaker(sentence)
    named = colon or (TRAILING_SPEAKER.search(sentence) if title else None)
    if named and not _verdict(TOKEN.findall(fold(named.group(1))), lc):
        return "official", " ".join(named.group(1).split())
    unnamed = find(folded, lc.unnamed, lc.prefixes)
    attributions = find(folded, lc.attribution, lc.prefixes)
    original = TOKEN.findall(sentence)
    if len(original) != len(folded):  # "Russia’s": two words as written, one folded
        original = TOKEN.findall(cased(sentence))
    names = _capitalised_runs(original, title) if len(original) == len(folded) else []
    cue = cue_at if cue_at is not None else len(folded)

    # a date stamp the sentence opens with ("date 2021-09-10 Pakistan has dismissed ...") is
    # none of its words
    opening = next((i for i, token in enumerate(folded) if not token.isdigit() and token != "date"), 0)

    caseless = not any(c.isupper() or c.islower() for c in sentence)  # Arabic script: verb first

    def outside_claim(span: tuple[int, int]) -> bool:
        # a claim's word speaks only as the subject opening the sentence: "Russia denies ..."
        # or, the denial opening the sentence, its subject just after ("نفت حركة طالبان ...")
        return ((span[0] <= 1 + opening and cue - 2 <= span[1] <= cue) or not any(i in claim for i in range(*span))
                or (cue <= opening and cue < span[0] <= cue + VERB_FIRST and caseless))
    speakers = [span for span in find(folded, lc.speakers, lc.prefixes) if outside_claim(span)]
    names = [run for run in names if outside_claim(run)]
    before = [run for run in names if run[1] <= cue]
    said = [start for start, _ in attributions if start < cue]
    if unnamed and not before:
        return "unnamed", _words(original, folded, unnamed[0])
    # an attribution just before the claim's words attributes the claim ("the claim that
    # Russia is arming ...", "the evidence doesn't match the claims that Russia ..."), not
    # the rebuttal; one after them is the rebuttal's
    rebuttal_said = [start for start, _ in attributions
                     if not any(start < i < (cue if start < cue else start + CLAIM_REACH) for i in claim)]
    if not rebuttal_said and not speakers and not any(cue - run[1] <= 2 for run in before):
        return "outlet", None  # no one else is said to rebut: the outlet's own voice
    if before:
        subject = before[-1]
        if said and cue - subject[1] > 1 and subject[0] > said[0]:
            # "Kabulov said ... Washington had shown no proof": the denial is reported speech,
            # its speaker the subject of the attribution
            subject = next((run for run in reversed(before) if run[1] <= said[0]), subject)
        return "official", _words(original, folded, subject)
    if speakers:
        nearest = min(speakers, key=lambda span: (span[0] > cue, abs(span[0] - cue)))
        return "official", _words(original, folded, _grow(nearest, names))
    if attributions:
        after = [run for run in names if run[0] >= cue]
        return "official", _words(original, folded, after[0]) if after else None
    return "outlet", None


def _capitalised_runs(tokens: list[str], title: bool) -> list[tuple[int, int]]:
    """(start, end) of runs of capitalised words (names), connectors allowed inside; only
    acronyms in a title written in title case, where every word is capitalised."""
    caps = [token[:1].isupper() for token in tokens]
    if not any(caps):
        return []
    words = [t for t in tokens if t[:1].isalpha()]
    if title and len(words) >= 4 and sum(t[:1].isupper() for t in words) / len(words) > 0.6:
        # title case: only an acronym still names someone ("NSA Dissents From ...")
        caps = [len(token) >= 2 and token.isupper() for token in tokens]
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        if not caps[i]:
            i += 1
            continue
        end = i + 1
        while end < len(tokens) and (caps[end] or (tokens[end].lower() in _CONNECTORS
                                                   and end + 1 < len(tokens) and caps[end + 1])):
            end += 1
        start = i
        while start < end and tokens[start].lower() in _LEADING:
            start += 1
        if i == 0 and end - start == 1 and len(tokens[start]) == 1:
            start = end  # a one-letter first word ("В МИД ...") is a preposition
        if start == 0 and tokens[0].lower() in _OPENERS:
            start += 1  # "Yet", "However": capitalised as the sentence's first word
            while start < end and tokens[start].lower() in _LEADING:
                start += 1
        if start < end:
            runs.append((start, min(end, start + MAX_NAME_WORDS)))
        i = end
    return runs


def _grow(span: tuple[int, int], names: list[tuple[int, int]]) -> tuple[int, int]:
    """A speaker word widened to the name it is part of ("Russian Foreign Ministry")."""
    for start, end in names:
        if start <= span[0] < end or start < span[1] <= end:
            return min(start, span[0]), max(end, span[1])
    return span


def _words(original: list[str], folded: list[str], span: tuple[int, int]) -> str | None:
    tokens = original if len(original) == len(folded) else folded
    words = tokens[span[0]:span[1]]
    return " ".join(words) if words else None
