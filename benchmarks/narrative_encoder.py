"""The learned narrative layer (narrative_archive/match/encoder.py), gated on real coverage:
trained on labelled splits, its thresholds chosen by five-fold cross-validation on them,
judged on a split it never saw, beside the narratives' queries in the same run.

    python benchmarks/narrative_encoder.py DIR [--train blind12] [--judge blind13] [--cache PATH]
    python benchmarks/narrative_encoder.py DIR --train blind12 blind13 --train-out narrative_archive/match/narrative_encoder.npz
    python benchmarks/narrative_encoder.py DIR --shipped --judge blind14    # the shipped layer judged
    python benchmarks/narrative_encoder.py DIR --anchor --train blind15 --judge blind16   # learn on
    python benchmarks/narrative_encoder.py DIR --train blind15 --keep-features --shipped --judge blind15

DIR holds the pages' text as for benchmarks/realtext.py. Every run also reads `--ordinary`
(`wild1`: 168 ordinary pages on the Taliban and Afghanistan, chosen without regard to the
narratives, none carrying one) and says how many the layer would flag: the labelled splits hold
the narratives' coverage far more densely than a crawl does, and a threshold can look right on
them and flag ordinary news. A narrative's threshold is the one
at which the queries OR the layer reach precision 0.9 with the best F1 over the folds (none
when no threshold reaches it: the layer then adds nothing for that narrative). --cache keeps
the embedded texts outside the repository (they derive from third-party text).

--anchor trains the shipped layer further on --train: each narrative's weights start from the
shipped ones and are held to them as if the 468 articles they were trained on were still in the
loss (train's doc), its thresholds kept, so a new split teaches without the text of the splits
before it.
--keep-features adds the feature rows of the records whose text is here (1,152 numbers an
article, the encoder's vectors: no text) to benchmarks/realtext/layer-features.npz, with what
the queries matched; a later run trains on them without the text.
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

FEATURES = realtext.ROOT / "benchmarks" / "realtext" / "layer-features.npz"
SHIPPED_SEEN = 468  # the articles the first shipped layer was trained on (blind12 and blind13)
PRECISION = 0.9
ORDINARY_SHARE = 0.01  # of ordinary pages a threshold chosen again may flag
THRESHOLDS = np.round(np.arange(0.3, 0.96, 0.05), 2)
NONE = 1.01  # a threshold no probability reaches


def embedded_rows(records: list[dict], text_dir: Path, cache: Path | None) -> np.ndarray:
    """features() of every record's text (one row each), embedded once (or from `cache`); a
    record whose text is not in `text_dir` has its kept row (kept_features)."""
    store = pickle.loads(cache.read_bytes()) if cache and cache.exists() else {}
    kept = kept_features()
    model = None
    rows = []
    for record in records:
        path = text_dir / realtext.text_name(record["url"])
        if not path.exists():
            rows.append(kept[record["url"]][0])
            continue
        title, text = realtext.read_text(path)
        texts = encoder.texts_of(realtext.page_title(record, title, text), text)
        missing = [t for t in dict.fromkeys(texts) if t and t not in store]
        if missing:
            model = model or StanceEncoder(weights=None)
            store.update(zip(missing, model.embed(missing), strict=True))
        rows.append(encoder.features([store[t] if t else None for t in texts]))
    if cache:
        cache.write_bytes(pickle.dumps(store))
    return np.array(rows, np.float32)


def train(x: np.ndarray, y: np.ndarray, l2: float = 1e-4, steps: int = 3000, rate: float = 4.0,
          prior: np.ndarray | None = None, seen: int = 0):
    """One narrative's logistic layer (bias last), by gradient descent. With `prior`, weights
    trained before on `seen` articles no longer at hand, it starts from them and is held to
    them as if those articles were still in the loss: their curvature is taken to be the new
    articles' own, around the prior (the new data's Fisher information, weighted seen : new),
    so what earlier splits taught stays as much as their number says."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(x.shape[1] + 1) if prior is None else prior.astype(float).copy()
    fisher = None
    if prior is not None:
        p0 = 1 / (1 + np.exp(-(xb @ w)))
        fisher = (seen / len(y)) * (xb.T * (p0 * (1 - p0))) @ xb / len(y)
        rate /= 1 + seen / len(y)  # the loss is that much steeper: the same step would diverge
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(xb @ w)))
        gradient = xb.T @ (p - y) / len(y) + l2 * np.r_[w[:-1], 0]
        if fisher is not None:
            gradient += fisher @ (w - prior)
        w -= rate * gradient
    return w


