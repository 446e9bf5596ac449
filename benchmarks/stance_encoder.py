"""The stance encoder (analysis/encoder.py): its gate on real coverage, and its training.

    python benchmarks/stance_encoder.py DIR [--cache PATH]                 the gate: held-out table
    python benchmarks/stance_encoder.py DIR --cache PATH --train-out PATH  train on every split

DIR is realtext.py's text folder (the splits blind2 ... blind11 have text on this machine).
Every labelled mention the narratives' queries match is read the crawl's way, then by the
rules (analysis.stance.read_frame), and its headline, lead, deciding sentence and body
sentences are embedded by the encoder. The gate: each split is held out in turn; the L2
strength, the weight of a dispute in the loss and the threshold are chosen by leave one split
out among the other nine, the layer is trained on the nine and scored on the held-out split
beside the rules on the same mentions (encoder.decide: a dispute the rules read stays one). A mention the rules read nothing in keeps their null
stance. --cache keeps the embeddings (derived from third-party text: outside the repository).
Needs the optional extra: pip install -e '.[encoder]'.
"""

from __future__ import annotations

import argparse
import pickle
import time
from collections import Counter
from pathlib import Path

import numpy as np
import stance_model

from narrative_archive.analysis import archive as analysis
from narrative_archive.analysis import encoder
from narrative_archive.analysis.stance import Stance, read_frame, rules_stance

SPLITS = tuple(f"blind{n}" for n in range(2, 12))
GRID = [(l2, weight) for l2 in (1e-4, 3e-4) for weight in (1.0, 1.5)]
THRESHOLDS = (0.0, 0.5, 0.7)  # the encoder's probability of a dispute it adds
STEPS = 300
DISPUTES = encoder.LABELS.index("disputes")


def rows(text_dir: Path, cache: Path | None) -> list[dict]:
    """Each matched labelled mention: split, gold and rules' labels, the encoder's input row."""
    if cache and cache.exists():
        return pickle.loads(cache.read_bytes())
    model = encoder.StanceEncoder(weights=None)
    out = []
    for m in stance_model.capture(text_dir, splits=SPLITS, forbidden=()):
        frame = read_frame(m["title"], m["text"], m["terms"], analysis.cues_for(m["cues"]), m["language"])
        if isinstance(frame, Stance):
            out.append({"split": m["split"], "gold": m["gold"], "rules": frame.stance, "x": None})
            continue
        rules = rules_stance(frame).stance
        x = encoder.features(model.vectors(encoder.parts_of(frame)), rules)
        out.append({"split": m["split"], "gold": m["gold"], "rules": rules, "x": x})
    if cache:
        cache.write_bytes(pickle.dumps(out))
    return out


def train(x: np.ndarray, gold: np.ndarray, l2: float, weight: float) -> np.ndarray:
    """Multinomial logistic regression, L2, disputes weighted in the loss; Adam from zero."""
    w = np.zeros((x.shape[1], len(encoder.LABELS)))
    target = np.eye(len(encoder.LABELS))[gold]
    sample = np.where(gold == DISPUTES, weight, 1.0)[:, None]
    m, v = np.zeros_like(w), np.zeros_like(w)
    for t in range(1, STEPS + 1):
        g = x.T @ ((encoder.probabilities(x, w) - target) * sample) / sample.sum() + l2 * w
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        w -= 0.05 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    return w


class Data:
    def __init__(self, items: list[dict]):
        self.items = items
        self.split = np.array([r["split"] for r in items])
        self.gold = np.array([encoder.LABELS.index(r["gold"]) for r in items])
        self.rules = np.array([encoder.LABELS.index(r["rules"]) if r["rules"] in encoder.LABELS else -1
                               for r in items])
        self.read = np.array([r["x"] is not None for r in items])
        width = next(r["x"] for r in items if r["x"] is not None).shape[0]
        self.x = np.vstack([r["x"] if r["x"] is not None else np.zeros(width) for r in items]).astype(np.float64)

    def fit(self, mask: np.ndarray, l2: float, weight: float) -> np.ndarray:
        mask = mask & self.read
        return train(self.x[mask], self.gold[mask], l2, weight)

    def labels(self, mask: np.ndarray, w: np.ndarray, threshold: float) -> np.ndarray:
        mine = encoder.decide(encoder.probabilities(self.x[mask], w), self.rules[mask], threshold)
        return np.where(self.read[mask], mine, self.rules[mask])


