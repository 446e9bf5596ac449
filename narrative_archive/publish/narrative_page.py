"""The narrative page's blocks, from the archive's rows (store.narrative_page).

`narrative_page(db, narrative_id, filters)` reads every mention of the narrative once
(a narrow row each: date, outlet, country, kind, language, stance, story), keeps those
the filters allow, and counts the blocks from them: who said it first, how it spread,
the outlets in the order they took it up, who repeated it, who disputed it, the outlets
table and who cited whom. Only the articles a block shows are then read by id. Every
block is a list of flat dicts, so the same rows feed the HTML, CSV and JSON.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, fields
from datetime import date
from operator import itemgetter
from typing import Any, NamedTuple

import sqlite_utils

from narrative_archive import store
from narrative_archive.publish.charts import STANCES
from narrative_archive.publish.disputes import DISPUTES_SHOWN, disputed
from narrative_archive.store import narrative_page as rows_of
from narrative_archive.times import period_of, periods_between

FIRST_SHOWN = 10  # who said it first
UPTAKE_SHOWN = 50  # outlets in order (HTML; exports have all)
STORIES_SHOWN = 10
COPIES_SHOWN = 20
EDGES_SHOWN = 60
WEEKS_UP_TO_DAYS = 366  # a range up to a year is drawn per week, longer per month
BLOCKS = ("first", "spread", "uptake", "repeated", "disputed", "outlets", "citations")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Mention(NamedTuple):
    article_id: int
    sorted_at: str | None
    dated_at: str | None
    day: str | None
    date_precision: str | None
    date_source: str | None
    outlet_id: str | None
    outlet: str | None
    country: str | None
    outlet_kind: str | None
    state_affiliated: int | None
    language: str | None
    stance: str | None
    story_id: int


def mention_rows(db: sqlite_utils.Database, narrative_id: str) -> list[Mention]:
    """Every mention of the narrative, placed on the timeline, with its outlet's columns."""
    outlets = rows_of.all_outlets(db)
    none = (None, None, None, None)
    out = []
    for article_id, stance, outlet_id, story_id, language, source, dated, sorted_at \
            in rows_of.narrative_rows(db, narrative_id):
        precision = "day" if dated and len(dated) == 10 else "second"
        name, country, kind, state = outlets.get(outlet_id, none) if outlet_id else none
        out.append(Mention(article_id, sorted_at, dated, sorted_at[:10] if sorted_at else None,
                           precision, source, outlet_id, name, country, kind, state, language,
                           stance, story_id))
    return out


@dataclass(frozen=True)
class Filters:
    """What the page narrows to: a day range and one value per facet ('' for any)."""
    since: str = ""
    until: str = ""
    country: str = ""
    kind: str = ""
    language: str = ""
    stance: str = ""

    @classmethod
    def from_args(cls, args) -> tuple[Filters, list[str]]:
        """Filters from request arguments, and what was refused (a malformed date)."""
        values, problems = {}, []
        for name in (f.name for f in fields(cls)):
            value = (args.get(name) or "").strip()[:64]
            if name in ("since", "until") and value and not _DATE.match(value):
                problems.append(f"{name}: {value!r} is not a date (YYYY-MM-DD)")
                value = ""
            values[name] = value
        return cls(**values), problems

    def keeps(self, row: Mention) -> bool:
        return ((not self.since or (row.day or "") >= self.since)
                and (not self.until or (row.day or "") <= self.until)
                and (not self.country or row.country == self.country)
                and (not self.kind or row.outlet_kind == self.kind)
                and (not self.language or row.language == self.language)
                and (not self.stance or (row.stance or "unlabelled") == self.stance))

    def args(self) -> dict[str, str]:
        return {key: value for key, value in asdict(self).items() if value}

    def __bool__(self) -> bool:
        return bool(self.args())


