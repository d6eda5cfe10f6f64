"""Issue #4, reliability: hostile servers, a failing receiver, failing sources, two monitors at once,
SIGTERM, secrets, and article pages that fail. Real servers on 127.0.0.1/127.0.0.2 and the real CLI.

127.0.0.2 plays "the internet": the SSRF guard treats it as the configured source's own host, and a
redirect from there to 127.0.0.1 or 169.254.169.254 must be refused (a twin server on 127.0.0.1 at
the same port proves that no connection was made).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alert_samples import Receiver
from tests.faultserver import FaultServer, public_pair
from tests.reliability_kit import (
    THAILAND,
    Article,
    Setup,
    Site,
    Source,
    clean_env,
    integrity,
    monitor,
    posted,
    query,
    status,
)

FAST = {"MONITOR_FETCH__TOTAL_TIMEOUT_S": "3", "MONITOR_FETCH__CONNECT_TIMEOUT_S": "2",
        "MONITOR_FETCH__READ_TIMEOUT_S": "2"}
CYCLE_BOUND_S = 90  # generous: the slowest endpoint (one byte a second) is cut at 3 s

# Configured sources on the fault server: (name, kind, path, expected error code; None = no error).
FAULT_SOURCES = [
    ("f-500", "feed", "/500", "http_500"),
    ("f-503", "feed", "/503", "http_503"),
    ("f-429", "feed", "/429", "http_429"),
    ("f-404", "feed", "/404", "http_404"),
    ("f-410", "feed", "/410", "http_410"),
    ("f-reset", "feed", "/reset", "connection"),
    ("f-drip", "feed", "/drip", "timeout"),
    ("f-huge", "feed", "/huge", "too_large"),
    ("f-huge-declared", "feed", "/huge?length=1", "too_large"),
    ("f-gzip-bomb", "feed", "/gzip-bomb", "too_large"),
    ("f-loop", "feed", "/loop", "redirect_loop"),
    ("f-chain", "feed", "/chain/9", "too_many_redirects"),
    ("f-redirect-loopback", "feed", "/redirect-loopback", "ssrf_blocked"),
    ("f-redirect-metadata", "feed", "/redirect-metadata", "ssrf_blocked"),
    ("f-binary", "feed", "/binary", "feed_invalid"),
    ("p-binary", "page", "/binary", "not_html"),
    ("f-empty", "feed", "/empty", "empty_body"),
    ("p-empty", "page", "/empty", "empty_body"),
    ("p-no-article", "page", "/no-article", "no_article"),
    ("p-latin1", "page", "/latin1", "no_article"),  # decoded, but under the extractor's 200 characters
]
# Links inside the good feed, on the fault server (same host as the feed): (path, code, outcome).
FAULT_LINKS = [
    ("/500", "http_500", "retrying"),
    ("/503", "http_503", "retrying"),
    ("/429", "http_429", "retrying"),
    ("/404", "http_404", "gave_up"),
    ("/410", "http_410", "gave_up"),
    ("/reset", "connection", "retrying"),
    ("/drip", "timeout", "retrying"),
    ("/huge", "too_large", "retrying"),
    ("/gzip-bomb", "too_large", "retrying"),
    ("/loop", "redirect_loop", "retrying"),
    ("/empty", "empty_body", "retrying"),
    ("/redirect-loopback", "ssrf_blocked", "gave_up"),
    ("/redirect-metadata", "ssrf_blocked", "gave_up"),
]
# Links whose page is useless but whose feed entry has text: the feed's text is used instead.
FALLBACK_LINKS = [
    ("/binary", "not_html", "Officials of Roscosmos and the China National Space Administration met in Harbin "
                            "to review the ILRS roadmap and the schedule of the Chang'e-8 lander."),
    ("/no-article", "no_article", "The Lunar Gateway's HALO module arrived at Northrop Grumman's plant in "
                                  "Gilbert, Arizona, for the installation of its secondary structures."),
]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture
def faults() -> Iterator[FaultServer]:
    with public_pair() as server:
        yield server


# Served as Latin-1 with no charset anywhere (header, BOM or <meta>): detection must get it right.
LATIN1 = Article("quebec-canadarm-operations", "Canadarm3 to be flown from Saint-Hubert, Québec, says l'Agence "
                 "spatiale canadienne", "2024-12-02T10:00:00Z", [
    "SAINT-HUBERT, Québec - Controllers at the John H. Chapman Space Centre will fly Canadarm3 on the Lunar "
    "Gateway when no crew is aboard, the Canadian Space Agency (l'Agence spatiale canadienne) said on Monday.",
    "The agency said the control room, which already supports the Canadarm2 on the International Space "
    "Station, will be extended for lunar operations, with a team of about forty engineers.",
], charset="latin-1")


def link_article(server: FaultServer, path: str, description: str = "") -> Article:
    slug = "link" + path.replace("/", "-").replace("?", "-").replace("=", "-")
    return Article(slug, f"Link to {path}", "2024-01-02T00:00:00Z", [], description=description,
                   link=server.url(path))


def test_one_cycle_over_every_fault(tmp_path: Path, faults: FaultServer, receiver: Receiver) -> None:
    twin = faults.loopback_twin
    assert twin is not None
    articles = [THAILAND, LATIN1] + [link_article(faults, p) for p, _, _ in FAULT_LINKS]
    articles += [link_article(faults, p, text) for p, _, text in FALLBACK_LINKS]
    # A link straight to a private address on another host than the feed's: refused, never connected.
    articles.append(Article("link-private", "Private", "2024-01-03T00:00:00Z", [],
                            link=twin.url("/ok-feed")))
    with Site("127.0.0.2", articles) as site:
        sources = [Source(n, faults.url(p), kind) for n, kind, p, _ in FAULT_SOURCES]
        sources.append(Source("orbit-ledger", site.url("/feed.xml")))
        setup = Setup(tmp_path, sources, webhooks=[(receiver.url(), "")])
        setup.write()
        start = time.monotonic()
        res = monitor(setup.config, "run", "--once", env=clean_env(**FAST))
        elapsed = time.monotonic() - start

    assert res.returncode == 0, res.stderr[-3000:]
    assert elapsed < CYCLE_BOUND_S, f"the cycle took {elapsed:.0f} s"
    alerts = posted(receiver)
    thai = [a for a in alerts if a.get("article", {}).get("url") == site.article_url(THAILAND)]
    assert len(thai) == 1 and thai[0]["type"] == "new_development", alerts
    failing = [a for a in alerts if a["type"] == "source_failing"]
    assert [a["source_status"]["name"] for a in failing] == ["f-410"]

    report = status(setup.config)
    by_name = {s["name"]: s for s in report["sources"]}
    for name, _, _, code in FAULT_SOURCES:
        assert by_name[name]["last_error"] == code, (name, by_name[name])
        assert by_name[name]["state"] == ("ok" if code is None else
                                          "failing" if code == "http_410" else "error"), by_name[name]
    assert by_name["orbit-ledger"]["state"] == "ok"
    assert twin.connections == 0, "a refused redirect reached 127.0.0.1"

    by_url = {f["url"]: f for f in report["link_failures"]}
    for path, code, outcome in FAULT_LINKS:
        f = by_url[faults.url(path)]
        assert (f["code"], f["outcome"]) == (code, outcome), f
    assert by_url[twin.url("/ok-feed")]["code"] == "ssrf_blocked"
    for path, code, _ in FALLBACK_LINKS:
        assert (by_url[faults.url(path)]["code"], by_url[faults.url(path)]["outcome"]) == (code, "feed_text")
        assert query(setup.db, "SELECT COUNT(*) FROM articles WHERE url = ?", faults.url(path)) == [(1,)]
    latin = query(setup.db, "SELECT title FROM articles WHERE url = ?", site.article_url(LATIN1))
    assert latin == [(LATIN1.title,)], (latin, [ln for ln in res.stderr.splitlines() if "quebec" in ln])
    assert integrity(setup.db) == "ok"
