"""Build a demo archive, and optionally screenshot it in headless Chromium.

    .venv/bin/python datasette/demo.py build/demo/demo.db
    .venv/bin/python datasette/demo.py build/demo/demo.db --screenshots docs/screenshots

The archive uses the shipped config (config/outlets.yml, config/narratives.yml)
and ~60 SYNTHETIC articles (demo_stories.py): headlines and texts paraphrase how the
2015-2021 stories about Russia, Iran and Pakistan and the Taliban travelled (Kabulov
on sharing information, Nicholson and Scaparrotti on arms, the 2020 bounty reports,
the weapons left behind in 2021), but they are written for the demo, not copied
from the outlets named, and every URL has /demo/ in its path. Use it to try the
published archive (`narrative-archive serve --db build/demo/demo.db`) and to regenerate the
README screenshots, never as a source.

Each story and each edit gets a WARC capture of a synthetic page carrying its
text, in captures/ beside the archive (where `serve` looks: `make demo` builds in
build/demo/, so its captures never mix with those of an archive.db in the repository), and
the demo stores exactly what each page extracts to (re-extracting changes nothing), so the
article page lists captures with their WARC record downloads; a rebuild replaces the
demo's WARC files and leaves any others there alone.

--screenshots DIR (demo_screenshots.py) serves the archive with `narrative-archive serve` on a free
port and saves search.png, dashboard.png, article.png and the Analysis section's
stance.png, attention.png, disputed.png, pickups.png, citations.png in DIR (it needs the
playwright package and Debian's chromium at /usr/bin/chromium).
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path

# the demo's other modules, beside this script in datasette/
from demo_screenshots import take_screenshots
from demo_stories import ATTRIBUTIONS, COPIES, EDITED, LINKS, STORIES

from narrative_archive import store
from narrative_archive.analysis import archive as analysis
from narrative_archive.analysis import citations
from narrative_archive.capture import CaptureWriter
from narrative_archive.config import load_narratives, load_outlets
from narrative_archive.extract.article import content_hash, extract_article
from narrative_archive.match import narratives
from narrative_archive.paths import DEFAULT_CONFIG_DIR, captures_dir

# Every outlet's other output, so attention is a share of something: a few short
# unrelated bulletins a month from the outlets whose feeds we crawl.
FILLER_OUTLETS = tuple(dict.fromkeys(
    [story[0] for story in STORIES] + [copy[1] for copy in COPIES]))
FILLER_MONTHS = [(year, month) for year in range(2017, 2022) for month in range(1, 13)
                 if (year, month) <= (2021, 8)]


def filler_articles(outlets) -> list[dict]:
    rows = []
    for year, month in FILLER_MONTHS:
        for position, outlet_id in enumerate(FILLER_OUTLETS):
            for n in range(1 + (year * 7 + month * 3 + position * 5) % 5):
                day = 1 + (n * 5 + position) % 27
                seen = datetime(year, month, day, 6 + n % 12, (5 * position) % 60)
                title = f"{outlets[outlet_id].name} bulletin {year}-{month:02d} #{n + 1}"
                rows.append({"outlet_id": outlet_id, "seen": seen, "article": {
                    "url": f"{outlets[outlet_id].url.rstrip('/')}/demo/bulletin/{year}/{month}/{n}",
                    "title": title, "published_at": _iso(seen), "language": "en",
                    "text": f"{title}: markets, weather and sport from the region.",
                }})
    return rows


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "article"


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


DEMO_RUN = "demo"  # the demo's WARC files are narrative-archive-demo-*.warc.gz


def demo_page(article: dict) -> bytes:
    """A synthetic article page carrying the article's title and text, so that extracting
    it gives back exactly that title and text (no visible headline: on a short page the
    extractor would take it into the text)."""
    title = html.escape(article["title"])
    paragraphs = "".join(f"<p>{html.escape(part)}</p>"
                         for part in article["text"].split("\n") if part.strip())
    return (f"<!doctype html><html><head><meta charset=utf-8><title>{title}</title>"
            f'<meta property="og:title" content="{title}">'
            f'<link rel=canonical href="{html.escape(article["url"])}"></head>'
            f"<body><article>{paragraphs}</article></body></html>").encode()


def as_captured(article: dict) -> dict:
    """The article as its synthetic page extracts: what `reextract` would find in its
    capture is what the demo stores (title, text and their content hash)."""
    extracted = extract_article(demo_page(article), article["url"])
    return {**article, "title": extracted.title or article["title"],
            "text": extracted.text or article["text"], "content_hash": extracted.content_hash}


def capture_page(db, writer: CaptureWriter, article: dict, seen: datetime) -> int:
    """The captures row of a synthetic fetch of the article's page at `seen`."""
    record = writer.write(
        article["url"], "GET", [("User-Agent", "narrative-archive demo")], 200, None,
        [("Content-Type", "text/html; charset=utf-8")], demo_page(article), fetched_at=seen)
    return store.save_capture(db, record, source="live")


