"""The narrative matcher's gate, a leaf: which FTS5 queries cannot match an article, read
in Python from the words of the article and where they stand, before FTS5 evaluates any.

A gate is a necessary condition, never a sufficient one: it is True for every article the
query matches (and False for most that it does not), so skipping a query whose gate is
False never loses a match. It reads the query as FTS5 does: every phrase must have all its
tokens in the article, AND needs both sides, OR either, NOT its left side; a NEAR group
needs all its phrases, and their first tokens within a window of the article
(`near_window`: wider than FTS5's own test, so never narrower). Tokens are the archive
tokenizer's (`tokenize`, given by fts: porter stems, CJK split), so the words are compared
as FTS5 compares them.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator

from narrative_archive.ftsparse import parse, top_level_or

Gate = Callable[["Words"], bool]
_NONE: frozenset[str] = frozenset()
Need = tuple[str, str | None, bool]  # a query token: its stem, its text when a prefix, prefix
Offsets = Callable[[str], list[int]]  # a term's token offsets in the article, sorted


class Words:
    """The distinct tokens of one article (as the archive's tokenizer makes them), and
    where each stands (`offsets`, asked only for the terms a NEAR gate needs; cached)."""

    def __init__(self, tokens: Iterable[str], offsets: Offsets | None = None):
        self.sorted = sorted(tokens)
        self.set = set(self.sorted)
        self._offsets = offsets
        self._prefixes: set[str] | None = None
        self._cache: dict[str, list[int]] = {}
        self._starts: dict[tuple[Need, ...], list[int] | None] = {}

    def has(self, token: str, prefix: bool = False) -> bool:
        if not prefix:
            return token in self.set
        at = bisect.bisect_left(self.sorted, token)
        return at < len(self.sorted) and self.sorted[at].startswith(token)

    @property
    def prefixes(self) -> set[str]:
        """Every prefix of every token ("" included when there is a token): `t in
        prefixes` iff has(t, prefix=True), as one hash look-up (a page has ~100-1,000
        distinct tokens, so this is built in a fraction of a millisecond, once)."""
        if self._prefixes is None:
            self._prefixes = {token[:end] for token in self.sorted
                              for end in range(len(token) + 1)}
        return self._prefixes

    def present(self, need: Need) -> bool:
        """Whether the article has a term the query token `need` matches."""
        stem, text, prefix = need
        if not prefix:
            return stem in self.set
        prefixes = self.prefixes
        return stem in prefixes or (text is not None and text in prefixes)

    def starts(self, phrase: tuple[Need, ...]) -> list[int] | None:
        """The sorted offsets where the phrase's tokens stand one after the other (any
        column); None when this Words has no offsets."""
        if phrase not in self._starts:
            found: set[int] | None = None
            for i, (stem, text, prefix) in enumerate(phrase):
                terms = self.terms(stem, prefix)
                if prefix and text is not None and text != stem:
                    terms = list(dict.fromkeys([*terms, *self.terms(text, True)]))
                offsets = self.offsets(terms)
                if offsets is None:
                    found = None
                    break
                shifted = {offset - i for offset in offsets}
                found = shifted if found is None else found & shifted
                if not found:
                    break
            self._starts[phrase] = None if found is None else sorted(found)
        return self._starts[phrase]

    def terms(self, token: str, prefix: bool = False) -> list[str]:
        """The article's terms equal to `token`, or starting with it."""
        if not prefix:
            return [token] if token in self.set else []
        at = end = bisect.bisect_left(self.sorted, token)
        while end < len(self.sorted) and self.sorted[end].startswith(token):
            end += 1
        return self.sorted[at:end]

    def offsets(self, terms: Iterable[str]) -> list[int] | None:
        """The sorted offsets of any of `terms`; None when this Words has no offsets."""
        if self._offsets is None:
            return None
        found: list[int] = []
        for term in terms:
            if term not in self._cache:
                self._cache[term] = self._offsets(term)
            found += self._cache[term]
        return sorted(found)


def near_window(distance: int, lengths: list[int]) -> int:
    """How far apart (in tokens) the first tokens of a NEAR group's phrases may stand in a
    match: FTS5 allows `distance` tokens between the end of the first phrase and the start
    of the last, so the starts are at most distance + the first phrase's length apart; the
    sum of all the lengths is never less."""
    return distance + sum(lengths)


