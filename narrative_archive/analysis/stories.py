"""Stories: near-duplicate clusters of article texts (syndicated copies, reposts).

A copy that differs by a dateline, a tagline, a "first published by" line or a trimmed last
paragraph shares most of its word shingles with the original. Each text gets a MinHash
``signature`` (bytes, for a table) and LSH ``band_keys`` (integers: the store keeps
(bucket -> article_id) rows in SQLite, so the index never has to sit in memory). A new
article is compared only with the articles that share a bucket; copies join the story of
the earliest article of their cluster (by date), and ``story_id`` is that article's id.

The storage is anything with the five methods of ``MemoryStorage``; the archive implements
them over its own tables. ``cluster`` re-clusters a whole collection exactly (``restory``).
"""

from __future__ import annotations

import hashlib
import operator
import re
from collections import defaultdict
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Protocol

NUM_PERM = 128
BANDS, ROWS = 32, 4  # candidates from about Jaccard 0.4; NUM_PERM == BANDS * ROWS
SHINGLE = 5  # words per shingle
THRESHOLD = 0.5  # estimated Jaccard of shingles at which two texts are one story
# Shorter texts (teasers, captions, short wire items) are too little to compare by shingles:
# they join a story only as exact copies (the same words), under one key of their own.
MIN_WORDS = 25
MAX_WORDS = 20000  # longer texts are compared on their first words only: bounded work
SIGNATURE_BYTES = NUM_PERM * 4

_WORD = re.compile(r"\w+")


class _Unset:
    """The type of _UNSET: StoryIndex.add was given no precomputed signature."""


_UNSET = _Unset()


@dataclass(frozen=True)
class Entry:
    signature: bytes
    date: str | None
    story_id: Hashable


@dataclass(frozen=True)
class Assignment:
    """Where an added article went: its story, the stories merged into it, its matches."""

    article_id: Hashable
    story_id: Hashable
    merged: tuple[Hashable, ...] = ()  # earlier story ids whose members now carry story_id
    # (article_id, estimated Jaccard): the first member of each joined story found close enough
    matches: tuple[tuple[Hashable, float], ...] = ()
    keys: tuple[int, ...] = ()  # its band keys, as stored


class Storage(Protocol):
    def candidates(self, keys: Iterable[int]) -> set[Hashable]: ...
    def get(self, article_id: Hashable) -> Entry | None: ...
    def put(self, article_id: Hashable, keys: tuple[int, ...], entry: Entry) -> None: ...
    def remove(self, article_id: Hashable) -> None: ...
    def rename_stories(self, old: Iterable[Hashable], new: Hashable) -> None: ...


def shingles(text: str) -> set[bytes]:
    """The word shingles of a text, lowercased; at most MAX_WORDS words are read."""
    lowered = text.lower()
    # MAX_WORDS words are at most this many characters (a word and a separator each)
    words = _WORD.findall(lowered, 0, len(lowered) if MAX_WORDS * 2 >= len(lowered)
                          else _end_of_words(lowered))[:MAX_WORDS]
    if len(words) < SHINGLE:
        return {" ".join(words).encode()} if words else set()
    count = len(words) - SHINGLE + 1
    return {" ".join(shingle).encode()
            for shingle in zip(*(words[i:i + count] for i in range(SHINGLE)), strict=True)}


def _end_of_words(text: str) -> int:
    """Where the MAX_WORDS-th word of ``text`` ends (its length when it has fewer)."""
    for count, match in enumerate(_WORD.finditer(text), 1):
        if count >= MAX_WORDS:
            return match.end()
    return len(text)


def word_count(text: str, limit: int = MIN_WORDS) -> int:
    count = 0
    for _ in _WORD.finditer(text):
        count += 1
        if count >= limit:
            break
    return count


def signature(text: str) -> bytes:
    """The MinHash signature of ``text`` as NUM_PERM little-endian uint32 (SIGNATURE_BYTES):
    datasketch's MinHash (its default "affine32" scheme, seed 1) of the text's shingles
    hashed by _hash32, bit for bit, computed here with numpy alone, because importing
    datasketch imports scipy (59 MiB in every extraction worker; see _permutations)."""
    import numpy as np  # here: the crawl process never needs numpy

    # _hash32 of each shingle, read by numpy from the digests (little-endian uint32)
    blake2b = hashlib.blake2b
    digests = b"".join([blake2b(shingle, digest_size=4).digest() for shingle in shingles(text)])
    if not digests:
        return b"\xff" * SIGNATURE_BYTES  # the empty MinHash: every value at its maximum
    return min_hashes(np.frombuffer(digests, dtype="<u4").astype(np.uint32))