def build_demo_archive(path: str | Path, config_dir: str | Path = DEFAULT_CONFIG_DIR) -> dict:
    """Create (or replace) the demo archive at path, with its captures/ beside it;
    return counts."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    captures = captures_dir(path)
    for old in captures.glob(f"narrative-archive-{DEMO_RUN}-*.warc.gz"):
        old.unlink()
    writer = CaptureWriter(captures, DEMO_RUN,
                           info={"description": "narrative-archive demo: synthetic pages"})
    config_dir = Path(config_dir)
    outlets = {o.id: o for o in load_outlets(config_dir / "outlets.yml")}
    tracked = load_narratives(config_dir / "narratives.yml", narratives.check_query)
    db = store.open_db(path)
    store.set_synchronous(db, "OFF")  # a demo: rebuilt, never recovered
    store.save_outlets(db, outlets.values())
    narratives.save_narratives(db, tracked)
    outlet_names = citations.outlet_index(outlets.values())
    rows = [(outlet_id, published, lag_hours, title, text + ATTRIBUTIONS.get(index, ""))
            for index, (outlet_id, published, lag_hours, title, text) in enumerate(STORIES)]
    urls: dict[int, str] = {}
    ids = []
    for index, (outlet_id, published, lag_hours, title, text) in enumerate(rows):
        outlet = outlets[outlet_id]
        if published:
            published_dt = datetime.strptime(published, "%Y-%m-%d %H:%M")
            seen = published_dt + timedelta(hours=lag_hours, minutes=7 * (index % 5))
            published_at = _iso(published_dt)
        else:
            seen, published_at = datetime(2018, 2, 3, 6, 12), None
        url = (f"{outlet.url.rstrip('/')}/demo/{seen:%Y/%m}/{slugify(title)}")
        urls[index] = url
        article = {
            "url": url, "title": title, "text": text, "published_at": published_at,
            "links": [urls[cited] for cited in LINKS.get(index, ()) if cited in urls],
            "language": "ru" if re.search("[а-яА-Я]", text) else "en",
            "authors": [] if outlet.kind == "wire" and index % 2 else ["Staff reporter"],
            "content_hash": content_hash(text, title),
            "description": text.split(". ")[0].rstrip(".") + ".",
        }
        article = as_captured(article)
        capture_id = capture_page(db, writer, article, seen)
        article_id, _ = store.save_article(db, article, outlet_id, via="feed",
                                           fetched_at=_iso(seen), capture_id=capture_id)
        store.link_capture(db, capture_id, article_id)
        narratives.match_article(db, article_id, tracked)
        analysis.analyse_article(db, article_id, article, outlet_names)
        ids.append((article_id, article, seen))
    for source, outlet_id, after_hours, before, after in COPIES:
        _, original, seen = ids[source]
        copy_seen = seen + timedelta(hours=after_hours)
        text = " ".join(part for part in (before, original["text"]) if part) + after
        article = {
            **original, "text": text, "published_at": _iso(copy_seen - timedelta(minutes=20)),
            "url": f"{outlets[outlet_id].url.rstrip('/')}/demo/{copy_seen:%Y/%m}/"
                   f"{slugify(original['title'])}",
            "content_hash": content_hash(text, original["title"]), "links": [],
        }
        article_id, _ = store.save_article(db, article, outlet_id, via="feed",
                                           fetched_at=_iso(copy_seen))
        narratives.match_article(db, article_id, tracked)
        analysis.analyse_article(db, article_id, article, outlet_names)
    for filler in filler_articles(outlets):
        article_id, _ = store.save_article(db, filler["article"], filler["outlet_id"], via="feed",
                                           fetched_at=_iso(filler["seen"]))
        analysis.analyse_article(db, article_id, filler["article"], outlet_names)
    article_id, article, seen = ids[EDITED["index"]]
    edited = {**article, "text": article["text"] + EDITED["append"]}
    edited = as_captured(edited)
    edited_seen = seen + timedelta(hours=EDITED["after_hours"])
    capture_id = capture_page(db, writer, edited, edited_seen)
    store.save_article(db, edited, STORIES[EDITED["index"]][0], via="feed",
                       fetched_at=_iso(edited_seen), capture_id=capture_id)
    store.link_capture(db, capture_id, article_id)
    writer.close()
    narratives.match_article(db, article_id, tracked)
    analysis.analyse_article(db, article_id, edited, outlet_names)
    analysis.restory(db)  # what `narrative-archive analyse --stories` does: exact clusters
    counts = store.table_counts(db)
    db.close()
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("db", help="where to write the demo archive (replaced if it exists)")
    parser.add_argument("--screenshots", metavar="DIR",
                        help="also serve it and save search.png, dashboard.png, article.png")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args(argv)
    counts = build_demo_archive(args.db)
    print(f"{args.db}: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    if args.screenshots:
        for path in take_screenshots(args.db, args.screenshots, args.chromium):
            print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
