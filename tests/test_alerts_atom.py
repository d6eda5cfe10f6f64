"""The Atom feed of alerts parses cleanly (feedparser, no bozo) even with hostile text."""

from __future__ import annotations

import stat
import xml.etree.ElementTree as ET

import feedparser

from monitor.alerts.atom import ATOM_NS, atom_bytes, write_atom_feed
from tests import alert_samples as s


def test_written_feed_parses_with_entries_and_ids(tmp_path):
    path = tmp_path / "alerts.xml"
    payloads = [s.new_development(), s.contradiction(), s.update(), s.source_failing()]
    write_atom_feed(path, payloads, feed_url="https://lunarwatch.example/alerts.xml")
    feed = feedparser.parse(path.read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert [e.id for e in feed.entries] == ["urn:lunarwatch:alert:a-77b1e2c3d4", "urn:lunarwatch:alert:a-3f2c9d0e1b",
                                            "urn:lunarwatch:alert:a-9a8b7c6d5e",
                                            "urn:lunarwatch:alert:s-spacenews-0001"]  # newest first
    contra = feed.entries[1]
    assert contra.title == "GLEX 2021 venue reported as Moscow; known fact says St. Petersburg"
    assert contra.link == "https://spacenews.example/2021/06/glex-2021-moscow"
    assert contra.updated == "2026-11-23T10:00:00Z"
    assert contra.content[0].type == "text/html"
    assert "GLEX 2021 was held in St. Petersburg, Russia" in contra.content[0].value
    assert contra.tags[0].term == "ilrs"
    assert feed.feed.id == "https://lunarwatch.example/alerts.xml"


def test_hostile_text_and_xml_invalid_characters(tmp_path):
    p = s.hostile()
    p["summary"] = "bad \x00\x01\x0b\ufffe\uffff chars <b>&amp;</b> ]]>"
    p["findings"][0]["claim"] = "claim \x07 with bell"
    path = tmp_path / "alerts.xml"
    write_atom_feed(path, [p])
    data = path.read_bytes()
    ET.fromstring(data)  # well-formed XML or this raises
    feed = feedparser.parse(data)
    assert not feed.bozo, feed.get("bozo_exception")
    entry = feed.entries[0]
    assert "link" not in entry or not entry.link.startswith("javascript")
    assert entry.title == "bad chars <b>&amp;</b> ]]>"  # text, shown literally
    assert "<script>" not in entry.content[0].value  # escaped inside the HTML content


def test_atomic_replace_leaves_no_temp_files_and_is_readable(tmp_path):
    path = tmp_path / "feeds" / "alerts.xml"
    write_atom_feed(path, [s.contradiction()])
    write_atom_feed(path, [s.contradiction(), s.new_development()])
    assert sorted(x.name for x in path.parent.iterdir()) == ["alerts.xml"]
    assert len(feedparser.parse(path.read_bytes()).entries) == 2
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_atom_bytes_limits_entries_and_handles_empty():
    many = []
    for i in range(5):
        p = s.new_development()
        p.update(id=f"a-{i}", created_at=f"2026-11-2{i}T00:00:00Z")
        many.append(p)
    root = ET.fromstring(atom_bytes(many, max_entries=3))
    ids = [e.findtext(f"{{{ATOM_NS}}}id") for e in root.findall(f"{{{ATOM_NS}}}entry")]
    assert ids == ["urn:lunarwatch:alert:a-4", "urn:lunarwatch:alert:a-3", "urn:lunarwatch:alert:a-2"]
    empty = feedparser.parse(atom_bytes([]))
    assert not empty.bozo and empty.entries == [] and empty.feed.id == "urn:lunarwatch:alerts"
    assert atom_bytes([]).startswith(b"<?xml")
