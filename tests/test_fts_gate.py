"""The matcher's gate (narrative_archive.ftsgate) never skips a query that matches: with
it, NarrativeMatcher finds exactly what evaluating every part of every query finds, over
NEAR groups at and past their distance, phrases, prefixes, CJK and both columns, every
shipped narrative's examples, and real article texts when a directory of them is given
(NARRATIVE_ARCHIVE_REALTEXT_DIR: third-party text, never in the repository)."""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

import pytest

from narrative_archive import fts, ftsparse
from narrative_archive.config import Narrative, load_narratives
from narrative_archive.paths import DEFAULT_CONFIG_DIR

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_fts_parts import BUG, example_texts, whole_queries  # noqa: E402


def same(narratives, articles) -> int:
    """Assert the gated matcher finds what evaluating every part of every query finds (their
    OR, the whole query, with its snippet); the matches found."""
    gated, found = fts.NarrativeMatcher(narratives), 0
    for (title, text), expected in zip(articles, whole_queries(narratives, articles), strict=True):
        assert gated.snippets(title, text) == expected, (title, text)
        found += len(expected)
    return found


@pytest.fixture(scope="module")
def narratives() -> tuple:
    return (*load_narratives(DEFAULT_CONFIG_DIR / "narratives.yml", fts.check_query), BUG)


def test_top_level_or_splits_only_the_outer_or():
    assert ftsparse.top_level_or("a OR (b OR c) OR NEAR(d e, 3)") == ["a", "(b OR c)", "NEAR(d e, 3)"]
    assert ftsparse.top_level_or('"x OR y" z') == ['"x OR y" z']
    assert ftsparse.top_level_or("a NOT b OR c AND d") == ["a NOT b", "c AND d"]
    assert ftsparse.top_level_or("a OR (b") == ["a OR (b"]  # unbalanced: left whole


def test_near_at_and_past_its_distance():
    queries = ["NEAR(russia* arm taliban*, 6)", "NEAR(moscow taliban)", "NEAR(a b, 0)",
               'NEAR("russian made" taliban*, 2)', "NEAR(taliban* russia*, 1) OR kremlin",
               "NEAR(arm+weapons taliban, 3)", "(NEAR(russia support, 2) NOT politic*) OR x"]
    narratives = [Narrative(f"q{i}", "Q", query) for i, query in enumerate(queries)]
    filler = "the of and said officials on".split()
    words = ["Russia", "Russian", "made", "arms", "arm", "weapons", "Taliban", "Moscow", "a",
             "b", "support", "political", "kremlin", "x", "Talibans"]
    rng = random.Random(21)
    articles = []
    for _ in range(600):
        tokens = [rng.choice(words if rng.random() < 0.5 else filler)
                  for _ in range(rng.randint(2, 14))]
        title = " ".join(rng.choice(words) for _ in range(rng.randint(0, 3))) or None
        articles.append((title, " ".join(tokens)))
    for gap in range(0, 10):  # each distance, both orders, exactly at the limit and past it
        between = " ".join(["filler"] * gap)
        articles += [(None, f"Russia arms {between} Taliban"), (None, f"Taliban {between} Russia arm"),
                     (None, f"a {between} b"), (None, f"Russian made {between} Taliban")]
    assert same(narratives, articles) > 300


def test_cjk_near_and_columns():
    narratives = [Narrative("zh", "Z", "NEAR(俄 塔利班 武器, 3)"),
                  Narrative("ja", "J", "NEAR(ロシア タリバン, 2)")]
    articles = [(None, "俄罗斯向塔利班提供武器"), (None, "俄" + "的" * 9 + "塔利班武器"),
                ("俄罗斯", "塔利班武器"), (None, "ロシアはタリバンに"), (None, "ロシア" + "の" * 5 + "タリバン")]
    same(narratives, articles)


def test_shipped_examples(narratives):
    assert same(narratives, [(None, text) for text in example_texts(narratives)]) > 200


@pytest.mark.skipif(not os.environ.get("NARRATIVE_ARCHIVE_REALTEXT_DIR"),
                    reason="NARRATIVE_ARCHIVE_REALTEXT_DIR (real article texts) not set")
def test_real_texts(narratives):
    articles = []
    for path in sorted(Path(os.environ["NARRATIVE_ARCHIVE_REALTEXT_DIR"]).glob("*.txt")):
        title, _, text = path.read_text(encoding="utf-8").partition("\n\n")
        articles.append((title, text))
    assert same(narratives, articles) > 0
