"""Build a demo archive, and optionally screenshot it in headless Chromium.

    .venv/bin/python datasette/demo.py build/demo/demo.db
    .venv/bin/python datasette/demo.py build/demo/demo.db --screenshots docs/screenshots

The archive uses the shipped config (config/outlets.yml, config/narratives.yml)
and ~60 SYNTHETIC articles: headlines and texts paraphrase how the 2015-2021
stories about Russia, Iran and Pakistan and the Taliban travelled (Kabulov on
sharing information, Nicholson and Scaparrotti on arms, the 2020 bounty reports,
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

--screenshots DIR serves the archive with `narrative-archive serve` on a free
port and saves search.png, dashboard.png, article.png and the Analysis section's
stance.png, attention.png, disputed.png, pickups.png, citations.png in DIR (it needs the
playwright package and Debian's chromium at /usr/bin/chromium).
"""

from __future__ import annotations

import argparse
import html
import re
import socket
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from narrative_archive import store
from narrative_archive.analysis import archive as analysis
from narrative_archive.analysis import citations
from narrative_archive.capture.warc import CaptureWriter
from narrative_archive.config import load_narratives, load_outlets
from narrative_archive.extract.article import content_hash, extract_article
from narrative_archive.match import narratives
from narrative_archive.paths import DEFAULT_CONFIG_DIR
from narrative_archive.publish import serve

