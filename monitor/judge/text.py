"""Language plumbing for the engine: normalisation, sentences, tokens and stems (pure, no I/O)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from monitor.judge.lexicon import ABBREVIATIONS, STOPWORDS

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201b": "'", "\u2032": "'", "\u201c": '"',
                         "\u201d": '"', "\u201e": '"', "\u2013": "-", "\u2014": " - ", "\u2212": "-",
                         "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u2010": "-", "\u2011": "-"})

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'\-]*[A-Za-z0-9]|[A-Za-z]|\d[\d,.]*\d|\d")
_SENT_END = re.compile(r"""([.!?]["')\]]*)\s+(?=["'(\[]?[A-Z0-9])""")
_DATELINE = re.compile(
    r"^(?P<place>[A-Z][A-Z.'\-]{2,}(?:\s+[A-Z][A-Z.'\-]+){0,3})"  # MOSCOW / CAPE CANAVERAL
    r"(?P<rest>[^-\n]{0,40}?)"  # , Fla., Feb 10 (SCBW)
    r"\s+-\s+(?=[A-Z\"'])"
)


_TYPOGRAPHY = re.compile("[" + "".join(re.escape(chr(c)) for c in _QUOTES) + "]")
_SPELLING = {chr(c): r for c, r in _QUOTES.items()}
_BLANKS = re.compile(r"[ \t]{2,}|\t")  # what r"[ \t]+" -> " " changes: runs, and lone tabs


def normalize(text: str) -> str:
    """One spelling for quotes, dashes and spaces so that matching is not fooled by typography."""
    if not text.isascii():  # NFKC leaves ASCII alone, and every character in _QUOTES is beyond it
        # a substitution per typographic character: str.translate with string values costs ~100 ns a character
        text = _TYPOGRAPHY.sub(lambda m: _SPELLING[m.group()], unicodedata.normalize("NFKC", text))
    return _BLANKS.sub(" ", text) if "\t" in text or "  " in text else text


_INITIAL = re.compile(r"[A-Z]")
_INITIALS = re.compile(r"(?:[A-Z]\.)+[A-Z]?")


def split_sentences(paragraph: str) -> list[str]:
    """Split at sentence ends, but not after abbreviations, initials or inside numbers."""
    parts: list[str] = []
    start = 0
    for m in _SENT_END.finditer(paragraph):
        split = paragraph[start:m.start(1) + 1].rsplit(None, 1)
        last = split[-1] if split else ""
        token = last.rstrip(".").lstrip("(\"'")
        if token.lower() in ABBREVIATIONS or _INITIAL.fullmatch(token) or _INITIALS.fullmatch(last):
            continue
        parts.append(paragraph[start:m.end(1)].strip())
        start = m.end()
    tail = paragraph[start:].strip()
    if tail:
        parts.append(tail)
    return parts


def strip_dateline(sentence: str) -> tuple[str, str]:
    """'MOSCOW, April 5 - Russia will ...' -> ('Russia will ...', 'MOSCOW'): a dateline is not a claim."""
    m = _DATELINE.match(sentence)
    if not m or not re.fullmatch(r"(?:,[^,]{1,25}){0,3}\s*(?:\([^)]{1,30}\))?\s*", m.group("rest")):
        return sentence, ""
    return sentence[m.end():], m.group("place")


def words(text: str) -> list[str]:
    return _WORD.findall(text)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light English stemmer: enough to match 'launches'/'launched'/'launching' and 'centre'/'center'."""
    w = word.lower().replace("'", "")
    if len(w) <= 3 or w[0].isdigit():
        return w
    w = re.sub(r"tre$", "ter", w)  # centre -> center
    w = re.sub(r"ise(d|s)?$", r"ize\1", w) if len(w) > 5 else w  # organised -> organized
    w = re.sub(r"our$", "or", w) if len(w) > 5 else w  # programme/labour spellings
    w = re.sub(r"amme$", "am", w)
    for suf, rep in (("ies", "y"), ("ied", "y"), ("ing", ""), ("edly", ""), ("ed", ""), ("es", "e"),
                     ("ly", ""), ("s", "")):
        if w.endswith(suf) and len(w) - len(suf) >= 3 and not w.endswith("ss"):
            w = w[: len(w) - len(suf)] + rep
            break
    return w.rstrip("e") if len(w) > 4 else w


def content_terms(text: str) -> set[str]:
    """Stems of content words: what two wordings of one fact share."""
    return {stem(w) for w in words(text) if w.lower() not in STOPWORDS and not w[0].isdigit() and len(w) > 1}