def min_hashes(hashes) -> bytes:
    """The signature of a numpy uint32 array of shingle hashes (signature's last step)."""
    import numpy as np

    a, b = _permutations()
    values = hashes.reshape(-1, 1)
    # MurmurHash3's 32-bit finalizer, then a * h + b: uint32 arithmetic wraps (mod 2**32)
    values ^= values >> np.uint32(16)
    values *= np.uint32(0x85EBCA6B)
    values ^= values >> np.uint32(13)
    values *= np.uint32(0xC2B2AE35)
    values ^= values >> np.uint32(16)
    return (values * a + b).min(axis=0).astype("<u4").tobytes()


def text_signature(text: str | None) -> bytes | None:
    """The signature a StoryIndex stores for ``text``, or None when the text is too short to
    compare (under MIN_WORDS words): what ``StoryIndex.add(..., signature=)`` takes, so the
    MinHash can be computed where the article is extracted (a worker process)."""
    if not text or word_count(text) < MIN_WORDS:
        return None
    return signature(text)


@cache
def _permutations():
    """datasketch.MinHash(num_perm=NUM_PERM)'s permutations (a, b): drawn from
    RandomState(1), each `a` odd (tests/test_stories.py checks the signatures against
    datasketch's own)."""
    import numpy as np

    generator = np.random.RandomState(1)
    a = generator.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


def band_keys(sig: bytes) -> tuple[int, ...]:
    """One signed 64-bit bucket key per band (the band number is hashed in), for an INTEGER column."""
    if len(sig) != SIGNATURE_BYTES:
        raise ValueError(f"a signature is {SIGNATURE_BYTES} bytes, not {len(sig)}")
    width = ROWS * 4
    return tuple(
        int.from_bytes(
            hashlib.blake2b(sig[band * width:(band + 1) * width], digest_size=8, person=band.to_bytes(2, "little")).digest(),
            "little", signed=True,
        )
        for band in range(BANDS)
    )


