"""Rematch speed: narratives evaluated by FTS5 over the archive vs a Python `re` scan.

Builds an archive of the benchmark corpus (benchmarks/corpus.py: topic-dense news prose,
`--coverage` of the articles carrying real coverage of the narratives, some holding the
rows of FIELD_NOTES' FTS5 snippet() bug), then

  1. times `rematch` of each shipped narrative and of the snippet-bug query (NEAR,
     prefixes, phrases: what users run; the bug query's scan fails on snippet() and
     falls back to one highlight() scan), per narrative: the "one narrative over N" figure
     (a claim rule's candidates are read by worker processes, match.workers: their CPU
     is not in "CPU here");
  2. times `rematch` of 10 boolean narratives (groups of alternatives, AND-ed; matching,
     snippets and terms: stances are not computed here) against a Python regex scan of
     the same texts for the same narratives, and how often the two
     agree (FTS5 stems English words, the regexes take a plural or -ed/-ing form: they
     differ on a few texts).

    .venv/bin/python benchmarks/rematch.py [--articles 100000] [--coverage 0.29] [--keep PATH]
        [--no-stance] [--shipped-only]

`--keep PATH` builds the archive there once and reuses it (a rerun does the same matching;
the mentions it keeps keep their snippets and need no new stance, and the claim rules' rejected
candidates are not read again); `--no-stance` leaves stances out of the shipped
narratives' rematch (reported apart anyway); `--shipped-only` skips part 2; `--new-version
[VARIANT]` gives each shipped narrative a new version before its rematch, as a tuning round's
change does: its query gains the language variant VARIANT (by default a Russian one, `NEAR(росси*
поставля* оружи* талиб*, 10)`: its words stand in the corpus's Russian and Ukrainian
articles), or, with VARIANT "", the same query as a new version. Every kept mention gets the new version and a history row; the
snippets are cut again where the variant's words stand. (With `--keep` the archive keeps the
variant: the next run without `--new-version` is a query change back.)
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import re
import resource
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

from corpus import BUG_QUERY, Corpus, NoStance, StanceClock

from narrative_archive import store
from narrative_archive.config import Narrative, load_config
from narrative_archive.match import narratives

# Each narrative: groups of alternatives; an article matches when every group matches.
NARRATIVE_GROUPS = [
    [["russia", "moscow", "kremlin"], ["taliban"], ["weapons", "arms", "rifles"]],
    [["iran", "tehran"], ["taliban"], ["weapons", "missiles"]],
    [["pakistan", "islamabad"], ["taliban"], ["crossing", "crossings"]],
    [["wheat", "fuel"], ["prices", "imports"], ["kabul", "capital"]],
    [["opium", "poppy"], ["taliban"], ["banned", "ban"]],
    [["drought"], ["families"], ["food"]],
    [["china", "chinese"], ["mining"], ["contracts"]],
    [["embassy"], ["reopen"], ["winter"]],
    [["delegation"], ["travel"], ["abroad"]],
    [["kunduz", "herat"], ["security", "weapons"], ["market", "caches"]],
]
TERMS = sorted({word for groups in NARRATIVE_GROUPS for group in groups for word in group})


def fts_query(groups) -> str:
    return " AND ".join("(" + " OR ".join(group) + ")" for group in groups)


def regex_groups(groups):
    return [re.compile(r"\b(?:" + "|".join(group) + r")(?:s|es|ed|ing)?\b", re.IGNORECASE)
            for group in groups]


def build(path: Path, count: int, coverage: float) -> None:
    db = store.open_db(path)
    store.save_outlets(db, [{"id": "bench", "name": "Bench"}])
    now = store.now()
    corpus = Corpus(coverage=coverage)
    batch = []
    started = time.perf_counter()
    for n in range(count):
        row = corpus.article(n)
        batch.append({**row, "canonical_url": row["url"], "outlet_id": "bench",
                      "first_seen_at": now, "last_seen_at": now, "fetched_at": now})
        if len(batch) == 5000:
            db["articles"].insert_all(batch)
            batch = []
    if batch:
        db["articles"].insert_all(batch)
    print(f"built {count:,} articles ({coverage:.0%} with coverage) in"
          f" {time.perf_counter() - started:.1f} s ({path.stat().st_size / 2**20:.0f} MiB)")
    db.close()


def cpu_seconds() -> float:
    """CPU time of this process so far (user + system): the figure a shared machine's load
    hardly moves."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class BugSeen(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.seen = 0

    def emit(self, record):
        self.seen += "snippet() failed" in record.getMessage()


CHANGE = "NEAR(росси* поставля* оружи* талиб*, 10)"


