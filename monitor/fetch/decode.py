"""Bytes to text for fetched pages and feeds, so trafilatura and feedparser never guess on raw bytes.

Order: BOM (or the XML spec's byte-pattern autodetection for UTF-16/32), then the body itself when it
is valid UTF-8 with non-ASCII bytes (a wrong declared charset is far more common than legacy text that
happens to be valid UTF-8), then the HTTP charset, then an XML declaration or <meta> in the first 2 KB,
then charset_normalizer, and finally UTF-8 with replacement characters. Never raises.
"""

from __future__ import annotations

import codecs
import re

_SNIFF_BYTES = 2048
_GUESS_SAMPLE = 200_000

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: FF FE 00 00 starts with FF FE
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# XML 1.0 Appendix F: "<?" in a wide encoding without a BOM.
_XML_WIDE = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
)
# WHATWG Encoding Standard: these labels mean windows-1252 (or a superset) on the web.
_SUPERSETS = {
    "iso-8859-1": "cp1252", "iso8859-1": "cp1252", "latin-1": "cp1252", "latin1": "cp1252", "l1": "cp1252",
    "us-ascii": "cp1252", "ascii": "cp1252", "cp819": "cp1252", "iso-ir-100": "cp1252",
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030",
    "euc-kr": "cp949", "ks_c_5601-1987": "cp949",
    "shift_jis": "cp932", "sjis": "cp932", "x-sjis": "cp932",
    "big5": "big5hkscs",
}
# Codecs a document must never select for itself (UTF-7 is an XSS vector; the rest are not charsets).
_REFUSED = {"utf-7", "unicode-escape", "raw-unicode-escape", "punycode", "idna"}
_WIDE = ("utf-16", "utf-32")

_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']\s*([A-Za-z0-9_.:\-]+)""", re.I)
_META = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.I)
_CT_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.I)


def _codec_name(label: str) -> str | None:
    """Python's canonical codec name for a charset label, or None if unknown or refused."""
    try:
        name = codecs.lookup(label.strip().strip("'\"")).name
    except (LookupError, ValueError):
        return None
    return None if name in _REFUSED else name


def _try(body: bytes, label: str) -> str | None:
    """Strict decode with the WHATWG superset of label first, then label itself."""
    label = label.strip().strip("'\"").lower()
    for candidate in (_SUPERSETS.get(label), label):
        name = _codec_name(candidate) if candidate else None
        if not name:
            continue
        try:
            return body.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
    return None


def _from_bom(body: bytes) -> str | None:
    for bom, name in _BOMS:
        if body.startswith(bom):
            return _try(body[len(bom):], name)
    for pattern, name in _XML_WIDE:
        if body.startswith(pattern):
            return _try(body, name)
    return None


def _valid_utf8(body: bytes) -> str | None:
    """UTF-8 when the body has non-ASCII bytes and all of them form valid UTF-8."""
    if body.isascii():
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _declared_in_document(head: bytes) -> str | None:
    """The charset an XML declaration or <meta> names in the first bytes of the document."""
    m = _XML_DECL.search(head) or _META.search(head)
    if not m:
        return None
    label = m.group(1).decode("ascii", "replace").lower()
    # A declaration readable as ASCII cannot be in UTF-16/32; WHATWG treats this as UTF-8.
    return "utf-8" if label.replace("_", "-").startswith(_WIDE) else label


def _guess(body: bytes) -> str | None:
    """charset_normalizer's best guesses, each tried strictly on the whole body."""
    from charset_normalizer import from_bytes

    for match in from_bytes(body[:_GUESS_SAMPLE]):
        text = _try(body, match.encoding)
        if text is not None:
            return text
    return None


def _charset_param(content_type: str) -> str | None:
    m = _CT_CHARSET.search(content_type or "")
    return m.group(1) if m else None


def decode_body(body: bytes, content_type: str = "") -> str:
    """Decode a fetched body to text; the last resort is UTF-8 with U+FFFD, never an exception."""
    if not body:
        return ""
    try:
        text = _from_bom(body)
        if text is None:
            text = _valid_utf8(body)
        if text is not None:
            return text
        for label in (_charset_param(content_type), _declared_in_document(body[:_SNIFF_BYTES])):
            text = _try(body, label) if label else None
            if text is not None:
                return text
        if body.isascii():
            return body.decode("ascii")
        text = _guess(body)
        if text is not None:
            return text
    except Exception:  # a decoder must never take the pipeline down
        pass
    return body.decode("utf-8", errors="replace")
