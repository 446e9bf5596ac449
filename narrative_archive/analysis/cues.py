"""The cue lists stance reads (config/stance.yml): loading, checking, compiling, finding.

A cue is one or more words; "*" at the end of a word matches any ending, at the start any
beginning. Text and cues are compared folded (sentences.fold): lowercased, ё as е, Arabic
and Persian letters unified.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from narrative_archive.analysis.sentences import fold
from narrative_archive.config import ConfigError
from narrative_archive.config.narratives import STANCE_LISTS, WORD_STANCE_LISTS
from narrative_archive.paths import DEFAULT_CONFIG_DIR

DEFAULT_STANCE_FILE = DEFAULT_CONFIG_DIR / "stance.yml"
# libyaml's safe loader when PyYAML has it: a worker process reads the cue lists in 40 ms, not 300
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# the lists a language block holds, the same a narrative's `stance:` key may change
CUE_LISTS, WORD_LISTS = STANCE_LISTS, WORD_STANCE_LISTS  # WORD_LISTS: single words, "*" at the end

# A word: letters with their combining marks (Indic, Thai and Khmer vowel signs are marks,
# which \w splits on), joined by an inner apostrophe ("don't", "Russia's").
_W = r"[\w\u0300-\u036f\u0900-\u0963\u0966-\u0dff\u0e00-\u0e7f\u1780-\u17d3\u17dd]"
TOKEN = re.compile(f"{_W}+(?:'{_W}+)*")
_TOKEN_CUE = re.compile(f"\\*?{_W}+(?:'{_W}+)*\\*?|'{_W}+|\\.\\.")
_WORD_CUE = re.compile(f"{_W}+(?:'{_W}+)*\\*?")  # a cue of a WORD_LISTS list: a word or a prefix
RELATED_LISTS = ("attribution", "denial", *WORD_LISTS)  # the lists a language borrows from its ``related`` ones
GAP, MAX_GAP = ("..",), 6  # ".." in a cue: up to MAX_GAP words ("weist .. zurück")
ONE = "?"  # in a widened cue (widened()): exactly one word, any


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
    speakers: tuple[tuple[str, ...], ...] = ()  # who can dispute or assert: officials, bodies
    unnamed: tuple[tuple[str, ...], ...] = ()  # a source that is not named
    not_attribution: tuple[tuple[str, ...], ...] = ()  # words an attribution cue matches that are not one
    hedges: tuple[tuple[str, ...], ...] = ()  # attribution cues that hedge only the words after them
    endorsements: tuple[tuple[str, ...], ...] = ()  # the outlet vouching for a source ("has confirmed that")
    telling: tuple[tuple[str, ...], ...] = ()  # verbs of telling ("discussed", "raised", "évoqué")
    briefed: tuple[tuple[str, ...], ...] = ()  # being told ("briefed", "informed", "informiert")
    evidence: tuple[tuple[str, ...], ...] = ()  # the evidence a speaker gives ("evidence", "preuve*")
    asking: tuple[tuple[str, ...], ...] = ()  # question words that presuppose what they ask ("why")
    demanding: tuple[tuple[str, ...], ...] = ()  # verbs of demanding ("demanded", "urged", "потребовал")


def load_cues(path: str | Path | None = None, override: Mapping | None = None) -> dict[str, LanguageCues]:
    """Read the cue lists (default config/stance.yml), extended by a narrative's ``override``.

    ``override`` maps language (or "*" for all) -> list name -> a list of cues to add, or
    {"replace": [...]} to replace that list. Raises ConfigError naming the file and key.
    """
    path = Path(path) if path else DEFAULT_STANCE_FILE
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 (a safe loader)
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(path, None, f"cannot read stance cues: {error}") from error
    raw = _check_raw(path, raw)
    for language, lists in raw.items():
        unknown = [other for other in lists.get("related", ()) if other not in raw or other == language]
        if unknown:
            raise ConfigError(path, str(language), f"related: no cue lists for {', '.join(map(str, unknown))}")
    raw = _with_related(raw)
    if override:
        raw = merge_cues(raw, _check_raw("override", override, allow_star=True))
    return {language: _compile(lists) for language, lists in raw.items()}


def _with_related(raw: Mapping) -> dict[str, dict[str, Any]]:
    """Each language's RELATED_LISTS cues (attribution, denial, telling, briefed, evidence)
    followed by those of its ``related`` languages (Romance, Slavic, Perso-Arabic neighbours
    share much of this vocabulary: "nega", "propagand*", "تردید"), so a rebuttal worded as a
    neighbour words it is still read; the language's own cues come first."""
    widened = {language: dict(lists) for language, lists in raw.items()}
    for language, lists in raw.items():
        for name in RELATED_LISTS:
            cues = list(lists.get(name, []))
            for other in lists.get("related", ()):
                # an ending ("*rait", "*ria") is a neighbour's grammar, not shared vocabulary:
                # Portuguese "*ria" would read Italian "storia" and Spanish "historia"
                cues += [cue for cue in raw[other].get(name, []) if cue not in cues and not _ending(cue)]
            if cues:
                widened[language][name] = cues
    return widened


