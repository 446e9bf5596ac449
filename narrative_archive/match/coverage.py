"""Narrative coverage: a narrative's own examples, articles that almost match, draft variants.

`check_narrative` runs a narrative's query (the main query OR every language
variant, exactly as the archive matches it) over its examples in an in-memory
FTS5 index built with the archive's tokenizer, and measures precision and
recall per language. `near_misses` lists archived articles holding the
lexicon's actor and target terms that the query does not match. `suggest`
drafts a variant query from the lexicon for a human to review.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

import sqlite_utils

from narrative_archive import fts, store
from narrative_archive.config import Narrative
from narrative_archive.match import claim


@dataclass(frozen=True)
class LanguageReport:
    language: str
    matched: int  # match examples the query matches (true positives)
    missed: tuple[str, ...]  # match examples it does not match (false negatives)
    wrongly_matched: tuple[str, ...]  # no_match examples it matches (false positives)
    no_match: int  # how many no_match examples there are

    @property
    def precision(self) -> float:
        hits = self.matched + len(self.wrongly_matched)
        return self.matched / hits if hits else 1.0

    @property
    def recall(self) -> float:
        total = self.matched + len(self.missed)
        return self.matched / total if total else 1.0

    @property
    def ok(self) -> bool:
        return not self.missed and not self.wrongly_matched


@dataclass(frozen=True)
class NarrativeReport:
    narrative_id: str
    languages: tuple[LanguageReport, ...]
    error: str | None = None  # SQLite refused the query or its snippet over the examples
    warnings: tuple[str, ...] = ()  # valid FTS5 that does not say what it looks like

    @property
    def ok(self) -> bool:
        return self.error is None and all(report.ok for report in self.languages)


_QUOTED = re.compile(r'"((?:[^"]|"")*)"')  # FTS5's strings, left to right


def query_warnings(query: str) -> tuple[str, ...]:
    """What in `query` FTS5 accepts but reads otherwise than it is written: a `*` inside a
    quoted phrase is no prefix ("american weapon*" matches "american weapon" only), with the
    phrase written as a prefix ("american weapon"*; "черн"* + "ястреб"*: each word its own
    string, joined, where more than the last word is one)."""
    found = dict.fromkeys(phrase for match in _QUOTED.finditer(query)
                          if "*" in (phrase := match.group(1)))
    return tuple(f'"{phrase}": a * inside quotes is no prefix in FTS5 (it matches the words'
                 f' as written); as a prefix: {_as_prefixes(phrase)}' for phrase in found)


def _as_prefixes(phrase: str) -> str:
    words = phrase.split()
    if "*" not in " ".join(words[:-1]):  # the last word alone: "ask moscow for weapon"*
        return f'"{" ".join(words).rstrip("*")}"*'
    return " + ".join(f'"{word.rstrip("*")}"' + ("*" if word.endswith("*") else "")
                      for word in words)


def check_narrative(narrative: Narrative) -> NarrativeReport:
    """Run the narrative's matching query over its own examples; report per language.

    The snippet the archive stores is computed too, so a query that trips
    SQLite's snippet() (docs/narratives.md) fails here rather than in a rematch.
    """
    cases = [
        (language, text, expected)
        for language, match, no_match in narrative.examples
        for texts, expected in ((match, True), (no_match, False))
        for text in texts
    ]
    try:
        hits = set(fts.matching_rows([text for _, text, _ in cases], narrative.match_query,
                                     fts.SNIPPET_SQL))
        claim_rule, candidates = claim.rule(narrative), claim.candidate_query(narrative)
        if claim_rule is not None and candidates is not None:  # the second way to match
            hits |= {row for row in fts.matching_rows([text for _, text, _ in cases], candidates)
                     if claim_rule.matches(None, cases[row - 1][1], cases[row - 1][0])}
    except sqlite3.Error as error:
        return NarrativeReport(narrative.id, (), f"{type(error).__name__}: {error}")
    reports = []
    for language, _, _ in narrative.examples:
        mine = [(rowid, text, expected) for rowid, (lang, text, expected) in enumerate(cases, 1)
                if lang == language]
        reports.append(LanguageReport(
            language=language,
            matched=sum(1 for rowid, _, expected in mine if expected and rowid in hits),
            missed=tuple(text for rowid, text, expected in mine
                         if expected and rowid not in hits),
            wrongly_matched=tuple(text for rowid, text, expected in mine
                                  if not expected and rowid in hits),
            no_match=sum(1 for _, _, expected in mine if not expected),
        ))
    return NarrativeReport(narrative.id, tuple(reports), warnings=query_warnings(narrative.match_query))


def format_report(report: NarrativeReport) -> list[str]:
    """Lines for the terminal: one per language, then every failing example."""
    if report.error:
        return [f"{report.narrative_id}: FAIL {report.error}"]
    if not report.languages:
        return [f"{report.narrative_id}: no examples"]
    lines = []
    for language in report.languages:
        total = language.matched + len(language.missed) + language.no_match
        lines.append(
            f"{report.narrative_id} [{language.language}] {'ok  ' if language.ok else 'FAIL'}"
            f" precision {language.precision:.2f} recall {language.recall:.2f}"
            f" ({total} examples)")
        lines += [f"    missed: {text}" for text in language.missed]
        lines += [f"    matched but should not: {text}" for text in language.wrongly_matched]
    lines += [f"{report.narrative_id}: warning: {warning}" for warning in report.warnings]
    return lines


# --- lexicon: near-misses and suggestions -----------------------------------

_BARE_TERM = re.compile(r"^\w+\*?$")


def fts_term(term: str) -> str:
    """One lexicon term as FTS5: a word (prefix `word*` kept) or a quoted phrase."""
    term = term.strip()
    if _BARE_TERM.match(term) and term.upper() not in ("AND", "OR", "NOT", "NEAR"):
        return term
    words = term.rstrip("*").replace('"', " ").split()
    return '"' + " ".join(words) + '"' + ("*" if term.endswith("*") else "")


def any_of(terms) -> str:
    return "(" + " OR ".join(fts_term(term) for term in terms) + ")"


def lexicon_terms(narrative: Narrative, role: str, language: str | None = None) -> list[str]:
    """The lexicon's terms for a role, in one language or all of them."""
    terms = []
    for lang, roles in narrative.lexicon:
        if language is None or lang == language:
            terms += [t for r, values in roles if r == role for t in values]
    return list(dict.fromkeys(terms))


