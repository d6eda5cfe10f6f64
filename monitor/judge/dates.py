"""Dates in news prose, with granularity, resolved against the article's publication date.

Regular expressions first (they keep granularity: 'no earlier than May 2024' is a month with a
'net' qualifier, 'next year' is a year); no library guesses a day where the text gave a year.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from monitor.judge.lexicon import MONTHS, WEEKDAYS
from monitor.model import DateValue

_M = r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_Y = r"(?P<year>(?:19|20)\d\d)"
_Q = r"(?P<qual>no earlier than|not before|no later than|not later than|by|before|after|since|until|around|about|circa|approximately|in|on|from|of)?\s*"
_PART = r"(?P<part>early|mid|late|the end of|end of|the beginning of|beginning of|the middle of|middle of)?[\s-]*"

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(r"\b(?P<year>(?:19|20)\d\d)-(?P<m>[01]\d)-(?P<d>[0-3]\d)\b")),
    ("mdy", re.compile(_Q + _M + r"\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)?,?\s+" + _Y + r"\b", re.I)),
    ("dmy", re.compile(_Q + r"\b(?P<d>[0-3]?\d)(?:st|nd|rd|th)?\s+(?:of\s+)?" + _M + r",?\s+" + _Y + r"\b", re.I)),
    ("quarter", re.compile(_Q + r"\b(?:Q(?P<q>[1-4])|(?P<qw>first|second|third|fourth)\s+quarter\s+of)\s+" + _Y, re.I)),
    ("half", re.compile(_Q + r"\b(?:the\s+)?(?P<h>first|second)\s+half\s+of\s+" + _Y, re.I)),
    ("season", re.compile(_Q + r"\b(?:the\s+)?(?P<s>spring|summer|autumn|fall|winter)\s+(?:of\s+)?" + _Y, re.I)),
    ("my", re.compile(_Q + _PART + _M + r",?\s+(?:of\s+)?" + _Y + r"\b", re.I)),
    ("md", re.compile(_Q + _M + r"\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)?\b(?![,.]?\s*(?:19|20)\d\d)(?!\s*(?:%|percent|million|billion))", re.I)),
    ("dm", re.compile(_Q + r"\b(?P<d>[0-3]?\d)(?:st|nd|rd|th)?\s+(?:of\s+)?" + _M + r"\b(?!,?\s+(?:19|20)\d\d)", re.I)),
    ("yrange", re.compile(r"\b(?P<y1>(?:19|20)\d\d)\s*(?:-|to|through)\s*(?P<y2>(?:19|20)\d\d)\b")),
    ("decade", re.compile(r"\b(?:the\s+)?(?P<dec>(?:19|20)\d0)s\b")),
    ("py", re.compile(_Q + _PART + _Y + r"\b(?![\d,.]*\s*(?:%|percent|kilograms|km|tonnes|people|countries))", re.I)),
    ("mon", re.compile(_Q + _PART + r"\b(?P<mon>january|february|march|april|june|july|august|september|october|november|december)\b", re.I)),
    ("rel", re.compile(r"\b(?P<rel>(?:next|last|this|coming|previous|past)\s+(?:year|month|week)|(?:later|earlier)\s+this\s+(?:year|month)|this\s+(?:spring|summer|autumn|fall|winter)|yesterday|today|tomorrow|within\s+the\s+month)\b", re.I)),
    ("wd", re.compile(r"\b(?P<qual>on|last|next|this|since|by)?\s*(?P<wd>monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.I)),
]
_QUAL = {"no earlier than": "net", "not before": "net", "after": "net", "since": "net", "no later than": "by",
         "not later than": "by", "by": "by", "before": "by", "until": "by", "around": "around",
         "about": "around", "circa": "around", "approximately": "around"}
_SEASON = {"spring": (3, 5), "summer": (6, 8), "autumn": (9, 11), "fall": (9, 11), "winter": (12, 14)}
_ORD = {"first": 1, "second": 2, "third": 3, "fourth": 4}


def _month(s: str) -> int:
    return MONTHS[s.lower().rstrip(".")[:3] if s.lower().rstrip(".") not in MONTHS else s.lower().rstrip(".")]


def _month_span(y: int, m: int) -> tuple[date, date]:
    m0 = (m - 1) % 12 + 1
    y0 = y + (m - 1) // 12
    return date(y0, m0, 1), date(y0, m0, calendar.monthrange(y0, m0)[1])


def _nearest_year(ref: date | None, month: int, day: int = 1) -> int | None:
    """A year-less date belongs to the year that puts it nearest the publication date."""
    if ref is None:
        return None
    best = min((ref.year - 1, ref.year, ref.year + 1),
               key=lambda y: abs((date(y, month, min(day, calendar.monthrange(y, month)[1])) - ref).days))
    return best


def _part(span: tuple[date, date], part: str | None) -> tuple[date, date, str]:
    """'early/mid/late' narrow a month or year to a third of it."""
    start, end = span
    if not part:
        return start, end, ""
    third = (end - start).days // 3
    p = part.lower()
    if p.startswith(("early", "the beginning", "beginning")):
        return start, start + timedelta(days=third), "part"
    if p.startswith(("mid", "the middle", "middle")):
        return start + timedelta(days=third), end - timedelta(days=third), "part"
    return end - timedelta(days=third), end, "part"


def _value(kind: str, m: re.Match[str], ref: date | None) -> DateValue | None:
    g = m.groupdict()
    qual = _QUAL.get((g.get("qual") or "").lower(), "")
    text = m.group(0).strip()
    try:
        return _BUILDERS[kind](g, ref, qual, text)
    except (ValueError, KeyError, TypeError):
        return None


def _b_full(g, ref, qual, text):
    mon = int(g["m"]) if g.get("m") else _month(g["mon"])
    d = date(int(g["year"]), mon, int(g["d"]))
    return DateValue(d, d, "day", qual, text)


def _b_my(g, ref, qual, text):
    s, e, p = _part(_month_span(int(g["year"]), _month(g["mon"])), g.get("part"))
    return DateValue(s, e, "month", qual or ("around" if p else ""), text)


def _b_md(g, ref, qual, text):
    mon, day = _month(g["mon"]), int(g["d"])
    if not 1 <= day <= 31:
        return None
    y = _nearest_year(ref, mon, day)
    if y is None:
        return DateValue(date(1, mon, min(day, 28)), date(1, mon, min(day, 28)), "monthday", qual, text)
    d = date(y, mon, min(day, calendar.monthrange(y, mon)[1]))
    return DateValue(d, d, "day", qual, text)


def _b_mon(g, ref, qual, text):
    mon = _month(g["mon"])
    y = _nearest_year(ref, mon, 15)
    if y is None:
        return None
    s, e, p = _part(_month_span(y, mon), g.get("part"))
    return DateValue(s, e, "month", qual or ("around" if p else ""), text, relative=True)


def _b_quarter(g, ref, qual, text):
    q = int(g["q"]) if g.get("q") else _ORD[g["qw"].lower()]
    y = int(g["year"])
    return DateValue(_month_span(y, 3 * q - 2)[0], _month_span(y, 3 * q)[1], "quarter", qual, text)


def _b_half(g, ref, qual, text):
    y, h = int(g["year"]), 1 if g["h"].lower() == "first" else 2
    return DateValue(_month_span(y, 6 * h - 5)[0], _month_span(y, 6 * h)[1], "half", qual, text)


def _b_season(g, ref, qual, text):
    a, b = _SEASON[g["s"].lower()]
    y = int(g["year"])
    return DateValue(_month_span(y, a)[0], _month_span(y, b)[1], "season", qual, text)


def _b_year(g, ref, qual, text):
    y = int(g["year"])
    s, e, p = _part((date(y, 1, 1), date(y, 12, 31)), g.get("part"))
    return DateValue(s, e, "year", qual or ("around" if p else ""), text)


def _b_yrange(g, ref, qual, text):
    y1, y2 = int(g["y1"]), int(g["y2"])
    if y2 < y1:
        return None
    return DateValue(date(y1, 1, 1), date(y2, 12, 31), "year", "", text)


def _b_decade(g, ref, qual, text):
    y = int(g["dec"])
    return DateValue(date(y, 1, 1), date(y + 9, 12, 31), "decade", "", text)


def _b_rel(g, ref, qual, text):
    if ref is None:
        return None
    r = g["rel"].lower()
    shift = 1 if r.startswith(("next", "coming")) else -1 if r.startswith(("last", "previous", "past")) else 0
    if r in ("yesterday", "today", "tomorrow"):
        d = ref + timedelta(days={"yesterday": -1, "today": 0, "tomorrow": 1}[r])
        return DateValue(d, d, "day", "", text, relative=True)
    if r.endswith("year"):
        y = ref.year + shift
        return DateValue(date(y, 1, 1), date(y, 12, 31), "year", "", text, relative=True)
    if r.endswith("month"):
        s, e = _month_span(ref.year, ref.month + shift)
        return DateValue(s, e, "month", "", text, relative=True)
    if r.endswith("week"):
        s = ref - timedelta(days=ref.weekday()) + timedelta(weeks=shift)
        return DateValue(s, s + timedelta(days=6), "week", "", text, relative=True)
    season = r.split()[-1]
    a, b = _SEASON[season]
    return DateValue(_month_span(ref.year, a)[0], _month_span(ref.year, b)[1], "season", "", text, relative=True)


def _b_weekday(g, ref, qual, text):
    if ref is None:
        return None
    wd = WEEKDAYS[g["wd"].lower()]
    q = (g.get("qual") or "").lower()
    if q == "next":
        delta = (wd - ref.weekday()) % 7 or 7
    else:  # news reports a weekday as the most recent one, the publication day included
        delta = -((ref.weekday() - wd) % 7)
    d = ref + timedelta(days=delta)
    return DateValue(d, d, "day", "", text, relative=True)


_BUILDERS = {
    "iso": _b_full, "mdy": _b_full, "dmy": _b_full, "quarter": _b_quarter, "half": _b_half,
    "season": _b_season, "my": _b_my, "md": _b_md, "dm": _b_md, "yrange": _b_yrange, "decade": _b_decade,
    "py": _b_year, "mon": _b_mon, "rel": _b_rel, "wd": _b_weekday,
}


_WORDS_ONLY = frozenset({"mon", "rel", "wd"})


def find_dates(text: str, ref: date | None) -> tuple[list[DateValue], list[tuple[int, int]]]:
    """All dates in `text`, most specific first, and the character spans they used."""
    used: list[tuple[int, int]] = []
    found: list[DateValue] = []
    digits = any(ch.isdigit() for ch in text)
    for kind, pat in _PATTERNS:
        if not digits and kind not in _WORDS_ONLY:
            continue  # every other pattern needs a digit: skip them for most sentences
        for m in pat.finditer(text):
            a, b = m.span()
            if any(a < ue and us < b for us, ue in used):
                continue
            if kind in ("md", "dm", "mon") and _after_name(text, a):
                continue  # 'Long March 5' is a rocket, not a date
            v = _value(kind, m, ref)
            if v is not None:
                found.append(v)
                used.append((a, b))
    return found, used


def _after_name(text: str, pos: int) -> bool:
    prev = re.search(r"([A-Z][a-z]+)\s+$", text[max(0, pos - 20):pos])
    return bool(prev) and not re.search(r"(?:^|[.!?]\s+)\S+\s+$", text[max(0, pos - 20):pos]) \
        and prev.group(1).lower() not in ("on", "in", "by", "since", "until", "from", "early", "late", "mid")


def overlaps(a: DateValue, b: DateValue) -> bool:
    """Can both statements be true? Qualifiers widen the period ('by 2030', 'no earlier than May 2024')."""
    a0, a1 = _bounds(a)
    b0, b1 = _bounds(b)
    return a0 <= b1 and b0 <= a1


def _bounds(v: DateValue) -> tuple[date, date]:
    start, end = v.start, v.end
    if v.granularity == "monthday":
        return date.min, date.max
    if v.qualifier == "net":
        return start, date.max
    if v.qualifier == "by":
        return date.min, end
    if v.qualifier == "around":
        pad = max((end - start).days, 31)
        return start - timedelta(days=pad), end + timedelta(days=pad)
    return start, end


def date_keys(v: DateValue) -> set[str]:
    """Keys under which a date is remembered: with and without the year, so 'April 2' matches."""
    s = v.start
    if v.granularity == "monthday":
        return {f"d{s.month:02d}{s.day:02d}"}
    if v.granularity == "day":
        return {f"d{s.year}{s.month:02d}{s.day:02d}", f"d{s.month:02d}{s.day:02d}"}
    if v.granularity in ("month",):
        return {f"d{s.year}{s.month:02d}"}
    if v.granularity == "decade":
        return {f"d{s.year}s"}
    return {f"d{s.year}{v.granularity[0]}{s.month:02d}" if v.granularity != "year" else f"d{s.year}"}
