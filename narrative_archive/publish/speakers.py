"""Who disputes a claim, read from the evidence sentence of a disputing mention, for the
narrative page's "who disputed it" block (the stance's own speaker where it has one)."""

from __future__ import annotations

import re

_SAID_AFTER = re.compile(r",\s*([^,;]{3,80}?)\s+(?:said|says|told\b[^.]*|added|stated|insisted)"
                         r"(?:\s+(?:on|in|at|late|earlier|this|last|yesterday|today)\b[^,.;]*)?"
                         r"\s*[.!]?\s*$", re.IGNORECASE)
_NOT_A_NAME = {"there", "it", "this", "that", "these", "those", "they", "he", "she", "we", "i",
               "you", "but", "and", "however", "so", "yet", "the", "a", "an", "such", "no"}
# "Claims that Russia ... are baseless": the words before the cue are the claim, not a speaker.
_THE_CLAIM = {"claims", "claim", "reports", "report", "accusations", "allegations",
              "suggestions", "statements", "charges", "rumours", "rumors", "that", "any"}
_LEAD_IN = re.compile(r"^(.{3,90}?)\s+(?:(?:has|have|had|is|are|was|were|also|flatly|firmly|again|strongly|"
                      r"categorically|on \w+day)\s+)*$", re.IGNORECASE)


def who_disputes(sentence: str | None, cues: list[str]) -> tuple[str | None, str]:
    """Who the sentence says disputes the claim: "..., a spokesman said" or the words
    before the first denial cue ("The Russian foreign ministry said ..."). (None, "")
    when neither reads as a name."""
    if not sentence:
        return None, ""
    said = _SAID_AFTER.search(sentence)
    if said:
        return said.group(1).strip(), "sentence"
    speaker, colon, rest = sentence.partition(":")
    if colon and rest.strip() and 1 <= len(speaker.split()) <= 4:  # "Moscow: US claims are false"
        return speaker.strip(), "sentence"
    lowered = sentence.lower()
    positions = [lowered.find(cue.split(": ", 1)[-1].split()[0].lower()) for cue in cues
                 if cue.split(": ", 1)[-1].split()]
    positions = [p for p in positions if p > 0]
    for verb in (" said", " says", " denied", " denies", " rejected", " rejects"):
        if (at := lowered.find(verb)) > 0:
            positions.append(at)
    if not positions:
        return None, ""
    head = sentence[:min(positions)].strip(" ,;:")
    lead = _LEAD_IN.match(head + " ")
    words = (lead.group(1) if lead else head).split()
    if 1 <= len(words) <= 10 and words[0].lower() not in _THE_CLAIM and (
            any(word[:1].isupper() for word in words[1:])
            or (words[0][:1].isupper() and words[0].lower() not in _NOT_A_NAME)):
        return " ".join(words), "sentence"
    return None, ""
