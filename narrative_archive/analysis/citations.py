"""Citations: who an article cites, by link and by attribution ("according to Reuters").

Attributions are found with the per-language patterns of config/citations.yml and the
cited names resolved to outlet ids through a name/alias table built from the configured
outlets (their names, their domains' first labels, and the aliases in that file). Links
are the body links extraction already keeps, canonicalised and resolved by domain.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from narrative_archive.analysis.sentences import fold, sentence
from narrative_archive.config import ConfigError
from narrative_archive.paths import DEFAULT_CONFIG_DIR
from narrative_archive.urls import canonicalize_url

DEFAULT_CITATIONS_FILE = DEFAULT_CONFIG_DIR / "citations.yml"
MAX_CHARS = 1_000_000  # attributions are looked for in the first million characters
MAX_CITATIONS = 200

_CAPS = "A-ZА-ЯЁІЇЄҐ0-9"
_NAME_WORD = rf"[{_CAPS}][\w.&'’/-]*"
# a run of capitalised words ("the Associated Press"), or a name in quotes («Коммерсантъ»)
_NAME = (
    rf"(?:«[^»\n]{{1,60}}»|“[^”\n]{{1,60}}”|(?:(?i:the)\s+)?{_NAME_WORD}"
    rf"(?:\s+(?:(?:of|for|and|on|de|al)\s+)?{_NAME_WORD}){{0,5}})"
)
# Arabic and Persian have no capitals: up to four words, cut at a stop word later
_ARABIC_WORD = r"[\u0600-\u06ff\u200c\w]+"
_ARABIC_NAME = rf"(?:{_ARABIC_WORD}(?:[ \u00a0]+{_ARABIC_WORD}){{0,3}})"
_ARABIC_LANGUAGES = ("ar", "fa")
_STOP_WORDS = {
    "ar": {"أن", "ان", "إن", "عن", "في", "على", "من", "إلى", "الى", "التي", "الذي", "يوم", "امس", "أمس", "اليوم", "قوله", "قولها", "قال", "قالت", "ما"},
    "fa": {"که", "از", "در", "با", "به", "را", "این", "آن", "روز", "امروز", "گفت", "نوشت", "اعلام", "کرد"},
}
_LEADING = {  # capitalised words a name run may start with that are not part of the name
    "on", "in", "at", "as", "but", "and", "earlier", "meanwhile", "also", "monday", "tuesday",
    "wednesday", "thursday", "friday", "saturday", "sunday", "yesterday", "today", "last", "however",
    "ранее", "также", "об", "это", "как", "вчера", "сегодня", "однако", "раніше", "також", "про", "як",
    "учора", "сьогодні", "однак",
}
_QUOTES = "«»“”\"'„"
_NOT_AFTER_WORD = r"(?<![\w])"  # every cue starts at a word's start


@dataclass(frozen=True)
class Citation:
    kind: str  # "link" or "attribution"
    target_url: str | None
    source_name: str | None
    outlet_id: str | None
    sentence: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "target_url": self.target_url, "source_name": self.source_name,
            "outlet_id": self.outlet_id, "sentence": self.sentence,
        }


@dataclass(frozen=True)
class OutletIndex:
    """Names and domains resolved to outlet ids (build it once with outlet_index)."""

    names: Mapping[str, str]  # name key -> outlet id
    domains: Mapping[str, str]  # registrable domain -> outlet id
    display: Mapping[str, str]  # outlet id -> display name

    def by_name(self, name: str) -> str | None:
        key = name_key(name)
        return self.names.get(key) or self.names.get(_case_stem(key))

    def by_host(self, host: str) -> str | None:
        host = host.lower().rstrip(".")
        while host:
            if host in self.domains:
                return self.domains[host]
            host = host.partition(".")[2]
        return None


@dataclass(frozen=True)
class Cue:
    cue: re.Pattern  # the fixed words of a pattern
    name: re.Pattern  # the name after them, or before them (name_first)
    name_first: bool
    outlet_only: bool = False  # generic forms ("X said") count only for a known outlet


@dataclass(frozen=True)
class Patterns:
    """Compiled attribution patterns and descriptors per language."""

    patterns: Mapping[str, tuple[Cue, ...]]
    scanners: Mapping[str, re.Pattern]  # per language, every cue in one alternation (group c<i>)
    descriptors: Mapping[str, tuple[str, ...]]  # folded, longest first
    aliases: Mapping[str, tuple[str, ...]]


def name_key(name: str) -> str:
    """A name as the alias table compares it: folded, without quotes, "the" or trailing dots."""
    key = " ".join(fold(name).strip(_QUOTES + " .,:;").split())
    key = key.replace("«", "").replace("»", "").replace("\"", "")
    return key[4:] if key.startswith("the ") else key


def load_patterns(path: str | Path | None = None) -> Patterns:
    """Read config/citations.yml (or ``path``); raises ConfigError naming the file and key."""
    path = Path(path) if path else DEFAULT_CITATIONS_FILE
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(path, None, f"cannot read citation patterns: {error}") from error
    if not isinstance(raw, Mapping) or not isinstance(raw.get("patterns"), Mapping):
        raise ConfigError(path, None, "expected a mapping with patterns: language -> [phrases]")
    descriptors = {
        language: tuple(sorted((fold(d) for d in words), key=len, reverse=True))
        for language, words in (raw.get("descriptors") or {}).items()
    }
    compiled: dict[str, list[Cue]] = {}
    for section, outlet_only in (("patterns", False), ("outlet_patterns", True)):
        for language, phrases in (raw.get(section) or {}).items():
            if not isinstance(phrases, list) or not all(isinstance(p, str) and p.count("{source}") == 1 for p in phrases):
                raise ConfigError(path, f"{section}.{language}", "each pattern is a string with one {source}")
            name = _ARABIC_NAME if language in _ARABIC_LANGUAGES else _NAME
            described = tuple((raw.get("descriptors") or {}).get(language, ()))
            for phrase in phrases:
                try:
                    compiled.setdefault(language, []).append(_compile(phrase, name, described, outlet_only))
                except re.error as error:
                    raise ConfigError(path, f"{section}.{language}", f"bad pattern {phrase!r}: {error}") from error
    aliases = {str(key): tuple(str(v) for v in value) for key, value in (raw.get("aliases") or {}).items()}
    scanners = {language: _scanner(cues) for language, cues in compiled.items()}
    return Patterns({k: tuple(v) for k, v in compiled.items()}, scanners, descriptors, aliases)


@lru_cache(maxsize=2)
def default_patterns() -> Patterns:
    return load_patterns()


def outlet_index(outlets: Iterable, aliases: Mapping[str, Iterable[str]] | None = None) -> OutletIndex:
    """The name/alias table of ``outlets``: (id, name, domains) tuples or config.Outlet objects.

    ``aliases`` (default: those of config/citations.yml) maps outlet id -> other names.
    """
    names: dict[str, str] = {}
    domains: dict[str, str] = {}
    display: dict[str, str] = {}
    for outlet in outlets:
        if isinstance(outlet, tuple | list):
            outlet_id, name, outlet_domains = outlet
        else:
            outlet_id, name, outlet_domains = outlet.id, outlet.name, outlet.domains
        display[outlet_id] = name
        bare = re.sub(r"\s*\(([^)]*)\)", "", name).strip()
        inside = re.findall(r"\(([^)]*)\)", name)
        for candidate in (name, bare, *(part for part in inside if " " in part or part[:1].isupper() and len(part) > 8)):
            names.setdefault(name_key(candidate), outlet_id)
        for domain in outlet_domains:
            domains[domain.lower()] = outlet_id
            names.setdefault(name_key(domain.split(".")[0]), outlet_id)
    extra = default_patterns().aliases if aliases is None else aliases
    for outlet_id, other_names in extra.items():
        if outlet_id in display:
            for other in other_names:
                names[name_key(other)] = outlet_id
    for key, outlet_id in list(names.items()):
        names.setdefault(_case_stem(key), outlet_id)
    return OutletIndex(names, domains, display)


_CASE_ENDING = re.compile(r"(?<=[а-яіїєґ]{3})(?:ами|ями|ому|ему|ой|ей|ом|ем|ою|ею|ах|ях|[аяуюеиыіоьй])$")


def _case_stem(key: str) -> str:
    """A Cyrillic name without its last case ending ("коммерсанту" -> "коммерсант"), so an
    inflected mention finds the alias; other scripts are left alone."""
    if not re.search("[а-яіїєґ]", key):
        return key
    return " ".join(_CASE_ENDING.sub("", word) for word in key.split())


def extract_citations(
    text: str | None,
    links: Iterable[str] | None,
    language: str | None,
    outlets: OutletIndex | Iterable,
    *,
    patterns: Patterns | None = None,
    own_outlet: str | None = None,
) -> list[Citation]:
    """The attributions in ``text`` and the ``links`` of an article, as Citations.

    ``language`` picks the patterns (all languages when missing or unknown); ``outlets`` is
    an OutletIndex or the plain outlet list to build one from. A link that cannot be parsed
    is skipped. An attribution to the article's own outlet (``own_outlet``: "told the BBC"
    on a BBC page) is its own reporting, not a citation, and is left out.
    """
    if text is not None and not isinstance(text, str):
        raise TypeError(f"extract_citations: text must be a str or None, not {type(text).__name__}")
    index = outlets if isinstance(outlets, OutletIndex) else outlet_index(outlets)
    patterns = patterns or default_patterns()
    found: list[Citation] = []
    seen: set[tuple] = set()
    for citation in _attributions(text or "", language, index, patterns):
        if own_outlet and citation.outlet_id == own_outlet:
            continue
        key = (citation.outlet_id or name_key(citation.source_name), citation.sentence)
        if key not in seen:
            seen.add(key)
            found.append(citation)
        if len(found) >= MAX_CITATIONS:
            return found
    for link in links or ():
        try:
            url = canonicalize_url(link)
            host = urlsplit(url).hostname
        except (ValueError, AttributeError):
            continue
        if not host or ("link", url) in seen:
            continue
        seen.add(("link", url))
        outlet_id = index.by_host(host)
        source = host if outlet_id is None else index.display.get(outlet_id, host)
        found.append(Citation("link", url, source, outlet_id, None))
        if len(found) >= MAX_CITATIONS:
            break
    return found


def _compile(phrase: str, name: str, descriptors: tuple[str, ...], outlet_only: bool) -> Cue:
    before, after = phrase.split("{source}")
    described = name
    if descriptors:
        alternatives = "|".join(re.escape(d) for d in sorted(descriptors, key=len, reverse=True))
        described = rf"(?:(?i:{alternatives})\s+)?{name}"
    if before:
        return Cue(re.compile(rf"{_NOT_AFTER_WORD}(?i:{before})"), re.compile(described), False,
                   outlet_only)
    return Cue(
        re.compile(rf"{_NOT_AFTER_WORD}(?i:{after.strip()})(?![\w])"), re.compile(rf"(?:{described})\s*$"), True, outlet_only
    )


def _scanner(cues: list[Cue]) -> re.Pattern:
    """Every cue of a language in one alternation (group c<i> for cue i), with the check
    that a cue starts a word made once, before the alternatives: the engine tries the
    alternatives only at a word's start, one pass over the text (~8x faster than
    repeating the check in each alternative)."""
    alternatives = []
    for i, cue in enumerate(cues):
        pattern = cue.cue.pattern
        if pattern.startswith(_NOT_AFTER_WORD):
            pattern = pattern[len(_NOT_AFTER_WORD):]
        alternatives.append(f"(?P<c{i}>{pattern})")
    return re.compile(_NOT_AFTER_WORD + "(?:" + "|".join(alternatives) + ")")


def _attributions(text: str, language: str | None, index: OutletIndex, patterns: Patterns):
    text = text[:MAX_CHARS]
    languages = ([language] if language is not None and language in patterns.patterns
                 else list(patterns.patterns))
    hits = []
    for lang in languages:
        cues = patterns.patterns[lang]
        for found in patterns.scanners[lang].finditer(text):
            # the scanner finds where some cue starts; every cue starting there gets its try:
            # the scanner's alternation found none of the cues before this one there
            assert found.lastgroup is not None  # every alternative is a named group c<i>
            for cue in cues[int(found.lastgroup[1:]):]:
                match = cue.cue.match(text, found.start())
                if not match:
                    continue
                if cue.name_first:  # the name ends where the cue starts
                    name = cue.name.search(text, max(0, match.start() - 120), match.start())
                else:
                    name = cue.name.match(text, match.end())
                if name is None:
                    continue
                resolved = _resolve(name.group().strip(), lang, index, patterns, cue.name_first)
                if resolved and (resolved[1] or not cue.outlet_only):
                    # the sentence is the one the resolved name is in (a capitalised run
                    # may start in the sentence before: "Afghanistan. The Washington Post")
                    at = text.find(resolved[0], name.start(), name.end())
                    hits.append((at if at >= 0 else name.start(), resolved))
                    break
            if len(hits) >= MAX_CITATIONS * 4:
                break
    hits.sort(key=lambda hit: hit[0])
    for position, (source_name, outlet_id) in hits:
        yield Citation("attribution", None, source_name, outlet_id, sentence(text, position))


def _resolve(raw: str, language: str, index: OutletIndex, patterns: Patterns, name_first: bool):
    """(source name, outlet id or None) from a captured name, or None when nothing is left."""
    words = raw.split()
    if language in _ARABIC_LANGUAGES:
        stops = _STOP_WORDS.get(language, set())
        folded_stops = {fold(s) for s in stops}
        if name_first:  # the name precedes the cue: the words nearest the cue are the name
            for i in range(len(words) - 1, -1, -1):
                if fold(words[i]) in folded_stops:
                    words = words[i + 1:]
                    break
        else:
            for i, word in enumerate(words):
                if fold(word.strip("،,.")) in folded_stops:
                    words = words[:i]
                    break
        words = [w.strip("،,.:؛") for w in words if w.strip("،,.:؛")]
    else:
        while words and fold(words[0]) in _LEADING:
            words = words[1:]
    words = _strip_descriptor(words, patterns.descriptors.get(language, ()))
    if not words:
        return None
    # the longest run of words that is a known name, from the start (or the end when the name precedes the cue)
    spans = [(i, j) for i in range(len(words)) for j in range(len(words), i, -1)]
    spans.sort(key=lambda span: (-(span[1] - span[0]), span[0] if not name_first else -span[1]))
    for i, j in spans:
        outlet_id = index.by_name(" ".join(words[i:j]))
        if outlet_id:
            return " ".join(words[i:j]).strip(_QUOTES + " .,:;،"), outlet_id
    if language in _ARABIC_LANGUAGES:
        words = words[-2:] if name_first else words[:3]
    name = " ".join(words).strip(" .,:;،")
    if not name or len(name.strip(_QUOTES)) < 2 or fold(name) in ("the", "a", "an"):
        return None  # "The reports say": an article is not a name
    return name, None


def _strip_descriptor(words: list[str], descriptors: tuple[str, ...]) -> list[str]:
    """Words without a leading descriptor ("агентство ТАСС" -> "ТАСС"), when a name follows it."""
    folded = [fold(word) for word in words]
    for descriptor in descriptors:
        parts = descriptor.split()
        if len(words) > len(parts) and folded[: len(parts)] == parts:
            return words[len(parts):]
    return words
