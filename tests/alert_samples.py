"""For the alert tests: payloads shaped like the outbox builds them (CONTRACT v1 + extensions),
and a real HTTP receiver on 127.0.0.1 that records requests and answers as told.
"""

from __future__ import annotations

import copy
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ILRS = "ILRS (Russia–China International Lunar Research Station)"
GATEWAY = "Lunar Gateway (NASA-led station in lunar orbit)"


def contradiction() -> dict[str, Any]:
    return copy.deepcopy({
        "version": 1, "id": "a-3f2c9d0e1b", "type": "contradiction", "created_at": "2026-11-23T10:00:00Z",
        "topics": ["ilrs"], "topic_labels": [ILRS],
        "article": {"url": "https://spacenews.example/2021/06/glex-2021-moscow",
                    "title": "GLEX 2021 to convene in Moscow as Russia and China detail ILRS roadmap",
                    "published": "2021-06-16T00:00:00Z", "source": "spacenews",
                    "also_at": ["https://mirror.example/glex-moscow", "https://syndicate.example/a/123"]},
        "findings": [{
            "type": "contradiction", "claim": "GLEX 2021 will be held in Moscow",
            "evidence": "The Global Space Exploration Conference (GLEX 2021) will be held in Moscow, "
                        "where Roscosmos and CNSA presented the ILRS roadmap to partner agencies.",
            "reason": "Same event and year as a known fact, different city (Moscow vs St. Petersburg).",
            "conflicts_with": [{"claim": "GLEX 2021 was held in St. Petersburg, Russia",
                                "source": "seeds/ilrs-timeline.md", "published": "2021-06-14T00:00:00Z"}],
        }],
        "summary": "GLEX 2021 venue reported as Moscow; known fact says St. Petersburg",
    })


def new_development() -> dict[str, Any]:
    return copy.deepcopy({
        "version": 1, "id": "a-77b1e2c3d4", "type": "new_development", "created_at": "2026-11-23T10:05:00Z",
        "topics": ["ilrs"], "topic_labels": [ILRS],
        "article": {"url": "https://news.example/2023/south-africa-joins-ilrs",
                    "title": "South Africa signs on to the International Lunar Research Station",
                    "published": "2023-07-20T09:30:00Z", "source": "spacenews", "also_at": []},
        "findings": [{
            "type": "new_development", "claim": "South Africa joins the ILRS",
            "evidence": "South Africa's national space agency signed a memorandum with the CNSA on Thursday, "
                        "becoming the latest country to join the International Lunar Research Station.",
            "reason": "No known fact names South Africa as an ILRS partner.",
        }],
        "summary": "South Africa joins the ILRS as a partner country",
    })


def update() -> dict[str, Any]:
    return copy.deepcopy({
        "version": 1, "id": "a-9a8b7c6d5e", "type": "new_development", "created_at": "2026-11-22T08:00:00Z",
        "topics": ["gateway"], "topic_labels": [GATEWAY],
        "article": {"url": "https://nasa.example/halo-ppe-launch-2027",
                    "title": "HALO and PPE launch moves to 2027",
                    "published": "2024-03-01T00:00:00Z", "source": "nasa-blogs", "also_at": []},
        "findings": [{
            "type": "new_development", "claim": "PPE and HALO will launch together in 2027",
            "evidence": "NASA now targets 2027 for the co-manifested launch of PPE and HALO "
                        "on a Falcon Heavy.",
            "reason": "A planned date moved.",
            "previously": {"claim": "PPE and HALO will launch in November 2025",
                           "source": "https://www.nasa.gov/gateway/", "published": "2023-02-01T00:00:00Z"},
        }],
        "summary": "Gateway's first modules now slated for 2027",
    })


def source_failing() -> dict[str, Any]:
    return copy.deepcopy({
        "version": 1, "id": "s-spacenews-0001", "type": "source_failing",
        "created_at": "2026-11-21T07:00:00Z",
        "topics": [], "topic_labels": [], "findings": [],
        "summary": "spacenews has failed 10 times in a row",
        "source_status": {"name": "spacenews", "url": "https://spacenews.example/feed/",
                          "error_code": "http_503",
                          "error_message": "Service Unavailable", "consecutive_failures": 10,
                          "failing_since": "2026-11-20T07:00:00Z"},
    })


XSS = '<script>alert(1)</script>'
IMG = '"><img src=x onerror=alert(1)>'


def hostile() -> dict[str, Any]:
    """Every feed-derived field carries markup, script URLs, event handlers or header breaks."""
    p = contradiction()
    p["summary"] = f"Breaking{XSS}\r\nBcc: victim@example.org"
    p["topic_labels"] = [f"ILRS{IMG}"]
    p["article"].update({"url": "javascript:alert(document.cookie)", "title": f"Title {XSS}{IMG}",
                         "source": f"src{IMG}", "also_at": [" javascript:alert(2)", "data:text/html,<b>x</b>",
                                                             'https://ok.example/"onmouseover="alert(3)']})
    f = p["findings"][0]
    f.update({"claim": f"Claim {XSS}\nSubject: injected", "evidence": f"Evidence {IMG} {XSS}",
              "reason": f"<iframe src=//evil.example></iframe>{IMG}"})
    f["conflicts_with"][0].update({"claim": f"Known {XSS}", "source": "javascript:alert(4)",
                                   "published": f"{IMG}"})
    return p


class Receiver:
    """A ThreadingHTTPServer on 127.0.0.1 that records each POST and replies with `status`/`headers`."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.headers: dict[str, str] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers.items()),
                                          "body": body})
                self.send_response(receiver.status)
                for k, v in receiver.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
