"""The GDELT DOC 2.0 API (mode ArtList, JSON), as the service works.

- It searches the English machine translations of news in 65 languages and is phasing
  out native-language search (GDELT blog, "Updates To The DOC 2.0 API"): a narrative is
  searched with its English query; `sourcelang:<language>` narrows a request to articles
  first published in a language, for the languages of the narrative's variants that
  GDELT monitors (its language list; no Pashto, Uzbek, Tajik or Kyrgyz).
- A query over about 250 characters is refused, as plain text with HTTP 200: "Your
  query was too short or too long." (seen at 257 and 288). A long narrative becomes
  several requests whose union is its query (`requests`); past a few (SPLIT_BUDGET),
  whole OR-clauses are left out instead, which loosens it: the union still holds every
  match, and the crawl keeps only pages the narrative matches.
- One request every 5 s (the crawl's paced "gdelt" slot); its errors are plain text
  with HTTP 200, which `parse_artlist` raises as ValueError with GDELT's own words.
- An unquoted keyword with "." (or another non-word character) is an illegal
  character: such a keyword is sent quoted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode

from narrative_archive.sources.query import split_within

WINDOW = timedelta(days=90)  # the DOC API searches the last three months only
MAX_QUERY = 250  # characters of the query parameter, sourcelang: included
SPLIT_BUDGET = 4  # requests one query (a narrative in one language) may become
# ISO 639-1 → the name `sourcelang:` takes: GDELT's translingual languages (its list as
# RBozydar/py-gdelt lookups/data/languages.json copies it), and English.
LANGUAGES = {
    "af": "afrikaans", "sq": "albanian", "ar": "arabic", "hy": "armenian", "az": "azerbaijani",
    "bn": "bengali", "bs": "bosnian", "bg": "bulgarian", "ca": "catalan", "zh": "chinese",
    "hr": "croatian", "cs": "czech", "da": "danish", "nl": "dutch", "en": "english",
    "et": "estonian", "fi": "finnish", "fr": "french", "gl": "galician", "ka": "georgian",
    "de": "german", "el": "greek", "gu": "gujarati", "he": "hebrew", "hi": "hindi",
    "hu": "hungarian", "is": "icelandic", "id": "indonesian", "it": "italian", "ja": "japanese",
    "kn": "kannada", "kk": "kazakh", "ko": "korean", "lv": "latvian", "lt": "lithuanian",
    "mk": "macedonian", "ms": "malay", "ml": "malayalam", "mr": "marathi", "mn": "mongolian",
    "ne": "nepali", "no": "norwegian", "fa": "persian", "pl": "polish", "pt": "portuguese",
    "pa": "punjabi", "ro": "romanian", "ru": "russian", "sr": "serbian", "si": "sinhalese",
    "sk": "slovak", "sl": "slovenian", "so": "somali", "es": "spanish", "sw": "swahili",
    "sv": "swedish", "ta": "tamil", "te": "telugu", "th": "thai", "bo": "tibetan",
    "tr": "turkish", "uk": "ukrainian", "ur": "urdu", "vi": "vietnamese",
}
_PLAIN_WORD = re.compile(r"^[^\W_]+$")


def keyword(term: str) -> str:
    """A rendered alternative as GDELT takes it: a keyword with a character other than
    letters and digits ("u.s", "al-qaeda") quoted, as an unquoted one is refused."""
    if term.startswith('"') or _PLAIN_WORD.match(term):
        return term
    return f'"{term}"'


def suffix(language: str | None) -> str:
    """The `sourcelang:` operator for a language GDELT knows ('' for None: every language);
    KeyError for one it does not."""
    return f" sourcelang:{LANGUAGES[language]}" if language else ""


def requests(clauses: Sequence[Sequence[str]], languages: Sequence[str | None] = (None,),
             limit: int = MAX_QUERY, budget: int = SPLIT_BUDGET) -> list[tuple[str | None, str]]:
    """(language, query) for each request: per language (None: all of them; the languages
    GDELT does not know are left out), the English query split so that every request,
    its `sourcelang:` included, is at most `limit` characters, in `budget` requests or
    fewer (query.split_within: whole OR-clauses are left out to get there)."""
    clauses = [[keyword(term) for term in clause] for clause in clauses]
    found: list[tuple[str | None, str]] = []
    for language in dict.fromkeys(languages):
        if language is not None and language not in LANGUAGES:
            continue
        tail = suffix(language)
        for query in split_within(clauses, len, limit - len(tail), budget):
            found.append((language, query + tail))
    return found


def artlist_url(base: str, query: str, *, since: datetime | None, until: datetime | None,
                max_records: int) -> str:
    """An ArtList request (JSON, newest first) for a query as `requests` made it."""
    params = {"query": query, "mode": "ArtList", "format": "json",
              "maxrecords": str(max_records), "sort": "DateDesc"}
    if since:
        params["startdatetime"] = since.astimezone(UTC).strftime("%Y%m%d%H%M%S")
    if until:
        params["enddatetime"] = until.astimezone(UTC).strftime("%Y%m%d%H%M%S")
    return f"{base}?{urlencode(params, quote_via=quote)}"


def parse_artlist(body: bytes) -> list[tuple[str, str | None]]:
    """(url, title) of the articles of an ArtList JSON answer; ValueError with GDELT's
    message otherwise (its refusals are plain text with HTTP 200)."""
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return []
    try:
        data = json.loads(text, strict=False)
    except ValueError:
        raise ValueError(f"GDELT answered: {' '.join(text.split())[:200]}") from None
    if not isinstance(data, dict):
        raise ValueError("GDELT answered with unexpected JSON")
    links = []
    for article in data.get("articles") or ():
        if not isinstance(article, dict) or not article.get("url"):
            continue
        # seendate is when GDELT saw the article, not when it was published: not a hint.
        title = " ".join(str(article.get("title") or "").split()) or None
        links.append((str(article["url"]), title))
    return links
