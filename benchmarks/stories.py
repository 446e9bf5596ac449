"""Near-duplicate stories: MinHash LSH (datasketch) against trafilatura's Simhash.

    python benchmarks/stories.py [--events 300] [--index-size 1000000] [--wire 97x41]

Quality on tests/files/stories/corpus.yml (hand-written reports, each syndicated with a
changed dateline, a tagline, a "first published by" line, a trimmed last paragraph) plus
synthetic events whose reports share quotes: the share of copies clustered with their
original, and the share of distinct same-event report pairs merged. Speed: signatures per
second. Memory: an LSH index of --index-size articles held in SQLite, its RSS and lookup time.
Wire copies (--wire STORIESxCOPIES): every story copied by many outlets, ingested into a real
archive the crawl's way (analysis.archive.assign_story, in batches of 20 a transaction), CPU
an article as the stories grow, beside datasketch's MinHashLSH in memory (query + insert).
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import sqlite3
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import psutil
import yaml
from trafilatura.deduplication import Simhash

from narrative_archive.analysis import stories

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "files" / "stories" / "corpus.yml"


def syndicate(text: str, copy: dict) -> str:
    paragraphs = text.split("\n\n")
    if copy.get("trim"):
        paragraphs = paragraphs[: -copy["trim"]]
    return copy.get("prefix", "") + "\n\n".join(paragraphs) + copy.get("suffix", "")


def hand_corpus():
    data = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    reports = [(event["id"], report["id"], report["text"], report["date"])
               for event in data["events"] for report in event["reports"]]
    return reports, data["copies"]


def synthetic_corpus(events: int, seed: int = 7):
    """Events of three reports each: two shared quotes, the rest each outlet's own sentences."""
    rng = random.Random(seed)
    reports, _ = hand_corpus()
    vocabulary = sorted({w for _, _, text, _ in reports for w in text.split() if w.isalpha()})

    def sentence(n):
        return " ".join(rng.choice(vocabulary) for _ in range(n)).capitalize() + "."

    out = []
    for e in range(events):
        quotes = [f'"{sentence(rng.randint(12, 20))}" an official said.' for _ in range(2)]
        facts = sentence(14)
        for r in range(3):
            paragraphs = [" ".join(sentence(rng.randint(12, 22)) for _ in range(2)) for _ in range(rng.randint(3, 6))]
            paragraphs.insert(1, quotes[0] + " " + facts)
            paragraphs.insert(3, quotes[1])
            out.append((f"s{e}", f"s{e}-{r}", "\n\n".join(paragraphs), f"2020-01-{1 + r:02d}T00:00:00+00:00"))
    return out


def articles(reports, copies):
    rows = []  # (article_id, report_id, event_id, text, date)
    for event, report, text, date in reports:
        rows.append((report, report, event, text, date))
        for n, copy in enumerate(copies):
            later = datetime.fromisoformat(date) + timedelta(hours=n + 1)
            rows.append((f"{report}~{n}", report, event, syndicate(text, copy), later.isoformat()))
    return rows


def score(rows, clusters):
    """(share of copies in their original's cluster, share of same-event report pairs merged,
    share of different-event report pairs merged)."""
    copies = [r for r in rows if r[0] != r[1]]
    together = sum(clusters[r[0]] == clusters[r[1]] for r in copies) / len(copies)
    originals = [r for r in rows if r[0] == r[1]]
    same = [(a, b) for a, b in itertools.combinations(originals, 2) if a[2] == b[2]]
    merged = sum(clusters[a[0]] == clusters[b[0]] for a, b in same) / len(same)
    return together, merged, len(copies), len(same)


def minhash_clusters(rows):
    ordered = sorted(rows, key=lambda r: r[4])
    return stories.stories_of(stories.cluster((r[0], r[3], r[4]) for r in ordered))


def simhash_clusters(rows, threshold):
    hashes = {r[0]: Simhash(r[3]) for r in rows}
    parent = {r[0]: r[0] for r in rows}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    ids = list(hashes)
    for a, b in itertools.combinations(ids, 2):
        if hashes[a].similarity(hashes[b]) >= threshold:
            parent[find(a)] = find(b)
    return {i: find(i) for i in ids}


