"""The shared corpora (feedparser's and trafilatura's own test files) through the monitor's parsers.

The files are read in place from ../shared/corpora (never copied into the project); see
shared/corpora/LICENSE-NOTES.md for where they come from. Every test skips, with the reason,
when the corpora are absent.
"""

from __future__ import annotations

import codecs
import dataclasses
import io
import json
import re
from pathlib import Path

import feedparser
import pytest

from monitor.errors import ExtractError, ParseError
from monitor.extract import extract_document
from monitor.fetch import decode_body
from monitor.model import Entry
from monitor.sources import parse_feed

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
FEEDS = CORPORA / "feedparser"
PAGES = CORPORA / "webpages"
FEED_URL = "http://127.0.0.1/feed"
MISSING = f"shared corpora not found at {CORPORA} (they live next to the repository, not in it)"

# Measured with trafilatura 2.3.1 on the 56 evaldata entries (whitespace squashed on both sides):
# 'with' 132/164 (80.5 %), 'without' 164/174 (94.3 %), all 296/338 (87.6 %); 4 pages raise
# ExtractError. The floors sit slightly below.
FLOOR_WITH = 0.78
FLOOR_WITHOUT = 0.92
FLOOR_ALL = 0.86

UNSAFE = re.compile(r"<script|javascript:|\son[a-z]+\s*=", re.I)


def _files(folder: Path, pattern: str = "*") -> list[Path]:
    return sorted(p for p in folder.rglob(pattern) if p.is_file()) if folder.is_dir() else []


def _params(folder: Path, pattern: str = "*"):
    files = _files(folder, pattern)
    if not files:
        return [pytest.param(None, id="corpus-missing", marks=pytest.mark.skip(reason=MISSING))]
    return [pytest.param(p, id=str(p.relative_to(folder))) for p in files]


# -- feeds --------------------------------------------------------------------------------------


