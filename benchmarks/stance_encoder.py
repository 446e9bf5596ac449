"""The stance encoder (analysis/encoder.py): its gate on real coverage, and its training.

    python benchmarks/stance_encoder.py DIR [--cache PATH]                 the gate: held-out table
    python benchmarks/stance_encoder.py DIR --cache PATH --train-out PATH  train on every split
    python benchmarks/stance_encoder.py DIR --splits blind15 blind16 blind17 --keep-features
    python benchmarks/stance_encoder.py DIR --splits blind15 blind16 blind17 --anchor   learn on: held-out table
    python benchmarks/stance_encoder.py DIR --splits ... --anchor --train-out PATH      learn on: train

DIR is realtext.py's text folder (--splits: by default blind2 ... blind11, whose text the
nineteenth session's machine held; a split without text here is read from its kept rows).
Every labelled mention the narratives' queries match is read the crawl's way, then by the
rules (analysis.stance.read_frame), and its headline, lead, deciding sentence and body
sentences are embedded by the encoder. The gate: each split is held out in turn; the L2
strength, the weight of a dispute in the loss and the threshold are chosen by leave one split
out among the other nine, the layer is trained on the nine and scored on the held-out split
beside the rules on the same mentions (encoder.decide: a dispute the rules read stays one). A mention the rules read nothing in keeps their null
stance. --cache keeps the embeddings (derived from third-party text: outside the repository).
Needs the optional extra: pip install -e '.[encoder]'.

Learning on without the old text: --keep-features adds the rows of the mentions read here (the
encoder's vectors, the rules' and the gold label: no text) to
benchmarks/realtext/stance-features.npz, and a split whose text is not here is read from its
kept rows. --anchor trains from the shipped weights (--prior), held to them as if the mentions
they were trained on were still in the loss (train's doc); with --train-out it writes the
weights trained so on every split given, otherwise it holds each split out in turn, trains from
the prior on the others and scores it beside the prior and the rules. A kept row is the rules'
reading of its day: if the rules change, keep the rows again where the text is at hand.
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
FEATURES = Path(__file__).parent / "realtext" / "stance-features.npz"
SHIPPED_SEEN = 2340  # the mentions the first shipped weights were trained on (blind2 ... blind11)
GRID = [(l2, weight) for l2 in (1e-4, 3e-4) for weight in (1.0, 1.5)]
THRESHOLDS = (0.0, 0.5, 0.7)  # the encoder's probability of a dispute it adds
STEPS = 300
DISPUTES = encoder.LABELS.index("disputes")


def rows(text_dir: Path, cache: Path | None, splits: tuple[str, ...] = SPLITS) -> list[dict]:
    """Each matched labelled mention: split, gold and rules' labels, the encoder's input row;
    a split with no text here is read from the kept rows."""
    if cache and cache.exists():
        return [r for r in pickle.loads(cache.read_bytes()) if r["split"] in splits]
    model = None
    out = []
    for m in stance_model.capture(text_dir, splits=splits, forbidden=()):
        frame = read_frame(m["title"], m["text"], m["terms"], analysis.cues_for(m["cues"]), m["language"])
        row = {"split": m["split"], "url": m["url"], "narrative": m["narrative"], "gold": m["gold"]}
        if isinstance(frame, Stance):
            out.append({**row, "rules": frame.stance, "x": None})
            continue
        rules = rules_stance(frame).stance
        model = model or encoder.StanceEncoder(weights=None)
        out.append({**row, "rules": rules, "x": encoder.features(model.vectors(encoder.parts_of(frame)), rules)})
    read = {r["split"] for r in out}
    out += [r for r in kept_rows() if r["split"] in splits and r["split"] not in read]
    if cache:
        cache.write_bytes(pickle.dumps(out))
    return out


def kept_rows(path: Path = FEATURES) -> list[dict]:
    if not path.exists():
        return []
    kept = np.load(path)
    return [{"split": str(split), "url": str(url), "narrative": str(narrative), "gold": str(gold),
             "rules": str(rules) or None, "x": row.astype(np.float32) if read else None}
            for split, url, narrative, gold, rules, read, row in zip(
                kept["splits"], kept["urls"], kept["narratives"], kept["gold"], kept["rules"], kept["read"],
                kept["rows"], strict=True)]


def keep_rows(items: list[dict], path: Path = FEATURES) -> int:
    """Add these mentions' rows to the kept ones (a mention kept before is replaced)."""
    kept = {(r["url"], r["narrative"]): r for r in kept_rows(path)}
    kept.update({(r["url"], r["narrative"]): r for r in items})
    ordered = [kept[key] for key in sorted(kept)]
    width = next(r["x"] for r in ordered if r["x"] is not None).shape[0]
    np.savez_compressed(
        path, splits=np.array([r["split"] for r in ordered]), urls=np.array([r["url"] for r in ordered]),
        narratives=np.array([r["narrative"] for r in ordered]), gold=np.array([r["gold"] for r in ordered]),
        rules=np.array([r["rules"] or "" for r in ordered]), read=np.array([r["x"] is not None for r in ordered]),
        rows=np.array([r["x"] if r["x"] is not None else np.zeros(width) for r in ordered], np.float16))
    return len(ordered)