def _ending(cue: str) -> bool:
    """Whether a cue is a word ending alone ("*rait", "*ría"): a language's morphology."""
    return cue.startswith("*") and not cue.endswith("*") and " " not in cue.strip()


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
            if name == "related" and not allow_star:
                if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                    raise ConfigError(path, str(language), "related must be a list of language codes")
                continue
            if name not in CUE_LISTS:
                raise ConfigError(path, str(language), f"unknown cue list {name!r} (known: {', '.join(CUE_LISTS)})")
            items = value.get("replace") if isinstance(value, Mapping) else value
            if not isinstance(items, list) or not all(isinstance(item, str) and item.strip() for item in items):
                raise ConfigError(path, str(language), f"{name} must be a list of non-empty strings")
            if name in WORD_LISTS:
                phrases = [item for item in items if not _one_word(item)]
                if phrases:
                    raise ConfigError(path, str(language), f"{name} holds single words (\"*\" only at the end), "
                                                           f"not {', '.join(map(repr, phrases))}")
    return dict(raw)


def _one_word(cue: str) -> bool:
    """Whether a cue is one word, "*" allowed only at its end ("informé*"): what stance reads
    its WORD_LISTS as (a folded word, or a prefix)."""
    return _WORD_CUE.fullmatch(fold(cue).strip()) is not None


def _compile(lists: Mapping) -> LanguageCues:
    def cues(name):
        seen = dict.fromkeys(tuple(_TOKEN_CUE.findall(fold(cue))) for cue in lists.get(name, []))
        return tuple(cue for cue in seen if cue)
    return LanguageCues(
        attribution=cues("attribution"), denial=cues("denial"), negation=cues("negation"),
        not_denial=cues("not_denial"), labels=cues("labels"),
        prefixes=tuple(fold(p) for p in lists.get("prefixes", [])),
        negation_window=tuple(lists.get("negation_window", (3, 0))),
        speakers=cues("speakers"), unnamed=cues("unnamed"), not_attribution=cues("not_attribution"),
        hedges=cues("hedges"), endorsements=cues("endorsements"),
        telling=cues("telling"), briefed=cues("briefed"), evidence=cues("evidence"),
        asking=cues("asking"), demanding=cues("demanding"),
    )


@lru_cache(maxsize=65536)
def word_matches(word: str, token: str, prefixes: tuple[str, ...]) -> bool:
    """Whether one cue word (with its * marks) matches one folded token."""
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


def find(tokens, cues, prefixes, used=frozenset()) -> list[tuple[int, int]]:
    """(start, end) token spans of the cues found, left to right, never overlapping ``used``;
    at each token the first cue of the list that matches there."""
    spans: list[tuple[int, int]] = []
    taken = set(used)
    starting = _index(cues, prefixes).starting
    for i, token in enumerate(tokens):
        if i in taken:
            continue
        for index in starting(token):
            end = _match_at(tokens, i, cues[index], prefixes, taken)
            if end is not None:
                spans.append((i, end))
                taken.update(range(i, end))
                break
    return spans


