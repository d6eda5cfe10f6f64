"""JSON Feed (read by our own parser, feedparser 6.0 has none): good, broken and hostile input."""

from __future__ import annotations

import json

import pytest

from monitor.errors import ParseError
from monitor.sources import parse_feed

URL = "http://127.0.0.1/feed.json"


def feed(items: list) -> bytes:
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": items}).encode()


def test_items_become_entries_oldest_first():
    body = feed([
        {"id": "2", "url": "/b", "title": "B", "content_html": "<p>b</p>", "date_published": "2024-05-02T00:00:00Z"},
        {"id": "1", "url": "https://x.test/a", "title": "A", "content_text": "a <b>", "date_published": "2024-05-01"},
    ])
    entries = parse_feed(body, {"content-type": "application/feed+json"}, "src", URL, 10)
    assert [e.key for e in entries] == ["1", "2"]
    assert entries[1].url == "http://127.0.0.1/b"  # relative links resolve against the feed
    assert entries[0].summary_html == "a &lt;b&gt;"  # plain text is escaped, never taken as HTML
    assert entries[0].published.tzinfo is not None


@pytest.mark.parametrize("body", [
    b"{not json", b'{"version": "1", "items": []}', b"[1, 2]", b"{\xff\xfe}", b'{"items": "nope"}',
])
def test_broken_json_is_a_typed_error(body):
    with pytest.raises(ParseError) as e:
        parse_feed(body, {}, "src", URL, 10)
    assert e.value.code == "feed_invalid"


def test_bad_items_are_skipped_not_fatal():
    body = feed(["x", {"id": "1"}, {"url": "javascript:alert(1)"}, {"id": "2", "url": "https://x.test/ok",
                                                                    "date_published": "not a date",
                                                                    "content_html": "<!-- <script> --><p>ok</p>"}])
    entries = parse_feed(body, {}, "src", URL, 10)
    assert [e.url for e in entries] == ["https://x.test/ok"]
    assert entries[0].published is None and "<script" not in entries[0].summary_html