def train(x: np.ndarray, gold: np.ndarray, l2: float, weight: float,
          prior: np.ndarray | None = None, seen: int = 0) -> np.ndarray:
    """Multinomial logistic regression, L2, disputes weighted in the loss; Adam from zero.
    With `prior`, weights trained before on `seen` mentions no longer at hand, it starts from
    them and is held to them as if those mentions were still in the loss: their curvature is
    taken to be the new mentions' own around the prior (each label's block of the Fisher
    information, weighted seen : new), so what earlier splits taught stays as much as their
    number says."""
    w = np.zeros((x.shape[1], len(encoder.LABELS))) if prior is None else prior.astype(np.float64).copy()
    target = np.eye(len(encoder.LABELS))[gold]
    sample = np.where(gold == DISPUTES, weight, 1.0)[:, None]
    pull = None
    if prior is not None:
        p0 = encoder.probabilities(x, w) * sample
        scale = seen / len(gold) / sample.sum()
        pull = [scale * (x.T * (p0[:, k] * (1 - p0[:, k] / sample[:, 0]))) @ x for k in range(w.shape[1])]
    m, v = np.zeros_like(w), np.zeros_like(w)
    for t in range(1, STEPS + 1):
        g = x.T @ ((encoder.probabilities(x, w) - target) * sample) / sample.sum() + l2 * w
        if pull is not None:
            g += np.stack([pull[k] @ (w[:, k] - prior[:, k]) for k in range(w.shape[1])], axis=1)
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

    def fit(self, mask: np.ndarray, l2: float, weight: float, prior: np.ndarray | None = None,
            seen: int = 0) -> np.ndarray:
        mask = mask & self.read
        return train(self.x[mask], self.gold[mask], l2, weight, prior, seen)

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


def tally(gold: np.ndarray, readings: dict[str, np.ndarray]) -> Counter:
    """Right labels and disputes found of each reading."""
    counts = Counter({"n": len(gold), "labelled": int((gold == DISPUTES).sum())})
    for name, got in readings.items():
        counts[name] = int((got == gold).sum())
        counts[f"{name} disputes"] = int(((got == DISPUTES) & (gold == DISPUTES)).sum())
    return counts


def table_row(name: str, counts: Counter, readers: tuple[str, ...], note: str = "") -> str:
    n = counts["n"]
    found = " / ".join(f"{counts[f'{r} disputes']:>3}" for r in readers)
    return (f"{name:<9}{n:>5}" + "".join(f"{counts[r] / n:>10.3f}" for r in readers)
            + f"   {found} / {counts['labelled']:>3}   {note}")