class SqliteStorage:
    """The storage a store would keep: buckets and signatures in tables, nothing in memory."""

    def __init__(self, path):
        self.db = sqlite3.connect(path)
        self.db.executescript(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;"
            "CREATE TABLE IF NOT EXISTS story_buckets (bucket INTEGER, article_id INTEGER);"
            "CREATE TABLE IF NOT EXISTS story_signatures (article_id INTEGER PRIMARY KEY, signature BLOB, date TEXT, story_id INTEGER);"
        )

    def index(self):
        self.db.execute("CREATE INDEX IF NOT EXISTS story_buckets_bucket_article"
                        " ON story_buckets(bucket, article_id)")

    def candidates(self, keys):
        keys = list(keys)
        sql = f"SELECT article_id FROM story_buckets WHERE bucket IN ({','.join('?' * len(keys))})"
        return {row[0] for row in self.db.execute(sql, keys)}

    def get(self, article_id):
        row = self.db.execute("SELECT signature, date, story_id FROM story_signatures WHERE article_id = ?", [article_id]).fetchone()
        return stories.Entry(*row) if row else None

    def put(self, article_id, keys, entry):
        self.db.executemany("INSERT INTO story_buckets VALUES (?, ?)", [(k, article_id) for k in keys])
        self.db.execute("INSERT OR REPLACE INTO story_signatures VALUES (?, ?, ?, ?)", [article_id, entry.signature, entry.date, entry.story_id])

    def remove(self, article_id):
        if self.get(article_id):  # re-indexing an article; the bench never does
            self.db.execute("DELETE FROM story_buckets WHERE article_id = ?", [article_id])
            self.db.execute("DELETE FROM story_signatures WHERE article_id = ?", [article_id])

    def rename_stories(self, old, new):
        old = list(old)
        self.db.execute(f"UPDATE story_signatures SET story_id = ? WHERE story_id IN ({','.join('?' * len(old))})", [new, *old])


def memory_at_scale(size: int, sample_texts):
    rng = random.Random(3)
    process = psutil.Process()
    with tempfile.TemporaryDirectory() as tmp:
        storage = SqliteStorage(os.path.join(tmp, "index.db"))
        started = time.perf_counter()
        batch = 20000
        for first in range(0, size, batch):
            rows, sigs = [], []
            for article_id in range(first, min(size, first + batch)):
                sig = rng.randbytes(stories.SIGNATURE_BYTES)
                rows.extend((key, article_id) for key in stories.band_keys(sig))
                sigs.append((article_id, sig, "2019-01-01T00:00:00Z", article_id))
            storage.db.executemany("INSERT INTO story_buckets VALUES (?, ?)", rows)
            storage.db.executemany("INSERT INTO story_signatures VALUES (?, ?, ?, ?)", sigs)
            storage.db.commit()
        storage.index()
        storage.db.commit()
        filled = time.perf_counter() - started
        index = stories.StoryIndex(storage)
        rss_before = process.memory_info().rss
        started = time.perf_counter()
        for n, text in enumerate(sample_texts):
            index.add(size + n, text, "2020-01-01T00:00:00Z")
        per_add = (time.perf_counter() - started) / len(sample_texts)
        rss = process.memory_info().rss
        megabytes = os.path.getsize(os.path.join(tmp, "index.db")) / 1e6
    print(f"\nLSH index of {size:,} articles in SQLite: built in {filled:.0f} s, {megabytes:,.0f} MB on disk;"
          f" add + lookup {per_add * 1000:.2f} ms per article; process RSS {rss / 1e6:.0f} MB"
          f" ({(rss - rss_before) / 1e6:+.0f} MB while adding {len(sample_texts)})")


