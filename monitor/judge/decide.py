"""Decide one claim against its comparable known claims: known, new development, contradiction, update.

Similarity only finds the comparable claim; the decision comes from slots (de Marneffe et al. 2008;
EQUATE): two claims about the same event frame that disagree on a place, date, number, polarity or
outcome conflict. New names, numbers and dates that nothing known carries make a development.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date

from monitor.judge.dates import date_keys, overlaps
from monitor.judge.entities import initials, is_person_like, name_tokens
from monitor.judge.knowledge import KnowledgeView
from monitor.judge.lexicon import ACTOR_EVENTS, ANTONYM_MODIFIERS, CONFLICTING_EVENTS
from monitor.judge.quantities import quantity_key, same_quantity
from monitor.model import Claim, Finding, KnownClaim, Verdict

ENTITY_WEIGHT = 2.0
TERM_WEIGHT = 1.0
CONTAINMENT = 0.6  # or: the smaller claim is mostly inside the other
DATE_CONTAINMENT = 0.7  # two forecast dates conflict without a shared event only in nearly the same statement
POLARITY_SIMILARITY = 0.65  # a flipped 'not' only matters between near-identical statements
# too common (or only a manner) to align two claims by themselves
GENERIC_EVENTS = {"sign", "host", "build", "select", "remote", "inperson", "accept"}
FULFILLING_EVENTS = {"launch", "land", "deliver", "join", "leave"}  # a plan of these that is reported done is news
_PAST_EVENT = re.compile(r"\b(?:launched|landed|delivered|joined|arrived|shipped|flew|lifted off|touched down|"
                         r"blasted off|signed up|became a (?:member|partner)|left|withdrew|quit|pulled out|exited)\b")
TURN_EVENTS = frozenset({"leave", "cancel", "delay", "fail"})
HEADLINE_POSITIONS = 1  # the title (0) and the first sentence (1)
SAME_REPORT_DAYS = 7
NUMBER_SIMILARITY = 0.45  # numbers conflict only between closely aligned statements  # two forecasts this close in time are reports of one statement, not a schedule change


@dataclass(frozen=True)
class Thresholds:
    candidates: int = 8
    known_similarity: float = 0.55
    frame_similarity: float = 0.30
    contradiction_similarity: float = 0.40
    update_after_days: int = 120
    min_new_units: int = 1


def _weights(a: Claim, b: Claim) -> tuple[float, float, float]:
    """Weight of each claim and of what they share: names count double, content words once."""
    wa = len(a.entities) * ENTITY_WEIGHT + len(a.terms) * TERM_WEIGHT
    wb = len(b.entities) * ENTITY_WEIGHT + len(b.terms) * TERM_WEIGHT
    shared = len(a.entities & b.entities) * ENTITY_WEIGHT + len(a.terms & b.terms) * TERM_WEIGHT
    return wa, wb, shared


def similarity(a: Claim, b: Claim) -> float:
    """Weighted cosine over shared names and content words."""
    wa, wb, shared = _weights(a, b)
    return shared / math.sqrt(wa * wb) if wa and wb else 0.0


def containment(a: Claim, b: Claim) -> float:
    """How much of the smaller claim the other one covers: a short claim inside a long sentence."""
    wa, wb, shared = _weights(a, b)
    return shared / min(wa, wb) if wa and wb else 0.0


def same_frame(a: Claim, b: Claim) -> bool:
    """Both claims speak of the same event: a shared name and a shared event class or enough shared words."""
    shared_entities = (a.entities & b.entities) - {k.split(":")[-1] for k in a.places | b.places}
    if not shared_entities:
        return False
    shared_events = a.events & b.events
    return bool(shared_events - GENERIC_EVENTS) or (bool(shared_events) and len(a.terms & b.terms) >= 3) \
        or len(a.terms & b.terms) >= 4


def conflict(new: Claim, old: Claim) -> tuple[str, str]:
    """The slot on which two same-frame claims disagree, with a readable detail; ('', '') if none."""
    for check in (_place_conflict, _event_conflict, _polarity_conflict, _date_conflict, _number_conflict,
                  _modifier_conflict, _participant_conflict):
        slot, detail = check(new, old)
        if slot:
            return slot, detail
    return "", ""


def _place_conflict(new: Claim, old: Claim) -> tuple[str, str]:
    for kind in ("city", "country"):
        a = {p for p in new.places if p.startswith(kind + ":")}
        b = {p for p in old.places if p.startswith(kind + ":")}
        if a and b and not a & b and (kind == "city" or (len(a) == 1 and len(b) == 1)):
            return "place", f"{_names(new, a)} vs {_names(old, b)}"
    return "", ""


def _names(c: Claim, places: set[str]) -> str:
    keys = [p.split(":", 1)[1] for p in sorted(places)]
    return ", ".join(c.entity_names.get(k, k) for k in keys)


def _event_conflict(new: Claim, old: Claim) -> tuple[str, str]:
    for pair in CONFLICTING_EVENTS:
        x, y = tuple(pair)
        for a, b in ((x, y), (y, x)):
            if a in new.events and b in old.events and b not in new.events and a not in old.events \
                    and (not {a, b} & ACTOR_EVENTS or _same_actor(new, old)):
                return "event", f"{a} vs {b}"
    return "", ""


def _same_actor(new: Claim, old: Claim) -> bool:
    """'X joined' and 'Y left' do not conflict: each claim's subject must appear in the other."""
    return bool(new.subject and old.subject) and new.subject in old.entities and old.subject in new.entities


