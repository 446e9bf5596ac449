"""Stance of a mention: does the article assert, report or dispute the narrative's claim.

A transparent rule-based reading of the sentences that carry the matched terms (the
title and the body sentences around them), with the cue lists of config/stance.yml:

    disputes  a denial or rebuttal cue that is not negated ("denies", "groundless"),
              or a negation just before a matched term ("is not arming")
    reports   an attribution cue ("says", "according to"), a question, or the matched
              words inside quotation marks
    asserts   none of these: the outlet states the claim in its own voice

Every label comes with the sentence and the cue words that decided it. The work is
bounded whatever the text: only sentences around the first matches are read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from narrative_archive.analysis.sentences import FOLD, fold, sentence_span
from narrative_archive.config import ConfigError
from narrative_archive.paths import DEFAULT_CONFIG_DIR

DEFAULT_STANCE_FILE = DEFAULT_CONFIG_DIR / "stance.yml"
STANCES = ("asserts", "reports", "disputes")
CUE_LISTS = ("attribution", "denial", "negation", "not_denial", "labels", "prefixes")
MAX_SENTENCES = 8
TITLE_WEIGHT, LEDE_WEIGHT, BODY_WEIGHT = 2.0, 1.5, 1.0

_TOKEN = re.compile(r"\w+(?:'\w+)*")
_SPEAKER = re.compile(r"^\s*((?:[^\W\d][\w'.-]*\s+){0,2}[^\W\d][\w'.-]*)\s*:\s*(?!\d)")
_QUESTION_END = re.compile(r"[?؟]\s*[\"»”’')\]]*\s*$")
_CYRILLIC, _ARABIC = re.compile(r"[\u0400-\u04ff]"), re.compile(r"[\u0600-\u06ff]")


@dataclass(frozen=True)
class LanguageCues:
    """The compiled cue lists of one language: each cue a tuple of folded words."""

    attribution: tuple[tuple[str, ...], ...] = ()
    denial: tuple[tuple[str, ...], ...] = ()
    negation: tuple[tuple[str, ...], ...] = ()
    not_denial: tuple[tuple[str, ...], ...] = ()
    labels: tuple[tuple[str, ...], ...] = ()
    prefixes: tuple[str, ...] = ()
    negation_window: tuple[int, int] = (3, 0)


@dataclass(frozen=True)
class Stance:
    """The stance of one mention; ``stance`` is None when the text gives nothing to read."""

    stance: str | None
    confidence: float
    evidence: dict[str, Any] = field(default_factory=dict)  # {"sentence": str, "cues": [str]}
    reason: str | None = None
    language: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "stance": self.stance, "confidence": self.confidence, "evidence": self.evidence,
            "reason": self.reason, "language": self.language,
        }


def load_cues(path: str | Path | None = None, override: Mapping | None = None) -> dict[str, LanguageCues]:
    """Read the cue lists (default config/stance.yml), extended by a narrative's ``override``.

    ``override`` maps language (or "*" for all) -> list name -> a list of cues to add, or
    {"replace": [...]} to replace that list. Raises ConfigError naming the file and key.
    """
    path = Path(path) if path else DEFAULT_STANCE_FILE
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(path, None, f"cannot read stance cues: {error}") from error
    raw = _check_raw(path, raw)
    if override:
        raw = merge_cues(raw, _check_raw("override", override, allow_star=True))
    return {language: _compile(lists) for language, lists in raw.items()}


def merge_cues(base: Mapping, override: Mapping) -> dict[str, dict[str, Any]]:
    """``base`` raw cue lists with ``override`` applied (see load_cues); inputs are not changed."""
    merged = {language: dict(lists) for language, lists in base.items()}
    for language, lists in override.items():
        targets = list(merged) if language == "*" else [language]
        for target in targets:
            current = merged.setdefault(target, {})
            for name, value in lists.items():
                if isinstance(value, Mapping):
                    current[name] = list(value["replace"])
                elif name == "negation_window":
                    current[name] = value
                else:
                    current[name] = [*current.get(name, []), *value]
    return merged


@lru_cache(maxsize=4)
def default_cues() -> dict[str, LanguageCues]:
    return load_cues()


def classify_stance(
    title: str | None,
    text: str | None,
    terms: Iterable[str] | str | None,
    cues: Mapping[str, LanguageCues] | None = None,
    language: str | None = None,
    *,
    max_sentences: int = MAX_SENTENCES,
) -> Stance:
    """The stance of an article towards a claim, from the sentences around its matched ``terms``.

    ``terms`` are the words full-text search highlighted (a list, or the JSON list stored in
    mentions.terms); ``cues`` comes from load_cues() (default: the shipped lists);
    ``language`` picks the cue lists (guessed from the script when missing or unknown).
    """
    for name, value in (("title", title), ("text", text)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"classify_stance: {name} must be a str or None, not {type(value).__name__}")
    title, text = (title or "").strip(), text or ""
    cues = default_cues() if cues is None else cues
    language = _pick_language(language, title + " " + text[:2000], cues)
    if not title and not text.strip():
        return Stance(None, 0.0, {}, "no title or text to read", language)
    lc = cues[language]
    stems = _stems(_term_list(terms))
    sentences = _sentences(title, text, stems, language, max_sentences)
    reason = None
    if not any(has_term for _, _, has_term in sentences):
        reason = "no matched term found in the title or text; read the title and first sentences"
    scores = dict.fromkeys(STANCES, 0.0)
    best: dict[str, tuple[float, str, list[str]]] = {}
    for sentence, weight, _ in sentences:
        label, found = read_sentence(sentence, stems, lc)
        scores[label] += weight
        if label not in best or weight > best[label][0]:
            best[label] = (weight, sentence, found)
    total = sum(scores.values())
    if not total:
        return Stance(None, 0.0, {}, "no sentence to read", language)
    # ties go to the more cautious label: a disputing or attributing sentence outweighs silence
    winner = max(STANCES, key=lambda label: (scores[label], STANCES.index(label)))
    _, sentence, found = best[winner]
    confidence = round(scores[winner] / total * (0.5 if reason else 1.0), 2)
    return Stance(winner, confidence, {"sentence": sentence, "cues": found}, reason, language)


def read_sentence(sentence: str, stems: tuple[str, ...], lc: LanguageCues) -> tuple[str, list[str]]:
    """One sentence's label and the cues that decided it."""
    tokens = _TOKEN.findall(fold(sentence))
    used: set[int] = set()
    found: list[str] = []
    negated_denial = False
    for start, end in _find(tokens, lc.not_denial, lc.prefixes):
        used.update(range(start, end))
        found.append("not a denial: " + " ".join(tokens[start:end]))
        negated_denial = negated_denial or bool(_find(tokens[start:end], lc.denial, lc.prefixes))
    disputes = False
    for start, end in _find(tokens, lc.denial, lc.prefixes, used):
        # negative concord: "нет никаких доказательств" is one denial, not a cancelled one
        concord = _negation_in(tokens, [start], lc, ()) is not None
        before = None if concord else _negation_in(tokens, range(max(0, start - 3), start), lc, used)
        if before is not None:
            used.update(range(before, end))
            found.append("negated: " + " ".join(tokens[before:end]))
            negated_denial = True
            continue
        used.update(range(start, end))
        found.append(" ".join(tokens[start:end]))
        disputes = True
    before_n, after_n = lc.negation_window
    for position in _term_positions(tokens, stems):
        window = [*range(max(0, position - before_n), position),
                  *range(position + 1, min(len(tokens), position + 1 + after_n))]
        negation = _negation_in(tokens, window, lc, used)
        if negation is not None:
            low, high = sorted((negation, position))
            found.append("negated claim: " + " ".join(tokens[low:high + 1]))
            used.add(negation)
            disputes = True
    if disputes:
        return "disputes", found
    attributions = [" ".join(tokens[s:e]) for s, e in _find(tokens, lc.attribution, lc.prefixes, used)]
    speaker = _SPEAKER.match(sentence)
    if speaker:
        words = _TOKEN.findall(fold(speaker.group(1)))
        if not _find(words, lc.labels, lc.prefixes) and not _term_positions(words, stems):
            attributions.append(" ".join(words) + ":")
    found.extend(attributions)
    if _QUESTION_END.search(sentence):
        found.append("question")
    if _quoted_term(sentence, stems):
        found.append("quoted")
    if attributions or negated_denial or "question" in found or "quoted" in found:
        return "reports", found
    return "asserts", found


