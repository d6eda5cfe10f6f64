"""Backtest: run a folder of saved articles (eval FORMAT.md) through the real pipeline on a throw-away
state, and report the alerts it would have sent and, when labels are present, precision and recall."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from monitor.baseline import build_baseline
from monitor.config import AlertsSection, Settings
from monitor.cycle import Cycle
from monitor.errors import ConfigError, ExtractError
from monitor.extract import extract_document
from monitor.fetch import decode_body
from monitor.judge.engine import Engine
from monitor.store import outbox
from monitor.store.db import open_state

QUIET = {"rereport", "irrelevant", "duplicate", "followup"}


@dataclass
class ReplayResult:
    alerts: list[dict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # articles that could not be extracted
    metrics: dict[str, float] = field(default_factory=dict)
    rows: list[tuple[str, str, int, str]] = field(default_factory=list)  # id, kind, alerts, verdict


def _labels(corpus: Path) -> list[dict]:
    path = corpus / "labels.jsonl"
    if path.exists():
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    articles = corpus / "articles" if (corpus / "articles").is_dir() else corpus
    return [{"id": p.stem, "batch": 1} for p in sorted(articles.glob("*.htm*"))]


def replay(settings: Settings, corpus: Path) -> ReplayResult:
    """Judge every article of `corpus` in batch order on a fresh state built from the seeds."""
    if not corpus.is_dir():
        raise ConfigError(f"replay: {corpus} is not a folder")
    labels = _labels(corpus)
    folder = corpus / "articles" if (corpus / "articles").is_dir() else corpus
    result = ReplayResult()
    with tempfile.TemporaryDirectory(prefix="lunarwatch-replay-") as tmp:
        local = settings.model_copy(deep=True)
        local.monitor.state_dir = Path(tmp)
        local.alerts = AlertsSection()  # nothing is sent: alerts stay in the throw-away outbox
        conn = open_state(Path(tmp))
        engine = Engine.from_settings(local.topics, local.judge)
        build_baseline(conn, engine, local.monitor.seeds_dir)
        cycle = Cycle(local, conn, engine, fetcher=None)  # type: ignore[arg-type]
        for lab in sorted(labels, key=lambda x: (x.get("batch", 1), x.get("published", ""))):
            url = _url(lab)
            try:
                html = decode_body(next(folder.glob(f"{lab['id']}.htm*")).read_bytes(), "text/html")
                doc = extract_document(html, url, lab.get("site", "replay"))
            except (StopIteration, ExtractError) as e:
                result.skipped.append(f"{lab['id']}: {e}")
                continue
            cycle.record_document(doc, url)
        result.alerts = list(reversed(outbox.recent_alerts(conn, 100000)))
        conn.close()
    if any("kind" in lab for lab in labels):
        _score(result, labels)
    return result


def _url(lab: dict) -> str:
    return "replay://" + (lab.get("url_path") or lab["id"]).lstrip("/")


def _text(finding: dict) -> str:
    parts = [finding.get("claim", ""), finding.get("evidence", "")]
    parts += [c.get("claim", "") for c in finding.get("conflicts_with") or []]
    return " ".join(parts).lower()


def _score(result: ReplayResult, labels: list[dict]) -> None:
    """The metrics of the project's evaluation: recall of developments and contradictions, quiet false alarms."""
    by_url: dict[str, list[dict]] = {}
    for a in result.alerts:
        art = a.get("article") or {}
        for u in [art.get("url", "")] + list(art.get("also_at") or []):
            by_url.setdefault(u, []).append(a)
    m = dict.fromkeys(("new", "new_hit", "items", "items_hit", "contra", "contra_hit", "quiet", "quiet_fp"), 0)
    for lab in labels:
        got = [a for a in by_url.get(_url(lab), []) if a.get("article", {}).get("url") == _url(lab)]
        findings = [f for a in got for f in a.get("findings", [])]
        kind = lab.get("kind", "")
        verdict = "ok"
        if kind in ("new", "update"):
            items = lab.get("expect_new") or []
            hit = [it for it in items if any(any(k in _text(f) for k in it.get("any_of", [])) for f in findings)]
            m["new"] += 1
            m["items"] += len(items)
            m["items_hit"] += len(hit)
            ok = bool(hit) or (not items and bool(got))
            m["new_hit"] += ok
            verdict = "ok" if ok else "MISSED"
        elif kind == "contradiction":
            m["contra"] += 1
            ok = any(f.get("type") == "contradiction" and any(k in _text(f) for k in it.get("any_of", []))
                     for f in findings for it in lab.get("expect_contradiction") or [])
            m["contra_hit"] += ok
            verdict = "ok" if ok else "MISSED"
        elif kind in QUIET:
            m["quiet"] += 1
            m["quiet_fp"] += bool(got)
            verdict = "FALSE ALERT" if got else "ok (quiet)"
        result.rows.append((lab["id"], kind, len(got), verdict))
    expected = sum(len([a for a in by_url.get(_url(lab), []) if a["article"]["url"] == _url(lab)])
                   for lab in labels if lab.get("kind") not in QUIET)
    result.metrics = {
        "new_recall": m["new_hit"] / max(m["new"], 1),
        "claim_recall": m["items_hit"] / max(m["items"], 1),
        "contra_recall": m["contra_hit"] / max(m["contra"], 1),
        "quiet_fp_rate": m["quiet_fp"] / max(m["quiet"], 1),
        "alert_precision": expected / len(result.alerts) if result.alerts else 0.0,
        "alerts": float(len(result.alerts)),
    }
