"""The narrative matcher's CPU a page: part by part (each narrative's main query and
language variants, and each of their top-level OR members, behind its own gate: the
words it needs, its NEAR groups' windows; stopping at the first member that matches)
beside the whole match_query behind one gate, and beside every part evaluated without
any gate (what a matcher without the gate costs), on the crawl
benchmark's topic-dense pages (benchmarks/corpus.py, `--coverage` of them carrying
coverage), in this one process. All must match the same narratives, and part by part the
same snippets as the whole query; it says so. Then the
narratives' claim rules (match.claim) as the crawl's Reader runs them, beside the queries
alone.

    python benchmarks/matcher.py                  # 2,000 pages, coverage 0.05
    python benchmarks/matcher.py --coverage 0.29

Never a timed assertion in the tests: run it, read it.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from corpus import Corpus

from narrative_archive import fts
from narrative_archive.config import load_narratives
from narrative_archive.match import claim

REPO = Path(__file__).resolve().parent.parent


def ungated(narratives) -> fts.NarrativeMatcher:
    """A matcher that evaluates every part of every query (no gate)."""
    return fts.NarrativeMatcher(narratives, gated=False)


def timed(matcher: fts.NarrativeMatcher, articles: list[dict]) -> tuple[float, list]:
    started = time.process_time()
    found = [matcher.snippets(article["title"], article["text"]) for article in articles]
    return (time.process_time() - started) * 1000 / len(articles), found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--coverage", type=float, default=0.05)
    args = parser.parse_args()
    narratives = load_narratives(REPO / "config" / "narratives.yml", fts.check_query)
    corpus = Corpus(coverage=args.coverage)
    articles = [corpus.article(n) for n in range(args.pages)]
    print(f"{args.pages} pages, coverage {args.coverage}, {len(narratives)} narratives, "
          f"load average {os.getloadavg()[0]:.2f}")
    baseline: list = []
    whole: list = []
    for label, by_part in (("every part, no gate", None),
                           ("whole query, one gate", False),
                           ("part by part, each member gated", True)):
        started = time.process_time()
        matcher = ungated(narratives) if by_part is None else \
            fts.NarrativeMatcher(narratives, by_part=by_part)
        setup = (time.process_time() - started) * 1000
        per_page, found = timed(matcher, articles)
        mentions = sum(len(page) for page in found)
        print(f"{label:38} {per_page:6.2f} ms a page  ({mentions} mentions, "
              f"set-up {setup:.0f} ms)")
        for narrative in narratives:
            alone = ungated([narrative]) if by_part is None else \
                fts.NarrativeMatcher([narrative], by_part=by_part)
            print(f"    {narrative.id:36} {timed(alone, articles)[0]:6.2f} ms a page")
        # the ungated baseline's snippet query holds every part, so FTS5 may mark other words
        # there: it is compared by the narratives matched; the snippets against the whole
        # query's (tests/test_fts_parts.py holds them to that)
        if baseline:
            print("same narratives as every part without a gate:",
                  [list(page) for page in found] == [list(page) for page in baseline])
        else:
            baseline = found
        if whole:
            print("same snippets as the whole query behind one gate:", found == whole)
        elif by_part is False:
            whole = found
    claims(narratives, articles)
    empty = fts.NarrativeMatcher([])
    print(f"(inserting the page and reading its words, no query: {timed(empty, articles)[0]:.2f}"
          " ms a page, in every figure above)")


def claims(narratives, articles: list[dict]) -> None:
    """The claim rules (match.claim) as the crawl's Reader runs them: the narratives' queries
    and the candidate queries in one matcher, then each rule where only its candidate query
    matched; beside the narratives' queries alone, in the same run."""
    by_id = {narrative.id: narrative for narrative in narratives}
    alone = fts.NarrativeMatcher(narratives)
    both = fts.NarrativeMatcher([*narratives, *claim.candidates(narratives)])
    plain = timed(alone, articles)[0]
    started = time.process_time()
    every = [claim.confirmed(by_id, both.snippets(a["title"], a["text"]), a["title"], a["text"],
                             a.get("language")) for a in articles]
    candidates_first = (time.process_time() - started) * 1000 / len(articles)
    started = time.process_time()
    found = [claim.read(both, by_id, a["title"], a["text"], a.get("language")) for a in articles]
    with_rules = (time.process_time() - started) * 1000 / len(articles)
    print(f"{'queries alone':38} {plain:6.2f} ms a page")
    print(f"{'queries, candidate queries, then rules':38} {candidates_first:6.2f} ms a page  "
          f"({sum(len(page) for page in every)} mentions)")
    print(f"{'queries, rules, then candidate queries':38} {with_rules:6.2f} ms a page  "
          f"({sum(len(page) for page in found)} mentions; the crawl's way; same: {found == every})")


if __name__ == "__main__":
    main()
