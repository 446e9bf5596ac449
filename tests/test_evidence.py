"""Evidence: a crawl's captures table, re-extraction from captures, WACZ export, pruning,
the WARC record download, and a crawl killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from w3lib.encoding import http_content_type_encoding

from narrative_archive import capture, store
from narrative_archive.capture import iter_records, read_record, record_bytes
from narrative_archive.cli import cli
from narrative_archive.extract.article import extract_article, extractor_version
from tests.conftest import wait_for
from tests.datasette_fixtures import Client, make_datasette
from tests.fixture_server import (
    OUTLETS,
    FixtureServer,
    Reply,
    add_hostile_routes,
    copy_archive,
    crawl_command,
    crawl_env,
    query,
    run_crawl,
    write_config,
)


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """A feeds crawl of the fixture outlets with capture on by default (captures/ beside it)."""
    tmp = tmp_path_factory.mktemp("evidence")
    with FixtureServer() as server:
        add_hostile_routes(server)
        config = write_config(tmp / "config", OUTLETS)
        result = run_crawl(server, ["feeds"], tmp / "archive.db", config)
    assert result.returncode == 0, result.stderr[-3000:]
    return SimpleNamespace(tmp=tmp, db=tmp / "archive.db", config=config,
                           captures=tmp / "captures")


def fresh_copy(crawled, tmp_path) -> Path:
    """A copy of the crawled archive to change, beside the same captures (symlinked)."""
    (tmp_path / "captures").symlink_to(crawled.captures, target_is_directory=True)
    return copy_archive(crawled.db, tmp_path / "archive.db")


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


# --- the crawl ------------------------------------------------------------------------------


def test_every_response_record_is_a_captures_row(crawled):
    files = sorted(crawled.captures.glob("*.warc.gz"))
    assert files, "capture is on by default: captures/ beside the archive"
    responses = {(f.name, r.offset): r for f in files for r in iter_records(f, name=f.name)
                 if r.type == "response"}
    rows = query(crawled.db, "SELECT * FROM captures")
    assert {(r["warc_file"], r["offset"]) for r in rows} == set(responses)
    [run] = query(crawled.db, "SELECT id FROM crawl_runs")
    for row in rows:
        record = responses[(row["warc_file"], row["offset"])]
        assert (row["url"], row["status"], row["payload_digest"], row["record_id"],
                row["length"], row["run_id"], row["source"]) == (
            record.url, record.status, record.payload_digest, record.record_id, record.length,
            run["id"], "live")
    kinds = {r["url"]: r["article_id"] for r in rows}
    assert kinds["http://tass.test/rss/v2.xml"] is None  # a feed: no article
    assert kinds["http://antiwar.test/2024/05/22/gone/"] is None  # a 404


def test_every_stored_article_points_at_a_capture_that_extracts_to_its_text(crawled):
    articles = query(crawled.db, "SELECT id, url, text, content_hash FROM articles")
    assert len(articles) > 10
    for article in articles:
        [row] = query(crawled.db, "SELECT * FROM captures WHERE article_id = ?", [article["id"]])
        headers, status, body = read_record(crawled.captures, row["warc_file"], row["offset"],
                                            row["length"])
        assert status == 200 and row["url"] == article["url"]
        encoding = http_content_type_encoding(capture.header(headers, "Content-Type") or "")
        extracted = extract_article(body, row["url"], encoding=encoding)
        assert (extracted.text, extracted.content_hash) == (article["text"],
                                                             article["content_hash"])
        [version] = query(crawled.db, "SELECT * FROM article_versions WHERE article_id = ?",
                          [article["id"]])
        assert (version["capture_id"], version["origin"], version["extractor"]) == (
            row["id"], "crawl", extractor_version())


def test_no_capture_writes_no_file_and_no_row(tmp_path):
    with FixtureServer() as server:
        config = write_config(tmp_path / "config", [o for o in OUTLETS if o["id"] == "tass"])
        result = run_crawl(server, ["feeds"], tmp_path / "a.db", config, "--no-capture")
    assert result.returncode == 0, result.stderr[-2000:]
    assert not (tmp_path / "captures").exists()
    assert query(tmp_path / "a.db", "SELECT count(*) AS n FROM captures") == [{"n": 0}]
    assert query(tmp_path / "a.db", "SELECT count(*) AS n FROM articles")[0]["n"] > 0


def test_an_unwritable_captures_dir_stops_the_crawl_and_fails_its_scheduled_run(tmp_path):
    (tmp_path / "file").write_text("x")
    db = tmp_path / "a.db"
    archive = store.open_db(db)
    run_id = store.start_run(archive, "feeds")  # as the scheduler does
    archive.close()
    with FixtureServer() as server:
        config = write_config(tmp_path / "config", [o for o in OUTLETS if o["id"] == "tass"])
        result = run_crawl(server, ["feeds"], db, config, "--captures",
                           str(tmp_path / "file" / "sub"), "--run-id", str(run_id))
        fetched = list(server.queries)
    assert result.returncode == 1 and fetched == []
    assert "captures dir" in result.stderr and "cannot be created" in result.stderr
    [run] = query(db, "SELECT status, message FROM crawl_runs")
    assert run["status"] == "failed" and "captures dir" in run["message"]


# --- re-extraction --------------------------------------------------------------------------


def test_reextract_stores_a_version_only_where_the_text_changed(crawled, tmp_path, monkeypatch):
    db = fresh_copy(crawled, tmp_path)
    before = {r["id"]: r["n"] for r in query(
        db, "SELECT article_id AS id, count(*) AS n FROM article_versions GROUP BY article_id")}
    result = invoke("reextract", "--db", str(db), "--config", str(crawled.config))
    assert result.exit_code == 0, result.output
    assert "0 articles changed" in result.output  # the same extractor: nothing changes
    tass = {r["id"] for r in query(db, "SELECT id FROM articles WHERE outlet_id = 'tass'")}
    assert tass

    from narrative_archive.extract import article as extract
    from narrative_archive.ingest import reextract

    original = extract.extract_article

    def with_option(body, url, *, encoding=None):  # an extraction option that changes tass only
        article = original(body, url, encoding=encoding)
        if "tass.test" not in url:
            return article
        from dataclasses import replace

        text = article.text + "\nRussia is arming the Taliban, a new paragraph says."
        return replace(article, text=text, content_hash=extract.content_hash(text, article.title))

    monkeypatch.setattr(reextract, "extract_article", with_option)
    result = invoke("reextract", "--db", str(db), "--config", str(crawled.config))
    assert result.exit_code == 0, result.output
    assert f"{len(tass)} articles changed" in result.output
    after = {r["id"]: r["n"] for r in query(
        db, "SELECT article_id AS id, count(*) AS n FROM article_versions GROUP BY article_id")}
    assert {a for a in after if after[a] != before[a]} == tass
    for article_id in tass:
        [version] = query(db, "SELECT v.*, a.text AS now FROM article_versions v JOIN articles a"
                          " ON a.id = v.article_id WHERE article_id = ? AND origin = 'reextract'",
                          [article_id])
        assert version["text"] == version["now"] and version["extractor"] == extractor_version()
        [row] = query(db, "SELECT id, fetched_at FROM captures WHERE article_id = ?", [article_id])
        assert (version["capture_id"], version["fetched_at"]) == (row["id"], row["fetched_at"])
    mentioned = {r["article_id"] for r in query(
        db, "SELECT article_id FROM mentions WHERE narrative_id = 'russia-arming-taliban'")}
    assert tass <= mentioned  # re-matched
    runs = query(db, "SELECT * FROM crawl_runs WHERE spider = 'reextract' ORDER BY id")
    assert [(r["status"], r["updated_articles"]) for r in runs] == [("ok", 0), ("ok", len(tass))]


def test_reextract_skips_an_unreadable_record_naming_file_and_offset(crawled, tmp_path):
    db = fresh_copy(crawled, tmp_path)
    archive = store.open_db(db)
    [victim] = list(archive.query(
        "SELECT c.id, c.warc_file, c.offset FROM captures c WHERE article_id IS NOT NULL"
        " ORDER BY id LIMIT 1"))
    archive.execute("UPDATE captures SET offset = offset + 7 WHERE id = ?", [victim["id"]])
    archive.conn.commit()
    archive.close()
    result = invoke("reextract", "--db", str(db), "--config", str(crawled.config))
    assert result.exit_code == 0, result.output
    assert "1 errors" in result.output
    [run] = query(db, "SELECT id, errors, pages FROM crawl_runs WHERE spider = 'reextract'")
    assert run["errors"] == 1 and run["pages"] > 10
    [error] = query(db, "SELECT reason FROM crawl_errors WHERE run_id = ?", [run["id"]])
    assert f"{victim['warc_file']} at offset {victim['offset'] + 7}" in error["reason"]


# --- export, prune, status ---------------------------------------------------------------------


def test_export_wacz_packages_the_narratives_captures_and_validates(crawled, tmp_path):
    from wacz.main import main as wacz

    out = tmp_path / "taliban.wacz"
    result = invoke("export-wacz", "russia-arming-taliban", str(out), "--db", str(crawled.db),
                    "--config", str(crawled.config))
    assert result.exit_code == 0, result.output
    assert wacz(["validate", "-f", str(out)]) == 0
    rows = query(crawled.db, "SELECT c.* FROM captures c JOIN mentions m ON"
                 " m.article_id = c.article_id WHERE m.narrative_id = 'russia-arming-taliban'")
    assert rows and f"{len(rows)} captures" in result.output
    with zipfile.ZipFile(out) as package:
        [name] = [n for n in package.namelist() if n.startswith("archive/")]
        warc = package.read(name)
    for row in rows:
        assert record_bytes(crawled.captures, row["warc_file"], row["offset"], row["length"]) in warc
    result = invoke("export-wacz", "russia-arming-taliban", str(out), "--db", str(crawled.db),
                    "--since", "2999-01-01")
    assert result.exit_code == 1 and "no captures" in result.output


def test_prune_keeps_matched_captures_and_deletes_only_wholly_pruned_files(crawled, tmp_path):
    import shutil

    shutil.copytree(crawled.captures, tmp_path / "captures")
    db = copy_archive(crawled.db, tmp_path / "archive.db")
    status = invoke("status", "--db", str(db), "--format", "json")
    assert '"captures"' in status.output
    result = invoke("prune-captures", "--unmatched", "--older-than", "30d", "--db", str(db))
    assert result.exit_code == 0 and "pruned 0 captures" in result.output
    result = invoke("prune-captures", "--unmatched", "--older-than", "0s", "--db", str(db))
    assert result.exit_code == 0, result.output
    kept = query(db, "SELECT * FROM captures WHERE pruned_at IS NULL")
    assert kept and all(query(db, "SELECT 1 FROM mentions WHERE article_id = ?",
                              [row["article_id"]]) for row in kept)
    pruned = query(db, "SELECT * FROM captures WHERE pruned_at IS NOT NULL")
    assert pruned and all(row["article_id"] is None or not query(
        db, "SELECT 1 FROM mentions WHERE article_id = ?", [row["article_id"]])
        for row in pruned)
    # the one WARC file still holds matched captures: kept, and they still read
    assert (tmp_path / "captures" / kept[0]["warc_file"]).exists()
    for row in kept:
        read_record(tmp_path / "captures", row["warc_file"], row["offset"], row["length"])
    # when every capture of a file is pruned, the file goes
    archive = store.open_db(db)
    archive.execute("DELETE FROM mentions")
    archive.conn.commit()
    archive.close()
    result = invoke("prune-captures", "--unmatched", "--older-than", "0s", "--db", str(db))
    assert "deleted 1 WARC files" in result.output
    assert not list((tmp_path / "captures").glob("*.warc.gz"))
    result = invoke("status", "--db", str(db))
    assert "pruned)" in result.output and "0 WARC files" in result.output


# --- the WARC record download -------------------------------------------------------------


def test_the_record_route_returns_the_exact_bytes_and_refuses_paths_outside(crawled, tmp_path):
    db = fresh_copy(crawled, tmp_path)
    [row] = query(db, "SELECT * FROM captures WHERE article_id IS NOT NULL ORDER BY id LIMIT 1")
    client = Client(make_datasette(db))
    response = client.get(f"/-/capture/{row['id']}.warc.gz")
    assert response.status_code == 200
    with open(crawled.captures / row["warc_file"], "rb") as fh:
        fh.seek(row["offset"])
        assert response.content == fh.read(row["length"])
    assert response.headers["content-type"] == "application/warc"
    assert f'filename="capture-{row["id"]}.warc.gz"' in response.headers["content-disposition"]
    page = client.get(f"/archive/articles/{row['article_id']}")
    assert f"/-/capture/{row['id']}.warc.gz" in page.text and row["payload_digest"] in page.text

    (tmp_path / "x.warc.gz").write_bytes(b"secret")
    archive = store.open_db(db)
    archive.execute("UPDATE captures SET warc_file = '../x.warc.gz', offset = 0, length = 6"
                    " WHERE id = ?", [row["id"]])
    archive.conn.commit()
    archive.close()
    refused = client.get(f"/-/capture/{row['id']}.warc.gz")
    assert refused.status_code == 403 and b"secret" not in refused.content
    assert client.get("/-/capture/999999.warc.gz").status_code == 404
    assert client.post(f"/-/capture/{row['id']}.warc.gz").status_code == 405


# --- kill -9 --------------------------------------------------------------------------------


def test_kill_9_mid_crawl_leaves_every_complete_record_readable(tmp_path):
    """The crawl is killed once two articles are stored while a third page is still
    being served (it never answers): a deterministic point mid-crawl."""
    db, captures = tmp_path / "archive.db", tmp_path / "captures"
    with FixtureServer() as server:
        server.add("tass.test", "/ekonomika/100003", Reply(200, b"", {}, delay=120))
        config = write_config(tmp_path / "config", [o for o in OUTLETS if o["id"] == "tass"])
        command = crawl_command(["feeds"], db, config, "--no-progress",
                                settings={"DOWNLOAD_TIMEOUT": "300"})
        process = subprocess.Popen(command, env=crawl_env(server), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            def two_stored_third_pending() -> bool:
                assert process.poll() is None, "the crawl ended before it could be killed"
                return bool(server.fetched("tass.test", "/ekonomika/100003") and db.exists()
                            and query(db, "SELECT count(*) AS n FROM articles")[0]["n"] >= 2)

            wait_for(two_stored_third_pending, 60, "two articles stored, the third pending")
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    problems = []
    [warc] = captures.glob("*.warc.gz")
    records = list(iter_records(warc, problems, name=warc.name))
    assert not problems
    responses = [r for r in records if r.type == "response"]
    assert len(responses) >= 4  # robots.txt, the feed, two articles
    rows = query(db, "SELECT * FROM captures")
    assert rows and {r["offset"] for r in rows} <= {r.offset for r in responses}
    for row in rows:  # every committed row reads back
        assert read_record(captures, row["warc_file"], row["offset"], row["length"]).status
    # the next run starts a new file and leaves the killed one as it was
    size = warc.stat().st_size
    with FixtureServer() as server:
        result = run_crawl(server, ["feeds"], db, config, settings={
            "NARRATIVE_ARCHIVE_REFETCH_AFTER": "1s"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(list(captures.glob("*.warc.gz"))) == 2 and warc.stat().st_size == size
