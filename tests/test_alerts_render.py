"""Rendering of alerts: hostile feed text stays inert, subjects are single lines, digests are ordered."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from monitor.alerts import render
from tests import alert_samples as s

DANGEROUS_TAGS = {"script", "iframe", "img", "object", "embed", "link", "style", "svg", "form", "meta-refresh"}


class TagCollector(HTMLParser):
    """Every start tag with its attributes, as a browser's tokenizer would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def parse_tags(markup: str) -> list[tuple[str, dict[str, str | None]]]:
    collector = TagCollector()
    collector.feed(markup)
    collector.close()
    return collector.tags


def assert_inert(markup: str) -> None:
    """No executable tag, no event-handler attribute, no external asset, every link plain http(s)."""
    tags = parse_tags(markup)
    assert "<script" not in markup.lower()
    for tag, attrs in tags:
        assert tag not in DANGEROUS_TAGS, tag
        assert not any(a.lower().startswith("on") for a in attrs), (tag, attrs)
        assert "src" not in attrs, (tag, attrs)
        if "href" in attrs:
            assert (attrs["href"] or "").startswith(("http://", "https://")), attrs["href"]


@pytest.mark.parametrize("renderer", [render.email_html, lambda p: render.digest_html([p, s.new_development()])])
def test_hostile_payload_is_escaped_in_html(renderer):
    markup = renderer(s.hostile())
    assert_inert(markup)
    # the hostile text is shown, as text: escaped, not dropped
    assert "Claim &lt;script&gt;alert(1)&lt;/script&gt;" in markup
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in markup
    assert 'href="javascript:' not in markup and "href='javascript:" not in markup


def test_hostile_urls_are_never_links():
    markup = render.email_html(s.hostile())
    hrefs = [a.get("href") for t, a in parse_tags(markup) if t == "a"]
    assert not any("javascript" in (h or "") or (h or "").startswith("data:") for h in hrefs)
    assert "javascript:alert(document.cookie)" in markup  # visible as plain text for the analyst
    assert not any("onmouseover" in (h or "") for h in hrefs)


def test_safe_url_accepts_only_plain_http():
    assert render.safe_url("https://spacenews.example/a?b=1&c=2") == "https://spacenews.example/a?b=1&c=2"
    for bad in ("javascript:alert(1)", " javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x",
                "https://x.example/\"onclick=\"x", "//evil.example/x", "http://", "https://a b.example/",
                "vbscript:x", None, 42):
        assert render.safe_url(bad) is None, bad


def test_normal_email_has_no_external_assets_and_links_article():
    markup = render.email_html(s.contradiction())
    assert_inert(markup)
    hrefs = [a["href"] for t, a in parse_tags(markup) if t == "a"]
    assert "https://spacenews.example/2021/06/glex-2021-moscow" in hrefs
    assert "https://mirror.example/glex-moscow" in hrefs and "https://syndicate.example/a/123" in hrefs


@pytest.mark.parametrize("factory", [s.contradiction, s.new_development, s.update, s.source_failing, s.hostile])
def test_subject_is_one_bounded_line(factory):
    subject = render.email_subject(factory())
    assert "\n" not in subject and "\r" not in subject and "\u2028" not in subject
    assert 0 < len(subject) <= render.SUBJECT_MAX


def test_subject_wording():
    assert render.email_subject(s.contradiction()) == (
        "Contradiction: GLEX 2021 will be held in Moscow — known: GLEX 2021 was held in St. Petersburg, Russia")
    assert render.email_subject(s.new_development()) == "New: South Africa joins the ILRS"
    assert render.email_subject(s.source_failing()) == "Source failing: spacenews (http_503)"
    assert render.email_subject(s.update()).startswith("Update: PPE and HALO will launch together in 2027")


def test_long_subject_keeps_both_claims():
    p = s.contradiction()
    p["findings"][0]["claim"] = "The station will be built " + "very " * 60 + "soon"
    p["findings"][0]["conflicts_with"][0]["claim"] = "Known " + "x" * 300
    subject = render.email_subject(p)
    assert len(subject) <= render.SUBJECT_MAX
    assert subject.startswith("Contradiction: The station") and " — known: Known" in subject


