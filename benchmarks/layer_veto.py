"""Where the learned narrative layer doubts a query's match: each narrative's veto, chosen on
held-out probabilities of the kept feature rows (benchmarks/realtext/layer-features.npz).

    python benchmarks/layer_veto.py --prior OLD.npz --splits blind15 blind16 blind17 --ordinary wild1 wild2
    python benchmarks/layer_veto.py ... --write narrative_archive/match/narrative_encoder.npz

Each split is held out in turn: a layer is trained from --prior (a layer that saw none of the
splits) on the other splits and the ordinary ones (as negatives), and reads the held-out
split's pages. Of the pages a narrative's query matched, a veto sets aside those the layer
gives a probability below it. Per narrative the veto is the one (of VETOES) with the best F1
of the query's matches over the held-out splits, when it raises that F1 by removing at least
MARGIN more false matches than it costs real ones. It is kept only if it also holds nested:
each split's veto chosen so on the other splits alone, applied to that split, must together
remove at least MARGIN more false matches than real ones; otherwise none (0). --write adds
the vetoes to a layer's weights file (its other arrays kept); match/layer.py sets aside the
query mentions a reading doubts.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import narrative_encoder as layer_bench
import numpy as np
import realtext

from narrative_archive.match import encoder

VETOES = np.round(np.arange(0.01, 0.16, 0.01), 2)
MARGIN = 2  # false matches removed beyond the real ones lost, at the least


def held_out(prior, splits: list[str], ordinary: list[str]) -> dict[str, list[tuple[float, bool, str]]]:
    """Per narrative, (held-out probability, labelled, split) of every page its query matched."""
    kept = layer_bench.kept_features()
    records = [r for r in realtext.load_labels() if r["url"] in kept]
    ids = [str(n) for n in prior["narratives"]]
    seen = layer_bench.seen_by(prior)
    found: dict[str, list[tuple[float, bool, str]]] = {n: [] for n in ids}
    for held in splits:
        train = [r for r in records if r["split"] in ordinary or (r["split"] in splits and r["split"] != held)]
        test = [r for r in records if r["split"] == held]
        x = np.array([kept[r["url"]][0] for r in train], float)
        x_test = np.array([kept[r["url"]][0] for r in test], float)
        for column, narrative_id in enumerate(ids):
            gold = np.array([narrative_id in r["narratives"] for r in train], float)
            w = layer_bench.train(x, gold, prior=prior["weights"][:, column].astype(float), seen=seen)
            p = encoder.probabilities(x_test, w[:, None])[:, 0]
            found[narrative_id] += [(float(pp), narrative_id in r["narratives"], held)
                                    for r, pp in zip(test, p, strict=True) if kept[r["url"]][1].get(narrative_id)]
    return found


def f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / max(2 * tp + fp + fn, 1)


def choose(pages: list[tuple[float, bool, str]], missed: int) -> tuple[float, tuple[int, int, int]]:
    """(veto, (real matches lost, false matches removed, false matches left)); `missed`: the
    narrative's labelled pages the query did not match."""
    tp = sum(g for _, g, _ in pages)
    fp = len(pages) - tp
    best, chosen, counts = f1(tp, fp, missed), 0.0, (0, 0, fp)
    for veto in VETOES:
        lost = sum(g and p < veto for p, g, _ in pages)
        removed = sum(not g and p < veto for p, g, _ in pages)
        score = f1(tp - lost, fp - removed, missed + lost)
        if removed - lost >= MARGIN and score > best + 1e-9:
            best, chosen, counts = score, float(veto), (lost, removed, fp - removed)
    return chosen, counts


def nested(pages: list[tuple[float, bool, str]], labelled: dict[str, int], splits: list[str]) -> tuple[int, int]:
    """(false matches removed, real ones lost) over the splits, each by the veto chosen on
    the others alone; `labelled`: the narrative's labelled pages per split."""
    removed = lost = 0
    for held in splits:
        others = [page for page in pages if page[2] != held]
        missed = sum(n for split, n in labelled.items() if split != held) - sum(g for _, g, _ in others)
        veto, _ = choose(others, missed)
        removed += sum(not g and p < veto for p, g, split in pages if split == held)
        lost += sum(g and p < veto for p, g, split in pages if split == held)
    return removed, lost


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prior", type=Path, required=True, help="a layer that saw none of --splits")
    parser.add_argument("--splits", nargs="+", required=True)
    parser.add_argument("--ordinary", nargs="*", default=["wild1", "wild2"])
    parser.add_argument("--write", type=Path, help="add the vetoes to this layer's weights file")
    args = parser.parse_args(argv)
    prior = np.load(args.prior)
    ids = [str(n) for n in prior["narratives"]]
    found = held_out(prior, args.splits, args.ordinary)
    records = [r for r in realtext.load_labels() if r["split"] in args.splits]
    labelled = {n: {split: sum(n in r["narratives"] for r in records if r["split"] == split)
                    for split in args.splits} for n in ids}
    vetoes = []
    for narrative_id in ids:
        pages = found[narrative_id]
        tp = sum(g for _, g, _ in pages)
        veto, (lost, removed, left) = choose(pages, sum(labelled[narrative_id].values()) - tp)
        nested_removed, nested_lost = nested(pages, labelled[narrative_id], args.splits)
        if nested_removed - nested_lost < MARGIN:
            veto, lost, removed, left = 0.0, 0, 0, len(pages) - tp
        vetoes.append(veto)
        precision = (tp - lost) / max(tp - lost + left, 1)
        print(f"{narrative_id:30} query matches {len(pages):>4} ({len(pages) - tp} false)   nested:"
              f" {nested_removed} false set aside, {nested_lost} real lost   veto {veto:.2f}:"
              f" {removed} false set aside, {lost} real lost, precision of the matches"
              f" {tp / max(len(pages), 1):.2f} -> {precision:.2f}")
    if args.write:
        stored = dict(np.load(args.write))
        stored["vetoes"] = np.array(vetoes, np.float32)
        np.savez(args.write, **stored)
        print(f"vetoes written to {args.write}")


if __name__ == "__main__":
    main()
