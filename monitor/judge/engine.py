"""One document in, one Judgement out: relevance, claims, a verdict per claim, and which findings alert.

Pure: the knowledge base arrives as a read-only view; the caller stores what was learned.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from monitor.config import JudgeSection, TopicConfig
from monitor.judge.claims import extract_claims
from monitor.judge.decide import Thresholds, decide
from monitor.judge.entities import Gazetteer
from monitor.judge.knowledge import KnowledgeView, vocabulary_keys
from monitor.judge.topics import relevant_topics
from monitor.model import Claim, Document, Finding, Judgement, KnownClaim, Verdict

LEDE_POSITIONS = 1  # the title (0) and the first sentence (1) carry an article's news


@dataclass
class Engine:
    """The judgement engine configured from settings; build once, judge many documents."""

    gazetteer: Gazetteer
    thresholds: Thresholds
    min_relevance: float

    @classmethod
    def from_settings(cls, topics: list[TopicConfig], judge: JudgeSection) -> Engine:
        th = Thresholds(judge.candidates, judge.known_similarity, judge.frame_similarity,
                        judge.contradiction_similarity, judge.update_after_days, judge.min_new_units)
        return cls(Gazetteer.from_topics(topics), th, judge.min_relevance)

    def claims(self, document: Document) -> list[Claim]:
        published = document.published.date() if document.published else None
        return extract_claims(document.title, document.text, published, self.gazetteer)

    def judge(self, document: Document, view: KnowledgeView) -> Judgement:
        """Decide every claim of a relevant document; off-topic documents get no findings."""
        topics, reason = relevant_topics(document.title, document.text, self.gazetteer, self.min_relevance)
        if not topics:
            return Judgement(document, False, [], [], reason=f"off-topic: {reason}")
        claims = self.claims(document)
        overlay = _ArticleView(view)
        published = document.published.date() if document.published else None
        findings = []
        for claim in claims:
            finding = decide(claim, overlay, self.thresholds, published)
            if finding.verdict in (Verdict.NEW, Verdict.UPDATE, Verdict.CONTRADICTION):
                overlay.remember(vocabulary_keys(claim))
            findings.append(finding)
        _mark_minor(findings, claims)
        return Judgement(document, True, topics, findings, reason=f"relevant: {reason}")


def learnable(judgement: Judgement, near_copy: float = 0.8) -> list[Claim]:
    """Claims to add to the knowledge base: all of a relevant article but near-copies of known ones."""
    return [f.claim for f in judgement.findings
            if not (f.verdict is Verdict.KNOWN and f.scores.get("best_similarity", 0) >= near_copy)]


class _ArticleView:
    """The knowledge base plus what earlier sentences of this article already reported."""

    def __init__(self, base: KnowledgeView):
        self._base = base
        self._seen: set[str] = set()

    def remember(self, keys: Iterable[str]) -> None:
        self._seen |= set(keys)

    def known(self, keys: Iterable[str]) -> set[str]:
        keys = set(keys)
        return (keys & self._seen) | self._base.known(keys - self._seen)

    def candidates(self, claim: Claim, limit: int) -> list[KnownClaim]:
        return self._base.candidates(claim, limit)


def _mark_minor(findings: list[Finding], claims: list[Claim]) -> None:
    """A new name in a side remark is not news: a development must be about a topic, in the lede,
    or about a name the article keeps coming back to."""
    freq = Counter(k for c in claims for k in c.entities)
    for f in findings:
        if f.verdict is not Verdict.NEW:
            continue
        recurring = any(freq[k[2:]] >= 2 for k in f.new_keys if k.startswith("e:"))
        f.minor = not (f.claim.topics or f.claim.position <= LEDE_POSITIONS or recurring)
