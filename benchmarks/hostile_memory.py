"""Memory of a crawl on hostile pages: the peak RSS and PSS of the crawl's whole process tree.

For each hostile case a local outlet on 127.0.0.1 serves a feed listing one ordinary
article and the hostile page; `narrative-archive crawl feeds` (default settings but
politeness off, WARC capture on) fetches, extracts and stores both, while the crawl
process and every descendant (the extraction forkserver and workers) is sampled with
psutil every 20 ms. RSS counts a page shared by several processes once per process;
PSS divides it among them (what the tree really costs). The last line crawls every
hostile page at once.

Cases (each page within DOWNLOAD_MAXSIZE, 10 MiB, as a hostile outlet would serve):
  baseline        two ordinary articles
  links-100k      100,000 links in the article body
  deep-nesting    100,000 nested <div>s around the article
  huge-text       9 MiB of words in paragraphs (1.5 million words)
  one-long-word   9 MiB without a space or a tag
  many-scripts    50,000 <script> elements
  huge-jsonld     a 9 MiB JSON-LD block of 200,000 nodes
  many-elements   500,000 empty <span>s
  wide-attributes 600 elements of 1,000 attributes each
  combined        all of the above in one crawl

    .venv/bin/python benchmarks/hostile_memory.py [--cases links-100k,combined] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _local import NOT_FOUND, LocalServer, TreeMemory

REPO = Path(__file__).resolve().parent.parent
MiB = 2**20
PARAGRAPH = ("Officials in Kabul said on Tuesday that the new border agreement would reopen"
             " trade routes closed since the winter, and that the ministry expected prices of"
             " wheat and fuel to fall before the harvest. ")
TARGET_RSS, TARGET_PSS = 500, 400  # MiB, for the crawl's process tree


def article(title: str, body: str = "", head: str = "", before: str = "",
            after: str = "") -> bytes:
    paragraphs = "".join(f"<p>{PARAGRAPH * 3}</p>" for _ in range(6))
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
            f"{head}</head><body>{before}<article><h1>{title}</h1>{paragraphs}{body}</article>"
            f"{after}</body></html>").encode()


def hostile_pages() -> dict[str, bytes]:
    big = 9 * MiB
    words = PARAGRAPH.split()
    text_paragraph = "<p>" + " ".join(words * 20) + "</p>"
    node = {"@type": "Person", "name": "Someone Somebody", "url": "https://example.test/p"}
    graph = json.dumps({"@context": "https://schema.org", "@graph": [
        {**node, "@id": f"#p{n}"} for n in range(200_000)]})
    return {
        "links-100k": article("A hundred thousand links", body="<p>" + "".join(
            f"<a href='/tag/{n}'>tag {n}</a> " for n in range(100_000)) + "</p>"),
        "deep-nesting": article("Deep nesting", before="<div>" * 100_000,
                                after="</div>" * 100_000),
        "huge-text": article("Huge text", body=text_paragraph * (big // len(text_paragraph))),
        "one-long-word": article("One long word", body="<p>" + "x" * big + "</p>"),
        "many-scripts": article("Many scripts", head="".join(
            f"<script>var v{n} = {{a: {n}, b: 'value {n}'}};</script>" for n in range(50_000))),
        "huge-jsonld": article("Huge JSON-LD", head="<script type='application/ld+json'>"
                               + graph[: big] + "</script>"),
        "many-elements": article("Many elements", body="<span></span>" * 500_000),
        "wide-attributes": article("Wide attributes", body="".join(
            "<div " + " ".join(f"data-a{a}='{a}'" for a in range(1000)) + "></div>"
            for _ in range(600))),
    }


class Outlet(LocalServer):
    """A local outlet: /feed.xml lists /ordinary and the given pages at /page/<name>."""

    def __init__(self, pages: dict[str, bytes]):
        self.pages = {f"/page/{name}": body for name, body in pages.items()}
        self.pages["/ordinary"] = article("An ordinary article about the border")
        self.pages["/ordinary-2"] = article("Another ordinary article about the harvest")
        super().__init__()

    def feed(self, names: list[str]) -> bytes:
        items = "".join(f"<item><title>{path}</title><link>{self.base}{path}</link></item>"
                        for path in names)
        return f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode()

    def route(self, path: str, host: str) -> tuple[int, bytes, str]:
        if path.startswith("/feed.xml"):
            return 200, self.feed(path.partition("?")[2].split(",")), "application/rss+xml"
        if path in self.pages:
            return 200, self.pages[path], "text/html; charset=utf-8"
        if path == "/robots.txt":
            return 200, b"User-agent: *\nAllow: /\n", "text/plain"
        return NOT_FOUND


def crawl(outlet: Outlet, paths: list[str], workdir: Path, settings: list[str]) -> dict:
    workdir.mkdir(parents=True)
    config = workdir / "config"
    config.mkdir()
    feed = f"{outlet.base}/feed.xml?{','.join(paths)}"
    (config / "outlets.yml").write_text(
        f"- id: hostile\n  name: Hostile\n  url: {outlet.base}/\n  domains: ['127.0.0.1']\n"
        f"  feeds: ['{feed}']\n")
    (config / "schedule.yml").write_text("jobs: []\n")
    db = workdir / "archive.db"
    command = [sys.executable, "-m", "narrative_archive", "crawl", "feeds", "--db", str(db),
               "--config", str(config), "--no-progress", "--capture"]
    for setting in ("AUTOTHROTTLE_ENABLED=0", "DOWNLOAD_DELAY=0", "LOG_LEVEL=WARNING",
                    "NARRATIVE_ARCHIVE_REFETCH_AFTER=0", *settings):
        command += ["-s", setting]
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    with TreeMemory(process.pid) as memory:
        stdout, stderr = process.communicate()
    seconds = time.monotonic() - started
    connection = sqlite3.connect(db)
    stored = connection.execute("SELECT count(*) FROM articles").fetchone()[0]
    errors = [row[0] for row in connection.execute("SELECT reason FROM crawl_errors")]
    warnings = [w for (row,) in connection.execute("SELECT warnings FROM articles")
                for w in json.loads(row or "[]")]
    connection.close()
    return {"exit": process.returncode, "seconds": seconds, "stored": stored, "errors": errors,
            "warnings": warnings, "tree_rss": memory.tree_rss / MiB,
            "tree_pss": memory.tree_pss / MiB, "largest_rss": memory.largest_rss / MiB,
            "crawl_rss": memory.crawl_rss / MiB, "worker_rss": memory.worker_rss / MiB,
            "processes": memory.processes, "traceback": "Traceback" in stderr}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default="")
    parser.add_argument("--setting", action="append", default=[],
                        help="-s NAME=VALUE for every crawl (repeatable)")
    args = parser.parse_args()
    pages = hostile_pages()
    cases: dict[str, list[str]] = {"baseline": ["/ordinary-2"]}
    cases.update({name: [f"/page/{name}"] for name in pages})
    cases["combined"] = [f"/page/{name}" for name in pages]
    chosen = [c for c in args.cases.split(",") if c] or list(cases)
    print(f"{os.cpu_count()} CPUs; targets: tree RSS <= {TARGET_RSS} MiB, PSS <= {TARGET_PSS}"
          f" MiB\n")
    print("| case | page MiB | tree RSS MiB | tree PSS MiB | crawl process RSS MiB |"
          " largest worker RSS MiB | processes | stored | s | what happened |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    with Outlet(pages) as outlet, tempfile.TemporaryDirectory() as tmp:
        for case in chosen:
            paths = ["/ordinary", *cases[case]]
            size = sum(len(outlet.pages[path]) for path in cases[case]) / MiB
            result = crawl(outlet, paths, Path(tmp) / case, args.setting)
            notes = [*(f"error: {e}" for e in result["errors"]),
                     *(w for w in result["warnings"] if w.startswith("cut:"))]
            if result["exit"] or result["traceback"]:
                notes.append(f"exit {result['exit']}, traceback: {result['traceback']}")
            flag = "" if result["tree_rss"] <= TARGET_RSS and result["tree_pss"] <= TARGET_PSS \
                else " (over)"
            print(f"| {case} | {size:.1f} | {result['tree_rss']:.0f}{flag} |"
                  f" {result['tree_pss']:.0f} | {result['crawl_rss']:.0f} |"
                  f" {result['worker_rss']:.0f} |"
                  f" {result['processes']} | {result['stored']} | {result['seconds']:.1f} |"
                  f" {'; '.join(notes)[:300]} |", flush=True)


if __name__ == "__main__":
    main()
