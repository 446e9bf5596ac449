"""Narrative matching and stance scored on real published text (issue 19).

    python benchmarks/realtext.py DIR [--split dev|test|holdout|blind|blind2|...|blind40|wild1|wild2|wild3|wild4|all] [--errors] [--encoder] [--layer]

DIR holds the pages' text, one file per labelled URL, named
sha1(url).hexdigest()[:16] + ".txt": the title on the first line (may be empty), a blank
line, then the text. The labels (facts: URL, date, language, outlet, narratives with
stance, speaker, split) are benchmarks/realtext/labels.jsonl; the text is third-party
and is not in the repository (docs/realtext.md says how to rebuild DIR). Splits: `dev`
(tuned on), `test` (a hash of the URL), `holdout` (labelled blind; tuned on from round 7), `blind` (labelled blind in
round 6, after the holdout had been scored; tuned on from round 8), `blind2` (labelled blind in round 8,
scored on the code before and after that round; it judges round 9), `blind3` (labelled blind in round 9,
read twice), ... `blind12` (labelled in the nineteenth session, after every rules round and the
encoder's training), `blind13` … `blind40` (each labelled before what it judges), `wild1` … `wild4` (ordinary
coverage carrying no narrative); `all` is every record. --encoder reads every
stance again with the stance encoder, as `narrative-archive analyse --stance --encoder` does;
--layer adds the mentions the learned narrative layer finds, as `narrative-archive layer` does
(with both, the figures are those of the shipped schedule: the crawl, then its two tasks).

Every article goes the crawl's way: stored in a scratch archive, read by the crawl's
Reader (its narratives' queries and claim rules), then match_article (snippet, matched terms, stance and its
speaker), with the narratives of config/narratives.yml and the cues of config/stance.yml.

    python benchmarks/realtext.py --merge A.jsonl B.jsonl ...   labels added to labels.jsonl
    python benchmarks/realtext.py --fetch DIR                    rebuild DIR from the URLs
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from narrative_archive import fts, store
from narrative_archive.analysis import archive as analysis
from narrative_archive.config import load_narratives
from narrative_archive.match import narratives as narratives_module
from narrative_archive.match.reading import Reader
from narrative_archive.paths import DEFAULT_CONFIG_DIR

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "benchmarks" / "realtext" / "labels.jsonl"
STANCES = ("asserts", "reports", "disputes")
SPLITS = ("dev", "test", "holdout", "blind", "blind2", "blind3", "blind4", "blind5", "blind6", "blind7",
          "blind8", "blind9", "blind10", "blind11", "blind12", "blind13", "blind14", "blind15", "blind16", "blind17", "blind18", "blind19", "blind20", "blind21", "blind22", "blind23", "blind24", "blind25", "blind26", "blind27", "blind28", "blind29", "blind30", "blind31", "blind32", "blind33", "blind34", "blind35", "blind36", "blind37", "blind38", "blind39", "blind40", "wild1", "wild2", "wild3", "wild4")
SPEAKERS = ("outlet", "official", "unnamed")
LABEL_KEYS = ("url", "date", "language", "outlet", "title", "narratives", "speaker", "split", "why")


def text_name(url: str) -> str:
    """The file in DIR that holds the text of ``url``."""
    return hashlib.sha1(url.encode("utf-8")).hexdigest()[:16] + ".txt"


def read_text(path: Path) -> tuple[str, str]:
    """(title, text) of one file: the first line, then everything after the blank line."""
    raw = path.read_text(encoding="utf-8")
    title, _, rest = raw.partition("\n")
    return title.strip(), rest.lstrip("\n")


def page_title(record: dict, title: str, text: str) -> str:
    """The page's headline as the crawl has it: line 1 of its text file, or, when the saved
    excerpt opened with page furniture (a date line, a caption, a menu) and line 1 is empty,
    the headline the labeller recorded, provided it stands word for word in the text. The crawl
    always reads the page's HTML title; a headline taken from a URL slug is not used."""
    labelled = (record.get("title") or "").strip()
    if not title and labelled and labelled in text:
        return labelled
    return title


def load_labels(path: Path = LABELS, split: str = "all") -> list[dict]:
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in records if split == "all" or r["split"] == split]


@dataclass
class Prediction:
    """What the project makes of one labelled article."""

    record: dict
    matched: dict[str, dict] = field(default_factory=dict)  # narrative -> mention row
    missing: bool = False  # no text file
    set_aside: set[str] = field(default_factory=set)  # query matches the learned layer doubts