# (outlet, published "YYYY-MM-DD HH:MM" or None, hours until we first saw it, title, text)
STORIES = [
    # 2015-16: Moscow says it shares information with the Taliban against Islamic State.
    ("ria-novosti", "2015-12-23 09:10", 2,
     "Kabulov: Russia has channels to exchange information with the Taliban",
     "Zamir Kabulov, the Kremlin's special envoy for Afghanistan, said Russia has channels to "
     "exchange information with the Taliban because the interests of Moscow and the movement "
     "coincide in the fight against the Islamic State in Afghanistan."),
    ("reuters", "2015-12-23 14:25", 1,
     "Russia says it shares intelligence with Taliban on Islamic State",
     "Russia shares intelligence with the Taliban about Islamic State militants in "
     "Afghanistan, Moscow's envoy Zamir Kabulov said, a statement likely to alarm the "
     "government in Kabul."),
    ("tolonews", "2015-12-24 07:40", 3,
     "Afghan officials reject Russian contacts with Taliban",
     "Afghan officials criticised Russia's contacts with the Taliban after Moscow said it "
     "exchanged information with the insurgents about Daesh, and said any cooperation should go "
     "through the government in Kabul."),
    ("rferl", "2016-12-09 11:00", 4,
     "Moscow's Taliban outreach worries Kabul and Washington",
     "Russia defends its contacts with the Taliban as a way to counter Islamic State in "
     "Afghanistan; officials in Kabul and Washington say the channel legitimises the "
     "insurgents."),
    # 2017: the arms claims.
    ("reuters", "2017-03-23 17:05", 1,
     "U.S. general says Russia may be supplying the Taliban",
     "The top U.S. commander in Europe, General Curtis Scaparrotti, told a congressional "
     "committee that he had seen Russian influence increasing and that Russia may be supplying "
     "the Taliban in Afghanistan."),
    ("ap", "2017-03-23 18:30", 1,
     "US general: Russia could be supplying weapons to Taliban",
     "General Curtis Scaparrotti said Russia could be supplying weapons to the Taliban, adding to "
     "suspicions in Washington about Moscow's aims in Afghanistan."),
    ("yahoo-news", "2017-03-23 18:45", 2,
     "US general: Russia could be supplying weapons to Taliban",
     "General Curtis Scaparrotti said Russia could be supplying weapons to the Taliban, adding to "
     "suspicions in Washington about Moscow's aims in Afghanistan."),
    ("tass", "2017-03-24 10:15", 2,
     "Moscow dismisses claims of arms supplies to Taliban as groundless",
     "The Russian Foreign Ministry said claims that Moscow supplies weapons to the Taliban were "
     "groundless and intended to justify the failures of the US military campaign in "
     "Afghanistan."),
    ("ria-novosti", "2017-03-24 12:00", 3,
     "МИД: Россия не поставляет оружие талибам",
     "В МИД России заявили, что Россия не поставляет оружие талибам, а обвинения военных США "
     "назвали попыткой оправдать собственные неудачи в Афганистане."),
    ("tolonews", "2017-03-25 08:20", 5,
     "Afghan lawmakers alarmed by reports Russia arms Taliban",
     "Members of the Afghan parliament said reports that Russia arms the Taliban in the north "
     "of the country must be investigated by the government."),
    ("bbc", "2017-04-24 15:40", 1,
     "Mattis and Nicholson in Kabul: Russia arming the Taliban",
     "US Defence Secretary Jim Mattis, visiting Kabul, said Russia's activity was of concern, "
     "and General John Nicholson did not refute reports that Russia is arming the Taliban."),
    ("cnn", "2017-04-24 19:10", 1,
     "US commander doesn't dispute Russia arming Taliban",
     "The top US commander in Afghanistan, Gen. John Nicholson, said he would not refute that "
     "Russia was arming the Taliban, as Defense Secretary Jim Mattis visited Kabul."),
    ("rt", "2017-04-25 09:00", 2,
     "Moscow: US claims it arms Taliban are 'absolutely false'",
     "Russian officials said claims by US generals that Moscow arms the Taliban were absolutely "
     "false and offered no evidence, and accused Washington of looking for a scapegoat."),
    ("dawn", "2017-04-25 06:30", 4,
     "US says Russia supplying weapons to Afghan Taliban",
     "Commanders in Washington say Russia is supplying weapons to the Taliban, an allegation "
     "Pakistan's neighbours watch closely as Moscow expands its contacts in the region."),
    ("cnn", "2017-07-25 13:00", 1,
     "Video appears to show Russian weapons given to the Taliban",
     "Videos obtained by CNN appear to show Russian weapons supplied to the Taliban, with "
     "fighters saying the rifles came through Tajikistan; Russia denied arming the movement."),
    ("long-war-journal", "2017-07-27 16:00", 6,
     "Analysis: what the Taliban's Russian rifles show",
     "The weapons in the videos are Russian-made but common in the region; the claim that "
     "Russia is arming the Taliban needs more than serial numbers to prove."),
    ("khaama-press", "2017-10-12 08:00", 5,
     "Afghan officials: Taliban received Russian fuel and weapons",
     "Officials in northern Afghanistan said the Taliban had received fuel and weapons across "
     "the border and that Russia was supplying the Taliban through intermediaries."),
    # 2018: the fuel and money story; talks in Moscow (not a mention: no arms).
    ("bbc", "2018-03-23 10:00", 2,
     "Russia 'arming the Afghan Taliban', says US general",
     "General John Nicholson told the BBC that Russia is arming the Taliban and that Russian "
     "weapons had been smuggled across the Tajik border to the insurgents."),
    ("guardian", "2018-03-23 15:30", 2,
     "Russia denies US general's claim it is arming Taliban",
     "Moscow rejected General John Nicholson's claim that Russia is arming the Taliban, calling "
     "it idle talk, while Afghan officials asked for evidence."),
    ("tass", "2018-03-24 09:30", 2,
     "Kabulov calls US general's words on Russia arming Taliban 'idle chatter'",
     "Zamir Kabulov said the statements of the US commander that Russia arms the Taliban were "
     "idle chatter and that Washington had shown no proof."),
    ("washington-post", "2018-11-09 12:00", 3,
     "Taliban attend Moscow peace conference",
     "Taliban representatives joined a conference in Moscow with regional powers, the first "
     "time the insurgents attended such a meeting; Afghan officials sent an unofficial "
     "delegation and said the armed opposition should talk to Kabul directly."),
    ("rt", "2018-11-09 14:00", 2,
     "Moscow format talks open with Taliban delegation",
     "Foreign minister Sergei Lavrov opened the talks, saying Russia wanted an Afghan "
     "settlement; the Taliban delegation repeated that foreign troops must leave."),
    # Iran and Pakistan.
    ("reuters", "2017-08-21 22:00", 1,
     "Trump says Pakistan gives safe havens to the Taliban",
     "President Donald Trump said Pakistan offers safe havens for the Taliban and other "
     "militants, and warned Islamabad it had much to lose by continuing to harbour them."),
    ("express-tribune", "2017-08-22 08:00", 3,
     "Pakistan rejects Trump's 'safe havens' charge",
     "Pakistan's foreign office rejected the accusation that Pakistan provides safe havens to "
     "the Taliban, saying the country had paid a heavy price fighting terrorism."),
    ("dawn", "2017-08-23 07:00", 4,
     "Islamabad says no safe havens for Taliban on its soil",
     "Islamabad insisted there were no safe havens for the Taliban in Pakistan and asked "
     "Washington to look at the ungoverned spaces inside Afghanistan."),
    ("tolonews", "2017-08-22 11:00", 4,
     "Afghans welcome pressure on Pakistan over Taliban sanctuaries",
     "Afghan officials welcomed the new US strategy, saying Pakistan gives sanctuary to Taliban "
     "leaders and that Islamabad supports the Taliban's war."),
    ("long-war-journal", "2018-01-18 14:00", 5,
     "Iran's weapons pipeline to the Taliban",
     "Afghan officials say Iran supplies the Taliban with weapons and money in the west of the "
     "country, and the Revolutionary Guards have trained Taliban fighters."),
    ("rferl", "2018-02-02 10:00", 4,
     "Farah officials accuse Iran of arming Taliban",
     "Officials in Farah province accused Iran of arming the Taliban and sending weapons across "
     "the border; Tehran denied the accusations."),
    ("tolonews", None, 0,
     "Iran denies sending weapons to Taliban",
     "Iran's embassy in Kabul denied reports that Tehran sends weapons to the Taliban, calling "
     "them an attempt to damage relations between the neighbours."),
    # 2020: bounties.
    ("nytimes", "2020-06-26 20:20", 1,
     "Russia secretly offered Afghan militants bounties to kill U.S. troops, intelligence says",
     "American intelligence officials have concluded that a Russian military intelligence unit "
     "secretly offered bounties to Taliban-linked militants for killing coalition forces in "
     "Afghanistan, including targeting American troops."),
    ("washington-post", "2020-06-27 16:00", 1,
     "Russian bounties to Taliban-linked militants resulted in deaths of U.S. troops, "
     "officials say",
     "Russian bounties offered to Taliban-linked militants are believed to have led to the "
     "deaths of several U.S. service members, according to intelligence assessments."),
    ("ap", "2020-06-27 18:00", 1,
     "Officials: Russia offered Taliban bounties to kill US troops",
     "Intelligence officials said a Russian unit offered bounties to Taliban militants for "
     "killing American soldiers in Afghanistan; the White House said the president was not "
     "briefed."),
    ("tass", "2020-06-27 21:00", 1,
     "Russian embassy calls NYT report on bounties to Taliban 'fake news'",
     "The Russian embassy in Washington said the report that Russia paid a bounty to the "
     "Taliban for killing American soldiers was fake news that had already led to threats "
     "against its diplomats."),
    ("rt", "2020-06-28 09:00", 1,
     "Taliban and Moscow deny US intelligence story on Russian bounties",
     "The Taliban and Russia denied the report of Russian bounties for attacks on coalition "
     "troops, calling it an attempt to derail the Afghan peace process."),
    ("fox-news", "2020-06-28 12:00", 2,
     "Lawmakers demand answers on Russia bounty intelligence",
     "Lawmakers from both parties demanded briefings on intelligence that Russia offered a "
     "bounty to Taliban militants to kill US soldiers in Afghanistan."),
    ("guardian", "2020-06-28 14:00", 2,
     "What we know about the Russian bounty allegations",
     "The reports say Russia's GRU offered a bounty for attacks on US and British troops in "
     "Afghanistan, paid to Taliban-linked militants; Moscow and the Taliban deny it."),
    ("tolonews", "2020-06-29 07:00", 3,
     "Afghan intelligence: Taliban got Russian money to attack troops",
     "Afghan security officials said Taliban-linked militants received Russian bounty money "
     "to target coalition soldiers, and that several middlemen had been arrested."),
    ("cnn", "2020-07-01 15:00", 1,
     "Pentagon and intelligence agencies split over Russia bounty reports",
     "Officials disagree about how strong the evidence is that Russia paid a bounty to Taliban "
     "fighters for killing American troops, though the information was included in a "
     "presidential briefing."),
    ("military-times", "2020-07-09 10:00", 4,
     "Milley: no proof yet that Russian bounties led to US troop deaths",
     "The chairman of the Joint Chiefs said the military had not yet corroborated that Russian "
     "bounty payments to the Taliban led to the deaths of US troops, but was still "
     "investigating."),
    ("ap", "2021-04-15 19:00", 1,
     "US intelligence has low to moderate confidence in Russian bounty reports",
     "The Biden administration said intelligence agencies had low to moderate confidence that "
     "Russian officers offered a bounty to Taliban militants to kill US and coalition troops."),
    # 2021: what was left behind; ghost soldiers.
    ("reuters", "2021-08-20 12:00", 1,
     "Taliban seize U.S.-supplied weapons and equipment as Afghan army collapses",
     "The Taliban have seized American weapons, Humvees and aircraft left behind by the Afghan "
     "forces; officials say billions of dollars of equipment fell into their hands."),
    ("fox-news", "2021-08-21 10:00", 1,
     "Billions in US equipment left behind for the Taliban",
     "Critics said the withdrawal left behind weapons and equipment worth billions of dollars "
     "that the Taliban are now using, including American rifles and night-vision gear."),
    ("military-times", "2021-08-25 09:00", 2,
     "What happened to the Afghan army's US weapons",
     "Much of the US equipment given to the Afghan army was abandoned; the Taliban displayed "
     "seized Humvees in Kabul and Kandahar."),
    ("tass", "2021-08-26 11:00", 2,
     "Taliban parade abandoned American weapons",
     "Taliban fighters paraded American weapons and armoured vehicles abandoned by Afghan "
     "troops, footage showed."),
    ("ria-novosti", "2021-08-27 10:00", 2,
     "Талибы захватили оставленное американцами оружие",
     "Талибы показали американское оружие и технику, оставленные афганской армией; эксперты "
     "оценивают брошенное оружие в миллиарды долларов."),
    ("washington-post", "2021-08-18 17:00", 2,
     "Afghan army's collapse was years in the making",
     "Afghan commanders padded their rolls with ghost soldiers whose pay they pocketed, leaving "
     "units far weaker than on paper when the Taliban advanced."),
    ("bbc", "2016-01-11 08:00", 3,
     "Afghanistan's 'ghost soldiers' drain army budget",
     "Officials in Helmand said thousands of ghost soldiers existed only on paper, a reason "
     "the Afghan army struggled against the Taliban."),
    # Unrelated articles from the same outlets: the denominator for attention.
    ("reuters", "2017-05-02 09:00", 1, "Afghan wheat harvest expected to rise",
     "Afghanistan expects a larger wheat harvest this year after good rains, the agriculture "
     "ministry said."),
    ("reuters", "2019-09-28 12:00", 1, "Afghans vote in presidential election amid low turnout",
     "Afghans voted in a presidential election marred by attacks and low turnout."),
    ("reuters", "2020-02-29 11:00", 1, "U.S. and Taliban sign deal in Doha",
     "The United States and the Taliban signed an agreement in Doha setting out a timetable "
     "for the withdrawal of foreign troops."),
    ("tass", "2019-02-05 10:00", 1, "Moscow hosts intra-Afghan meeting",
     "Afghan politicians and Taliban representatives met in Moscow for talks on the country's "
     "future."),
    ("tass", "2020-10-01 10:00", 1, "Russian grain exports hit record",
     "Russian grain exports reached a record in the season, the agriculture ministry said."),
    ("tass", "2021-07-09 10:00", 1, "Taliban delegation visits Moscow, pledges security",
     "A Taliban delegation in Moscow said the movement would not allow attacks on neighbouring "
     "countries from Afghan territory."),
    ("tolonews", "2019-03-10 08:00", 2, "Kabul prepares for new school year",
     "Schools in Kabul are preparing for the new year, officials said."),
    ("tolonews", "2020-09-12 08:00", 2, "Intra-Afghan talks begin in Doha",
     "Negotiators for the government and the Taliban began talks in Doha."),
    ("cnn", "2019-08-18 09:00", 1, "Wedding bombing in Kabul kills dozens",
     "A suicide bombing at a wedding in Kabul killed dozens of people; Islamic State claimed "
     "responsibility."),
    ("bbc", "2019-07-07 09:00", 1, "Afghan peace talks: what is on the table",
     "Delegates meeting in Doha discussed a ceasefire and the future of foreign troops."),
    ("ap", "2019-12-10 09:00", 1, "Afghanistan Papers detail years of misleading claims",
     "Documents show officials painted a rosier picture of the war than the facts warranted."),
    ("dawn", "2018-06-15 08:00", 2, "Eid ceasefire brings rare calm to Afghanistan",
     "Taliban fighters and soldiers celebrated together during a three-day ceasefire."),
]

