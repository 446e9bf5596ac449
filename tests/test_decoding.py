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
