"""Which clause of a sentence a denial sits in: one that closes the sentence after the claim
("...; Moscow denied it") or one that opens it conceding ("While Islamabad denies it, ..."),
either way the sentence tells both sides."""

from __future__ import annotations

import re

from narrative_archive.analysis.cues import TOKEN as _TOKEN
from narrative_archive.analysis.sentences import fold
from narrative_archive.analysis.terms import term_positions as _term_positions

# a clause that closes the sentence after the claim: "; Moscow denied it", "— a charge that
# Pakistan has denied", ", which Islamabad denies", "فيما نفى ...", "وهو ما ... نفيه"
_CLAUSE_BREAK = re.compile(r";|\s[—–]\s|\w—|,\s*(?:which|while|whereas|a charge|an allegation|an accusation|claims)\b"
                           r"|[,،]?\s(?:فيما|وهو ما|بينما)\s")


def claim_then_denial(sentence: str, tokens: list[str], cue_at: int, stems) -> bool:
    """Whether the denial sits in a later clause (after ";" or a dash) than one that states
    the claim with a matched term."""
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


_CONCESSIVE = re.compile(r"\s*(?:while|although|though|whereas|even as|even though|despite|mientras|aunque|pese a|"
                         r"alors que|bien que|même si|obwohl|während|embora|enquanto|anche se|mentre|хотя)\b")


def conceded_denial(sentence: str, tokens: list[str], cue_at: int, stems) -> bool:
    """Whether the denial sits in an opening concessive clause ("While X denies ..., ...")
    and a matched term follows that clause's comma."""
    folded = fold(sentence)
    if not _CONCESSIVE.match(folded):
        return False
    comma = folded.find(",")
    starts = [m.start() for m in _TOKEN.finditer(folded)]
    if comma < 0 or len(starts) != len(tokens) or cue_at >= len(starts) or starts[cue_at] > comma:
        return False
    return bool(_term_positions([t for t, at in zip(tokens, starts, strict=True) if at > comma], stems))