# One story was edited after we first saw it: the page added a denial.
EDITED = {
    "index": 17,  # BBC, 2018-03-23
    "after_hours": 20,
    "append": " Russia's foreign ministry said the accusation was baseless and that Moscow "
              "supplies no weapons to the Taliban.",
}


# Syndicated copies and near-duplicates: (index of the original in STORIES, outlet,
# hours after the original, what the copy puts before and after its text). They
# cluster into the original's story (articles.story_id).
COPIES = [
    (4, "khaama-press", 6, "KABUL, March 23 -", " This report was first published by Reuters."),
    (4, "ariana-news", 9, "", " Ariana News has translated this article from Reuters."),
    (29, "dawn", 5, "WASHINGTON:", " This article originally appeared in The New York Times."),
    (29, "express-tribune", 7, "", " Reuters contributed to this report."),
    (31, "yahoo-news", 1, "WASHINGTON (AP) -", ""),
]

# Sentences added to an article (citations by attribution) and the STORIES it links to
# (citations by link; each is in the archive, so target_article_id is set).
ATTRIBUTIONS = {
    18: " The claim was first reported by the BBC.",
    19: " According to the BBC, General Nicholson had shown no evidence.",
    32: " The bounty story was first reported by The New York Times.",
    33: " According to The New York Times, the payments were discovered in a raid.",
    34: " The Washington Post reported that the bounties led to deaths.",
    35: " The New York Times first reported the intelligence finding.",
    37: " According to The Washington Post, officials disagree.",
}
LINKS = {18: [17], 19: [17], 32: [29], 33: [29, 32], 34: [29, 30], 35: [29, 30], 37: [30],
         13: [5]}


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
    captures_dir = path.absolute().parent / "captures"
    for old in captures_dir.glob(f"narrative-archive-{DEMO_RUN}-*.warc.gz"):
        old.unlink()
    writer = CaptureWriter(captures_dir, DEMO_RUN,
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
        serve.wait_until_ready(f"{base}/-/versions.json", timeout=60, process=process)
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
