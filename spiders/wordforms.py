"""Whole words for a prefix term: what a search engine is sent instead of a stem.

The archive's FTS5 index expands `supplie*` by itself; GDELT and news search do
not, and a stem such as `supplie`, `servic` or `москв` finds nothing there. So a
prefix term is sent as the words it stands for:

- the stem itself, when it is a word (`weapon*` → weapon, `طالبان*` → طالبان);
- the completions the narrative's own examples and lexicon contain, first
  (they are the forms the narrative is written in: талибов, вооружает);
- then the language's commonest completions, from wordfreq's frequency lists,
  which also tell whether the stem is a word at all.

Queries are written without diacritics (the archive's tokenizer folds them), so
`odul*` finds ödül and `aufrust*` aufrüsten: the word is sent as it is spelled.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable
from functools import cache

from narrative_archive.config import Narrative

MAX_FORMS = 5  # words per prefix term: GDELT and news search cap a query's length
MIN_ZIPF = 2.5  # rarer completions are mostly typos and names
STEM_GAP = 1.0  # a stem ten times rarer than its commonest completion is a fragment
# Languages wordfreq has no list for (or whose script its list lacks: Serbian Cyrillic),
# and the lists of languages sharing their script and much of their vocabulary (Москва is
# spelled alike in Serbian, Macedonian and Russian).
RELATED = {"ps": ("fa", "ur"), "sr": ("sr", "sh", "ru"), "mk": ("mk", "bg", "ru")}
MAIN_LANGUAGE = "en"  # the language of a narrative's main query (its examples' `en`)

_WORD = re.compile(r"[^\W\d_]+")


def fold(word: str) -> str:
    """Lower case without Latin diacritics, as the archive's tokenizer reads words."""
    word = word.lower()
    stripped = "".join(c for c in unicodedata.normalize("NFKD", word)
                       if not unicodedata.combining(c))
    return stripped if stripped.isascii() else word


def words_of(texts: Iterable[str]) -> list[str]:
    """The distinct words of these texts, in order of first appearance."""
    return list(dict.fromkeys(w.lower() for text in texts for w in _WORD.findall(text)))


def narrative_words(narrative: Narrative, language: str) -> list[str]:
    """Whole words a narrative itself uses in a language: its examples' and its lexicon's."""
    texts = [text for lang, match, no_match in narrative.examples if lang == language
             for text in (*match, *no_match)]
    lexicon = [term for terms in narrative.lexicon_for(language).values() for term in terms
               if "*" not in term]
    return words_of([*texts, *lexicon])


class _Lists:
    """A frequency list: words by folded spelling, sorted for prefix look-ups."""

    def __init__(self, language: str):
        from wordfreq import cB_to_zipf, get_frequency_list

        self.zipf: dict[str, float] = {}
        spelled: dict[str, str] = {}
        for index, bucket in enumerate(get_frequency_list(language, "best")):
            zipf = cB_to_zipf(-index)
            if zipf < MIN_ZIPF:
                break
            for word in bucket:
                if not all(unicodedata.category(c)[0] in "LM" for c in word):
                    continue  # russia's, سلاح‌های: the tokenizer splits them, the stem covers them
                key = fold(word)
                if key not in spelled:  # the commonest spelling of a folded form
                    spelled[key] = word
                    self.zipf[key] = zipf
        self.spelled = spelled
        self.keys = sorted(spelled)

    def completions(self, stem: str) -> list[str]:
        """Folded words longer than the stem that start with it, commonest first."""
        start = bisect.bisect_left(self.keys, stem)
        found = []
        for key in self.keys[start:]:
            if not key.startswith(stem):
                break
            if key != stem:
                found.append(key)
        return sorted(found, key=lambda k: -self.zipf[k])


@cache
def _lists(language: str) -> _Lists | None:
    from wordfreq import available_languages

    return _Lists(language) if language in available_languages("best") else None


def word_forms(stem: str, language: str | None = None, known: Iterable[str] = (),
               fallback: Iterable[str] = ()) -> list[str]:
    """The whole words to search for instead of the prefix term `stem*`.

    `known` are words the narrative itself uses (narrative_words): their
    completions of the stem come first. When neither they nor the language's list
    complete the stem, `fallback` words may (the narrative's English words: talib* in a
    Romanian variant searches "taliban", the name news search engines index). Without any
    list for the language and no completion at all, the stem is all there is and is kept.
    """
    stem = fold(stem)
    known_words = list(dict.fromkeys(fold(w) for w in known))
    from_known = [w for w in known_words if w.startswith(stem) and w != stem]
    lists = [x for x in (_lists(lang) for lang in _languages(language)) if x is not None]
    zipf = max((x.zipf.get(stem, 0.0) for x in lists), default=0.0)
    common: list[tuple[float, str]] = []
    for x in lists:
        common.extend((x.zipf[k], x.spelled[k]) for k in x.completions(stem))
    common.sort(key=lambda pair: -pair[0])
    best = max((z for z, _ in common), default=0.0)
    if stem in known_words or (zipf and zipf >= best - STEM_GAP):
        forms = [_spelling(stem, lists)]
    elif not lists and not from_known:
        forms = [stem]
    else:
        forms = []
    forms += [_spelling(w, lists) for w in from_known]
    forms += [word for _, word in common]
    if not forms:
        forms = [w for w in dict.fromkeys(fold(w) for w in fallback)
                 if w.startswith(stem) and w != stem]
    return list(dict.fromkeys(forms))[:MAX_FORMS] or [stem]


def _languages(language: str | None) -> tuple[str, ...]:
    language = language or MAIN_LANGUAGE
    return RELATED.get(language, (language,))


def _spelling(key: str, lists: list[_Lists]) -> str:
    for x in lists:
        if key in x.spelled:
            return x.spelled[key]
    return key
