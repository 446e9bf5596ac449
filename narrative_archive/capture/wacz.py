"""Captures packaged as WACZ (the wacz package, in-process) for ReplayWeb.page."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import tempfile
import uuid
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from warcio.timeutils import iso_date_to_timestamp
from warcio.warcwriter import WARCWriter

from narrative_archive.capture.paths import CaptureError
from narrative_archive.capture.reader import record_bytes, request_after, stored_record
from narrative_archive.capture.writer import software
from narrative_archive.times import iso, now

log = logging.getLogger(__name__)


def export_wacz(records: Iterable[tuple[str, int, int]], captures_dir: str | os.PathLike,
                out_path: str | os.PathLike, title: str, description: str | None = None,
                page_titles: dict[str, str] | None = None) -> dict:
    """Package these response records (warc_file, offset, length) as a WACZ for replay.

    Each response record is copied byte for byte with the request record that
    follows it, into one WARC inside the package; `wacz create` (the wacz
    package, called in-process) indexes it and writes the datapackage.
    HTML responses with a 2xx status become the package's pages (titles from
    `page_titles`, by URL). Returns {"records", "pages", "problems"}; an
    unreadable or unsafe record is skipped and listed in problems.
    """
    from wacz.main import main as wacz_main

    out = Path(out_path)
    seen: set[tuple[str, int]] = set()
    pages: list[dict] = []
    problems: list[str] = []
    count = 0
    with tempfile.TemporaryDirectory(prefix="narrative-archive-wacz-") as scratch:
        warc = Path(scratch) / f"{out.stem or 'export'}.warc.gz"
        with open(warc, "wb") as target:
            info = WARCWriter(target, gzip=True, warc_version="1.1")
            info.write_record(info.create_warcinfo_record(warc.name, {
                "software": software(), "format": "WARC File Format 1.1",
                "description": description or title}))
            for warc_file, offset, length in records:
                key = (str(warc_file), int(offset))
                if key in seen:
                    continue
                seen.add(key)
                try:
                    response = stored_record(captures_dir, warc_file, offset, length)
                    data = record_bytes(captures_dir, warc_file, offset, length)
                    request = request_after(captures_dir, response)
                except (CaptureError, OSError) as error:
                    problems.append(str(error))
                    log.warning("export-wacz skips %s@%s: %s", warc_file, offset, error)
                    continue
                target.write(data)
                if request is not None:
                    target.write(request)
                count += 1
                mime = (response.content_type or "").split(";")[0].strip().lower()
                if response.status and 200 <= response.status < 300 and mime in (
                        "text/html", "application/xhtml+xml"):
                    page = {"id": uuid.uuid4().hex, "url": response.url,
                            "ts": _page_ts(response.date)}
                    if page_titles and response.url is not None and page_titles.get(response.url):
                        page["title"] = page_titles[response.url]
                    pages.append(page)
        if not count:
            raise CaptureError("nothing to export: no readable capture among the records given")
        pages_file = Path(scratch) / "pages.jsonl"
        lines = [{"format": "json-pages-1.0", "id": "pages", "title": title}, *pages]
        pages_file.write_text("".join(json.dumps(line) + "\n" for line in lines),
                              encoding="utf-8")
        args = ["create", "-o", str(out), str(warc), "--title", title,
                "--pages", str(pages_file), "--copy-pages"]
        if description:
            args += ["--desc", description]
        out.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.redirect_stdout(io.StringIO()) as chatter:
            code = wacz_main(args)
        if code:
            raise CaptureError(f"wacz create failed: {chatter.getvalue().strip()[-500:]}")
    return {"records": count, "pages": len(pages), "problems": problems}


def _page_ts(warc_date: str | None) -> str:
    if not warc_date:
        return now()
    stamp = iso_date_to_timestamp(warc_date)
    return iso(datetime.strptime(stamp[:14], "%Y%m%d%H%M%S"))