def within(positions: list[list[int]], window: int) -> bool:
    """Whether one offset of each list lies within `window` of the same start."""
    if not positions or any(not offsets for offsets in positions):
        return not positions
    for start in sorted({offset for offsets in positions for offset in offsets}):
        if all(_any_between(offsets, start, start + window) for offsets in positions):
            return True
    return False


def _any_between(offsets: list[int], low: int, high: int) -> bool:
    at = bisect.bisect_left(offsets, low)
    return at < len(offsets) and offsets[at] <= high


Tokenize = Callable[[list[str]], list[list[str]]]


def query_gate(query: str, tokenize: Tokenize) -> Gate | None:
    """A test that is True for every article the FTS5 `query` matches (and False for most
    that it does not): see the module's doc. `tokenize` splits and stems texts as the
    archive's tokenizer does. None when the query has a form this reading does not know:
    then the query is always evaluated."""
    built = keyed_gates([query], tokenize)[0]
    return built[0] if built else None


Built = tuple[Gate, Need | None, frozenset[str], frozenset[str]]


def keyed_gates(queries: list[str], tokenize: Tokenize) -> list[Built | None]:
    """Each query's gate, key (a token it cannot match without), and the exact tokens and
    prefixes it cannot match without (_Builder.build), or None (not read); every phrase of
    every query tokenized in one call."""
    parsed = [parse(query) for query in queries]
    texts = sorted({text for found in parsed if found for text in found[1]})
    stems = dict(zip(texts, tokenize(texts), strict=True)) if texts else {}
    built: list[Built | None] = []
    for found in parsed:
        if found is None:
            built.append(None)
            continue
        tree, phrases = found
        built.append(_Builder([stems[text] for text in phrases],
                              [text.lower() for text in phrases]).build(tree))
    return built


class Disjuncts:
    """A query as the OR of its top-level members, each behind its own gate, grouped by
    key: `passing(words)` gives the members that may match, so FTS5 evaluates those alone
    (a member matches iff the query does through it: OR binds loosest in FTS5)."""

    def __init__(self, query: str, tokenize: Tokenize, split: bool = True):
        members = top_level_or(query) if split else [query]
        groups: dict[Need | None, list[tuple[str, Gate | None, frozenset, frozenset]]] = {}
        for member, built in zip(members, keyed_gates(members, tokenize), strict=True):
            gate, key, plain, prefixes = built if built else (None, None, _NONE, _NONE)
            groups.setdefault(key, []).append((member, gate, plain, prefixes))
        self.members = members
        # a member's exact tokens and prefixes are tested here, before its gate is called
        self.groups = [(None if key is None else _Builder.split([key]), group)
                       for key, group in groups.items()]

    def passing(self, words: Words, where: bool = True) -> Iterator[str]:
        """The members that may match; where=False: those whose words the article holds,
        wherever they stand (FTS5 may mark their words: fts.NarrativeMatcher)."""
        have, starts = words.set, words.prefixes
        for key, members in self.groups:
            if key is None or (key[0] <= have and key[1] <= starts
                               and all(map(words.present, key[2]))):
                for member, gate, plain, prefixes in members:
                    if gate is None or (plain <= have and prefixes <= starts
                                        and (not where or gate(words))):
                        yield member


