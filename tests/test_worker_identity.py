"""The extraction worker's faster steps give exactly what the slower ones gave, on the
committed pages and texts: the matcher's gate (each gate's exact tokens and prefixes as
subset tests, Words.prefixes) finds what evaluating every query part does; the story
signature (shingles by one findall and zipped windows, hashes read by numpy) is the
reference computation's, bit for bit; a citation scanner hit would never have found an
earlier cue at its position (so starting at the cue it found loses nothing).
benchmarks/worker.py times them."""

from __future__ import annotations

import bisect
import hashlib
import random
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from narrative_archive import fts, ftsgate
from narrative_archive.analysis import citations, stories
from narrative_archive.config import load_narratives
from narrative_archive.extract import article as extract
from narrative_archive.extract.errors import ExtractError
from narrative_archive.paths import DEFAULT_CONFIG_DIR

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))
from test_fts_gate import same  # noqa: E402
from test_fts_parts import BUG  # noqa: E402


def _strings(node) -> list[str]:
    if isinstance(node, str):
        return [node] if len(node) > 30 else []
    if isinstance(node, dict):
        return [text for value in node.values() for text in _strings(value)]
    if isinstance(node, list):
        return [text for value in node for text in _strings(value)]
    return []


@pytest.fixture(scope="module")
def articles() -> list[tuple[str | None, str]]:
    """(title, text): the committed pages, extracted, and the committed sentences, in
    articles of 25 (so that several narratives' words meet in one text)."""
    found = []
    for path in sorted([*(TESTS / "files").rglob("*.html"), *(TESTS / "sites").rglob("*.html")]):
        try:
            page = extract.extract_article(path.read_bytes(), "https://example.com/" + path.name)
        except ExtractError:
            continue
        found.append((page.title, page.text))
    for path in sorted((TESTS / "files").glob("*/*.yml")):
        sentences = _strings(yaml.safe_load(path.read_text(encoding="utf-8")))
        found += [(sentences[i], " ".join(sentences[i + 1:i + 25]))
                  for i in range(0, len(sentences), 25)]
    assert len(found) > 40
    return found


def test_gate_finds_what_every_part_finds(articles):
    narratives = (*load_narratives(DEFAULT_CONFIG_DIR / "narratives.yml", fts.check_query), BUG)
    assert same(narratives, articles) > 20


def test_prefixes_are_the_sorted_search():
    rng = random.Random(21)
    letters = "abcrусиятал"
    tokens = {"".join(rng.choice(letters) for _ in range(rng.randint(1, 7))) for _ in range(300)}
    words = ftsgate.Words(tokens)

    def has(token: str) -> bool:  # what Words.has(token, prefix=True) did before
        at = bisect.bisect_left(words.sorted, token)
        return at < len(words.sorted) and words.sorted[at].startswith(token)
    for probe in ["", *("".join(rng.choice(letters) for _ in range(rng.randint(1, 8)))
                        for _ in range(3000))]:
        assert (probe in words.prefixes) == has(probe) == words.has(probe, True)
    assert not ftsgate.Words([]).prefixes


def _shingles_before(text: str) -> set[bytes]:
    words = []
    for match in re.finditer(r"\w+", text.lower()):
        words.append(match.group())
        if len(words) >= stories.MAX_WORDS:
            break
    if len(words) < stories.SHINGLE:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i:i + stories.SHINGLE]).encode()
            for i in range(len(words) - stories.SHINGLE + 1)}


def _signature_before(text: str) -> bytes:
    hashes = [int.from_bytes(hashlib.blake2b(s, digest_size=4).digest(), "little")
              for s in _shingles_before(text)]
    if not hashes:
        return b"\xff" * stories.SIGNATURE_BYTES
    return stories.min_hashes(np.array(hashes, dtype=np.uint32))


def test_signatures_are_the_reference_computation(articles):
    rng = random.Random(5)
    vocabulary = [text for _, text in articles for text in text.split()]
    texts = [text for _, text in articles] + ["", "one", "one two three four", "a b c d e",
                                              "Ünïcode wörds, 和 中文 混合 text here ok"]
    # past MAX_WORDS words (only the first are read), and right at it
    texts += [" ".join(rng.choice(vocabulary) for _ in range(stories.MAX_WORDS + extra))
              for extra in (-1, 0, 1, 5000)]
    texts.append("x " * (stories.MAX_WORDS + 10))
    for text in texts:
        assert stories.shingles(text) == _shingles_before(text)
        assert stories.signature(text) == _signature_before(text)


def test_citation_scanner_skips_no_cue(articles):
    patterns = citations.default_patterns()
    hits = 0
    for _, text in articles:
        for language, cues in patterns.patterns.items():
            for found in patterns.scanners[language].finditer(text):
                first = int(found.lastgroup[1:])
                assert not any(cue.cue.match(text, found.start()) for cue in cues[:first])
                hits += 1
    assert hits > 100


def test_byline_search_selects_what_the_hints_select():
    from lxml import etree
    from trafilatura.utils import load_html

    from narrative_archive.extract import bylines

    hinted = " or ".join(f"contains(., '{hint}')" for hint in bylines._HINTS)
    before = etree.XPath("|".join(
        f"//@{name}[{hinted}]"
        for name in ("class", "id", "itemprop", "rel", "data-testid", "data-component"))
        + "|//author")

    def kept(found: list) -> list:
        return [value.getparent() if isinstance(value, str) else value for value in found
                if not isinstance(value, str) or bylines._BYLINE_HINT.search(value)]
    pages = [path.read_bytes().decode("utf-8", "replace") for path in sorted(
        [*(TESTS / "files").rglob("*.html"), *(TESTS / "sites").rglob("*.html")])]
    pages += [f'<html><body><div class="{value}">x</div><span id="{value}">y</span></body></html>'
              for value in ("style-author", "stylesheet", "username", "channel-name box",
                            "posted-by", "ed-by", "BBLine", "nameplate", "xiaobian", "Writer")]
    selected = 0
    for markup in pages:
        tree = load_html(markup)
        assert kept(bylines._BYLINE_ATTRIBUTES(tree)) == kept(before(tree))
        selected += len(kept(before(tree)))
    assert selected > 20
