"""The baseline: seed documents as known facts, and where the seeds disagree with each other.

Seeds are messy reporting (one paraphrases another with errors), so their conflicts are found and
both sides marked disputed: neither is settled truth, and a new article that sides with one of
them is not reported as contradicting the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from monitor.judge.dates import find_dates
from monitor.judge.decide import conflict, same_frame, similarity
from monitor.judge.knowledge import MemoryKnowledge
from monitor.judge.text import content_terms
from monitor.model import Claim, Document, KnownClaim

SEED_CONFLICT_SIMILARITY = 0.40
MODIFIER_SIMILARITY = 0.45


@dataclass(frozen=True)
class SeedConflict:
    a: KnownClaim
    b: KnownClaim
    slot: str
    detail: str


def seed_document(name: str, text: str) -> Document:
    """A seed file as a Document; its date is the first full date in its opening lines, if any."""
    head = text[:300]
    dates, _ = find_dates(head, None)
    day = next((d for d in dates if d.granularity == "day"), None)
    published = datetime(day.start.year, day.start.month, day.start.day, tzinfo=UTC) if day else None
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    title = first_line if len(first_line) < 120 and not first_line.endswith(".") else ""
    body = text if not title else text.split(first_line, 1)[1]
    return Document(url=name, title=title, text=body, source=name, published=published)


def seed_conflicts(kb: MemoryKnowledge, limit: int = 8) -> list[SeedConflict]:
    """Pairs of claims from different seed files that cannot both be true."""
    out: list[SeedConflict] = []
    seen: set[tuple[int, int]] = set()
    for kc in kb.claims:
        for other in kb.candidates(kc.claim, limit):
            pair = (min(kc.id, other.id), max(kc.id, other.id))
            if other.provenance.url == kc.provenance.url or pair in seen:
                continue
            seen.add(pair)
            slot, detail = _seed_conflict(kc.claim, other.claim)
            if slot:
                out.append(SeedConflict(kc, other, slot, detail))
    return out


def _seed_conflict(a: Claim, b: Claim) -> tuple[str, str]:
    s = similarity(a, b)
    if s >= SEED_CONFLICT_SIMILARITY and same_frame(a, b):
        slot, detail = conflict(a, b)
        if slot:
            return slot, detail
    if s >= MODIFIER_SIMILARITY:
        return _modifier_conflict(a, b)
    return "", ""


def _modifier_conflict(a: Claim, b: Claim) -> tuple[str, str]:
    """'the final module' vs 'the core module': one word before the same noun differs, and each
    version's word is absent from the other claim (a careless paraphrase, or a real disagreement)."""
    pa = _modified_nouns(a.text)
    pb = _modified_nouns(b.text)
    for noun, mods_a in pa.items():
        mods_b = pb.get(noun)
        if not mods_b:
            continue
        only_a = {m for m in mods_a - mods_b if m not in content_terms(b.text)}
        only_b = {m for m in mods_b - mods_a if m not in content_terms(a.text)}
        if only_a and only_b:
            return "attribute", f"{sorted(only_a)[0]} {noun} vs {sorted(only_b)[0]} {noun}"
    return "", ""


def _modified_nouns(text: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for m in re.finditer(r"\bthe\s+([a-z]{3,})\s+([a-z]{4,})\b", text):
        mod, noun = m.group(1), m.group(2)
        out.setdefault(noun, set()).add(mod)
    return {n: {next(iter(content_terms(m)), m) for m in mods} for n, mods in out.items()}
