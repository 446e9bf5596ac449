"""Backfill against fixture archives that keep the real services' limits: what it costs and
what it finds.

A generated world on the fixture Wayback Machine, CDX server and Media Cloud
(tests/archives.py, tests/services.py): OUTLETS outlets, each with narrative pages
(half with the narrative's words in the URL slug, half with an id-only URL; one in
four titled without them) and other pages (some with "taliban" in the slug), every
page archived on its day, and the outlet's feed archived once a day listing that
day's and the day before's pages. Media Cloud knows one narrative page in three.

`narrative-archive backfill` runs twice in a subprocess, on a clock SPEED times
faster (the services keep the same clock, so they refuse what the real ones would):
with the archived feeds and sitemaps read (the default) and without (the URL-slug
listings and Media Cloud alone). For each run it prints:

- CDX requests, and CDX requests per stored article;
- the largest number of CDX requests in any 60 s (of the real clock): at most 30 is
  the CDX server's limit, 24 the default pace;
- requests per paced slot and the hours they take at the default pace (CDX 24 a
  minute, Media Cloud 2, raw captures 2 a second, each outlet's live pages one a
  second): stored articles per hour at that budget, computed from the pacing, not
  by waiting an hour (the slots run side by side: the slowest slot sets the time);
- recall on narrative pages with and without the narrative's words in the URL.

    python benchmarks/backfill.py
    python benchmarks/backfill.py --outlets 40 --days 60

Never a timed assertion in the tests: run it, read it.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.archives import ARMING, OTHER, Archives, article, backfill, rss  # noqa: E402
from tests.fixture_server import write_config  # noqa: E402
from tests.services import Clock, MediaCloud, WaybackCdx, most_in_window  # noqa: E402

# The default paces (narrative_archive/crawl/settings.py), in seconds per request.
CDX_EVERY = 60 / 24
MEDIACLOUD_EVERY = 60 / 2
REPLAY_EVERY = 0.5  # the "wayback" slot: 0.5 s between requests, two at a time
LIVE_EVERY = 1.0  # DOWNLOAD_DELAY per outlet
NARRATIVE, OTHERS = 10, 20  # pages per outlet


def world(archives: Archives, outlets: int, days: int, start: date) -> tuple[list, dict]:
    """Fill the fixture archives; the outlets' config and every narrative page's kind."""
    config, pages, stories = [], {}, []
    html = "text/html; charset=utf-8"
    for o in range(outlets):
        host = f"outlet{o}.test"
        config.append({"id": f"outlet{o}", "name": f"Outlet {o}", "url": f"http://{host}/",
                       "feeds": [f"http://{host}/rss.xml"]})
        by_day: dict[date, list[tuple[str, str, str]]] = {}
        for i in range(NARRATIVE + OTHERS):
            narrative = i < NARRATIVE
            day = start + timedelta(days=(i * 7 + o) % days)
            number = 100000 + o * 1000 + i
            if narrative:
                keyword = i % 2 == 0
                slug = f"/news/{number}/russia-arming-taliban-{i}" if keyword else f"/news/{number}"
                title = ("Moscow accused by a US commander" if i % 4 == 3
                         else f"US general: Russia is arming the Taliban ({i})")
                text = ARMING
                pages[f"http://{host}{slug}"] = "keyword" if keyword else "id-only"
                if i % 3 == 0:
                    stories.append({"url": f"http://{host}{slug}", "title": title,
                                    "publish_date": day.isoformat(), "media_url": host})
            else:
                slug = f"/news/{number}/taliban-talks-{i}" if i % 5 == 0 else f"/news/{number}"
                title, text = f"Local news ({i})", OTHER
            url = f"http://{host}{slug}"
            stamp = f"{day:%Y%m%d}120000"
            body = article(title, text, f"{day.isoformat()}T09:00:00Z")
            archives.extra_rows.append((stamp, url, "text/html", "200"))
            archives.replays[f"/web/{stamp}id_/{url}"] = (200, html, body, {})
            archives.live[f"{host} {slug}"] = (200, html, body, {})
            by_day.setdefault(day, []).append((url, title, f"{day:%a, %d %b %Y} 09:00:00 +0000"))
        feed_url = f"http://{host}/rss.xml"
        for d in range(days):
            day = start + timedelta(days=d)
            items = by_day.get(day, []) + by_day.get(day - timedelta(days=1), [])
            stamp = f"{day:%Y%m%d}180000"
            archives.extra_rows.append((stamp, feed_url, "application/rss+xml", "200"))
            archives.replays[f"/web/{stamp}id_/{feed_url}"] = (
                200, "application/rss+xml", rss(items), {})
    archives.media_cloud.pages = {None: (stories, None)}
    return config, pages


def run(outlets: int, days: int, speed: float, listings: bool) -> dict:
    start = date(2017, 1, 1)
    clock = Clock(speed)
    with tempfile.TemporaryDirectory() as tmp, Archives(clock) as archives:
        archives.cdx_limit = WaybackCdx(clock)
        archives.media_cloud = MediaCloud(clock)
        config_rows, pages = world(archives, outlets, days, start)
        config = write_config(Path(tmp) / "config", config_rows)
        db = Path(tmp) / "archive.db"
        until = start + timedelta(days=days - 1)
        result = backfill(
            archives, db, config, "russia-arming-taliban", "--since", start.isoformat(),
            "--until", until.isoformat(), "--mediacloud-collections", "34412234",
            environ={"NARRATIVE_ARCHIVE_MEDIACLOUD_KEY": "test-key"},
            NARRATIVE_ARCHIVE_BACKFILL_ARCHIVED_LISTINGS=str(int(listings)),
            NARRATIVE_ARCHIVE_WAYBACK_PAGE_SIZE="1000",  # the default (the tests' is 3)
            NARRATIVE_ARCHIVE_BACKFILL_SLOTS=json.dumps(
                {"wayback": {"concurrency": 4, "delay": 0},
                 "commoncrawl-data": {"concurrency": 4, "delay": 0}}))
        if result.returncode not in (0, 1):
            sys.exit(result.stderr[-3000:])
        connection = sqlite3.connect(db)
        stored = {url for (url,) in connection.execute("SELECT url FROM articles")}
        connection.close()
        replays = sum(archives.fetches("/web/").values())
        live: Counter[str] = Counter()
        for key, count in archives.hits.items():
            host, path = key.split(" ", 1)
            if host.startswith("outlet") and path != "/robots.txt":
                live[host] += count
        cdx = archives.cdx_limit
        found = Counter(kind for url, kind in pages.items() if url in stored)
        total = Counter(pages.values())
        seconds = {"cdx": len(cdx.times) * CDX_EVERY,
                   "mediacloud": len(archives.media_cloud.times) * MEDIACLOUD_EVERY,
                   "replay": replays * REPLAY_EVERY,
                   "live": max(live.values(), default=0) * LIVE_EVERY}
        hours = max(seconds.values()) / 3600
        return {"stored": len(stored), "cdx": len(cdx.times), "refused": len(cdx.refused),
                "blocked": cdx.blocked_at is not None,
                "cdx_per_minute": most_in_window(cdx.times, clock.minute),
                "mediacloud": len(archives.media_cloud.times), "replays": replays,
                "live": sum(live.values()), "seconds": seconds,
                "per_hour": len(stored) / hours if hours else float("inf"),
                "recall": {kind: (found[kind], total[kind]) for kind in ("keyword", "id-only")}}


def report(name: str, r: dict) -> None:
    print(f"\n{name}")
    print(f"  stored articles                  {r['stored']}")
    print(f"  CDX requests                     {r['cdx']}  ({r['cdx'] / max(r['stored'], 1):.3f}"
          " per stored article)")
    print(f"  most CDX requests in any 60 s    {r['cdx_per_minute']}  (limit 30; refused"
          f" {r['refused']}, blocked: {'yes' if r['blocked'] else 'no'})")
    print(f"  Media Cloud requests             {r['mediacloud']}")
    print(f"  raw captures (replay)            {r['replays']}")
    print(f"  live pages                       {r['live']}")
    slots = ", ".join(f"{k} {v / 60:.1f} min" for k, v in r["seconds"].items())
    print(f"  at the default pace              {slots}")
    print(f"  stored articles per hour         {r['per_hour']:.0f}")
    for kind, (found, total) in r["recall"].items():
        print(f"  recall, {kind:<8} narrative pages {found}/{total} = {found / total:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outlets", type=int, default=20)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--speed", type=float, default=4.0,
                        help="how much faster the clock runs (the services keep it too)")
    args = parser.parse_args()
    print(f"{args.outlets} outlets x {NARRATIVE} narrative + {OTHERS} other pages, feeds"
          f" archived daily over {args.days} days; clock x{args.speed:g}")
    report("with archived feeds and sitemaps (default)",
           run(args.outlets, args.days, args.speed, listings=True))
    report("without them: URL-slug listings and Media Cloud"
           " (NARRATIVE_ARCHIVE_BACKFILL_ARCHIVED_LISTINGS=0)",
           run(args.outlets, args.days, args.speed, listings=False))


if __name__ == "__main__":
    main()
