"""The crawl process's CPU a page, thread by thread, for an A/B of two trees.

Runs benchmarks/crawl.py's crawl (its generated site, its settings) of the tree given with
`--tree` (default: this one; a checkout of another commit for the A of an A/B) and reads
each thread's CPU time (utime + stime of /proc/PID/task/TID/stat) of the crawl process
every 0.1 s until it exits. Prints one JSON line: the main thread (the reactor: Scrapy,
Twisted, the pipeline's glue), the other threads largest first (the archive writer, and
with concurrent.futures' pool its manager and queue feeder), all, and the load average.
Run A and B alternately, several times each, and compare medians: on a shared machine
one run's figure moves by up to 1 ms a page.

    python benchmarks/crawl_threads.py --pages 1500 --capture on
    python benchmarks/crawl_threads.py --pages 1500 --capture on --tree /tmp/checkout-of-main

Linux only (/proc). Never a timed assertion in the tests: run it, read it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def thread_cpu(pid: int) -> dict[int, float]:
    """Seconds of CPU of each thread of `pid` so far."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended
            continue
        found[int(tid)] = (int(fields[11]) + int(fields[12])) / tick
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1500)
    parser.add_argument("--capture", choices=("on", "off"), default="on")
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parent.parent,
                        help="the checkout whose crawl runs (default: this one)")
    args = parser.parse_args()
    sys.path.insert(0, str(args.tree / "benchmarks"))
    import crawl  # the tree's own benchmark (its REPO is that tree)

    seen: dict[int, float] = {}
    started = subprocess.Popen
    pids: list[int] = []

    def watch(process: subprocess.Popen) -> None:
        while process.poll() is None:
            try:
                seen.update(thread_cpu(process.pid))
            except OSError:  # the process has ended
                return
            time.sleep(0.1)

    def popen(command, **kwargs):
        process = started(command, **kwargs)
        pids.append(process.pid)
        threading.Thread(target=watch, args=(process,), daemon=True).start()
        return process

    crawl.subprocess.Popen = popen  # type: ignore[attr-defined]
    with crawl.Site(args.pages) as site, tempfile.TemporaryDirectory() as tmp:
        crawl.crawl(site, Path(tmp) / "crawl", [], capture=args.capture == "on")
    main_thread = seen.pop(pids[0])
    others = sorted(seen.values(), reverse=True)
    per_page = 1000 / args.pages
    print(json.dumps({
        "tree": str(args.tree), "capture": args.capture, "pages": args.pages,
        "main_ms": round(main_thread * per_page, 3),
        "other_threads_ms": [round(cpu * per_page, 3) for cpu in others if cpu],
        "all_ms": round((main_thread + sum(others)) * per_page, 3),
        "load": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
