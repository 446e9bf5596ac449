"""Who disputed it: the narrative page's disputing mentions, each with the sentence that
decided its stance and who disputes the claim (publish.narrative_page's `disputed` block)."""

from __future__ import annotations

import json
import re
from typing import Any

import sqlite_utils

from narrative_archive.store import narrative_page as rows_of

DISPUTES_SHOWN = 25


def disputed(db: sqlite_utils.Database, narrative_id: str, rows: list,
             details: dict[int, dict]) -> list[dict]:
    """The disputing mentions, oldest first: the sentence that decided it, its cues, and
    who disputes: the stance's speaker when the archive records one (stance_speaker_name,
    or stance_speaker: outlet, official, unnamed), else read from the sentence, else the
    outlet in its own voice."""
    shown = rows[:DISPUTES_SHOWN]
    speakers = rows_of.mention_columns(db, narrative_id, ("stance_speaker", "stance_speaker_name"),
                                       [r.article_id for r in shown])
    out = []
    for row in shown:
        detail = details.get(row.article_id) or {}
        evidence = _json(detail.get("stance_evidence"))
        sentence = evidence.get("sentence")
        cues = [str(cue) for cue in evidence.get("cues") or []]
        speaker = speakers.get(row.article_id) or {}
        kind, name = speaker.get("stance_speaker"), speaker.get("stance_speaker_name")
        name = name or evidence.get("speaker")
        if name:
            who, source = name, kind or "stance"
        elif kind == "unnamed":
            who, source = "an unnamed source", kind
        elif kind == "outlet":
            who, source = None, kind
        else:
            who, source = who_disputes(sentence, cues)
        out.append({"article_id": row.article_id, "dated_at": row.dated_at,
                    "outlet_id": row.outlet_id, "outlet": row.outlet, "country": row.country,
                    "outlet_kind": row.outlet_kind, "state_affiliated": row.state_affiliated,
                    "title": detail.get("title"), "url": detail.get("url"),
                    "who": who or f"{row.outlet or row.outlet_id or 'the outlet'} (own voice)",
                    "who_from": source if who else "outlet",
                    "speaker": kind,
                    "sentence": sentence, "cues": ", ".join(cues),
                    "confidence": detail.get("stance_confidence")})
    return out


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


def _json(value: Any) -> dict:
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value) if isinstance(value, str) else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