def _comment_text(data: bytes) -> str:
    """The file as text, enough to read its leading comment: BOM, then XML's wide-encoding patterns."""
    for bom, enc in ((codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF32_LE, "utf-32-le"),
                     (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_BE, "utf-16-be"),
                     (codecs.BOM_UTF16_LE, "utf-16-le")):
        if data.startswith(bom):
            return data[len(bom):].decode(enc, "ignore")
    for head, enc in ((b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"),
                      (b"\x00<\x00?", "utf-16-be"), (b"<\x00?\x00", "utf-16-le")):
        if data.startswith(head):
            return data.decode(enc, "ignore")
    return data.decode("utf-8", "ignore")


@dataclasses.dataclass
class FeedCase:
    data: bytes
    headers: dict[str, str]  # lower-case names, as the fetcher hands them to parse_feed
    bozo: bool | None  # what the file's Expect: line says, when it says it


def feed_case(path: Path) -> FeedCase:
    data = path.read_bytes()
    text = _comment_text(data)
    headers = {k.strip().lower(): v.strip() for k, v in re.findall(r"^\s*Header:\s+([^:]+):(.*)$", text, re.M)}
    # Files with Header: lines are served over HTTP upstream (text/xml unless they say otherwise);
    # the others are plain files, which a well-behaved server sends as XML.
    default = "text/xml" if headers else ("application/feed+json" if path.suffix == ".json" else "application/xml")
    headers.setdefault("content-type", default)
    expect = re.search(r"Expect:\s*(.*?)\s*-->", text, re.S)
    bozo = None
    if expect:
        if re.match(r"not\s+bozo\b", expect.group(1)):
            bozo = False
        elif re.match(r"bozo\b", expect.group(1)):
            bozo = True
    return FeedCase(data, headers, bozo)


def feedparser_result(case: FeedCase):
    """feedparser on the same bytes with the headers parse_feed passes on."""
    response_headers = {k: v for k, v in case.headers.items() if k in ("content-type", "content-location", "etag")}
    response_headers.setdefault("content-location", FEED_URL)
    return feedparser.parse(io.BytesIO(case.data), response_headers=response_headers, sanitize_html=True,
                            resolve_relative_uris=True)


def assert_plain_entries(entries: list[Entry]) -> None:
    for e in entries:
        assert isinstance(e, Entry)
        for f in dataclasses.fields(e):
            value = getattr(e, f.name)
            assert not isinstance(value, bytes | bytearray), (f.name, value)
        assert isinstance(e.title, str) and isinstance(e.summary_html, str) and isinstance(e.key, str)
        assert e.key and e.url.startswith(("http://", "https://")) and e.source == "src"


@pytest.mark.parametrize("path", _params(FEEDS))
def test_feed_file(path):
    case = feed_case(path)
    result = feedparser_result(case)
    if case.bozo is not None and path.suffix != ".json":  # feedparser 6.0 has no JSON Feed: parse_feed reads it
        assert bool(result.bozo) is case.bozo, f"{path.name}: bozo={result.bozo} ({result.get('bozo_exception')!r})"
    try:
        entries = parse_feed(case.data, case.headers, "src", FEED_URL, 50)
    except ParseError as e:
        assert result.bozo and not result.entries, f"ParseError on a readable feed: {e}"
        assert e.code == "feed_invalid" and str(e)
        return
    # anything else than ParseError propagates and fails the test; an empty but recognisable feed
    # (a version or a title) is a quiet source, not a failing one
    recognised = bool(result.get("version") or result.feed.get("title")) or path.suffix == ".json"
    assert not (result.bozo and not result.entries and not recognised), "an unreadable feed must raise ParseError"
    assert len(entries) <= 50
    assert_plain_entries(entries)


def _inject_links(data: bytes) -> bytes:
    """Give the first entry/item a link (most sanitize cases have none, and parse_feed skips link-less
    entries), so the sanitizer's output actually reaches Entry.summary_html."""
    data = re.sub(rb"<entry>", b'<entry><link rel="alternate" href="http://127.0.0.1/e1"/>', data, count=1)
    return re.sub(rb"<item>", b"<item><link>http://127.0.0.1/e1</link>", data, count=1)


@pytest.mark.parametrize("path", _params(FEEDS / "wellformed" / "sanitize"))
def test_sanitized_feed_content_is_safe(path):
    case = feed_case(path)
    for data in (case.data, _inject_links(case.data)):
        try:
            entries = parse_feed(data, case.headers, "src", FEED_URL, 50)
        except ParseError:
            continue
        assert_plain_entries(entries)
        for e in entries:
            for value in (e.summary_html, e.title):
                bad = UNSAFE.search(value)
                assert bad is None, f"{bad.group(0)!r} survived in {value[:300]!r}"


def test_sanitize_cases_reach_summary_html():
    """The check above is not vacuous: with a link, almost every sanitize case yields an entry with content."""
    files = _files(FEEDS / "wellformed" / "sanitize")
    if not files:
        pytest.skip(MISSING)
    with_content = 0
    for path in files:
        case = feed_case(path)
        try:
            entries = parse_feed(_inject_links(case.data), case.headers, "src", FEED_URL, 50)
        except ParseError:
            continue
        with_content += any(e.summary_html.strip() for e in entries)
    assert with_content >= 0.9 * len(files), (with_content, len(files))


def test_bozo_expectations_are_read():
    """The Expect: lines are understood: the corpus states bozo for most files, both ways."""
    files = _files(FEEDS)
    if not files:
        pytest.skip(MISSING)
    stated = [feed_case(p).bozo for p in files]
    assert stated.count(True) >= 5 and stated.count(False) >= 300, (stated.count(True), stated.count(False))


@pytest.mark.parametrize("path", _params(PAGES / "resources", "feed*"))
def test_small_feeds_of_the_webpage_corpus(path):
    data = path.read_bytes()
    ctype = {".json": "application/feed+json", ".atom": "application/atom+xml"}.get(path.suffix, "application/rss+xml")
    entries = parse_feed(data, {"content-type": ctype}, "src", FEED_URL, 50)
    assert entries, "a small valid feed yields entries"
    assert_plain_entries(entries)


EMPTY_RSS = (b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Quiet desk</title>'
             b"<link>http://127.0.0.1/</link><description>nothing yet</description></channel></rss>")


def test_empty_feed_with_xml_type_is_no_error():
    assert parse_feed(EMPTY_RSS, {"content-type": "application/rss+xml"}, "src", FEED_URL, 50) == []


@pytest.mark.parametrize("headers", [{}, {"content-type": "text/html; charset=utf-8"}], ids=["no-type", "html"])
def test_empty_feed_with_lax_content_type_is_no_error(headers):
    assert parse_feed(EMPTY_RSS, headers, "src", FEED_URL, 50) == []


# -- web pages ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", _params(PAGES, "*.html"))
def test_page_extracts_or_raises_extract_error(path):
    url = "http://127.0.0.1/" + path.name
    try:
        doc = extract_document(decode_body(path.read_bytes(), "text/html"), url, "src")
    except ExtractError as e:
        assert e.code in ("no_article", "not_html", "extract_failed") and str(e)
        return
    assert isinstance(doc.text, str) and len(doc.text) >= 200 and isinstance(doc.title, str)
    assert doc.url == url and doc.source == "src"
    assert "\x00" not in doc.text


def _squash(s: str) -> str:
    return " ".join(s.split())


def test_webpage_snippet_pass_rate():
    index = PAGES / "evaldata-subset.json"
    if not index.is_file():
        pytest.skip(MISSING)
    entries = json.loads(index.read_text(encoding="utf-8"))
    with_ok = with_n = without_ok = without_n = failed = 0
    for url, item in entries.items():
        raw = (PAGES / item["file"]).read_bytes()
        try:
            text = _squash(extract_document(decode_body(raw, "text/html"), url, "src").text)
        except ExtractError:
            text, failed = "", failed + 1
        for snippet in item.get("with", []):
            with_n += 1
            with_ok += _squash(snippet) in text
        for snippet in item.get("without", []):
            without_n += 1
            without_ok += _squash(snippet) not in text
    rate_with, rate_without = with_ok / with_n, without_ok / without_n
    rate_all = (with_ok + without_ok) / (with_n + without_n)
    print(f"\nwebpage snippets: with {with_ok}/{with_n} ({rate_with:.1%}), without {without_ok}/{without_n} "
          f"({rate_without:.1%}), all {with_ok + without_ok}/{with_n + without_n} ({rate_all:.1%}); "
          f"{failed} of {len(entries)} pages raised ExtractError")
    assert len(entries) >= 50
    assert rate_with >= FLOOR_WITH, rate_with
    assert rate_without >= FLOOR_WITHOUT, rate_without
    assert rate_all >= FLOOR_ALL, rate_all
