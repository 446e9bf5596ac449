"""What changed between two versions of an article's text: a bounded word diff as HTML.

Paragraphs are matched first, then words within each changed pair; the work difflib may
do, the words shown and the texts compared at all are bounded (DIFF_*), so a long or
heavily edited article costs at most a fixed amount of CPU. The plugin calls
`version_diffs` in a worker thread, never on the event loop.
"""

from __future__ import annotations

import difflib

from markupsafe import Markup, escape

DIFF_CONTEXT = 12  # words of unchanged text kept around each change
DIFF_MAX_WORDS = 50000  # per version: longer texts are not compared at all
DIFF_MAX_PARAGRAPHS = 2000  # per version, likewise
# difflib's worst case for n and m words is n * m * min(n, m) steps: word-by-word comparison
# stops when the changed passages of a pair of versions sum to this many; later changes are
# shown as whole passages.
DIFF_MAX_WORK = 20_000_000
DIFF_MAX_SHOWN = 2000  # words shown per pair of versions (changed and context)


def _paragraphs(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").split("\n") if line.strip()]


def _common_prefix(a: list[str], b: list[str]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def diff_runs(old: str | None, new: str | None) -> tuple[list[tuple[str, list, list]], bool]:
    """(tag, old words, new words) runs from old to new, and whether any changed passage was
    too long to compare word by word (it is then one replace run).

    Paragraphs are matched first, then words within each pair of changed paragraphs,
    trimmed of the words the pair shares at either end, while DIFF_MAX_WORK lasts.
    """
    old_pars, new_pars = _paragraphs(old), _paragraphs(new)
    runs: list[tuple[str, list, list]] = []
    budget, cut = DIFF_MAX_WORK, False
    paragraphs = difflib.SequenceMatcher(a=old_pars, b=new_pars)  # autojunk: repeated lines
    for tag, a1, a2, b1, b2 in paragraphs.get_opcodes():
        if tag == "equal":
            words = " ".join(old_pars[a1:a2]).split()
            runs.append(("equal", words, words))
            continue
        # Changed paragraphs pair up in order; the unpaired rest of either side is one more pair.
        pairs = list(zip(old_pars[a1:a2], new_pars[b1:b2], strict=False))
        rest = min(a2 - a1, b2 - b1)
        pairs.append((" ".join(old_pars[a1 + rest:a2]), " ".join(new_pars[b1 + rest:b2])))
        for old_par, new_par in pairs:
            old_words, new_words = old_par.split(), new_par.split()
            head = _common_prefix(old_words, new_words)
            tail = _common_prefix(old_words[head:][::-1], new_words[head:][::-1])
            old_mid = old_words[head:len(old_words) - tail]
            new_mid = new_words[head:len(new_words) - tail]
            runs.append(("equal", old_words[:head], new_words[:head]))
            work = len(old_mid) * len(new_mid) * min(len(old_mid), len(new_mid))
            if work <= budget:
                budget -= work
                by_word = difflib.SequenceMatcher(a=old_mid, b=new_mid, autojunk=False)
                runs += [(t, old_mid[c1:c2], new_mid[d1:d2])
                         for t, c1, c2, d1, d2 in by_word.get_opcodes()]
            else:
                cut = True
                runs.append(("replace", old_mid, new_mid))
            runs.append(("equal", old_words[len(old_words) - tail:],
                         new_words[len(new_words) - tail:]))
    merged: list[tuple[str, list, list]] = []
    for kind, a, b in runs:
        if not a and not b:
            continue
        if merged and merged[-1][0] == kind == "equal":
            merged[-1] = ("equal", merged[-1][1] + a, merged[-1][2] + b)
        else:
            merged.append((kind, a, b))
    return merged, cut


def word_diff(old: str | None, new: str | None) -> Markup:
    """What changed from old to new, word by word, as escaped HTML with <del> and <ins>.

    Unchanged stretches longer than twice DIFF_CONTEXT words are shortened to "…"; at
    most DIFF_MAX_SHOWN words are shown, and the changed words left out are counted.
    """
    old_words, new_words = (old or "").split(), (new or "").split()
    if (len(old_words) + len(new_words) > 2 * DIFF_MAX_WORDS
            or len(_paragraphs(old)) + len(_paragraphs(new)) > 2 * DIFF_MAX_PARAGRAPHS):
        return Markup("<p>(too long to compare word by word)</p>")
    runs, cut = diff_runs(old, new)
    parts, shown, hidden = [], 0, 0
    for index, (tag, old_run, new_run) in enumerate(runs):
        if tag == "equal":
            if shown >= DIFF_MAX_SHOWN:
                continue
            head = old_run[:DIFF_CONTEXT] if index > 0 else []
            tail = old_run[-DIFF_CONTEXT:] if index < len(runs) - 1 else []
            if len(old_run) > len(head) + len(tail):
                parts.append(Markup(" … ").join(escape(" ".join(side)) for side in (head, tail))
                             .strip())
                shown += len(head) + len(tail)
            else:
                parts.append(escape(" ".join(old_run)))
                shown += len(old_run)
            continue
        for element, words in (("del", old_run), ("ins", new_run)):
            if not words:
                continue
            room = max(DIFF_MAX_SHOWN - shown, 0)
            hidden += max(len(words) - room, 0)
            if room:
                more = " …" if len(words) > room else ""
                parts.append(Markup("<{0}>{1}{2}</{0}>").format(
                    Markup(element), " ".join(words[:room]), more))
                shown += min(len(words), room)
    html = Markup(" ").join(part for part in parts if part)
    if cut:
        html = Markup("<p class=\"diff-note\">Long changed passages are compared as whole "
                      "passages, not word by word.</p> ") + html
    if hidden:
        html += Markup(" <p class=\"diff-note\">… {:,} more changed words not shown; each "
                       "version's full text is on its row page.</p>").format(hidden)
    return html


def version_diffs(texts: list[str | None]) -> list[Markup | None]:
    """The word diff of each text to the one before it (None for the first and unchanged)."""
    return [word_diff(texts[i - 1], text) if i and text != texts[i - 1] else None
            for i, text in enumerate(texts)]
