"""Stance classifier on the labelled set: per-language accuracy, per-class recall, confusion.

    python benchmarks/stance.py [--labelled tests/files/stance/labelled.yml] [--errors]

Also times the classifier: on a 5 MB text with the terms scattered through it, and per
mention on the import benchmark's topic-dense articles (benchmarks/corpus.py: Russia, the
Taliban, weapons in every other sentence), beside the alternative a keyword filter would
be (one regular expression of the single-word denial and attribution cues over the folded
title and text: no frame, no negation, no speaker).
"""

from __future__ import annotations

import argparse
import re
import time
from collections import Counter, defaultdict
from pathlib import Path

import yaml
from corpus import Corpus

from narrative_archive.analysis.sentences import fold
from narrative_archive.analysis.stance import STANCES, classify_stance, load_cues

ROOT = Path(__file__).resolve().parent.parent
LABELLED = ROOT / "tests" / "files" / "stance" / "labelled.yml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labelled", type=Path, default=LABELLED)
    parser.add_argument("--errors", action="store_true", help="list the misclassified items")
    args = parser.parse_args()
    data = yaml.safe_load(args.labelled.read_text(encoding="utf-8"))
    cues = load_cues()
    confusion: dict[str, Counter] = defaultdict(Counter)  # language -> (gold, predicted) -> n
    errors = []
    for item in data["items"]:
        language = item["language"]
        result = classify_stance(item.get("title"), item["text"], data["terms"][language], cues, language)
        predicted = result.stance or "none"
        confusion[language][item["label"], predicted] += 1
        confusion["all"][item["label"], predicted] += 1
        if predicted != item["label"]:
            errors.append((language, item["label"], predicted, item["text"], result.evidence.get("cues")))
    labels = [*STANCES, "none"]
    print(f"{'language':<9}{'n':>5}{'accuracy':>10}" + "".join(f"{'R ' + s:>12}" for s in STANCES))
    for language in [*sorted(k for k in confusion if k != "all"), "all"]:
        table = confusion[language]
        total = sum(table.values())
        right = sum(n for (gold, predicted), n in table.items() if gold == predicted)
        recalls = []
        for label in STANCES:
            gold_n = sum(n for (gold, _), n in table.items() if gold == label)
            recalls.append(f"{table[label, label] / gold_n:.2f}" if gold_n else "-")
        print(f"{language:<9}{total:>5}{right / total:>10.2f}" + "".join(f"{r:>12}" for r in recalls))
    print("\nconfusion (all languages): rows gold, columns predicted")
    print(f"{'':<10}" + "".join(f"{label:>10}" for label in labels))
    for gold in STANCES:
        print(f"{gold:<10}" + "".join(f"{confusion['all'][gold, p]:>10}" for p in labels))
    if args.errors:
        print("\nmisclassified:")
        for language, gold, predicted, text, found in errors:
            print(f"  [{language}] {gold} -> {predicted}: {text}  cues={found}")
    big = ("The talks continued for hours without a result. " * 20 + "Russia denies arming the Taliban, officials said. ") * 5200
    started = time.perf_counter()
    result = classify_stance("Talks", big, ["russia", "taliban", "arming"], cues, "en")
    print(f"\n{len(big) / 1e6:.1f} MB text: {result.stance} in {(time.perf_counter() - started) * 1000:.0f} ms")
    started = time.perf_counter()
    for _ in range(200):
        for item in data["items"][:50]:
            classify_stance(None, item["text"], data["terms"][item["language"]], cues, item["language"])
    print(f"short texts: {10000 / (time.perf_counter() - started):.0f} per second")
    per_mention(cues)


def per_mention(cues, articles: int = 1000) -> None:
    """ms per mention on topic-dense articles: the frame reading against a keyword regex."""
    corpus = Corpus(coverage=1.0)
    texts = [corpus.article(n) for n in range(articles)]
    terms = ["Russia", "Russian", "Moscow", "Taliban", "weapons", "arming"]
    words = [cue[0].rstrip("*") for cue in (*cues["en"].denial, *cues["en"].attribution)
             if len(cue) == 1 and not cue[0].startswith("*")]
    keyword = re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(words, key=len, reverse=True))) + ")")
    started, cpu = time.perf_counter(), time.process_time()
    for article in texts:
        classify_stance(article["title"], article["text"], terms, cues, article["language"])
    ours = (time.perf_counter() - started) * 1000 / articles, (time.process_time() - cpu) * 1000 / articles
    started, cpu = time.perf_counter(), time.process_time()
    for article in texts:
        keyword.search(fold(article["title"] + "\n" + article["text"]))
    alternative = (time.perf_counter() - started) * 1000 / articles, (time.process_time() - cpu) * 1000 / articles
    print(f"per mention, {articles} topic-dense articles (wall / CPU): frame reading {ours[0]:.2f} / {ours[1]:.2f} ms,"
          f" keyword regex {alternative[0]:.2f} / {alternative[1]:.2f} ms")


if __name__ == "__main__":
    main()
