"""Progress bars for long work on a terminal (the baseline build, a cycle's articles); silent otherwise.

Why hand-written rather than click.progressbar: the same work logs a line per article on the same
stderr, so the log handler must wipe the bar before each line and redraw it after (LogHandler);
click's bar has no hook for that, and a bar broken up by log lines is worse than none. When stderr is
not a terminal (containers, cron, pipes, tests) nothing is drawn and the code paths are the
service's own.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from monitor import service
from monitor.baseline import build_baseline, has_baseline
from monitor.config import Settings
from monitor.cycle import Cycle, CycleStats
from monitor.fetch import Fetcher

log = logging.getLogger(__name__)
_lock = threading.RLock()  # one writer at a time on the terminal: bars and log lines
_active: list[Bar] = []


def is_terminal(stream: TextIO | None) -> bool:
    """True only for a stream attached to a terminal (a closed or odd stream counts as not)."""
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class Bar:
    """A one-line bar, `label [#####-----] done/total`, redrawn in place; a no-op off a terminal."""

    def __init__(self, label: str, stream: TextIO | None, width: int = 30) -> None:
        self.label, self.stream, self.width = label, stream, width
        self.enabled = is_terminal(stream)
        self.done = self.total = 0
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        """Show `done` of `total`; matches the progress(done, total) callbacks of the cycle and baseline."""
        if not self.enabled or total <= 0:
            return
        with _lock:
            self.done, self.total = max(0, min(done, total)), total
            self._write("\r\x1b[K" + self.line())
            self.drawn = True

    def line(self) -> str:
        filled = self.width * self.done // self.total if self.total else 0
        return f"{self.label} [{'#' * filled}{'-' * (self.width - filled)}] {self.done}/{self.total}"

    def hide(self) -> None:
        """Wipe the bar's line so that a log line can take it."""
        if self.drawn:
            self._write("\r\x1b[K")

    def show(self) -> None:
        if self.drawn:
            self._write(self.line())

    def close(self) -> None:
        """Leave the final state of the bar on its own line."""
        if self.drawn:
            self._write("\n")
            self.drawn = False

    def _write(self, text: str) -> None:
        assert self.stream is not None
        self.stream.write(text)
        self.stream.flush()


@contextmanager
def bar(label: str, stream: TextIO | None) -> Iterator[Bar]:
    """A bar that log lines written through LogHandler to the same stream step around."""
    b = Bar(label, stream)
    with _lock:
        _active.append(b)
    try:
        yield b
    finally:
        with _lock:
            _active.remove(b)
            b.close()


class LogHandler(logging.StreamHandler):
    """A StreamHandler that wipes an active bar on its stream, writes the record, then redraws the bar."""

    def emit(self, record: logging.LogRecord) -> None:
        with _lock:
            bars = [b for b in _active if b.stream is self.stream and b.drawn]
            for b in bars:
                b.hide()
            super().emit(record)
            for b in bars:
                b.show()


# -- the long work, with bars when `stream` is a terminal ----------------------------------------------


def rebuild_baseline(settings: Settings, stream: TextIO | None) -> tuple[int, list]:
    """service.rebuild_baseline, with a bar over the seed files on a terminal."""
    if not is_terminal(stream):
        return service.rebuild_baseline(settings)
    with service.state(settings) as conn, bar("baseline: seed files", stream) as b:
        return build_baseline(conn, service.engine_for(settings), settings.monitor.seeds_dir, progress=b)


def ensure_baseline(settings: Settings, conn: sqlite3.Connection, stream: TextIO | None) -> None:
    """service.ensure_baseline, with a bar over the seed files on a terminal."""
    if not is_terminal(stream):
        service.ensure_baseline(settings, conn)
        return
    if not has_baseline(conn):
        with bar("baseline: seed files", stream) as b:
            build_baseline(conn, service.engine_for(settings), settings.monitor.seeds_dir, progress=b)


def run_once(settings: Settings, force: bool = False, stop: threading.Event | None = None,
             conn: sqlite3.Connection | None = None, stream: TextIO | None = None) -> CycleStats:
    """service.run_once; on a terminal, with bars for the first baseline build and the articles judged.

    Off a terminal this is service.run_once itself, so containers and scripts take one code path.
    (The terminal path builds the Cycle here because service.run_once has no progress parameter.)
    """
    if not is_terminal(stream):
        return service.run_once(settings, force, stop, conn)
    if conn is None:
        with service.state(settings) as own:
            return run_once(settings, force, stop, own, stream)
    ensure_baseline(settings, conn, stream)
    engine = service.engine_for(settings)

    async def go(progress: Bar) -> CycleStats:
        async with Fetcher(settings.fetch) as fetcher:
            return await Cycle(settings, conn, engine, fetcher, stop, progress=progress).run(force)

    with bar("judging articles", stream) as b:
        stats = asyncio.run(go(b))
    log.info("cycle done: %s", ", ".join(f"{k}={v}" for k, v in vars(stats).items()))
    return stats
