"""Text -> claims: sentence-level statements with slots (entities, event, dates, numbers, places,
polarity, modality, speaker), leading pronouns replaced by what they refer to."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from monitor.judge.dates import find_dates
from monitor.judge.entities import (
    Gazetteer,
    Mention,
    acronym_links,
    capitalised_inside,
    find_mentions,
    is_person_like,
)
from monitor.judge.lexicon import EVENT_CLASSES, NEGATIONS, NOT_NEGATION, PLANNED, POSSIBLE, REPORTED
from monitor.judge.quantities import find_quantities
from monitor.judge.text import content_terms, normalize, split_sentences, strip_dateline, words
from monitor.model import Claim

_BOILERPLATE = re.compile(
    r"^(?:share|posted in|topics?|tags?|filed under|read more|also read|related|subscribe|sign up|advertisement"
    r"|our standards|\(?reporting by|editing by|follow us|copyright|©|all rights reserved|photo|credit|image"
    r"|this article (?:first )?appeared|republished|source:|by\s+[A-Z][\w.]+\s+[A-Z]\w+\s*[|·—-])",
    re.I)
_PRONOUN = re.compile(r"^(He|She|It|They|The agency|The company|The corporation|The administration|"
                      r"The organisation|The organization)\b(?=\s)"
                      r"(?!\s+(?:is|was|has been|had been|will be|would be)\s+(?:reported|said|expected|understood|"
                      r"likely|unlikely|unclear|clear|possible|not|too|hoped|believed|thought|known)\b)")  # expletive 'it'
_SPEAKER = re.compile(r"(?:according to|,\s*said|,\s*says|\bsaid|\btold)\s+((?:[A-Z][\w.'-]+\s?){1,4})"
                      r"|((?:[A-Z][\w.'-]+\s?){1,4})\s+(?:said|says|told|announced|stated|added|noted)\b")
_EVENT_PATTERNS = {
    cls: re.compile(r"\b(?:" + "|".join(re.escape(p) for p in sorted(phr, key=len, reverse=True)) + r")\b")
    for cls, phr in EVENT_CLASSES.items()
}
MIN_WORDS = 6


@dataclass
class _Context:
    """What earlier sentences said, for resolving 'It', 'He', 'the agency'."""

    subject: Mention | None = None
    person: Mention | None = None
    recent: list[Mention] = field(default_factory=list)
    midcaps: frozenset[str] = frozenset()


def extract_claims(title: str, text: str, published: date | None, gazetteer: Gazetteer) -> list[Claim]:
    """Every checkable statement of a document, in order. Title first: headlines carry the news."""
    text = normalize(text)
    links = acronym_links(text, gazetteer)
    ctx = _Context(midcaps=capitalised_inside(text))
    claims: list[Claim] = []
    title = normalize(title).strip()
    units = ([title] if title else []) + [s for s in _sentences(text) if s.strip() != title]
    for pos, sentence in enumerate(units):
        for part in _clauses(sentence):
            claim = _claim(part, sentence, pos, published, gazetteer, links, ctx)
            if claim is not None:
                claims.append(claim)
    return claims


def _sentences(text: str):
    for para in text.split("\n"):
        para = strip_dateline(para.strip())[0]
        if not para or _BOILERPLATE.match(para) or len(words(para)) < MIN_WORDS:
            continue
        for s in split_sentences(para):
            if len(words(s)) >= MIN_WORDS and not s.rstrip().endswith("?"):
                yield s


_COORDINATION = re.compile(r",\s+(?:and|but|while|whereas)\s+(?=(?:[A-Z][\w'-]+|the|it|he|she|they)\s)")


def _clauses(sentence: str) -> list[str]:
    """Compound sentences carry separate facts: split at semicolons and at ', and <subject>'
    (each part keeps enough words to stand alone; otherwise the sentence stays whole)."""
    parts = [p.strip() for p in re.split(r";\s+", sentence) if p.strip()]
    out: list[str] = []
    for part in parts:
        pieces = [p.strip() for p in _COORDINATION.split(part) if p.strip()]
        if len(pieces) > 1 and all(len(words(p)) >= MIN_WORDS and p.count('"') % 2 == 0 for p in pieces):
            out.extend(pieces)
        else:
            out.append(part)
    if len(out) > 1 and all(len(words(p)) >= MIN_WORDS for p in out):
        return out
    return [sentence]


def _claim(text: str, evidence: str, pos: int, published: date | None, gaz: Gazetteer,
           links: dict[str, str], ctx: _Context) -> Claim | None:
    mentions = find_mentions(text, gaz, links, ctx.midcaps)
    text, mentions = _resolve_pronoun(text, mentions, ctx, gaz, links)
    mentions.sort(key=lambda m: m.start)
    dates, spans = find_dates(text, published)
    quantities = find_quantities(text, spans)
    _update_context(mentions, ctx)
    if not mentions and not quantities and not [d for d in dates if not d.relative]:
        return None
    low = text.lower()
    topics = _claim_topics(mentions, low, gaz)
    mentions = [m for m in mentions if not (m.role == "ambiguous" and m.name.islower())]  # 'lunar exploration'
    if not mentions and not quantities and not [d for d in dates if not d.relative]:
        return None
    return Claim(
        text=text.strip(),
        evidence=evidence.strip(),
        entities=frozenset(m.key for m in mentions),
        entity_names={m.key: m.name for m in mentions},
        terms=frozenset(content_terms(text)),
        events=frozenset(c for c, p in _EVENT_PATTERNS.items() if p.search(low)),
        dates=tuple(dates),
        quantities=tuple(quantities),
        places=frozenset(f"{m.place}:{m.key}" for m in mentions if m.place and m.locative),
        negated=_negated(low),
        modality=_modality(low),
        speaker=_speaker(text),
        subject=mentions[0].key if mentions else "",
        topics=frozenset(topics),
        position=pos,
    )


_DEFINITE = re.compile(r"^The ([a-z]+)\b(?=\s)")


def _resolve_pronoun(text: str, mentions: list[Mention], ctx: _Context, gaz: Gazetteer,
                     links: dict[str, str]) -> tuple[str, list[Mention]]:
    d = _DEFINITE.match(text)
    named = d and next((r for r in reversed(ctx.recent) if r.name.lower().split()[-1] == d.group(1)), None)
    if named:  # 'The station' after 'International Lunar Research Station'
        new_text = named.name + text[d.end():]
        return new_text, find_mentions(new_text, gaz, links, ctx.midcaps)
    m = _PRONOUN.match(text)
    if not m:
        return text, mentions
    word = m.group(1)
    ref = ctx.person if word in ("He", "She") else ctx.subject
    if ref is None or (word == "They" and ref is ctx.person):
        return text, mentions
    new_text = ref.name + text[m.end():]
    return new_text, find_mentions(new_text, gaz, links, ctx.midcaps)


def _update_context(mentions: list[Mention], ctx: _Context) -> None:
    ctx.recent = (ctx.recent + sorted(mentions, key=lambda m: m.start))[-12:]
    for m in mentions:
        if is_person_like(m.name) and not m.place and not m.topic:
            ctx.person = m
            break
    for m in mentions:
        if not m.place and not is_person_like(m.name):
            ctx.subject = m
            break


def _claim_topics(mentions: list[Mention], low: str, gaz: Gazetteer) -> set[str]:
    out = set()
    for m in mentions:
        if not m.topic:
            continue
        if m.role == "ambiguous" and not any(re.search(rf"\b{re.escape(c)}\b", low)
                                             for c in gaz.context.get(m.topic, ()) if c != m.name.lower()):
            continue
        out.add(m.topic)
    return out


_EVENT_WORDS = frozenset(w for phrases in EVENT_CLASSES.values() for p in phrases for w in p.split())
NEGATION_REACH = 4  # a 'not' negates the claim only when an event word follows closely


def _negated(low: str) -> bool:
    """'did not sign', 'will never join': a negation governing an event, not one in a side clause."""
    cleaned = low
    for phrase in NOT_NEGATION:
        cleaned = cleaned.replace(phrase, " ")
    toks = re.findall(r"[a-z']+", cleaned.replace("n't", " n't"))
    return any(t in NEGATIONS and any(w in _EVENT_WORDS for w in toks[i + 1:i + 1 + NEGATION_REACH])
               for i, t in enumerate(toks))


def _modality(low: str) -> str:
    low = re.sub(r"\b(?:in|of|early|late|mid|since|until|by)\s+may\b|\bmay\s+\d", " ", low)  # the month
    padded = f" {low} "
    if any(re.search(rf"\b{re.escape(c.strip())}\b", padded) for c in POSSIBLE):
        return "possible"
    if any(re.search(rf"\b{re.escape(c)}\b", padded) for c in PLANNED):
        return "planned"
    if any(c in padded for c in REPORTED):
        return "reported"
    return "done"


def _speaker(text: str) -> str:
    m = _SPEAKER.search(text)
    if not m:
        return ""
    return (m.group(1) or m.group(2) or "").strip()
