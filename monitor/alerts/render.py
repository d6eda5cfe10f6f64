"""Human-readable renderings of alert payloads: mail subject, plain text, HTML, chat text, digests.

Every string inside a payload was derived from a web page or feed, so it is hostile: it may carry
markup, script URLs, control characters, bidi overrides or megabytes of text. Everything below
goes through `_clean` (control characters out, length bounded) and, in HTML, through `_esc`
(html.escape with quote=True); links are emitted only for plain http(s) URLs. The styling is
inline CSS on a table layout because that is what mail clients render reliably.
"""

from __future__ import annotations

import html
import re
import textwrap
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from monitor import __version__

SUBJECT_MAX = 150
COMPACT_MAX = 1000
OTHER_GROUP = "Other"

# C0/C1 controls (tab and newline survive), bidi overrides/isolates (they can reverse displayed
# text), non-characters and lone surrogates (invalid in XML and in mail).
_CONTROL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
    "\ufeff\ufffe\uffff\ud800-\udfff]"
)
_URL_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f-\x9f\"<>\\]")

# Per kind of alert: badge label, accent colour, tint for boxes; and the sort rank in digests.
_KINDS: dict[str, tuple[str, str, str, int]] = {
    "contradiction": ("Contradiction", "#b42318", "#fef3f2", 0),
    "update": ("Update", "#175cd3", "#eff8ff", 1),
    "new_development": ("New development", "#067647", "#ecfdf3", 1),
    "source_failing": ("Source failing", "#b54708", "#fffaeb", 2),
    "other": ("Alert", "#475467", "#f2f4f7", 3),
}
_FONT = "font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;"
_LABEL = (_FONT + "font-size:11px;font-weight:bold;letter-spacing:0.06em;text-transform:uppercase;"
          "color:#667085;")
_TEXT = _FONT + "font-size:15px;line-height:22px;color:#101828;"
_META = _FONT + "font-size:13px;line-height:19px;color:#667085;"
_LINK = "color:#175cd3;text-decoration:underline;"
_DIVIDER = '<div style="border-top:1px dashed #eaecf0;font-size:0;line-height:0;">&nbsp;</div>'


# --------------------------------------------------------------------------- hostile-text helpers


