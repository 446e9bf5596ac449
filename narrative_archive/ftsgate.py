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

from narrative_archive.ftsparse import parse

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


Built = tuple[Gate, Need | None, frozenset[str], frozenset[str], tuple["Clause", ...]]


def keyed_gates(queries: list[str], tokenize: Tokenize) -> list[Built | None]:
    """Each query's gate, key (a token it cannot match without), the exact tokens and
    prefixes it cannot match without, and its clauses (_Builder.build), or None (not read);
    every phrase of every query tokenized in one call."""
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
    """A query as the OR of its members (top_level_or's), each behind its own gate:
    `passing(words)` gives the members that may match, so FTS5 evaluates those alone (a
    member matches iff the query does through it: OR binds loosest in FTS5).

    Each member is indexed by one of its clauses (its trigger: the clause most members share,
    chosen by `cover`, a narrative's own name in most of them), so an article that holds
    none of a query's triggers costs two set tests, and one that holds some reads only the
    members those name."""

    def __init__(self, members: list[str], tokenize: Tokenize):
        self.members = members
        # (member, gate, exact tokens, prefixes, its clauses of two tokens or more)
        self.items: list[tuple[str, Gate | None, frozenset, frozenset, tuple[Clause, ...]]] = []
        clauses: list[tuple[Clause, ...]] = []
        for member, built in zip(members, keyed_gates(members, tokenize), strict=True):
            gate, _, plain, prefixes, found = built if built else (None, None, _NONE, _NONE, ())
            self.items.append((member, gate, plain, prefixes,
                               tuple(clause for clause in found if _size(clause) > 1)))
            clauses.append(found if gate is not None else ())
        self.always = [i for i, found in enumerate(clauses) if not found]
        self.unread = [member for member, gate, *_ in self.items if gate is None]
        self.exact: dict[str, list[int]] = {}
        self.prefixed: dict[str, list[int]] = {}
        for trigger, covered in cover([found for found in clauses if found],
                                      [i for i, found in enumerate(clauses) if found]):
            for token in trigger[0]:
                self.exact.setdefault(token, []).extend(covered)
            for token in trigger[1]:
                self.prefixed.setdefault(token, []).extend(covered)
        self.exact_keys, self.prefixed_keys = frozenset(self.exact), frozenset(self.prefixed)

    def passing(self, words: Words, where: bool = True) -> Iterator[str]:
        """The members that may match; where=False: those whose words the article holds,
        wherever they stand (FTS5 may mark their words: fts.NarrativeMatcher)."""
        have, starts = words.set, words.prefixes
        if not where:
            for member, gate, plain, prefixes, _ in self.items:
                if gate is None or (plain <= have and prefixes <= starts):
                    yield member
            return
        hits = set(self.always)
        for token in self.exact_keys.intersection(have):
            hits.update(self.exact[token])
        for token in self.prefixed_keys.intersection(starts):
            hits.update(self.prefixed[token])
        for i in sorted(hits):
            member, gate, plain, prefixes, clauses = self.items[i]
            if gate is None or (plain <= have and prefixes <= starts
                                and all(_holds(clause, have, starts) for clause in clauses)
                                and gate(words)):
                yield member


Clause = tuple[frozenset[str], frozenset[str]]  # exact tokens, prefixes: one must be present


def _size(clause: Clause) -> int:
    return len(clause[0]) + len(clause[1])


def _holds(clause: Clause, have: set[str], starts: set[str]) -> bool:
    return not (clause[0].isdisjoint(have) and clause[1].isdisjoint(starts))


