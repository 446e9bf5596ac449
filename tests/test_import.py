"""`narrative-archive import`: JSON lines, news-please output and CSV into a real archive."""

from __future__ import annotations

import csv
import json

import pytest

from narrative_archive import store
from narrative_archive.cli import cli
from narrative_archive.config import load_config
from narrative_archive.extract import article as extract
from narrative_archive.ingest import importer

MENTION = ("Officials in Kabul said Russia is arming the Taliban with weapons smuggled across "
           "the northern border, a claim Moscow denied.")
PLAIN = "The city council met on Tuesday to discuss the new budget for schools and roads."


def jsonl(path, *records):
    path.write_text("".join(
        (r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8")
    return path


def rows(db, sql, params=()):
    return [dict(row) for row in db.query(sql, params)]


def run_import(runner, db_path, config_dir, *args):
    return runner.invoke(cli, ["import", "--db", str(db_path), "--config", str(config_dir),
                               *map(str, args)])


@pytest.fixture
def config(config_dir):
    return load_config(config_dir)


def test_jsonl_of_our_own_fields(runner, tmp_path, db_path, config_dir):
    source = jsonl(tmp_path / "articles.jsonl",
                   {"url": "https://example.com/news/1?utm_source=feed#top", "title": "Arms",
                    "text": MENTION, "authors": ["A. Reporter", "B. Writer"],
                    "published_at": "2021-05-03T10:00:00+02:00", "modified_at": "2021-05-04",
                    "language": "en-GB", "description": "A claim.",
                    "first_seen_at": "2021-05-03T09:00:00Z"},
                   {"url": "https://example.com/news/2", "title": "Budget", "text": PLAIN})
    result = run_import(runner, db_path, config_dir, source)
    assert result.exit_code == 0, result.output
    assert "2 rows: 2 new, 0 updated, 0 already in the archive, 0 skipped" in result.output
    db = store.open_db(db_path)
    first = rows(db, "SELECT * FROM articles ORDER BY id")[0]
    assert first["canonical_url"] == "https://example.com/news/1"
    assert first["url"] == "https://example.com/news/1?utm_source=feed#top"
    assert first["outlet_id"] == "example-news"
    assert first["via"] == "import"
    assert first["published_at"] == "2021-05-03T08:00:00Z"
    assert first["modified_at"] == "2021-05-04"
    assert first["first_seen_at"] == "2021-05-03T09:00:00Z"
    assert first["language"] == "en"
    assert json.loads(first["authors"]) == ["A. Reporter", "B. Writer"]
    assert first["content_hash"] == extract.content_hash(MENTION, "Arms")


def test_news_please_one_object_per_file_and_per_line(runner, tmp_path, db_path, config_dir):
    record = {"authors": ["Ivan Petrov"], "date_download": "2021-06-02 08:00:00",
              "date_modify": None, "date_publish": "2021-06-01 12:30:00",
              "description": "Report", "filename": "x.json", "image_url": None,
              "language": "ru", "localpath": None, "maintext": MENTION,
              "source_domain": "state.example.org", "text": None,
              "title": "Taliban weapons", "title_page": None, "title_rss": None,
              "url": "https://news.state.example.org/2021/06/01/taliban.html"}
    single = tmp_path / "one.json"
    single.write_text(json.dumps(record, indent=4), encoding="utf-8")
    lines = jsonl(tmp_path / "many.jsonl",
                  {**record, "url": "https://mirror.unknown.test/copy", "maintext": PLAIN})
    result = run_import(runner, db_path, config_dir, single, lines)
    assert result.exit_code == 0, result.output
    db = store.open_db(db_path)
    articles = rows(db, "SELECT canonical_url, outlet_id, published_at, fetched_at, text,"
                        " authors, language FROM articles ORDER BY id")
    assert articles[0] == {
        "canonical_url": "https://news.state.example.org/2021/06/01/taliban.html",
        "outlet_id": "example-state",  # a subdomain of the outlet's domain
        "published_at": "2021-06-01T12:30:00Z", "fetched_at": "2021-06-02T08:00:00Z",
        "text": MENTION, "authors": '["Ivan Petrov"]', "language": "ru"}
    assert articles[1]["outlet_id"] == "mirror.unknown.test"
    outlet = rows(db, "SELECT * FROM outlets WHERE id = 'mirror.unknown.test'")[0]
    assert outlet["configured"] == 0 and outlet["url"] == "https://mirror.unknown.test/"


def test_csv_with_a_header(runner, tmp_path, db_path, config_dir):
    path = tmp_path / "export.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["url", "title", "text", "publish_date", "authors", "language"])
        writer.writerow(["https://example.com/a", "First", MENTION + "\nSecond paragraph.",
                         "2022-01-02", "A. One; B. Two", "en"])
        writer.writerow(["", "No URL", PLAIN, "", "", ""])
        writer.writerow(["https://example.com/b", "Second", PLAIN, "2022-01-03", "", ""])
    result = run_import(runner, db_path, config_dir, path)
    assert result.exit_code == 1
    assert f"{path}:4: no url" in result.output  # the row after a two-line cell
    db = store.open_db(db_path)
    articles = rows(db, "SELECT url, text, published_at, authors FROM articles ORDER BY id")
    assert [a["url"] for a in articles] == ["https://example.com/a", "https://example.com/b"]
    assert articles[0]["text"] == MENTION + "\nSecond paragraph."
    assert articles[0]["published_at"] == "2022-01-02"
    assert json.loads(articles[0]["authors"]) == ["A. One", "B. Two"]


def test_a_list_cell_of_a_long_whitespace_run_is_split_at_once():
    # the list splitter once matched whitespace around each separator from every position of a
    # run (quadratic: 32,000 spaces took 3 s, a 300 KB cell minutes); items are stripped after
    from narrative_archive.ingest.rows import to_article
    article = to_article({"url": "https://example.com/a", "title": "T", "text": MENTION,
                          "authors": " " * 1_000_000 + "A. One |  B. Two ;"})
    assert article["authors"] == ["A. One", "B. Two"]


def test_bad_rows_are_reported_with_file_and_line_and_skipped(runner, tmp_path, db_path,
                                                              config_dir):
    html = ("<html><body><nav><a href='/'>Home</a></nav><article><h1>Arms</h1>"
            f"<p>{MENTION}</p><p>{PLAIN}</p></article></body></html>")
    source = jsonl(
        tmp_path / "bad.jsonl",
        {"url": "https://example.com/ok", "title": "Fine", "text": PLAIN},
        '{"url": "https://example.com/broken", "text": ',
        {"title": "No URL", "text": PLAIN},
        {"url": "https://example.com/nodate", "text": PLAIN, "published_at": "last Tuesday"},
        {"url": "https://example.com/old", "text": PLAIN, "published_at": "1970-01-01"},
        {"url": "https://example.com/notext", "title": "Empty"},
        {"url": "https://example.com/html", "title": "<b>Arms</b>", "text": html},
        {"url": "https://example.com/menu", "text": "<div><a href='/a'>A</a> <a href='/b'>B</a></div>"},
        {"url": "https://example.com/ok?utm_medium=x", "title": "Again", "text": MENTION},
        "[1, 2]",
    )
    result = run_import(runner, db_path, config_dir, source)
    assert result.exit_code == 1
    for expected in (":2: broken JSON", ":3: no url", ":4: unparsable date in published_at",
                     ":5: implausible date in published_at", ":6: no text",
                     ":8: text is HTML and has no article text", ":9: duplicate of line 1",
                     ":10: not a JSON object"):
        assert f"{source}{expected}" in result.output
    assert "10 rows: 2 new, 0 updated, 0 already in the archive, 8 skipped" in result.output
    db = store.open_db(db_path)
    stored = rows(db, "SELECT url, title, text, warnings FROM articles ORDER BY id")
    assert [a["url"] for a in stored] == ["https://example.com/ok", "https://example.com/html"]
    assert stored[0]["title"] == "Fine"  # the first of the duplicates
    html_article = stored[1]
    assert "<" not in html_article["text"] and MENTION in html_article["text"]
    assert "Home" not in html_article["text"]
    assert html_article["title"] == "Arms"
    assert json.loads(html_article["warnings"]) == ["text was HTML: its main text was extracted"]
    run = rows(db, "SELECT * FROM crawl_runs")[0]
    assert (run["spider"], run["status"], run["pages"], run["new_articles"], run["errors"]) == \
        ("import", "ok", 10, 2, 8)
    errors = rows(db, "SELECT url, reason FROM crawl_errors ORDER BY id")
    assert len(errors) == 8
    assert errors[1] == {"url": None, "reason": f"{source}:3: no url"}


def test_a_broken_first_line_does_not_lose_the_rest(db, tmp_path, config):
    source = jsonl(tmp_path / "a.jsonl", '{"url": "https://example.com/0", "text": "x',
                   {"url": "https://example.com/1", "text": PLAIN})
    summary = importer.import_files(db, [source], config)
    assert (summary.new, [str(p) for p in summary.problems]) == (
        1, [f"{source}:1: broken JSON: Unterminated string starting at (column 42)"])


def test_mentions_are_matched_after_the_import(db, db_path, tmp_path, config):
    source = jsonl(tmp_path / "a.jsonl",
                   {"url": "https://example.com/1", "title": "Arms", "text": MENTION},
                   {"url": "https://example.com/2", "title": "Budget", "text": PLAIN})
    summary = importer.import_files(db, [source], config)
    assert summary.mentions["russia-arming-taliban"]["added"] == 1
    mentions = rows(db, "SELECT a.url, m.narrative_id, m.snippet FROM mentions m"
                        " JOIN articles a ON a.id = m.article_id")
    assert [(m["url"], m["narrative_id"]) for m in mentions] == [
        ("https://example.com/1", "russia-arming-taliban")]
    assert "<mark>" in mentions[0]["snippet"]
    run = rows(db, "SELECT mentions FROM crawl_runs WHERE spider = 'import'")[0]
    assert run["mentions"] == 1


def test_an_interrupted_import_keeps_whole_batches_and_resumes(db, tmp_path, config):
    records = [{"url": f"https://example.com/{n}", "title": f"T{n}", "text": f"{PLAIN} {n}"}
               for n in range(1, 6)]
    source = jsonl(tmp_path / "a.jsonl", *records)
    lines_read = 0

    def interrupt_at_line_4(_bytes):
        nonlocal lines_read
        lines_read += 1
        if lines_read == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        importer.import_files(db, [source], config, batch_size=2, progress=interrupt_at_line_4)
    assert [r["url"] for r in rows(db, "SELECT url FROM articles ORDER BY id")] == [
        "https://example.com/1", "https://example.com/2"]  # line 3 was in an open batch
    interrupted = rows(db, "SELECT status, message FROM crawl_runs")[0]
    assert interrupted["status"] == "failed" and "interrupted" in interrupted["message"]

    summary = importer.import_files(db, [source], config, batch_size=2)
    assert (summary.new, summary.unchanged, summary.skipped) == (3, 2, 0)
    assert rows(db, "SELECT count(*) AS n, count(DISTINCT canonical_url) AS urls"
                    " FROM articles") == [{"n": 5, "urls": 5}]
    assert rows(db, "SELECT count(*) AS n FROM articles_fts WHERE articles_fts MATCH 'council'"
                ) == [{"n": 5}]


def test_a_changed_text_on_reimport_is_a_new_version(db, tmp_path, config):
    first = jsonl(tmp_path / "a.jsonl", {"url": "https://example.com/1", "text": PLAIN})
    importer.import_files(db, [first], config)
    second = jsonl(tmp_path / "b.jsonl", {"url": "https://example.com/1", "text": MENTION,
                                          "published_at": "2021-01-01"})
    summary = importer.import_files(db, [second], config)
    assert summary.updated == 1
    assert [r["text"] for r in rows(db, "SELECT text FROM article_versions ORDER BY id")] == [
        PLAIN, MENTION]
    assert rows(db, "SELECT narrative_id FROM mentions") == [
        {"narrative_id": "russia-arming-taliban"}]


def test_outlet_option_and_format_option(runner, tmp_path, db_path, config_dir):
    source = tmp_path / "export.txt"
    jsonl(source, {"url": "https://elsewhere.test/x", "maintext": PLAIN,
                   "date_publish": "2020-02-02 02:02:02"})
    assert importer.guess_format(source) == "news-please"
    result = run_import(runner, db_path, config_dir, "--format", "news-please", "--outlet",
                        "example-state", source)
    assert result.exit_code == 0, result.output
    db = store.open_db(db_path)
    assert rows(db, "SELECT outlet_id, published_at FROM articles") == [
        {"outlet_id": "example-state", "published_at": "2020-02-02T02:02:02Z"}]
    unknown = run_import(runner, db_path, config_dir, "--outlet", "nope", source)
    assert unknown.exit_code == 2 and "unknown outlet 'nope'" in unknown.output


def test_format_is_guessed_from_extension_and_content(tmp_path):
    (tmp_path / "a.csv").write_text("url,text\n")
    (tmp_path / "b.jsonl").write_text('{"url": "u", "text": "t"}\n')
    (tmp_path / "c.json").write_text('{\n  "url": "u",\n  "maintext": "t"\n}\n')
    (tmp_path / "d.data").write_text("url,title,text\n")
    assert [importer.guess_format(tmp_path / name) for name in
            ("a.csv", "b.jsonl", "c.json", "d.data")] == ["csv", "jsonl", "news-please", "csv"]


def test_an_import_read_in_worker_processes_stores_what_a_serial_one_does(tmp_path, config):
    """Rows mapped to articles in worker processes come back in file order: the same
    articles, duplicates, problems and mentions (with stance) as read in one process."""
    records = [{"url": f"https://example.com/{n}", "title": f"T{n}",
                "text": MENTION if n % 3 == 0 else f"{PLAIN} {n}"} for n in range(1, 40)]
    records[7] = {"url": "https://example.com/3", "text": PLAIN}  # a duplicate of line 3
    records[11] = {"title": "no url"}
    source = jsonl(tmp_path / "a.jsonl", *records)
    results = []
    for workers in (1, 2):
        db = store.open_db(tmp_path / f"{workers}.db")
        summary = importer.import_files(db, [source], config, batch_size=7, workers=workers)
        results.append((
            (summary.new, summary.skipped, [str(p) for p in summary.problems]),
            rows(db, "SELECT url, title, text FROM articles ORDER BY id"),
            rows(db, "SELECT a.url, m.narrative_id, m.snippet, m.stance, m.stance_confidence"
                     " FROM mentions m JOIN articles a ON a.id = m.article_id ORDER BY a.id")))
        db.close()
    assert results[0] == results[1]
    assert results[0][0][1] == 2 and len(results[0][2]) == 12
    assert all(mention["stance_confidence"] is not None for mention in results[0][2])


# --- issue 20: our own export, broken documents, runs where nothing was imported ---------


def test_the_archives_own_narrative_export_imports_back(runner, tmp_path, db_path, config_dir):
    """/-/export/NARRATIVE.csv, the archive's own export, is a collection to import."""
    from tests.datasette_fixtures import MENTIONS, Client, build_archive, make_datasette

    published = tmp_path / "published.db"
    build_archive(published)
    exported = Client(make_datasette(published)).get("/-/export/russia-arming-taliban.csv")
    assert exported.status_code == 200
    source = tmp_path / "russia-arming-taliban-mentions.csv"
    source.write_bytes(exported.content)
    result = run_import(runner, db_path, config_dir, source)
    assert result.exit_code == 0, result.output
    count = len(MENTIONS["russia-arming-taliban"])
    assert f"{count} rows: {count} new" in result.output
    db = store.open_db(db_path)
    back = {row["url"]: row for row in rows(db, "SELECT * FROM articles")}
    original = store.open_db(published)
    for row in rows(original, "SELECT a.* FROM articles a JOIN mentions m ON m.article_id = a.id"
                              " WHERE m.narrative_id = 'russia-arming-taliban'"):
        imported = back[row["url"]]
        assert (imported["title"], imported["text"], imported["published_at"],
                imported["language"]) == (row["title"], row["text"], row["published_at"],
                                          row["language"])


@pytest.mark.parametrize("document", [
    json.dumps([{"url": "https://example.com/1", "text": PLAIN},
                {"url": "https://example.com/2", "text": PLAIN}], indent=2)[:-40],
    json.dumps({"url": "https://example.com/1", "maintext": PLAIN, "title": "Budget",
                "date_publish": "2021-05-03"}, indent=2)[:-8],
])
def test_a_truncated_json_document_is_one_error(db, tmp_path, config, document):
    source = tmp_path / "truncated.json"
    source.write_text(document, encoding="utf-8")
    summary = importer.import_files(db, [source], config)
    [problem] = summary.problems
    assert problem.line >= 1 and "broken JSON: the file is one JSON document and it ends early" \
        in problem.reason
    assert (summary.rows, summary.new) == (1, 0)


def test_an_import_where_every_row_failed_is_recorded_failed(runner, db, tmp_path, config):
    source = jsonl(tmp_path / "bad.jsonl", {"title": "No URL", "text": PLAIN},
                   {"url": "https://example.com/notext"})
    summary = importer.import_files(db, [source], config)
    assert summary.skipped == summary.rows == 2
    [run] = rows(db, "SELECT status, message FROM crawl_runs WHERE id = ?", [summary.run_id])
    assert run["status"] == "failed" and "2 skipped" in run["message"]
    fine = jsonl(tmp_path / "fine.jsonl", {"url": "https://example.com/ok", "text": PLAIN},
                 {"title": "No URL", "text": PLAIN})
    summary = importer.import_files(db, [fine], config)
    assert rows(db, "SELECT status FROM crawl_runs WHERE id = ?", [summary.run_id]) == [
        {"status": "ok"}]


def test_one_unconfigured_domain_is_one_domain(runner, tmp_path, db_path, config_dir):
    source = jsonl(tmp_path / "one.jsonl", {"url": "https://elsewhere.test/1", "text": PLAIN})
    result = run_import(runner, db_path, config_dir, source)
    assert "1 domain is not in outlets.yml" in result.output
