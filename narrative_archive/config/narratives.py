"""narratives.yml: each narrative's query, language variants, examples, lexicon, stance cues."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from narrative_archive.config.checks import check_date, check_ids
from narrative_archive.config.model import ConfigError, Narrative
from narrative_archive.config.yamlfile import Entries, Entry

NARRATIVE_KEYS = (
    "id", "title", "description", "query", "queries", "since", "examples", "lexicon", "stance",
    "mediacloud", "claim",
)
CLAIM_LISTS = ("actor", "act", "target", "not", "other", "breaks", "by", "verb_final")
MEDIACLOUD_KEYS = ("collections", "sources")
EXAMPLE_KEYS = ("match", "no_match")
LEXICON_KEYS = ("actor", "target", "act")
# ISO 639-1: the language codes a variant, its examples and its lexicon may use.
ISO_639_1 = frozenset("""
    aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy
    da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht
    hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky
    la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny
    oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss
    st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo
    za zh zu
""".split())


def _language(e: Entry, key: str, language) -> str:
    language = str(language)
    if language not in ISO_639_1:
        e.fail(key, f"{language!r} is not an ISO 639-1 language code like 'en' or 'fa'")
    return language


def _examples(e: Entry) -> tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]:
    """examples: {language: {match: [text, ...], no_match: [text, ...]}}"""
    examples = e.get("examples", dict, default={})
    parsed = []
    for language, cases in examples.items():
        key = f"examples.{language}"
        language = _language(e, key, language)
        if not isinstance(cases, dict) or not cases:
            e.fail(key, "expected a mapping with 'match' and/or 'no_match' lists")
        lists = {}
        for name, texts in cases.items():
            if name not in EXAMPLE_KEYS:
                e.fail(f"{key}.{name}", f"unknown key (expected one of: {', '.join(EXAMPLE_KEYS)})")
            if not isinstance(texts, list) or not texts:
                e.fail(f"{key}.{name}", "expected a non-empty list of example texts")
            for position, text in enumerate(texts):
                if not isinstance(text, str) or not text.strip():
                    e.fail(f"{key}.{name}[{position}]", f"expected a text, got {text!r}")
            lists[name] = tuple(" ".join(text.split()) for text in texts)
        parsed.append((language, lists.get("match", ()), lists.get("no_match", ())))
    return tuple(parsed)


def _lexicon(e: Entry) -> tuple[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], ...]:
    """lexicon: {language: {actor: [term, ...], target: [...], act: [...]}}"""
    lexicon = e.get("lexicon", dict, default={})
    parsed = []
    for language, roles in lexicon.items():
        key = f"lexicon.{language}"
        language = _language(e, key, language)
        if not isinstance(roles, dict) or not roles:
            e.fail(key, f"expected a mapping with {', '.join(LEXICON_KEYS)} lists")
        terms = []
        for role, values in roles.items():
            if role not in LEXICON_KEYS:
                e.fail(f"{key}.{role}", f"unknown key (expected one of: {', '.join(LEXICON_KEYS)})")
            if (not isinstance(values, list) or not values
                    or not all(isinstance(v, str) and v.strip() for v in values)):
                e.fail(f"{key}.{role}", f"expected a non-empty list of terms, got {values!r}")
            terms.append((role, tuple(v.strip() for v in values)))
        parsed.append((language, tuple(terms)))
    return tuple(parsed)


# the cue lists of config/stance.yml (analysis.cues reads these names), each of which a
# narrative's `stance:` key may extend or replace
STANCE_LISTS = ("attribution", "denial", "negation", "not_denial", "labels", "prefixes",
                "speakers", "unnamed", "not_attribution", "hedges", "endorsements", "telling",
                "briefed", "evidence", "asking", "demanding")
WORD_STANCE_LISTS = ("telling", "briefed", "evidence", "demanding")  # single words, "*" only at the end


def _stance(e: Entry) -> tuple[tuple[str, str, str, tuple], ...]:
    """stance: {language or "*": {list: [cue, ...] | {replace: [cue, ...]}, negation_window: [b, a]}}"""
    stance = e.get("stance", dict, default={})
    parsed = []
    for language, lists in stance.items():
        key = f"stance.{language}"
        if language != "*":
            language = _language(e, key, language)
        if not isinstance(lists, dict) or not lists:
            e.fail(key, f"expected a mapping of cue lists ({', '.join(STANCE_LISTS)})")
        for name, value in lists.items():
            where = f"{key}.{name}"
            if name == "negation_window":
                if (not isinstance(value, list) or len(value) != 2
                        or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 10
                                   for v in value)):
                    e.fail(where, f"expected [words before, words after], each 0-10, got {value!r}")
                parsed.append((str(language), name, "set", tuple(value)))
                continue
            if name not in STANCE_LISTS:
                e.fail(where, f"unknown cue list (expected one of: {', '.join(STANCE_LISTS)},"
                              " negation_window)")
            mode = "add"
            if isinstance(value, dict):
                if set(value) != {"replace"}:
                    e.fail(where, "expected a list of cues, or {replace: [cues]}")
                mode, value = "replace", value["replace"]
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                e.fail(where, f"expected a list of cue words, got {value!r}")
            if name in WORD_STANCE_LISTS and not all(
                    len(v.split()) == 1 and "*" not in v.strip().rstrip("*") and ".." not in v for v in value):
                e.fail(where, f"expected single words (\"*\" only at the end), got {value!r}")
            parsed.append((str(language), name, mode, tuple(" ".join(v.split()) for v in value)))
    return tuple(parsed)


def _claim(e: Entry) -> tuple[tuple[str, tuple], ...]:
    """claim: {actor: [term, ...], act: [...], target: [...], not/other/breaks/by: [...],
    verb_final: [language, ...], window: words} (match.claim reads it)."""
    claim = e.get("claim", dict, default={})
    if not claim:
        return ()
    parsed: list[tuple[str, tuple]] = []
    for name, value in claim.items():
        where = f"claim.{name}"
        if name == "window":
            if not isinstance(value, int) or isinstance(value, bool) or not 2 <= value <= 40:
                e.fail(where, f"expected a number of words, 2-40, got {value!r}")
            parsed.append((name, (value,)))
            continue
        if name not in CLAIM_LISTS:
            e.fail(where, f"unknown key (expected one of: {', '.join(CLAIM_LISTS)}, window)")
        if (not isinstance(value, list) or not value
                or not all(isinstance(v, str) and v.strip() for v in value)):
            e.fail(where, f"expected a non-empty list of terms, got {value!r}")
        if name == "verb_final":
            for language in value:
                _language(e, where, language)
        parsed.append((name, tuple(" ".join(v.split()) for v in value)))
    for name in ("actor", "act", "target"):
        if name not in claim:
            e.fail("claim", f"needs {name}: a list of terms")
    return tuple(parsed)


def media_cloud_ids(values, what: str) -> tuple[int, ...]:
    """Media Cloud collection or source ids (numbers, or text like "34412234,38379429");
    ValueError saying what is wrong."""
    if values is None:
        return ()
    if isinstance(values, (str, int)) and not isinstance(values, bool):
        values = [part for part in str(values).replace(",", " ").split()]
    if not isinstance(values, (list, tuple)):
        raise ValueError(f"expected a list of Media Cloud {what} ids, got {values!r}")
    ids = []
    for value in values:
        text = str(value).strip()
        if isinstance(value, bool) or not text.isdigit() or int(text) < 1:
            raise ValueError(f"expected Media Cloud {what} ids (numbers like 34412234),"
                             f" got {value!r}")
        ids.append(int(text))
    return tuple(dict.fromkeys(ids))


def _mediacloud(e: Entry) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """mediacloud: {collections: [id, ...], sources: [id, ...]}"""
    scope = e.get("mediacloud", dict, default={})
    found = {}
    for key, values in scope.items():
        if key not in MEDIACLOUD_KEYS:
            e.fail(f"mediacloud.{key}", f"unknown key (expected one of: {', '.join(MEDIACLOUD_KEYS)})")
        try:
            found[key] = media_cloud_ids(values, key.rstrip("s"))
        except ValueError as error:
            e.fail(f"mediacloud.{key}", str(error))
    if scope and not any(found.values()):
        e.fail("mediacloud", "give collections and/or sources: Media Cloud searches only within them")
    return found.get("collections", ()), found.get("sources", ())


def require_media_cloud(path: Path, narratives, collections: tuple[int, ...] = (),
                        sources: tuple[int, ...] = ()) -> None:
    """ConfigError, naming the narrative and its line, for the first narrative Media Cloud
    cannot search: its API refuses a query with neither collections (cs) nor sources (ss)."""
    for narrative in narratives:
        if not (narrative.mediacloud_collections or narrative.mediacloud_sources
                or collections or sources):
            raise ConfigError(
                path, f"narrative {narrative.id!r}",
                "mediacloud: Media Cloud searches only within collections or sources, and"
                " answers 422 to a query without them: add `mediacloud: {collections: [id,"
                " ...]}` (and/or sources) to this narrative, or pass backfill"
                " --mediacloud-collections / --mediacloud-sources", narrative.line)


def load_narratives(path: Path, check_query) -> tuple[Narrative, ...]:
    narratives, seen = [], set[str]()
    for index, line, data, lines in Entries(path, "narrative"):
        label = check_ids(path, "narrative", index, lines.get("id", line), data.get("id"), seen)
        e = Entry(path, label, data, lines, line, NARRATIVE_KEYS)
        query = " ".join(e.get("query", required=True).split())
        error = check_query(query)
        if error:
            e.fail("query", error)
        queries = e.get("queries", dict, default={})
        variants = []
        for language, variant in queries.items():
            _language(e, f"queries.{language}", language)
            if not isinstance(variant, str) or not variant.strip():
                e.fail("queries", f"{language}: expected a query string")
            variant = " ".join(variant.split())
            error = check_query(variant)
            if error:
                e.fail(f"queries.{language}", error)
            variants.append((str(language), variant))
        since = e.get("since", (str, date))
        if since is not None and check_date(since) is None:
            e.fail("since", f"expected a date like 2017-01-01, got {since!r}")
        collections, sources = _mediacloud(e)
        narratives.append(Narrative(
            id=data["id"], title=e.get("title", required=True), query=query,
            description=" ".join((e.get("description") or "").split()) or None,
            queries=tuple(variants), since=check_date(since) if since else None, line=line,
            examples=_examples(e), lexicon=_lexicon(e), stance=_stance(e),
            mediacloud_collections=collections, mediacloud_sources=sources,
            claim=_claim(e),
        ))
    return tuple(narratives)


