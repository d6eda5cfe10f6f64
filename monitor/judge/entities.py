"""Names in a sentence: configured topic names first, then capitalised spans, demonyms and places.

Every name gets a canonical key ('Chang’e-6' -> 'change6'); configured equivalents share one key
('ILRS' and 'International Lunar Research Station'), so a paraphrase that switches names still matches.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from monitor.judge.lexicon import COMMON_PROPER, DEMONYMS, MONTHS, SENTENCE_STARTERS, STOPWORDS, WEEKDAYS

_NAME_TOKEN = r"(?:(?:St|Mt|Ft)\.|[A-ZÀ-ÖØ-Þ][\w'.\-]*[^\W_]|[A-ZÀ-ÖØ-Þ])(?:'s)?"
_SPAN = re.compile(
    _NAME_TOKEN + r"(?:(?:\s+(?:of|for|on|de|du|da|and|the|la|le|van|von|al|des|del)\s+|\s+|-)" + _NAME_TOKEN + r")*"
    r"(?:\s+\d+[A-Z]?\b)?"
)
_ACRONYM_DEF = re.compile(r"((?:[A-Z][\w'.-]*\s+(?:(?:of|for|and|the|on|de)\s+)?){1,8})\(([A-Z][A-Za-z0-9&-]{1,12})\)")
_ORG_WORDS = {"agency", "administration", "corporation", "station", "institute", "university", "council",
              "conference", "center", "centre", "academy", "association", "organization", "organisation",
              "union", "program", "programme", "space", "mission", "forum", "federation", "ministry", "laboratory",
              "company", "group", "bank", "committee", "office", "department", "palace", "house", "court",
              "assembly", "service", "lab", "observatory", "society", "school", "college", "force", "command"}
_TITLES = {"president", "prime", "minister", "deputy", "vice", "director", "general", "chief", "head",
           "administrator", "ambassador", "governor", "secretary", "chairman", "chair", "ceo", "executive",
           "mr", "mrs", "ms", "dr", "prof", "professor", "sen", "senator", "rep", "gen", "premier", "former",
           "acting", "spokesperson", "spokesman", "spokeswoman", "founder", "commander", "astronaut", "cosmonaut"}
_LOCATIVE = {"in", "at", "near", "outside", "inside"}


def entity_key(name: str) -> str:
    """Canonical key of a name: lower case, no punctuation, 'St.' as 'Saint', no leading 'the'."""
    n = unicodedata.normalize("NFKD", name.lower().replace("\u2019", "'"))
    n = "".join(ch for ch in n if not unicodedata.combining(ch))  # 'Kairé' and 'Kaire' are one name
    n = re.sub(r"'s\b", "", n)
    n = re.sub(r"^the\s+", "", n)
    n = re.sub(r"\bst\.?\s+", "saint ", n)
    return re.sub(r"[^a-z0-9]", "", n)


def name_tokens(name: str) -> list[str]:
    return [entity_key(t) for t in re.split(r"[\s-]+", name) if t and t[0].isupper() and len(t) > 1]


def initials(name: str) -> str:
    """'American Institute of Aeronautics and Astronautics' -> 'aiaa' (for acronym matching)."""
    toks = [t for t in re.split(r"[\s-]+", name) if t and t[0].isupper()]
    return "".join(t[0] for t in toks).lower() if len(toks) >= 2 else ""


@dataclass(frozen=True)
class Mention:
    key: str
    name: str
    start: int
    end: int
    topic: str = ""  # set when the name is configured vocabulary of a topic
    role: str = ""  # 'alias' | 'ambiguous' | 'entity' | '' (found by capitalisation)
    place: str = ""  # 'city' | 'country' | 'region' when a gazetteer place
    locative: bool = False  # preceded by in/at/near: where something happens


@dataclass
class Gazetteer:
    """Configured topic vocabulary compiled for matching. Built once per engine from settings."""

    phrases: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # lower phrase -> (key, topic, role)
    negative: dict[str, list[str]] = field(default_factory=dict)  # topic -> lower phrases
    context: dict[str, set[str]] = field(default_factory=dict)  # topic -> lower words
    pattern: re.Pattern[str] | None = None
    negative_pattern: re.Pattern[str] | None = None

    @classmethod
    def from_topics(cls, topics: list) -> Gazetteer:
        g = cls()
        for t in topics:
            canon: dict[str, str] = {}
            for group in t.equivalents:
                for name in group:
                    canon[name.lower()] = entity_key(group[0])
            for role, names in (("entity", t.entities), ("ambiguous", t.ambiguous), ("alias", t.aliases)):
                for name in names:
                    g.phrases[name.lower()] = (canon.get(name.lower(), entity_key(name)), t.name, role)
            for name, key in canon.items():
                g.phrases.setdefault(name, (key, t.name, "entity"))
            g.negative[t.name] = [n.lower() for n in t.negative]
            g.context[t.name] = {c.lower() for c in t.context}
        if g.phrases:
            alts = sorted(g.phrases, key=len, reverse=True)
            g.pattern = re.compile(r"(?<![\w])(" + "|".join(re.escape(a) for a in alts) + r")(?![\w]|-\d)", re.I)
        negs = sorted({n for ns in g.negative.values() for n in ns}, key=len, reverse=True)
        if negs:
            g.negative_pattern = re.compile(r"(?<![\w-])(" + "|".join(re.escape(n) for n in negs) + r")(?![\w-])",
                                            re.I)
        return g

    def negative_spans(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in self.negative_pattern.finditer(text)] if self.negative_pattern else []

    def match(self, text: str) -> list[Mention]:
        """Configured names; a short all-caps alias must match case ('ESA', not 'esa')."""
        if not self.pattern:
            return []
        blocked = self.negative_spans(text)
        out = []
        for m in self.pattern.finditer(text):
            surface = m.group(1)
            if any(a <= m.start() < b for a, b in blocked):
                continue
            key, topic, role = self.phrases[surface.lower()]
            if " " not in surface and len(surface) <= 5 and not surface[0].isupper():
                continue  # a short name must be written as a name: ESA, not 'esa'
            out.append(Mention(key, surface, m.start(), m.end(), topic, role))
        return out


@lru_cache(maxsize=1)
def places() -> dict[str, tuple[str, str, str]]:
    """name key -> (kind, country code, canonical name), from the packaged GeoNames extract."""
    out: dict[str, tuple[str, str, str]] = {}
    text = resources.files("monitor").joinpath("data/places.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, kind, cc, canon = line.split("\t")
        out.setdefault(entity_key(name), (kind, cc, entity_key(canon)))
    return out


def acronym_links(text: str, gazetteer: Gazetteer | None = None) -> dict[str, str]:
    """'South African National Space Agency (SANSA)' -> {'sansa': 'southafricannationalspaceagency'}.
    A configured name keeps its configured key: 'Federal Space Agency (Roscosmos)' links the other way."""
    links = {}
    configured = gazetteer.phrases if gazetteer else {}
    for m in _ACRONYM_DEF.finditer(text):
        full, acr = m.group(1).strip(), m.group(2)
        if not (initials(full)[: len(acr)] and acr[0].lower() == initials(full)[0]):
            continue
        if acr.lower() in configured:
            links[entity_key(full)] = configured[acr.lower()][0]
        else:
            links[entity_key(acr)] = entity_key(full)
    return links


_POSSESSIVE_OR_TIME = re.compile(
    r"(?<=')s\s+|\s+(?:on|of|in)\s+(?=(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\b)")


def find_mentions(sentence: str, gazetteer: Gazetteer, links: dict[str, str] | None = None,
                  midcaps: frozenset[str] | None = None) -> list[Mention]:
    """All names in one sentence, configured ones first, each span once."""
    found = gazetteer.match(sentence)
    masked = sentence
    for m in found:  # configured names are taken; what is left around them is scanned
        masked = masked[:m.start] + "|" * (m.end - m.start) + masked[m.end:]
    for m in _SPAN.finditer(masked):
        start = m.start()
        offset = start
        for part in _POSSESSIVE_OR_TIME.split(m.group(0)):  # "France's DORN", "Wenchang on May 3"
            mention = _span_mention(sentence, part, offset, links or {}, midcaps)
            if mention:
                found.append(mention)
            offset += len(part) + 1
    return [_with_place(sentence, m) for m in found]


def _span_mention(sentence: str, name: str, start: int, links: dict[str, str],
                  midcaps: frozenset[str] | None) -> Mention | None:
    name = re.sub(r"'$", "", name)
    tokens = name.split()
    at_start = not sentence[:start].strip() or sentence[:start].rstrip().endswith(('"', "(", ":", "-"))
    while tokens and (tokens[0].lower().rstrip(".") in _TITLES or tokens[0].lower() in COMMON_PROPER
                      or (at_start and tokens[0].lower() in SENTENCE_STARTERS)):
        start += len(tokens[0]) + 1
        tokens = tokens[1:]
        at_start = False
    while tokens and tokens[-1].lower() in STOPWORDS:
        tokens = tokens[:-1]
    if " and " in " ".join(tokens) and not re.search(r"\b(?:of|for)\b", " ".join(tokens)):
        return None  # 'Russia and China' is two names; the scan finds each of them separately
    if not tokens or tokens[0][0].isdigit() or _currency_amount(tokens[0]):
        return None
    if at_start and len(tokens) == 1 and not tokens[0].isupper() and midcaps is not None \
            and tokens[0] not in midcaps and tokens[0].lower() not in DEMONYMS \
            and (entity_key(tokens[0]) not in places() or tokens[0].endswith("ing")):
        return None  # 'Combining', 'Organisers': capitalised only because a sentence starts there
    name = " ".join(tokens)
    low = name.lower().rstrip(".")
    if low in COMMON_PROPER or low in MONTHS or low in WEEKDAYS or low in STOPWORDS or len(low) < 2:
        return None
    if len(tokens) == 1 and low.rstrip("'s") in DEMONYMS:
        key = entity_key(DEMONYMS[low.rstrip("'s")])
    else:
        key = entity_key(name)
    key = links.get(key, key)
    return Mention(key, name, start, start + len(name)) if key else None


def _currency_amount(token: str) -> bool:
    return bool(re.match(r"(?:EUR|USD|GBP|US|RMB|CNY|JPY|INR|RUB)\d", token))


def capitalised_inside(text: str) -> frozenset[str]:
    """Capitalised words seen inside sentences (not first): evidence that a word is a name."""
    return frozenset(m.group(1) for m in re.finditer(r"(?<=[a-z,;:]\s)([A-Z][\w'-]+)", text))


def _with_place(sentence: str, m: Mention) -> Mention:
    p = places().get(m.key)
    if not p:
        return m
    prev = sentence[:m.start].split()[-1:] or [""]
    return Mention(p[2], m.name, m.start, m.end, m.topic, m.role, p[0], prev[0].lower() in _LOCATIVE)


def is_person_like(name: str) -> bool:
    toks = name.split()
    return len(toks) >= 2 and not any(t.lower() in _ORG_WORDS for t in toks) and all(t[0].isupper() for t in toks)
