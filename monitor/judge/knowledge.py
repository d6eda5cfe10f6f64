"""The knowledge base as the engine sees it: a read-only view that finds comparable known claims
and tells which names, numbers and dates are already known. Storage lives elsewhere (store/);
`MemoryKnowledge` is the in-process implementation for tests, dry runs and the seed report.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Protocol

from monitor.judge.dates import date_keys
from monitor.judge.entities import initials, name_tokens
from monitor.judge.quantities import quantity_key
from monitor.model import Claim, KnownClaim, Provenance


class KnowledgeView(Protocol):
    def candidates(self, claim: Claim, limit: int) -> list[KnownClaim]:
        """The known claims most comparable with `claim` (shared names and words), best first."""

    def known(self, keys: Iterable[str]) -> set[str]:
        """Which of these vocabulary keys (see `vocabulary_keys`) are already known."""


def index_tokens(claim: Claim) -> list[str]:
    """Tokens a claim is found by: its entities and content words (alphanumeric, for FTS5 too)."""
    toks = {"e" + k for k in claim.entities}
    toks |= {"w" + re.sub(r"[^a-z0-9]", "", t) for t in claim.terms}
    return sorted(t for t in toks if len(t) > 2)


def vocabulary_keys(claim: Claim) -> set[str]:
    """Everything a claim makes known: names (and their parts and initials), numbers, dates."""
    keys = set()
    for key, name in claim.entity_names.items():
        keys.add("e:" + key)
        keys |= {"t:" + t for t in name_tokens(name)}
        if initials(name):
            keys.add("a:" + initials(name))  # a later 'AIAA' matches 'American Institute of ... Astronautics'
        if name.isupper() and len(name) <= 8:
            keys.add("x:" + key)  # a later full name matches this acronym by its initials
    keys |= {"q:" + quantity_key(q) for q in claim.quantities}
    for d in claim.dates:
        keys |= {"d:" + k for k in date_keys(d)}
    return keys


class MemoryKnowledge:
    """An in-memory knowledge base with an inverted index (no full scans)."""

    def __init__(self) -> None:
        self.claims: list[KnownClaim] = []
        self._postings: dict[str, list[int]] = defaultdict(list)
        self._vocab: set[str] = set()

    def add(self, claim: Claim, provenance: Provenance) -> KnownClaim:
        kc = KnownClaim(len(self.claims), claim, provenance)
        self.claims.append(kc)
        for tok in index_tokens(claim):
            self._postings[tok].append(kc.id)
        self._vocab |= vocabulary_keys(claim)
        return kc

    def learn_vocabulary(self, keys: Iterable[str]) -> None:
        self._vocab |= set(keys)

    def mark_disputed(self, ids: Iterable[int]) -> None:
        for i in ids:
            self.claims[i].disputed = True

    def known(self, keys: Iterable[str]) -> set[str]:
        return {k for k in keys if k in self._vocab}

    def candidates(self, claim: Claim, limit: int) -> list[KnownClaim]:
        n = max(len(self.claims), 1)
        scores: dict[int, float] = defaultdict(float)
        for tok in index_tokens(claim):
            post = self._postings.get(tok)
            if not post:
                continue
            idf = math.log(1 + n / len(post))
            for cid in post:
                scores[cid] += idf * (2.0 if tok[0] == "e" else 1.0)
        best = sorted(scores, key=lambda c: -scores[c])[:limit]
        return [self.claims[c] for c in best]