def near_miss_query(narrative: Narrative) -> str:
    """FTS5: articles with an actor term and a target term from the lexicon (any language)."""
    actors, targets = lexicon_terms(narrative, "actor"), lexicon_terms(narrative, "target")
    if not actors or not targets:
        raise ValueError(f"narrative {narrative.id!r} has no lexicon with actor and target "
                         "terms: add one to narratives.yml")
    return f"{any_of(actors)} AND {any_of(targets)}"


def near_misses(db: sqlite_utils.Database, narrative: Narrative, limit: int = 20) -> list[dict]:
    """Archived articles with the narrative's actor and target terms that it does not match,
    newest first, each with the passage where those terms are closest."""
    return store.near_misses(db, near_miss_query(narrative), narrative.match_query, limit)


def ranked_near_misses(db: sqlite_utils.Database, narrative: Narrative, scan: int = 200,
                       layer=None) -> list[dict]:
    """The newest `scan` near misses, each read by the learned narrative layer
    (match/encoder.py, or `layer`), most likely first: `probability`, `likely` (at or above the
    narrative's threshold) and the `sentence` that weighed most."""
    from narrative_archive.match import encoder

    layer = layer or encoder.narrative_encoder()
    if narrative.id not in layer.narratives:
        raise ValueError(f"the learned layer was not trained for {narrative.id!r} "
                         f"(it knows {', '.join(layer.narratives)})")
    rows = near_misses(db, narrative, scan)
    texts = {row[0]: row[1:3] for row in store.texts_of(db.conn, [r["article_id"] for r in rows])}
    for row in rows:
        reading = layer.read(*texts[row["article_id"]])[narrative.id]
        row.update(probability=reading.probability, likely=reading.carries, sentence=reading.sentence)
    return sorted(rows, key=lambda row: -row["probability"])


def suggest(narrative: Narrative, language: str, distance: int = 20) -> str:
    """A draft variant query for `language` from the lexicon: actor, act and target within
    `distance` words. For a human to review and paste into `queries:`."""
    roles = narrative.lexicon_for(language)
    missing = [role for role in ("actor", "target", "act") if not roles.get(role)]
    if missing:
        known = ", ".join(lang for lang, _ in narrative.lexicon) or "none"
        raise ValueError(f"narrative {narrative.id!r} has no {'/'.join(missing)} terms for "
                         f"{language!r} in its lexicon (languages: {known})")
    targets = [fts_term(t) for t in roles["target"]]
    actors = [fts_term(t) for t in roles["actor"]]
    acts = [fts_term(t) for t in roles["act"]]
    # NEAR takes no OR inside it: one group per actor and act, the targets ANDed outside.
    groups = [f"NEAR({actor} {act}, {distance})" for actor in actors for act in acts]
    return f"({' OR '.join(targets)}) AND ({' OR '.join(groups)})"
