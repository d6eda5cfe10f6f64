"""Progress bars: drawn on a terminal (a fake stream whose isatty() is True), absent otherwise; log
lines step around an active bar; the baseline build and the cycle report their progress."""

from __future__ import annotations

import io
import logging
import subprocess
import sys

from monitor import progress
from monitor.baseline import build_baseline, seed_files
from monitor.config import load_settings
from monitor.progress import Bar, LogHandler, bar
from monitor.service import engine_for
from monitor.store.db import open_state
from tests.ops_kit import NEW_PARTNER, OFF_TOPIC, SEEDS, Site, run_cli, write_config

CLEAR = "\r\x1b[K"


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_draws_in_place_on_a_terminal():
    out = FakeTerminal()
    with bar("judging articles", out) as b:
        b(1, 4)
        b(4, 4)
    text = out.getvalue()
    assert text.startswith(CLEAR + "judging articles [")
    assert "1/4" in text and text.endswith("] 4/4\n")
    assert "#" * 30 + "] 4/4" in text  # full at the end
    assert "[" + "#" * 7 + "-" * 23 + "] 1/4" in text  # a quarter at first (rounded down)


def test_a_bar_is_silent_off_a_terminal():
    out = io.StringIO()
    with bar("judging articles", out) as b:
        b(1, 2)
        b(2, 2)
    assert out.getvalue() == ""
    assert not Bar("x", None).enabled


def test_nothing_is_drawn_for_no_work():
    out = FakeTerminal()
    with bar("judging articles", out) as b:
        b(0, 0)
    assert out.getvalue() == ""


def test_log_lines_wipe_the_bar_and_it_comes_back():
    out = FakeTerminal()
    logger = logging.getLogger("tests.progress.demo")
    handler = LogHandler(out)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with bar("work", out) as b:
            b(1, 2)
            logger.warning("source x failed")
            b(2, 2)
    finally:
        logger.removeHandler(handler)
    text = out.getvalue()
    before, after = text.split("source x failed\n")
    assert before.endswith("] 1/2" + CLEAR)  # the bar was wiped, then the line written on its own
    assert after.startswith("work [")  # and redrawn below it
    assert text.endswith("] 2/2\n")


def test_the_baseline_build_reports_each_seed_file(tmp_path):
    calls: list[tuple[int, int]] = []
    settings = load_settings(None)
    conn = open_state(tmp_path)
    try:
        build_baseline(conn, engine_for(settings), SEEDS, progress=lambda d, t: calls.append((d, t)))
    finally:
        conn.close()
    n = len(seed_files(SEEDS))
    assert n > 1
    assert calls == [(i, n) for i in range(1, n + 1)]


def test_a_cycle_on_a_terminal_shows_the_baseline_and_the_articles(tmp_path):
    out = FakeTerminal()
    with Site([NEW_PARTNER, OFF_TOPIC]) as site:
        settings = load_settings(write_config(tmp_path, site))
        stats = progress.run_once(settings, stream=out)
    text = out.getvalue()
    n = len(seed_files(SEEDS))
    assert stats.articles == 2
    assert f"baseline: seed files [{'#' * 30}] {n}/{n}\n" in text
    assert f"judging articles [{'#' * 30}] 2/2\n" in text


def test_no_progress_output_without_a_terminal(tmp_path):
    with Site([NEW_PARTNER, OFF_TOPIC]) as site:
        cfg = write_config(tmp_path, site)
        env_free = [sys.executable, "-m", "monitor.cli", "--config", str(cfg)]
        cycle = subprocess.run([*env_free, "run", "--once"], capture_output=True, text=True, timeout=300)
    rebuilt = run_cli(cfg, "baseline", "--rebuild")
    assert cycle.returncode == 0, cycle.stderr
    assert "cycle done" in cycle.stderr  # the plain logs are there
    assert rebuilt.exit_code == 0, rebuilt.output
    for text in (cycle.stderr, cycle.stdout, rebuilt.stderr, rebuilt.stdout):
        assert "\r" not in text and "\x1b[" not in text
        assert "judging articles" not in text and "seed files [" not in text