def wire_copies(n_stories: int, copies: int) -> None:
    """Each of n_stories synthetic reports arriving `copies` times (an outlet's line on top),
    interleaved as a crawl meets them; the crawl's ingest over a real archive."""
    import datasketch
    import numpy as np

    from narrative_archive import store
    from narrative_archive.analysis import archive

    reports = synthetic_corpus(n_stories // 3 + 1)[:n_stories]
    rows = [(n + 1, f"{reports[n % n_stories][2]}\n\nRepublished by outlet {n // n_stories}.")
            for n in range(n_stories * copies)]
    rows = [(article_id, text, stories.text_signature(text)) for article_id, text in rows]
    with tempfile.TemporaryDirectory() as tmp:
        db = store.open_db(Path(tmp) / "archive.db")
        with store.transaction(db):
            db.conn.executemany(
                "INSERT INTO articles (id, url, canonical_url, text, published_at, first_seen_at,"
                " last_seen_at, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(i, f"https://x.example/{i}", f"https://x.example/{i}", text,
                  "2024-05-20T10:00:00Z", *["2024-05-20T10:00:00Z"] * 3) for i, text, _ in rows])
        cpu = []
        for first in range(0, len(rows), 20):
            started = time.process_time()
            with store.transaction(db):
                for article_id, text, sig in rows[first:first + 20]:
                    archive.assign_story(db, article_id, text, signature=sig)
            cpu.append((time.process_time() - started) / len(rows[first:first + 20]))
        found = db.execute("SELECT count(DISTINCT story_id) FROM articles").fetchone()[0]
        db.close()
    lsh = datasketch.MinHashLSH(threshold=stories.THRESHOLD, num_perm=stories.NUM_PERM)
    started = time.process_time()
    for article_id, _, sig in rows:
        minhash = datasketch.MinHash(num_perm=stories.NUM_PERM, scheme="affine32",
                                     hashvalues=np.frombuffer(sig, dtype="<u4"))
        lsh.query(minhash)
        lsh.insert(article_id, minhash)
    in_memory = (time.process_time() - started) / len(rows)
    quarter = max(1, len(cpu) // 4)
    print(f"\nwire copies: {n_stories} stories x {copies} copies = {len(rows):,} articles,"
          f" {found} stories found")
    print(f"the archive (assign_story): {1000 * sum(cpu) / len(cpu):.3f} ms of CPU an article"
          f" (first quarter {1000 * sum(cpu[:quarter]) / quarter:.3f},"
          f" last quarter {1000 * sum(cpu[-quarter:]) / quarter:.3f})")
    print(f"datasketch MinHashLSH in memory (query + insert, no story): {1000 * in_memory:.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300, help="synthetic events (three reports each)")
    parser.add_argument("--index-size", type=int, default=1_000_000, help="articles in the memory test (0: skip)")
    parser.add_argument("--wire", default="97x41", help="wire copies: STORIESxCOPIES (0: skip)")
    args = parser.parse_args()
    if args.wire != "0":
        wire_copies(*map(int, args.wire.split("x")))
    reports, copies = hand_corpus()
    for name, corpus in (("hand-written", reports), ("synthetic", synthetic_corpus(args.events))):
        rows = articles(corpus, copies)
        print(f"\n{name}: {len(corpus)} reports, {len(rows)} articles with copies")
        print(f"{'method':<28}{'copies clustered':>18}{'same-event merged':>19}{'signatures/s':>14}")
        started = time.perf_counter()
        for row in rows:
            stories.signature(row[3])
        rate = len(rows) / (time.perf_counter() - started)
        together, merged, n_copies, n_pairs = score(rows, minhash_clusters(rows))
        print(f"{'MinHash LSH (datasketch)':<28}{together:>18.3f}{merged:>19.3f}{rate:>14.0f}")
        started = time.perf_counter()
        for row in rows:
            Simhash(row[3])
        rate = len(rows) / (time.perf_counter() - started)
        for threshold in (0.85, 0.9, 0.95):
            together, merged, _, _ = score(rows, simhash_clusters(rows, threshold))
            print(f"{f'Simhash >= {threshold}':<28}{together:>18.3f}{merged:>19.3f}{rate:>14.0f}")
        print(f"({n_copies} copies, {n_pairs} same-event pairs of distinct reports)")
    if args.index_size:
        memory_at_scale(args.index_size, [r[2] for r in reports] * 20)


if __name__ == "__main__":
    main()