def _polarity_conflict(new: Claim, old: Claim) -> tuple[str, str]:
    if new.negated != old.negated and new.events & old.events and similarity(new, old) >= POLARITY_SIMILARITY:
        return "polarity", "negated" if new.negated else "no longer negated"
    return "", ""


def _date_conflict(new: Claim, old: Claim) -> tuple[str, str]:
    """One explicit date each, for the same event (a shared event, or nearly the same statement)."""
    forecasts = new.modality in ("planned", "possible") and old.modality in ("planned", "possible")
    shared = new.events & old.events
    if not (shared - GENERIC_EVENTS) and not (shared and containment(new, old) >= CONTAINMENT) \
            and not (forecasts and containment(new, old) >= DATE_CONTAINMENT):
        return "", ""
    a = [d for d in new.dates if d.granularity != "decade" and not d.relative]
    b = [d for d in old.dates if d.granularity != "decade" and not d.relative]
    if len(a) == 1 and len(b) == 1 and not overlaps(a[0], b[0]):
        return "date", f"{a[0].text} vs {b[0].text}"
    return "", ""


_ANOTHER = re.compile(r"\b(?:another|second|third|additional|separate|further|follow-on|extra)\b", re.I)


def _number_conflict(new: Claim, old: Claim) -> tuple[str, str]:
    """Different values for one count or amount. 'A second contract worth ...' is another thing."""
    if _ANOTHER.search(new.text) or similarity(new, old) < NUMBER_SIMILARITY:
        return "", ""
    for qa in new.quantities:
        if not qa.unit:
            continue
        same_unit = [qb for qb in old.quantities if qb.unit == qa.unit and qb.ordinal == qa.ordinal]
        if same_unit and not any(same_quantity(qa, qb) for qb in old.quantities) \
                and (len(new.quantities) == 1 or len(same_unit) == 1):
            return "number", f"{qa.text} vs {same_unit[0].text}"
    return "", ""


def _modifier_conflict(new: Claim, old: Claim) -> tuple[str, str]:
    """'near the lunar north pole' vs 'at the south pole': opposite modifiers of the same noun."""
    a, b = _modified(new.text), _modified(old.text)
    for pair in ANTONYM_MODIFIERS:
        x, y = tuple(pair)
        for noun in {n for m, n in a if m in pair} & {n for m, n in b if m in pair}:
            if (x, noun) in a and (y, noun) in b and (y, noun) not in a and (x, noun) not in b:
                return "attribute", f"{x} {noun} vs {y} {noun}"
            if (y, noun) in a and (x, noun) in b and (x, noun) not in a and (y, noun) not in b:
                return "attribute", f"{y} {noun} vs {x} {noun}"
    return "", ""


def _modified(text: str) -> set[tuple[str, str]]:
    toks = re.findall(r"[a-z]+", text.lower())
    return set(zip(toks, toks[1:], strict=False))


def _participant_conflict(new: Claim, old: Claim) -> tuple[str, str]:
    """Two signers each, one shared, one different: 'signed by A and B' vs 'signed by C and B'."""
    if not (new.events & old.events) or containment(new, old) < CONTAINMENT:
        return "", ""
    pa = {k for k, n in new.entity_names.items() if is_person_like(n)}
    pb = {k for k, n in old.entity_names.items() if is_person_like(n)}
    if len(pa) == 2 and len(pb) == 2 and len(pa & pb) == 1:
        x, y = next(iter(pa - pb)), next(iter(pb - pa))
        return "participant", f"{new.entity_names[x]} vs {old.entity_names[y]}"
    return "", ""


