"""decode_body: BOM, header, declarations, guessing, and never an exception.

The feedparser encoding corpus stays in ../shared (third-party, BSD-2-Clause); it is read in place.
"""

from __future__ import annotations

import codecs
import random
import re
from pathlib import Path

import pytest

from monitor.fetch.decode import decode_body
from tests.faultserver import LATIN1_PAGE, LATIN1_WORDS

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "feedparser" / "encoding"
_HEADER = re.compile(r"Header:\s*Content-type:\s*(.*)", re.I)
_EXPECT_ENCODING = re.compile(r"Expect:.*encoding == '([^']+)'")


def _corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        pytest.skip(f"feedparser encoding corpus not found at {CORPUS} (shared corpora not checked out)")
    files = sorted(CORPUS.glob("*.xml"))
    assert files, f"{CORPUS} exists but holds no .xml files"
    return files


def _description(body: bytes) -> tuple[str, str | None]:
    """(Content-Type header, expected encoding) from the fixture's own comment, in any of its encodings."""
    for enc in ("utf-8", "utf-16", "utf-16-be", "utf-32", "utf-32-be", "latin-1"):
        try:
            text = body.decode(enc)
        except UnicodeDecodeError:
            continue
        if "Description:" in text or "Expect:" in text:
            header, expect = _HEADER.search(text), _EXPECT_ENCODING.search(text)
            return (header.group(1).strip() if header else ""), (expect.group(1) if expect else None)
    return "", None


def test_corpus_never_raises_and_never_needs_replacement_characters():
    files = _corpus_files()
    for path in files:
        body = path.read_bytes()
        text = decode_body(body, _description(body)[0])
        assert isinstance(text, str), path.name
        assert "\ufffd" not in text, path.name
    assert len(files) >= 80


def test_corpus_matches_feedparsers_expected_encoding():
    """Where feedparser's fixture names the right encoding, we decode to the same text."""
    checked = 0
    for path in _corpus_files():
        body = path.read_bytes()
        content_type, expected = _description(body)
        if expected is None:
            continue
        reference = body.decode(expected).lstrip("\ufeff")
        assert decode_body(body, content_type) == reference, path.name
        checked += 1
    assert checked >= 60  # most of the corpus carries an explicit expectation


@pytest.mark.parametrize("name, needle", [
    ("http_text_xml_charset_2.xml", "This is a \xa3\u201ctest.\u201d"),  # windows-1252 from the header
    ("euc-kr.xml", "\ub144"),  # from the XML declaration
    ("big5.xml", "<rss>"),
    ("utf-16le-autodetect.xml", "<rss"),  # UTF-16 without BOM: XML appendix F byte patterns
    ("utf-32be.xml", "<rss"),
    ("euc-kr-item.xml", "\ub144"),
])
def test_corpus_specific_cases(name, needle):
    files = {p.name: p for p in _corpus_files()}
    body = files[name].read_bytes()
    assert needle in decode_body(body, _description(body)[0])


def test_empty_body():
    assert decode_body(b"") == ""


def test_http_charset_is_used():
    assert decode_body("Größe".encode("cp1252"), "text/html; charset=windows-1252") == "Größe"


def test_quoted_and_spaced_charset_parameter():
    assert decode_body("Größe".encode("cp1252"), "text/xml;charset = 'iso-8859-1'") == "Größe"


def test_iso_8859_1_label_means_windows_1252():
    """WHATWG: curly quotes in a page labelled latin-1 are cp1252, not C1 control characters."""
    body = "\u201cquoted\u201d".encode("cp1252")
    assert decode_body(body, "text/html; charset=ISO-8859-1") == "\u201cquoted\u201d"


def test_bom_beats_a_wrong_header():
    body = codecs.BOM_UTF8 + "café".encode()
    assert decode_body(body, "text/html; charset=iso-8859-1") == "café"


def test_utf16_bom():
    body = codecs.BOM_UTF16_LE + "<p>Zürich</p>".encode("utf-16-le")
    assert decode_body(body) == "<p>Zürich</p>"


def test_valid_utf8_beats_a_wrong_legacy_label():
    """The common failure on the web: UTF-8 served as latin-1 would become 'cafÃ©'."""
    assert decode_body("café".encode(), "text/html; charset=iso-8859-1") == "café"


def test_meta_charset():
    body = b'<html><head><meta charset="koi8-r"></head><body>' + "Луна".encode("koi8-r") + b"</body></html>"
    assert "Луна" in decode_body(body, "text/html")


def test_meta_http_equiv():
    body = (b'<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
            b"</head><body>" + "Луна".encode("cp1251") + b"</body></html>")
    assert "Луна" in decode_body(body, "text/html")


def test_meta_after_the_first_2kb_is_not_trusted_but_text_is_still_decoded():
    body = b"<html><head>" + b" " * 3000 + b'<meta charset="koi8-r">' + "Луна".encode("koi8-r")
    text = decode_body(body, "text/html")
    assert isinstance(text, str) and "\ufffd" not in text


def test_xml_declaration():
    body = b'<?xml version="1.0" encoding="iso-8859-7"?><rss>' + "Σελήνη".encode("iso-8859-7") + b"</rss>"
    assert "Σελήνη" in decode_body(body, "application/rss+xml")


def test_latin1_without_any_declaration():
    text = decode_body(LATIN1_PAGE, "text/html")
    for word in LATIN1_WORDS:
        assert word in text


def test_utf7_declaration_is_refused():
    """UTF-7 would turn '+ADw-script+AD4-' into '<script>': a document may not select it."""
    body = b'<html><head><meta charset="utf-7"></head><body>+ADw-script+AD4-</body></html>'
    assert "<script>" not in decode_body(body, "text/html; charset=utf-7")


def test_unknown_labels_fall_through():
    assert decode_body("naïve".encode(), "text/html; charset=x-no-such-charset") == "naïve"


def test_binary_garbage_never_raises():
    body = random.Random(7).randbytes(20000)
    text = decode_body(body, "text/html; charset=utf-8")
    assert isinstance(text, str) and text


def test_non_text_codec_names_are_not_used():
    """Python's 'zlib' and 'base64' codecs are bytes-to-bytes; a page cannot make us run them."""
    body = b'<?xml version="1.0" encoding="zlib_codec"?><rss>plain</rss>'
    assert decode_body(body, "text/xml; charset=base64") == body.decode()
