"""A claim rule's key: what its verdicts depend on besides the article, and which of them
a change of its lists can turn.

A rematch keeps the candidates a rule rejected (store: claim_rejections) with the key of
the rule that rejected them, and reads again only those a new rule can read otherwise.
The rule's verdict on an article is a function of its text, of the reader's code and of
what each list's pattern finds in the text (match.claim). A term that a text does not hold
changes nothing a pattern finds there: at each place the alternatives left are tried in
the same order (longest first), and an added term that does not match is passed over as a
removed one was. So between two rules with the same reader, window and verb-final
languages, only the articles that hold a term one rule has and the other lacks, in any
list, can be read otherwise.
"""

from __future__ import annotations

import hashlib
import json
import sys
import unicodedata
from functools import lru_cache
from pathlib import Path

from narrative_archive.config import Narrative
from narrative_archive.match import claim

# lists whose change changes how every sentence is read, not what one term finds
_SETTINGS = ("window", "verb_final")
# the highest code point of the scripts FTS5's tokenizer splits into the words the rule
# reads (Latin, Greek, Cyrillic, Armenian): Arabic script attaches و ف ب ل and al- to a
# word, and the scripts after it are written with marks the tokenizer may split on or
# without spaces between words
_INDEXED_AS_READ = "\u058f"


def rule_key(narrative: Narrative) -> str | None:
    """What the rule's verdict on an article depends on besides the article: the
    narrative's claim lists by name, and the reader (match/claim.py's code and the Unicode
    tables fold() reads) as a short hash; JSON. None without a `claim:` key."""
    if not narrative.claim:
        return None
    return json.dumps({"reader": _reader(),
                       "lists": {role: list(terms) for role, terms in
                                 sorted(narrative.claim, key=lambda pair: pair[0])}},
                      ensure_ascii=False)


@lru_cache(maxsize=1)
def _reader() -> str:
    digest = hashlib.sha256(Path(claim.__file__).read_bytes())
    digest.update(f"{unicodedata.unidata_version} {sys.version_info[:2]}".encode())
    return digest.hexdigest()[:16]


def rereads(old: str, new: str) -> str | None:
    """The FTS5 query of the articles whose verdict can differ between the rules of keys
    `old` and `new` (rule_key): those holding a term that one of them lists and the other
    does not (in the same list). "" when no article's can; None when every article's can:
    another reader, window or verb-final languages, a changed term in a script the index
    does not split as the rule reads it, or an `old` that is no key of this form (an
    archive's rule before these keys).

    FTS5 finds the term wherever the rule does, as it finds the candidate query's terms
    (the candidates are read only where it does)."""
    try:
        before, after = json.loads(old), json.loads(new)
        if before["reader"] != after["reader"]:
            return None
        lists, others = before["lists"], after["lists"]
    except (ValueError, TypeError, KeyError):
        return None
    changed: set[str] = set()
    for role in set(lists) | set(others):
        was, now = lists.get(role, []), others.get(role, [])
        if role in _SETTINGS:
            if sorted(map(str, was)) != sorted(map(str, now)):
                return None
            continue
        changed |= set(was) ^ set(now)
    terms = sorted(term for term in changed if claim.words_of(term))
    if any(max(word) > _INDEXED_AS_READ for term in terms for word in claim.words_of(term)):
        return None
    return " OR ".join(claim.fts_term(term) for term in terms)
