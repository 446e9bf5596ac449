"""Response body → markup: the page decoded as a browser would, or a reason it is not a page.

A byte-order mark beats the HTTP charset, which beats the page's own
<meta charset>, which beats detection; a declared encoding the bytes plainly
are not (a cp1251 page served as utf-8) gives way to what they are. UTF-8 with
a few bad bytes, declared or detected, stays UTF-8 (the bad bytes replaced, a
warning given), as in a browser: never a single-byte charset that garbles it.
"""

from __future__ import annotations

import re

import charset_normalizer
from w3lib.encoding import html_to_unicode, resolve_encoding


class DecodeError(ValueError):
    """The body is not a page of text: empty, binary or undecodable; ``str(e)`` says which."""


_BINARY_SIGNATURES = (
    b"\x89PNG",
    b"GIF87a",
    b"GIF89a",
    b"\xff\xd8\xff",  # JPEG
    b"RIFF",  # WebP, WAV, AVI
    b"%PDF-",
    b"PK\x03\x04",  # zip, docx
    b"\x1f\x8b",  # gzip that nobody decompressed
    b"OggS",
    b"ID3",
    b"wOFF",
    b"wOF2",
)
# Undecodable characters beyond this share of the non-ASCII ones (and this count) mean
# the declared encoding is wrong, not that a page has a few stray bytes.
_MAX_GARBLED_SHARE = 0.1
_MIN_GARBLED_CHARS = 8
# Valid UTF-8 characters beyond 1 in this many bad sequences are UTF-8 text, not chance:
# a single-byte charset is then never chosen over it (it would garble that text).
_CHANCE_UTF8 = 20
_UNICODE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def decode_page(html: bytes | str, encoding: str | None, warnings: list[str]) -> str:
    """The page's markup without its XML declaration; raises DecodeError for no page.

    Bytes are decoded (see ``_decode``); a str is only checked for binary content.
    What decoding noticed (an unknown or wrong encoding, stray bad bytes) is
    appended to ``warnings``.
    """
    if isinstance(html, bytes):
        markup = _decode(html, encoding, warnings)
    else:
        markup = html
        if "\x00" in markup[:4096] or markup.lstrip().startswith("%PDF-"):
            raise DecodeError("not HTML (binary content)")
    markup = _XML_DECLARATION.sub("", markup, count=1)
    if not markup.strip():
        raise DecodeError("empty page")
    return markup


def _decode(data: bytes, encoding: str | None, warnings: list[str]) -> str:
    """Decode like a browser: BOM, HTTP charset, <meta charset>, then detection.

    A body that is UTF-8 but for a few bad bytes (declared so or not) stays UTF-8, the
    bad bytes replaced (U+FFFD) and a warning given: a single-byte charset would decode
    every byte, and garble every valid character ("é" stored as "ÃĐ").
    """
    if not data.strip():
        raise DecodeError("empty page")
    declared = resolve_encoding(encoding) if encoding else None
    if encoding and declared is None:
        warnings.append(f"unknown encoding {encoding!r} ignored")
    head = data[:16].lstrip()
    wide = data.startswith(_UNICODE_BOMS) or (declared or "").startswith(("utf-16", "utf-32"))
    if head.startswith(_BINARY_SIGNATURES) or (not wide and b"\x00" in data[:4096]):
        raise DecodeError("not HTML (binary content)")
    header = f"text/html; charset={declared}" if declared else None
    used, markup = html_to_unicode(header, data, auto_detect_fun=_detect_encoding)
    broken = markup.count("\ufffd") - data.count("\ufffd".encode())
    if broken <= 0:
        return markup
    utf8 = _is_utf8(used)
    valid, invalid = utf8_counts(data) if utf8 else (0, 0)
    if utf8 and mostly_utf8(valid, invalid):
        warnings.append(f"{invalid} bad bytes replaced: decoded as utf-8, which its other"
                        f" {valid} non-ASCII characters are")
        return markup
    if not _garbled(markup, broken):
        warnings.append(f"some bytes could not be decoded as {used}")
        return markup
    # The declared encoding is wrong (a cp1251 page served as utf-8): what the bytes
    # really are decides, as long as they decode cleanly and no valid UTF-8 text (more
    # than chance makes of a single-byte charset's bytes) would be garbled by it.
    detected = _detect_encoding(data)
    if detected and resolve_encoding(detected) != resolve_encoding(used) \
            and valid * _CHANCE_UTF8 <= invalid:
        try:
            markup = data.decode(detected)
        except (UnicodeDecodeError, LookupError):
            pass
        else:
            warnings.append(f"declared encoding {used} is wrong: decoded as {detected}")
            return markup
    share = broken / max(1, _non_ascii(markup))
    raise DecodeError(
        f"undecodable text: {share:.0%} of its non-ASCII characters are not valid {used}"
        " and no other encoding fits"
    )


def _is_utf8(encoding: str | None) -> bool:
    return (resolve_encoding(encoding or "") or "").replace("_", "-") in ("utf-8", "utf8")


def utf8_counts(data: bytes) -> tuple[int, int]:
    """(valid non-ASCII characters, invalid byte sequences) of `data` read as UTF-8."""
    text = data.decode("utf-8", "replace")
    invalid = text.count("\ufffd") - data.count("\ufffd".encode())
    return _non_ascii(text) - text.count("\ufffd"), invalid


def mostly_utf8(valid: int, invalid: int) -> bool:
    """Whether bytes with `valid` UTF-8 non-ASCII characters and `invalid` bad sequences are
    UTF-8 with a few bad bytes: as many valid characters as bad sequences, or only a few
    bad ones beside valid text. Text in a single-byte charset makes valid UTF-8 only by
    chance (a lead byte followed by a continuation byte), far fewer than it makes bad."""
    return valid > 0 and (valid >= invalid or invalid < _MIN_GARBLED_CHARS)


def _non_ascii(text: str) -> int:
    return len(text) - len(text.encode("ascii", "ignore"))


def _garbled(markup: str, broken: int) -> bool:
    """Whether replacement characters are a significant share of the page's non-ASCII text
    (more than a stray byte or two in an otherwise well-encoded page)."""
    return broken >= _MIN_GARBLED_CHARS and broken > _MAX_GARBLED_SHARE * _non_ascii(markup)


def _detect_encoding(data: bytes) -> str | None:
    """Guess the encoding of a page that declares none: UTF-8 if valid or mostly valid (a
    few bad bytes), else charset-normalizer."""
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as err:
        # A body cut off mid-character (size limits) is still UTF-8.
        if err.start >= len(data) - 3 and err.reason == "unexpected end of data":
            return "utf-8"
    if mostly_utf8(*utf8_counts(data)):
        return "utf-8"
    best = charset_normalizer.from_bytes(data).best()
    return best.encoding if best else None