def kept_features(path: Path = FEATURES) -> dict[str, tuple[np.ndarray, dict[str, bool]]]:
    """The rows kept in the repository: url -> (features row, {narrative: the queries matched})."""
    if not path.exists():
        return {}
    kept = np.load(path)
    narratives = [str(n) for n in kept["narratives"]]
    return {str(url): (row.astype(np.float32), dict(zip(narratives, map(bool, hits), strict=True)))
            for url, row, hits in zip(kept["urls"], kept["rows"], kept["queried"], strict=True)}


def keep_features(records: list[dict], x: np.ndarray, queried: dict[str, np.ndarray],
                  path: Path = FEATURES) -> int:
    """Add these records' rows (and what the queries matched in them) to the kept ones."""
    kept = kept_features(path)
    ids = list(queried)
    for i, record in enumerate(records):
        kept[record["url"]] = (x[i], {n: bool(queried[n][i]) for n in ids})
    urls = sorted(kept)
    np.savez_compressed(path, urls=np.array(urls), narratives=np.array(ids),
                        rows=np.array([kept[u][0] for u in urls], np.float16),
                        queried=np.array([[kept[u][1].get(n, False) for n in ids] for u in urls]))
    return len(urls)


def counts(gold: np.ndarray, chosen: np.ndarray) -> tuple[int, int, int]:
    return (int((chosen & gold).sum()), int((chosen & ~gold).sum()), int((~chosen & gold).sum()))


def threshold(x: np.ndarray, gold: np.ndarray, queried: np.ndarray, seed: int = 0,
              prior: np.ndarray | None = None, seen: int = 0,
              ordinary: np.ndarray | None = None) -> float:
    """The threshold five-fold cross-validation chooses (see the module's doc). With `prior`
    (--choose-thresholds), each fold's layer is trained from it; the layer may bring the
    queries' precision down to 0.9, or where they are below 0.9 already not at all, and must
    raise their F1; and of the ordinary pages (`ordinary`: the probabilities the layer trained
    on every fold gives them) it may flag at most ORDINARY_SHARE."""
    order = np.random.default_rng(seed).permutation(len(x))
    held = np.zeros(len(x))
    for fold in np.array_split(order, 5):
        rest = np.setdiff1d(order, fold)
        w = train(x[rest], gold[rest].astype(float), prior=prior, seen=seen)
        held[fold] = encoder.probabilities(x[fold], w[:, None])[:, 0]
    floor, best, chosen = PRECISION, 0.0, NONE
    if prior is not None:
        tp, fp, fn = counts(gold, queried)
        floor = min(PRECISION, tp / max(tp + fp, 1))
        best = 2 * tp / max(2 * tp + fp + fn, 1)  # the queries' own F1
    for t in THRESHOLDS:
        if ordinary is not None and (ordinary >= t).mean() > ORDINARY_SHARE:
            continue
        tp, fp, fn = counts(gold, queried | (held >= t))
        precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-9)
        if precision >= floor - 1e-9 and f1 > best + 1e-9:
            best, chosen = f1, float(t)
    return chosen


def seen_by(shipped) -> int:
    """How many labelled articles a weights file was trained on (the first shipped layer
    does not say: 468, blind12 and blind13)."""
    return int(shipped["seen"]) if "seen" in shipped else SHIPPED_SEEN


