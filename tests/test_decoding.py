"""Decoding: the HTTP charset, the page's declaration and detection, as a browser would."""

import pytest

from narrative_archive.extract.article import ExtractError, extract_article
from tests.test_extract import page, with_meta


def test_windows_1251_page_without_any_charset_declaration():
    data = page("russian_cp1251.html")
    assert b"charset" not in data.lower() and b"lang=" not in data.lower()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")

    article = extract_article(data, "https://vestnik-evrazii.example/world/20171223/kabulov.html")

    assert article.title == "Кабулов назвал ложью заявления США о поставках оружия талибам"
    assert "Замир Кабулов назвал ложью заявления американского командования" in article.text
    assert "Все права защищены" not in article.text
    assert "Главное за сутки" not in article.text
    assert article.language == "ru"
    assert article.published_at == "2017-12-23"
    assert article.warnings == ()


def test_http_header_encoding_comes_first():
    data = page("russian_cp1251.html")
    url = "https://vestnik-evrazii.example/world/20171223/kabulov.html"
    detected = extract_article(data, url)

    assert extract_article(data, url, encoding="windows-1251").text == detected.text
    assert extract_article(data, url, encoding="koi8-r").text != detected.text  # it is obeyed


def test_a_wrong_utf8_header_does_not_garble_the_text():
    data = page("russian_cp1251.html")
    url = "https://vestnik-evrazii.example/world/20171223/kabulov.html"
    article = extract_article(data, url, encoding="utf-8")

    assert "\ufffd" not in article.text and "\ufffd" not in article.title
    assert article.text == extract_article(data, url).text
    assert article.language == "ru"
    assert "declared encoding utf-8 is wrong: decoded as cp1251" in article.warnings


def test_text_no_encoding_fits_is_an_error_not_garbage():
    text = page("russian_cp1251.html").decode("cp1251")
    half = len(text) // 2
    mixed = text[:half].encode("utf-8") + text[half:].encode("cp1251")
    with pytest.raises(ExtractError, match="undecodable text: .* not valid utf-8"):
        extract_article(mixed, "https://vestnik-evrazii.example/x", encoding="utf-8")


def test_a_stray_bad_byte_is_only_a_warning():
    markup = with_meta("").replace("The Monitor will", "Caf\xe9 talks. The Monitor will")
    data = markup.encode("utf-8").replace(b"Caf\xc3\xa9", b"Caf\xe9")
    article = extract_article(data, "https://casm.example/a", encoding="utf-8")
    assert "Caf\ufffd talks." in article.text
    assert article.warnings == ("some bytes could not be decoded as utf-8",)


def test_str_and_bytes_give_the_same_article():
    data = page("jsonld_graph.html")
    url = "https://frontierreview.example/x"
    assert extract_article(data.decode("utf-8"), url) == extract_article(data, url)


# --- UTF-8 with a few bad bytes stays UTF-8, as in a browser ---------------------------

FRENCH = ("<html><head>{meta}<title>Réunion à Genève</title></head><body><article><h1>Réunion"
          " à Genève</h1>" + "<p>Les délégués se sont réunis à Genève, où le député a évoqué"
          " l'accès aux marchés et la sécurité régionale; des témoins ont décrit l'été{bad}"
          " précédent.</p>" * 12 + "</article></body></html>")


def mostly_utf8(meta: str = "", bad: bytes = b"\x96\xe9") -> bytes:
    """French text in UTF-8, with two stray cp1252 bytes in each paragraph (24 in all)."""
    return FRENCH.format(meta=meta, bad="\x00").encode("utf-8").replace(b"\x00", bad)


@pytest.mark.parametrize("meta, encoding", [
    ("", None),  # nothing declared: detection
    ('<meta charset="utf-8">', None),  # the page declares it
    ("", "utf-8"),  # the HTTP header declares it
])
def test_mostly_utf8_with_a_few_bad_bytes_stays_utf8(meta, encoding):
    data = mostly_utf8(meta)
    article = extract_article(data, "https://geneva.example/a", encoding=encoding)
    assert article.title == "Réunion à Genève"
    assert "Les délégués se sont réunis à Genève" in article.text
    assert "ÃĐ" not in article.text and "Ã©" not in article.text  # never a single-byte charset
    assert "l'été\ufffd\ufffd précédent" in article.text  # the bad bytes, replaced
    [warning] = article.warnings
    assert warning.startswith("24 bad bytes replaced: decoded as utf-8")


def test_a_single_byte_page_without_a_declaration_is_still_detected():
    data = FRENCH.format(meta="", bad="").encode("cp1252")
    article = extract_article(data, "https://geneva.example/b")
    assert "Les délégués se sont réunis à Genève" in article.text
    assert "\ufffd" not in article.text


def test_utf8_counts_tell_utf8_from_chance():
    from narrative_archive.extract.decoding import mostly_utf8 as mostly
    from narrative_archive.extract.decoding import utf8_counts

    assert utf8_counts("é".encode() + b"\xe9") == (1, 1)
    assert mostly(*utf8_counts(mostly_utf8()))
    assert not mostly(*utf8_counts(page("russian_cp1251.html")))  # no valid UTF-8 at all
    assert not mostly(*utf8_counts(FRENCH.format(meta="", bad="").encode("cp1252")))
