"""The published archive under load: `narrative-archive serve` beside stock Datasette.

Builds an N-article archive with `narrative-archive import` (cached in
benchmarks/.cache/, keyed on N and the generator version), serves the same
file with `narrative-archive serve` and with stock `datasette FILE` on free
ports, and for each page runs C concurrent clients (each from its own loopback
address, as C readers; `--one-address`: all from 127.0.0.1) for a fixed duration,
then the same while a writer stores articles through store.save_article at a
crawl's rate; pages whose counts or rows `serve` keeps (searches, canned queries,
narrative pages) are measured again with those caches off. Prints the import rate,
the file size per 100k articles and a markdown table of req/s, p50, p95 and errors
("locked": responses or writes that failed with "database is locked").

Article text is real words: sentences from the test fixtures (tests/sites,
tests/files) and sentences generated from a bigram model of them, so FTS terms
have realistic frequencies; a fixed share of articles carries a narrative's
claim, so a narrative has mentions in proportion (over 10k at 1M).

    .venv/bin/python benchmarks/datasette.py [--articles 1000000] [--duration 10]

`--db PATH` keeps the archive where you say (built there once when missing, reused after:
a 1M archive takes about an hour to build here). The load average is printed before and
after each server's pages: the machine may be shared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import lxml.html
from w3lib.encoding import html_to_unicode

from narrative_archive import store
from narrative_archive.config import load_config

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / ".cache"
GENERATOR_VERSION = 2
BIN = Path(sys.executable).parent
# Pages, feeds and documents only: not robots.txt, plain-text sitemaps or API error bodies.
PAGE_SUFFIXES = (".html", ".htm", ".xml", ".json", ".rss", ".atom", ".rdf")

# Topical words: fixture sentences holding one are kept for the narrative share only.
TOPICAL = re.compile(r"taliban|russia|moscow|kremlin|iran|tehran|pakistan|bount|ghost|"
                     r"weapon|arms?\b|arming|left behind|intelligence|талиб|طالبان", re.I)
CLAIMS = {
    "russia-arming-taliban": (0.015, [
        "{who} said Russia is supplying weapons to the Taliban in {place}.",
        "Moscow has denied accusations that it is trying to arm the Taliban.",
        "Russian weapons were smuggled to Taliban fighters near {place}, {who} said.",
        "{who} accused the Kremlin of trying to arm the Taliban in {place}.",
    ]),
    "russia-taliban-bounties": (0.004, [
        "Russia offered a bounty to Taliban-linked militants for killing coalition troops, "
        "{who} said.",
    ]),
    "pakistan-backing-taliban": (0.004, [
        "{who} said Pakistan gives the Taliban a safe haven near {place}.",
    ]),
    "afghan-ghost-soldiers": (0.002, [
        "The audit in {place} found thousands of ghost soldiers on the payroll.",
    ]),
}
WHO = ["US officials", "a NATO commander", "General Nicholson", "the governor",
       "local officials", "a spokesman", "diplomats", "analysts"]
PLACES = ["Kunduz", "Helmand", "Kabul", "Herat", "Kandahar", "Badakhshan", "Faryab", "Balkh"]
AUTHORS = ["A. Karimi", "J. Smith", "M. Rahimi", "E. Ivanova", "S. Khan", "L. Martin"]
FIRST_DAY = datetime(2017, 1, 1, tzinfo=UTC).timestamp()
LAST_DAY = datetime(2024, 12, 31, tzinfo=UTC).timestamp()
SEARCH_TERMS = ["taliban", "kabul", "weapons", "election", "russia", "government", "water",
                "president"]


# --- the archive -----------------------------------------------------------------


def fixture_sentences() -> tuple[list[str], list[str]]:
    """(plain, topical) sentences from the fixture pages, feeds and documents."""
    texts = []
    for path in sorted([*ROOT.glob("tests/sites/**/*"), *ROOT.glob("tests/files/**/*")]):
        if not path.is_file() or path.suffix not in PAGE_SUFFIXES:
            continue
        # Decoded as a browser would (BOM, <meta charset>, XML declaration): cp1251 pages
        # are Cyrillic words, not Latin-1 mojibake.
        _encoding, html = html_to_unicode(None, path.read_bytes())
        try:
            tree = lxml.html.fromstring(html)
            for bad in tree.xpath("//script|//style"):
                bad.drop_tree()
            texts.append(tree.text_content())
        except (ValueError, lxml.etree.ParserError):
            continue
    sentences = set()
    for text in texts:
        for sentence in re.split(r"(?<=[.!?])\s+", " ".join(text.split())):
            words = sentence.split()
            if 6 <= len(words) <= 45 and sentence[0].isupper() and "{" not in sentence \
                    and "<" not in sentence and "http" not in sentence:
                sentences.add(sentence)
    ordered = sorted(sentences)
    return ([s for s in ordered if not TOPICAL.search(s)], [s for s in ordered if TOPICAL.search(s)])


def bigrams(sentences: list[str]) -> dict[str, list[str]]:
    model: dict[str, list[str]] = {}
    for sentence in sentences:
        words = ["<s>", *sentence.split(), "</s>"]
        for a, b in zip(words, words[1:], strict=False):
            model.setdefault(a, []).append(b)
    return model


def generated_sentence(rng: random.Random, model: dict[str, list[str]]) -> str:
    words, word = [], "<s>"
    while len(words) < 30:
        word = rng.choice(model[word])
        if word == "</s>":
            break
        words.append(word)
    sentence = " ".join(words)
    return sentence if sentence.endswith((".", "!", "?")) else sentence + "."


def generate(path: Path, count: int, seed: int = 13) -> None:
    """Write `count` articles as JSON lines of the archive's own fields."""
    rng = random.Random(seed)
    plain, _topical = fixture_sentences()
    model = bigrams(plain)
    domains = sorted({d for outlet in load_config().outlets for d in outlet.domains})
    domains += [f"news{n}.unknown.test" for n in range(20)]
    claims = [(narrative, share, templates) for narrative, (share, templates) in CLAIMS.items()]
    with open(path, "w", encoding="utf-8") as out:
        for index in range(count):
            sentences = [rng.choice(plain) if rng.random() < 0.5 else
                         generated_sentence(rng, model) for _ in range(rng.randint(8, 24))]
            for _narrative, share, templates in claims:
                if rng.random() < share:
                    claim = rng.choice(templates).format(who=rng.choice(WHO),
                                                         place=rng.choice(PLACES))
                    sentences.insert(rng.randrange(len(sentences) + 1), claim)
            published = datetime.fromtimestamp(rng.uniform(FIRST_DAY, LAST_DAY), UTC
                                               ).strftime("%Y-%m-%dT%H:%M:%SZ")
            domain = domains[min(int(rng.paretovariate(1.2)) - 1, len(domains) - 1)
                             if rng.random() < 0.6 else rng.randrange(len(domains))]
            record = {
                "url": f"https://{domain}/{published[:10].replace('-', '/')}/story-{index}",
                "title": " ".join(sentences[0].split()[:12]).rstrip("."),
                "text": "\n\n".join(" ".join(sentences[i:i + 3])
                                    for i in range(0, len(sentences), 3)),
                "authors": [rng.choice(AUTHORS)],
                "published_at": published if rng.random() < 0.9 else None,
                "language": "en",
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def build(count: int, db_path: Path | None = None) -> tuple[Path, dict]:
    """The archive of `count` articles (built now when missing) and its build figures:
    cached under benchmarks/.cache, or at `db_path` (its figures in build.json beside it)."""
    if db_path is None:
        directory = CACHE / f"n{count}-g{GENERATOR_VERSION}"
        db_path = directory / "archive.db"
    else:
        directory = db_path.parent
    meta_path = directory / "build.json"
    if meta_path.exists() and db_path.exists():
        started = time.perf_counter()
        with store.open_db(db_path) as db:  # a cached archive gets this branch's migrations
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if time.perf_counter() - started > 1:
            print(f"migrated {db_path} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        return db_path, json.loads(meta_path.read_text())
    if db_path.parent == CACHE / f"n{count}-g{GENERATOR_VERSION}":
        shutil.rmtree(directory, ignore_errors=True)
    else:
        for stale in (db_path, meta_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
            stale.unlink(missing_ok=True)
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / "articles.jsonl"
    started = time.perf_counter()
    generate(source, count)
    generated = time.perf_counter() - started
    print(f"generated {count:,} articles in {generated:.0f} s", file=sys.stderr)
    started = time.perf_counter()
    subprocess.run([str(BIN / "narrative-archive"), "import", "--db", str(db_path),
                    "--no-progress", str(source)], check=True, stdout=sys.stderr)
    imported = time.perf_counter() - started
    db = store.open_db(db_path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    mentions = dict(db.execute("SELECT narrative_id, count(*) FROM mentions GROUP BY 1"))
    db.close()
    meta = {"articles": count, "import_seconds": round(imported, 1),
            "import_rate": round(count / imported), "bytes": db_path.stat().st_size,
            "mentions": mentions}
    meta_path.write_text(json.dumps(meta, indent=2))
    source.unlink()
    return db_path, meta


# --- serving and load -------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(kind: str, db_path: Path, port: int, log: Path) -> subprocess.Popen:
    env = dict(os.environ)
    if kind in ("serve", "uncached"):
        args = [str(BIN / "narrative-archive"), "serve", "--db", str(db_path), "--port", str(port)]
        if kind == "uncached":  # every narrative page, search count and canned query's rows
            # counted anew, as after any write
            env["NARRATIVE_ARCHIVE_PAGE_CACHE"] = "off"
    else:
        args = [sys.executable, "-m", "datasette", "serve", str(db_path), "--port", str(port)]
    process = subprocess.Popen(args, stdout=log.open("w"), stderr=subprocess.STDOUT,
                               start_new_session=True, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/-/databases.json", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"{kind} exited: see {log}")
        time.sleep(0.3)
    raise RuntimeError(f"{kind} did not start: see {log}")


def stop_server(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


async def load(base: str, paths: list[str], clients: int, duration: float,
               one_address: bool = False) -> dict:
    """`clients` loops requesting `paths` in turn for `duration` seconds, each from its own
    address (127.0.0.2, 127.0.0.3, ...: eight readers, as admission control tells clients
    apart), or all from 127.0.0.1 with `one_address` (one client with eight connections,
    which admission control holds to one canned query at a time)."""
    latencies: list[float] = []
    errors = locked = 0
    counter = 0
    deadline = time.monotonic() + duration

    async def client(http: httpx.AsyncClient):
        nonlocal errors, locked, counter
        while time.monotonic() < deadline:
            path = paths[counter % len(paths)]
            counter += 1
            started = time.perf_counter()
            try:
                async with http.stream("GET", base + path) as response:
                    body = b"".join([chunk async for chunk in response.aiter_bytes()])
                ok = response.status_code == 200
                if b"database is locked" in body:
                    locked += 1
                    ok = False
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - started)
            errors += not ok

    started = time.monotonic()
    https = [httpx.AsyncClient(timeout=300, limits=httpx.Limits(max_connections=1),
                               transport=httpx.AsyncHTTPTransport(
                                   local_address=None if one_address else f"127.0.0.{2 + n}"))
             for n in range(clients)]
    try:
        await asyncio.gather(*(client(http) for http in https))
    finally:
        for http in https:
            await http.aclose()
    elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "requests": len(latencies), "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) if latencies else None,
        "p95": latencies[int(0.95 * (len(latencies) - 1))] if latencies else None,
        "errors": errors, "locked": locked,
    }


class Writer(threading.Thread):
    """Stores articles through store.save_article at `rate` per second, as a crawl does."""

    def __init__(self, db_path: Path, rate: float):
        super().__init__(daemon=True)
        self.db_path, self.rate = db_path, rate
        self.stop = threading.Event()
        self.written = self.locked = self.failed = 0

    def run(self) -> None:
        db = store.open_db(self.db_path, migrate=False)
        db.execute("PRAGMA synchronous = NORMAL")
        rng = random.Random()
        plain, _ = fixture_sentences()
        next_at = time.monotonic()
        while not self.stop.is_set():
            text = " ".join(rng.choice(plain) for _ in range(12))
            url = f"https://bench-writer.test/{time.time_ns()}"
            try:
                store.save_article(db, {"url": url, "canonical_url": url, "title": text[:60],
                                        "text": text, "content_hash": str(hash(text))},
                                   None, via="bench-writer")
                self.written += 1
            except Exception as error:  # counted, reported
                self.locked += "locked" in str(error)
                self.failed += 1
            next_at += 1 / self.rate
            self.stop.wait(max(0.0, next_at - time.monotonic()))
        db.close()


def remove_written(db_path: Path) -> None:
    db = store.open_db(db_path, migrate=False)
    with store.transaction(db):
        db.execute("DELETE FROM articles WHERE via = 'bench-writer'")
    db.close()


def pages(db_path: Path, mentions: dict) -> list[tuple[str, list[str], bool]]:
    """(page, paths, also on stock Datasette) for every page measured."""
    db = store.open_db(db_path, migrate=False)
    top, _ = max(mentions.items(), key=lambda item: item[1])
    ids = [row[0] for row in db.execute("SELECT id FROM articles ORDER BY random() LIMIT 200")]
    db.close()
    return [
        ("articles table page (HTML)", ["/archive/articles"], True),
        ("FTS search, JSON", [f"/archive/articles.json?_search={t}" for t in SEARCH_TERMS], True),
        ("FTS search page (HTML)", [f"/archive/articles?_search={t}" for t in SEARCH_TERMS], True),
        ("article row page", [f"/archive/articles/{i}" for i in ids], True),
        ("search with snippets (search_snippets, HTML)",
         [f"/archive/search_snippets?q={t}" for t in SEARCH_TERMS], False),
        ("canned timeline JSON", [f"/archive/timeline.json?narrative={top}&by=day"], False),
        ("narratives list (HTML)", ["/narratives"], False),
        (f"narrative page (HTML, {mentions[top]:,} mentions)", [f"/narratives/{top}"], False),
        ("narrative page, filtered (HTML)",
         [f"/narratives/{top}?since=2020-01-01&until=2020-12-31",
          f"/narratives/{top}?country=RU", f"/narratives/{top}?stance=disputes&kind=state"],
         False),
        ("narrative page JSON", [f"/narratives/{top}.json"], False),
        ("narrative block CSV", [f"/narratives/{top}/outlets.csv"], False),
        ("first appearance JSON", [f"/archive/first_appearance.json?narrative={top}"], False),
        (f"mentions CSV, streamed ({mentions[top]:,} rows)",
         [f"/archive/mention_articles.csv?narrative_id={top}&_stream=on&_size=max"], True),
        (f"narrative export CSV, /-/export ({mentions[top]:,} rows)", [f"/-/export/{top}.csv"],
         False),
        (f"narrative export CSV, 1 client ({mentions[top]:,} rows)", [f"/-/export/{top}.csv"],
         False),
    ]


def cell(result: dict | None) -> str:
    if result is None:
        return "–"
    if not result["requests"]:
        return "no response"
    text = f"{result['rps']:.1f} req/s, p50 {fmt_s(result['p50'])}, p95 {fmt_s(result['p95'])}"
    if result["errors"]:
        text += f", {result['errors']} errors"
        if result["locked"]:
            text += f" ({result['locked']} locked)"
    return text


def kept(page: str) -> bool:
    """Whether `serve` keeps what the page counts while the archive is unchanged (narrative
    pages, search counts, canned queries): measured again with its caches off."""
    return any(word in page for word in ("narrative", "search", "snippets", "canned",
                                         "appearance"))


def load_average() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def fmt_s(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--duration", type=float, default=10, help="seconds per page")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--write-rate", type=float, default=10, help="articles/s while writing")
    parser.add_argument("--no-stock", action="store_true", help="skip stock Datasette")
    parser.add_argument("--build-only", action="store_true", help="build the archive, serve nothing")
    parser.add_argument("--only", metavar="TEXT", action="append",
                        help="measure only pages whose name has TEXT (repeatable)")
    parser.add_argument("--no-writer", action="store_true", help="skip the runs with a writer")
    parser.add_argument("--one-address", action="store_true",
                        help="every client from 127.0.0.1 (admission control then sees one "
                             "client: one canned query at a time)")
    parser.add_argument("--db", type=Path, metavar="PATH",
                        help="the archive file to use (built there when missing, else reused)")
    args = parser.parse_args()

    db_path, meta = build(args.articles, args.db)
    if args.build_only:
        print(f"{db_path}: {json.dumps(meta)}")
        return
    size_per_100k = meta["bytes"] / meta["articles"] * 100_000
    print(f"\nArchive: {meta['articles']:,} articles, {meta['bytes'] / 2**20:,.0f} MiB "
          f"({size_per_100k / 2**20:,.0f} MiB per 100k articles); import "
          f"{meta['import_seconds']} s ({meta['import_rate']:,} articles/s, with FTS and "
          f"matching); mentions {meta['mentions']}\n")
    measured = [page for page in pages(db_path, meta["mentions"])
                if not args.only or any(text in page[0] for text in args.only)]
    results: dict[tuple[str, str, bool], dict] = {}
    kinds = ["serve"] + ([] if args.no_stock else ["stock"])
    if any(kept(name) for name, _paths, _stock in measured):
        kinds.append("uncached")
    loads: list[str] = []
    for kind in kinds:
        port = free_port()
        process = start_server(kind, db_path, port, db_path.parent / f"{kind}.log")
        loads.append(f"{kind} from {load_average()}")
        try:
            for writing in (False,) if args.no_writer else (False, True):
                writer = Writer(db_path, args.write_rate) if writing else None
                if writer:
                    writer.start()
                for name, paths, on_stock in measured:
                    if (kind == "stock" and not on_stock) or (
                            kind == "uncached" and not kept(name)):
                        continue
                    clients = 1 if "1 client" in name else args.clients
                    result = asyncio.run(load(f"http://127.0.0.1:{port}", paths, clients,
                                              args.duration, args.one_address))
                    results[(name, kind, writing)] = result
                    print(f"{kind:5} {'writing' if writing else 'idle':7} {name}: {cell(result)}",
                          file=sys.stderr)
                if writer:
                    writer.stop.set()
                    writer.join()
                    results[("writer", kind, True)] = {"written": writer.written,
                                                       "locked": writer.locked,
                                                       "failed": writer.failed}
                    remove_written(db_path)
        finally:
            stop_server(process)
            loads[-1] += f" to {load_average()}"

    print(f"{args.clients} clients ({'one address' if args.one_address else 'one address each'}),"
          f" {args.duration:g} s per page, {meta['articles']:,} articles;"
          f" load average (1 min) {'; '.join(loads)}\n")
    header = ["page", "narrative-archive serve", "stock Datasette",
              f"serve, writer at {args.write_rate:g}/s", f"stock, writer at {args.write_rate:g}/s",
              "serve, caches off", "caches off, writer"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name, _paths, _on_stock in measured:
        cells = [cell(results.get((name, kind, writing)))
                 for kind_pair in (("serve", "stock"), ("uncached",))
                 for writing in (False, True) for kind in kind_pair]
        print("| " + " | ".join([name, *cells]) + " |")
    for kind in kinds:
        writer = results.get(("writer", kind, True))
        if writer:
            print(f"\nwriter beside {kind}: {writer['written']} articles stored, "
                  f"{writer['failed']} failed ({writer['locked']} 'database is locked')")


if __name__ == "__main__":
    main()
