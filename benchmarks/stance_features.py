"""Features of one mention for benchmarks/stance_model.py, the trained stance reader that
did not pass its gate (issue 19, round 9; docs/realtext.md, "A trained reader").

Read from the rules' own reading of the mention (analysis.stance.read_frame's Frame), all
hashed into DIMENSIONS columns (no vocabulary: weights hold no word of the training text):

    rules  the rules' label, frame, confidence and speaker; the headline's and the lead's
           readings; counts and shares of body sentences read as each label; cue kinds
           (question, quoted, negated claim, endorsement, ...); the language
    words  word unigrams and bigrams of the headline, the lead and the claim sentences
           (the headline's unigrams also on their own)
    chars  character 3-5-grams of the same sentences (any script)

Had a variant passed, its label would have kept its evidence through analysis.stance.labelled:
the first sentence read (headline, lead, body) whose own reading is the chosen label, else
the first claim sentence, with its speaker.
"""

from __future__ import annotations

import math
import zlib

import numpy as np

from narrative_archive.analysis.cues import TOKEN
from narrative_archive.analysis.sentences import fold
from narrative_archive.analysis.stance import STANCES, Frame, Stance

FEATURE_VERSION = 1
DIMENSIONS = 1 << 16
KINDS = ("rules", "words", "chars")
_CUE_KINDS = ("not a denial", "negated:", "negated claim", "negated report", "claim, then denial",
              "endorses", "question", "quoted", "quotation")
_PRIME, _MIX = np.uint64(1000003), np.uint64(0x9E3779B97F4A7C15)


def _slot(name: str) -> int:
    return zlib.crc32(name.encode("utf-8")) % DIMENSIONS


def _reading_features(prefix: str, reading, out: dict[str, float]) -> None:
    out[f"{prefix}:{reading.label}"] = 1.0
    out[f"{prefix}:{reading.label}:term{int(reading.has_term)}"] = 1.0
    for kind in _CUE_KINDS:
        if any(cue.startswith(kind) for cue in reading.cues):
            out[f"{prefix}:cue:{kind}"] = 1.0
    if any(cue.endswith(":") or cue.startswith(": ") for cue in reading.cues):
        out[f"{prefix}:cue:colon"] = 1.0
    if reading.outlet_voice:
        out[f"{prefix}:voice"] = 1.0


def rule_features(frame: Frame, rules: Stance) -> dict[str, float]:
    """The rules' reading of a mention as named features."""
    assert frame.decided is not None
    role, _, reading, confidence = frame.decided
    out = {"bias": 1.0, f"lang:{frame.language}": 1.0, f"rule:{reading.label}": 1.0,
           f"rule:{reading.label}:{role}": 1.0, f"rule:{reading.label}:conf": confidence,
           f"speaker:{rules.speaker}": 1.0, f"rule:{reading.label}:speaker:{rules.speaker}": 1.0}
    if frame.reason:
        out["no-terms"] = 1.0
    _reading_features("decided", reading, out)
    out[f"lang:{frame.language}:rule:{reading.label}"] = 1.0
    # the guideline's frame (rules 1-3): the headline's reading beside the lead's, as one feature
    shape = [f"{r.label[0]}{int(r.has_term)}" for part, _, r in frame.readings if part != "body"][:3]
    out["shape:" + "|".join(shape)] = 1.0
    out["shape2:" + "|".join(shape[:2])] = 1.0
    leads = 0
    body = dict.fromkeys(STANCES, 0)
    claim = dict.fromkeys(STANCES, 0)
    for part, _, r in frame.readings:
        if part == "title":
            _reading_features("title", r, out)
        elif part == "lead":
            _reading_features(f"lead{leads}", r, out)
            leads += 1
            if r.label == "disputes":
                out["lead:disputes"] = 1.0
        else:
            body[r.label] += 1
        if r.has_term:
            claim[r.label] += 1
    for name, counts in (("body", body), ("claim", claim)):
        total = sum(counts.values())
        for label, n in counts.items():
            if n:
                out[f"{name}:{label}:log"] = math.log1p(n)
                out[f"{name}:{label}:share"] = n / total
                out[f"{name}:{label}:top"] = float(n == max(counts.values()))
    return out


def _sentences(frame: Frame) -> list[tuple[str, str]]:
    return [(role, fold(sentence)) for role, sentence, r in frame.readings
            if role != "body" or r.has_term]


def _char_slots(text: str) -> np.ndarray:
    """Hashed character 3-5-grams of ``text``, computed with numpy (no Python loop per gram)."""
    codes = np.frombuffer(f" {text} ".encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    found = []
    with np.errstate(over="ignore"):
        for n in (3, 4, 5):
            if len(codes) < n:
                break
            h = np.full(len(codes) - n + 1, np.uint64(n))
            for j in range(n):
                h = h * _PRIME + codes[j:len(codes) - n + 1 + j]
            found.append(((h * _MIX) >> np.uint64(40)) % np.uint64(DIMENSIONS))
    return np.concatenate(found) if found else np.zeros(0, np.uint64)


def features(frame: Frame, rules: Stance, kinds: tuple[str, ...] = KINDS) -> tuple[np.ndarray, np.ndarray]:
    """(column indexes, values) of one mention; each kind's block scaled to unit length."""
    columns: list[np.ndarray] = []
    values: list[np.ndarray] = []

    def add(slots: np.ndarray, weights: np.ndarray) -> None:
        if len(slots):
            columns.append(slots.astype(np.int64))
            values.append(weights / max(float(np.sqrt((weights ** 2).sum())), 1e-9))

    named = rule_features(frame, rules) if "rules" in kinds else {}
    if named:
        columns.append(np.array([_slot("r:" + k) for k in named], np.int64))
        values.append(np.array(list(named.values()), np.float64))
    sentences = _sentences(frame)
    if "words" in kinds:
        words: set[str] = set()
        for role, sentence in sentences:
            tokens = TOKEN.findall(sentence)
            words.update("w:" + t for t in tokens)
            words.update(f"b:{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False))
            if role == "title":
                words.update("t:" + t for t in tokens)
        slots = np.array(sorted({_slot(w) for w in words}), np.int64)
        add(slots, np.ones(len(slots)))
    if "chars" in kinds and sentences:
        slots = np.unique(np.concatenate([_char_slots(s) for _, s in sentences]))
        add(slots, np.ones(len(slots)))
    if not columns:
        return np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(columns), np.concatenate(values)
