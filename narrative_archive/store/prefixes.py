"""A narrative's query with its prefix terms spelt out, for finding its hits fast.

FTS5 (without a prefix index, as the archive's) evaluates each prefix phrase of a query
(`russia*`) by merging the doclists of every term it covers into one, over the whole
archive, once per occurrence: russia-arming-taliban holds 2,567 of them, and on a topical
archive `russia*` and `taliban*` cover most articles, so this merging is most of what
a rematch cost. The same query with each prefix phrase replaced by the terms of the
archive's vocabulary it covers (`NEAR(russia* arm taliban*)` -> `NEAR(russia arm taliban)
OR NEAR(russian arm taliban)`) matches the same articles, and FTS5 reads those terms'
doclists skipping to the rows it needs.

Spelt out in full, a query matches the same articles but not with the same phrases:
snippet() scores a passage by the query's phrases, and one phrase per term reports a
word once per phrase (highlight() was slower, not faster). So a rematch spells out only
the prefixes that cover one term (`most=1`: `taliban*` -> "taliban", the same phrase),
and leaves out every part that needs a word no article holds (`prune`: most language
variants of a query, on most archives). The phrases that can match are the same, so
are the hits and every article's instances: the same snippets and highlights, from
half the CPU (russia-arming-taliban: 3,800 phrases, 1M articles).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from narrative_archive.fts import tokenize
from narrative_archive.ftsparse import query_tokens

# A prefix phrase is spelt out when it covers at most this many terms, and a NEAR group
# when the product of its phrases' alternatives is at most MAX_NEAR; otherwise it stays
# as written (the same matches, FTS5 merges its doclists as before).
MAX_TERMS = 12
MAX_NEAR = 48

Terms = Callable[[str, int], list[str]]  # (prefix, limit) -> the vocabulary's terms


class _Unknown(ValueError):
    """A form of the query this rewriting does not handle: the query stays as written."""


def spelt_out(query: str, terms: Terms, most: int = MAX_TERMS,
              prune: bool = False) -> str | None:
    """`query` with its prefix phrases replaced by the vocabulary terms they cover
    (`terms(prefix, limit)`: the index's terms starting with prefix, at most limit), or
    None when the query has a form this does not know (column filters, ^) or nothing
    to change: then the query as written is the one to run. With `prune`, the parts that
    need a word no article holds (a NEAR, an AND, a NOT's left side) are left out, and ""
    means the query matches no article at all."""
    tokens = query_tokens(query)
    if tokens is None or not (prune or "*" in tokens):
        return None
    rewriter = _Rewriter(tokens, terms, most, prune)
    try:
        rewriter.rewrite()  # first pass: which prefixes the query holds
        rewriter.spell()
        rewriter.at = 0
        return rewriter.rewrite()
    except _Unknown:
        return None


class _Rewriter:
    def __init__(self, tokens: list[str], terms: Terms, most: int, prune: bool = False):
        self.tokens, self.at, self.terms, self.most, self.prune = tokens, 0, terms, most, prune
        self.words: dict[tuple[str, bool], bool] = {}  # (phrase, prefix) -> in the archive
        self.cache: dict[str, list[str] | None] = {}  # prefix as written -> alternatives
        self.changed = False

    def peek(self, ahead: int = 0) -> str | None:
        at = self.at + ahead
        return self.tokens[at] if at < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise _Unknown(expected)
        self.at += 1
        return token

    def rewrite(self) -> str | None:
        text = self.disjunction()
        if self.peek() is not None:
            raise _Unknown(self.peek())
        if text is None:
            return ""  # no article of the archive holds what the query needs
        return text if self.changed else None

    # FTS5's grammar as query_gate reads it: OR below AND (explicit or implicit) below NOT.
    # None: a part that can match no article of the archive (pruned, with prune=True)
    def disjunction(self) -> str | None:
        parts = [self.conjunction()]
        while self.peek() == "OR":
            self.take()
            parts.append(self.conjunction())
        kept = [part for part in parts if part is not None]
        return " OR ".join(kept) if kept else None

    def conjunction(self) -> str | None:
        parts = [self.negation()]
        while self.peek() not in (None, ")", "OR"):
            if self.peek() == "AND":
                self.take()
            parts.append(self.negation())
        return None if None in parts else " AND ".join(parts)  # type: ignore[arg-type]

    def negation(self) -> str | None:
        text = self.primary()
        while self.peek() == "NOT":
            self.take()
            absent = self.primary()
            if text is not None and absent is not None:
                text = f"{text} NOT {absent}"
            elif absent is not None and (nowhere := self.nowhere()):
                # FTS5 marks a NOT's right side in a matched article even where its left
                # side matches nothing: a word no article holds keeps those marks
                text = f"{nowhere} NOT {absent}"
        return text

    def nowhere(self) -> str | None:
        """A phrase no article of the archive holds (one the pruning found), if any."""
        for (token, prefix), held in self.words.items():
            if self.prune and not held:
                return f"{token}*" if prefix else token
        return None

    def primary(self) -> str | None:
        token = self.peek()
        if token == "(":
            self.take()
            inner = self.disjunction()
            self.take(")")
            return None if inner is None else f"({inner})"
        if token == "NEAR" and self.peek(1) == "(":
            return self.near()
        if token in ("{", "^", "+", ":", "*", ",", ")") or self.peek(1) == ":" or token is None:
            raise _Unknown(token)  # column filters, ^initial tokens: as written
        return self.either([self.phrase()])

    def near(self) -> str | None:
        self.take("NEAR")
        self.take("(")
        phrases = []
        while self.peek() not in (",", ")"):
            phrases.append(self.phrase())
        distance = ""
        if self.peek() == ",":
            self.take()
            distance = self.take()
            if not distance.isdigit():
                raise _Unknown(distance)
            distance = f", {distance}"
        self.take(")")
        if not phrases:
            raise _Unknown("NEAR()")
        return self.either(phrases, lambda members: f"NEAR({' '.join(members)}{distance})")

    def phrase(self) -> tuple[str, list[str] | None]:
        """(the phrase as written, its alternatives spelt out or None to keep it); an
        alternative of [] is a phrase no article of the archive holds (with prune). Parts
        joined by + (`"черн"* + "ястреб"*`) are one phrase: its alternatives are those of
        its parts, joined the same way."""
        parts = [self.part()]
        while self.peek() == "+":
            self.take()
            parts.append(self.part())
        written = " + ".join(f"{token}*" if prefix else token for token, prefix in parts)
        if self.prune and not all(self.words.setdefault(part, True) for part in parts):
            return written, []
        choices = [self.alternatives(token) if prefix else [token] for token, prefix in parts]
        if not any(prefix for _, prefix in parts):
            return written, None
        if None in choices:  # not spelt out (yet, or it covers too many terms)
            return written, None
        spelt = [" + ".join(combination)
                 for combination in itertools.product(*choices)]  # type: ignore[arg-type]
        return written, (spelt if len(spelt) <= self.most else None)

    def part(self) -> tuple[str, bool]:
        token = self.take()
        if token in ("(", ")", ",", "*", "+", ":", "^", "{", "}") or token in ("AND", "OR", "NOT"):
            raise _Unknown(token)
        prefix = self.peek() == "*"
        if prefix:
            self.take("*")
        return token, prefix

    def alternatives(self, token: str) -> list[str] | None:
        return self.cache.setdefault(token, None)

    def spell(self) -> None:
        """Fill the cache: each prefix's alternatives, every text tokenized in one go."""
        written = list(self.cache)
        texts = [token[1:-1].replace('""', '"') if token.startswith('"') else token
                 for token in written]
        found: dict[str, tuple[list[str], list[str]]] = {}
        for token, stems in zip(written, tokenize(texts), strict=True):
            if stems:  # the tokenizer stems a query's prefix as it stems a word
                covered = self.terms(stems[-1], self.most + 1)
                if len(covered) <= self.most:
                    found[token] = (stems, covered)
        # each word written must read back as itself (the stemmer is not idempotent)
        words = sorted({word for stems, covered in found.values() for word in stems[:-1] + covered})
        same = {word for word, tokens in zip(words, tokenize(words), strict=True)
                if tokens == [word]}
        self.changed = False
        if self.prune:  # which phrases the archive holds: each word, the prefix a term
            phrases = list(self.words)
            for (token, prefix), stems in zip(phrases, tokenize(
                    [t[1:-1].replace('""', '"') if t.startswith('"') else t
                     for t, _ in phrases]), strict=True):
                self.words[(token, prefix)] = all(
                    self.terms(stem, 1)[:1] == [stem] or (prefix and i == len(stems) - 1
                                                         and self.terms(stem, 1))
                    for i, stem in enumerate(stems))
        for token, (stems, covered) in found.items():
            if all(word in same for word in stems[:-1] + covered):
                self.cache[token] = ['"' + " ".join([*stems[:-1], term]).replace('"', '""') + '"'
                                     for term in covered]

    def either(self, phrases: list[tuple[str, list[str] | None]],
               form: Callable[[list[str]], str] = lambda members: members[0]) -> str | None:
        if self.prune and any(spelt == [] for _, spelt in phrases):
            self.changed = True
            return None  # a phrase no article holds: this part matches nothing
        choices = [[written] if spelt is None else spelt for written, spelt in phrases]
        combinations = 1
        for choice in choices:
            combinations *= len(choice)
        if all(spelt is None for _, spelt in phrases) or combinations > MAX_NEAR:
            return form([written for written, _ in phrases])
        self.changed = True
        if combinations == 0:  # a prefix no term of the archive starts with: no match
            return form([written for written, _ in phrases])
        members = [form(list(combination)) for combination in itertools.product(*choices)]
        return members[0] if len(members) == 1 else "(" + " OR ".join(members) + ")"


def archive_terms(conn) -> Terms:
    """terms(prefix, limit) over the archive's articles_fts: the index's terms that start
    with prefix, in order, at most limit. Each step is one seek (fts5vocab 'instance',
    `term >= ?`): the 'row' vocabulary would count every term's documents. Each answer is
    remembered: keep one only while the index does not change."""
    conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.articles_fts_terms"
                 " USING fts5vocab(main, articles_fts, 'instance')")

    known: dict[tuple[str, int], list[str]] = {}  # a rematch spells its queries' words twice

    def terms(prefix: str, limit: int) -> list[str]:
        if (prefix, limit) in known:
            return known[(prefix, limit)]
        found: list[str] = known.setdefault((prefix, limit), [])
        after = prefix
        while len(found) < limit:
            row = conn.execute("SELECT term FROM temp.articles_fts_terms WHERE term >= ?"
                               " LIMIT 1", [after]).fetchone()
            if row is None or not row[0].startswith(prefix):
                break
            found.append(row[0])
            after = row[0] + "\x00"  # the next term: `term > ?` would step through instances
        return found
    return terms
