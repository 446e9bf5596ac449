"""The narrative page and the search box in headless Chromium, on an archive crawled from
the fixture outlets (tests/sites, plus kabulnow.test: a copy of a Dawn story, a report
that links to Dawn and names al-Qaeda, U.S. weapons and the Taliban's ties, a denial),
served by a real `narrative-archive serve`.

Skipped, saying why, when chromium cannot be found; never downloads a browser and never
lets the page reach another host.
"""

from __future__ import annotations

import pytest

from tests.fixture_server import OUTLETS, FixtureServer, add_hostile_routes, run_crawl, write_config
from tests.test_browser import CHROMIUM_ARGS, find_chromium, serving

RA = "russia-arming-taliban"
KABULNOW = {"id": "kabulnow", "name": "KabulNow (fixture)", "url": "http://kabulnow.test/",
            "domains": ["kabulnow.test"], "country": "AF", "language": "en",
            "kind": "independent", "owner": "KabulNow", "feeds": ["http://kabulnow.test/feed/"]}
BLOCKS = ["first", "spread", "uptake", "repeated", "disputed", "outlets", "citations"]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("narrative-browser")
    with FixtureServer() as server:
        add_hostile_routes(server)
        config = write_config(tmp / "config", [*OUTLETS, KABULNOW])
        result = run_crawl(server, ["feeds"], tmp / "archive.db", config, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return tmp / "archive.db"


@pytest.fixture(scope="module")
def server(crawled):
    with serving(crawled) as base:
        yield base


@pytest.fixture(scope="module")
def browser_page(server):
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("chromium not found (install Debian's package: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    watched = {"outside": [], "dialogs": [], "errors": []}
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(20000)

        def only_local(route):
            if route.request.url.startswith(server + "/"):
                route.continue_()
            else:
                watched["outside"].append(route.request.url)
                route.abort()

        page.route("**/*", only_local)
        page.on("dialog", lambda dialog: (watched["dialogs"].append(dialog.message),
                                          dialog.dismiss()))
        page.on("pageerror", lambda error: watched["errors"].append(str(error)))
        yield page, watched
        browser.close()
    assert watched == {"outside": [], "dialogs": [], "errors": []}


@pytest.mark.timeout(180)
def test_the_narrative_page_has_every_block(server, browser_page):
    page, _ = browser_page
    page.goto(f"{server}/narratives")
    assert page.locator("table.narratives-list svg.sparkbars").count() == 3
    page.click(f"a[href='/narratives/{RA}']")
    page.wait_for_selector("#spread svg.chart rect.bar")
    assert page.inner_text("h1") == "Russia is arming the Taliban"
    for block in BLOCKS:
        section = page.locator(f"#{block}")
        assert section.count() == 1, block
        assert page.locator(f"#{block} ~ .exports a, #{block} .exports a").count() >= 2, block

    first = page.locator("#first tbody tr")
    assert first.count() >= 5
    assert "Dawn (fixture)" in first.nth(0).inner_text()  # the US general, 2024-05-20
    assert page.locator("#first a[href^='/-/capture/']").count() >= 5  # WARC evidence
    assert page.locator("#uptake ~ ol.uptake li, ol.uptake li").count() >= 4
    story = page.locator("#repeated .story").first
    assert "KabulNow" in story.inner_text() and "Dawn" in story.inner_text()
    who = page.eval_on_selector_all("#disputed td.who", "els => els.map(e => e.textContent)")
    assert all(name.strip() for name in who)  # every dispute says who
    assert {"МИД России", "Кабулов"} & set(who)  # named officials, as the stance read them
    assert page.locator("#outlets tbody tr").count() >= 4
    chain = page.inner_text("#citations ol.citation-chain")
    assert "linked by" in chain and "KabulNow" in chain

    # every export answers, the Atom feed and the WACZ too
    links = page.eval_on_selector_all(
        ".exports a, a.atom, a.wacz", "els => els.map(e => e.getAttribute('href'))")
    assert len(links) == 2 * len(BLOCKS) + 2
    for href in links:
        response = page.request.get(server + href)
        assert response.status == 200, href
    assert page.request.get(f"{server}/-/wacz/{RA}.wacz").body()[:2] == b"PK"

    # a filter narrows the page, and the exports follow it
    page.select_option("select[name=country]", "RU")
    page.click(".narrative-filters button[type=submit]")
    page.wait_for_url("**country=RU**")
    assert {"TASS (fixture)"} == set(page.eval_on_selector_all(
        "#outlets tbody tr td:first-child a", "els => els.map(e => e.textContent)"))
    assert page.locator(f"a[href='/narratives/{RA}/first.csv?country=RU']").count() == 1


@pytest.mark.timeout(180)
@pytest.mark.parametrize("typed", ["al-Qaeda", "Taliban's", "U.S. weapons", "taliban AND"])
def test_the_search_box_forgives(server, browser_page, typed):
    page, _ = browser_page
    page.goto(f"{server}/archive/articles")
    page.fill("input#_search", typed)
    page.press("input#_search", "Enter")
    page.wait_for_selector("table.rows-and-columns td.col-matched mark")
    assert page.input_value("input#_search") == typed
    titles = page.eval_on_selector_all("td.col-title", "els => els.map(e => e.textContent)")
    if typed != "taliban AND":
        assert titles == ["UN monitors: the Taliban's ties to al-Qaeda hold as U.S. weapons spread"]
    else:
        assert len(titles) > 3
    assert "Searched for" in page.inner_text("p.search-read-as")


@pytest.mark.timeout(180)
def test_fts5_syntax_still_works_and_an_unreadable_search_says_why(server, browser_page):
    page, _ = browser_page
    page.goto(f"{server}/archive/articles")
    page.fill("input#_search", "NEAR(russia arming taliban, 10)")
    page.press("input#_search", "Enter")
    page.wait_for_selector("td.col-matched mark")
    assert page.locator("p.search-read-as").count() == 0
    page.fill("input#_search", "NOT taliban")
    page.press("input#_search", "Enter")
    page.wait_for_selector("p.search-problem")
    assert "NOT needs a word before it" in page.inner_text("p.search-problem")
    assert page.input_value("input#_search") == "NOT taliban"  # the box is kept
    page.fill("input#_search", "taliban NOT talks")
    page.press("input#_search", "Enter")
    page.wait_for_selector("td.col-matched mark")


@pytest.mark.timeout(180)
def test_wide_tables_read_at_1400_pixels(server, browser_page):
    page, _ = browser_page
    page.goto(f"{server}/archive/new_mentions_since?since=2024-01-01&narrative=")
    page.wait_for_selector("table.rows-and-columns td.col-title")
    widths = page.eval_on_selector_all(
        "td.col-title, td.col-snippet", "els => els.map(e => e.getBoundingClientRect().width)")
    assert widths and min(widths) >= 200  # no column of one word a line
    heights = page.eval_on_selector_all(
        "tbody tr", "els => els.map(e => e.getBoundingClientRect().height)")
    assert max(heights) < 300
    url = page.locator("td.col-url a.short-url").first
    assert url.get_attribute("title").startswith("http://") and "://" not in url.inner_text()
    assert page.eval_on_selector("thead th", "e => getComputedStyle(e).position") == "sticky"
    assert page.locator("textarea#sql-editor").count() == 0  # the SQL is hidden


@pytest.mark.timeout(180)
def test_dashboard_charts_do_not_mislead(server, browser_page):
    page, _ = browser_page
    page.goto(f"{server}/-/dashboards/narratives?narrative={RA}")
    page.wait_for_selector("#chart-top-outlets svg g.mark-rect path")
    page.wait_for_selector("#chart-timeline svg g.mark-rect path")
    # counts on integer axes: no tick repeated, none a fraction
    for chart in ("top-outlets", "timeline"):
        ticks = page.eval_on_selector_all(
            f"#chart-{chart} svg g[aria-label*='axis'] g.mark-text text",
            "els => els.map(e => e.textContent)")
        numbers = [t for t in ticks if t.replace(",", "").isdigit()]
        assert numbers and len(numbers) == len(set(numbers)), (chart, ticks)
    # the narrative has its colour from /narratives, not a stance's
    colour = page.evaluate("fetch('/narratives.json').then(r => r.json())")
    mine = next(n["colour"] for n in colour["narratives"] if n["id"] == RA)
    fills = page.eval_on_selector_all("#chart-timeline svg g.mark-rect path",
                                      "els => els.map(e => e.getAttribute('fill'))")
    assert set(fills) == {mine}
    # attention: points, never a line across a month without data
    assert page.locator("#chart-attention svg g.mark-line").count() == 0
