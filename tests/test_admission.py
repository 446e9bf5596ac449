"""Admission control on the public instance: expensive requests (arbitrary SQL, canned
queries, exports) take a few slots, globally and per client, and wait in a short line;
past that 429 or 503 with Retry-After, while cheap pages are served at once. Real
concurrent requests against Datasette in process; expensive queries are held open by a
SQL function that blocks on an event, so no assertion depends on timing."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest
from datasette import hookimpl
from datasette.app import Datasette
from datasette.plugins import pm

from narrative_archive.publish import serve
from narrative_archive.publish.admission import QUERY, SQL, Admission, Limits, classify
from tests.datasette_fixtures import build_archive

CANNED = {"near_misses", "search_snippets", "timeline"}


# --- classification -----------------------------------------------------------------


@pytest.mark.parametrize("path, query, kind", [
    ("/archive", "sql=select+1", SQL),
    ("/archive.json", "sql=select+1&_shape=array", SQL),
    ("/archive.csv", "sql=select+1", SQL),
    ("/archive", "sql=", None),  # the empty SQL form
    ("/archive/articles", "_where=1%3D1", SQL),
    ("/archive/near_misses", "q=x", QUERY),
    ("/archive/search_snippets.json", "q=x", QUERY),
    ("/archive/articles.csv", "", QUERY),
    ("/archive/articles.json", "_stream=on", QUERY),
    ("/-/export/russia-arming-taliban.csv", "", QUERY),
    ("/archive.db", "", QUERY),
    ("/archive/articles", "_search=taliban", None),  # a search: cheap
    ("/archive/articles/12", "", None),  # a row
    ("/archive/narratives.json", "", None),
    ("/archive", "", None),
    ("/-/dashboards/narratives", "", None),
    ("/-/capture/3.warc.gz", "", None),
    ("/static/app.css", "", None),
    ("/other/table", "sql=select+1", None),  # not the archive
])
def test_classify(path, query, kind):
    assert classify(path, query, "archive", CANNED) == kind


def test_limits_from_config():
    assert Limits.from_config(None) == Limits()
    assert Limits.from_config({"running": "3", "max_wait": "0.5"}) == Limits(running=3,
                                                                          max_wait=0.5)
    with pytest.raises(ValueError, match="unknown admission settings: runing"):
        Limits.from_config({"runing": 3})
    with pytest.raises(ValueError):
        Limits.from_config({"running": 0})


# --- the slots, alone ----------------------------------------------------------------


def test_slots_per_client_and_in_all():
    async def scenario():
        limits = Limits(running=2, running_per_client=1, waiting=2, waiting_per_client=1,
                        max_wait=60)
        admission = Admission({SQL: limits})
        assert await admission.admit(SQL, "a") is None
        assert await admission.admit(SQL, "b") is None  # two running: the slots are full
        waiting_a = asyncio.ensure_future(admission.admit(SQL, "a"))  # in line
        await asyncio.sleep(0)
        refused = await admission.admit(SQL, "a")  # a: one running, one waiting
        assert (refused.status, refused.retry_after) == (429, limits.retry_after)
        waiting_c = asyncio.ensure_future(admission.admit(SQL, "c"))
        await asyncio.sleep(0)
        full = await admission.admit(SQL, "d")  # the line is full
        assert full.status == 503
        assert admission.state()[SQL] == {"running": 2, "waiting": 2}
        admission.release(SQL, "b")  # b's slot: c may take it (a is at its own limit)
        assert await waiting_c is None and not waiting_a.done()
        admission.release(SQL, "a")
        assert await waiting_a is None
        assert admission.state()[SQL] == {"running": 2, "waiting": 0}
        assert dict(admission.refused) == {429: 1, 503: 1}

    asyncio.run(scenario())


def test_a_wait_too_long_is_a_503_and_leaves_the_line():
    async def scenario():
        admission = Admission({SQL: Limits(running=1, max_wait=0)})
        assert await admission.admit(SQL, "a") is None
        refused = await admission.admit(SQL, "b")
        assert refused.status == 503 and "within 0 s" in refused.message
        assert admission.state()[SQL] == {"running": 1, "waiting": 0}

    asyncio.run(scenario())


def test_a_client_that_goes_away_leaves_the_line():
    async def scenario():
        admission = Admission({SQL: Limits(running=1, max_wait=60)})
        assert await admission.admit(SQL, "a") is None
        waiting = asyncio.ensure_future(admission.admit(SQL, "b"))
        await asyncio.sleep(0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        admission.release(SQL, "a")
        assert admission.state()[SQL] == {"running": 0, "waiting": 0}

    asyncio.run(scenario())


# --- Datasette, with real concurrent requests ----------------------------------------


class Blocker:
    """SQL function block(): counts itself in, then waits for the test to let it go."""

    __name__ = "test_admission_blocker"  # what Datasette lists a plugin by

    def __init__(self):
        self.release = threading.Event()
        self.entered = threading.Semaphore(0)

    def block(self):
        self.entered.release()
        self.release.wait(60)  # bounded: a failing test must not hang the suite
        return 1

    @hookimpl
    def prepare_connection(self, conn):
        conn.create_function("block", 0, self.block)


@pytest.fixture
def blocker():
    plugin = Blocker()
    pm.register(plugin, name="test-admission-blocker")
    yield plugin
    plugin.release.set()
    pm.unregister(name="test-admission-blocker")


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    path = tmp_path_factory.mktemp("admission") / "archive.db"
    build_archive(path)
    return path


def public_datasette(path, admission: dict, **settings) -> Datasette:
    """The instance `narrative-archive serve` runs, with these admission settings (and
    Datasette `settings` over settings.json)."""
    directory = serve.datasette_dir()
    metadata = serve.load_metadata()
    metadata["plugins"]["narrative-archive-admission"] = {"refusal_delay": 0, **admission}
    return Datasette([str(path)], metadata=metadata,
                     settings={**serve.load_settings(), "num_sql_threads": 6, **settings},
                     template_dir=str(directory / "templates"),
                     plugins_dir=str(directory / "plugins"),
                     static_mounts=[(serve.STATIC_MOUNT, str(directory / "static"))])


def client_for(app, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)),
                             base_url="http://localhost")


async def entered(blocker: Blocker, count: int) -> None:
    """Until `count` block() calls are running (in Datasette's SQL threads)."""
    for _ in range(count):
        assert await asyncio.to_thread(blocker.entered.acquire, True, 30)


async def until(condition, limit: float = 30) -> None:
    """Until `condition()` holds (a state reached, not a duration: `limit` only stops a
    failing test from hanging)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not condition():
        assert loop.time() < deadline, "the condition never held"
        await asyncio.sleep(0.005)


BLOCK = "/archive.json?sql=select+block()+as+held"


def test_cheap_pages_are_served_while_the_expensive_slots_are_full(archive, blocker):
    limits = {"running": 2, "running_per_client": 1, "waiting": 1, "waiting_per_client": 1,
              "max_wait": 60, "retry_after": 3}
    datasette = public_datasette(archive, {"sql": limits, "query": limits})

    async def scenario():
        await datasette.invoke_startup()
        app = datasette.app()
        a, b, c = (client_for(app, address) for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"))
        held = [asyncio.ensure_future(a.get(BLOCK)), asyncio.ensure_future(b.get(BLOCK))]
        await entered(blocker, 2)  # both SQL slots taken, each query held open
        in_line = asyncio.ensure_future(a.get(BLOCK + "&again=1"))  # a waits in line
        await until(lambda: datasette._narrative_archive_admission.admission.state()[SQL][
            "waiting"] == 1)
        over_share = await a.get(BLOCK + "&third=1")  # a: one running, one waiting
        busy = await c.get(BLOCK + "&busy=1")  # the line is full
        cheap = [await c.get(path) for path in (
            "/archive/narratives.json", "/archive/articles.json?_search=taliban&_size=5",
            "/archive/outlets/reuters.json", "/archive/mention_articles?_size=5")]
        blocker.release.set()
        done = await asyncio.gather(*held, in_line)
        for client in (a, b, c):
            await client.aclose()
        return over_share, busy, cheap, done

    over_share, busy, cheap, done = asyncio.run(scenario())
    assert over_share.status_code == 429 and over_share.headers["retry-after"] == "3"
    assert "too many expensive requests from your address" in over_share.json()["error"]
    assert busy.status_code == 503 and busy.headers["retry-after"] == "3"
    assert busy.json()["title"] == "Busy"
    assert [response.status_code for response in cheap] == [200] * 4  # served meanwhile
    assert [response.json()["rows"] for response in done] == [[[1]]] * 3  # all three ran


def test_canned_queries_and_exports_have_their_own_slots(archive, blocker):
    limits = {"running": 1, "running_per_client": 1, "waiting": 0, "waiting_per_client": 0,
              "max_wait": 60}
    datasette = public_datasette(archive, {"sql": limits, "query": limits})

    async def scenario():
        await datasette.invoke_startup()
        app = datasette.app()
        a, b = client_for(app, "10.0.0.1"), client_for(app, "10.0.0.2")
        held = asyncio.ensure_future(a.get(BLOCK))
        await entered(blocker, 1)
        second_sql = await b.get("/archive.json?sql=select+2")  # the sql slot is taken
        canned = await b.get("/archive/search_snippets.json?q=taliban")  # its own slot
        csv = await b.get("/archive/articles.csv")
        blocker.release.set()
        await held
        for client in (a, b):
            await client.aclose()
        return second_sql, canned, csv

    second_sql, canned, csv = asyncio.run(scenario())
    assert second_sql.status_code == 503
    assert canned.status_code == 200 and csv.status_code == 200


def test_debug_endpoints_are_off_on_the_public_instance(archive):
    datasette = public_datasette(archive, {})

    async def scenario():
        return {path: (await datasette.client.get(path)).status_code for path in (
            "/-/threads.json", "/-/threads", "/-/versions.json", "/-/versions",
            "/-/plugins.json", "/-/plugins", "/-/allow-debug", "/-/permissions",
            "/-/messages", "/-/patterns", "/-/metadata.json", "/-/databases.json")}

    statuses = asyncio.run(scenario())
    assert {path: code for path, code in statuses.items() if code != 404} == {
        "/-/metadata.json": 200, "/-/databases.json": 200}
    private = public_datasette(archive, {"debug_endpoints": True})
    assert asyncio.run(private.client.get("/-/versions.json")).status_code == 200


def test_an_error_is_answered_without_a_traceback_on_the_event_loop(archive, capsys):
    # Datasette's default handler printed each error's traceback with its locals (rich),
    # on the event loop: under 32 time-limit queries every page waited seconds for it.
    datasette = public_datasette(archive, {}, sql_time_limit_ms=50)
    slow = ("/archive.json?sql=with+recursive+c(x)+as+(select+1+union+all+select+x%2B1"
            "+from+c)+select+count(*)+from+c")

    async def scenario():
        return [await datasette.client.get(path) for path in (
            slow, "/archive/no_such_table", "/archive/articles?_size=many")]

    too_long, missing, bad = asyncio.run(scenario())
    assert too_long.status_code == 400 and "took too long" in too_long.json()["error"]
    assert missing.status_code == 404 and "Error 404" in missing.text
    assert bad.status_code == 400
    printed = capsys.readouterr()
    assert "Traceback" not in printed.out + printed.err and "locals" not in printed.out
