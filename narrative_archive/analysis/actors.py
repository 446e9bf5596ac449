"""Whose claim a denial answers: the accused of a narrative, and those of the others.

One article often carries two narratives' claims (Pakistan's denial of arming the Taliban
beside Russia's arming; the Taliban denying Iranian bounty money beside the Russian one;
Iran rejecting Pompeo's charge, in a story that quotes him on Russia too). The stance
reader reads one narrative's matched words, and those words (the Taliban, weapons) are
the other claim's too: a headline or lead that denies the other actor's claim would read
as a dispute of this one. The claim rules (match.claim, `claim:` in config/narratives.yml)
name each narrative's actor; a denial that names another narrative's actor and none of
this one's answers that other claim.

A narrative with no claim rule takes its accused from the matched words: the actors of the
claim rules whose terms its query marked (the bounties' "Russian" is the arming rule's
actor). One whose marked words name no rule's actor (US weapons, ghost soldiers) gets no
Actors, and its denials are read as before.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from narrative_archive.match import claim


@dataclass(frozen=True)
class Actors:
    """The accused of a narrative (`own`) and the accused of the other narratives (`others`),
    each a pattern over claim.fold()ed text."""

    own: tuple[re.Pattern, ...]
    others: tuple[re.Pattern, ...]

    def anothers(self, sentence: str) -> bool:
        """Whether the sentence names another narrative's accused and none of this one's
        ("Iran rejects Pompeo's claim that it sends weapons to the Taliban", read for
        Russia's arming)."""
        folded = claim.fold(sentence)
        return any(p.search(folded) for p in self.others) and not any(p.search(folded) for p in self.own)

    def names_any(self, sentence: str) -> bool:
        """Whether the sentence names this narrative's accused or another's."""
        folded = claim.fold(sentence)
        return any(p.search(folded) for p in (*self.own, *self.others))


def actors_of(narrative, narratives: Iterable, terms: Iterable[str] | str | None) -> Actors | None:
    """The Actors of a mention of `narrative` among the configured `narratives` (its own
    claim rule's actor, else those its matched `terms` name), or None when neither says
    who is accused or no other narrative names one."""
    rules = {n.id: rule.actor for n in narratives if (rule := claim.rule(n)) is not None}
    own_rule = claim.rule(narrative)
    if own_rule is not None:
        own = (own_rule.actor,)
    else:
        if isinstance(terms, str):
            try:
                terms = json.loads(terms)
            except ValueError:
                terms = [terms]
        marked = claim.fold(" ".join(terms or ()))
        own = tuple(dict.fromkeys(actor for actor in rules.values() if actor.search(marked)))
    others = tuple(dict.fromkeys(actor for narrative_id, actor in rules.items()
                                 if narrative_id != narrative.id and actor not in own))
    if not own or not others:
        return None
    return Actors(own, others)



def read_for(readings: list[tuple[str, str, Any]], actors: Actors | None) -> list[tuple[str, str, Any]]:
    """The (role, sentence, Reading) list with each denial of another narrative's accused
    read as what it is for this narrative: another's claim and its denial told, a report.
    A headline or lead denial that names no accused after one of another's continues it
    ("Iran rejects Pompeo's charge. The spokesman called the accusations baseless")."""
    if actors is None:
        return readings
    found, anothers = [], False
    for role, sentence, reading in readings:
        if reading.label == "disputes" and (actors.anothers(sentence) or (
                anothers and role != "body" and not actors.names_any(sentence))):
            anothers = anothers or role != "body"
            reading = replace(reading, label="reports", cues=[*reading.cues, "another's denial"],
                              outlet_voice=False)
        found.append((role, sentence, reading))
    return found
