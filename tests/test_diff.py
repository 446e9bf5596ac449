"""The word diff between versions of an article (narrative_archive.publish.diff)."""

from __future__ import annotations

from narrative_archive.publish import diff
from narrative_archive.publish.diff import diff_runs, version_diffs, word_diff


def long_versions(words: int = 19000, paragraph: int = 60) -> tuple[str, str]:
    """Two versions of a long article (paragraphs of common words) with three words changed
    in every paragraph: the case that took difflib ~19 s and more on the event loop."""
    vocabulary = ["the", "of", "and", "to", "a", "in", "Taliban", "Russia", "said", "weapons"]
    text = [vocabulary[(i * 7 + i // 13) % len(vocabulary)] for i in range(words)]
    edited = [f"edit{i}" if i % paragraph in (10, 30, 50) else word
              for i, word in enumerate(text)]

    def paragraphs(ws):
        return "\n".join(" ".join(ws[i:i + paragraph]) for i in range(0, len(ws), paragraph))

    return paragraphs(text), paragraphs(edited)


def test_word_diff_escapes_and_shortens():
    old = " ".join(f"w{i}" for i in range(100)) + " <b>old</b>"
    new = " ".join(f"w{i}" for i in range(100)) + " <i>new</i>"
    html = str(word_diff(old, new))
    assert html.startswith("… ")
    assert "<del>&lt;b&gt;old&lt;/b&gt;</del> <ins>&lt;i&gt;new&lt;/i&gt;</ins>" in html
    assert "w10 " not in html and "w99" in html


def test_word_diff_of_long_versions_is_bounded():
    old, new = long_versions()
    html = str(word_diff(old, new))
    assert "<del>and</del> <ins>edit30</ins>" in html  # compared word by word at first
    assert len(html.split()) < diff.DIFF_MAX_SHOWN + 50
    assert "more changed words not shown" in html
    # One paragraph each, changes everywhere: too long to compare word by word.
    one_old, one_new = (" ".join(text.split()) for text in (old, new))
    html = str(word_diff(one_old, one_new))
    assert "compared as whole passages" in html
    assert len(html.split()) < diff.DIFF_MAX_SHOWN + 50


def test_word_diff_of_nothing_and_of_a_first_text():
    assert str(word_diff(None, None)) == ""
    assert str(word_diff(None, "Moscow & Kabul")) == "<ins>Moscow &amp; Kabul</ins>"
    assert str(word_diff("gone <now>", "")) == "<del>gone &lt;now&gt;</del>"


def test_unchanged_text_between_changes_keeps_context_on_both_sides():
    middle = [f"m{i}" for i in range(100)]
    old = " ".join(["a", *middle, "z"])
    new = " ".join(["A", *middle, "Z"])
    html = str(word_diff(old, new))
    context = diff.DIFF_CONTEXT
    assert html.startswith("<del>a</del> <ins>A</ins> m0 ")
    assert f"m{context - 1} … m{100 - context} " in html
    assert f"m{context} " not in html
    assert html.endswith("<del>z</del> <ins>Z</ins>")


def test_paragraphs_are_matched_before_words():
    old = "First paragraph stays.\nSecond one stays too."
    new = "First paragraph stays.\nA new paragraph arrives.\nSecond one stays too."
    runs, cut = diff_runs(old, new)
    assert not cut
    assert runs == [("equal", ["First", "paragraph", "stays."], ["First", "paragraph", "stays."]),
                    ("insert", [], ["A", "new", "paragraph", "arrives."]),
                    ("equal", ["Second", "one", "stays", "too."],
                     ["Second", "one", "stays", "too."])]


def test_changed_paragraphs_share_their_common_ends():
    runs, _ = diff_runs("the army said Russia armed them", "the army said Iran armed them")
    assert runs == [("equal", ["the", "army", "said"], ["the", "army", "said"]),
                    ("replace", ["Russia"], ["Iran"]),
                    ("equal", ["armed", "them"], ["armed", "them"])]


def test_past_the_work_budget_passages_are_replaced_whole(monkeypatch):
    monkeypatch.setattr(diff, "DIFF_MAX_WORK", 7)  # 2 x 2 x 2 = 8 steps: over it
    runs, cut = diff_runs("x a b y", "x c d y")
    assert cut
    assert runs == [("equal", ["x"], ["x"]), ("replace", ["a", "b"], ["c", "d"]),
                    ("equal", ["y"], ["y"])]
    assert "compared as whole passages" in str(word_diff("x a b y", "x c d y"))


def test_texts_too_long_are_not_compared(monkeypatch):
    monkeypatch.setattr(diff, "DIFF_MAX_WORDS", 3)
    assert str(word_diff("a b c", "a b c d e f g")) == "<p>(too long to compare word by word)</p>"
    monkeypatch.setattr(diff, "DIFF_MAX_WORDS", 50000)
    monkeypatch.setattr(diff, "DIFF_MAX_PARAGRAPHS", 1)
    assert "too long" in str(word_diff("a\nb", "a\nc"))


def test_shown_words_are_capped_and_the_rest_counted(monkeypatch):
    monkeypatch.setattr(diff, "DIFF_MAX_SHOWN", 5)
    html = str(word_diff("", " ".join(f"n{i}" for i in range(12))))
    assert html.startswith("<ins>n0 n1 n2 n3 n4 …</ins>")
    assert "… 7 more changed words not shown" in html


def test_version_diffs_compare_each_text_with_the_one_before():
    diffs = version_diffs(["one", "one", "one two", None])
    assert diffs[:2] == [None, None]  # the first version, and an unchanged one
    assert str(diffs[2]) == "one <ins>two</ins>"
    assert str(diffs[3]) == "<del>one two</del>"
    assert version_diffs([]) == []
