"""Numbers with their units or counted nouns: '$331.8 million', '1,935.3 grams', 'nine other countries'."""

from __future__ import annotations

import re

from monitor.judge.lexicon import (
    CURRENCIES,
    NUMBER_WORDS,
    ORDINAL_WORDS,
    SCALES,
    SENTENCE_STARTERS,
    STOPWORDS,
    UNITS,
)
from monitor.judge.text import stem
from monitor.model import Quantity

_NUMWORD = "|".join(sorted((w for w in NUMBER_WORDS if w not in ("one", "zero")), key=len, reverse=True))
_APPROX = r"(?P<approx>more than|over|about|around|nearly|almost|some|roughly|at least|up to|fewer than|less than|approximately|an estimated|upwards of)?\s*"
_NUM = r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|" + _NUMWORD + r")"
_RANGE = r"(?:\s*(?:-|to|and)\s*(?P<num2>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|" + _NUMWORD + r"))?"
_SCALE = r"(?:\s*(?P<scale>million|billion|trillion|thousand|bn|mn)\b)?"
_MONEY = re.compile(r"(?P<cur>US\$|\$|€|£|EUR|USD|GBP)\s?" + _NUM + _SCALE, re.I)
_ORDINAL = re.compile(r"\b(?P<num>\d+)(?:st|nd|rd|th)\b|\b(?P<word>" + "|".join(ORDINAL_WORDS) + r")\b(?=\s+\w)", re.I)
_GENERAL = re.compile(r"(?<![\w$€£.-])" + _APPROX + _NUM + r"(?!\d|st\b|nd\b|rd\b|th\b)" + _RANGE + _SCALE + r"(?:-(?P<hyunit>[a-z]+))?"
                      r"(?P<rest>(?:\s+[A-Za-z%][\w%'-]*){0,3})", re.I)
_SKIP_UNIT = {"other", "new", "more", "foreign", "international", "national", "major", "different", "separate",
              "additional", "further", "of", "the", "key", "main", "small", "large", "big", "local", "young"}


def _to_float(s: str) -> float | None:
    s = s.lower().replace(",", "")
    if s in NUMBER_WORDS:
        return float(NUMBER_WORDS[s])
    try:
        return float(s)
    except ValueError:
        return None


def _unit(rest: str, value: float, hyunit: str | None) -> str:
    """The unit, or the counted noun: the first plural word (or first word) after the number."""
    if hyunit:
        return UNITS.get(hyunit.lower(), (stem(hyunit), 1.0))[0] if hyunit.lower() in UNITS else stem(hyunit)
    toks = [t for t in rest.split() if t]
    if not toks:
        return ""
    low = [t.lower().strip("',") for t in toks]
    if low[0] in CURRENCIES:
        return CURRENCIES[low[0]]
    if low[0] in UNITS:
        return low[0]
    if len(low) > 1 and f"{low[0]} {low[1]}" in UNITS:
        return f"{low[0]} {low[1]}"
    for t in low:
        if t in STOPWORDS and t not in _SKIP_UNIT:
            break
        if t in _SKIP_UNIT or not t.isalpha():
            continue
        if value == 1 or t.endswith("s") or len(low) == 1:
            return stem(t)
    return stem(low[0]) if low[0].isalpha() and low[0] not in STOPWORDS else ""


def _normalise(value: float, unit: str) -> tuple[float, str]:
    """Grams and kilograms compare; money stays in its currency."""
    if unit in UNITS:
        family, factor = UNITS[unit]
        return value * factor, family
    return value, unit


