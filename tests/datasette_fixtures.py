"""A small archive with known rows, and the Datasette instance `serve` would run over it.

Used by tests/test_datasette.py (in-process client) and tests/test_browser.py
(a real `narrative-archive serve` in headless Chromium). The rows are chosen so
every canned query has an answer that can be worked out by hand:

  russia-arming-taliban   (ra)  reuters 3, tass 2, voa 2, tolo 1 articles
  russia-taliban-bounties (rb)  reuters 1, tass 1 (the <script> title)
  iran-arming-taliban     (ia)  tolo 2 (one without a published date)
  two articles carry no narrative; one (mattis) was edited after we first saw it.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from narrative_archive import store
from narrative_archive.config import Narrative
from narrative_archive.match import narratives
from narrative_archive.publish import serve

XSS_TITLE = "<script>alert(1)</script> Kremlin calls bounty report fake"
XSS_TEXT = (
    "<script>alert('x')</script> The Kremlin said reports that Russia paid a bounty to kill "
    "American soldiers were fake news."
)

OUTLETS = [
    {"id": "reuters", "name": "Reuters", "url": "https://www.reuters.com/", "country": "GB",
     "language": "en", "kind": "wire", "owner": "Thomson Reuters", "state_affiliated": False},
    {"id": "tass", "name": "TASS", "url": "https://tass.com/", "country": "RU",
     "language": "ru", "kind": "state", "owner": "Russian government", "state_affiliated": True},
    {"id": "voa", "name": "Voice of America", "url": "https://www.voanews.com/", "country": "US",
     "language": "en", "kind": "public", "owner": "US Agency for Global Media",
     "state_affiliated": True},
    {"id": "tolo", "name": "TOLOnews", "url": "https://tolonews.com/", "country": "AF",
     "language": "en", "kind": "commercial", "owner": "Moby Group", "state_affiliated": False},
]

NARRATIVES = [
    Narrative(
        id="russia-arming-taliban", title="Russia is arming the Taliban",
        description="Claims that Russia supplies weapons to the Taliban, and the denials.",
        query="NEAR(russia* arm taliban*, 20) OR NEAR(russia* weapon* taliban*, 20)"
              " OR NEAR(moscow weapon* taliban*, 20)",
        queries=(("ru", "NEAR(росси* оружи* талиб*, 20)"),), since="2017-01-01",
    ),
    Narrative(
        id="russia-taliban-bounties", title="Russian bounties on US and coalition troops",
        query="NEAR(russia* bounty, 25) AND (troop* OR soldier*)", since="2020-01-01",
    ),
    Narrative(
        id="iran-arming-taliban", title="Iran is arming the Taliban",
        query="NEAR(iran* weapon* taliban*, 20) OR NEAR(iran* arm taliban*, 20)",
    ),
]

# key: (outlet, published_at, fetched_at, title, text, language)
ARTICLES = {
    "nicholson": ("reuters", "2017-03-23T14:00:00Z", "2017-03-23T15:00:00Z",
                  "US commander says Russia may be arming the Taliban",
                  "General John Nicholson told senators that Russia is arming the Taliban to "
                  "undermine the United States and NATO in Afghanistan.", "en"),
    "denial": ("tass", "2017-03-24T09:00:00Z", "2017-03-24T10:00:00Z",
               "Moscow rejects claims it supplies the Taliban",
               "The Russian foreign ministry said accusations that Moscow sent weapons to the "
               "Taliban were idle gossip.", "en"),
    "denial-ru": ("tass", "2017-03-25T08:00:00Z", "2017-03-25T09:00:00Z",
                  "МИД: Россия не поставляет оружие талибам",
                  "В МИД заявили, что Россия не поставляет оружие талибам.", "ru"),
    "hearing": ("voa", "2017-03-30T12:00:00Z", "2017-03-30T13:00:00Z",
                "Congress hears of Russian help to insurgents",
                "A congressional hearing heard that Russia may be providing weapons to the "
                "Taliban.", "en"),
    "mattis": ("voa", "2017-04-24T18:30:00Z", "2017-04-24T19:00:00Z",
               "Mattis warns Russia over weapons for Taliban",
               "Defense Secretary Jim Mattis said Russia appears to be supplying weapons to the "
               "Taliban.", "en"),
    "official": ("reuters", "2017-05-02T07:00:00Z", "2017-05-02T08:00:00Z",
                 "Afghan official: Russia arms the Taliban",
                 "An Afghan official said Russia arms the Taliban in the north.", "en"),
    "both": ("tolo", "2018-01-10", "2018-01-10T06:00:00Z",
             "Officials: Russia and Iran are arming the Taliban",
             "Afghan officials say Russia is arming the Taliban in the north while Iran sends "
             "weapons to the Taliban in the west.", "en"),
    "weather": ("reuters", "2019-05-01T10:00:00Z", "2019-05-01T11:00:00Z",
                "Kabul weather turns warm", "Spring arrives in Kabul with warm weather.", "en"),
    "grain": ("tass", "2019-06-01T10:00:00Z", "2019-06-01T11:00:00Z",
              "Grain exports rise", "Russian grain exports rose again this year.", "en"),
    "bounties": ("reuters", "2020-06-27T20:00:00Z", "2020-06-27T21:00:00Z",
                 "Russia offered bounties for killing US troops, officials say",
                 "Russian military intelligence offered bounties to Taliban-linked militants "
                 "for killing American troops. Russia has long been accused of arming the "
                 "Taliban.", "en"),
    "xss": ("tass", "2020-06-28T08:00:00Z", "2020-06-28T09:00:00Z", XSS_TITLE, XSS_TEXT, "en"),
    "iran": ("tolo", None, "2021-02-01T12:00:00Z", "Iran denies sending weapons",
             "Tehran denied that Iran sent weapons to the Taliban.", "en"),
}
MATTIS_EDIT = (
    "Defense Secretary Jim Mattis said Russia appears to be supplying weapons to the Taliban, "
    "in violation of international law."
)
MATTIS_EDITED_AT = "2017-04-25T07:00:00Z"

# What the canned queries must return, worked out from the rows above.
MENTIONS = {
    "russia-arming-taliban": ["nicholson", "denial", "denial-ru", "hearing", "mattis",
                              "official", "both", "bounties"],
    "russia-taliban-bounties": ["bounties", "xss"],
    "iran-arming-taliban": ["both", "iran"],
}
NEAR_SEARCH = "NEAR(russia arming taliban, 10)"
NEAR_SEARCH_HITS = {"nicholson", "official", "both", "bounties"}  # porter: arms/arming -> arm


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def build_archive(path: str | Path) -> dict[str, int]:
    """Create the test archive at path; return {article key: article id}."""
    db = store.open_db(path)
    store.save_outlets(db, OUTLETS)
    narratives.save_narratives(db, NARRATIVES)
    ids = {}
    for key, (outlet, published, fetched, title, text, language) in ARTICLES.items():
        slug = key.replace("-", "/")
        article = {
            "url": f"{OUTLETS[[o['id'] for o in OUTLETS].index(outlet)]['url']}{slug}",
            "title": title, "text": text, "published_at": published, "language": language,
            "authors": ["A. Reporter"], "content_hash": _hash(text),
        }
        ids[key], _ = store.save_article(db, article, outlet, via="feed", fetched_at=fetched)
        narratives.match_article(db, ids[key], NARRATIVES)
    mattis = {"url": "https://www.voanews.com/mattis", "title": ARTICLES["mattis"][3],
              "text": MATTIS_EDIT, "published_at": ARTICLES["mattis"][1], "language": "en",
              "content_hash": _hash(MATTIS_EDIT)}
    assert store.save_article(db, mattis, "voa", via="feed", fetched_at=MATTIS_EDITED_AT)[1] \
        == "updated"
    narratives.match_article(db, ids["mattis"], NARRATIVES)
    db.close()
    return ids


def make_datasette(path: str | Path, **settings):
    """The Datasette that `narrative-archive serve` runs, in process; `settings` override
    datasette/settings.json one by one."""
    from datasette.app import Datasette

    directory = serve.datasette_dir()
    return Datasette(
        [str(path)],
        metadata=serve.load_metadata(),
        settings={**serve.load_settings(), **settings},
        template_dir=str(directory / "templates"),
        plugins_dir=str(directory / "plugins"),
        static_mounts=[(serve.STATIC_MOUNT, str(directory / "static"))],
    )


class Client:
    """Synchronous wrapper over Datasette's in-process client (no pytest-asyncio here)."""

    def __init__(self, datasette):
        self.datasette = datasette

    def get(self, path: str, **kwargs):
        return asyncio.run(self.datasette.client.get(path, **kwargs))

    def post(self, path: str, **kwargs):
        return asyncio.run(self.datasette.client.post(path, **kwargs))

    def json(self, path: str, **kwargs):
        response = self.get(path, **kwargs)
        assert response.status_code == 200, (path, response.status_code, response.text[:500])
        return response.json()

    def rows(self, path: str) -> list[dict]:
        """Rows of a table, view or query as dicts (adds _shape=objects)."""
        separator = "&" if "?" in path else "?"
        return self.json(f"{path}{separator}_shape=objects")["rows"]