def new_units(claim: Claim, comparable: list[KnownClaim], view: KnowledgeView) -> list[tuple[str, str]]:
    """Names, numbers and dates in `claim` that nothing known carries, as (key, text) pairs."""
    out = [("e:" + k, claim.entity_names.get(k, k)) for k in _new_entities(claim, view)]
    known_q = [q for kc in comparable for q in kc.claim.quantities]
    qkeys = view.known({"q:" + quantity_key(q) for q in claim.quantities})
    for q in claim.quantities:
        if ("q:" + quantity_key(q)) in qkeys or any(same_quantity(q, k) for k in known_q):
            continue
        if any(ch.isdigit() for ch in q.text) or q.value >= 10:  # 'two sides' is prose, '27th' is news
            out.append(("q:" + quantity_key(q), q.text))
    known_d = [d for kc in comparable for d in kc.claim.dates]
    for d in claim.dates:
        if d.relative or d.granularity == "decade":
            continue
        keys = {"d:" + k for k in date_keys(d)}
        if view.known(keys) or any(overlaps(d, k) and (k.granularity == d.granularity or d.start <= k.start <= k.end <= d.end)
                                   for k in known_d):
            continue
        out.append((sorted(keys)[0], d.text))
    return out


def _new_entities(claim: Claim, view: KnowledgeView) -> list[str]:
    probes: dict[str, set[str]] = {}
    for key, name in claim.entity_names.items():
        alts = {"e:" + key}
        toks = name_tokens(name)
        if name.isupper() and len(name) <= 8:
            alts.add("a:" + key)
        if len(initials(name)) >= 3 and len(toks) >= 2:
            alts.add("x:" + initials(name))
        probes[key] = alts
    known = view.known({k for alts in probes.values() for k in alts}
                       | {"t:" + t for n in claim.entity_names.values() for t in name_tokens(n)})
    out = []
    for key, alts in probes.items():
        name = claim.entity_names[key]
        toks = name_tokens(name)
        if alts & known or (toks and all(("t:" + t) in known for t in toks) and len(toks) <= 2):
            continue
        if claim.speaker and name in claim.speaker:
            continue  # who reported it ('according to Xinhua') is attribution, not a development
        out.append(key)
    return out


def decide(claim: Claim, view: KnowledgeView, th: Thresholds, published: date | None) -> Finding:
    """The verdict on one claim, with the matched claims, scores and the conflicting slot."""
    cands = view.candidates(claim, th.candidates)
    scored = sorted(((similarity(claim, kc.claim), kc) for kc in cands), key=lambda x: -x[0])
    best = scored[0][0] if scored else 0.0
    scores = {"best_similarity": round(best, 3)}
    found = _contradiction(claim, scored, th, published)
    if found:
        found.scores.update(scores)
        return found
    comparable = [kc for s, kc in scored if s >= th.frame_similarity]
    units = new_units(claim, comparable, view)
    scores["new_units"] = len(units)
    if len(units) >= th.min_new_units:
        fulfils = _fulfils(claim, scored, th)
        reason = "new: " + "; ".join(text for _, text in units[:6])
        keys = [k for k, _ in units]
        if fulfils:
            return Finding(Verdict.UPDATE, claim, f"{reason}; fulfils the plan: {fulfils.claim.text}",
                           [fulfils], scores, "modality", previous=fulfils, new_keys=keys)
        return Finding(Verdict.NEW, claim, reason, [kc for _, kc in scored[:1]], scores, new_keys=keys)
    fulfils = _fulfils(claim, scored, th)
    already = any(kc.claim.modality == "done" and claim.events & kc.claim.events & FULFILLING_EVENTS
                  and (s >= th.known_similarity or len(claim.entities & kc.claim.entities) >= 2)
                  for s, kc in scored)  # someone reported it done before
    if fulfils and not already and claim.events & fulfils.claim.events & FULFILLING_EVENTS \
            and _PAST_EVENT.search(claim.text.lower()):
        return Finding(Verdict.UPDATE, claim, f"the plan happened: {fulfils.claim.text}", [fulfils], scores,
                       "modality", previous=fulfils)
    event = _new_turn(claim, scored, th)
    if event:
        return Finding(Verdict.NEW, claim, f"new turn: {event}", [kc for _, kc in scored[:1]], scores)
    if scored:
        return Finding(Verdict.KNOWN, claim, f"known ({best:.2f}): {scored[0][1].claim.text}",
                       [scored[0][1]], scores)
    return Finding(Verdict.KNOWN, claim, "nothing new in it: no new name, number or date", [], scores)


