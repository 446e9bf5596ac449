"""Language: the declared one wins, a contradicting text is reported."""

from narrative_archive.extract.article import extract_article
from tests.test_extract import page


def test_declared_language_wins_but_a_contradiction_is_reported():
    markup = page("russian_cp1251.html").decode("cp1251").replace("<html>", '<html lang="en">')
    article = extract_article(markup, "https://vestnik-evrazii.example/a.html")

    assert article.language == "en"
    assert "declared language 'en' but the text looks like 'ru'" in article.warnings
