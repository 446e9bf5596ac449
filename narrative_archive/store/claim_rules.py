"""A claim rule's verdicts kept between rematches: the candidates it rejected
(claim_rejections) and the key of the rule they are of (claim_rules)."""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

from narrative_archive.store.prefixes import Terms, archive_terms, spelt_out

# Given the key of the rule the verdicts are of and the new rule's, the FTS5 query of the
# articles whose verdict can differ ("" none, None every one: match.claim_key.rereads)
Rereads = Callable[[str, str], str | None]

# an SQL test on temp.candidates' article_id (one parameter: the narrative's id)
UNREJECTED = ("NOT EXISTS (SELECT 1 FROM claim_rejections r"
              " WHERE r.article_id = candidates.article_id AND r.narrative_id = ?)")


def keep_verdicts(db: sqlite_utils.Database, narrative_id: str, rule: str,
                  rereads: Rereads | None = None, vocabulary: Terms | None = None) -> None:
    """Make `rule` (a key) the one claim_rejections holds the narrative's verdicts of.
    Under another rule, the rejections `rereads` names (those of the articles its query
    matches) go, every one without it; the others stand, as the new rule would give them
    again."""
    row = db.conn.execute("SELECT rule FROM claim_rules WHERE narrative_id = ?",
                          [narrative_id]).fetchone()
    if row is not None and row[0] == rule:
        return
    query = rereads(row[0], rule) if row is not None and rereads is not None else None
    if query is None:
        db.conn.execute("DELETE FROM claim_rejections WHERE narrative_id = ?", [narrative_id])
    elif query:
        fast = spelt_out(query, vocabulary or archive_terms(db.conn), most=1, prune=True)
        if fast != "":  # "": no article holds a changed term
            db.conn.execute(
                "DELETE FROM claim_rejections WHERE narrative_id = ? AND article_id IN"
                " (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)",
                [narrative_id, fast or query])
    db.conn.execute("INSERT INTO claim_rules (narrative_id, rule) VALUES (?, ?)"
                    " ON CONFLICT(narrative_id) DO UPDATE SET rule = excluded.rule",
                    [narrative_id, rule])
