"""Screenshots of a demo archive in headless Chromium (`datasette/demo.py --screenshots`).

take_screenshots serves the archive with `narrative-archive serve` on a free port and
saves search.png, dashboard.png, article.png and the Analysis section's stance.png,
attention.png, disputed.png, pickups.png, citations.png; it needs the playwright package
and Debian's chromium at /usr/bin/chromium.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from narrative_archive import store
from narrative_archive.publish import serve


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def take_screenshots(db_path: str | Path, directory: str | Path,
                     chromium: str = "/usr/bin/chromium") -> list[Path]:
    """Serve the archive and save search.png, dashboard.png, article.png and the analysis
    screenshots (stance, attention, disputed, pickups, citations) in directory."""
    from playwright.sync_api import sync_playwright

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "narrative_archive", "serve", "--db", str(db_path),
         "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    saved = []
    try:
        serve.wait_until_ready(f"{base}/-/databases.json", timeout=60, process=process)
        db = store.open_db(db_path, migrate=False)
        article_id = db.execute(
            "SELECT article_id FROM mention_articles WHERE title LIKE 'Russia ''arming%'"
        ).fetchone()[0]
        bounty_id = db.execute(
            "SELECT article_id FROM mention_articles WHERE title LIKE 'Russia secretly%'"
            " ORDER BY sorted_at LIMIT 1").fetchone()[0]
        db.close()
        search = "NEAR(russia* arm taliban*, 20)"
        pages = [
            ("search.png", f"/archive/articles?_search={search}&_nocol=canonical_url"
                           "&_nocol=description&_nocol=links&_nocol=modified_at"
                           "&_nocol=last_seen_at&_nocol=fetched_at&_nocol=content_hash"
                           "&_nocol=authors&_nocol=url", "table.rows-and-columns", 1600),
            ("dashboard.png", "/-/dashboards/narratives", "#chart-timeline svg .mark-rect path",
             None),
            ("narrative-page.png", "/narratives/russia-arming-taliban", "#spread svg", None),
            ("article.png", f"/archive/articles/{article_id}", "article.article", None),
            # the Analysis section of the README (#id: only that element of the page)
            ("stance.png", "/-/dashboards/narratives", "#chart-stance svg .mark-rect path",
             "#card-stance"),
            ("attention.png", "/-/dashboards/narratives?narrative=russia-arming-taliban"
                              "&since=2017-01-01&until=2018-06-30",
             "#chart-attention svg .mark-symbol path", "#card-attention"),
            ("disputed.png", "/archive/who_disputed_it?narrative=russia-arming-taliban&stance=&_hide_sql=1",
             "table.rows-and-columns", None),
            ("pickups.png", "/archive/story_pickups?narrative=russia-taliban-bounties&_hide_sql=1",
             "table.rows-and-columns", None),
            ("citations.png", "/archive/citation_chain?narrative=russia-taliban-bounties&_hide_sql=1"
                              "&article=" + str(bounty_id), "table.rows-and-columns", None),
        ]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900},
                                    device_scale_factor=1)
            # height None: the whole page; an int: the top `height` pixels of it; a
            # "#selector": that element only.
            for name, path, ready, height in pages:
                page.set_viewport_size({"width": 1280, "height": height if isinstance(height, int) else 800})
                page.goto(base + path)
                page.wait_for_selector(ready)
                page.wait_for_load_state("networkidle")
                target = directory / name
                if isinstance(height, str):
                    page.locator(height).screenshot(path=str(target))
                else:
                    page.screenshot(path=str(target), full_page=height is None)
                saved.append(target)
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
    return saved