class _CueIndex:
    """One cue list indexed by first word, with the answer per token remembered: which cues
    can start at a token ("prefix*", exact word, or tried everywhere), in list order. Tokens
    repeat across an article's sentences and articles, so most lookups are one dict get."""

    MEMO = 50_000

    def __init__(self, cues: tuple[tuple[str, ...], ...], prefixes: tuple[str, ...]):
        self.cues, self.prefixes = cues, prefixes
        self.exact, self.starts, self.anywhere = _first_words(cues)
        self.lengths = sorted({len(key) for key in self.starts})
        self.memo: dict[str, tuple[int, ...]] = {}

    def starting(self, token: str) -> tuple[int, ...]:
        found = self.memo.get(token)
        if found is None:
            # ending cues ("*rait") are tried where their first word matches, gaps everywhere
            possible = {index for index in self.anywhere
                        if self.cues[index][0] == GAP[0] or word_matches(self.cues[index][0], token, self.prefixes)}
            candidates = [token, *(token[len(p):] for p in self.prefixes
                                   if token.startswith(p) and len(token) - len(p) >= 2)]
            for candidate in candidates:
                possible.update(self.exact.get(candidate, ()))
                for length in self.lengths:
                    if length > len(candidate):
                        break
                    possible.update(self.starts.get(candidate[:length], ()))
            found = tuple(sorted(possible))
            if len(self.memo) >= self.MEMO:
                self.memo.clear()
            self.memo[token] = found
        return found


_INDEXES: dict[tuple[int, int], _CueIndex] = {}


def _index(cues: tuple[tuple[str, ...], ...], prefixes: tuple[str, ...]) -> _CueIndex:
    """The index of a cue list, built once per list object (looked up by identity: hashing
    a list of cues on every call would cost what the index saves)."""
    index = _INDEXES.get((id(cues), id(prefixes)))
    if index is None or index.cues is not cues or index.prefixes is not prefixes:
        if len(_INDEXES) >= 512:
            _INDEXES.clear()
        index = _INDEXES[id(cues), id(prefixes)] = _CueIndex(cues, prefixes)
    return index


def _first_words(cues: tuple[tuple[str, ...], ...]) -> tuple[dict, dict, tuple[int, ...]]:
    """The cues by their first word, so a token is tried only against cues it can start:
    ({word: [cue index]}, {prefix of "prefix*": [cue index]}, cue indexes to try everywhere)."""
    exact: dict[str, list[int]] = {}
    starts: dict[str, list[int]] = {}
    anywhere = []
    for index, cue in enumerate(cues):
        first = cue[0]
        if first == GAP[0] or first.startswith(("*", "'")):
            anywhere.append(index)
        elif first.endswith("*"):
            starts.setdefault(first[:-1], []).append(index)
        else:
            exact.setdefault(first, []).append(index)
    return exact, starts, tuple(anywhere)


def _match_at(tokens, i: int, cue: tuple[str, ...], prefixes, taken) -> int | None:
    """The end of ``cue`` matched from token ``i`` (None if it does not match there)."""
    position = i
    for k, word in enumerate(cue):
        if word == GAP[0]:
            for skip in range(MAX_GAP + 1):
                end = _match_at(tokens, position + skip, cue[k + 1:], prefixes, taken)
                if end is not None:
                    return end
            return None
        if position >= len(tokens) or position in taken or (
                word != ONE and not word_matches(word, tokens[position], prefixes)):
            return None
        position += 1
    return position


_WIDENED: dict[int, tuple[tuple[tuple[str, ...], ...], tuple[tuple[str, ...], ...]]] = {}


def widened(cues: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
    """A cue list followed by its two-word cues with one word allowed between them: "no
    evidence" also as "no direct evidence", "отсутствии доказательств" as "отсутствии прямых
    доказательств" (built once per list object; find() tries a list's cues in order, so the
    cue as written wins where both match)."""
    entry = _WIDENED.get(id(cues))
    if entry is None or entry[0] is not cues:
        if len(_WIDENED) >= 256:
            _WIDENED.clear()
        entry = _WIDENED[id(cues)] = (cues, cues + tuple(
            (cue[0], ONE, cue[1]) for cue in cues if len(cue) == 2 and GAP[0] not in cue))
    return entry[1]


def negation_in(tokens, positions, lc: LanguageCues, used) -> int | None:
    """The first of ``positions`` where a negation cue starts (not in ``used``), or None."""
    starting = _index(lc.negation, lc.prefixes).starting
    for position in positions:
        if position in used:
            continue
        for index in starting(tokens[position]):
            cue = lc.negation[index]
            if position + len(cue) <= len(tokens) and all(
                word_matches(word, tokens[position + k], lc.prefixes) for k, word in enumerate(cue)
            ):
                return position
    return None