def narrative_page(db: sqlite_utils.Database, narrative_id: str, filters: Filters = Filters(),
                   by: str | None = None,
                   rows: list[Mention] | None = None) -> dict[str, Any] | None:
    """Every block of the narrative's page, or None for an unknown narrative. `rows` are
    its mention_rows() when the caller holds them already (in date order)."""
    narrative = store.get_narrative(db, narrative_id)
    if narrative is None:
        return None
    every = sorted_rows(mention_rows(db, narrative_id)) if rows is None else rows
    shown = [row for row in every if filters.keeps(row)] if filters else every
    every_cols = _columns(every)
    cols = every_cols if shown is every else _columns(shown)
    by = by if by in ("day", "week", "month") else period_for(shown, filters)
    first = shown[:FIRST_SHOWN]
    uptake = outlets_in_order(shown)
    disputes = [row for row in shown if row.stance == "disputes"]
    edges = citation_chain(db, narrative_id, shown)
    wanted = [*(r.article_id for r in first), *(u["article_id"] for u in uptake[:UPTAKE_SHOWN]),
              *(r.article_id for r in disputes[:DISPUTES_SHOWN]),
              *(e[k] for e in edges[:EDGES_SHOWN] for k in ("citing_article_id",
                                                             "cited_article_id"))]
    details = rows_of.mention_details(db, narrative_id, wanted)
    outlets = rows_of.outlet_rows(db, set(cols.outlet_id))
    return {
        "narrative": narrative,
        "filters": filters,
        "options": filter_options(every, every_cols),
        "total": len(every),
        "count": len(shown),
        "by": by,
        "first": [said_first(rank, details.get(row.article_id), row)
                  for rank, row in enumerate(first, 1)],
        "spread": spread(shown, by, filters, cols),
        "uptake": [{**entry, "title": (details.get(entry["article_id"]) or {}).get("title")}
                   for entry in uptake],
        "repeated": repeated(db, shown, cols),
        "disputed": disputed(db, narrative_id, disputes, details),
        "outlets": outlet_table(shown, outlets, cols),
        "citations": [_edge_row(edge, details) for edge in edges],
    }


def _columns(rows: list[Mention]) -> Any:
    """The rows as columns (a Mention of tuples): counted by Counter, dict and set over
    zipped columns, C loops, 15k mentions take milliseconds."""
    if not rows:
        return Mention._make([()] * len(Mention._fields))
    return Mention._make(zip(*rows, strict=True))


def _stance_key(stance: str | None) -> str:
    return stance or "unlabelled"


def sorted_rows(rows: list[Mention]) -> list[Mention]:
    """Mentions in timeline order (the earliest first; a tie by article id)."""
    return sorted(rows, key=lambda row: (row.sorted_at or "", row.article_id))


# --- the blocks ------------------------------------------------------------------------


def filter_options(rows: list[Mention], cols: Any = None) -> dict[str, list[tuple[str, int]]]:
    """Each filter's values among all the narrative's mentions, with their counts."""
    cols = _columns(rows) if cols is None else cols
    counts = {"country": Counter(cols.country), "kind": Counter(cols.outlet_kind),
              "language": Counter(cols.language),
              "stance": Counter(map(_stance_key, cols.stance))}
    return {name: sorted(((value, n) for value, n in counter.items() if value),
                         key=lambda item: (-item[1], item[0]))
            for name, counter in counts.items()}


def chart_range(days: list[str], filters: Filters) -> tuple[str, str]:
    """The days the chart spans: the filters' range when given (up to today), else from
    the first mention to the last."""
    start = filters.since or days[0]
    end = min(filters.until, max(date.today().isoformat(), days[-1])) if filters.until \
        else days[-1]
    return start, max(start, end)


def period_for(rows: list[Mention], filters: Filters) -> str:
    """week for a range up to a year, month for longer."""
    days = [row.day for row in rows if row.day]
    if not days:
        return "month"
    start, end = chart_range(days, filters)
    span = (date.fromisoformat(end) - date.fromisoformat(start)).days
    return "week" if span <= WEEKS_UP_TO_DAYS else "month"


def spread(rows: list[Mention], by: str, filters: Filters, cols: Any = None) -> list[dict]:
    """Per period (every one from the first to the last, empty ones as zero): articles by
    stance, distinct stories and outlets, and outlets new to the narrative."""
    cols = _columns(rows) if cols is None else cols
    if None in cols.day:  # no date at all (never written by the store): left out
        rows = [row for row in rows if row.day]
        cols = _columns(rows)
    if not rows:
        return []
    start, end = chart_range([rows[0].day or "", rows[-1].day or ""], filters)
    periods = periods_between(start, end, by)
    memo = {day: period_of(day, by) for day in set(cols.day)}
    period = list(map(memo.__getitem__, cols.day))
    stance = Counter(zip(period, map(_stance_key, cols.stance), strict=True))
    stories = Counter(map(itemgetter(0), set(zip(period, cols.story_id, strict=True))))
    outlets = Counter(p for p, o in set(zip(period, cols.outlet_id, strict=True)) if o)
    first = dict(zip(reversed(cols.outlet_id), reversed(period), strict=True))
    first.pop(None, None)
    new = Counter(first.values())
    out = []
    for p in periods:
        counts = {name: stance[(p, name)] for name in STANCES}
        out.append({"period": p, "articles": sum(counts.values()), **counts,
                    "stories": stories[p], "outlets": outlets[p], "new_outlets": new[p]})
    return out