def new_version(db, narrative_id: str) -> None:
    """The narrative's next version with the same query, as save_narratives records a
    changed one."""
    with db.conn:
        db.execute("UPDATE narratives SET version = version + 1 WHERE id = ?", [narrative_id])
        db.execute("INSERT INTO narrative_versions (narrative_id, version, query, queries,"
                   " created_at) SELECT id, version, query, queries, ? FROM narratives"
                   " WHERE id = ?", [store.now(), narrative_id])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--coverage", type=float, default=0.29)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the archive here")
    parser.add_argument("--no-stance", action="store_true",
                        help="shipped narratives: matching, snippets and terms only (no stance)")
    parser.add_argument("--shipped-only", action="store_true",
                        help="skip the 10 boolean narratives and the re scan")
    parser.add_argument("--new-version", nargs="?", const=CHANGE, metavar="VARIANT",
                        help="a new version of each shipped narrative first: its query gains"
                        " this language variant (default: %(const)s); \"\" keeps the query")
    parser.add_argument("--claim-change", metavar="LIST=TERM",
                        help="each shipped narrative's claim rule first gains TERM in LIST"
                        " (act=equips), as a tuning round changes a rule")
    parser.add_argument("--narrative", action="append", metavar="ID",
                        help="rematch only this shipped narrative (repeatable)")
    args = parser.parse_args()
    bug = BugSeen()
    logging.getLogger("narrative_archive").addHandler(bug)
    logging.getLogger("narrative_archive").setLevel(logging.INFO)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "bench.db"
        if not path.exists():
            build(path, args.articles, args.coverage)
        db = store.open_db(path)
        count = db["articles"].count
        db.execute("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'warmup'")

        shipped = [*load_config(None).narratives, Narrative("snippet-bug", "Bug", BUG_QUERY)]
        narratives.save_narratives(db, shipped)
        print(f"articles: {count:,}")
        print("shipped narratives and the snippet-bug query, one rematch each"
              " (snippets, terms, stances of new mentions):")
        for narrative in shipped:
            if args.narrative and narrative.id not in args.narrative:
                continue
            if args.new_version:
                narrative = dataclasses.replace(
                    narrative, queries=(*narrative.queries, ("x-bench", args.new_version)))
                narratives.save_narratives(db, [narrative])
            elif args.new_version == "":
                new_version(db, narrative.id)
            if args.claim_change and narrative.claim:
                role, term = args.claim_change.split("=", 1)
                lists = dict(narrative.claim)
                lists[role] = (*lists.get(role, ()), term)
                narrative = dataclasses.replace(narrative, claim=tuple(lists.items()))
            met = bug.seen
            started, cpu = time.perf_counter(), cpu_seconds()
            with StanceClock() as clock, NoStance() if args.no_stance else nullcontext():
                result = narratives.rematch(db, narrative)
            seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
            print(f"  {narrative.id:30s} {seconds:7.2f} s  {result['matched']:7,} matched;"
                  f" CPU here {cpu:6.2f} s; SQL {seconds - clock.seconds:6.2f} s,"
                  f" stance {clock.seconds:6.2f} s"
                  f"{'  (snippet() bug met: highlight() scan)' if bug.seen > met else ''}")

        if args.shipped_only:
            db.close()
            return
        defined = [Narrative(f"n{i}", f"N{i}", fts_query(g)) for i, g in enumerate(NARRATIVE_GROUPS)]
        narratives.save_narratives(db, defined)
        started = time.perf_counter()
        with NoStance():  # matching, snippets and terms, as the re scan only matches
            fts_hits = {n.id: narratives.rematch(db, n)["matched"] for n in defined}
        fts_seconds = time.perf_counter() - started

        compiled = [(f"n{i}", regex_groups(g)) for i, g in enumerate(NARRATIVE_GROUPS)]
        re_hits = dict.fromkeys(fts_hits, 0)
        started = time.perf_counter()
        for title, text in db.execute("SELECT title, text FROM articles"):
            body = f"{title}\n{text}"
            for narrative_id, groups in compiled:
                if all(group.search(body) for group in groups):
                    re_hits[narrative_id] += 1
        re_seconds = time.perf_counter() - started
        db.close()

    mentions = sum(fts_hits.values())
    agree = sum(min(fts_hits[k], re_hits[k]) for k in fts_hits) / max(
        sum(max(fts_hits[k], re_hits[k]) for k in fts_hits), 1)
    print(f"10 boolean narratives: {mentions:,} mentions")
    print(f"  rematch (FTS5, SQL): {fts_seconds:7.2f} s  (matching, snippets, terms; stances"
          " not computed)")
    print(f"  python re scan:      {re_seconds:7.2f} s  (matching only: no snippets, no stance)")
    print(f"  ratio:               {re_seconds / fts_seconds:7.1f}x")
    print(f"  agreement:           {agree:7.1%}  (FTS5 {fts_hits}; re {re_hits})")


if __name__ == "__main__":
    main()