def _clean(value: Any, limit: int = 2000) -> str:
    """Text safe to show anywhere: non-strings become '', controls removed, length bounded."""
    if value is None or isinstance(value, dict | list | tuple | set):
        return ""
    text = _CONTROL.sub("", str(value)).replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def one_line(value: Any, limit: int = 300) -> str:
    """`_clean` plus every whitespace run (CR, LF, U+2028, ...) collapsed to one space."""
    text = " ".join(_clean(value, limit * 2 + 10).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _esc(value: Any, limit: int = 2000) -> str:
    """Cleaned and html-escaped (quotes included) text for element content and attributes."""
    return html.escape(_clean(value, limit), quote=True)


def safe_url(value: Any) -> str | None:
    """The URL if it is a plain absolute http(s) URL, else None (javascript:, data:, junk)."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    if not url or len(url) > 4000 or _URL_FORBIDDEN.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def _short_url(url: str, limit: int = 70) -> str:
    """A URL shortened for display (scheme dropped), so long tracking URLs do not dominate."""
    shown = re.sub(r"^https?://", "", url, flags=re.IGNORECASE)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _link(value: Any, text: str | None = None, limit: int = 70) -> str:
    """An <a> for http(s) URLs, else the escaped value as plain text (never a clickable link)."""
    url = safe_url(value)
    if url is None:
        shown = _esc(value, 300)
        return f"{_esc(text, 400)} ({shown})" if text is not None and shown else (shown or _esc(text, 400))
    label = _esc(text if text is not None else _short_url(url, limit), 400)
    return f'<a href="{html.escape(url, quote=True)}" style="{_LINK}">{label}</a>'


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def fmt_date(value: Any) -> str:
    """'16 Jun 2021' for midnight timestamps, '23 Nov 2026, 10:00 UTC' otherwise, raw text if unparsable."""
    dt = parse_time(value)
    if dt is None:
        return one_line(value, 40)
    if (dt.hour, dt.minute, dt.second) == (0, 0, 0):
        return f"{dt.day} {dt:%b %Y}"
    return f"{dt.day} {dt:%b %Y, %H:%M} UTC"


# --------------------------------------------------------------------------- payload reading


def alert_kind(payload: dict[str, Any]) -> str:
    """contradiction | update | new_development | source_failing | other (unknown types)."""
    kind = payload.get("type")
    if kind == "new_development" and any(_dict(f.get("previously")) for f in _findings(payload)):
        return "update"
    return kind if kind in ("contradiction", "new_development", "source_failing") else "other"


def _findings(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Findings as dicts, contradictions first: they are what the analyst must look at."""
    found = [f for f in _list(payload.get("findings")) if isinstance(f, dict)]
    return sorted(found, key=lambda f: 0 if f.get("type") == "contradiction" else 1)


def _finding_kind(finding: dict[str, Any]) -> str:
    if finding.get("type") == "contradiction":
        return "contradiction"
    return "update" if _dict(finding.get("previously")) else "new_development"


def _conflicts(finding: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in _list(finding.get("conflicts_with")) if isinstance(c, dict)]


def _topic_labels(payload: dict[str, Any]) -> list[str]:
    labels = [one_line(x, 120) for x in _list(payload.get("topic_labels"))]
    labels = [x for x in labels if x] or [one_line(x, 60) for x in _list(payload.get("topics"))]
    return [x for x in labels if x]


def _short_topic(label: str) -> str:
    """'ILRS (Russia–China ...)' -> 'ILRS': the part before a parenthesis, for tight spaces."""
    return label.split(" (", 1)[0].strip() or label


def _source_line(item: dict[str, Any]) -> str:
    """'source, 1 Mar 2020' for a known or previous claim (plain text, cleaned)."""
    parts = [one_line(item.get("source"), 200), fmt_date(item.get("published"))]
    return ", ".join(p for p in parts if p)


# --------------------------------------------------------------------------- subject


def _fit(head: str, main: str, sep: str = "", tail: str = "", limit: int = SUBJECT_MAX) -> str:
    """head+main+sep+tail within limit; the tail keeps up to ~40% so both sides stay readable."""
    room = limit - len(head) - (len(sep) if tail else 0)
    if len(main) + len(tail) > room:
        tail_room = min(len(tail), max(room * 2 // 5, room - len(main)))
        tail = one_line(tail, max(tail_room, 1)) if tail else ""
        main = one_line(main, max(room - len(tail), 1))
    return (head + main + (sep + tail if tail else ""))[:limit]


def email_subject(payload: dict[str, Any]) -> str:
    """One line (no CR/LF, <= 150 chars) saying what happened, the new claim first."""
    kind = alert_kind(payload)
    if kind == "source_failing":
        status = _dict(payload.get("source_status"))
        name = one_line(status.get("name"), 60) or "unknown source"
        code = one_line(status.get("error_code"), 40)
        return _fit("Source failing: ", name + (f" ({code})" if code else ""))
    findings = _findings(payload)
    if not findings:
        return _fit("Alert: ", one_line(payload.get("summary"), 200) or "lunarwatch alert")
    first = findings[0]
    claim = one_line(first.get("claim"), 300) or one_line(payload.get("summary"), 300)
    more = f" (+{len(findings) - 1} more)" if len(findings) > 1 else ""
    fkind = _finding_kind(first)
    if fkind == "contradiction":
        known = one_line((_conflicts(first) or [{}])[0].get("claim"), 300)
        return _fit("Contradiction: ", claim + more, " — known: ", known)
    if fkind == "update":
        prev = one_line(_dict(first.get("previously")).get("claim"), 300)
        return _fit("Update: ", claim + more, " — previously: ", prev)
    return _fit("New: ", claim + more)


# --------------------------------------------------------------------------- plain text


def _wrap(label: str, text: str, indent: int = 4) -> list[str]:
    """A labelled paragraph wrapped at 78 columns, continuation lines aligned under the text."""
    first = " " * indent + label.ljust(9) + " "
    return textwrap.wrap(text, 78, initial_indent=first, subsequent_indent=" " * len(first),
                         break_long_words=True, break_on_hyphens=False) or [first.rstrip()]


def _text_finding(i: int, total: int, finding: dict[str, Any]) -> list[str]:
    label = _KINDS[_finding_kind(finding)][0]
    lines = [f"[{i}/{total}] {label}"]
    lines += _wrap("Reported", one_line(finding.get("claim"), 600))
    evidence = one_line(finding.get("evidence"), 1500)
    if evidence:
        lines += _wrap("Evidence", f"“{evidence}”")
    for known in _conflicts(finding):
        lines += _wrap("Known", one_line(known.get("claim"), 600))
        src = _source_line(known)
        lines += _wrap("", f"(source: {src})") if src else []
    prev = _dict(finding.get("previously"))
    if prev:
        lines += _wrap("Before", one_line(prev.get("claim"), 600))
        src = _source_line(prev)
        lines += _wrap("", f"(source: {src})") if src else []
    reason = one_line(finding.get("reason"), 400)
    lines += _wrap("Why", reason) if reason else []
    return lines + [""]


def _text_source_status(payload: dict[str, Any]) -> list[str]:
    s = _dict(payload.get("source_status"))
    rows = [("Source", one_line(s.get("name"), 100)), ("URL", one_line(s.get("url"), 300)),
            ("Error", " ".join(x for x in (one_line(s.get("error_code"), 40),
                                           one_line(s.get("error_message"), 300)) if x)),
            ("Failures", one_line(s.get("consecutive_failures"), 20)),
            ("Since", fmt_date(s.get("failing_since")))]
    return [line for k, v in rows if v for line in _wrap(k + ":", v, 0)] + [""]


def _text_article(payload: dict[str, Any]) -> list[str]:
    art = _dict(payload.get("article"))
    if not art:
        return []
    published = f"published {fmt_date(art.get('published'))}" if art.get("published") else ""
    meta = ", ".join(x for x in (one_line(art.get("source"), 80), published) if x)
    lines = _wrap("Article:", one_line(art.get("title"), 300), 0)
    lines += _wrap("Source:", meta, 0) if meta else []
    lines += _wrap("Link:", one_line(art.get("url"), 2000), 0)
    for j, url in enumerate(_list(art.get("also_at"))[:10]):
        lines += _wrap("Also at:" if j == 0 else "", one_line(url, 2000), 0)
    return lines + [""]


def _text_footer(payload: dict[str, Any]) -> list[str]:
    return ["-- ", f"lunarwatch {__version__} · alert {one_line(payload.get('id'), 80)}"
            f" · created {fmt_date(payload.get('created_at'))}",
            "A redelivery of this alert carries the same id."]


def email_text(payload: dict[str, Any]) -> str:
    """The plain-text alternative: the same facts as the HTML, readable in any client."""
    kind = alert_kind(payload)
    topics = ", ".join(_topic_labels(payload))
    lines = [_KINDS[kind][0].upper() + (f" — {topics}" if topics else ""), ""]
    summary = one_line(payload.get("summary"), 300)
    lines += textwrap.wrap(summary, 78) + [""] if summary else []
    if kind == "source_failing":
        lines += _text_source_status(payload)
    lines += _text_article(payload)
    findings = _findings(payload)
    lines += [x for i, f in enumerate(findings, 1) for x in _text_finding(i, len(findings), f)]
    return "\n".join(lines + _text_footer(payload)) + "\n"


# --------------------------------------------------------------------------- HTML pieces


def _badge(kind: str) -> str:
    label, accent, tint, _ = _KINDS[kind]
    return (f'<span style="{_FONT}display:inline-block;padding:3px 10px;border-radius:11px;'
            f'background:{tint};color:{accent};font-size:12px;font-weight:bold;letter-spacing:0.04em;'
            f'text-transform:uppercase;border:1px solid {accent}33;">{html.escape(label)}</span>')


def _chips(labels: Sequence[str]) -> str:
    chip = (f"{_FONT}display:inline-block;margin:0 6px 6px 0;padding:2px 9px;border-radius:4px;"
            "background:#f2f4f7;color:#344054;font-size:12px;line-height:18px;")
    return "".join(f'<span style="{chip}">{_esc(x, 120)}</span>' for x in labels)


def _row(inner: str, pad: str = "0 28px 16px 28px") -> str:
    return f'<tr><td style="padding:{pad};">{inner}</td></tr>'


def _boxed(inner: str, accent: str, tint: str) -> str:
    """A tinted box with a coloured left rule; a table, since clients drop div borders/padding."""
    return ('<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
            f'style="margin:10px 0 0 0;border-collapse:collapse;"><tr><td style="background:{tint};'
            f'border-left:4px solid {accent};padding:10px 14px;">{inner}</td></tr></table>')


def _ref_box(title: str, item: dict[str, Any], accent: str, tint: str) -> str:
    """The known claim (contradiction) or previous value (update), with its source and date."""
    src = item.get("source")
    parts = [_link(src, limit=60) if safe_url(src) else _esc(src, 200), _esc(fmt_date(item.get("published")))]
    meta = " · ".join(p for p in parts if p)
    inner = (f'<div style="{_LABEL}color:{accent};">{html.escape(title)}</div>'
             f'<div style="{_TEXT}margin-top:3px;">{_esc(item.get("claim"), 600)}</div>'
             + (f'<div style="{_META}margin-top:4px;">Source: {meta}</div>' if meta else ""))
    return _boxed(inner, accent, tint)


def _html_finding(i: int, total: int, finding: dict[str, Any], compact: bool = False) -> str:
    kind = _finding_kind(finding)
    label, accent, tint, _ = _KINDS[kind]
    out = [f'<div style="{_LABEL}color:{accent};">{html.escape(label)}'
           + (f" · {i} of {total}" if total > 1 else "") + "</div>",
           f'<div style="{_TEXT}font-size:16px;font-weight:bold;margin-top:4px;">'
           f'{_esc(finding.get("claim"), 600)}</div>']
    evidence = _clean(finding.get("evidence"), 300 if compact else 1500)
    if evidence:
        out.append(f'<div style="{_TEXT}font-size:14px;color:#475467;font-style:italic;margin-top:8px;'
                   f'border-left:3px solid #d0d5dd;padding:2px 0 2px 12px;">“{html.escape(evidence)}”</div>')
    out += [_ref_box("Known fact", c, accent, tint) for c in _conflicts(finding)[:5]]
    if _dict(finding.get("previously")):
        out.append(_ref_box("Previously", _dict(finding.get("previously")), accent, tint))
    reason = _esc(finding.get("reason"), 400)
    if reason and not compact:
        out.append(f'<div style="{_META}margin-top:10px;"><b>Why flagged:</b> {reason}</div>')
    return "".join(out)


def _finding_card(inner: str) -> str:
    return ('<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
            'style="border:1px solid #e4e7ec;border-radius:6px;border-collapse:separate;">'
            f'<tr><td style="padding:14px 16px;">{inner}</td></tr></table>')


def _html_article(art: dict[str, Any]) -> str:
    title = _clean(art.get("title"), 300) or _clean(art.get("url"), 120) or "(untitled)"
    meta = [_esc(art.get("source"), 80)]
    if art.get("published"):
        meta.append("published " + _esc(fmt_date(art.get("published"))))
    return (f'<div style="{_LABEL}">Article</div>'
            f'<div style="{_TEXT}font-weight:bold;margin-top:3px;">{_link(art.get("url"), title, 300)}</div>'
            f'<div style="{_META}margin-top:2px;">{" · ".join(m for m in meta if m)}</div>')


def _button(url: Any, text: str, accent: str) -> str:
    """A table-based button (renders in Outlook); nothing when the URL is not http(s)."""
    href = safe_url(url)
    if href is None:
        return ""
    return ('<table role="presentation" cellpadding="0" cellspacing="0" border="0"><tr>'
            f'<td style="background:{accent};border-radius:6px;">'
            f'<a href="{html.escape(href, quote=True)}" style="{_FONT}display:inline-block;padding:10px 18px;'
            f'font-size:14px;font-weight:bold;color:#ffffff;text-decoration:none;">{html.escape(text)}</a>'
            "</td></tr></table>")


def _also_at(art: dict[str, Any]) -> str:
    urls = _list(art.get("also_at"))
    if not urls:
        return ""
    items = "".join(f'<div style="{_META}">{_link(u)}</div>' for u in urls[:10])
    more = f'<div style="{_META}">and {len(urls) - 10} more</div>' if len(urls) > 10 else ""
    return f'<div style="{_LABEL}margin-top:14px;">Same story also at</div>{items}{more}'


def _html_source_status(payload: dict[str, Any]) -> str:
    s = _dict(payload.get("source_status"))
    rows = [("Source", _esc(s.get("name"), 100)), ("Address", _link(s.get("url"))),
            ("Error", " ".join(x for x in (_esc(s.get("error_code"), 40), _esc(s.get("error_message"), 300))
                               if x)),
            ("Consecutive failures", _esc(s.get("consecutive_failures"), 20)),
            ("Failing since", _esc(fmt_date(s.get("failing_since"))))]
    cells = "".join(f'<tr><td style="{_META}line-height:20px;padding:4px 16px 4px 0;white-space:nowrap;'
                    f'vertical-align:top;">{k}</td><td style="{_TEXT}font-size:14px;line-height:20px;'
                    f'padding:4px 0;">{v}</td></tr>'
                    for k, v in rows if v)
    return ('<table role="presentation" cellpadding="0" cellspacing="0" border="0" '
            f'style="border-collapse:collapse;">{cells}</table>')


def alert_html_fragment(payload: dict[str, Any], compact: bool = False) -> str:
    """The alert's content rows (badge, summary, article, findings, links) as <tr> elements.

    Shared by the e-mail body, the digest and the Atom feed so that all three say the same thing.
    """
    kind = alert_kind(payload)
    accent = _KINDS[kind][1]
    art = _dict(payload.get("article"))
    labels = _topic_labels(payload)[1 if compact else 0:]  # a digest's group heading names the first
    rows = [_row(_badge(kind) + ("&nbsp; " + _chips(labels) if labels else ""), "0 28px 8px 28px"),
            _row(f'<div style="{_TEXT}font-size:{18 if compact else 21}px;line-height:1.3;font-weight:bold;">'
                 f'{_esc(one_line(payload.get("summary"), 300))}</div>')]
    if kind == "source_failing":
        rows.append(_row(_html_source_status(payload)))
    if art:
        rows.append(_row(_html_article(art)))
    findings = _findings(payload)
    shown = findings[:3] if compact else findings
    rows += [_row(_finding_card(_html_finding(i, len(findings), f, compact)), "0 28px 12px 28px")
             for i, f in enumerate(shown, 1)]
    if len(findings) > len(shown):
        rows.append(_row(f'<div style="{_META}">and {len(findings) - len(shown)} more finding(s)</div>'))
    if art and not compact:
        rows.append(_row(_button(art.get("url"), "Read the article", accent) + _also_at(art),
                         "4px 28px 20px 28px"))
    elif art:
        rows.append(_row(_also_at(art)) if _list(art.get("also_at")) else "")
    return "".join(rows)


# --------------------------------------------------------------------------- HTML documents


def _document(title: str, preheader: str, rows: str, accent: str, footer: str) -> str:
    """The mail skeleton: centred 640px white card on grey, accent bar on top, footer below."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="color-scheme" content="light"><meta name="supported-color-schemes" content="light">'
        f"<title>{_esc(title, 200)}</title></head>"
        '<body style="margin:0;padding:0;background:#f2f4f7;">'
        '<div style="display:none;max-height:0;overflow:hidden;opacity:0;color:#f2f4f7;">'
        f"{_esc(preheader, 200)}</div>"
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="background:#f2f4f7;"><tr><td align="center" style="padding:24px 12px;">'
        '<table role="presentation" width="640" cellpadding="0" cellspacing="0" border="0" '
        'style="width:100%;max-width:640px;background:#ffffff;border:1px solid #e4e7ec;border-radius:8px;'
        'border-collapse:separate;">'
        f'<tr><td style="height:6px;line-height:6px;font-size:0;background:{accent};'
        'border-radius:8px 8px 0 0;">&nbsp;</td></tr>'
        f'<tr><td style="padding:18px 28px 12px 28px;{_LABEL}color:#98a2b3;">lunarwatch</td></tr>'
        f"{rows}"
        f'<tr><td style="padding:14px 28px 18px 28px;border-top:1px solid #eaecf0;{_META}font-size:12px;'
        f'line-height:17px;color:#98a2b3;">{footer}</td></tr>'
        "</table></td></tr></table></body></html>\n"
    )


def email_html(payload: dict[str, Any]) -> str:
    """A self-contained HTML mail body: inline CSS, tables, no scripts, no external assets."""
    kind = alert_kind(payload)
    quoted = " Claims and evidence are quoted from the article as published." if _findings(payload) else ""
    footer = (f"Alert {_esc(payload.get('id'), 80)} · created {_esc(fmt_date(payload.get('created_at')))}"
              f" · lunarwatch {html.escape(__version__)}<br>A redelivery of this alert carries the same id."
              + quoted)
    return _document(email_subject(payload), one_line(payload.get("summary"), 200),
                     alert_html_fragment(payload), _KINDS[kind][1], footer)


# --------------------------------------------------------------------------- chat (Apprise)


def compact_text(payload: dict[str, Any]) -> tuple[str, str]:
    """(title, body) for chat services: the subject and a few plain lines, at most ~1000 chars."""
    title = one_line(email_subject(payload), 120)
    lines = [one_line(payload.get("summary"), 250)]
    art = _dict(payload.get("article"))
    if safe_url(art.get("url")):
        lines.append(str(safe_url(art.get("url")))[:300])
    if alert_kind(payload) == "source_failing":
        s = _dict(payload.get("source_status"))
        lines.append(one_line(f"{s.get('error_code') or ''} {s.get('error_message') or ''}", 250))
    findings = _findings(payload)
    for n, f in enumerate(findings):
        entry = [f"• {_KINDS[_finding_kind(f)][0]}: {one_line(f.get('claim'), 220)}"]
        known = _conflicts(f)
        ref, word = (known[0], "Known") if known else (_dict(f.get("previously")), "Previously")
        if ref:
            entry.append(f"  {word}: {one_line(ref.get('claim'), 180)} ({_source_line(ref)[:80]})")
        if len("\n".join(lines + entry)) > COMPACT_MAX - 40:
            lines.append(f"(+{len(findings) - n} more)")
            break
        lines += entry
    topics = ", ".join(_short_topic(t) for t in _topic_labels(payload))
    if topics:
        lines.append(f"Topics: {one_line(topics, 80)}")
    body = "\n".join(x for x in lines if x)
    return title, body[:COMPACT_MAX]


# --------------------------------------------------------------------------- digests


def _sort_key(payload: dict[str, Any]) -> tuple[int, float]:
    created = parse_time(payload.get("created_at"))
    return _KINDS[alert_kind(payload)][3], -(created.timestamp() if created else 0.0)


def group_payloads(payloads: Iterable[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """[(topic label, alerts)]: one group per first topic label, alphabetical, 'Other' last.

    Within a group contradictions come first, then new developments/updates, then source
    failures; newest first inside each kind. An alert is listed once, under its first topic.
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    for p in payloads:
        labels = _topic_labels(p)
        groups.setdefault(labels[0] if labels else OTHER_GROUP, []).append(p)
    order = sorted(groups, key=lambda k: (k == OTHER_GROUP, k.casefold()))
    return [(k, sorted(groups[k], key=_sort_key)) for k in order]


def _counts(payloads: Sequence[dict[str, Any]]) -> str:
    kinds = [alert_kind(p) for p in payloads]
    parts = [(kinds.count("contradiction"), "contradiction", "contradictions"),
             (kinds.count("new_development") + kinds.count("update"), "new development", "new developments"),
             (kinds.count("source_failing"), "source failing", "sources failing"),
             (kinds.count("other"), "other alert", "other alerts")]
    return ", ".join(f"{n} {one if n == 1 else many}" for n, one, many in parts if n) or "no alerts"


def digest_subject(payloads: Sequence[dict[str, Any]]) -> str:
    """'Digest: 2 contradictions, 3 new developments — ILRS, Lunar Gateway' (one line, <= 150)."""
    topics = ", ".join(_short_topic(label) for label, _ in group_payloads(payloads) if label != OTHER_GROUP)
    return _fit("Digest: ", _counts(payloads), " — ", topics)


def digest_text(payloads: Sequence[dict[str, Any]]) -> str:
    """Plain-text digest: per topic group, each alert's summary, findings and link."""
    lines = [f"LUNARWATCH DIGEST — {_counts(payloads)}", ""]
    for label, items in group_payloads(payloads):
        lines += [f"== {label} ({len(items)}) ==", ""]
        for p in items:
            lines += _wrap(f"[{_KINDS[alert_kind(p)][0]}]", one_line(p.get("summary"), 300), 0)
            art = _dict(p.get("article"))
            lines += _wrap("", one_line(art.get("url"), 2000), 2) if art else []
            if alert_kind(p) == "source_failing":
                lines += _text_source_status(p)[:-1]
            findings = _findings(p)
            lines += [x for i, f in enumerate(findings, 1) for x in _text_finding(i, len(findings), f)]
            lines += [f"  (alert {one_line(p.get('id'), 80)}, {fmt_date(p.get('created_at'))})", ""]
    return "\n".join(lines + ["-- ", f"lunarwatch {__version__}"]) + "\n"


def digest_html(payloads: Sequence[dict[str, Any]]) -> str:
    """HTML digest in the alert mail's style: a heading per topic group, compact alert cards."""
    rows = [_row(f'<div style="{_TEXT}font-size:21px;font-weight:bold;">Digest</div>'
                 f'<div style="{_META}margin-top:2px;">{html.escape(_counts(payloads))}</div>')]
    for label, items in group_payloads(payloads):
        rows.append(_row(f'<div style="{_TEXT}font-size:17px;font-weight:bold;padding-bottom:6px;'
                         f'border-bottom:2px solid #eaecf0;">{_esc(label, 120)} '
                         f'<span style="{_META}font-weight:normal;">({len(items)})</span></div>',
                         "12px 28px 12px 28px"))
        for p in items:
            rows.append(alert_html_fragment(p, compact=True))
            rows.append(_row(_DIVIDER, "0 28px 12px 28px"))
    worst = min((alert_kind(p) for p in payloads), key=lambda k: _KINDS[k][3], default="other")
    accent = _KINDS[worst][1]
    footer = f"lunarwatch {html.escape(__version__)} digest of {len(payloads)} alert(s)."
    return _document(digest_subject(payloads), _counts(payloads), "".join(rows), accent, footer)