def queried_of(records: list[dict], text_dir: Path, ids: list[str]) -> dict[str, np.ndarray]:
    """Per narrative, whether its queries match each record: read the crawl's way where the
    text is here, else as kept with the record's row."""
    predictions = realtext.predict(records, text_dir, DEFAULT_CONFIG_DIR / "narratives.yml")
    kept = kept_features() if any(p.missing for p in predictions) else {}
    return {n: np.array([kept[p.record["url"]][1].get(n, False) if p.missing else n in p.matched
                         for p in predictions]) for n in ids}


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
    parser.add_argument("--anchor", action="store_true",
                        help="train on --train starting from the shipped layer, pulled towards it")
    parser.add_argument("--prior", type=Path, default=encoder.WEIGHTS,
                        help="the layer --shipped judges and --anchor starts from (default: the shipped one)")
    parser.add_argument("--ordinary", default="wild1",
                        help="a split of ordinary coverage: how many of its pages the layer flags")
    parser.add_argument("--choose-thresholds", metavar="ORDINARY", nargs="+",
                        help="with --anchor: choose each threshold again (threshold's doc), flagging"
                             " at most 1 %% of these splits of ordinary coverage")
    parser.add_argument("--keep-features", action="store_true",
                        help=f"keep the rows of the records with text in {FEATURES.name}")
    args = parser.parse_args(argv)
    if args.shipped and args.anchor:
        parser.error("--shipped judges the shipped layer; --anchor trains from it")
    if args.choose_thresholds and not args.anchor:
        parser.error("--choose-thresholds goes with --anchor")
    narratives = load_narratives(DEFAULT_CONFIG_DIR / "narratives.yml", fts.check_query)
    ids = [n.id for n in narratives]
    records = [] if args.shipped else [r for r in realtext.load_labels() if r["split"] in args.train]
    judged = [] if args.train_out else [r for r in realtext.load_labels() if r["split"] == args.judge]
    every = records + judged
    x = embedded_rows(every, args.dir, args.cache)
    queried_by = queried_of(every, args.dir, ids)
    if args.keep_features:
        with_text = [i for i, r in enumerate(every) if (args.dir / realtext.text_name(r["url"])).exists()]
        total = keep_features([every[i] for i in with_text], x[with_text],
                              {n: queried_by[n][with_text] for n in ids})
        print(f"{len(with_text)} rows kept, {total} in {FEATURES.name}")
    trained = np.arange(len(records))
    chosen_on = [r for r in realtext.load_labels()
                 if args.choose_thresholds and r["split"] in args.choose_thresholds and not r["narratives"]]
    x_chosen = embedded_rows(chosen_on, args.dir, args.cache) if chosen_on else None
    shipped = np.load(args.prior) if args.shipped or args.anchor else None
    layer, cuts = [], []
    pooled = {"queries": np.zeros(3, int), "layer": np.zeros(3, int)}
    for narrative_id in ids:
        gold = np.array([narrative_id in r["narratives"] for r in every])
        queried = queried_by[narrative_id]
        if shipped is not None:
            column = [str(n) for n in shipped["narratives"]].index(narrative_id)
            w, cut = shipped["weights"][:, column], float(shipped["thresholds"][column])
        if args.anchor:  # the prior's threshold stays, unless --choose-thresholds
            prior, before = w, seen_by(shipped)
            w = train(x[trained], gold[trained].astype(float), prior=prior, seen=before)
            if args.choose_thresholds:
                cut = threshold(x[trained], gold[trained], queried[trained], prior=prior, seen=before,
                                ordinary=encoder.probabilities(x_chosen, w[:, None])[:, 0])
        elif shipped is None:
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
    ordinary = [r for r in realtext.load_labels() if r["split"] == args.ordinary and not r["narratives"]]
    if ordinary and args.ordinary != args.judge:
        p = encoder.probabilities(embedded_rows(ordinary, args.dir, args.cache), np.array(layer).T)
        flagged = (p >= np.array(cuts)).sum(axis=0)
        print(f"ordinary coverage ({args.ordinary}, {len(ordinary)} pages carrying none): the layer flags "
              + ", ".join(f"{n} {k}" for n, k in zip(ids, flagged, strict=True) if k) if flagged.any()
              else f"ordinary coverage ({args.ordinary}, {len(ordinary)} pages carrying none): the layer flags none")
    if args.train_out:
        seen = len(records) + (seen_by(shipped) if args.anchor else 0)
        np.savez(args.train_out, weights=np.array(layer, np.float32).T,
                 thresholds=np.array(cuts, np.float32), narratives=np.array(ids), seen=np.int64(seen))
        print(f"trained on {len(records)} articles ({', '.join(args.train)}): {args.train_out}")
        for narrative_id, cut in zip(ids, cuts, strict=True):
            print(f"  {narrative_id:30} threshold {cut:.2f}")


if __name__ == "__main__":
    main()
