"""The dashboard in headless Chromium, served by a real `narrative-archive serve`.

Needs the playwright package and Debian's chromium (`make test` installs it);
skipped, saying why, when chromium cannot be found. Never downloads a browser
and never lets the page reach another host.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from narrative_archive.publish import serve
from tests.conftest import dies_with_tests
from tests.datasette_fixtures import ARTICLES, XSS_TITLE, build_archive

CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def find_chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serving(db_path: Path, timeout: float = 60):
    """`narrative-archive serve` over ``db_path`` on a free port: yields its URL, stops it after."""
    port = free_port()
    process = subprocess.Popen(
        dies_with_tests([sys.executable, "-m", "narrative_archive", "serve", "--db", str(db_path),
                         "--port", str(port)]), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        serve.wait_until_ready(f"{base}/-/databases.json", timeout=timeout, process=process)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def server(tmp_path):
    """`narrative-archive serve` over the test archive on a free port; yields its URL."""
    db_path = tmp_path / "archive.db"
    build_archive(db_path)
    with serving(db_path, timeout=30) as base:
        yield base


@pytest.mark.timeout(60)
def test_dashboard_draws_charts(server):
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("chromium not found (install Debian's package: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")

    outside, dialogs, errors = [], [], []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(15000)

            def only_local(route):
                if route.request.url.startswith(server + "/"):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            page.route("**/*", only_local)
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.on("pageerror", lambda error: errors.append(str(error)))

            page.goto(f"{server}/-/dashboards/narratives")
            # Vega-Lite drew bars (SVG paths inside the mark group), not just a container.
            page.wait_for_selector("#chart-timeline svg g.mark-rect path", timeout=20000)
            page.wait_for_selector("#chart-top-outlets svg g.mark-rect path", timeout=20000)
            page.wait_for_selector("#chart-latest table td a", timeout=20000)
            page.wait_for_function(
                "document.querySelector('#chart-articles .dashboard-metric') !== null")

            bars = page.locator("#chart-timeline svg g.mark-rect path")
            assert bars.count() >= 5  # one per (month, narrative) with mentions
            box = bars.first.bounding_box()
            assert box and box["height"] > 0 and box["width"] > 0
            assert page.locator("#chart-top-outlets svg g.mark-rect path").count() == 4
            assert page.inner_text("#chart-articles .dashboard-metric") == str(len(ARTICLES))

            # The scraped title is text in the table: no element was injected, nothing ran.
            latest = page.inner_text("#chart-latest")
            assert XSS_TITLE in latest
            assert page.locator("#chart-latest script, #chart-latest img").count() == 0
            link = page.locator("#chart-latest a", has_text="Kremlin calls bounty").get_attribute(
                "href")
            assert link.startswith(f"{server}/archive/articles/")

            # A narrative chosen in the filter narrows the charts.
            page.goto(f"{server}/-/dashboards/narratives?narrative=iran-arming-taliban")
            page.wait_for_selector("#chart-top-outlets svg g.mark-rect path", timeout=20000)
            page.wait_for_function(
                "document.querySelector('#chart-mentions .dashboard-metric') !== null")
            assert page.inner_text("#chart-mentions .dashboard-metric") == "2"

            # The article page: highlighted snippet, escaped title.
            page.goto(link)
            assert page.inner_text("h1.article-title") == XSS_TITLE
            assert page.locator("blockquote.snippet mark").count() == 3
        finally:
            browser.close()
    assert dialogs == [], "a scraped <script> ran"
    assert outside == [], "the page tried to reach another host"
    assert errors == []


def make_demo_command(*variables: str) -> str:
    """The demo.py line `make demo` would run (dry run: nothing is built or written)."""
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(["make", "-n", "-C", str(root), "demo", *variables],
                         capture_output=True, text=True, check=True).stdout
    return next(line for line in out.splitlines() if "datasette/demo.py" in line)


def test_make_demo_leaves_the_tracked_screenshots_alone():
    root = Path(__file__).resolve().parent.parent
    default = make_demo_command().split("--screenshots", 1)[1].split()[0]
    assert not default.startswith("docs/")
    ignored = subprocess.run(["git", "-C", str(root), "check-ignore", "-q",
                              f"{default}/search.png"])
    assert ignored.returncode == 0, f"{default} is not gitignored"
    assert "--screenshots docs/screenshots" in make_demo_command("SCREENSHOTS=docs/screenshots")


def test_make_demo_builds_beside_captures_of_its_own():
    """`make demo` never writes its WARC files into the captures/ of an archive.db in the
    repository: the demo archive (and so its captures/) lives in build/demo/."""
    root = Path(__file__).resolve().parent.parent
    db = make_demo_command().split("datasette/demo.py", 1)[1].split()[0]
    assert Path(db).parent != Path(".") and db.startswith("build/")
    assert subprocess.run(["git", "-C", str(root), "check-ignore", "-q",
                           f"{Path(db).parent}/captures/x.warc.gz"]).returncode == 0


def test_the_demo_stores_what_its_captures_extract_to(tmp_path):
    """Re-extracting the demo's own captures changes no article."""
    import importlib.util

    from narrative_archive import store
    from narrative_archive.config import load_config
    from narrative_archive.ingest.reextract import reextract

    datasette_dir = Path(__file__).resolve().parent.parent / "datasette"
    spec = importlib.util.spec_from_file_location("demo_under_test", datasette_dir / "demo.py")
    demo = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(datasette_dir))  # demo.py imports its sibling modules, as a script
    try:
        spec.loader.exec_module(demo)
    finally:
        sys.path.remove(str(datasette_dir))
    path = tmp_path / "demo" / "demo.db"
    demo.build_demo_archive(path)
    db = store.open_db(path)
    result = reextract(db, load_config(), path.parent / "captures")
    db.close()
    assert result["pages"] > 50 and (result["updated"], result["errors"]) == (0, 0)
