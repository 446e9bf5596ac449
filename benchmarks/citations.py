"""Citation patterns on the labelled sentences: recall and precision per language.

    python benchmarks/citations.py [--sentences tests/files/citations/sentences.yml] [--errors]

Recall: the share of cited sources found (and, per sentence, the share of sentences that
carry a citation in which every source was found). Precision: the share of found
attributions that the labels list. A source matches by outlet id, else by name.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

import yaml

from narrative_archive.analysis.citations import extract_citations, name_key, outlet_index
from narrative_archive.config import load_config

ROOT = Path(__file__).resolve().parent.parent
SENTENCES = ROOT / "tests" / "files" / "citations" / "sentences.yml"


def found_keys(citations):
    return [c.outlet_id or name_key(c.source_name) for c in citations if c.kind == "attribution"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=Path, default=SENTENCES)
    parser.add_argument("--errors", action="store_true", help="list the misses and false finds")
    args = parser.parse_args()
    items = yaml.safe_load(args.sentences.read_text(encoding="utf-8"))["items"]
    index = outlet_index(load_config().outlets)
    counts: dict[str, Counter] = {}
    errors = []
    for item in items:
        language = item["language"]
        expected = {s if s in index.display else name_key(s) for s in item["sources"]}
        got = set(found_keys(extract_citations(item["text"], [], language, index)))
        for key in (language, "all"):
            c = counts.setdefault(key, Counter())
            c["sources"] += len(expected)
            c["found"] += len(expected & got)
            c["extracted"] += len(got)
            c["correct"] += len(got & expected)
            if expected:
                c["sentences"] += 1
                c["sentences_all_found"] += expected <= got
        if got != expected:
            errors.append((language, item["text"], sorted(expected), sorted(got)))
    print(f"{'language':<9}{'sentences':>10}{'sentence recall':>17}{'source recall':>15}{'precision':>11}")
    for language in [*sorted(k for k in counts if k != "all"), "all"]:
        c = counts[language]
        print(f"{language:<9}{c['sentences']:>10}{c['sentences_all_found'] / c['sentences']:>17.2f}"
              f"{c['found'] / c['sources']:>15.2f}{c['correct'] / max(1, c['extracted']):>11.2f}")
    if args.errors:
        print("\nmismatches (expected -> found):")
        for language, text, expected, got in errors:
            print(f"  [{language}] {text}\n        {expected} -> {got}")
    text = " ".join(item["text"] for item in items) * 400
    started = time.perf_counter()
    citations = extract_citations(text, [], None, index)
    print(f"\n{len(text) / 1e6:.1f} MB text, all languages: {len(citations)} citations (capped) in"
          f" {(time.perf_counter() - started) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
