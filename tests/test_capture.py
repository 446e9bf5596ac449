"""Capture: real WARC files written, then read back with warcio; a crawl of the fixture sites
with capture on; truncated and corrupt files; paths outside the captures dir; WACZ export."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from w3lib.encoding import http_content_type_encoding
from warcio.archiveiterator import ArchiveIterator

from narrative_archive import capture
from narrative_archive.capture import (
    CaptureDirError,
    CaptureWriter,
    UnreadableRecord,
    UnsafePath,
    check_captures_dir,
    iter_records,
    read_record,
    record_bytes,
)
from narrative_archive.extract.article import extract_article
from tests.fixture_server import (
    OUTLETS,
    FixtureServer,
    Reply,
    add_hostile_routes,
    query,
    run_crawl,
    write_config,
)

HTML = b"<html><head><title>Russia and the Taliban</title></head><body><p>Text.</p></body></html>"
REQUEST_HEADERS = [("User-Agent", "narrative-archive/0.1"), ("Accept-Encoding", "gzip, deflate")]


def sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def write_pairs(directory: Path, count: int = 3, **writer_options) -> tuple[CaptureWriter, list]:
    records = []
    with CaptureWriter(directory, 7, **writer_options) as writer:
        for number in range(count):
            body = HTML.replace(b"Text.", f"Text {number}. ".encode() * 50)
            records.append(writer.write(
                f"http://tass.test/politika/{number}?x=1", "GET", REQUEST_HEADERS, 200, None,
                [("Content-Type", "text/html; charset=utf-8"), ("Set-Cookie", "a=1"),
                 ("Set-Cookie", "b=2")], body, "2024-05-21T12:00:00Z"))
    return writer, records


def warcio_records(path: Path) -> list[dict]:
    """Every record of a file as warcio's own iterator reads it (digests checked)."""
    found = []
    with open(path, "rb") as fh:
        iterator = ArchiveIterator(fh, check_digests="raise")
        for record in iterator:
            raw = record.raw_stream.read()
            found.append({
                "type": record.rec_type, "headers": record.rec_headers,
                "http": record.http_headers, "raw": raw,
                "offset": iterator.get_record_offset(),
            })
    offsets = [r["offset"] for r in found] + [path.stat().st_size]
    for record, end in zip(found, offsets[1:], strict=True):
        record["length"] = end - record["offset"]
    return found


# --- writing ------------------------------------------------------------------------------------