def _check_raw(path, raw, allow_star: bool = False) -> dict:
    if not isinstance(raw, Mapping):
        raise ConfigError(path, None, "expected a mapping of language -> cue lists")
    for language, lists in raw.items():
        if not isinstance(lists, Mapping) or not (allow_star and language == "*" or re.fullmatch(r"[a-z]{2,3}", str(language))):
            raise ConfigError(path, str(language), "expected a language code mapping to cue lists")
        for name, value in lists.items():
            if name == "negation_window":
                if not (isinstance(value, list | tuple) and len(value) == 2 and all(isinstance(v, int) and v >= 0 for v in value)):
                    raise ConfigError(path, str(language), "negation_window must be [before, after] word counts")
                continue
            if name not in CUE_LISTS:
                raise ConfigError(path, str(language), f"unknown cue list {name!r} (known: {', '.join(CUE_LISTS)})")
            items = value.get("replace") if isinstance(value, Mapping) else value
            if not isinstance(items, list) or not all(isinstance(item, str) and item.strip() for item in items):
                raise ConfigError(path, str(language), f"{name} must be a list of non-empty strings")
    return dict(raw)


def _compile(lists: Mapping) -> LanguageCues:
    def cues(name):
        seen = dict.fromkeys(tuple(_TOKEN_CUE.findall(fold(cue))) for cue in lists.get(name, []))
        return tuple(cue for cue in seen if cue)
    return LanguageCues(
        attribution=cues("attribution"), denial=cues("denial"), negation=cues("negation"),
        not_denial=cues("not_denial"), labels=cues("labels"),
        prefixes=tuple(fold(p) for p in lists.get("prefixes", [])),
        negation_window=tuple(lists.get("negation_window", (3, 0))),
    )