def gate(data: Data, splits: tuple[str, ...]) -> None:
    readers = ("rules", "encoder")
    print(f"{'held out':<9}{'n':>5}{'rules':>10}{'encoder':>10}   disputes found (rules / encoder / labelled)")
    total: Counter = Counter()
    for held in splits:
        others = tuple(s for s in splits if s != held)
        l2, weight, threshold = choose(data, others)
        test = data.split == held
        got = data.labels(test, data.fit(np.isin(data.split, others), l2, weight), threshold)
        counts = tally(data.gold[test], {"rules": data.rules[test], "encoder": got})
        total.update(counts)
        print(table_row(held, counts, readers, f"l2 {l2:g}, disputes x{weight:g}, threshold {threshold:g}"), flush=True)
    print(table_row("pooled", total, readers))


def learn_on(data: Data, splits: tuple[str, ...], prior: np.ndarray, seen: int, threshold: float,
             l2: float, weight: float) -> None:
    """Each split held out in turn: the prior beside the prior trained further on the others."""
    readers = ("rules", "prior", "further")
    print(f"{'held out':<9}{'n':>5}{'rules':>10}{'prior':>10}{'further':>10}"
          "   disputes found (rules / prior / further / labelled)")
    total: Counter = Counter()
    for held in splits:
        test = data.split == held
        further = data.fit(np.isin(data.split, splits) & ~test, l2, weight, prior, seen)
        counts = tally(data.gold[test], {"rules": data.rules[test], "prior": data.labels(test, prior, threshold),
                                         "further": data.labels(test, further, threshold)})
        total.update(counts)
        print(table_row(held, counts, readers), flush=True)
    print(table_row("pooled", total, readers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("text_dir", type=Path)
    parser.add_argument("--cache", type=Path, help="keep the embedded mentions here (outside the repository)")
    parser.add_argument("--splits", nargs="+", default=list(SPLITS), help="the labelled splits read")
    parser.add_argument("--train-out", type=Path, help="train on every split and write the weights here")
    parser.add_argument("--l2", type=float, default=1e-4)
    parser.add_argument("--disputes-weight", type=float, default=1.5)
    parser.add_argument("--threshold", type=float, default=0.0)
    parser.add_argument("--keep-features", action="store_true",
                        help=f"keep the rows of the mentions read here in {FEATURES.name}")
    parser.add_argument("--anchor", action="store_true", help="train further from --prior (learning on)")
    parser.add_argument("--prior", type=Path, default=encoder.WEIGHTS,
                        help="the weights --anchor starts from (default: the shipped ones)")
    args = parser.parse_args()
    splits = tuple(args.splits)
    started = time.process_time()
    items = rows(args.text_dir, args.cache, splits)
    data = Data(items)
    print(f"{len(items)} matched labelled mentions in {len(splits)} splits "
          f"({data.read.sum()} read by the rules; read and embedded in {time.process_time() - started:.0f} s of CPU)")
    if args.keep_features:
        here = [r for r in items if (args.text_dir / stance_model.text_name(r["url"])).exists()]
        print(f"{len(here)} rows kept, {keep_rows(here)} in {FEATURES.name}")
    stored = np.load(args.prior)
    prior, seen = stored["weights"].astype(np.float64), int(stored["seen"]) if "seen" in stored else SHIPPED_SEEN
    threshold = float(stored["threshold"]) if args.anchor else args.threshold
    if args.train_out:
        everything = np.ones(len(items), bool)
        w = data.fit(everything, args.l2, args.disputes_weight, *((prior, seen) if args.anchor else ()))
        total = int(data.read.sum()) + (seen if args.anchor else 0)
        np.savez(args.train_out, weights=w.astype(np.float32), threshold=np.float32(threshold), seen=np.int64(total))
        print(f"wrote {args.train_out}: l2 {args.l2:g}, disputes x{args.disputes_weight:g}, threshold {threshold:g},"
              f" seen {total}")
    elif args.anchor:
        learn_on(data, splits, prior, seen, threshold, args.l2, args.disputes_weight)
    elif not args.keep_features:
        gate(data, splits)


if __name__ == "__main__":
    main()