def find_quantities(text: str, blocked: list[tuple[int, int]]) -> list[Quantity]:
    """Quantities outside the `blocked` spans (dates) and outside names such as 'Chang'e-6' or 'Falcon 9'."""
    found: list[Quantity] = []
    taken = list(blocked)

    def free(a: int, b: int) -> bool:
        return not any(a < ue and us < b for us, ue in taken)

    for m in _MONEY.finditer(text):
        v = _to_float(m.group("num"))
        if v is None or not free(*m.span()):
            continue
        v *= SCALES.get((m.group("scale") or "").lower(), 1.0)
        found.append(Quantity(v, CURRENCIES[m.group("cur").lower()], m.group(0)))
        taken.append(m.span())
    for m in _GENERAL.finditer(text):
        a = m.start("num")
        if not free(a, m.end("num")) or _inside_name(text, a) or _anaphoric(text, a):
            continue
        v = _to_float(m.group("num"))
        if v is None:
            continue
        v *= SCALES.get((m.group("scale") or "").lower(), 1.0)
        rest = m.group("rest") or ""
        unit = _unit(rest, v, m.group("hyunit"))
        if unit in CURRENCIES.values() or rest.strip().lower().split(" ")[0] in CURRENCIES:
            unit = CURRENCIES.get(rest.strip().lower().split(" ")[0], unit)
        value, unit = _normalise(v, unit)
        approx = bool(m.group("approx")) or bool(m.group("num2"))
        hi = _to_float(m.group("num2")) if m.group("num2") else None
        text_span = _display(m.group(0), rest, unit)
        found.append(Quantity(value, unit, text_span, approx))
        if hi is not None:
            found.append(Quantity(_normalise(hi * SCALES.get((m.group("scale") or "").lower(), 1.0), unit)[0]
                                  if unit not in UNITS else hi, unit, text_span, True))
        taken.append((a, m.end("num")))
    for m in _ORDINAL.finditer(text):
        if not free(*m.span()):
            continue
        n = int(m.group("num")) if m.group("num") else ORDINAL_WORDS[m.group("word").lower()]
        if m.group("word") and n <= 2:
            continue  # 'first'/'second' are mostly not counts
        nxt = text[m.end():].split()[:1]
        unit = stem(nxt[0].strip(",.").lower()) if nxt else ""
        found.append(Quantity(float(n), unit, m.group(0), ordinal=True))
    return found


def _anaphoric(text: str, pos: int) -> bool:
    """'the two countries', 'both three agencies': a reference to things named before, not a count."""
    return bool(re.search(r"\b(?:the|these|those|both|its|their|our)\s+$", text[max(0, pos - 8):pos], re.I))


def _display(matched: str, rest: str, unit: str) -> str:
    """'59 countries, including' -> '59 countries': the number and its unit word only."""
    head = matched[: len(matched) - len(rest)].strip() if rest else matched.strip()
    first = rest.split()[:1]
    return f"{head} {first[0]}".strip(",.;:") if first and unit and first[0][0].isalpha() and \
        first[0].lower() not in STOPWORDS else head


def _inside_name(text: str, pos: int) -> bool:
    """'Chang'e-6', 'Falcon 9', 'COVID-19', 'LC-39A', 'Long March 5': the number belongs to a name."""
    before = text[max(0, pos - 25):pos]
    after = text[pos:pos + 12]
    if re.search(r"[A-Za-z]-?$", before) or re.match(r"\d+[A-Za-z]\b", after):
        return True
    m = re.search(r"([A-Z][\w'-]*)\s$", before)
    if re.search(r"\b(?:No|Number|Flight|Mission|Block|Phase|Version|Stage)\s$", before):
        return True
    # 'Falcon 9' is a name; 'About 500' or 'Some 59' at a sentence start is a number
    return bool(m) and not m.group(1).isupper() and m.group(1).lower() not in STOPWORDS | SENTENCE_STARTERS | {
        "about", "over", "some", "nearly", "around", "almost", "roughly", "more", "fewer"}


def same_quantity(a: Quantity, b: Quantity, tolerance: float = 0.05) -> bool:
    """Equal within `tolerance`, or compatible when either side is approximate."""
    if a.value == b.value:
        return True
    tol = 0.25 if (a.approximate or b.approximate) else tolerance
    hi = max(abs(a.value), abs(b.value))
    return hi > 0 and abs(a.value - b.value) / hi <= tol


def quantity_key(q: Quantity) -> str:
    v = f"{q.value:.6g}"
    return f"q{v}{q.unit}".replace(" ", "")