def _contradiction(claim: Claim, scored: list[tuple[float, KnownClaim]], th: Thresholds,
                   published: date | None) -> Finding | None:
    framed = [(s, kc) for s, kc in scored
              if (s >= th.contradiction_similarity or containment(claim, kc.claim) >= CONTAINMENT)
              and same_frame(claim, kc.claim)]
    for s, kc in framed:
        if kc.superseded or kc.disputed:
            continue  # a disputed fact is not settled truth: contradicting it is not news
        slot, detail = conflict(claim, kc.claim)
        if not slot:
            continue
        if any((_newer_or_same(other, kc) or so >= th.known_similarity) and not other.disputed
               and not conflict(claim, other.claim)[0] and _agrees(claim, other.claim, slot)
               for so, other in framed if other is not kc):
            continue  # a known claim (as recent, or restated) says what the new one says: not news
        scores = {"similarity": round(s, 3)}
        if _is_update(claim, kc, slot, th, published):
            return Finding(Verdict.UPDATE, claim, f"changed {slot}: {detail} (was: {kc.claim.text})", [kc],
                           scores, slot, previous=kc)
        return Finding(Verdict.CONTRADICTION, claim, f"conflicting {slot}: {detail}", [kc], scores, slot)
    return None


def _newer_or_same(a: KnownClaim, b: KnownClaim) -> bool:
    pa, pb = a.provenance.published, b.provenance.published
    return pa is not None and (pb is None or pa >= pb)


def _agrees(new: Claim, other: Claim, slot: str) -> bool:
    if slot == "place":
        return bool(new.places & other.places)
    if slot == "number":
        return any(same_quantity(a, b) for a in new.quantities for b in other.quantities if a.unit == b.unit)
    if slot == "date":
        return any(overlaps(a, b) for a in new.dates for b in other.dates if not a.relative and not b.relative)
    if slot == "event":
        return bool(new.events & other.events - GENERIC_EVENTS)
    if slot == "attribute":
        return bool(_modified(new.text) & _modified(other.text) & {p for p in _modified(new.text)
                                                                  if any(p[0] in a for a in ANTONYM_MODIFIERS)})
    if slot == "participant":
        people = {k for k, n in new.entity_names.items() if is_person_like(n)}
        return people <= other.entities
    return new.negated == other.negated and bool(new.events & other.events)


def _is_update(claim: Claim, kc: KnownClaim, slot: str, th: Thresholds, published: date | None) -> bool:
    """A value that moved with time (a count grew, a plan slipped) is an update, not a contradiction."""
    old_date = kc.provenance.published.date() if kc.provenance.published else None
    gap = (published - old_date).days if published and old_date else None
    if gap is not None and gap >= th.update_after_days:
        return slot in ("number", "date", "event", "polarity")
    forecasts = claim.modality in ("planned", "possible") and kc.claim.modality in ("planned", "possible")
    if slot == "date" and forecasts and gap is not None and gap > SAME_REPORT_DAYS:
        return True  # a plan's date moved: a schedule slip is an update
    return slot == "date" and kc.claim.modality in ("planned", "possible") and claim.modality == "done"


def _new_turn(claim: Claim, scored: list[tuple[float, KnownClaim]], th: Thresholds) -> str:
    """A withdrawal, cancellation, delay or failure about a topic that nothing known reports: news even
    when every name in it is known ('Roscosmos withdrew from the station')."""
    turns = claim.events & TURN_EVENTS
    if not turns or not claim.topics or claim.negated or claim.modality == "possible" \
            or claim.position > HEADLINE_POSITIONS:
        return ""  # a turn this big is headline news; deeper in an article it is background
    for s, kc in scored:
        other = kc.claim
        if turns & other.events and (s >= th.known_similarity
                                     or (claim.subject in other.entities and claim.topics & other.topics)):
            return ""
    return f"{claim.entity_names.get(claim.subject, claim.subject)}: {', '.join(sorted(turns))}"


def _fulfils(claim: Claim, scored: list[tuple[float, KnownClaim]], th: Thresholds) -> KnownClaim | None:
    """A done claim matching a known plan closely: the plan happened."""
    if claim.modality != "done":
        return None
    for s, kc in scored:
        if s >= th.known_similarity and kc.claim.modality in ("planned", "possible") and same_frame(claim, kc.claim):
            return kc
    return None
