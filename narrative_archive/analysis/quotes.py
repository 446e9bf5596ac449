"""Quotations in a sentence, as stance reads them: a sentence that quotes someone tells what
others say, and a claim's words inside quotation marks are someone else's."""

from __future__ import annotations

from narrative_archive.analysis.cues import TOKEN
from narrative_archive.analysis.sentences import fold
from narrative_archive.analysis.terms import stem_test

QUOTES = (('"', '"'), ("«", "»"), ("“", "”"), ("„", "“"))


def quoted_term(sentence: str, stems) -> bool:
    """Whether a matched word sits inside a quotation of three words or more."""
    if not stems or not any(opening in sentence for opening, _ in QUOTES):
        return False
    folded = fold(sentence)
    if len(folded) != len(sentence):  # folding changed offsets (rare letters): no quote check
        return False
    has = stem_test(stems)
    for match in TOKEN.finditer(folded):
        if has(match.group()):
            if inside_quotation(sentence, match.start()):
                return True
    return False


def has_quotation(sentence: str) -> bool:
    """Whether the sentence quotes three words or more between quotation marks."""
    for opening, closing in QUOTES:
        start = sentence.find(opening)
        while start >= 0:
            end = sentence.find(closing, start + 1)
            if end < 0:
                break
            if len(TOKEN.findall(sentence[start + 1:end])) >= 3:
                return True
            start = sentence.find(opening, end + 1)
    return False


def inside_quotation(sentence: str, position: int) -> bool:
    """Whether ``position`` sits inside a quotation of three words or more (a quote that never
    closes runs to the end); a quoted name alone («Талибан») is not a quotation."""
    for opening, closing in QUOTES:
        before = sentence[:position]
        if opening == closing:
            if before.count(opening) % 2 == 0:
                continue
        elif before.count(opening) <= before.count(closing):
            continue
        start = before.rfind(opening) + 1
        end = sentence.find(closing, position)
        quoted = sentence[start:end if end >= 0 else len(sentence)]
        if len(TOKEN.findall(quoted)) >= 3:
            return True
    return False
