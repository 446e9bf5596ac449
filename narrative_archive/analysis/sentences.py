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
_MARKS = re.compile("[\u064b-\u0652\u0670\u0640\u093c]")  # Arabic diacritics and tatweel, the Devanagari nukta
# a full stop with no space after it between two words ("the panel.Some 25 people", "the
# embassy.”The network"), as a page whose paragraphs were joined leaves it
_BOUNDARY = re.compile(r"[.!?؟…।۔។៕]+[\"»”’')\]]*(?=\s)|[。！？]+|\n"
                       r"|[.!?](?<=[a-zа-я]{2}[.!?])[\"»”’')\]]*(?=[A-ZА-Я][a-zа-я])")
_ABBREVIATION = re.compile(
    r"(?:^|\W)(?:[A-ZА-Я]|Mr|Mrs|Ms|Dr|Gen|Lt|Col|Maj|Sgt|Adm|Sen|Rep|Gov|Jr|Sr|St|Prof|No|vs|etc|Jan|Feb|Aug|Sept|Oct|Nov|Dec|ул|им|г|т|тыс|млн|млрд)$"
)


def fold(text: str) -> str:
    """Text as cues and names are compared: lowercased, ё as е, Arabic/Persian letters unified."""
    return _MARKS.sub("", unicodedata.normalize("NFC", text).translate(FOLD).lower())


def cased(text: str) -> str:
    """Text folded as fold() folds it but with its capitals kept, so its tokens line up
    with fold()'s ("Russia’s" is one word in both)."""
    return _MARKS.sub("", unicodedata.normalize("NFC", text).translate(FOLD))


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


# A lead's first line is often not its first sentence: a page's furniture (a tag line
# "Rusia talibanes Estados Unidos", a byline, "Published: ...", a section name) sits before
# the story. Such a line ends at a line break with no sentence punctuation, and is short.
TAG_LINE_TOKENS = 8
# a closing bracket ends a sentence only after its punctuation: "(c) APA/AFP (THOMAS WATKINS)",
# "Pakistan Cyber Force [Official]" are a credit and a site's name
_SENTENCE_END = re.compile(r"(?:[.!?…。！？؟।។:;\"»”’']|[.!?…。！？؟।។:;\"»”’'][)\]])\s*$")
_WORD = re.compile(r"\w+")
_STAMP = re.compile(r"(?:last |first )?(?:updated|published|posted)\b", re.IGNORECASE)


def tag_line(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] is a line of page furniture, not a sentence: it ends at a line
    break (or the text's end) with no sentence punctuation and holds fewer than
    TAG_LINE_TOKENS words (a time stamp twice as many), or it is markup ("<img ...>")."""
    piece = text[start:end].strip()
    if piece.startswith("<"):
        return True
    at_break = end >= len(text) or "\n" in text[end - 1:end + 1]
    words = len(_WORD.findall(piece))
    # a time stamp ("Updated June 30, 2020 7:38 pm ET") is furniture whatever its numbers
    return at_break and not _SENTENCE_END.search(piece) and (
        words < TAG_LINE_TOKENS or (words < 2 * TAG_LINE_TOKENS and bool(_STAMP.match(piece))))


_CYRILLIC, _ARABIC = re.compile(r"[\u0400-\u04ff]"), re.compile(r"[\u0600-\u06ff]")


def pick_language(language, sample: str, cues) -> str:
    """The cue lists' language: the given one when it has lists, else guessed from the script
    (Cyrillic, Arabic) of `sample`, else English."""
    if language:
        language = language.lower().split("-")[0].split("_")[0]
        if language in cues:
            return language
    guessed = "en"
    if _CYRILLIC.search(sample):
        guessed = "uk" if re.search(r"[іїєґІЇЄҐ]", sample) else "ru"
    elif _ARABIC.search(sample):
        guessed = "fa" if re.search(r"[پچژگی]", sample) else "ar"
    if guessed in cues:
        return guessed
    return next(iter(cues)) if "en" not in cues else "en"
