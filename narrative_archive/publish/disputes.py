"""Who disputed it: the narrative page's disputing mentions, each with the sentence that
decided its stance and who disputes the claim (publish.narrative_page's `disputed` block)."""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from narrative_archive.publish.speakers import who_disputes
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
        if name and name.isupper() and " " not in name:
            name = None  # a dateline ("WASHINGTON —"), not who speaks
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


def _json(value: Any) -> dict:
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value) if isinstance(value, str) else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