_TOKEN_CUE = re.compile(r"\*?\w+(?:'\w+)*\*?|'\w+")


def _word_matches(word: str, token: str, prefixes: tuple[str, ...]) -> bool:
    candidates = [token, *(token[len(p):] for p in prefixes if token.startswith(p) and len(token) - len(p) >= 2)]
    if word.startswith("'"):  # "n't"
        return any(c.endswith(word.lstrip("'")) and "'" in c for c in candidates)
    head, tail = word.startswith("*"), word.endswith("*")
    core = word.strip("*")
    for candidate in candidates:
        if head and tail and core in candidate:
            return True
        if tail and not head and candidate.startswith(core):
            return True
        if head and not tail and candidate.endswith(core):
            return True
        if candidate == core:
            return True
    return False


def _find(tokens, cues, prefixes, used=frozenset()) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    taken = set(used)
    for i in range(len(tokens)):
        for cue in cues:
            end = i + len(cue)
            if end > len(tokens) or any(j in taken for j in range(i, end)):
                continue
            if all(_word_matches(word, tokens[i + k], prefixes) for k, word in enumerate(cue)):
                spans.append((i, end))
                taken.update(range(i, end))
                break
    return spans


def _negation_in(tokens, positions, lc: LanguageCues, used) -> int | None:
    for position in positions:
        if position in used:
            continue
        for cue in lc.negation:
            if len(cue) == 1 and _word_matches(cue[0], tokens[position], lc.prefixes):
                return position
            if len(cue) > 1 and position + len(cue) <= len(tokens) and all(
                _word_matches(word, tokens[position + k], lc.prefixes) for k, word in enumerate(cue)
            ):
                return position
    return None


def _term_list(terms) -> list[str]:
    if terms is None:
        return []
    if isinstance(terms, str):
        try:
            parsed = json.loads(terms)
        except ValueError:
            parsed = re.split(r"[\s,]+", terms)
        terms = parsed if isinstance(parsed, list) else [str(parsed)]
    return [str(term) for term in terms if str(term).strip()]


