"""Which language a page is in: what it declares (ISO 639-1), else what py3langid detects.

A declaration the text plainly contradicts is kept, with a warning.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from lxml.html import HtmlElement
from py3langid.langid import LanguageIdentifier

from narrative_archive.extract import langmodel

_LANGUAGE_ALIASES = {
    "iw": "he",
    "in": "id",
    "ji": "yi",
    "jw": "jv",
    "eng": "en",
    "rus": "ru",
    "ara": "ar",
    "fas": "fa",
    "per": "fa",
    "pus": "ps",
    "urd": "ur",
    "fra": "fr",
    "fre": "fr",
    "deu": "de",
    "ger": "de",
    "spa": "es",
    "zho": "zh",
    "chi": "zh",
    "tur": "tr",
    "ukr": "uk",
    "uzb": "uz",
    "tgk": "tg",
}
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def page_language(
    tree: HtmlElement,
    meta: dict[str, str],
    node: dict[str, Any],
    text: str,
    warnings: list[str],
) -> str | None:
    """The declared ISO 639-1 language, else the one py3langid detects in the text."""
    root = tree.getroottree().getroot()
    declared_values = (
        root.get("lang"),
        root.get(_XML_LANG),
        meta.get("og:locale"),
        node.get("inLanguage"),
        meta.get("content-language"),
        meta.get("language"),
        meta.get("dc.language"),
    )
    declared = next(filter(None, map(normalise_language, declared_values)), None)
    if not declared:
        return _detect_language(text[:_DETECT_SAMPLE])[0]
    # A contradiction is checked on a short sample: a fifth of the cost, and a
    # thousand characters leave py3langid in no doubt when the language is wrong.
    if len(text) > 300:
        detected, confidence = _detect_language(text[:_CHECK_SAMPLE])
        if detected and detected != declared and confidence > 0.99:
            warnings.append(f"declared language {declared!r} but the text looks like {detected!r}")
    return declared


def normalise_language(value: Any) -> str | None:
    """A declared language ("en-GB", "rus", {"name": "ar"}) as an ISO 639-1 code, else None."""
    if isinstance(value, dict):
        value = value.get("alternateName") or value.get("name")
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str)), None)
    if not isinstance(value, str):
        return None
    code = re.split(r"[-_ ,;]", value.strip().lower(), maxsplit=1)[0]
    code = _LANGUAGE_ALIASES.get(code, code)
    return code if re.fullmatch(r"[a-z]{2}", code) else None


@cache
def _language_identifier() -> LanguageIdentifier:
    return langmodel.identifier(norm_probs=True)  # memory-mapped: see langmodel


_DETECT_SAMPLE = 5000  # characters when the page declares no language
_CHECK_SAMPLE = 1000  # characters to check a declared language against


def _detect_language(sample: str) -> tuple[str | None, float]:
    if not any(char.isalpha() for char in sample):
        return None, 0.0
    language, confidence = _language_identifier().classify(sample)
    return str(language), float(confidence)
