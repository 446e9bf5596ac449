"""Capture records built in the extraction worker (issue 21): the same bytes as the crawl
process's own writer, appended whole, read back by warcio with its digests checked; and
every response whose records no worker builds is still written (a failed worker, a page
never sent to one, a response that never became a Page, the end of the crawl)."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
import zlib
from concurrent.futures import Future

import pytest
from warcio.archiveiterator import ArchiveIterator

from narrative_archive import capture
from narrative_archive.capture import BuiltPair, CaptureWriter, build_pair, iter_records
from narrative_archive.capture import middleware as capture_middleware
from narrative_archive.capture.middleware import CAPTURE_IN_WORKER, DeferredCapture
from narrative_archive.crawl.workers import ExtractorPool, extract_page
from narrative_archive.extract.errors import ExtractError

TEXT = ("Officials in Kabul said on Tuesday that weapons reached the Taliban through the northern"
        " provinces, according to a report published by the interior ministry this week. ")
PAGE = (f"<html><head><title>Weapons story</title></head><body><article><h1>Weapons story</h1>"
        f"<p>{TEXT * 6}</p><p>{TEXT * 5}</p></article></body></html>").encode()
FETCH = {
    "url": "http://tass.test/politika/1?utm=x", "request_method": "GET",
    "request_headers": [("User-Agent", "narrative-archive/0.1"), ("Accept-Encoding", "gzip")],
    "status": 200, "reason": None,
    "response_headers": [("Content-Type", "text/html; charset=utf-8"), ("Set-Cookie", "a=1"),
                         ("Transfer-Encoding", "chunked")],
    "fetched_at": "2024-05-21T12:00:00.250000+00:00",
}
# sha256 of the gunzipped response + request records of GOLDEN_BODY with FETCH and record ids
# 00..03, 00..04 (counted_ids), as the writer of 9be9c58 (before records were built in the
# workers) wrote them: the bytes a reader sees are as before.
GOLDEN_BODY = b"<html><head><title>T</title></head><body>" + b"<p>Some text here.</p>" * 200 + (
    b"</body></html>")
GOLDEN = "bf668aeb47b05c9987e63113a817f0460ae3c39ba10414a5d467c690229f7cfb"


@pytest.fixture
def counted_ids(monkeypatch):
    """warcio's record ids 00..00, 00..01, ... (uuid4 is all it uses)."""
    def reset():
        numbers = iter(range(10**6))
        monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=next(numbers)))
    reset()
    return reset


def gunzip_members(data: bytes) -> bytes:
    out = b""
    while data:
        member = zlib.decompressobj(31)
        out += member.decompress(data)
        data = member.unused_data
    return out


def warcio_read(path) -> list:
    with open(path, "rb") as fh:
        return [(r.rec_type, r.rec_headers, r.raw_stream.read())
                for r in ArchiveIterator(fh, check_digests="raise")]


def test_records_are_the_bytes_the_writer_wrote_before(tmp_path, counted_ids):
    with CaptureWriter(tmp_path, 7) as writer:
        writer.write(**FETCH, body=GOLDEN_BODY)  # ids 1, 2 (0: the file's warcinfo record)
        record = writer.write(**FETCH, body=GOLDEN_BODY)
    [name] = writer.files
    pair = (tmp_path / name).read_bytes()[record.offset:]
    assert hashlib.sha256(gunzip_members(pair)).hexdigest() == GOLDEN
    counted_ids()
    uuid.uuid4()
    build_pair(**FETCH, body=GOLDEN_BODY)
    built = build_pair(**FETCH, body=GOLDEN_BODY)
    assert built.data == pair and built.response_length == record.length  # compressed, too
    assert (built.record_id, built.payload_digest, built.fetched_at) == (
        record.record_id, record.payload_digest, record.fetched_at)


def test_a_worker_builds_the_records_and_the_writer_appends_them(tmp_path, counted_ids):
    arguments = {**FETCH, "body": PAGE}
    uuid.uuid4()  # as the file's warcinfo record takes one below
    article = extract_page(PAGE, FETCH["url"], "utf-8", capture=arguments)
    pair = article.pop("warc")
    assert isinstance(pair, BuiltPair) and article["title"] == "Weapons story"
    counted_ids()
    uuid.uuid4()  # the file's warcinfo record
    with CaptureWriter(tmp_path / "here", 1) as here:
        expected = here.write(**arguments)
    with CaptureWriter(tmp_path / "worker", 1) as writer:
        first = writer.append(pair)
        second = writer.append(pair)  # records are appended whole, one after the other
    [name] = writer.files
    data = (tmp_path / "worker" / name).read_bytes()
    written_here = (tmp_path / "here" / here.files[0]).read_bytes()
    assert data[first.offset:] == written_here[expected.offset:] * 2 == pair.data * 2
    assert second.offset == first.offset + len(pair.data)
    assert (first.length, first.record_id, first.payload_digest) == (
        expected.length, expected.record_id, expected.payload_digest)
    records = warcio_read(tmp_path / "worker" / name)  # digests checked
    assert [r[0] for r in records] == ["warcinfo", "response", "request", "response", "request"]
    assert records[1][2] == PAGE
    stored = capture.stored_record(tmp_path / "worker", name, first.offset)
    assert stored.body() == PAGE and stored.record_id == first.record_id
    assert capture.request_after(tmp_path / "worker", stored) == pair.data[pair.response_length:]


