"""Import speed: `narrative-archive import` of a JSON-lines collection against `sqlite-utils
insert` + `enable-fts` of the same file, in the same run.

Writes N articles of the benchmark corpus (benchmarks/corpus.py: topic-dense news prose,
`--coverage` of them carrying real coverage of the narratives, some holding the rows of
FIELD_NOTES' FTS5 snippet() bug) as JSON lines, then

  ours:  narrative-archive import (in this process: import_files) with the shipped
         narratives plus the snippet-bug query: rows mapped in worker processes, batches of
         upserts with FTS5 triggers, then one rematch pass (snippets, terms, stances);
  alt:   sqlite-utils insert --nl, then sqlite-utils enable-fts (no matching at all).

Prints articles/s for the store phase and the whole import (rematch included), the
mentions found, whether the snippet() bug was met (and survived), and the alternative's
figures beside them.

    python benchmarks/import.py --articles 100000 --coverage 0.05
    python benchmarks/import.py --articles 300000 --coverage 0.29 [--no-stance] [--keep DIR]

`--keep DIR` writes the collection there once and reuses it; `--no-stance` leaves the
new mentions' stances pending (as the stance classifier's share is printed apart).

Never a timed assertion in the tests: run it, read it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import yaml
from corpus import BUG_NARRATIVE, ROOT, Corpus, NoStance, StanceClock

from narrative_archive import store
from narrative_archive.config import load_config
from narrative_archive.ingest import importer


class BugSeen(logging.Handler):
    """Notices the rematch's 'snippet() failed' message: the bug path was taken."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.seen = 0

    def emit(self, record):
        if "snippet() failed" in record.getMessage():
            self.seen += 1


def write_collection(path: Path, count: int, coverage: float) -> None:
    corpus = Corpus(coverage=coverage)
    with open(path, "w", encoding="utf-8") as handle:
        for n in range(count):
            handle.write(json.dumps(corpus.article(n), ensure_ascii=False) + "\n")


def config_dir(tmp: Path) -> Path:
    """The shipped config with the snippet-bug query as one more narrative."""
    target = tmp / "config"
    shutil.copytree(ROOT / "config", target, dirs_exist_ok=True)  # --keep: a second run
    narratives = yaml.safe_load((target / "narratives.yml").read_text(encoding="utf-8"))
    narratives.append(BUG_NARRATIVE)
    (target / "narratives.yml").write_text(yaml.safe_dump(narratives, allow_unicode=True),
                                           encoding="utf-8")
    return target


def ours(source: Path, db_path: Path, config, workers: int | None, stance: bool = True) -> dict:
    bug = BugSeen()
    logging.getLogger("narrative_archive").addHandler(bug)
    logging.getLogger("narrative_archive").setLevel(logging.INFO)
    db = store.open_db(db_path)
    marks = {}
    started, cpu = time.perf_counter(), time.process_time()
    with StanceClock() as clock, nullcontext() if stance else NoStance():
        summary = importer.import_files(
            db, [source], config, workers=workers,
            on_batch=lambda s: marks.update(stored=time.perf_counter(),
                                            cpu=time.process_time()))
    total = time.perf_counter() - started
    mentions = db.execute("SELECT count(*) FROM mentions").fetchone()[0]
    covered = db.execute("SELECT count(DISTINCT article_id) FROM mentions").fetchone()[0]
    db.close()
    return {"new": summary.new, "store": marks["stored"] - started, "total": total,
            "store_cpu": marks["cpu"] - cpu,
            "mentions": mentions, "covered": covered, "bug": bug.seen,
            "stance": clock.seconds, "stances": clock.mentions,
            "results": summary.mentions}


def alternative(source: Path, db_path: Path) -> dict:
    tool = str(Path(sys.executable).with_name("sqlite-utils"))
    started = time.perf_counter()
    subprocess.run([tool, "insert", str(db_path), "articles", str(source), "--nl"], check=True)
    inserted = time.perf_counter()
    subprocess.run([tool, "enable-fts", str(db_path), "articles", "title", "text",
                    "--tokenize", "porter", "--create-triggers"], check=True)
    return {"insert": inserted - started, "total": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--coverage", type=float, default=0.05,
                        help="share of articles carrying narrative coverage (default 0.05)")
    parser.add_argument("--workers", type=int, default=None,
                        help="import worker processes (default: one per core)")
    parser.add_argument("--keep", type=Path, help="keep the files in this directory")
    parser.add_argument("--no-stance", action="store_true",
                        help="leave the new mentions' stances pending (analyse --stance later)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = args.keep or Path(tmp_name)
        tmp.mkdir(parents=True, exist_ok=True)
        source = tmp / f"collection-{args.articles}-{args.coverage}.jsonl"
        if not source.exists():
            started = time.perf_counter()
            write_collection(source, args.articles, args.coverage)
            print(f"wrote {args.articles:,} articles ({source.stat().st_size / 2**20:.0f} MiB)"
                  f" in {time.perf_counter() - started:.0f} s")
        config = load_config(config_dir(tmp))
        for name in ("ours.db", "alternative.db"):
            for suffix in ("", "-wal", "-shm"):
                Path(str(tmp / name) + suffix).unlink(missing_ok=True)
        result = ours(source, tmp / "ours.db", config, args.workers, not args.no_stance)
        size = (tmp / "ours.db").stat().st_size / 2**20
        report(args, config, result, size)  # before the alternative runs: a long run shows it
        alt = alternative(source, tmp / "alternative.db")
    n = result["new"]
    print(f"sqlite-utils insert:        {alt['insert']:7.1f} s  {n / alt['insert']:7.0f} articles/s"
          "  (no FTS, no matching)")
    print(f"sqlite-utils insert + FTS:  {alt['total']:7.1f} s  {n / alt['total']:7.0f} articles/s"
          "  (enable-fts after the insert; no matching)")
    print(f"ratio, store phase / sqlite-utils insert + FTS: {alt['total'] / result['store']:.2f}")


def report(args, config, result: dict, size: float) -> None:
    n = result["new"]
    print(f"articles: {n:,}; coverage {args.coverage:.0%}; {os.cpu_count()} cores;"
          f" {len(config.narratives)} narratives (the shipped ones + the snippet-bug query)")
    print(f"import, store phase:        {result['store']:7.1f} s  {n / result['store']:7.0f} articles/s")
    print(f"  import process CPU (reader + writer), store phase: {1000 * result['store_cpu'] / n:.3f} ms/article: at most"
          f" {n / result['store_cpu']:.0f} articles/s with a core of its own")
    print(f"import + rematch + stance:  {result['total']:7.1f} s  {n / result['total']:7.0f} articles/s"
          f"  ({result['mentions']:,} mentions in {result['covered']:,} articles;"
          f" archive {size:.0f} MiB)")
    rematch = result["total"] - result["store"]
    print(f"  of which rematch (SQL):   {rematch - result['stance']:7.1f} s  (matching, snippets, terms)")
    if args.no_stance:
        print("  of which stance:              –    (--no-stance: the stances are left pending)")
    else:
        print(f"  of which stance:          {result['stance']:7.1f} s  ({result['stances']:,} mentions,"
              f" {1000 * result['stance'] / max(result['stances'], 1):.1f} ms each, in the workers)")
    print(f"snippet() bug met:          {'yes' if result['bug'] else 'no'}"
          f" ({result['bug']} narrative scans fell back to highlight())")
    for narrative_id, counts in result["results"].items():
        print(f"  {narrative_id:30s} {counts}", flush=True)


if __name__ == "__main__":
    main()
