"""An extraction worker's CPU a page: extract.extract_article + match.reading.Reader.read
(what crawl/workers.py does with each page) over the crawl benchmark's generated pages
(benchmarks/crawl.py's Site and template, `--coverage` of them carrying narrative
coverage; the shipped narratives and the snippet-bug query, as the crawl benchmark
configures them), beside bare `trafilatura.extract` (default options) over the same
pages, in this one process, then where a page's CPU goes, step by step.

    python benchmarks/worker.py                  # 1,000 pages, coverage 0.05
    python benchmarks/worker.py --pages 2000 --coverage 0.29

The steps are timed by wrapping the functions extract_article and Reader.read call
(time.process_time() around each), so their sum is a little over the unwrapped total.
Never a timed assertion in the tests: run it, read it.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trafilatura
import yaml
from corpus import BUG_NARRATIVE, Corpus
from crawl import TEMPLATES, template

from narrative_archive import fts
from narrative_archive.analysis import archive as analysis
from narrative_archive.analysis import citations, stories
from narrative_archive.config import load_narratives
from narrative_archive.extract import article as extract
from narrative_archive.match import reading

REPO = Path(__file__).resolve().parent.parent

# (label, module, function name): what the breakdown times, in the order a page meets them
EXTRACTION_STEPS = [(f"extract: {name}", extract, name) for name in (
    "decode_page", "bound_markup", "load_html", "meta_tags", "jsonld_nodes",
    "page_canonical_url", "_body_links", "xmltotxt", "_mostly_link_text", "first_date",
    "extract_metadata", "page_language", "structured_authors", "dom_author", "split_authors",
    "content_hash")] + [("extract: trafilatura.bare_extraction (fast)", extract.trafilatura,
                         "bare_extraction")]
READING_STEPS = [
    ("read: narrative matcher (fts.NarrativeMatcher.snippets)", fts.NarrativeMatcher, "snippets"),
    ("read: stance (analysis.stance_of)", analysis, "stance_of"),
    ("read: story signature (stories.text_signature)", stories, "text_signature"),
    ("read: citations (citations.extract_citations)", citations, "extract_citations"),
]


def pages(count: int, coverage: float) -> list[bytes]:
    corpus = Corpus(coverage=coverage)
    templates = [template(i, corpus) for i in range(TEMPLATES)]
    return [templates[n % TEMPLATES].replace(b"{{N}}", str(n).encode()) for n in range(count)]


def reader(tmp: Path) -> reading.Reader:
    """The Reader of a crawl worker, configured as benchmarks/crawl.py configures the crawl."""
    shipped = yaml.safe_load((REPO / "config" / "narratives.yml").read_text(encoding="utf-8"))
    path = tmp / "narratives.yml"
    path.write_text(yaml.safe_dump([*shipped, BUG_NARRATIVE], allow_unicode=True),
                    encoding="utf-8")
    return reading.Reader(load_narratives(path, fts.check_query),
                          [("bench", "Bench News", ["127.0.0.1"])])


def work(body: bytes, number: int, worker: reading.Reader) -> dict[str, Any]:
    """What crawl.workers.extract_page does with one page."""
    article = extract.extract_article(body, f"http://127.0.0.1/article/{number}",
                                      encoding="utf-8").to_dict()
    article["reading"] = reading.read_or_none(worker, article)
    return article


def cpu_ms(run: Callable[[], object], count: int) -> float:
    started = time.process_time()
    run()
    return 1000 * (time.process_time() - started) / count


def breakdown(bodies: list[bytes], worker: reading.Reader) -> Counter:
    """ms of CPU a page in each step (the functions wrapped, then restored)."""
    spent: Counter = Counter()
    saved = []
    for label, owner, name in EXTRACTION_STEPS + READING_STEPS:
        original = getattr(owner, name)
        saved.append((owner, name, original))

        def timed(*args, _original=original, _label=label, **kwargs):
            started = time.process_time()
            try:
                return _original(*args, **kwargs)
            finally:
                spent[_label] += time.process_time() - started
        setattr(owner, name, timed)
    try:
        for number, body in enumerate(bodies):
            work(body, number, worker)
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)
    return Counter({label: 1000 * seconds / len(bodies) for label, seconds in spent.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--coverage", type=float, default=0.05)
    args = parser.parse_args()
    bodies = pages(args.pages, args.coverage)
    with tempfile.TemporaryDirectory() as tmp:
        worker = reader(Path(tmp))
    for number in range(20):  # lazy state (models, caches) loaded, untimed
        work(bodies[number], number, worker)
        trafilatura.extract(bodies[number].decode())
    print(f"{args.pages} pages, coverage {args.coverage}, "
          f"{sum(map(len, bodies)) / len(bodies) / 1024:.0f} KiB on average, "
          f"load average {os.getloadavg()[0]:.2f}")
    articles: list[dict[str, Any]] = []
    total = cpu_ms(lambda: articles.extend(work(body, n, worker) for n, body in enumerate(bodies)),
                   len(bodies))
    bare = cpu_ms(lambda: [trafilatura.extract(body.decode()) for body in bodies], len(bodies))
    extraction = cpu_ms(lambda: [extract.extract_article(body, f"http://127.0.0.1/article/{n}",
                                                         encoding="utf-8")
                                 for n, body in enumerate(bodies)], len(bodies))
    mentions = sum(len((article["reading"] or {}).get("mentions", ())) for article in articles)
    print(f"worker (extract_article + Reader.read): {total:6.2f} ms of CPU a page "
          f"({mentions} mentions)")
    print(f"  of which extract_article:             {extraction:6.2f} ms")
    print(f"  of which Reader.read:                 {total - extraction:6.2f} ms")
    print(f"bare trafilatura.extract (default):     {bare:6.2f} ms of CPU a page "
          f"(worker / bare: {total / bare:.2f})")
    print("where it goes (ms of CPU a page, steps wrapped and timed):")
    for label, ms in breakdown(bodies, worker).items():
        print(f"  {label:58} {ms:6.3f}")


if __name__ == "__main__":
    main()