def test_a_fetch_is_a_response_and_a_request_record_warcio_reads(tmp_path):
    encoded = gzip.compress(HTML)
    with CaptureWriter(tmp_path, 42) as writer:
        page = writer.write(
            "http://tass.test/politika/1?utm=x", "GET", REQUEST_HEADERS, 200, None,
            [("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip"),
             ("Content-Length", str(len(encoded))), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")],
            encoded, "2024-05-21T12:00:00.250000+00:00")
        missing = writer.write("http://tass.test/gone", "POST", {b"X-Test": [b"1"]}, 404, None,
                               {b"Content-Type": [b"text/plain"]}, b"not found",
                               request_body=b"q=1")
    [name] = os.listdir(tmp_path)
    assert name.startswith("narrative-archive-42-") and name.endswith("-00000.warc.gz")
    assert page.warc_file == missing.warc_file == name
    info, response, request, response2, request2 = warcio_records(tmp_path / name)

    assert info["type"] == "warcinfo" and info["offset"] == 0
    assert b"software: narrative-archive/" in info["raw"]
    assert info["headers"].protocol == "WARC/1.1"

    assert (response["type"], request["type"]) == ("response", "request")
    assert response["headers"].get_header("WARC-Target-URI") == "http://tass.test/politika/1?utm=x"
    assert response["headers"].get_header("WARC-Date") == "2024-05-21T12:00:00.250000Z"
    assert response["headers"].get_header("WARC-Concurrent-To") == request["headers"].get_header(
        "WARC-Record-ID") and request["headers"].get_header(
        "WARC-Concurrent-To") == response["headers"].get_header("WARC-Record-ID")
    # the body exactly as the server sent it: still gzip, with its Content-Encoding
    assert response["raw"] == encoded
    assert response["http"].get_statuscode() == "200"
    assert response["http"].statusline == "200 OK"
    assert response["http"].get_header("Content-Encoding") == "gzip"
    assert [v for k, v in response["http"].headers if k == "Set-Cookie"] == ["a=1", "b=2"]
    assert request["http"].protocol == "GET"
    assert request["http"].statusline == "/politika/1?utm=x HTTP/1.1"
    assert request["http"].get_header("Host") == "tass.test"
    assert request["http"].get_header("User-Agent") == "narrative-archive/0.1"

    assert page.payload_digest == sha1_b32(encoded) == response["headers"].get_header(
        "WARC-Payload-Digest")
    assert page.record_id == response["headers"].get_header("WARC-Record-ID")
    assert (page.offset, page.length) == (response["offset"], response["length"])
    assert (page.status, page.content_type, page.fetched_at) == (
        200, "text/html; charset=utf-8", "2024-05-21T12:00:00Z")
    assert (missing.offset, missing.status) == (response2["offset"], 404)
    assert request2["raw"] == b"q=1" and request2["http"].protocol == "POST"

    # and our own readers agree: decoded body, exact bytes
    assert read_record(tmp_path, name, page.offset, page.length) == (
        response["http"].headers, 200, HTML)
    assert read_record(tmp_path, name, page.offset, decode=False).body == encoded
    with open(tmp_path / name, "rb") as fh:
        fh.seek(page.offset)
        assert record_bytes(tmp_path, name, page.offset, page.length) == fh.read(page.length)


def test_dechunked_and_already_decoded_bodies_say_so(tmp_path):
    with CaptureWriter(tmp_path, 1) as writer:
        chunked = writer.write("http://a.test/", "GET", [], 200, None,
                               [("Transfer-Encoding", "chunked"), ("Content-Type", "text/html")],
                               HTML)
        decoded = writer.write("http://a.test/b", "GET", [], 200, None,
                               [("Content-Encoding", "br"), ("Content-Length", "12")], HTML,
                               body_decoded=True)
    first = capture.stored_record(tmp_path, chunked.warc_file, chunked.offset)
    assert capture.header(first.headers, "Transfer-Encoding") is None
    assert ("WARC-Original-Transfer-Encoding", "chunked") in first.warc_headers
    second = capture.stored_record(tmp_path, decoded.warc_file, decoded.offset)
    assert capture.header(second.headers, "Content-Encoding") is None
    assert capture.header(second.headers, "Content-Length") == str(len(HTML))
    assert ("WARC-Original-Content-Encoding", "br") in second.warc_headers
    assert second.body() == HTML


def test_files_rotate_and_a_new_run_never_appends(tmp_path):
    writer, records = write_pairs(tmp_path, 5, max_bytes=1_200)
    assert len(writer.files) >= 3
    assert [f[-14:] for f in writer.files] == [f"-{n:05d}.warc.gz" for n in range(len(writer.files))]
    for name in writer.files:
        types = [r["type"] for r in warcio_records(tmp_path / name)]
        assert types[0] == "warcinfo" and types[1:] == ["response", "request"] * (len(types) // 2)
    for record in records:  # every pair lives in one file
        assert read_record(tmp_path, record.warc_file, record.offset, record.length).status == 200

    sizes = {name: (tmp_path / name).stat().st_size for name in writer.files}
    again, _ = write_pairs(tmp_path, 1)
    assert not set(again.files) & set(writer.files)
    assert {name: (tmp_path / name).stat().st_size for name in writer.files} == sizes


def test_captures_dir_is_checked_before_anything_is_written(tmp_path):
    created = check_captures_dir(tmp_path / "new" / "captures")
    assert created.is_dir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(CaptureDirError, match="is not a directory"):
        check_captures_dir(tmp_path / "file")
    with pytest.raises(CaptureDirError, match="cannot be created"):
        CaptureWriter(tmp_path / "file" / "captures", 1)
    with pytest.raises(CaptureDirError, match="does not exist"):
        check_captures_dir(tmp_path / "absent", create=False)


# --- reading bad files --------------------------------------------------------------------------


def test_a_file_cut_mid_record_keeps_earlier_records_and_names_the_bad_offset(tmp_path):
    writer, records = write_pairs(tmp_path, 3)
    path = tmp_path / writer.files[0]
    with open(path, "r+b") as fh:
        fh.truncate(records[2].offset + records[2].length // 2)
    problems = []
    read = list(iter_records(path, problems))
    assert [r.type for r in read] == ["warcinfo"] + ["response", "request"] * 2
    assert [r.record_id for r in read if r.type == "response"] == [
        r.record_id for r in records[:2]]
    assert [(p.offset, "truncated" in p.reason) for p in problems] == [(records[2].offset, True)]
    with pytest.raises(UnreadableRecord, match=f"{writer.files[0]} at offset {records[2].offset}"):
        read_record(tmp_path, writer.files[0], records[2].offset, records[2].length)
    assert read_record(tmp_path, writer.files[0], records[1].offset).status == 200


def test_a_corrupt_record_in_the_middle_is_skipped_and_reading_goes_on(tmp_path):
    writer, records = write_pairs(tmp_path, 3)
    path = tmp_path / writer.files[0]
    data = bytearray(path.read_bytes())
    middle = records[1].offset + records[1].length // 2
    data[middle:middle + 8] = b"\x00" * 8
    path.write_bytes(bytes(data))
    problems = []
    ids = [r.record_id for r in iter_records(path, problems) if r.type == "response"]
    assert ids == [records[0].record_id, records[2].record_id]
    assert [p.offset for p in problems] == [records[1].offset]


def test_kill_9_mid_write_leaves_every_complete_record_readable(tmp_path):
    script = (
        "import sys\n"
        "from narrative_archive.capture import CaptureWriter\n"
        "writer = CaptureWriter(sys.argv[1], 9)\n"
        "body = bytes(range(256)) * 4000\n"
        "for n in range(100000):\n"
        "    r = writer.write(f'http://a.test/{n}', 'GET', [], 200, None, [], body)\n"
        "    print(r.warc_file, r.offset, r.record_id, flush=True)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)],
                               stdout=subprocess.PIPE, text=True)
    written = [process.stdout.readline().split() for _ in range(20)]
    process.kill()
    process.wait(timeout=10)
    [name] = {w[0] for w in written}
    problems = []
    read = {r.record_id: r for r in iter_records(tmp_path / name, problems)}
    for _, offset, record_id in written:
        assert read[record_id].offset == int(offset)
        assert read[record_id].payload == bytes(range(256)) * 4000
    assert len(problems) <= 1  # at most the record being written at the kill
    assert all(p.offset > int(written[-1][1]) for p in problems)


# --- paths --------------------------------------------------------------------------------------


def test_paths_outside_the_captures_dir_are_refused(tmp_path):
    captures = tmp_path / "captures"
    writer, [record] = write_pairs(captures, 1)
    outside = tmp_path / "secret.warc.gz"
    outside.write_bytes((captures / record.warc_file).read_bytes())
    (captures / "link.warc.gz").symlink_to(outside)
    (captures / "sub").symlink_to(tmp_path)
    for bad, why in [
        ("../secret.warc.gz", "'..'"),
        (str(outside), "absolute"),
        ("link.warc.gz", "outside the captures dir"),
        ("sub/secret.warc.gz", "outside the captures dir"),
        ("../../etc/passwd", "'..'"),
        ("archive.db", "not a .warc"),
        ("", "empty"),
    ]:
        for read in (lambda n: record_bytes(captures, n, record.offset, record.length),
                     lambda n: read_record(captures, n, record.offset)):
            with pytest.raises(UnsafePath, match=why):
                read(bad)
    assert record_bytes(captures, record.warc_file, record.offset, record.length)


def test_a_range_that_is_not_one_record_is_refused(tmp_path):
    writer, records = write_pairs(tmp_path, 2)
    name, first = writer.files[0], records[0]
    for offset, length, why in [
        (first.offset + 1, first.length, "no record starts"),
        (first.offset, first.length - 1, "not exactly one record"),
        (first.offset, first.length * 2 + 2000, "not exactly one record|past the end"),
        (first.offset, 10**9, "past the end"),
        (-1, 10, "bad range"),
    ]:
        with pytest.raises(UnreadableRecord, match=why):
            record_bytes(tmp_path, name, offset, length)
    with pytest.raises(FileNotFoundError):
        record_bytes(tmp_path, "missing.warc.gz", 0, 10)


# --- a real crawl -------------------------------------------------------------------------------


def gzip_outlet(server: FixtureServer) -> dict:
    """An outlet on 127.0.0.1 itself whose article comes gzip-encoded."""
    text = " ".join(f"Paragraph {p}: officials in Kabul said Russian weapons reached the Taliban"
                    " through the northern provinces, according to the report." for p in range(8))
    html = (f"<html><head><title>Gzip story</title></head><body><article><h1>Gzip story</h1>"
            f"<p>{text}</p><p>{text}</p></article></body></html>").encode()
    server.add("127.0.0.1", "/story/gzip", Reply(200, gzip.compress(html), {
        "Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"}))
    feed = (f"<rss version='2.0'><channel><title>Direct</title><item><title>Gzip story</title>"
            f"<link>{server.url}/story/gzip</link></item></channel></rss>")
    server.add("127.0.0.1", "/feed.xml", Reply(200, feed.encode(),
                                                {"Content-Type": "application/rss+xml"}))
    return {"id": "direct", "name": "Direct", "url": f"{server.url}/", "domains": ["127.0.0.1"],
            "feeds": [f"{server.url}/feed.xml"]}, html


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    """One feeds crawl of the fixture outlets (and a gzip one) with capture on."""
    tmp = tmp_path_factory.mktemp("capture")
    with FixtureServer() as server:
        add_hostile_routes(server)
        outlet, html = gzip_outlet(server)
        config = write_config(tmp / "config", [*OUTLETS, outlet])
        result = run_crawl(server, ["feeds"], tmp / "archive.db", config,
                           settings={"NARRATIVE_ARCHIVE_CAPTURES": str(tmp / "captures")})
        assert result.returncode == 0, result.stderr[-3000:]
        files = sorted((tmp / "captures").glob("*.warc.gz"))
        problems = []
        records = [r for f in files for r in iter_records(f, problems, name=f.name)]
        yield SimpleNamespace(tmp=tmp, captures=tmp / "captures", db=tmp / "archive.db",
                              server=server, files=files, records=records, problems=problems,
                              queries=list(server.queries), gzip_html=html)


def responses(crawl) -> list[capture.StoredRecord]:
    return [r for r in crawl.records if r.type == "response"]


def test_the_crawl_wrote_one_readable_file(crawl):
    [only] = crawl.files
    assert only.name.startswith("narrative-archive-1-")  # the run's id
    assert not crawl.problems
    kinds = Counter(r.type for r in crawl.records)
    assert kinds["warcinfo"] == 1 and kinds["response"] == kinds["request"] > 20


def test_every_response_the_server_sent_has_a_record(crawl):
    answered = Counter((host, path) for host, path, _ in crawl.queries)
    recorded = Counter()
    for record in responses(crawl):
        parts = urlsplit(record.url)
        recorded[(parts.hostname, parts.path or "/")] += 1
    # the oversized page was cut off by DOWNLOAD_MAXSIZE: no response, so no record
    answered.pop(("antiwar.test", "/2024/05/22/huge/"))
    assert recorded == answered
    status = {r.url: r.status for r in responses(crawl)}
    assert status["http://tass.test/robots.txt"] == status["http://tass.test/rss/v2.xml"] == 200
    statuses = Counter(r.status for r in responses(crawl))
    assert status["http://antiwar.test/2024/05/22/gone/"] == 404
    assert statuses[500] == 1 and statuses[302] == 2  # the flaky page's first answer; the loop


def test_every_stored_article_extracts_from_its_capture(crawl):
    by_url = {}
    for record in responses(crawl):
        if record.status == 200:
            by_url[record.url] = record
    articles = query(crawl.db, "SELECT url, text, content_hash FROM articles")
    assert len(articles) > 10
    for article in articles:
        record = by_url[article["url"]]
        body = record.body()
        encoding = http_content_type_encoding(record.content_type or "")
        extracted = extract_article(body, record.url, encoding=encoding)
        assert (extracted.text, extracted.content_hash) == (article["text"],
                                                             article["content_hash"])


def test_a_gzip_page_is_captured_as_sent_and_stored_decoded(crawl):
    [record] = [r for r in responses(crawl) if r.url.endswith("/story/gzip")]
    assert capture.header(record.headers, "Content-Encoding") == "gzip"
    assert record.payload[:2] == b"\x1f\x8b" and record.body() == crawl.gzip_html
    assert record.payload_digest == sha1_b32(record.payload)
    [article] = query(crawl.db, "SELECT text FROM articles WHERE url LIKE '%/story/gzip'")
    assert "Russian weapons reached the Taliban" in article["text"]


def test_request_records_carry_what_was_sent(crawl):
    requests = [r for r in crawl.records if r.type == "request"]
    ids = {r.record_id for r in responses(crawl)}
    assert all(r.concurrent_to in ids for r in requests)
    agents = {capture.header(r.headers, "User-Agent") for r in requests}
    assert agents == {"narrative-archive/0.1 (+https://github.com/narrative-archive/narrative-archive)"}
    assert all(capture.header(r.headers, "Proxy-Authorization") is None for r in requests)


def test_capture_off_writes_nothing(tmp_path):
    with FixtureServer() as server:
        config = write_config(tmp_path / "config", [o for o in OUTLETS if o["id"] == "tass"])
        result = run_crawl(server, ["feeds"], tmp_path / "a.db", config, settings={
            "NARRATIVE_ARCHIVE_CAPTURES": str(tmp_path / "captures"),
            "NARRATIVE_ARCHIVE_CAPTURE": "0"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert not (tmp_path / "captures").exists()


def test_an_unusable_captures_dir_stops_the_crawl_before_fetching(tmp_path):
    (tmp_path / "file").write_text("x")
    with FixtureServer() as server:
        config = write_config(tmp_path / "config", [o for o in OUTLETS if o["id"] == "tass"])
        result = run_crawl(server, ["feeds"], tmp_path / "a.db", config, settings={
            "NARRATIVE_ARCHIVE_CAPTURES": str(tmp_path / "file" / "captures")})
        fetched = list(server.queries)
    assert result.returncode != 0
    assert "captures dir" in result.stderr and "cannot be created" in result.stderr
    assert fetched == []


# --- WACZ ---------------------------------------------------------------------------------------


def test_wacz_export_validates_and_holds_the_exact_records(crawl, tmp_path):
    from wacz.main import main as wacz

    ok = [r for r in responses(crawl) if r.status == 200]
    html = [r for r in ok if (r.content_type or "").startswith("text/html")][:3]
    chosen = html + [r for r in ok if "xml" in (r.content_type or "")][:3]  # feeds: no pages
    out = tmp_path / "narrative.wacz"
    summary = capture.export_wacz(
        [(r.warc_file, r.offset, r.length) for r in chosen] + [("../x.warc.gz", 0, 10)],
        crawl.captures, out, "Russia arming the Taliban",
        page_titles={html[0].url: "First page"})
    assert summary["records"] == 6 and len(summary["problems"]) == 1
    assert wacz(["validate", "-f", str(out)]) == 0
    with zipfile.ZipFile(out) as package:
        names = set(package.namelist())
        assert {"datapackage.json", "datapackage-digest.json", "pages/pages.jsonl",
                "indexes/index.cdx.gz", "archive/narrative.warc.gz"} <= names
        warc = package.read("archive/narrative.warc.gz")
        pages = package.read("pages/pages.jsonl").decode()
    for record in chosen:  # byte for byte, each followed by its request
        assert record_bytes(crawl.captures, record.warc_file, record.offset, record.length) in warc
    packaged = tmp_path / "packaged.warc.gz"
    packaged.write_bytes(warc)
    types = [r["type"] for r in warcio_records(packaged)]
    assert types == ["warcinfo"] + ["response", "request"] * 6
    listed = [json.loads(line) for line in pages.splitlines()][1:]
    assert [p["url"] for p in listed] == [r.url for r in html]
    assert listed[0]["title"] == "First page"


def test_wacz_export_of_nothing_readable_is_an_error(tmp_path):
    with pytest.raises(capture.CaptureError, match="nothing to export"):
        capture.export_wacz([("../x.warc.gz", 0, 10)], tmp_path, tmp_path / "o.wacz", "t")


# --- the middleware, called directly --------------------------------------------------------


def middleware(tmp_path, **settings):
    import scrapy
    from scrapy.utils.test import get_crawler

    from narrative_archive.capture.middleware import CaptureMiddleware

    crawler = get_crawler(scrapy.Spider, {
        "NARRATIVE_ARCHIVE_CAPTURES": str(tmp_path / "captures"),
        "NARRATIVE_ARCHIVE_CAPTURE_THREAD": False, **settings})
    spider = scrapy.Spider("probe")
    spider.run_id = 5
    instance = CaptureMiddleware.from_crawler(crawler)
    instance.spider_opened(spider)
    return instance, crawler, spider


def test_the_middleware_attaches_the_capture_to_the_response_meta(tmp_path):
    from concurrent.futures import Future

    from scrapy.http import HtmlResponse, Request

    instance, crawler, spider = middleware(tmp_path)
    request = Request("http://tass.test/a", headers={"Proxy-Authorization": "Basic c2VjcmV0",
                                                     "Accept-Encoding": "gzip"})
    encoded = gzip.compress(HTML)
    response = HtmlResponse(request.url, status=200, body=encoded, request=request, headers={
        "Content-Type": "text/html", "Content-Encoding": "gzip"})
    assert instance.process_response(request, response) is response
    future = response.meta["capture"]
    assert isinstance(future, Future) and response.meta["captures"] == [future]
    record = future.result()
    assert instance.drain(wait=True) == [record]  # what the pipeline stores as captures rows
    assert (record.url, record.status, record.warc_file.split("-")[2]) == (request.url, 200, "5")
    stored = capture.stored_record(tmp_path / "captures", record.warc_file, record.offset)
    assert stored.payload == encoded and stored.body() == HTML
    [sent] = [r for r in iter_records(tmp_path / "captures" / record.warc_file)
              if r.type == "request"]
    assert capture.header(sent.headers, "Proxy-Authorization") is None
    assert capture.header(sent.headers, "Accept-Encoding") == "gzip"
    assert crawler.stats.get_value("narrative_archive/capture/records") == 1

    # a write that fails (the directory vanished) loses the capture, not the response
    instance.writer.close()
    for name in os.listdir(tmp_path / "captures"):
        os.remove(tmp_path / "captures" / name)
    os.rmdir(tmp_path / "captures")
    second = Request("http://tass.test/b")
    answer = HtmlResponse(second.url, status=500, body=b"oops", request=second)
    assert instance.process_response(second, answer) is answer
    with pytest.raises(OSError):
        second.meta["capture"].result()
    assert instance.drain(wait=True) == []
    assert crawler.stats.get_value("narrative_archive/capture/errors") == 1
    instance.spider_closed(spider)


def test_the_middleware_is_off_without_a_directory(tmp_path):
    from scrapy.exceptions import NotConfigured

    with pytest.raises(NotConfigured):
        middleware(tmp_path, NARRATIVE_ARCHIVE_CAPTURES=None)
    with pytest.raises(NotConfigured):
        middleware(tmp_path, NARRATIVE_ARCHIVE_CAPTURE=False)
    assert not (tmp_path / "captures").exists()
