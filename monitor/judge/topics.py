"""Relevance: is an article about one of the configured topics? Off-topic articles raise nothing.

Evidence per topic: an unambiguous alias counts 2, an ambiguous name with a context word in the
same sentence 1.5 (without one, nothing), each distinct key organisation 0.5 (at most 2 in all).
Negative phrases ('payment gateway', 'Lunar New Year') are removed before anything is counted.
A topic needs at least one name of its own: key organisations alone (NASA, Orion, SLS) make an
Artemis story, not a Gateway story.
"""

from __future__ import annotations

import re
from collections import defaultdict

from monitor.judge.entities import Gazetteer
from monitor.judge.text import normalize, split_sentences

ALIAS_WEIGHT = 2.0
AMBIGUOUS_WEIGHT = 1.5
ENTITY_WEIGHT = 0.5
ENTITY_CAP = 2.0


def topic_scores(title: str, text: str, gazetteer: Gazetteer) -> dict[str, float]:
    """Score of every topic that the document names (entities alone do not count)."""
    scores: dict[str, float] = defaultdict(float)
    entities: dict[str, set[str]] = defaultdict(set)
    for sentence in _sentences(title, text):
        low = sentence.lower()
        for m in gazetteer.match(sentence):
            if m.role == "alias":
                scores[m.topic] += ALIAS_WEIGHT
            elif m.role == "ambiguous" and _has_context(low, m.name.lower(), gazetteer.context.get(m.topic, set())):
                scores[m.topic] += AMBIGUOUS_WEIGHT
            elif m.role == "entity":
                entities[m.topic].add(m.key)
    for topic, keys in entities.items():
        if topic in scores:
            scores[topic] += min(ENTITY_CAP, ENTITY_WEIGHT * len(keys))
    return dict(scores)


def relevant_topics(title: str, text: str, gazetteer: Gazetteer, threshold: float) -> tuple[list[str], str]:
    """Topics over the threshold, best first, and a reason a person can read."""
    scores = topic_scores(title, text, gazetteer)
    chosen = sorted((t for t, s in scores.items() if s >= threshold), key=lambda t: -scores[t])
    detail = ", ".join(f"{t}={s:.1f}" for t, s in sorted(scores.items(), key=lambda x: -x[1])) or "no topic terms"
    return chosen, f"topic scores {detail} (threshold {threshold:g})"


def _sentences(title: str, text: str):
    if title:
        yield normalize(title)
    for para in normalize(text).split("\n"):
        yield from split_sentences(para)


def _has_context(low_sentence: str, name: str, context: set[str]) -> bool:
    return any(c != name and re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", low_sentence) for c in context)
