"""Which clause of a sentence a denial sits in: one that closes the sentence after the claim
("...; Moscow denied it") tells both sides."""

from __future__ import annotations

import re

from narrative_archive.analysis.cues import TOKEN as _TOKEN
from narrative_archive.analysis.sentences import fold
from narrative_archive.analysis.terms import term_positions as _term_positions

# a clause that closes the sentence after the claim: "; Moscow denied it", "— a charge that
# Pakistan has denied", ", which Islamabad denies", "فيما نفى ...", "وهو ما ... نفيه"
_CLAUSE_BREAK = re.compile(r";|\s[—–]\s|\w—|,\s*(?:which|while|whereas|a charge|an allegation|an accusation|claims)\b"
                           r"|[,،]?\s(?:فيما|وهو ما|بينما)\s")

_CLAIM_NOUNS = frozenset("claims claim allegations allegation accusations accusation charges reports report suggestions".split())
# the accusation a relative clause hangs a denial on: "the accusations, which Iran denied, came
# as ...", "هذه الاتهامات، التي نفتها إيران، تزامنت": an aside, both sides told
_ACCUSATIONS = _CLAIM_NOUNS | frozenset("الاتهامات الاتهام المزاعم الادعاءات اتهامات مزاعم ادعاءات".split())
_RELATIVE = frozenset("which that التي الذي".split())
# words from a denial to the claim noun it takes as object: "rejected a newspaper report",
# "denied on Tuesday the allegations" (a day, as wire copy dates the verb)
OBJECT_GAP = 4
ASIDE_GAP = 3  # words from the relative pronoun to the denial ("which Moscow has denied")


def _aside(tokens: list[str], cue_at: int) -> bool:
    """Whether the denial sits in a relative clause on an accusation noun."""
    for at in range(max(1, cue_at - ASIDE_GAP), cue_at):
        if tokens[at] in _RELATIVE and tokens[at - 1] in _ACCUSATIONS:
            return True
    return False


def claim_then_denial(sentence: str, tokens: list[str], cue_at: int, stems) -> bool:
    """Whether the denial sits in a later clause (after ";" or a dash) than one that states
    the claim with a matched term, or in a relative clause on the accusation it answers."""
    if set(tokens[cue_at + 1:cue_at + 1 + OBJECT_GAP]) & _CLAIM_NOUNS:  # "rejected a newspaper report"
        # "denied claims that the Taliban enjoys support from Tehran": the claim is the
        # denial's object, after it, whatever comes before (a dateline: "TEHRAN (...) –")
        return False
    if _aside(tokens, cue_at):
        return True
    folded = fold(sentence)
    breaks = [m.start() for m in _CLAUSE_BREAK.finditer(folded)]
    if not breaks:
        return False
    starts = [m.start() for m in _TOKEN.finditer(folded)]
    if len(starts) != len(tokens) or cue_at >= len(starts):
        return False
    clause_start = max((b for b in breaks if b < starts[cue_at]), default=None)
    if clause_start is None:
        return False
    before = [i for i, start in enumerate(starts) if start < clause_start]
    return bool(_term_positions([tokens[i] for i in before], stems))

