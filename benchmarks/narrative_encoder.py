"""The learned narrative layer (narrative_archive/match/encoder.py), gated on real coverage:
trained on labelled splits, its thresholds chosen by five-fold cross-validation on them,
judged on a split it never saw, beside the narratives' queries in the same run.

    python benchmarks/narrative_encoder.py DIR [--train blind12] [--judge blind13] [--cache PATH]
    python benchmarks/narrative_encoder.py DIR --train blind12 blind13 --train-out narrative_archive/match/narrative_encoder.npz
    python benchmarks/narrative_encoder.py DIR --shipped --judge blind14    # the shipped layer judged

DIR holds the pages' text as for benchmarks/realtext.py. A narrative's threshold is the one
at which the queries OR the layer reach precision 0.9 with the best F1 over the folds (none
when no threshold reaches it: the layer then adds nothing for that narrative). --cache keeps
the embedded texts outside the repository (they derive from third-party text).
"""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path

import numpy as np
import realtext

from narrative_archive import fts
from narrative_archive.analysis.encoder import StanceEncoder
from narrative_archive.config import load_narratives
from narrative_archive.match import encoder
from narrative_archive.paths import DEFAULT_CONFIG_DIR

PRECISION = 0.9
THRESHOLDS = np.round(np.arange(0.3, 0.96, 0.05), 2)
NONE = 1.01  # a threshold no probability reaches


def embedded_rows(records: list[dict], text_dir: Path, cache: Path | None) -> np.ndarray:
    """features() of every record's text (one row each), embedded once (or from `cache`)."""
    store = pickle.loads(cache.read_bytes()) if cache and cache.exists() else {}
    model = None
    rows = []
    for record in records:
        title, text = realtext.read_text(text_dir / realtext.text_name(record["url"]))
        texts = encoder.texts_of(title, text)
        missing = [t for t in dict.fromkeys(texts) if t and t not in store]
        if missing:
            model = model or StanceEncoder(weights=None)
            store.update(zip(missing, model.embed(missing), strict=True))
        rows.append(encoder.features([store[t] if t else None for t in texts]))
    if cache:
        cache.write_bytes(pickle.dumps(store))
    return np.array(rows, np.float32)


def train(x: np.ndarray, y: np.ndarray, l2: float = 1e-4, steps: int = 3000, rate: float = 4.0):
    """One narrative's logistic layer (bias last), by gradient descent."""
    w = np.zeros(x.shape[1] + 1)
    xb = np.hstack([x, np.ones((len(x), 1))])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(xb @ w)))
        w -= rate * (xb.T @ (p - y) / len(y) + l2 * np.r_[w[:-1], 0])
    return w


def counts(gold: np.ndarray, chosen: np.ndarray) -> tuple[int, int, int]:
    return (int((chosen & gold).sum()), int((chosen & ~gold).sum()), int((~chosen & gold).sum()))


def threshold(x: np.ndarray, gold: np.ndarray, queried: np.ndarray, seed: int = 0) -> float:
    """The threshold five-fold cross-validation chooses (see the module's doc)."""
    order = np.random.default_rng(seed).permutation(len(x))
    held = np.zeros(len(x))
    for fold in np.array_split(order, 5):
        rest = np.setdiff1d(order, fold)
        held[fold] = encoder.probabilities(x[fold], train(x[rest], gold[rest])[:, None])[:, 0]
    best, chosen = 0.0, NONE
    for t in THRESHOLDS:
        tp, fp, fn = counts(gold, queried | (held >= t))
        precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-9)
        if precision >= PRECISION and f1 > best:
            best, chosen = f1, float(t)
    return chosen


def figures(tp: int, fp: int, fn: int) -> str:
    return f"{tp / max(tp + fp, 1):.2f} / {tp / max(tp + fn, 1):.2f} (tp {tp}, fp {fp}, fn {fn})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--train", nargs="+", default=["blind12"])
    parser.add_argument("--judge", default="blind13")
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--train-out", type=Path, help="save the layer trained on --train")
    parser.add_argument("--shipped", action="store_true",
                        help="judge the shipped layer (match/narrative_encoder.npz), train nothing")
    args = parser.parse_args(argv)
    narratives = load_narratives(DEFAULT_CONFIG_DIR / "narratives.yml", fts.check_query)
    ids = [n.id for n in narratives]
    records = [] if args.shipped else [r for r in realtext.load_labels() if r["split"] in args.train]
    judged = [] if args.train_out else [r for r in realtext.load_labels() if r["split"] == args.judge]
    every = records + judged
    x = embedded_rows(every, args.dir, args.cache)
    predictions = realtext.predict(every, args.dir, DEFAULT_CONFIG_DIR / "narratives.yml")
    trained = np.arange(len(records))
    shipped = np.load(encoder.WEIGHTS) if args.shipped else None
    layer, cuts = [], []
    pooled = {"queries": np.zeros(3, int), "layer": np.zeros(3, int)}
    for narrative_id in ids:
        gold = np.array([narrative_id in r["narratives"] for r in every])
        queried = np.array([narrative_id in p.matched for p in predictions])
        if shipped is not None:
            column = [str(n) for n in shipped["narratives"]].index(narrative_id)
            w, cut = shipped["weights"][:, column], float(shipped["thresholds"][column])
        else:
            w = train(x[trained], gold[trained].astype(float))
            cut = threshold(x[trained], gold[trained], queried[trained])
        layer.append(w)
        cuts.append(cut)
        if judged:
            rest = np.arange(len(records), len(every))
            p = encoder.probabilities(x[rest], w[:, None])[:, 0]
            alone = counts(gold[rest], queried[rest])
            both = counts(gold[rest], queried[rest] | (p >= cut))
            pooled["queries"] += alone
            pooled["layer"] += both
            print(f"{narrative_id:30} threshold {cut:.2f}   queries {figures(*alone)}"
                  f"   queries + layer {figures(*both)}")
    if judged:
        print(f"{'all narratives':30} {'':14} queries {figures(*pooled['queries'])}"
              f"   queries + layer {figures(*pooled['layer'])}")
    if args.train_out:
        np.savez(args.train_out, weights=np.array(layer, np.float32).T,
                 thresholds=np.array(cuts, np.float32), narratives=np.array(ids))
        print(f"trained on {len(records)} articles ({', '.join(args.train)}): {args.train_out}")
        for narrative_id, cut in zip(ids, cuts, strict=True):
            print(f"  {narrative_id:30} threshold {cut:.2f}")


if __name__ == "__main__":
    main()
