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

_CLAIM_NOUNS = frozenset("claims claim allegations allegation accusations accusation charges reports suggestions".split())


def claim_then_denial(sentence: str, tokens: list[str], cue_at: int, stems) -> bool:
    """Whether the denial sits in a later clause (after ";" or a dash) than one that states
    the claim with a matched term."""
    if set(tokens[cue_at + 1:cue_at + 3]) & _CLAIM_NOUNS:
        # "denied claims that the Taliban enjoys support from Tehran": the claim is the
        # denial's object, after it, whatever comes before (a dateline: "TEHRAN (...) –")
        return False
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