def cover(clauses: list[tuple[Clause, ...]], names: list[int]) -> list[tuple[Clause, list[int]]]:
    """Clauses that cover every one of these alternatives (each has a list of clauses, one of
    which is chosen for it), greedily: the clause the most uncovered alternatives share
    first (the fewer tokens the better on a tie), each with the `names` of those it covers."""
    chosen: list[tuple[Clause, list[int]]] = []
    left = list(range(len(clauses)))
    while left:
        counts: dict[Clause, int] = {}
        for i in left:
            for clause in dict.fromkeys(clauses[i]):
                counts[clause] = counts.get(clause, 0) + 1
        best = max(counts, key=lambda clause: (counts[clause], -_size(clause),
                                                sorted(clause[0]), sorted(clause[1])))
        chosen.append((best, [names[i] for i in left if best in clauses[i]]))
        left = [i for i in left if best not in clauses[i]]
    return chosen


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
            exact, started = _clause(need)
            if exact:
                plain |= exact
            elif len(started) == 1:
                prefixes |= started
            else:
                either[need] = None
        return frozenset(plain), frozenset(prefixes), tuple(either)

    def phrase_gate(self, needs: list[Need]) -> Gate:
        return _presence_gate(*self.split(needs))

    def near_gate(self, members: list[tuple], distance: int) -> Gate:
        needs = [self.needs_of(parts) for _, parts in members]
        present = _presence_gate(*self.split(need for phrase in needs for need in phrase))
        placed = _placed([tuple(need) for need in needs],
                         near_window(distance, [len(need) for need in needs]))

        def near(words: Words) -> bool:
            return present(words) and placed(words)
        return near

    def shared_near(self, nodes: list[tuple]) -> Gate | None:
        """When every one of these members of an OR is a NEAR group and two phrases or more
        stand in all of them, the test that those phrases stand within the widest member's
        window (one test for 20 variants that differ in one word), else None."""
        if len(nodes) < 2 or any(node[0] != "near" or not node[1][0] for node in nodes):
            return None
        groups = [[tuple(self.needs_of(parts)) for _, parts in node[1][0]] for node in nodes]
        shared = [phrase for phrase in dict.fromkeys(groups[0])
                  if phrase and all(phrase in group for group in groups[1:])]
        if len(shared) < 2:
            return None
        return _placed(shared, max(near_window(node[1][1], [len(phrase) for phrase in group])
                                   for node, group in zip(nodes, groups, strict=True)))

    def build(self, node) -> Built:
        """The node's gate, one token it cannot match without (its key), if any, the exact
        tokens and the prefixes it cannot match without (an AND or OR tests them first, as
        two subset tests, before its members' gates), and its clauses: sets of tokens of
        which it cannot match without one (a phrase's tokens one by one; an OR's, sets that
        cover its members: `cover`)."""
        kind, parts = node
        if kind in ("phrase", "near"):
            needs = (self.needs_of(parts) if kind == "phrase" else
                     [need for _, phrase in parts[0] for need in self.needs_of(phrase)])
            plain, prefixes, _ = self.split(needs)
            first = needs if kind == "phrase" else \
                (self.needs_of(parts[0][0][1]) if parts[0] else [])
            gate = self.phrase_gate(needs) if kind == "phrase" else self.near_gate(*parts)
            clauses = tuple(dict.fromkeys(_clause(need) for need in needs))
            return gate, (first[0] if first else None), plain, prefixes, clauses
        built = [self.build(part) for part in parts]
        if kind == "all":
            gates = tuple(found[0] for found in built)
            key = next((found[1] for found in built if found[1] is not None), None)
            plain = frozenset().union(*(found[2] for found in built))
            prefixes = frozenset().union(*(found[3] for found in built))

            def all_of(words: Words) -> bool:
                return (plain <= words.set and prefixes <= words.prefixes
                        and all(gate(words) for gate in gates))
            return all_of, key, plain, prefixes, tuple(dict.fromkeys(
                clause for found in built for clause in found[4]))
        # OR: the members grouped by their key, so a token the article lacks rules out
        # every member that needs it with one look-up (a narrative's 30 languages' variants)
        groups: dict[Need | None, list[tuple[frozenset, frozenset, tuple, Gate]]] = {}
        nodes: dict[Need | None, list[tuple]] = {}
        for part, (gate, key, needed, started, clauses) in zip(parts, built, strict=True):
            groups.setdefault(key, []).append(
                (needed, started, tuple(c for c in clauses if _size(c) > 1), gate))
            nodes.setdefault(key, []).append(part)
        # a group's NEAR groups that share phrases are first tested once for those
        keyed = [(None if key is None else self.split([key]), self.shared_near(nodes[key]),
                  tuple(gates)) for key, gates in groups.items()]
        plain = frozenset.intersection(*(found[2] for found in built))
        prefixes = frozenset.intersection(*(found[3] for found in built))

        def any_of(words: Words) -> bool:
            have, starts = words.set, words.prefixes
            if not (plain <= have and prefixes <= starts):
                return False
            for key, shared, gates in keyed:  # each member's own sets tested before its gate
                if key is None or (key[0] <= have and key[1] <= starts
                                   and all(map(words.present, key[2]))):
                    if shared is not None and not shared(words):
                        continue
                    if any(needed <= have and started <= starts
                           and all(_holds(clause, have, starts) for clause in clauses)
                           and gate(words) for needed, started, clauses, gate in gates):
                        return True
            return False
        # up to three clauses, each covering every member with clauses the others did not
        # use: NEAR(iran arm taliban*) OR NEAR(iran weapon* taliban*): {iran}, {taliban*},
        # {arm, weapon*}
        unions: list[Clause] = []
        lists = [found[4] for found in built]
        while len(unions) < 3 and all(lists):
            chosen = cover(lists, list(range(len(lists))))
            unions.append((frozenset().union(*(clause[0] for clause, _ in chosen)),
                           frozenset().union(*(clause[1] for clause, _ in chosen))))
            used = {clause for clause, _ in chosen}
            lists = [tuple(clause for clause in found if clause not in used) for found in lists]
        return (any_of, (next(iter(groups)) if len(groups) == 1 else None), plain, prefixes,
                tuple(unions))


def _placed(phrases: list[tuple[Need, ...]], window: int) -> Gate:
    """Whether the phrases stand where a NEAR group needs them: each where its tokens stand
    one after the other (title and text together), their starts within `window`; True
    when a phrase has no token (it is not placed) or the Words have no offsets."""
    placed = all(phrases)

    def near(words: Words) -> bool:
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


def _clause(need: Need) -> Clause:
    """The clause of one query token: the exact token, or the prefixes either of which
    is present with it (one when it implies the other: has(text) implies has(stem))."""
    stem, text, prefix = need
    if not prefix:
        return frozenset([stem]), _NONE
    if text is None or text.startswith(stem):
        return _NONE, frozenset([stem])
    if stem.startswith(text):
        return _NONE, frozenset([text])
    return _NONE, frozenset([stem, text])


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
