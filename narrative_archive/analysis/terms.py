"""The matched terms as stance reads them: word beginnings (stems) of the words full-text
search highlighted, found in tokens and in a text's folded form without compiling anything
per mention (every mention brings its own terms)."""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache

from narrative_archive.analysis.cues import TOKEN as _TOKEN
from narrative_archive.analysis.sentences import FOLD, fold

CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")  # kana and CJK ideographs: runs hold several words


def term_list(terms) -> list[str]:
    if terms is None:
        return []
    if isinstance(terms, str):
        try:
            parsed = json.loads(terms)
        except ValueError:
            parsed = re.split(r"[\s,]+", terms)
        terms = parsed if isinstance(parsed, list) else [str(parsed)]
    return [str(term) for term in terms if str(term).strip()]


# English function words a query highlights on their own beside its content words ("the",
# "and" of "weapons and financing to the Taliban"): no part of the claim, and as stems they
# would put the claim in every sentence. A phrase's words ("terrorists we hunt in
# afghanistan") are kept: the phrase is the claim's wording.
FUNCTION_WORDS = frozenset("the and a an of to in on at by for from with as or".split())


# a Korean case particle closing a highlighted word ("러시아가", "미군의", "무기를"): the
# noun without it is what other sentences inflect ("러시아의 미군살해")
_PARTICLE = re.compile(r"(?<=[\uac00-\ud7a3])(?:에서|에게|으로|가|이|는|은|을|를|의|에|와|과|도|로)$")


def stems_of(terms: list[str]) -> tuple[str, ...]:
    """Terms as word beginnings: highlighted words are inflected forms ("талибам", "arming");
    a function word highlighted alone is left out when the terms hold anything else."""
    stems = set()
    content = [term for term in terms if fold(term.strip("*\"' ")) not in FUNCTION_WORDS] or terms
    for term in content:
        for word in _TOKEN.findall(fold(term.strip("*\"'"))):
            word = _PARTICLE.sub("", word) if len(word) >= 3 else word
            stems.add(word if len(word) <= 5 else word[: len(word) - 2])
    return tuple(sorted(stems, key=len, reverse=True))


def term_positions(tokens, stems) -> list[int]:
    has = stem_test(stems)
    return [i for i, token in enumerate(tokens) if has(token)]


def has_stem(token: str, stems) -> bool:
    return stem_test(stems)(token)


@lru_cache(maxsize=256)
def stem_test(stems: tuple[str, ...]):
    """Whether a folded token holds one of ``stems``: at its start, or (stems of four letters
    or more) within its first three letters, since Arabic attaches clitics in front
    (لطالبان), or anywhere in a run of Chinese or Japanese characters, which holds several
    words ("露が米兵殺害の武装勢力に報奨金か"). Answers are remembered per token (no regular
    expression to compile: every mention brings its own terms)."""
    longer = tuple(stem for stem in stems if len(stem) >= 4)
    cjk = tuple(stem for stem in stems if CJK.search(stem))
    bare = tuple(_bare(stem) for stem in stems)
    memo: dict[str, bool] = {}

    def has(token: str) -> bool:
        found = memo.get(token)
        if found is None:
            found = memo[token] = token.startswith(stems) or any(
                stem in token[:len(stem) + 3] for stem in longer) or (
                not token.isascii() and _bare(token).startswith(bare)) or (
                bool(cjk) and any(stem in token for stem in cjk))
            if len(memo) > 20_000:
                memo.clear()
        return found
    return has


def _bare(word: str) -> str:
    """A Latin word without its accents: full-text search matches "talibów" for "talibow"
    (the highlighted form may be another inflection's), so stance must too."""
    if word.isascii():
        return word
    return "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))


_CHUNK = 5_000


def term_starts(text: str, stems: tuple[str, ...], inside_words: bool):
    """Offsets in ``text`` where a stem starts in its folded, lowercased form (at a word's
    start, or anywhere in a word for scripts that attach clitics in front), in order.
    The text is folded a chunk at a time (a 5 MB text whose first matches are early is not
    folded whole); chunks overlap by the longest stem and one character, so no match is lost
    or found twice."""
    longest = max(map(len, stems))
    done = 0
    for chunk in range(0, len(text), _CHUNK):
        low = max(0, chunk - longest - 1)
        piece = text[low:chunk + _CHUNK + longest].translate(FOLD)  # one-to-one: offsets kept
        lowered = piece.lower()
        if len(lowered) != len(piece):  # a letter whose lowercase is longer: compare per letter
            lowered = "".join(c.lower()[:1] or c for c in piece)
        found = set()
        for stem in stems:
            at = lowered.find(stem, chunk - low)
            while 0 <= at < chunk - low + _CHUNK:
                if inside_words or at == 0 or not (lowered[at - 1].isalnum() or lowered[at - 1] == "_"):
                    found.add(at)
                at = lowered.find(stem, at + 1)
        for at in sorted(found):
            if low + at >= done:
                done = low + at + 1
                yield low + at


def text_has_stem(text: str, stems) -> bool:
    has = stem_test(stems)
    return any(has(token) for token in _TOKEN.findall(fold(text)))