def test_contradiction_shows_known_claim_source_and_date():
    p = s.contradiction()
    for body in (render.email_html(p), render.email_text(p)):
        body = " ".join(body.split())  # the text body wraps at 78 columns
        assert "GLEX 2021 was held in St. Petersburg, Russia" in body
        assert "seeds/ilrs-timeline.md" in body
        assert "14 Jun 2021" in body
        assert "GLEX 2021 will be held in Moscow" in body
        assert "Roscosmos and CNSA presented the ILRS roadmap" in body  # the evidence


def test_update_shows_previous_value():
    p = s.update()
    html = render.email_html(p)
    assert "Previously" in html and "PPE and HALO will launch in November 2025" in html
    assert 'href="https://www.nasa.gov/gateway/"' in html
    assert "PPE and HALO will launch in November 2025" in render.email_text(p)


def test_source_failing_body():
    p = s.source_failing()
    for body in (render.email_html(p), render.email_text(p)):
        assert "http_503" in body and "Service Unavailable" in body and "10" in body


def test_text_body_has_no_control_characters():
    p = s.hostile()
    p["findings"][0]["evidence"] = "esc \x1b[31mred\x1b[0m bidi \u202egnp.exe"
    text = render.email_text(p)
    assert "\x1b" not in text and "\u202e" not in text and "\r" not in text


def test_compact_text_is_short_and_useful():
    p = s.contradiction()
    p["findings"] = p["findings"] * 12
    for f in p["findings"]:
        f["claim"] = "A long claim " * 30
    title, body = render.compact_text(p)
    assert len(body) <= render.COMPACT_MAX and len(title) <= 120 and "\n" not in title
    assert "https://spacenews.example/2021/06/glex-2021-moscow" in body
    assert "more)" in body  # the cut is announced
    _, short = render.compact_text(s.contradiction())
    assert "Known: GLEX 2021 was held in St. Petersburg, Russia" in short


def _digest_input():
    older_ilrs_new = s.new_development()
    gateway_contra = s.contradiction()
    gateway_contra.update(id="a-gw-contra", topics=["gateway"], topic_labels=[s.GATEWAY],
                          summary="Gateway contradiction summary")
    return [s.source_failing(), older_ilrs_new, s.update(), gateway_contra, s.contradiction()]


def test_digest_groups_by_topic_with_contradictions_first():
    groups = render.group_payloads(_digest_input())
    assert [label for label, _ in groups] == [s.ILRS, s.GATEWAY, render.OTHER_GROUP]
    kinds = {label: [render.alert_kind(p) for p in items] for label, items in groups}
    assert kinds[s.ILRS] == ["contradiction", "new_development"]
    assert kinds[s.GATEWAY] == ["contradiction", "update"]
    assert kinds[render.OTHER_GROUP] == ["source_failing"]


@pytest.mark.parametrize("renderer", [render.digest_text, render.digest_html])
def test_digest_bodies_follow_the_order(renderer):
    body = renderer(_digest_input())
    order = ["GLEX 2021 venue reported as Moscow", "South Africa joins the ILRS as a partner country",
             "Gateway contradiction summary", "Gateway&#x27;s first modules" if renderer is render.digest_html
             else "Gateway's first modules", "spacenews has failed 10 times"]
    positions = [body.find(x) for x in order]
    assert -1 not in positions, positions
    assert positions == sorted(positions)


def test_digest_subject():
    subject = render.digest_subject(_digest_input())
    assert subject.startswith("Digest: 2 contradictions, 2 new developments, 1 source failing")
    assert "ILRS" in subject and "Lunar Gateway" in subject and "\n" not in subject


def test_digest_html_is_inert_and_text_has_all_alerts():
    payloads = _digest_input() + [s.hostile()]
    assert_inert(render.digest_html(payloads))
    assert render.digest_text(payloads).count("(alert ") == len(payloads)