def _stems(terms: list[str]) -> tuple[str, ...]:
    """Terms as word beginnings: highlighted words are inflected forms ("талибам", "arming")."""
    stems = set()
    for term in terms:
        for word in _TOKEN.findall(fold(term.strip("*\"'"))):
            stems.add(word if len(word) <= 5 else word[: len(word) - 2])
    return tuple(sorted(stems, key=len, reverse=True))


def _term_positions(tokens, stems) -> list[int]:
    return [i for i, token in enumerate(tokens) if _has_stem(token, stems)]


def _has_stem(token: str, stems) -> bool:
    # Arabic attaches clitics in front (لطالبان): a stem may start inside the token
    return any(token.startswith(stem) or (len(stem) >= 4 and stem in token[:len(stem) + 3]) for stem in stems)


def _quoted_term(sentence: str, stems) -> bool:
    if not stems:
        return False
    folded = fold(sentence)
    if len(folded) != len(sentence):  # folding changed offsets (rare letters): no quote check
        return False
    for match in _TOKEN.finditer(folded):
        if _has_stem(match.group(), stems):
            if _inside_quotation(sentence, match.start()):
                return True
    return False


_QUOTES = (('"', '"'), ("«", "»"), ("“", "”"), ("„", "“"))


def _inside_quotation(sentence: str, position: int) -> bool:
    """Whether ``position`` sits inside a quotation of three words or more (a quote that never
    closes runs to the end); a quoted name alone («Талибан») is not a quotation."""
    for opening, closing in _QUOTES:
        before = sentence[:position]
        if opening == closing:
            if before.count(opening) % 2 == 0:
                continue
        elif before.count(opening) <= before.count(closing):
            continue
        start = before.rfind(opening) + 1
        end = sentence.find(closing, position)
        quoted = sentence[start:end if end >= 0 else len(sentence)]
        if len(_TOKEN.findall(quoted)) >= 3:
            return True
    return False


def _pick_language(language, sample: str, cues) -> str:
    if language:
        language = language.lower().split("-")[0].split("_")[0]
        if language in cues:
            return language
    guessed = "en"
    if _CYRILLIC.search(sample):
        guessed = "uk" if re.search(r"[іїєґІЇЄҐ]", sample) else "ru"
    elif _ARABIC.search(sample):
        guessed = "fa" if re.search(r"[پچژگی]", sample) else "ar"
    if guessed in cues:
        return guessed
    return next(iter(cues)) if "en" not in cues else "en"


def _sentences(title, text, stems, language, limit) -> list[tuple[str, float, bool]]:
    """(sentence, weight, has a matched term): the title, then body sentences around matches."""
    found: list[tuple[str, float, bool]] = []
    if title:
        found.append((title, TITLE_WEIGHT if _text_has_stem(title, stems) else BODY_WEIGHT, _text_has_stem(title, stems)))
    spans: list[tuple[int, int]] = []
    if stems and text:
        lead = "" if language in ("ar", "fa") else r"(?<!\w)"
        pattern = re.compile(lead + "(?:" + "|".join(map(re.escape, stems)) + ")", re.IGNORECASE)
        searchable = text.translate(FOLD)  # one-to-one: offsets stay those of ``text``
        for match in pattern.finditer(searchable):
            if any(start <= match.start() < end for start, end in spans):
                continue
            spans.append(sentence_span(text, match.start()))
            if len(spans) >= limit:
                break
    with_terms = bool(spans)
    if not spans and text.strip():
        position = len(text) - len(text.lstrip())
        for _ in range(2):
            if position >= len(text):
                break
            start, end = sentence_span(text, position)
            spans.append((start, end))
            position = end + 1
            while position < len(text) and text[position].isspace():
                position += 1
    for index, (start, end) in enumerate(spans):
        sentence = " ".join(text[start:end].split())
        if sentence:
            found.append((sentence, LEDE_WEIGHT if index == 0 else BODY_WEIGHT, with_terms))
    return found


def _text_has_stem(text: str, stems) -> bool:
    return any(_has_stem(token, stems) for token in _TOKEN.findall(fold(text)))
