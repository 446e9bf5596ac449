"""Rematch speed: narratives evaluated by FTS5 over the archive vs a Python `re` scan.

Builds an archive of synthetic ~500-word articles (100k by default), defines 10
narratives as boolean FTS5 queries, times a full `rematch` of all of them, then
times a Python regex scan of the same texts for the same narratives, and prints
both, the ratio and whether the two agree.

    .venv/bin/python benchmarks/rematch.py [--articles 100000] [--keep PATH]
"""

from __future__ import annotations

import argparse
import random
import re
import tempfile
import time
from pathlib import Path

from narrative_archive import store
from narrative_archive.config import Narrative
from narrative_archive.match import narratives

# Each narrative: groups of alternatives; an article matches when every group matches.
NARRATIVE_GROUPS = [
    [["russia", "moscow", "kremlin"], ["taliban"], ["weapons", "arms", "rifles"]],
    [["russia", "gru"], ["bounty", "bounties"], ["troops", "soldiers"]],
    [["iran", "tehran"], ["taliban"], ["weapons", "missiles"]],
    [["pakistan", "isi"], ["taliban"], ["haven", "sanctuary"]],
    [["abandoned", "left"], ["equipment", "humvees", "helicopters"], ["taliban"]],
    [["ghost"], ["soldiers", "payrolls"], ["afghan", "kabul"]],
    [["china", "beijing"], ["taliban"], ["mining", "lithium"]],
    [["india", "delhi"], ["taliban"], ["embassy", "envoy"]],
    [["opium", "poppy"], ["taliban"], ["ban", "eradication"]],
    [["drone", "airstrike"], ["kabul"], ["civilians", "children"]],
]
TERMS = sorted({word for groups in NARRATIVE_GROUPS for group in groups for word in group})


def fts_query(groups) -> str:
    return " AND ".join("(" + " OR ".join(group) + ")" for group in groups)


def regex_groups(groups):
    return [re.compile(r"\b(?:" + "|".join(group) + r")\b", re.IGNORECASE) for group in groups]


def synthetic_articles(count: int, seed: int = 7):
    rng = random.Random(seed)
    vocabulary = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 10)))
        for _ in range(20000)
    ]
    vocabulary = [w for w in vocabulary if w not in TERMS]
    for index in range(count):
        words = rng.choices(vocabulary, k=500)
        # Sprinkle narrative terms so each narrative matches a few percent of articles.
        for _ in range(rng.randint(0, 16)):
            words[rng.randrange(500)] = rng.choice(TERMS)
        yield {
            "url": f"https://bench.example/{index}",
            "canonical_url": f"https://bench.example/{index}",
            "title": " ".join(words[:8]).capitalize(),
            "text": " ".join(words),
            "published_at": f"20{17 + index % 5}-0{1 + index % 9}-1{index % 10}",
        }


def build(path: Path, count: int) -> None:
    db = store.open_db(path)
    store.save_outlets(db, [{"id": "bench", "name": "Bench"}])
    now = store.now()
    batch = []
    started = time.perf_counter()
    for row in synthetic_articles(count):
        batch.append({**row, "outlet_id": "bench", "first_seen_at": now, "last_seen_at": now,
                      "fetched_at": now})
        if len(batch) == 5000:
            db["articles"].insert_all(batch)
            batch = []
    if batch:
        db["articles"].insert_all(batch)
    print(f"built {count:,} articles in {time.perf_counter() - started:.1f} s "
          f"({path.stat().st_size / 2**20:.0f} MiB)")
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the archive here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "bench.db"
        if not path.exists():
            build(path, args.articles)
        db = store.open_db(path)
        count = db["articles"].count
        defined = [Narrative(f"n{i}", f"N{i}", fts_query(g)) for i, g in enumerate(NARRATIVE_GROUPS)]
        narratives.save_narratives(db, defined)
        db.execute("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'warmup'")

        started = time.perf_counter()
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
    print(f"articles: {count:,}; narratives: {len(defined)}; mentions: {mentions:,}")
    print(f"rematch (FTS5, SQL): {fts_seconds:.2f} s")
    print(f"python re scan:      {re_seconds:.2f} s")
    print(f"ratio:               {re_seconds / fts_seconds:.1f}x faster")
    print(f"same matches:        {fts_hits == re_hits}")


if __name__ == "__main__":
    main()