def outlets_in_order(rows: list[Mention]) -> list[dict]:
    """Each outlet's first article on the narrative, in the order the outlets took it up."""
    out: list[dict] = []
    seen: set = set()
    first_day = rows[0].day if rows else None
    for row in rows:
        key = row.outlet_id or ""
        if key in seen:
            continue
        seen.add(key)
        days = None
        if first_day and row.day:
            days = (date.fromisoformat(row.day) - date.fromisoformat(first_day)).days
        out.append({"order": len(out) + 1, "outlet_id": row.outlet_id, "outlet": row.outlet,
                    "country": row.country, "outlet_kind": row.outlet_kind,
                    "state_affiliated": row.state_affiliated, "dated_at": row.dated_at,
                    "date_precision": row.date_precision, "days_after_first": days,
                    "stance": row.stance, "article_id": row.article_id,
                    "original": row.story_id == row.article_id})
    return out


def said_first(rank: int, detail: dict | None, row: Mention) -> dict:
    """One of the earliest articles, with the earliest evidence we hold that it existed:
    its first capture (a WARC record) or an archive's capture, when earlier than its date."""
    detail = detail or {}
    evidence = [(detail.get("captured_at"), "capture"), (detail.get("archived_at"), "archive")]
    earliest = min(((at, kind) for at, kind in evidence if at), default=(None, None))
    earlier = bool(earliest[0] and row.sorted_at and earliest[0] < row.sorted_at)
    return {"rank": rank, "article_id": row.article_id, "title": detail.get("title"),
            "url": detail.get("url"), "outlet_id": row.outlet_id, "outlet": row.outlet,
            "country": row.country, "outlet_kind": row.outlet_kind,
            "state_affiliated": row.state_affiliated, "dated_at": row.dated_at,
            "date_source": row.date_source, "date_precision": row.date_precision,
            "published_at": detail.get("published_at"),
            "first_seen_at": detail.get("first_seen_at"), "stance": row.stance,
            "captured_at": detail.get("captured_at"), "capture_id": detail.get("capture_id"),
            "archived_at": detail.get("archived_at"), "archive_url": detail.get("archive_url"),
            "archive_source": detail.get("archive_source"),
            "earlier_evidence_at": earliest[0] if earlier else None,
            "earlier_evidence": earliest[1] if earlier else None,
            "original": row.story_id == row.article_id, "story_id": row.story_id}


def repeated(db: sqlite_utils.Database, rows: list[Mention], cols: Any = None) -> list[dict]:
    """Stories on the narrative carried by more than one article: the most copied first,
    each with its original and copies (every article of the story, on the narrative or
    not), the copies' hours after the original."""
    cols = _columns(rows) if cols is None else cols
    by_story = Counter(cols.story_id)
    copied = {story for story, n in by_story.items() if n > 1}
    first_at = dict(zip(reversed(cols.story_id), reversed(cols.sorted_at), strict=True))
    top = sorted(copied, key=lambda story: (-by_story[story], first_at[story] or "", story)
                 )[:STORIES_SHOWN]
    members = defaultdict(list)
    for member in rows_of.story_members(db, top):
        members[member["story_id"]].append(member)
    out = []
    for story in top:
        articles = members.get(story, [])
        original = next((m for m in articles if m["original"]), articles[0] if articles else {})
        for member in articles:
            member["hours_after_original"] = _hours(original.get("sorted_at"), member["sorted_at"])
        out.append({"story_id": story, "on_narrative": by_story[story], "articles": len(articles),
                    "outlets": len({m["outlet_id"] for m in articles}),
                    "original": original, "copies": [m for m in articles if m is not original]})
    return out


