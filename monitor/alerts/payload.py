"""Judgement -> alert payload (webhook JSON v1 of CONTRACT.md, plus documented extensions)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from monitor.model import Finding, Judgement, KnownClaim, Verdict

MAX_FINDINGS = 12


def iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if dt else None


def alert_id(kind: str, key: str) -> str:
    """Deterministic: a cycle repeated after a crash rebuilds the same alert with the same id."""
    return "lw-" + hashlib.sha256(f"{kind}\n{key}".encode()).hexdigest()[:24]


def _known(kc: KnownClaim) -> dict:
    return {"claim": kc.claim.text, "source": kc.provenance.url, "published": iso(kc.provenance.published)}


def _finding(f: Finding) -> dict:
    kind = "contradiction" if f.verdict is Verdict.CONTRADICTION else "new_development"
    out: dict = {"type": kind, "claim": f.claim.text, "evidence": f.claim.evidence, "reason": f.reason}
    if f.verdict is Verdict.CONTRADICTION:
        out["conflicts_with"] = [_known(kc) for kc in f.matched]
    if f.previous is not None:
        out["previously"] = _known(f.previous)
    return out


def _order(f: Finding) -> int:
    return {Verdict.CONTRADICTION: 0, Verdict.UPDATE: 1}.get(f.verdict, 2)


def article_payload(j: Judgement, topic_labels: dict[str, str], now: datetime) -> dict | None:
    """The alert for one judged article, or None when nothing in it is news."""
    findings = sorted(j.alerting_findings, key=lambda f: (_order(f), f.claim.position))[:MAX_FINDINGS]
    if not findings:
        return None
    kind = "contradiction" if any(f.verdict is Verdict.CONTRADICTION for f in findings) else "new_development"
    d = j.document
    return {
        "version": 1,
        "id": alert_id("article", d.canonical_url or d.url),
        "type": kind,
        "created_at": iso(now),
        "topics": j.topics,
        "topic_labels": [topic_labels.get(t, t) for t in j.topics],
        "article": {"url": d.url, "title": d.title, "published": iso(d.published), "source": d.source,
                    "also_at": []},
        "findings": [_finding(f) for f in findings],
        "summary": summary(findings, d.title),
    }


def summary(findings: list[Finding], title: str) -> str:
    first = findings[0]
    more = f" (+{len(findings) - 1} more)" if len(findings) > 1 else ""
    if first.verdict is Verdict.CONTRADICTION and first.matched:
        return f"Contradiction: {_short(first.claim.text)} — known: {_short(first.matched[0].claim.text)}{more}"
    if first.verdict is Verdict.UPDATE:
        return f"Update: {_short(first.claim.text)}{more}"
    return f"New: {_short(first.claim.text)}{more}" if first.claim.text else f"New: {title}"


def _short(text: str, limit: int = 110) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def source_failing_payload(name: str, url: str, code: str, message: str, failures: int,
                           since: datetime | None, now: datetime) -> dict:
    """A separate alert type: a source keeps failing. Consumers that do not know it ignore it."""
    return {
        "version": 1,
        "id": alert_id("source_failing", f"{name}\n{iso(since) or iso(now)}"),
        "type": "source_failing",
        "created_at": iso(now),
        "topics": [],
        "source_status": {"name": name, "url": url, "error_code": code, "error_message": message,
                          "consecutive_failures": failures, "failing_since": iso(since)},
        "findings": [],
        "summary": f"Source failing: {name} ({code}) after {failures} consecutive failure(s)",
    }