class _Builder:
    """Builds a parsed query's gates. Every node also has the exact tokens and the prefixes
    it cannot match without, tested as two subset tests (Words.set, Words.prefixes: C
    loops), so most gates fail before any Python-level step; only a prefix token whose
    stem and text differ (neither a prefix of the other) is looked up (Words.present)."""

    def __init__(self, stems: list[list[str]], raw: list[str]):
        self.stems, self.raw = stems, raw

    def needs_of(self, parts) -> list[Need]:
        needs = []
        for index, prefix in parts:
            for i, stem in enumerate(self.stems[index]):
                last = prefix and i == len(self.stems[index]) - 1
                needs.append((stem, self.raw[index] if last else None, last))
        return needs

    @staticmethod
    def split(needs: Iterable[Need]) -> tuple[frozenset[str], frozenset[str], tuple[Need, ...]]:
        """(the exact tokens, the prefixes, the other needs) these needs are present with:
        an exact token must be in Words.set and a prefix in Words.prefixes; a prefix need
        whose stem and text differ with neither a prefix of the other needs either."""
        plain: set[str] = set()
        prefixes: set[str] = set()
        either: dict[Need, None] = {}
        for need in needs:
            stem, text, prefix = need
            if not prefix:
                plain.add(stem)
            elif text is None or text.startswith(stem):  # has(text) implies has(stem)
                prefixes.add(stem)
            elif stem.startswith(text):
                prefixes.add(text)
            else:
                either[need] = None
        return frozenset(plain), frozenset(prefixes), tuple(either)

    def phrase_gate(self, needs: list[Need]) -> Gate:
        return _presence_gate(*self.split(needs))

    def near_gate(self, members: list[tuple], distance: int) -> Gate:
        needs = [self.needs_of(parts) for _, parts in members]
        present = _presence_gate(*self.split(need for phrase in needs for need in phrase))
        window = near_window(distance, [len(need) for need in needs])
        # where each phrase may start: where its tokens stand one after the other (title and
        # text together); a phrase with no token is not placed (the window is not tested)
        phrases = [tuple(need) for need in needs]
        placed = all(phrases)

        def near(words: Words) -> bool:
            if not present(words):
                return False
            if not placed:
                return True
            positions = []
            for phrase in phrases:
                starts = words.starts(phrase)
                if starts is None:  # no offsets given: the words alone decide
                    return True
                positions.append(starts)
            return within(positions, window)
        return near

    def build(self, node) -> tuple[Gate, Need | None, frozenset[str], frozenset[str]]:
        """The node's gate, one token it cannot match without (its key), if any, and the
        exact tokens and the prefixes it cannot match without (an AND or OR tests them
        first, as two subset tests, before its members' gates)."""
        kind, parts = node
        if kind == "phrase":
            needs = self.needs_of(parts)
            plain, prefixes, _ = self.split(needs)
            return self.phrase_gate(needs), (needs[0] if needs else None), plain, prefixes
        if kind == "near":
            members = parts[0]
            needs = self.needs_of(members[0][1]) if members else []
            plain, prefixes, _ = self.split(
                need for _, phrase in members for need in self.needs_of(phrase))
            return self.near_gate(*parts), (needs[0] if needs else None), plain, prefixes
        built = [self.build(part) for part in parts]
        if kind == "all":
            gates = tuple(gate for gate, _, _, _ in built)
            key = next((key for _, key, _, _ in built if key is not None), None)
            plain = frozenset().union(*(found[2] for found in built))
            prefixes = frozenset().union(*(found[3] for found in built))

            def all_of(words: Words) -> bool:
                return (plain <= words.set and prefixes <= words.prefixes
                        and all(gate(words) for gate in gates))
            return all_of, key, plain, prefixes
        # OR: the members grouped by their key, so a token the article lacks rules out
        # every member that needs it with one look-up (a narrative's 30 languages' variants)
        groups: dict[Need | None, list[tuple[frozenset, frozenset, Gate]]] = {}
        for gate, key, needed, started in built:
            groups.setdefault(key, []).append((needed, started, gate))
        keyed = [(None if key is None else self.split([key]), tuple(gates))
                 for key, gates in groups.items()]
        plain = frozenset.intersection(*(found[2] for found in built))
        prefixes = frozenset.intersection(*(found[3] for found in built))

        def any_of(words: Words) -> bool:
            have, starts = words.set, words.prefixes
            if not (plain <= have and prefixes <= starts):
                return False
            for key, gates in keyed:  # each member's own sets tested before its gate
                if key is None or (key[0] <= have and key[1] <= starts
                                   and all(map(words.present, key[2]))):
                    if any(needed <= have and started <= starts and gate(words)
                           for needed, started, gate in gates):
                        return True
            return False
        return any_of, (next(iter(groups)) if len(groups) == 1 else None), plain, prefixes


def _presence_gate(plain: frozenset[str], prefixes: frozenset[str],
                   either: tuple[Need, ...]) -> Gate:
    """Whether the article has a term each need matches (see _Builder.split)."""
    if not prefixes and not either:
        def exact(words: Words) -> bool:
            return plain <= words.set
        return exact
    if not either:
        def present(words: Words) -> bool:
            return plain <= words.set and prefixes <= words.prefixes
        return present

    def present_either(words: Words) -> bool:
        return (plain <= words.set and prefixes <= words.prefixes
                and all(words.present(need) for need in either))
    return present_either