def _hours(start: str | None, end: str | None) -> float | None:
    from datetime import datetime

    try:
        a = datetime.fromisoformat((start or "").replace("Z", "+00:00"))
        b = datetime.fromisoformat((end or "").replace("Z", "+00:00"))
    except ValueError:
        return None
    return round((b - a).total_seconds() / 3600, 1)


def outlet_table(rows: list[Mention], outlets: dict[str, dict], cols: Any = None) -> list[dict]:
    """Per outlet: country, kind, owner, state affiliation, first and last date, articles,
    stories and the stance mix; most articles first."""
    cols = _columns(rows) if cols is None else cols
    first = dict(zip(reversed(cols.outlet_id), reversed(rows), strict=True))
    last = dict(zip(cols.outlet_id, rows, strict=True))
    articles = Counter(cols.outlet_id)
    stances = Counter(zip(cols.outlet_id, map(_stance_key, cols.stance), strict=True))
    stories = Counter(map(itemgetter(0), set(zip(cols.outlet_id, cols.story_id, strict=True))))
    out = []
    for outlet_id, row in first.items():
        meta = outlets.get(outlet_id or "") or {}
        out.append({"outlet_id": outlet_id or None, "outlet": meta.get("name") or row.outlet,
                    "country": meta.get("country"), "kind": meta.get("kind"),
                    "owner": meta.get("owner"), "state_affiliated": meta.get("state_affiliated"),
                    "first_dated_at": row.dated_at, "last_dated_at": last[outlet_id].dated_at,
                    "articles": articles[outlet_id], "stories": stories[outlet_id],
                    **{stance: stances[(outlet_id, stance)] for stance in STANCES}})
    return sorted(out, key=lambda o: (-o["articles"], o["first_dated_at"] or "", o["outlet"] or ""))


def citation_chain(db: sqlite_utils.Database, narrative_id: str,
                   rows: list[Mention]) -> list[dict]:
    """Who cited whom among the shown mentions, oldest cited first: links between them,
    and attributions to an outlet resolved to its latest earlier article on the narrative."""
    found = rows_of.citation_edges(db, narrative_id)
    if not found:
        return []
    by_id = {row.article_id: row for row in rows}
    named = {edge["cited_outlet_id"] for edge in found if edge["cited_article_id"] is None}
    by_outlet: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for row in rows:
        if row.outlet_id is not None and row.outlet_id in named:
            by_outlet[row.outlet_id].append((row.sorted_at or "", row.article_id))
    edges, seen = [], set()
    for edge in found:
        citing = by_id.get(edge["citing_article_id"])
        if citing is None:
            continue
        cited_id = edge["cited_article_id"]
        if cited_id is None:  # an attribution: the outlet's latest earlier article
            outlet = edge["cited_outlet_id"]
            if not outlet or outlet == citing.outlet_id:
                continue
            earlier = by_outlet.get(outlet, [])
            at = bisect.bisect_right(earlier, (citing.sorted_at or "", citing.article_id)) - 1
            cited_id = earlier[at][1] if at >= 0 else None
        cited = by_id.get(cited_id) if cited_id is not None else None
        if cited is None or cited_id == citing.article_id or (citing.article_id, cited_id) in seen:
            continue
        if (cited.sorted_at or "") > (citing.sorted_at or ""):
            continue
        seen.add((citing.article_id, cited_id))
        edges.append({"cited_article_id": cited_id, "cited_outlet_id": cited.outlet_id,
                      "cited_outlet": cited.outlet,
                      "cited_dated_at": cited.dated_at, "cited_stance": cited.stance,
                      "kind": edge["kind"], "source_name": edge["source_name"],
                      "citing_article_id": citing.article_id,
                      "citing_outlet_id": citing.outlet_id, "citing_outlet": citing.outlet,
                      "citing_dated_at": citing.dated_at, "citing_stance": citing.stance,
                      "sentence": edge["sentence"],
                      "_order": (cited.sorted_at or "", citing.sorted_at or "")})
    edges.sort(key=lambda e: e.pop("_order"))
    return edges


def _edge_row(edge: dict, details: dict[int, dict]) -> dict:
    cited = details.get(edge["cited_article_id"]) or {}
    citing = details.get(edge["citing_article_id"]) or {}
    return {**edge, "cited_title": cited.get("title"), "citing_title": citing.get("title")}