def exact_key(text: str) -> int:
    """One bucket key for a short text: its words, lowercased, hashed. Only an exact copy
    (the same words; punctuation and case aside) shares it."""
    words = " ".join(match.group() for match in _WORD.finditer(text.lower()))
    digest = hashlib.blake2b(words.encode(), digest_size=8, person=b"exact").digest()
    return int.from_bytes(digest, "little", signed=True)


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of the two texts' shingles: the share of equal minhashes
    (compared as 32-bit words in plain Python: the writer process need not import numpy)."""
    if len(a) != len(b):
        return 0.0
    return sum(map(operator.eq, memoryview(a).cast("I"), memoryview(b).cast("I"))) / NUM_PERM


class MemoryStorage:
    """Storage in dicts: for tests and small collections (the archive keeps it in SQLite)."""

    def __init__(self):
        self.buckets: dict[int, set[Hashable]] = defaultdict(set)
        self.entries: dict[Hashable, tuple[tuple[int, ...], Entry]] = {}
        self.members: dict[Hashable, set[Hashable]] = defaultdict(set)

    def candidates(self, keys):
        found: set[Hashable] = set()
        for key in keys:
            found |= self.buckets.get(key, set())
        return found

    def get(self, article_id):
        stored = self.entries.get(article_id)
        return stored[1] if stored else None

    def put(self, article_id, keys, entry):
        self.remove(article_id)
        for key in keys:
            self.buckets[key].add(article_id)
        self.entries[article_id] = (keys, entry)
        self.members[entry.story_id].add(article_id)

    def remove(self, article_id):
        stored = self.entries.pop(article_id, None)
        if stored:
            for key in stored[0]:
                self.buckets[key].discard(article_id)
            self.members[stored[1].story_id].discard(article_id)

    def rename_stories(self, old, new):
        for story in old:
            for member in self.members.pop(story, set()):
                keys, entry = self.entries[member]
                self.entries[member] = (keys, Entry(entry.signature, entry.date, new))
                self.members[new].add(member)


class StoryIndex:
    """Incremental near-duplicate clustering over a Storage (default: in memory)."""

    def __init__(self, storage: Storage | None = None, threshold: float = THRESHOLD):
        self.storage = storage if storage is not None else MemoryStorage()
        self.threshold = threshold

    def add(self, article_id: Hashable, text: str | None, date: str | None = None, *,
            signature: bytes | None | _Unset = _UNSET) -> Assignment:
        """Index one article (again, if its text changed) and return its story.

        ``date`` is an ISO 8601 string (published, else captured, else first seen); an
        article without one sorts after every dated article of its cluster. ``signature``,
        when given, is ``text_signature(text)`` computed beforehand (None: too short).
        """
        if text is not None and not isinstance(text, str):
            raise TypeError(f"StoryIndex.add: text must be a str or None, not {type(text).__name__}")
        sig = text_signature(text) if isinstance(signature, _Unset) else signature
        self.storage.remove(article_id)
        if sig is not None:
            keys = band_keys(sig)
        elif word_count(text or ""):
            # under MIN_WORDS words: one bucket for exact copies only (same words), and a
            # signature every copy shares, so they compare as equal
            key = exact_key(text or "")
            keys, sig = (key,), key.to_bytes(8, "little", signed=True) * (NUM_PERM // 2)
        else:
            return Assignment(article_id, article_id)
        matches = []
        stories: set[Hashable] = set()
        # A story is joined if any one of its members is close enough: once one is, its
        # other members are not compared (a wire story's hundredth copy reads one, not 99).
        for candidate in sorted(self.storage.candidates(keys) - {article_id}, key=str):
            entry = self.storage.get(candidate)
            if entry is None or entry.story_id in stories:
                continue
            score = similarity(sig, entry.signature)
            if score >= self.threshold:
                matches.append((candidate, round(score, 3)))
                stories.add(entry.story_id)
        roots = [(self._date_of(story), story) for story in stories]
        roots.append((_sort_key(date), article_id))
        story_id = min(roots, key=lambda root: (root[0], str(root[1])))[1]
        merged = tuple(sorted((story for story in stories if story != story_id), key=str))
        if merged:
            self.storage.rename_stories(merged, story_id)
        self.storage.put(article_id, keys, Entry(sig, date, story_id))
        return Assignment(article_id, story_id, merged, tuple(sorted(matches, key=lambda m: -m[1])), keys)

    def story_of(self, article_id: Hashable) -> Hashable | None:
        entry = self.storage.get(article_id)
        return entry.story_id if entry else None

    def _date_of(self, story_id: Hashable) -> tuple:
        entry = self.storage.get(story_id)
        return _sort_key(entry.date if entry else None)


def cluster(
    articles: Iterable[tuple[Hashable, str | None, str | None]], storage: Storage | None = None
) -> Iterator[Assignment]:
    """Cluster (article_id, text, date) rows from scratch, one Assignment per row.

    Stream the rows sorted by date (the archive: ORDER BY the story date) and every story is
    rooted at its earliest article with no merges; otherwise apply each Assignment's
    ``merged`` (their members move to ``story_id``) as it comes. Nothing is held in memory
    beyond the storage.
    """
    index = StoryIndex(storage)
    for article_id, text, date in articles:
        yield index.add(article_id, text, date)


def stories_of(assignments: Iterable[Assignment]) -> dict[Hashable, Hashable]:
    """article_id -> story_id from a run of assignments (merges applied): for small collections."""
    stories: dict[Hashable, Hashable] = {}
    members: dict[Hashable, list[Hashable]] = defaultdict(list)
    for assignment in assignments:
        for old in assignment.merged:
            for member in members.pop(old, []):
                stories[member] = assignment.story_id
                members[assignment.story_id].append(member)
        stories[assignment.article_id] = assignment.story_id
        members[assignment.story_id].append(assignment.article_id)
    return stories


def _sort_key(date: str | None) -> tuple:
    return (date is None, date or "")


def _hash32(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=4).digest(), "little")
