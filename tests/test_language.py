"""Language: the declared one wins, a contradicting text is reported."""

from narrative_archive.extract.article import extract_article
from tests.test_extract import page


def test_declared_language_wins_but_a_contradiction_is_reported():
    markup = page("russian_cp1251.html").decode("cp1251").replace("<html>", '<html lang="en">')
    article = extract_article(markup, "https://vestnik-evrazii.example/a.html")

    assert article.language == "en"
    assert "declared language 'en' but the text looks like 'ru'" in article.warnings


SAMPLES = [
    "Officials in Kabul said on Tuesday that the new border agreement would reopen trade routes.",
    "Официальные лица заявили во вторник, что новое соглашение откроет торговые пути.",
    "قال مسؤولون يوم الثلاثاء إن الاتفاق الجديد سيعيد فتح طرق التجارة المغلقة منذ الشتاء.",
    "Les responsables ont déclaré mardi que le nouvel accord rouvrirait les routes commerciales.",
    "Die Behörden sagten am Dienstag, das neue Abkommen werde die Handelswege wieder öffnen.",
    "Yetkililer salı günü yeni anlaşmanın ticaret yollarını yeniden açacağını söyledi.",
    "官员周二表示，新的边境协议将重新开放自冬季以来关闭的贸易路线。",
    "1234 5678 -- !!", "",
]


def test_the_memory_mapped_model_classifies_as_py3langids_own(tmp_path, monkeypatch):
    # langmodel maps an uncompressed copy of the model (shared page-cache pages, not 74 MiB
    # of heap in every extraction worker); it must answer exactly as py3langid's own.
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    from narrative_archive.extract import langmodel

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    stock = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    mapped = langmodel.identifier(norm_probs=True)
    assert isinstance(mapped.tk_nextmove, memoryview)  # mapped, not the heap fallback
    assert list(tmp_path.glob("narrative-archive/py3langid-*/classes.json"))
    texts = [*SAMPLES, page("russian_cp1251.html").decode("cp1251"),
             page("arabic.html").decode("utf-8")]
    for text in texts:
        assert mapped.classify(text) == stock.classify(text)
        assert mapped.rank(text)[:5] == stock.rank(text)[:5]
    again = langmodel.identifier(norm_probs=True)  # from the files already written
    assert again.classify(SAMPLES[1]) == stock.classify(SAMPLES[1])


def test_an_unwritable_cache_folder_loads_the_model_the_usual_way(tmp_path, monkeypatch):
    from narrative_archive.extract import langmodel

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    identifier = langmodel.identifier(norm_probs=True)
    assert not isinstance(identifier.tk_nextmove, memoryview)
    assert identifier.classify(SAMPLES[0])[0] == "en"


def test_a_half_written_model_folder_left_by_a_killed_process_is_removed(tmp_path, monkeypatch):
    import os
    import time

    from narrative_archive.extract import langmodel

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    parent = tmp_path / "narrative-archive"
    abandoned, live = parent / ".writing-abandoned", parent / ".writing-live"
    for folder in (abandoned, live):
        folder.mkdir(parents=True)
        (folder / "ptc.npy").write_bytes(b"\0" * 1024)
    hours_ago = time.time() - 2 * 3600
    os.utime(abandoned, (hours_ago, hours_ago))
    langmodel.identifier(norm_probs=True)
    assert not abandoned.exists()
    assert live.exists()  # another process may be writing it now