def choose(data: Data, splits: tuple[str, ...]) -> tuple[float, float, float]:
    """(l2, dispute weight, threshold) by leave one split out among `splits`: correct labels,
    plus half a point a dispute found."""
    score: Counter = Counter()
    for (l2, weight) in GRID:
        for inner in splits:
            train_mask = np.isin(data.split, splits) & (data.split != inner)
            test = data.split == inner
            w = data.fit(train_mask, l2, weight)
            for threshold in THRESHOLDS:
                got = data.labels(test, w, threshold)
                gold = data.gold[test]
                score[(l2, weight, threshold)] += (got == gold).sum() + 0.5 * ((got == DISPUTES) & (gold == DISPUTES)).sum()
    return score.most_common(1)[0][0]


def gate(data: Data) -> None:
    print(f"{'held out':<9}{'n':>5}{'rules':>8}{'encoder':>9}   disputes found (rules / encoder / labelled)   chosen")
    total: Counter = Counter()
    for held in SPLITS:
        others = tuple(s for s in SPLITS if s != held)
        l2, weight, threshold = choose(data, others)
        test = data.split == held
        got = data.labels(test, data.fit(np.isin(data.split, others), l2, weight), threshold)
        gold, rules = data.gold[test], data.rules[test]
        counts = {"n": test.sum(), "rules": (rules == gold).sum(), "encoder": (got == gold).sum(),
                  "rd": ((rules == DISPUTES) & (gold == DISPUTES)).sum(),
                  "ed": ((got == DISPUTES) & (gold == DISPUTES)).sum(), "d": (gold == DISPUTES).sum()}
        total.update(counts)
        print(f"{held:<9}{counts['n']:>5}{counts['rules'] / counts['n']:>8.3f}{counts['encoder'] / counts['n']:>9.3f}"
              f"   {counts['rd']:>3} / {counts['ed']:>3} / {counts['d']:>3}"
              f"{'':>24}l2 {l2:g}, disputes x{weight:g}, threshold {threshold:g}", flush=True)
    n = total["n"]
    print(f"{'pooled':<9}{n:>5}{total['rules'] / n:>8.3f}{total['encoder'] / n:>9.3f}"
          f"   {total['rd']:>3} / {total['ed']:>3} / {total['d']:>3}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("text_dir", type=Path)
    parser.add_argument("--cache", type=Path, help="keep the embedded mentions here (outside the repository)")
    parser.add_argument("--train-out", type=Path, help="train on every split and write the weights here")
    parser.add_argument("--l2", type=float, default=1e-4)
    parser.add_argument("--disputes-weight", type=float, default=1.5)
    parser.add_argument("--threshold", type=float, default=0.0)
    args = parser.parse_args()
    started = time.process_time()
    items = rows(args.text_dir, args.cache)
    data = Data(items)
    print(f"{len(items)} matched labelled mentions in {len(SPLITS)} splits "
          f"({data.read.sum()} read by the rules; read and embedded in {time.process_time() - started:.0f} s of CPU)")
    if args.train_out:
        w = data.fit(np.ones(len(items), bool), args.l2, args.disputes_weight)
        np.savez(args.train_out, weights=w.astype(np.float32), threshold=np.float32(args.threshold))
        print(f"wrote {args.train_out}: l2 {args.l2:g}, disputes x{args.disputes_weight:g}, threshold {args.threshold:g}")
        return
    gate(data)


if __name__ == "__main__":
    main()
