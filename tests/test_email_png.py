"""Render alert e-mails to PNG with headless Chromium: proves the HTML lays out as a real page.

The PNGs land in tests/artifacts/ (gitignored) for a person to look at; the contradiction mail
is also copied to docs/img/alert-email.png, the picture the README shows.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from monitor.alerts import render
from tests import alert_samples as s

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
README_IMAGE = ROOT / "docs" / "img" / "alert-email.png"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="headless Chromium (/usr/bin/chromium) is not installed; "
                                       "apt-get install chromium to run the screenshot tests")


def screenshot(html_file: Path, png: Path, profile: Path) -> None:
    png.unlink(missing_ok=True)
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--window-size=900,1200", f"--screenshot={png}",
           html_file.as_uri()]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)


def png_pixels(data: bytes) -> tuple[int, int, bytes]:
    """(width, height, inflated scanlines) from the PNG's IHDR and IDAT chunks."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, size = 8, b"", (0, 0)
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            size = struct.unpack(">II", chunk[:8])
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    return size[0], size[1], zlib.decompress(idat)


@pytest.mark.parametrize(("name", "factory"), [("alert-contradiction", s.contradiction),
                                               ("alert-new-development", s.new_development)])
def test_email_html_renders_to_png(tmp_path, name, factory):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    html_file = ARTIFACTS / f"{name}.html"
    html_file.write_text(render.email_html(factory()), encoding="utf-8")
    png = ARTIFACTS / f"{name}.png"
    screenshot(html_file, png, tmp_path / "profile")

    data = png.read_bytes()
    assert len(data) > 10_000, f"{png} is only {len(data)} bytes"
    width, height, raw = png_pixels(data)
    assert width >= 600 and height >= 600
    # A blank (single-colour) page inflates to a handful of distinct byte values whatever the
    # PNG row filters; rendered text, badges and boxes give far more.
    assert len(set(raw)) > 32, "the screenshot looks blank"
    if name == "alert-contradiction":
        README_IMAGE.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, README_IMAGE)
        assert README_IMAGE.read_bytes() == data
