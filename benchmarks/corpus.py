"""The benchmarks' news corpus: texts that reach the hard paths.

Articles are topic-dense news prose about Afghanistan and its neighbours (the words the
narratives' queries look for, Russia, the Kremlin, the Taliban, weapons, Iran, Pakistan, are
everywhere, as in a real archive of this beat), and a share of them (`coverage`: ~5% in a
general archive, ~29% in a topical one) carries real coverage of the narratives: the
labelled sentences of tests/files/stance (claims, reports and denials in five languages)
and the attributions of tests/files/citations. A share of the covered articles also holds
one of the two rows of FIELD_NOTES' FTS5 snippet() bug, and BUG_NARRATIVE is its query:
any archive built from this corpus makes `snippet()` fail on a scan, as the shipped
russia-arming-taliban query does on real archives.

    from corpus import Corpus
    corpus = Corpus(coverage=0.29)
    corpus.article(n)   # {"url", "title", "text", "published_at", "language"}: deterministic in n
"""

from __future__ import annotations

import random
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
FILES = ROOT / "tests" / "files"

# FIELD_NOTES "A live SQLite FTS5 bug": two rows and a query that make snippet() fail.
BUG_ROWS = ("officials said Russian weapons were smuggled to the Taliban",
            "Moscow weapons Taliban Russian.")
BUG_QUERY = 'NEAR("russian weapons" taliban) OR NEAR(moscow taliban)'
BUG_NARRATIVE = {"id": "snippet-bug", "title": "The FTS5 snippet() bug's query",
                 "query": BUG_QUERY}

SUBJECTS = (
    "Officials in Kabul", "The Taliban administration", "Russian diplomats", "A UN envoy",
    "Pakistani officials", "Farmers in Helmand", "The Kremlin", "Iranian traders",
    "US lawmakers", "Aid agencies", "The interior ministry", "Residents of Kandahar",
    "Russian officials", "Tehran", "Islamabad", "Uzbek border guards", "A Taliban spokesman",
    "Western analysts", "The World Food Programme", "Chinese investors",
)
VERBS = (
    "said on Tuesday that", "warned that", "told reporters that", "announced that",
    "confirmed that", "said in a statement that", "expected that", "noted that",
    "complained that", "said late on Monday that",
)
CLAUSES = (
    "wheat prices rose again in the capital", "talks on the water dispute would resume",
    "the border crossing at Torkham had reopened", "the new railway project was delayed",
    "drought had left thousands of families without food", "a delegation would travel abroad",
    "the embassy would reopen after the winter", "fuel imports from Russia had doubled",
    "electricity supplies from Uzbekistan were cut", "the Taliban had banned opium poppy",
    "schools for girls stayed closed", "the central bank froze new licences",
    "mining contracts were signed with foreign firms", "refugees were returning from Iran",
    "Pakistan closed two crossings after clashes", "aid convoys reached the northern provinces",
    "security forces cleared a market in Kunduz", "the Taliban would attend talks in Doha",
    "Russia removed the Taliban from its list of banned groups", "weapons caches were found near Herat",
    "the provincial council met for the first time in a year", "a bridge was rebuilt in Badakhshan",
    "trade with Central Asia had grown by a third", "the airport in Kabul added new flights",
)
TAILS = ("", "", "", " this week", " on Sunday", ", according to local media",
         ", officials said", " despite the cold", " after months of delays")


def _labelled_sentences() -> list[tuple[str, str]]:
    found = []
    for name in ("stance/labelled.yml", "stance/heldout.yml", "citations/sentences.yml"):
        data = yaml.safe_load((FILES / name).read_text(encoding="utf-8"))
        found += [(item["language"], item["text"]) for item in data["items"]]
    return found


class Corpus:
    """Deterministic articles: article(n) is the same text for the same n and settings."""

    def __init__(self, coverage: float = 0.05, bug_share: float = 0.2, seed: int = 7,
                 sentences: tuple[int, int] = (18, 40)):
        self.coverage = coverage  # share of articles with narrative coverage
        self.bug_share = bug_share  # share of those holding a snippet-bug row
        self.seed = seed
        self.sentences = sentences
        self.coverage_sentences = _labelled_sentences()

    def _filler(self, rng: random.Random) -> str:
        return (f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(CLAUSES)}"
                f"{rng.choice(TAILS)}.")

    def article(self, n: int) -> dict:
        rng = random.Random(self.seed * 1_000_003 + n)
        sentences = [self._filler(rng) for _ in range(rng.randint(*self.sentences))]
        language = "en"
        if rng.random() < self.coverage:
            for _ in range(rng.randint(1, 3)):
                sentence_language, sentence = rng.choice(self.coverage_sentences)
                sentences.insert(rng.randrange(len(sentences) + 1), sentence)
                if sentence_language != "en" and rng.random() < 0.5:
                    language = sentence_language
            if rng.random() < self.bug_share:
                sentences.insert(rng.randrange(len(sentences) + 1), rng.choice(BUG_ROWS))
        sentences.append(f"(Report {n}.)")
        paragraphs = [" ".join(sentences[i:i + 4]) for i in range(0, len(sentences), 4)]
        title = " ".join(sentences[0].split()[:9]).rstrip(".,") + f" ({n})"
        return {
            "url": f"https://bench.example/{n % 50}/news/{n}",
            "title": title,
            "text": "\n\n".join(paragraphs),
            "published_at": f"20{17 + n % 8}-{1 + n % 12:02d}-{1 + n % 28:02d}",
            "language": language,
        }

    def paragraphs(self, n: int) -> list[str]:
        return self.article(n)["text"].split("\n\n")


class StanceClock:
    """Times analysis.archive.compute_stances (the stance classifier's share of a rematch)
    while installed: `with StanceClock() as clock: ...; clock.seconds, clock.mentions`."""

    def __enter__(self):
        from narrative_archive.analysis import archive

        self.archive, self.original = archive, archive.compute_stances
        self.seconds, self.mentions = 0.0, 0

        def timed(*args, **kwargs):
            import time

            started = time.perf_counter()
            done = self.original(*args, **kwargs)
            self.seconds += time.perf_counter() - started
            self.mentions += done
            return done

        archive.compute_stances = timed
        return self

    def __exit__(self, *exc):
        self.archive.compute_stances = self.original


class NoStance:
    """analysis.archive.compute_stances as a no-op while installed."""

    def __enter__(self):
        from narrative_archive.analysis import archive

        self.archive, self.original = archive, archive.compute_stances
        archive.compute_stances = lambda *args, **kwargs: 0
        return self

    def __exit__(self, *exc):
        self.archive.compute_stances = self.original
