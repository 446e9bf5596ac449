"""One article read for the archive before it is stored: which narratives match it (each
with its snippet, matched terms and stance), its story signature and its citations.

All of it is a pure function of the article and the configuration, so it runs where the
article is extracted: in the crawl's extraction workers and the import's readers, in
parallel, while the one process that writes the archive only writes. A Reading is plain
values (it crosses a process boundary by pickle):

    {"mentions": {narrative id: (snippet, terms JSON, (stance, confidence, evidence JSON))},
     "signature": MinHash bytes, or None for a text too short to compare,
     "citations": [Citation.to_dict(), ...]}

Matching uses the archive's own FTS5 table definition and tokenizer on an in-memory copy
of the one article (fts.NarrativeMatcher), so a query matches here exactly what it matches
in the archive; and the snippet is cut from that one-article index, never from the
archive's (FTS5's snippet() bug, and its cost per call on a large archive: FIELD_NOTES).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from narrative_archive.analysis import archive as analysis
from narrative_archive.analysis import citations, stories
from narrative_archive.analysis.constructions import Actors
from narrative_archive.config import Narrative
from narrative_archive.fts import NarrativeMatcher, marked_terms
from narrative_archive.match import claim

logger = logging.getLogger(__name__)

Reading = dict[str, Any]
MentionReading = tuple[str | None, str, tuple]  # snippet, terms JSON, stance tuple


def mention_stance(narrative: Narrative, article: tuple | None, terms: str,
                   narratives: Iterable[Narrative] = ()) -> tuple:
    """(stance, confidence, evidence JSON, speaker, speaker name) of a mention:
    analysis.stance with the narrative's cue lists; `article` is (title, text, language).
    The other configured `narratives` name the accused a denial may answer instead of this
    narrative's (actors_of)."""
    title, text, language = article or (None, None, None)
    stance = analysis.stance_of(title, text, terms, language, analysis.cues_for(narrative),
                                actors_of(narrative, narratives))
    return (stance.stance, stance.confidence,
            json.dumps(analysis.evidence_of(stance), ensure_ascii=False),
            stance.speaker, stance.speaker_name)


# actors_of's answers by the identity of its arguments (held, so no id is reused): reading
# the rules' actors in a narrative's query costs more than the stance it serves
_ACTORS: dict[tuple[int, ...], tuple[tuple, Actors | None]] = {}


def actors_of(narrative: Narrative, narratives: Iterable[Narrative]) -> Actors | None:
    """_actors_of, remembered for the same narrative objects."""
    narratives = tuple(narratives)
    key = (id(narrative), *map(id, narratives))
    held = _ACTORS.get(key)
    if held is not None and held[0][0] is narrative and all(
            a is b for a, b in zip(held[0][1], narratives, strict=True)):
        return held[1]
    if len(_ACTORS) >= 256:
        _ACTORS.clear()
    actors = _actors_of(narrative, narratives)
    _ACTORS[key] = ((narrative, narratives), actors)
    return actors


def _actors_of(narrative: Narrative, narratives: Iterable[Narrative]) -> Actors | None:
    """The Actors of a mention of `narrative` among the configured `narratives`
    (analysis.constructions): its accused is its claim rule's actor, or, with no claim rule,
    the actors of the rules its query names (the bounties' query names Russia, the arming
    rule's actor); the others are the other rules' actors. None when neither says who is
    accused (US weapons, ghost soldiers) or no other narrative names one: the denials are
    then read as before."""
    rules = {n.id: found.actor for n in narratives if (found := claim.rule(n)) is not None}
    own_rule = claim.rule(narrative)
    own: tuple[re.Pattern, ...]
    if own_rule is not None:
        own = (own_rule.actor,)
    else:
        query = claim.fold(narrative.match_query or "")
        own = tuple(dict.fromkeys(actor for actor in rules.values() if actor.search(query)))
    others = tuple(dict.fromkeys(actor for narrative_id, actor in rules.items()
                                 if narrative_id != narrative.id and actor not in own))
    if not own or not others:
        return None
    return Actors(partial(_names, own), partial(_names, others))


def _names(patterns: tuple, sentence: str) -> bool:
    folded = claim.fold(sentence)
    return any(pattern.search(folded) for pattern in patterns)


class Reader:
    """Reads articles against the configured narratives and outlets (build one per
    process: it holds an in-memory FTS5 table and the outlet name index)."""

    def __init__(self, narratives: Iterable[Narrative], outlets: Iterable = (),
                 *, analyse: bool = True):
        self.narratives = tuple(narratives)
        self.by_id = {narrative.id: narrative for narrative in self.narratives}
        # the narratives' queries, then the candidate queries of their claim rules (one
        # in-memory index for both: match.claim)
        self.matcher = NarrativeMatcher([*self.narratives, *claim.candidates(self.narratives)])
        self.analyse = analyse  # story signature and citations too
        self._outlets = list(outlets)
        self._outlet_index: citations.OutletIndex | None = None

    @property
    def outlet_index(self) -> citations.OutletIndex:
        if self._outlet_index is None:
            self._outlet_index = citations.outlet_index(self._outlets)
        return self._outlet_index

    def mentions(self, title: str | None, text: str | None,
                 language: str | None) -> dict[str, MentionReading]:
        """{narrative id: (snippet, terms, stance)} for every narrative that matches."""
        found = {}
        for narrative_id, snippet in claim.read(
                self.matcher, self.by_id, title, text, language).items():
            terms = marked_terms(snippet)
            stance = mention_stance(self.by_id[narrative_id], (title, text, language), terms,
                                    self.narratives)
            found[narrative_id] = (snippet, terms, stance)
        return found

    def read(self, article: Mapping[str, Any]) -> Reading:
        """The Reading of one extracted (or imported) article dict."""
        title, text, language = article.get("title"), article.get("text"), article.get("language")
        reading: Reading = {"mentions": self.mentions(title, text, language)}
        if self.analyse:
            reading["signature"] = stories.text_signature(text)
            links = article.get("links")
            if isinstance(links, str):
                try:
                    links = json.loads(links)
                except ValueError:
                    links = []
            try:
                found = citations.extract_citations(text, links or (), language,
                                                    self.outlet_index)
                reading["citations"] = [citation.to_dict() for citation in found]
            except Exception:  # one bad text must not lose the article: no citations
                logger.exception("citations of %s failed", article.get("url"))
                reading["citations"] = []
        return reading


def read_or_none(reader: Reader | None, article: Mapping[str, Any]) -> Reading | None:
    """reader.read(article), or None (logged) when reading fails: the writer then reads
    the stored article itself, as before."""
    if reader is None:
        return None
    try:
        return reader.read(article)
    except Exception:
        logger.exception("reading %s failed", article.get("url"))
        return None


def warm_up(text: str) -> None:
    """Load reading's lazy state (citation patterns, stance cues, MinHash permutations)."""
    Reader((), ()).read({"title": "Warm-up", "text": text, "language": "en"})
    analysis.cues_for(None)
