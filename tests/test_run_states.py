"""Honest run states: a run cut short is 'interrupted', not 'ok', in crawl_runs, `status`
and the scheduler's accounting; every page the crawl decides not to fetch (robots.txt, an
off-site redirect such as one to the cloud metadata address, a per-outlet cap) is a
crawl_errors row of kind 'skipped' with its reason, apart from the outlet's failures."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from narrative_archive import store
from narrative_archive.cli import cli
from tests.fixture_server import FixtureServer, Reply, query, run_crawl, write_config

ARTICLE = ("<html><head><title>Story {n}</title></head><body><article><h1>Story {n}</h1>"
           + "<p>" + "The Taliban administration in Kabul announced new measures on trade,"
           " roads and irrigation in province number {n}. " * 12 + "</p></article></body></html>")


def outlet(server: FixtureServer, host: str, paths: list[str]) -> dict:
    """An outlet on `host` (reached through the fixture server's proxy), its feed listing
    these paths."""
    items = "".join(f"<item><title>{path}</title><link>http://{host}{path}</link></item>"
                    for path in paths)
    server.add(host, "/feed.xml", Reply(
        200, f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode(),
        {"Content-Type": "application/rss+xml"}))
    return {"id": host.split(".")[0], "name": host, "url": f"http://{host}/", "domains": [host],
            "feeds": [f"http://{host}/feed.xml"]}


def story(server: FixtureServer, host: str, number: int) -> str:
    path = f"/story/{number}"
    server.add(host, path, Reply(200, ARTICLE.format(n=number).encode()))
    return path


@pytest.fixture(scope="module")
def skips(tmp_path_factory):
    """One crawl meeting every kind of skip: robots.txt and an off-site redirect on
    skips.test, a per-outlet request cap on capped.test."""
    tmp = tmp_path_factory.mktemp("skips")
    with FixtureServer(sites=None) as server:
        server.add("skips.test", "/robots.txt", Reply(
            200, b"User-agent: *\nDisallow: /private/\n", {"Content-Type": "text/plain"}))
        server.add("skips.test", "/to-metadata", Reply(
            302, b"", {"Location": "http://169.254.169.254/latest/meta-data/"}))
        server.add("skips.test", "/private/1", Reply(200, ARTICLE.format(n=99).encode()))
        skipping = outlet(server, "skips.test",
                          ["/to-metadata", "/private/1", story(server, "skips.test", 0)])
        capped = outlet(server, "capped.test", [story(server, "capped.test", n) for n in range(6)])
        config = write_config(tmp / "config", [skipping, capped])
        # at most 4 requests per outlet: capped.test's feed and 3 of its 6 stories
        result = run_crawl(server, ["feeds"], tmp / "a.db", config, settings={
            "NARRATIVE_ARCHIVE_MAX_REQUESTS_PER_OUTLET": "4"})
        assert result.returncode == 0, result.stderr[-3000:]
        yield tmp / "a.db", result, dict(server.hits)


def test_an_off_site_redirect_is_recorded_not_followed(skips):
    db_path, result, hits = skips
    rows = query(db_path, "SELECT url, reason, kind, outlet_id FROM crawl_errors"
                          " WHERE url LIKE '%to-metadata'")
    assert [(row["reason"], row["kind"], row["outlet_id"]) for row in rows] == [
        ("not fetched: redirected off the outlet's domains (to 169.254.169.254)", "skipped",
         "skips")]
    assert not any(host == "169.254.169.254" for host, _ in hits)


def test_robots_txt_and_caps_are_recorded_as_skips(skips):
    db_path, result, hits = skips
    assert hits.get(("skips.test", "/private/1"), 0) == 0
    rows = query(db_path, "SELECT url, reason, outlet_id FROM crawl_errors WHERE kind = 'skipped'")
    reasons = {row["url"]: (row["reason"], row["outlet_id"]) for row in rows}
    assert reasons["http://skips.test/private/1"] == (
        "not fetched: robots.txt disallows it", "skips")
    capped = sorted(url for url, (reason, outlet_id) in reasons.items()
                    if reason.startswith("request cap reached: 4 requests to capped"))
    fetched = sorted(f"http://{host}{path}" for host, path in hits
                     if host == "capped.test" and path.startswith("/story/"))
    assert len(capped) == 3 and len(fetched) == 3  # each story: fetched, or a row saying why
    assert sorted(capped + fetched) == [f"http://capped.test/story/{n}" for n in range(6)]
    assert "Not fetched" in result.stdout  # the crawl's summary has a table of them


def test_skips_are_counted_apart_from_failures(skips):
    db_path, _, _ = skips
    [run] = query(db_path, "SELECT status, errors, skipped FROM crawl_runs")
    skipped = query(db_path, "SELECT count(*) AS n FROM crawl_errors WHERE kind = 'skipped'")
    assert run["status"] == "ok" and run["errors"] == 0
    assert run["skipped"] == skipped[0]["n"] == 5  # robots, the redirect, 3 capped
    # not a failing outlet: a skip says nothing about the outlet's health
    health = query(db_path, "SELECT consecutive_failures, last_error FROM outlet_health")
    assert health == [{"consecutive_failures": 0, "last_error": None}] * 2


def test_a_skipped_page_is_asked_again_by_the_next_run(skips):
    db = store.open_db(skips[0])
    try:
        urls = [row["url"] for row in query(skips[0], "SELECT url FROM crawl_errors")]
        assert store.recently_failed(db, urls, "2000-01-01T00:00:00Z") == set()
    finally:
        db.close()


def test_status_shows_interrupted_runs_and_skips(tmp_path):
    db = store.open_db(tmp_path / "a.db")
    done = store.start_run(db, "feeds")
    store.finish_run(db, done, "ok", message="3 pages")
    cut = store.start_run(db, "feeds")
    store.record_error(db, cut, "http://x.test/a", "not fetched: robots.txt disallows it",
                       kind="skipped")
    store.finish_run(db, cut, "interrupted", message="interrupted by a signal: 1 pages")
    db.close()
    result = CliRunner().invoke(cli, ["status", "--db", str(tmp_path / "a.db"),
                                      "--config", str(write_config(tmp_path / "c", [])),
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    runs = {run["id"]: run for run in json.loads(result.output)["last_runs"]}
    assert runs[cut]["status"] == "interrupted" and runs[done]["status"] == "ok"
    assert (runs[cut]["errors"], runs[cut]["skipped"]) == (0, 1)
    table = CliRunner().invoke(cli, ["status", "--db", str(tmp_path / "a.db"),
                                     "--config", str(tmp_path / "c")])
    assert "interrupted" in table.output and "skipped" in table.output


def test_unknown_status_and_kind_are_refused(tmp_path):
    db = store.open_db(tmp_path / "a.db")
    run = store.start_run(db, "feeds")
    with pytest.raises(ValueError):
        store.finish_run(db, run, "stopped")
    with pytest.raises(ValueError):
        store.record_error(db, run, "u", "r", kind="maybe")
    db.close()
