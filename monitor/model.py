"""Plain data that travels one way: source -> entry -> document -> claims -> findings -> alerts.

Nothing here does I/O; every stage receives and returns these objects so each stage can be
tested alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class Verdict(StrEnum):
    KNOWN = "known"
    NEW = "new_development"
    CONTRADICTION = "contradiction"
    UPDATE = "update"  # a planned/expected fact fulfilled, moved or dropped; delivered as new_development
    SKIPPED = "skipped"  # not a checkable claim (opinion, boilerplate, off-topic sentence)


@dataclass(frozen=True)
class Entry:
    """One item announced by a source: a feed entry or a watched page."""

    source: str
    key: str  # stable identity inside the source (guid, else link)
    url: str
    title: str = ""
    published: datetime | None = None
    summary_html: str = ""  # feed-provided content, the fallback when the page cannot be fetched


@dataclass(frozen=True)
class Document:
    """An extracted article, ready for judgement."""

    url: str
    title: str
    text: str
    source: str
    published: datetime | None = None
    canonical_url: str | None = None
    from_feed_content: bool = False  # True when the page could not be fetched


@dataclass(frozen=True)
class DateValue:
    """A date with its granularity: 'day', 'month', 'quarter', 'season', 'half', 'year' or 'decade'.

    `start`/`end` bound the period; `qualifier` keeps 'net' (no earlier than), 'by', 'before',
    'after', 'around' so that compatible statements are not read as conflicts.
    """

    start: date
    end: date
    granularity: str
    qualifier: str = ""
    text: str = ""
    relative: bool = False  # resolved from 'Tuesday', 'next year', ...: never a novelty by itself


@dataclass(frozen=True)
class Quantity:
    value: float
    unit: str  # normalised unit or counted noun ('countries', 'usd', 'kg', 'percent', '' for bare)
    text: str = ""
    approximate: bool = False
    ordinal: bool = False


@dataclass
class Claim:
    """One checkable statement with its slots."""

    text: str  # decontextualised claim
    evidence: str  # the sentence(s) it comes from, verbatim
    entities: frozenset[str] = frozenset()  # canonical entity keys
    entity_names: dict[str, str] = field(default_factory=dict)  # key -> surface form
    terms: frozenset[str] = frozenset()  # normalised content-word stems
    events: frozenset[str] = frozenset()  # event classes ('join', 'leave', 'sign', ...)
    dates: tuple[DateValue, ...] = ()
    quantities: tuple[Quantity, ...] = ()
    places: frozenset[str] = frozenset()
    negated: bool = False
    modality: str = "done"  # done | planned | possible | reported
    speaker: str = ""
    subject: str = ""  # key of the first name in the claim: who acts
    topics: frozenset[str] = frozenset()
    position: int = 0  # sentence index in the document


@dataclass(frozen=True)
class Provenance:
    origin: str  # 'seed' | 'article'
    source: str  # seed file name or configured source name
    url: str  # seed file name or article URL
    published: datetime | None
    seen_at: datetime | None = None


@dataclass
class KnownClaim:
    """A claim already in the knowledge base, with where it came from."""

    id: int
    claim: Claim
    provenance: Provenance
    disputed: bool = False  # conflicts with another known claim (e.g. seeds disagree)
    superseded: bool = False


@dataclass
class Finding:
    verdict: Verdict
    claim: Claim
    reason: str
    matched: list[KnownClaim] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    conflict_slot: str = ""  # 'place', 'date', 'number', 'polarity', 'event', ...
    minor: bool = False  # new but peripheral (not about a topic, not in the lede): shown, not alerted
    previous: KnownClaim | None = None  # for an update: the value it replaces
    new_keys: list[str] = field(default_factory=list)  # vocabulary keys of the new names/numbers/dates

    @property
    def alerting(self) -> bool:
        return not self.minor and self.verdict in (Verdict.NEW, Verdict.CONTRADICTION, Verdict.UPDATE)


@dataclass
class Judgement:
    """Everything the engine decided about one document."""

    document: Document
    relevant: bool
    topics: list[str]
    findings: list[Finding]
    duplicate_of: str | None = None  # URL of the earlier article this one copies
    reason: str = ""

    @property
    def alerting_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.alerting]


@dataclass
class Alert:
    """What is delivered. `id` is stable across redeliveries."""

    id: str
    type: str  # 'contradiction' | 'new_development' | 'source_failing'
    created_at: datetime
    summary: str
    findings: list[Finding] = field(default_factory=list)
    article_url: str = ""
    article_title: str = ""
    article_published: datetime | None = None
    article_source: str = ""
    also_at: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    details: dict[str, str] = field(default_factory=dict)  # for non-article alerts
