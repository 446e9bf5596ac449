"""Text folding and bounded sentence spans, shared by stance and citations."""

from __future__ import annotations

import re
import unicodedata

MAX_SENTENCE_CHARS = 500  # a "sentence" with no boundary in sight is cut to this around a position

# one character for one, so offsets in a folded text are those of the original
FOLD = str.maketrans({
    "ё": "е", "Ё": "Е", "İ": "i", "’": "'", "‘": "'", "ʼ": "'", "`": "'",
    "\u200c": " ", "\u200d": " ", "\u00a0": " ",
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ی": "ي", "ک": "ك", "ۀ": "ه",
})
_MARKS = re.compile("[\u064b-\u0652\u0670\u0640]")  # Arabic diacritics and tatweel
_BOUNDARY = re.compile(r"[.!?؟…।]+[\"»”’')\]]*(?=\s)|[。！？]+|\n")
_ABBREVIATION = re.compile(
    r"(?:^|\W)(?:[A-ZА-Я]|Mr|Mrs|Ms|Dr|Gen|Lt|Col|Maj|Sgt|Adm|Sen|Rep|Gov|Jr|Sr|St|Prof|No|vs|etc|Jan|Feb|Aug|Sept|Oct|Nov|Dec|ул|им|г|т|тыс|млн|млрд)$"
)


def fold(text: str) -> str:
    """Text as cues and names are compared: lowercased, ё as е, Arabic/Persian letters unified."""
    return _MARKS.sub("", unicodedata.normalize("NFC", text).translate(FOLD).lower())


def sentence(text: str, position: int) -> str:
    """The sentence around ``position``, whitespace collapsed."""
    start, end = sentence_span(text, position)
    return " ".join(text[start:end].split())


def _is_boundary(text: str, match: re.Match) -> bool:
    if match.group() == "\n" or match.group()[0] in "。！？":
        return True
    if match.group().startswith(".") and _ABBREVIATION.search(text[max(0, match.start() - 6):match.start()]):
        return False
    following = text[match.end():match.end() + 3].lstrip()
    return not (following[:1].islower() and following[:1].isalpha())


def sentence_span(text: str, position: int) -> tuple[int, int]:
    """(start, end) of the sentence around ``position``, at most MAX_SENTENCE_CHARS each side."""
    low = max(0, position - MAX_SENTENCE_CHARS)
    start = low
    for match in reversed(list(_BOUNDARY.finditer(text, low, position))):  # the last boundary
        if _is_boundary(text, match):
            start = match.end()
            break
    if start == low and low > 0:  # no boundary in sight: start at a word
        space = text.find(" ", low, position)
        start = space + 1 if space >= 0 else low
    high = min(len(text), position + MAX_SENTENCE_CHARS)
    end = high
    for match in _BOUNDARY.finditer(text, position, high):
        if _is_boundary(text, match):
            end = match.end()
            break
    else:
        if high < len(text):
            space = text.rfind(" ", position, high)
            end = space if space > position else high
    return start, end
