"""The trained stance reader's experiment (benchmarks/stance_model.py, issue 19 round 9).

Its gate failed, so nothing here is shipped; these tests keep the experiment honest: the
rules' reading it starts from is the rules' label, its features are hashed numbers (no word
of the text), training is deterministic, only the four tuned splits are ever read, and the
gate's rule is the one docs/realtext.md states. Every text here is written for the test.
"""

import importlib.util
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from narrative_archive.analysis.stance import Stance, classify_stance, read_frame, rules_stance

ROOT = Path(__file__).resolve().parent.parent


def _script(name):
    # benchmarks/ is not a package and holds a datasette.py: load by path (tests/test_realtext.py)
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


realtext = _script("realtext")
features_module = _script("stance_features")
stance_model = _script("stance_model")

TERMS = ["russia", "arming", "taliban", "weapons", "moscow"]
WRITTEN = {
    "disputes": [
        ("Moscow rejects claims that it arms the Taliban", "The foreign ministry called the reports baseless."),
        ("Kremlin denies sending weapons to the Taliban", "Officials said the story was invented."),
        ("No evidence Russia is arming the Taliban, general says", "The commander said he had seen nothing."),
        ("Russia dismisses reports of weapons for the Taliban", "A spokesman said the charge was false."),
    ],
    "reports": [
        ("Officials say Russia is arming the Taliban", "Afghan officials said the weapons came from Moscow."),
        ("Russia may be arming the Taliban, report says", "According to a report, weapons crossed the border."),
        ("US commander: Russia is supplying weapons to the Taliban", "The general told reporters about the weapons."),
        ("Russia reportedly arming the Taliban", "Sources said Moscow sent weapons to the group."),
    ],
    "asserts": [
        ("Russia is arming the Taliban", "Moscow has sent weapons to the group for two years."),
        ("Russian weapons reach the Taliban", "Russia is arming the Taliban in the north."),
        ("How Moscow arms the Taliban", "Russia ships weapons to Taliban units every month."),
        ("Russia's weapons for the Taliban", "Moscow is arming the Taliban with rifles."),
    ],
}


def _mentions(split="dev"):
    return [{"split": split, "gold": gold, "title": title, "text": text, "terms": TERMS, "language": "en",
             "cues": None, "url": f"https://example.org/{gold}/{n}", "narrative": "russia-arming-taliban"}
            for gold, items in WRITTEN.items() for n, (title, text) in enumerate(items)]


def test_the_rules_reading_is_the_rules_label():
    data = yaml.safe_load((ROOT / "tests" / "files" / "stance" / "labelled.yml").read_text(encoding="utf-8"))
    for item in data["items"]:
        args = (item.get("title"), item["text"], data["terms"][item["language"]], None, item["language"])
        frame = read_frame(*args)
        expected = classify_stance(*args)
        got = frame if isinstance(frame, Stance) else rules_stance(frame)
        assert got.to_dict() == expected.to_dict()
    assert isinstance(read_frame("", "", TERMS), Stance)


def test_features_are_hashed_numbers_and_deterministic():
    frame = read_frame(*WRITTEN["disputes"][0], TERMS, None, "en")
    rules = rules_stance(frame)
    first = features_module.features(frame, rules)
    again = features_module.features(read_frame(*WRITTEN["disputes"][0], TERMS, None, "en"), rules)
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    columns, values = first
    assert columns.dtype == np.int64 and values.dtype == np.float64
    assert columns.min() >= 0 and columns.max() < features_module.DIMENSIONS and np.isfinite(values).all()
    # the hashes do not depend on the process (no salted hash()): pinned values
    assert features_module._slot("r:bias") == 6153
    assert features_module._char_slots("abc").tolist() == [61599, 49783, 49939, 12769, 28738, 45711]
    only_rules = features_module.features(frame, rules, ("rules",))
    assert len(only_rules[0]) < len(columns)


def test_training_is_deterministic_and_reads_a_paraphrased_denial():
    rows = stance_model.readings(_mentions())
    gold = np.array([stance_model.STANCES.index(r["gold"]) for r in rows])
    kinds = ("rules", "words", "chars")
    x = stance_model.matrix(rows, kinds)
    weights = stance_model.train(x, gold, 1e-3, 100)
    assert np.array_equal(weights, stance_model.train(x, gold, 1e-3, 100))
    assert (stance_model.probabilities(x, weights).argmax(axis=1) == gold).all()
    unseen = stance_model.readings([{**_mentions()[0], "title": "Moscow calls Taliban weapons story a fabrication",
                                     "text": "Russia rejected the accusation on Monday."}])
    p = stance_model.probabilities(stance_model.matrix(unseen, kinds), weights)
    assert stance_model.STANCES[int(p.argmax())] == "disputes"


def test_saved_weights_are_the_same_bytes(tmp_path):
    weights = np.arange(12, dtype=np.float64).reshape(4, 3) / 7
    for name in ("a.npz", "b.npz"):
        stance_model.save(tmp_path / name, weights, ("rules", "words"), 0.6, "all")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    with np.load(tmp_path / "a.npz") as saved:
        assert int(saved["version"]) == features_module.FEATURE_VERSION
        assert list(saved["kinds"]) == ["rules", "words"]


def test_capture_reads_the_tuned_splits_only(tmp_path, monkeypatch):
    records = [
        {"url": "https://example.org/dev", "language": "en", "narratives": {"russia-arming-taliban": "disputes"},
         "split": "dev"},
        {"url": "https://example.org/unseen", "language": "en", "narratives": {"russia-arming-taliban": "asserts"},
         "split": "blind9"},
    ]
    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    for record in records:
        (tmp_path / realtext.text_name(record["url"])).write_text(
            "Kremlin denies arming the Taliban\n\nMoscow rejected claims that Russia supplies weapons to the Taliban.\n",
            encoding="utf-8")
    opened = []
    monkeypatch.setattr(stance_model, "read_text", lambda path: (opened.append(path.name), realtext.read_text(path))[1])
    mentions = stance_model.capture(tmp_path, labels)
    assert [(m["url"], m["split"], m["gold"]) for m in mentions] == [("https://example.org/dev", "dev", "disputes")]
    assert opened == [realtext.text_name("https://example.org/dev")]
    assert "blind9" not in stance_model.SPLITS  # the judge of the sixteenth round


@pytest.mark.parametrize(("right", "verdict"), [
    ((9, 9, 9, 8), "PASSES"),   # better on three splits, +7.5 points pooled
    ((9, 9, 9, 5), "fails"),    # better on three, pooled +0.0
    ((10, 10, 7, 7), "fails"),  # +5.0 pooled, better on two
])
def test_the_gate_needs_three_splits_and_two_points(right, verdict):
    rows, held, splits = [], {}, ("dev", "test", "holdout", "blind")
    for split, n_right in zip(splits, right, strict=True):
        test = [{"split": split, "gold": "asserts"} for _ in range(10)]
        rows += test
        rules = ["asserts"] * 8 + ["reports"] * 2  # the rules: 8 of 10 on every split
        model = ["asserts"] * n_right + ["reports"] * (10 - n_right)
        held[split] = {"rules": rules, **dict.fromkeys(stance_model.VARIANTS, model)}
    out = io.StringIO()
    stance_model.table(rows, held, splits, min_wins=3, out=out)
    assert f"model         beats the rules on {sum(n > 8 for n in right)} of 4" in out.getvalue()
    assert out.getvalue().split("model         beats")[1].splitlines()[0].endswith(verdict)
