"""Issue #4, crash safety: a monitor killed with SIGKILL at any point of a cycle loses no alert.

For each (fault point, n) the real CLI runs a cycle with MONITOR_FAULT_POINT set, which SIGKILLs it the
n-th time that point is reached; then it restarts without the fault. Whatever the point, the webhook
receiver must end up with exactly the alert ids of a clean reference run on the same corpus (each at
least once, none missing), the state must pass PRAGMA integrity_check, and the knowledge base must be
the same as the reference's. A redelivery is allowed only where the receiver acknowledged a send that
the killed process could not record (after_send); anything recorded as delivered is never sent again.
"""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.alert_samples import Receiver
from tests.reliability_kit import CORPUS, Setup, Site, Source, clean_env, integrity, monitor, posted, query

HOOKS = ("/hook-a", "/hook-b")  # two webhook channels: twice the delivery points, and each must get all
KILL_POINTS = ([("after_fetch", 1)] + [("before_commit", n) for n in range(1, 7)]
               + [("after_commit", n) for n in range(1, 6)] + [("before_send", n) for n in range(1, 5)]
               + [("after_send", n) for n in range(1, 5)])
assert len(KILL_POINTS) == 20


@dataclass
class Outcome:
    """What one installation ended with: alerts seen per channel, and its state."""

    ids: dict[str, list[str]]  # hook path -> alert ids in arrival order (duplicates kept)
    articles: set[str]
    claims: int
    pending: int
    integrity: str
    orphans: int  # claims of an article that is not recorded, or alerts whose article is not
    killed: bool = False


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with Site("127.0.0.1", CORPUS) as s:
        yield s


def install(folder: Path, site: Site, receiver: Receiver) -> Setup:
    setup = Setup(folder, [Source("orbit-ledger", site.url("/feed.xml"))],
                  webhooks=[(receiver.url(h), "") for h in HOOKS])
    setup.write()
    return setup


def outcome(setup: Setup, receiver: Receiver) -> Outcome:
    ids: dict[str, list[str]] = {h: [] for h in HOOKS}
    for req, body in zip(receiver.requests, posted(receiver), strict=True):
        ids[req["path"]].append(body["id"])
    db = setup.db
    orphans = query(db, "SELECT (SELECT COUNT(*) FROM claims WHERE origin = 'article' AND article_id NOT IN "
                        "(SELECT id FROM articles)) + (SELECT COUNT(*) FROM alerts WHERE article_id IS NOT NULL "
                        "AND article_id NOT IN (SELECT id FROM articles)) + (SELECT COUNT(*) FROM articles "
                        "WHERE alert_id IS NOT NULL AND alert_id NOT IN (SELECT id FROM alerts))")[0][0]
    return Outcome(ids=ids, articles={r[0] for r in query(db, "SELECT url FROM articles")},
                   claims=query(db, "SELECT COUNT(*) FROM claims")[0][0],
                   pending=query(db, "SELECT COUNT(*) FROM outbox WHERE status != 'delivered'")[0][0],
                   integrity=integrity(db), orphans=orphans)


def run_killed(folder: Path, site: Site, point: str, n: int) -> Outcome:
    """Run a cycle killed at (point, n), restart it clean, and report what the receiver saw."""
    with Receiver() as receiver:
        setup = install(folder, site, receiver)
        first = monitor(setup.config, "run", "--once", env=clean_env(MONITOR_FAULT_POINT=f"{point}:{n}"))
        again = monitor(setup.config, "run", "--once", env=clean_env())
        assert again.returncode == 0, again.stderr[-2000:]
        result = outcome(setup, receiver)
    result.killed = first.returncode == -signal.SIGKILL
    return result


def test_sigkill_at_twenty_points_loses_nothing(tmp_path: Path, site: Site) -> None:
    with Receiver() as receiver:
        ref_setup = install(tmp_path / "reference", site, receiver)
        ref_run = monitor(ref_setup.config, "run", "--once")
        assert ref_run.returncode == 0, ref_run.stderr[-2000:]
        reference = outcome(ref_setup, receiver)
    expected = set(reference.ids[HOOKS[0]])
    assert len(expected) >= 2, f"the corpus should raise several alerts, got {reference.ids}"
    assert all(sorted(v) == sorted(expected) for v in reference.ids.values())

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {(p, n): pool.submit(run_killed, tmp_path / f"{p}-{n}", site, p, n) for p, n in KILL_POINTS}
        results = {k: f.result() for k, f in futures.items()}

    problems, lost, duplicates = [], 0, 0
    for (point, n), r in results.items():
        where = f"{point}:{n}"
        if not r.killed:
            problems.append(f"{where}: the process was not killed (point not reached)")
        for hook, ids in r.ids.items():
            missing = expected - set(ids)
            lost += len(missing)
            extra = set(ids) - expected
            dups = sum(c - 1 for c in Counter(ids).values())
            duplicates += dups
            if missing or extra:
                problems.append(f"{where} {hook}: missing {sorted(missing)}, unexpected {sorted(extra)}")
            if dups > (1 if point == "after_send" else 0):
                problems.append(f"{where} {hook}: {dups} redelivery(ies) of {Counter(ids).most_common(2)}")
        if r.integrity != "ok" or r.pending or r.orphans:
            problems.append(f"{where}: integrity {r.integrity}, {r.pending} undelivered, {r.orphans} orphans")
        if (r.articles, r.claims) != (reference.articles, reference.claims):
            problems.append(f"{where}: state differs from the reference ({len(r.articles)} articles, "
                            f"{r.claims} claims vs {len(reference.articles)}, {reference.claims})")
    print(f"\nkill test: {len(results)} kill points tried, {sum(r.killed for r in results.values())} killed, "
          f"{len(expected)} alerts x {len(HOOKS)} channels expected each, {lost} lost, "
          f"{duplicates} redelivered after an unrecorded acknowledgement")
    assert not problems, "\n".join(problems)
    assert lost == 0