class StanceTimer:
    """Time spent in the stance classifier (analysis.archive.stance_of) while installed."""

    def __enter__(self):
        from narrative_archive.analysis import archive

        self.archive, self.original = archive, archive.stance_of
        self.seconds, self.mentions = 0.0, 0

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return self.original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
                self.mentions += 1

        archive.stance_of = timed
        return self

    def __exit__(self, *exc):
        self.archive.stance_of = self.original


def predict(records: Iterable[dict], text_dir: Path, narratives_path: Path,
            use_encoder: bool = False, use_layer: bool = False) -> list[Prediction]:
    """Run every record's text through the crawl's matching and stance, in a scratch archive;
    `use_encoder`: then every stance read again as `analyse --stance --encoder` reads it;
    `use_layer`: then the learned narrative layer's mentions added as `narrative-archive
    layer` adds them (their stance read by the encoder)."""
    narratives = load_narratives(narratives_path, fts.check_query)
    reader = Reader(narratives, analyse=False)  # the crawl's extraction worker's reading
    predictions, stored = [], []
    with tempfile.TemporaryDirectory() as scratch:
        db = store.open_db(Path(scratch) / "archive.db")
        store.save_narratives(db, narratives)
        for record in records:
            prediction = Prediction(record)
            predictions.append(prediction)
            path = text_dir / text_name(record["url"])
            if not path.exists():
                prediction.missing = True
                continue
            title, text = read_text(path)
            title = page_title(record, title, text)
            article_id, _ = store.save_article(
                db, {"url": record["url"], "title": title or None, "text": text,
                     "language": record.get("language")}, None)
            readings = reader.mentions(title or None, text, record.get("language"))
            narratives_module.match_article(db, article_id, narratives, readings)
            stored.append((prediction, article_id))
        if use_encoder:
            store.reset_stance(db)
            analysis.compute_stances(db, narratives, actors=narratives_module.actors_of, use_encoder=True)
        if use_layer:
            from narrative_archive.match import layer

            layer.read_archive(db, narratives, len(stored) + 1)
            analysis.compute_stances(db, narratives, actors=narratives_module.actors_of, use_encoder=True)
        for prediction, article_id in stored:
            page = store.article_page(db, article_id)
            for mention in page["mentions"]:
                mention["stance_evidence"] = json.loads(mention.get("stance_evidence") or "{}")
                prediction.matched[mention["narrative_id"]] = mention
            prediction.set_aside = {reading["narrative_id"] for reading in page["set_aside"]}
        db.close()
    return predictions


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.2f}" if b else "-"


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95 % Wilson score interval of a proportion k/n: how far a split of this size
    lets a figure move by chance (a split of 200 mentions: about +-0.06 around 0.70)."""
    if not n:
        return 0.0, 1.0
    p, z2 = k / n, z * z
    centre, half = (p + z2 / (2 * n)) / (1 + z2 / n), \
        z * ((p * (1 - p) + z2 / (4 * n)) / n) ** 0.5 / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _interval(k: int, n: int) -> str:
    if not n:
        return "-"
    low, high = wilson(k, n)
    return f"{low:.2f}-{high:.2f}"


def score(predictions: list[Prediction], narrative_ids: list[str]) -> dict:
    """Counts behind every table: matching per narrative and language, stance, speaker."""
    matching = {n: Counter() for n in narrative_ids}
    by_language: dict[str, Counter] = defaultdict(Counter)
    confusion: Counter = Counter()
    stance_by_language: dict[str, Counter] = defaultdict(Counter)
    speaker: Counter = Counter()
    errors: list[str] = []
    layer: Counter = Counter()  # the mentions the learned narrative layer added (tp, fp) and set aside
    for p in predictions:
        if p.missing:
            continue
        r, language = p.record, p.record["language"]
        by_language[language]["articles"] += 1
        for n in narrative_ids:
            gold, hit = n in r["narratives"], n in p.matched
            kind = "tp" if gold and hit else "fn" if gold else "fp" if hit else "tn"
            matching[n][kind] += 1
            by_language[language][kind] += 1
            if hit and p.matched[n].get("matched_by") == "layer":
                layer[kind] += 1
            if n in p.set_aside:
                layer["set aside real" if gold else "set aside false"] += 1
            if kind in ("fn", "fp"):
                where = p.matched[n]["snippet"] if hit else (r.get("title") or "")
                errors.append(f"match {kind.upper()} {n} [{language}] {r['url']}  {where}")
            if kind != "tp":
                continue
            gold_stance, mention = r["narratives"][n], p.matched[n]
            got = mention["stance"] or "none"
            confusion[gold_stance, got] += 1
            stance_by_language[language]["n"] += 1
            stance_by_language[language]["right"] += got == gold_stance
            gold_speaker = (r.get("speaker") or {}).get(n)
            got_speaker = mention.get("stance_speaker")
            if gold_speaker:
                speaker["n"] += 1
                speaker["right"] += got_speaker == gold_speaker
                speaker[gold_speaker, got_speaker or "none"] += 1
            if got != gold_stance or (gold_speaker and got_speaker != gold_speaker):
                evidence = mention["stance_evidence"]
                errors.append(
                    f"stance {gold_stance}->{got} speaker {gold_speaker}->{got_speaker}"
                    f" ({mention.get('stance_speaker_name') or ''}) {n} [{language}] {r['url']}\n"
                    f"      title: {r.get('title')}\n      cues: {evidence.get('cues')}\n"
                    f"      in: {evidence.get('sentence')}\n      why: {r.get('why')}")
    return {"matching": matching, "by_language": by_language, "confusion": confusion,
            "stance_by_language": stance_by_language, "speaker": speaker, "errors": errors,
            "layer": layer}


def report(counts: dict, out=sys.stdout) -> None:
    def line(text=""):
        print(text, file=out)
    line(f"{'narrative':<30}{'gold':>6}{'tp':>5}{'fp':>5}{'fn':>5}{'precision':>11}{'recall':>8}"
         f"{'recall 95%':>12}")
    pooled = {key: sum(c[key] for c in counts["matching"].values()) for key in ("tp", "fp", "fn")}
    for n, c in [*counts["matching"].items(), ("all narratives", pooled)]:
        line(f"{n:<30}{c['tp'] + c['fn']:>6}{c['tp']:>5}{c['fp']:>5}{c['fn']:>5}"
             f"{_ratio(c['tp'], c['tp'] + c['fp']):>11}{_ratio(c['tp'], c['tp'] + c['fn']):>8}"
             f"{_interval(c['tp'], c['tp'] + c['fn']):>12}")
    if counts["layer"]:
        found = counts["layer"]
        line(f"of these, the learned narrative layer's mentions: {found['tp'] + found['fp']}"
             f" ({found['tp']} right, {found['fp']} false); query matches it set aside:"
             f" {found['set aside false'] + found['set aside real']} ({found['set aside false']} false,"
             f" {found['set aside real']} real)")
    confusion = counts["confusion"]
    total = sum(confusion.values())
    right = sum(confusion[s, s] for s in STANCES)
    disputes = sum(confusion["disputes", got] for got in (*STANCES, "none"))
    line(f"\nstance of matched labelled mentions: {total}, accuracy {_ratio(right, total)}"
         f" (95% {_interval(right, total)}); disputes recall"
         f" {_ratio(confusion['disputes', 'disputes'], disputes)}"
         f" (95% {_interval(confusion['disputes', 'disputes'], disputes)})")
    line(f"{'':<10}" + "".join(f"{s:>10}" for s in (*STANCES, "none")) + f"{'recall':>9}{'precision':>11}")
    for gold in STANCES:
        row = [confusion[gold, got] for got in (*STANCES, "none")]
        predicted = sum(confusion[g, gold] for g in STANCES)
        line(f"{gold:<10}" + "".join(f"{n:>10}" for n in row)
             + f"{_ratio(confusion[gold, gold], sum(row)):>9}{_ratio(confusion[gold, gold], predicted):>11}")
    sp = counts["speaker"]
    line(f"\nspeaker of asserts/disputes (labelled outlet/official/unnamed): {sp['n']},"
         f" accuracy {_ratio(sp['right'], sp['n'])}")
    for gold in SPEAKERS:
        row = {got: sp[gold, got] for got in (*SPEAKERS, "none") if sp[gold, got]}
        if row:
            line(f"  {gold:<9} -> " + ", ".join(f"{k} {v}" for k, v in row.items()))
    line(f"\n{'language':<9}{'articles':>9}{'gold':>6}{'tp':>5}{'fp':>5}{'fn':>5}"
         f"{'precision':>11}{'recall':>8}{'stance':>8}{'accuracy':>10}")
    for language, c in sorted(counts["by_language"].items(), key=lambda kv: (-kv[1]["articles"], kv[0])):
        s = counts["stance_by_language"][language]
        line(f"{language:<9}{c['articles']:>9}{c['tp'] + c['fn']:>6}{c['tp']:>5}{c['fp']:>5}{c['fn']:>5}"
             f"{_ratio(c['tp'], c['tp'] + c['fp']):>11}{_ratio(c['tp'], c['tp'] + c['fn']):>8}"
             f"{s['n']:>8}{_ratio(s['right'], s['n']):>10}")


def merge(paths: Iterable[Path], out: Path = LABELS) -> int:
    """Merge label files into `out`, deduplicated on URL and sorted by it: `out`'s own
    records first when it exists, so merging a new split adds it (and cannot drop the rest).
    A URL labelled twice must carry the same narratives, speakers and split (one of SPLITS:
    a holdout record stays holdout); other fields fill each other's gaps."""
    merged: dict[str, dict] = {}
    paths = list(paths)
    if out.exists() and not any(path.resolve() == out.resolve() for path in paths):
        paths.insert(0, out)
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            record = {key: json.loads(line).get(key) for key in LABEL_KEYS}
            if record["split"] not in SPLITS:
                raise SystemExit(f"{record['url']}: unknown split {record['split']!r}")
            old = merged.get(record["url"])
            if old is None:
                merged[record["url"]] = record
                continue
            for key in ("narratives", "speaker", "split"):
                if old[key] != record[key]:
                    raise SystemExit(f"{record['url']}: {key} differs between label files")
            for key in LABEL_KEYS:
                if old[key] is None:
                    old[key] = record[key]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(merged[url], ensure_ascii=False) + "\n" for url in sorted(merged)),
                   encoding="utf-8")
    return len(merged)