def test_a_page_without_article_still_brings_its_records_back():
    with pytest.raises(ExtractError) as raised:
        extract_page(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, FETCH["url"], None,
                     capture={**FETCH, "body": b"\x89PNG"})
    assert isinstance(raised.value.warc, BuiltPair)


def test_the_pool_sends_the_records_back_from_its_worker_process():
    async def run():
        pool = ExtractorPool(1)
        try:
            article = await pool.extract(PAGE, FETCH["url"], "utf-8", capture={**FETCH, "body": PAGE})
            with pytest.raises(ExtractError) as raised:
                await pool.extract(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, FETCH["url"], None,
                                   capture={**FETCH, "body": b"png"})
            plain = await pool.extract(PAGE, FETCH["url"], "utf-8")
        finally:
            pool.close()
        return article, raised.value, plain

    article, error, plain = asyncio.run(run())
    assert isinstance(article["warc"], BuiltPair) and gunzip_members(article["warc"].data)
    assert isinstance(error.warc, BuiltPair)
    assert "warc" not in plain


# --- the middleware: what no worker builds is written in the crawl process -----------------


def middleware(tmp_path):
    import scrapy
    from scrapy.utils.test import get_crawler

    from narrative_archive.capture.middleware import CaptureMiddleware

    crawler = get_crawler(scrapy.Spider, {
        "NARRATIVE_ARCHIVE_CAPTURES": str(tmp_path / "captures"),
        "NARRATIVE_ARCHIVE_CAPTURE_THREAD": False})
    spider = scrapy.Spider("probe")
    spider.run_id = 5
    instance = CaptureMiddleware.from_crawler(crawler)
    instance.spider_opened(spider)
    return instance, spider


def respond(instance, url: str, status: int = 200, in_worker: bool = True):
    from scrapy.http import HtmlResponse, Request

    request = Request(url, meta={CAPTURE_IN_WORKER: True} if in_worker else {})
    response = HtmlResponse(url, status=status, body=PAGE, request=request,
                            headers={"Content-Type": "text/html"})
    assert instance.process_response(request, response) is response
    return response.meta["capture"]


def test_deferred_captures_are_written_whoever_builds_them(tmp_path, monkeypatch):
    instance, spider = middleware(tmp_path)
    built = respond(instance, "http://tass.test/built")
    stored = respond(instance, "http://tass.test/stored")
    failed = respond(instance, "http://tass.test/failed")
    unsent = respond(instance, "http://tass.test/unsent")
    never_a_page = respond(instance, "http://tass.test/feed.xml")
    error = respond(instance, "http://tass.test/gone", status=404)  # never deferred
    listing = respond(instance, "http://tass.test/listing", in_worker=False)
    assert all(isinstance(c, DeferredCapture) for c in (built, failed, unsent, never_a_page))
    assert isinstance(error, Future) and isinstance(listing, Future)

    arguments = instance.take(built)
    assert arguments is not None and instance.take(built) is None  # taken once
    pair = extract_page(PAGE, arguments["url"], "utf-8", capture=arguments)["warc"]
    record = instance.finish(built, pair).result()
    assert instance.settle(built).result() == record  # the worker's records, written once
    arguments = instance.take(stored)
    pair = extract_page(PAGE, arguments["url"], "utf-8", capture=arguments)["warc"]
    stored_record = instance.append_here(stored, pair)  # in the archive writer's thread
    assert stored_record is not None and instance.settle(stored).result() == stored_record

    assert instance.take(failed) is not None
    failed_record = instance.finish(failed, None).result()  # the worker timed out, say
    unsent_record = instance.settle(unsent).result()  # e.g. a revisit: the pipeline awaits it
    assert instance.take(unsent) is None

    assert never_a_page.future is None  # waits to be taken ...
    monkeypatch.setattr(capture_middleware, "DEFERRED_FOR", 0.0)
    drained = instance.drain()  # ... until DEFERRED_FOR has passed
    assert never_a_page.future is not None
    assert {r.url for r in drained} == {
        "http://tass.test/built", "http://tass.test/stored", "http://tass.test/failed", "http://tass.test/unsent",
        "http://tass.test/feed.xml", "http://tass.test/gone", "http://tass.test/listing"}
    assert {record, stored_record, failed_record, unsent_record} <= set(drained)
    instance.spider_closed(spider)

    [warc] = (tmp_path / "captures").glob("*.warc.gz")
    problems: list = []
    responses = [r for r in iter_records(warc, problems, name=warc.name) if r.type == "response"]
    assert not problems and len(responses) == 7
    assert all(r.body() == PAGE for r in responses)
    assert [r[0] for r in warcio_read(warc)] == ["warcinfo"] + ["response", "request"] * 7


def test_a_deferred_capture_nobody_took_is_written_when_the_crawl_ends(tmp_path):
    instance, spider = middleware(tmp_path)
    left = respond(instance, "http://tass.test/left")
    assert [r.url for r in instance.drain(wait=True)] == ["http://tass.test/left"]
    assert left.future is not None
    late = respond(instance, "http://tass.test/late")
    instance.spider_closed(spider)  # written before the writer closes
    assert late.future.result().url == "http://tass.test/late"