def fetch(text_dir: Path, records: list[dict]) -> None:
    """Download each labelled URL and write its title and extracted text into DIR (files
    already there are kept). Pages change or vanish: the labels were made on excerpts."""
    import urllib.request

    from narrative_archive.extract import ExtractError, extract_article

    text_dir.mkdir(parents=True, exist_ok=True)
    for record in records:
        path = text_dir / text_name(record["url"])
        if path.exists():
            continue
        request = urllib.request.Request(record["url"], headers={"User-Agent": "narrative-archive realtext"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                html = response.read()
            article = extract_article(html, record["url"])
        except (OSError, ExtractError) as error:
            print(f"{record['url']}: {error}", file=sys.stderr)
            continue
        path.write_text(f"{article.title or ''}\n\n{article.text}\n", encoding="utf-8")
        time.sleep(1)  # politeness between hosts' pages


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path, nargs="?", help="folder of the pages' text, one file per URL")
    parser.add_argument("--split", choices=(*SPLITS, "all"), default="dev")
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--narratives", type=Path, default=DEFAULT_CONFIG_DIR / "narratives.yml")
    parser.add_argument("--errors", action="store_true", help="list every mismatch with its evidence")
    parser.add_argument("--merge", type=Path, nargs="+", metavar="JSONL", help="add label files to --labels (its records kept)")
    parser.add_argument("--fetch", action="store_true", help="download the URLs into DIR")
    parser.add_argument("--encoder", action="store_true",
                        help="read every stance again with the stance encoder (analyse --encoder)")
    parser.add_argument("--layer", action="store_true",
                        help="add the learned narrative layer's mentions (narrative-archive layer)")
    args = parser.parse_args(argv)
    if args.merge:
        print(f"{merge(args.merge, args.labels)} records in {args.labels}")
        return
    if args.dir is None:
        parser.error("DIR is required")
    records = load_labels(args.labels, args.split)
    if args.fetch:
        fetch(args.dir, records)
        return
    started = time.perf_counter()
    with StanceTimer() as timer:
        predictions = predict(records, args.dir, args.narratives, args.encoder, args.layer)
    narrative_ids = [n.id for n in load_narratives(args.narratives, fts.check_query)]
    counts = score(predictions, narrative_ids)
    missing = sum(p.missing for p in predictions)
    print(f"split {args.split}: {len(records) - missing} articles with text"
          f" ({missing} without), {time.perf_counter() - started:.1f} s;"
          f" stance {1000 * timer.seconds / max(timer.mentions, 1):.1f} ms per mention"
          f" ({timer.mentions} mentions)\n")
    report(counts)
    if args.errors:
        print("\n" + "\n".join(counts["errors"]))


if __name__ == "__main__":
    main()
